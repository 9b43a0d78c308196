// Package health serves the liveness and readiness checks a load balancer
// or orchestrator polls: /healthz (the process answers) and /readyz (the
// database answers, its schema is the one this binary knows, and the
// background loops run). Both need no authentication and reveal nothing
// but which check failed.
package health

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Paths of the checks.
const (
	LivePath  = "/healthz"
	ReadyPath = "/readyz"
)

// Names of the readiness checks, as /readyz reports them.
const (
	CheckDatabase = "database"
	CheckSchema   = "schema"
	CheckLoops    = "background"
)

// Database is what readiness asks of the store; *store.DB is one.
type Database interface {
	Ready(ctx context.Context) (schemaCurrent bool, err error)
}

// Loops is what readiness asks of the background loops; *loop.Group is one.
type Loops interface {
	Stopped(names ...string) []string
}

// Checker answers the checks.
type Checker struct {
	DB Database
	// Loops and Required: the loops that must be running. Optional.
	Loops    Loops
	Required []string
	// Timeout bounds the database check. Defaults to 2 seconds.
	Timeout time.Duration
	Logger  *slog.Logger

	mu       sync.Mutex
	lastFail string // the failures last logged, so a failing probe logs once
}

// Routes returns the two checks by ServeMux pattern.
func (c *Checker) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET " + LivePath:  http.HandlerFunc(live),
		"GET " + ReadyPath: http.HandlerFunc(c.ready),
	}
}

// live answers as long as the process serves HTTP.
func live(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte("ok\n"))
}

// Check runs the readiness checks and returns the names of those failing.
func (c *Checker) Check(ctx context.Context) []string {
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(c.Timeout, 2*time.Second))
	defer cancel()
	var failed []string
	var detail []any
	switch current, err := c.DB.Ready(ctx); {
	case err != nil:
		failed = append(failed, CheckDatabase)
		detail = append(detail, "err", err)
	case !current:
		failed = append(failed, CheckSchema)
	}
	if c.Loops != nil {
		if stopped := c.Loops.Stopped(c.Required...); len(stopped) > 0 {
			failed = append(failed, CheckLoops)
			detail = append(detail, "stopped_loops", stopped)
		}
	}
	c.logChange(failed, detail)
	return failed
}

// logChange logs when the set of failing checks changes, not every probe.
func (c *Checker) logChange(failed []string, detail []any) {
	key := ""
	for _, f := range failed {
		key += f + " "
	}
	c.mu.Lock()
	changed := key != c.lastFail
	c.lastFail = key
	c.mu.Unlock()
	if !changed || c.Logger == nil {
		return
	}
	if len(failed) == 0 {
		c.Logger.Info("ready again")
		return
	}
	c.Logger.Warn("not ready", append([]any{"failed", slices.Clone(failed)}, detail...)...)
}

// ready answers 200 {"status":"ready"} or 503 {"status":"unavailable",
// "failed":[…]}: the failing checks' names and nothing else, the details
// going to the log.
func (c *Checker) ready(w http.ResponseWriter, r *http.Request) {
	failed := c.Check(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	body := map[string]any{"status": "ready"}
	status := http.StatusOK
	if len(failed) > 0 {
		body = map[string]any{"status": "unavailable", "failed": failed}
		status = http.StatusServiceUnavailable
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}
