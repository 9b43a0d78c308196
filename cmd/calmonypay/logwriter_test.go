package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLogWriterKeepsLinesWholeAndFlushes(t *testing.T) {
	var out syncBuffer
	w := newLogWriter(&out)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				fmt.Fprintf(w, "goroutine=%d line=%d %s\n", g, i, strings.Repeat("x", 40))
			}
		}()
	}
	wg.Wait()
	// Lines reach the output within the flush interval, without Close.
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(out.String(), "\n") < 8000 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 8000 {
		t.Fatalf("%d lines written, want 8000", len(lines))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "goroutine=") || !strings.HasSuffix(l, strings.Repeat("x", 40)) {
			t.Fatalf("a line was split or interleaved: %q", l)
		}
	}
	fmt.Fprintln(w, "last")
	w.Close()
	if !strings.HasSuffix(out.String(), "last\n") {
		t.Error("Close did not write what was queued")
	}
}
