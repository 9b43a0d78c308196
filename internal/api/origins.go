package api

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/calmony/calmonypay/internal/store"
)

// originRefresh bounds how stale the cached CORS allowlists may be.
const originRefresh = time.Second

// originCache keeps every project's CORS allowlist in memory, reloading it
// at most once per originRefresh.
type originCache struct {
	db      *store.DB
	log     *slog.Logger
	mu      sync.Mutex
	loaded  time.Time
	byProj  map[string][]string
	anyProj map[string]bool
}

func newOriginCache(db *store.DB, log *slog.Logger) *originCache {
	return &originCache{db: db, log: log}
}

func (c *originCache) current(ctx context.Context) (map[string][]string, map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.loaded) >= originRefresh {
		byProj, err := c.db.FindOrigins(ctx, "")
		if err != nil {
			// Fail closed on first load; keep serving the last good list after.
			c.log.ErrorContext(ctx, "load CORS allowlists", "err", err)
			return c.byProj, c.anyProj
		}
		anyProj := map[string]bool{}
		for _, os := range byProj {
			for _, o := range os {
				anyProj[o] = true
			}
		}
		c.byProj, c.anyProj, c.loaded = byProj, anyProj, time.Now()
	}
	return c.byProj, c.anyProj
}

// anyProject decides preflights, which carry no key: is the origin on any
// project's allowlist?
func (c *originCache) anyProject(ctx context.Context, origin string) bool {
	_, any := c.current(ctx)
	return any[origin]
}

// callerProject decides real requests: is the origin on the allowlist of the
// project whose key made the request?
func (c *originCache) callerProject(r *http.Request, origin string) bool {
	k := keyFrom(r.Context())
	if k == nil {
		return false
	}
	byProj, _ := c.current(r.Context())
	return slices.Contains(byProj[k.ProjectID], origin)
}
