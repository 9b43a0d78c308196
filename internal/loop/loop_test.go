package loop_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/loop"
)

// logBuffer is a logger's output that tests read while loops write to it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, nil)), b
}

// eventually fails the test unless cond becomes true within d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGroupStop: Stop ends every loop of the group and returns only once
// they all have.
func TestGroupStop(t *testing.T) {
	t.Parallel()
	log, _ := newLogger()
	g := loop.NewGroup(context.Background(), log)
	var started, finished atomic.Int32
	for _, name := range []string{"a", "b"} {
		g.Go(name, func(ctx context.Context) {
			started.Add(1)
			<-ctx.Done()
			time.Sleep(20 * time.Millisecond) // a loop finishing its last round
			finished.Add(1)
		})
	}
	eventually(t, time.Second, "both loops running", func() bool { return started.Load() == 2 })
	if n := finished.Load(); n != 0 {
		t.Fatalf("%d loops ended before Stop", n)
	}
	g.Stop()
	if n := finished.Load(); n != 2 {
		t.Errorf("Stop returned with %d of 2 loops ended", n)
	}
}

// TestGroupParentContext: the group's loops also end when the context it
// was made from ends.
func TestGroupParentContext(t *testing.T) {
	t.Parallel()
	log, _ := newLogger()
	ctx, cancel := context.WithCancel(context.Background())
	g := loop.NewGroup(ctx, log)
	ended := make(chan struct{})
	g.Go("a", func(ctx context.Context) { <-ctx.Done(); close(ended) })
	cancel()
	select {
	case <-ended:
	case <-time.After(time.Second):
		t.Fatal("the loop did not end with its group's parent context")
	}
	g.Stop()
}

// TestGroupPanic: a panicking loop is logged and ends alone; the process
// and the group's other loops go on.
func TestGroupPanic(t *testing.T) {
	t.Parallel()
	log, out := newLogger()
	g := loop.NewGroup(context.Background(), log)
	var steady atomic.Bool
	g.Go("steady", func(ctx context.Context) {
		steady.Store(true)
		<-ctx.Done()
		steady.Store(false)
	})
	eventually(t, time.Second, "the other loop running", steady.Load)
	g.Go("boom", func(ctx context.Context) { panic("kaboom") })
	eventually(t, time.Second, "the panic logged", func() bool { return strings.Contains(out.String(), "background loop panicked") })
	if s := out.String(); !strings.Contains(s, "loop=boom") || !strings.Contains(s, "panic=kaboom") {
		t.Errorf("log %q does not name the loop and the panic", s)
	}
	if !steady.Load() {
		t.Error("the other loop stopped when one panicked")
	}
	g.Stop()
	if steady.Load() {
		t.Error("Stop returned before the other loop ended")
	}
}

// TestGroupEvery runs fn at once, then every d, and logs its errors
// except those of a group stopping.
func TestGroupEvery(t *testing.T) {
	t.Parallel()
	log, out := newLogger()
	g := loop.NewGroup(context.Background(), log)
	var hourly, often, failing atomic.Int32
	g.Every("hourly", time.Hour, func(ctx context.Context) error { hourly.Add(1); return nil })
	g.Every("often", 5*time.Millisecond, func(ctx context.Context) error { often.Add(1); return nil })
	g.Every("failing", time.Hour, func(ctx context.Context) error { failing.Add(1); return errors.New("database down") })
	// Its error comes from being stopped: not worth a log line.
	g.Every("interrupted", time.Hour, func(ctx context.Context) error { <-ctx.Done(); return errors.New("interrupted") })

	eventually(t, time.Second, "an hourly loop's first round, at once", func() bool { return hourly.Load() == 1 })
	eventually(t, time.Second, "three rounds 5ms apart", func() bool { return often.Load() >= 3 })
	eventually(t, time.Second, "the failure logged", func() bool { return strings.Contains(out.String(), "database down") })
	g.Stop()
	if n := hourly.Load(); n != 1 {
		t.Errorf("hourly loop ran %d times, want once", n)
	}
	s := out.String()
	if !strings.Contains(s, "background loop failed") || !strings.Contains(s, "loop=failing") {
		t.Errorf("log %q does not name the failing loop", s)
	}
	if strings.Contains(s, "interrupted") {
		t.Errorf("the error of a loop stopped by its group was logged: %q", s)
	}
}

// TestEvery calls fn every d, not at once, until ctx ends.
func TestEvery(t *testing.T) {
	t.Parallel()
	const d = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	var (
		mu    sync.Mutex
		calls []time.Time
	)
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		loop.Every(ctx, d, func() {
			mu.Lock()
			calls = append(calls, time.Now())
			mu.Unlock()
		})
	}()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(calls) }
	eventually(t, 2*time.Second, "three calls", func() bool { return count() >= 3 })
	cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Every did not return when its context ended")
	}
	mu.Lock()
	defer mu.Unlock()
	if first := calls[0].Sub(start); first < d {
		t.Errorf("first call after %v, want no sooner than %v", first, d)
	}
	n := len(calls)
	time.Sleep(3 * d)
	if len(calls) != n {
		t.Errorf("fn called after Every returned")
	}
}

// source is a value in the database that a Cached value loads, and can
// fail.
type source struct {
	mu    sync.Mutex
	value string
	err   error
	loads int
}

func (s *source) set(v string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.value, s.err = v, err
}

func (s *source) load(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loads++
	return s.value, s.err
}

func (s *source) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loads
}

// TestCachedGet loads the value on first use only.
func TestCachedGet(t *testing.T) {
	t.Parallel()
	log, _ := newLogger()
	src := &source{value: "v1"}
	c := loop.NewCached("settings", log, src.load)
	if n := src.count(); n != 0 {
		t.Fatalf("NewCached loaded %d times", n)
	}
	for range 3 {
		if got := c.Get(); got != "v1" {
			t.Errorf("Get = %q, want v1", got)
		}
	}
	src.set("v2", nil)
	if got, n := c.Get(), src.count(); got != "v1" || n != 1 {
		t.Errorf("after the first Get: %q with %d loads; want v1 kept, loaded once", got, n)
	}
}

// TestCachedFailedLoad: a failed reload is logged and keeps the last good
// value; a failed first load leaves the value to be loaded by the next Get.
func TestCachedFailedLoad(t *testing.T) {
	t.Parallel()
	log, out := newLogger()
	src := &source{err: errors.New("database down")}
	c := loop.NewCached("settings", log, src.load)
	if got := c.Get(); got != "" {
		t.Errorf("Get with no value loaded yet = %q", got)
	}
	if !strings.Contains(out.String(), "load settings") || !strings.Contains(out.String(), "database down") {
		t.Errorf("failed load not logged: %q", out.String())
	}
	src.set("v1", nil)
	if got := c.Get(); got != "v1" {
		t.Errorf("Get after a failed first load = %q, want v1 (loaded again)", got)
	}
	src.set("v2", errors.New("database down"))
	c.Load(context.Background())
	if got := c.Get(); got != "v1" {
		t.Errorf("after a failed reload Get = %q, want the last good value v1", got)
	}
	src.set("v3", nil)
	c.Load(context.Background())
	if got := c.Get(); got != "v3" {
		t.Errorf("after a reload Get = %q, want v3", got)
	}
}

// TestCachedRun loads at once and then reloads in the background, so a
// change shows without any Get waiting for it.
func TestCachedRun(t *testing.T) {
	t.Parallel()
	log, _ := newLogger()
	src := &source{value: "v1"}
	c := loop.NewCached("settings", log, src.load)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	eventually(t, time.Second, "the first load", func() bool { return src.count() >= 1 })
	if got := c.Get(); got != "v1" {
		t.Errorf("Get = %q, want v1", got)
	}
	src.set("v2", nil)
	// The value is never older than a second.
	eventually(t, 1500*time.Millisecond, "the change reloaded", func() bool { return c.Get() == "v2" })
	cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Run did not return when its context ended")
	}
}

// TestGroupStopped: a loop counts as running from Go until it returns or
// panics; a name never started is stopped too.
func TestGroupStopped(t *testing.T) {
	t.Parallel()
	log, _ := newLogger()
	g := loop.NewGroup(context.Background(), log)
	release := make(chan struct{})
	g.Go("steady", func(ctx context.Context) { <-ctx.Done() })
	g.Go("ending", func(ctx context.Context) { <-release })
	g.Go("boom", func(ctx context.Context) { <-release; panic("kaboom") })
	if got := g.Stopped("steady", "ending", "boom", "never"); len(got) != 1 || got[0] != "never" {
		t.Fatalf("Stopped = %v, want [never]", got)
	}
	close(release)
	eventually(t, time.Second, "the ended and panicked loops stopped", func() bool {
		got := g.Stopped("steady", "ending", "boom")
		return len(got) == 2 && got[0] == "ending" && got[1] == "boom"
	})
	g.Stop()
	if got := g.Stopped("steady"); len(got) != 1 {
		t.Errorf("after Stop, Stopped(steady) = %v, want [steady]", got)
	}
}

// TestCachedReload: with a refresh far away, Reload alone brings a change
// in at once; of two loads that overlap, the one started last is kept
// even when it finishes first.
func TestCachedReload(t *testing.T) {
	t.Parallel()
	log, _ := newLogger()
	src := &source{value: "v1"}
	c := loop.NewCached("settings", log, src.load).WithRefresh(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx)
	eventually(t, time.Second, "the first load", func() bool { return src.count() >= 1 })
	src.set("v2", nil)
	time.Sleep(50 * time.Millisecond)
	if got := c.Get(); got != "v1" {
		t.Fatalf("Get = %q before Reload, want v1 (the refresh is an hour away)", got)
	}
	start := time.Now()
	c.Reload()
	eventually(t, time.Second, "the reload", func() bool { return c.Get() == "v2" })
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("Reload took %v", d)
	}

	// An old load (started, then held) finishing after a newer one.
	release, started := make(chan struct{}), make(chan struct{})
	var first sync.Once
	slow := loop.NewCached("settings", log, func(ctx context.Context) (string, error) {
		held := false
		first.Do(func() { held = true })
		if held {
			close(started)
			<-release
			return "old", nil
		}
		return "new", nil
	})
	done := make(chan struct{})
	go func() { defer close(done); slow.Load(context.Background()) }()
	<-started
	slow.Load(context.Background())
	close(release)
	<-done
	if got := slow.Get(); got != "new" {
		t.Errorf("Get = %q, want new: an older load overwrote a newer one", got)
	}
}
