// Package loop runs background work: a function every interval (Every), a
// set of such loops started together and waited for together (Group), and
// a value reloaded from the database in the background (Cached).
package loop

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Every calls fn every d until ctx ends. It does not call fn at once.
func Every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// Group runs loops until its context ends, and waits for them to return.
// The zero Group is not usable: create it with NewGroup.
type Group struct {
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup
	log  *slog.Logger

	mu      sync.Mutex
	running map[string]int // loops still running, by name
}

// NewGroup returns a Group whose loops run until ctx ends or Stop is called.
func NewGroup(ctx context.Context, log *slog.Logger) *Group {
	ctx, stop := context.WithCancel(ctx)
	return &Group{ctx: ctx, stop: stop, log: log, running: map[string]int{}}
}

// Stopped returns those of names that have no loop running: never
// started, returned or panicked. Readiness checks call it.
func (g *Group) Stopped(names ...string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for _, n := range names {
		if g.running[n] == 0 {
			out = append(out, n)
		}
	}
	return out
}

// track counts a loop of name as running (d = 1) or no longer (d = -1).
func (g *Group) track(name string, d int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running[name] += d
}

// Go runs fn on its own until the group's context ends. A panic in fn is
// logged and ends only fn. Until fn returns, the loop counts as running
// under name (Stopped).
func (g *Group) Go(name string, fn func(ctx context.Context)) {
	g.wg.Add(1)
	g.track(name, 1)
	go func() {
		defer g.wg.Done()
		defer g.track(name, -1)
		defer func() {
			if v := recover(); v != nil {
				g.log.Error("background loop panicked", "loop", name, "panic", v)
			}
		}()
		fn(g.ctx)
	}()
}

// Every runs fn now and then every d, as its own loop (see Go). An error
// from fn is logged, unless the group is stopping.
func (g *Group) Every(name string, d time.Duration, fn func(ctx context.Context) error) {
	g.Go(name, func(ctx context.Context) {
		run := func() {
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				g.log.ErrorContext(ctx, "background loop failed", "loop", name, "err", err)
			}
		}
		run()
		Every(ctx, d, run)
	})
}

// Stop ends the group's loops and waits for them to return.
func (g *Group) Stop() {
	g.stop()
	g.wg.Wait()
}

// Cached is a value loaded from the database and reloaded in the background
// (Run), so that Get never waits for the database: it is called inside
// transactions, where waiting for a pool connection could deadlock a busy
// PostgreSQL pool. A failed reload keeps the last good value. Only a Get
// before the first load ever loads it itself. Reload asks Run for a reload
// at once, when the value is known to have changed.
type Cached[T any] struct {
	what    string
	load    func(ctx context.Context) (T, error)
	log     *slog.Logger
	refresh time.Duration
	kick    chan struct{} // Reload's; buffered, one pending reload at most

	mu      sync.Mutex
	value   T
	loaded  bool
	started uint64 // loads started so far
	stored  uint64 // the number of the load whose value is kept
}

// NewCached returns a Cached value that load reads; what names it in logs.
func NewCached[T any](what string, log *slog.Logger, load func(ctx context.Context) (T, error)) *Cached[T] {
	return &Cached[T]{what: what, load: load, log: log, refresh: refresh, kick: make(chan struct{}, 1)}
}

// WithRefresh makes Run keep the value no older than d instead of one
// second (tests lengthen it to show that Reload alone brings changes in),
// and returns c. Call it before Run.
func (c *Cached[T]) WithRefresh(d time.Duration) *Cached[T] {
	if d > 0 {
		c.refresh = d
	}
	return c
}

// Reload asks Run to load the value again now, without waiting for it: Get
// returns the old value until the load has finished. It never blocks.
func (c *Cached[T]) Reload() {
	select {
	case c.kick <- struct{}{}:
	default: // a reload is pending already: it will see this change too
	}
}

// Get returns the value.
func (c *Cached[T]) Get() T {
	c.mu.Lock()
	loaded := c.loaded
	c.mu.Unlock()
	if !loaded {
		c.Load(context.Background())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.value
}

// Load reloads the value once, within refresh/2 of the call. Of loads that
// overlap, the one started last is kept, whatever order they finish in.
func (c *Cached[T]) Load(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, min(c.refresh, refresh)/2)
	defer cancel()
	c.mu.Lock()
	c.started++
	n := c.started
	c.mu.Unlock()
	v, err := c.load(ctx)
	if err != nil {
		if ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			c.log.ErrorContext(ctx, "load "+c.what, "err", err)
		}
		return
	}
	c.mu.Lock()
	if n > c.stored {
		c.value, c.loaded, c.stored = v, true, n
	}
	c.mu.Unlock()
}

// Run loads the value now and then twice every refresh until ctx ends, so
// that it is never older than refresh: a reload started only when a caller
// finds the value stale would leave the first caller after an idle spell
// with the stale value. It also loads at once when Reload asks.
func (c *Cached[T]) Run(ctx context.Context) {
	c.Load(ctx)
	t := time.NewTicker(c.refresh / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.kick:
		}
		c.Load(ctx)
	}
}

// refresh bounds how stale a Cached value may be.
const refresh = time.Second
