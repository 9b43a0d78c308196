package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"
)

// StartupResult is what the startup command measured.
type StartupResult struct {
	Runs          int       `json:"runs"`
	StartupMs     []float64 `json:"startup_ms"`      // exec to the first 200 answer, per run
	MedianMs      float64   `json:"median_ms"`       // of StartupMs
	IdleRSSBytes  []int64   `json:"idle_rss_bytes"`  // VmRSS after the idle wait, per run
	MedianIdleRSS int64     `json:"median_idle_rss"` // of IdleRSSBytes
}

// startupCommand starts a server command repeatedly and measures the time
// from exec to its first answered authenticated request, and its RSS once
// idle after that.
func startupCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("calmony-bench startup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "http://127.0.0.1:8080", "base URL the server will answer at (loopback only)")
	key := fs.String("key", os.Getenv("CALMONY_BENCH_KEY"), "secret key for the probe GET /v1/customers?limit=1")
	n := fs.Int("n", 5, "how many starts")
	idle := fs.Duration("idle", 2*time.Second, "wait after the first answer before reading the idle RSS")
	jsonOut := fs.Bool("json", false, "print the result as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: calmony-bench startup [flags] -- COMMAND [ARGS...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*base)
	if err != nil || !isLoopback(u.Hostname()) {
		return fmt.Errorf("%w: -url must be a loopback http URL", errUsage)
	}
	if fs.NArg() == 0 || *key == "" || *n < 1 {
		fs.Usage()
		return fmt.Errorf("%w: startup needs -key, -n ≥ 1 and a command after --", errUsage)
	}
	var res StartupResult
	for i := range *n {
		d, rss, err := startOnce(ctx, fs.Args(), *base+"/v1/customers?limit=1", *key, *idle)
		if err != nil {
			return fmt.Errorf("start %d: %w", i+1, err)
		}
		res.StartupMs = append(res.StartupMs, float64(d.Microseconds())/1000)
		res.IdleRSSBytes = append(res.IdleRSSBytes, rss)
	}
	res.Runs = *n
	res.MedianMs = median(res.StartupMs)
	rss := slices.Clone(res.IdleRSSBytes)
	slices.Sort(rss)
	res.MedianIdleRSS = rss[len(rss)/2]
	if *jsonOut {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "startup   exec → first 200: median %.1f ms over %d starts %v\n", res.MedianMs, res.Runs, res.StartupMs)
	fmt.Fprintf(stdout, "idle RSS  median %.1f MB, %.0f s after the first answer\n", mb(res.MedianIdleRSS), idle.Seconds())
	return nil
}

func startOnce(ctx context.Context, argv []string, probe, key string, idle time.Duration) (time.Duration, int64, error) {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}()
	deadline := began.Add(10 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", probe, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
			if resp.StatusCode != http.StatusServiceUnavailable {
				return 0, 0, fmt.Errorf("probe answered %d", resp.StatusCode)
			}
		}
		select {
		case err := <-exited:
			exited <- err
			return 0, 0, fmt.Errorf("the server exited before answering: %v", err)
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			return 0, 0, errors.New("no answer within 10 s")
		}
	}
	took := time.Since(began)
	if !sleepUntil(ctx, time.Now().Add(idle)) {
		return 0, 0, ctx.Err()
	}
	rss, _, err := procMem(cmd.Process.Pid)
	return took, rss, err
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
