package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// projectRefresh bounds how stale the cached project settings (CORS
// allowlists, currencies) may be.
const projectRefresh = time.Second

// refreshing is a value loaded from the database and reloaded in the
// background twice every projectRefresh, whether or not anyone asks for it,
// so that it is never older than that: a reload started only when a request
// finds the value stale would leave that first request after an idle
// spell with the stale value. get never waits for the database: it is
// called inside transactions, and waiting there for a pool connection could
// deadlock a busy PostgreSQL pool. A failed reload keeps the last good
// value.
type refreshing[T any] struct {
	load  func(ctx context.Context) (T, error)
	log   *slog.Logger
	what  string
	mu    sync.Mutex
	value T
}

// start loads the value once, synchronously, then keeps reloading it until
// ctx ends. Call it before serving.
func (c *refreshing[T]) start(ctx context.Context) {
	c.reload(ctx)
	go every(ctx, projectRefresh/2, func() { c.reload(ctx) })
}

func (c *refreshing[T]) get() T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.value
}

func (c *refreshing[T]) reload(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, projectRefresh/2)
	defer cancel()
	v, err := c.load(ctx)
	if err != nil {
		if ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			c.log.ErrorContext(ctx, "load "+c.what, "err", err)
		}
		return
	}
	c.mu.Lock()
	c.value = v
	c.mu.Unlock()
}

// origins are the CORS allowlists: by project, and their union.
type origins struct {
	byProject map[string][]string
	any       map[string]bool
}

func newOriginCache(db *store.DB, log *slog.Logger) *refreshing[origins] {
	return &refreshing[origins]{log: log, what: "CORS allowlists", load: func(ctx context.Context) (origins, error) {
		byProject, err := db.FindOrigins(ctx, "")
		o := origins{byProject: byProject, any: map[string]bool{}}
		for _, list := range byProject {
			for _, origin := range list {
				o.any[origin] = true
			}
		}
		return o, err
	}}
}

// anyProjectOrigin decides preflights, which carry no key: is the origin on
// any project's allowlist?
func (s *Server) anyProjectOrigin(ctx context.Context, origin string) bool {
	return s.origins.get().any[origin]
}

// callerProjectOrigin decides real requests: is the origin on the allowlist
// of the project whose key made the request?
func (s *Server) callerProjectOrigin(r *http.Request, origin string) bool {
	k := keyFrom(r.Context())
	return k != nil && slices.Contains(s.origins.get().byProject[k.ProjectID], origin)
}

func newCurrencyCache(db *store.DB, log *slog.Logger) *refreshing[map[string][]string] {
	return &refreshing[map[string][]string]{log: log, what: "project currencies", load: func(ctx context.Context) (map[string][]string, error) {
		ps, err := db.FindProjects(ctx)
		m := map[string][]string{}
		for _, p := range ps {
			m[p.ID] = p.Currencies
		}
		return m, err
	}}
}

// currencyAllowed reports whether the scope's project may charge in currency.
func (s *Server) currencyAllowed(ctx context.Context, scope pay.Scope, currency string) bool {
	list, ok := s.currencies.get()[scope.ProjectID]
	if !ok {
		// A project newer than the cache has the default currencies.
		list = []string{"gbp"}
	}
	return slices.Contains(list, currency)
}
