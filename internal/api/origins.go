package api

import (
	"context"
	"log/slog"
	"net/http"
	"slices"

	"github.com/calmony/calmonypay/internal/loop"
	"github.com/calmony/calmonypay/internal/store"
)

// origins are the CORS allowlists: by project, and their union.
type origins struct {
	byProject map[string][]string
	any       map[string]bool
}

func newOriginCache(db *store.DB, log *slog.Logger) *loop.Cached[origins] {
	return loop.NewCached("CORS allowlists", log, func(ctx context.Context) (origins, error) {
		byProject, err := db.FindOrigins(ctx, "")
		o := origins{byProject: byProject, any: map[string]bool{}}
		for _, list := range byProject {
			for _, origin := range list {
				o.any[origin] = true
			}
		}
		return o, err
	})
}

// anyProjectOrigin decides preflights, which carry no key: is the origin on
// any project's allowlist?
func (s *Server) anyProjectOrigin(ctx context.Context, origin string) bool {
	return s.origins.Get().any[origin]
}

// callerProjectOrigin decides real requests: is the origin on the allowlist
// of the project whose key made the request?
func (s *Server) callerProjectOrigin(r *http.Request, origin string) bool {
	k := keyFrom(r.Context())
	return k != nil && slices.Contains(s.origins.Get().byProject[k.ProjectID], origin)
}
