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
// before the first load ever loads it itself.
type Cached[T any] struct {
	what string
	load func(ctx context.Context) (T, error)
	log  *slog.Logger

	mu     sync.Mutex
	value  T
	loaded bool
}

// NewCached returns a Cached value that load reads; what names it in logs.
func NewCached[T any](what string, log *slog.Logger, load func(ctx context.Context) (T, error)) *Cached[T] {
	return &Cached[T]{what: what, load: load, log: log}
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

// Load reloads the value once, within refresh/2 of the call.
func (c *Cached[T]) Load(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, refresh/2)
	defer cancel()
	v, err := c.load(ctx)
	if err != nil {
		if ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			c.log.ErrorContext(ctx, "load "+c.what, "err", err)
		}
		return
	}
	c.mu.Lock()
	c.value, c.loaded = v, true
	c.mu.Unlock()
}

// Run loads the value now and then twice every refresh until ctx ends, so
// that it is never older than refresh: a reload started only when a caller
// finds the value stale would leave the first caller after an idle spell
// with the stale value.
func (c *Cached[T]) Run(ctx context.Context) {
	c.Load(ctx)
	Every(ctx, refresh/2, func() { c.Load(ctx) })
}

// refresh bounds how stale a Cached value may be.
const refresh = time.Second
