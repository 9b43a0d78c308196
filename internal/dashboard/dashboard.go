// Package dashboard serves the merchant's web UI: server-rendered pages at
// /dashboard and a tRPC-compatible API at /api/trpc, both for people signed
// in with a server-side session (never an API key). Every procedure is
// scoped to the session's project and mode and checked against the
// member's role; every write goes through the payments and billing
// operations, as /v1's do, and is written to the project's audit log.
//
// It is a sibling of api and hosted and imports neither: api mounts its
// routes (Server.Routes) and puts Server.TRPC behind the /api/trpc CORS and
// cross-origin protection (middleware.TRPC).
package dashboard

import (
	"cmp"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/throttle"
)

// Config configures the dashboard.
type Config struct {
	DB       *store.DB
	Payments *payments.Service
	Billing  *billing.Service
	Logger   *slog.Logger
	// PublicURL is the address people reach the server at. Over https the
	// session cookie is Secure and named with the __Host- prefix.
	PublicURL string
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// SessionLifetime is a session's absolute lifetime (SEC-18: 8 hours by
	// default); IdleTimeout ends a session unused for that long (2 hours by
	// default), never later than its lifetime.
	SessionLifetime, IdleTimeout time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (for the audit log and the sign-in rate limit).
	TrustedProxies []netip.Prefix
	// AllowPrivateWebhookURLs lets test-mode webhook endpoints made here
	// use private and loopback hosts, as api.Config's does for /v1.
	AllowPrivateWebhookURLs bool
	// OIDC, if set, lets people sign in through an OpenID Connect
	// provider; without it, only sign-in links and invites sign people in.
	OIDC *OIDCConfig
}

// Session lifetimes by default.
const (
	DefaultSessionLifetime = 8 * time.Hour
	DefaultIdleTimeout     = 2 * time.Hour
)

// Server serves the dashboard. Create it with New.
type Server struct {
	db        *store.DB
	payments  *payments.Service
	billing   *billing.Service
	log       *slog.Logger
	now       func() time.Time
	publicURL *url.URL
	lifetime  time.Duration
	idle      time.Duration
	trusted   []netip.Prefix
	// allowPrivateWebhookURLs: see Config.
	allowPrivateWebhookURLs bool
	procs                   map[string]procedure
	pages                   http.Handler
	auth                    http.Handler
	oidc                    *oidcClient       // nil: no OIDC sign-in
	authLimit               *throttle.Limiter // /api/auth/*: SEC-08
}

// New returns the dashboard. It does no I/O.
func New(cfg Config) (*Server, error) {
	if cfg.DB == nil || cfg.Payments == nil || cfg.Billing == nil {
		return nil, errors.New("dashboard: DB, Payments and Billing are required")
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("dashboard: PublicURL must be an absolute http(s) URL")
	}
	s := &Server{
		db:        cfg.DB,
		payments:  cfg.Payments,
		billing:   cfg.Billing,
		log:       cmp.Or(cfg.Logger, slog.Default()),
		now:       cfg.Now,
		publicURL: u,
		lifetime:  cmp.Or(cfg.SessionLifetime, DefaultSessionLifetime),
		idle:      cmp.Or(cfg.IdleTimeout, DefaultIdleTimeout),
		trusted:   cfg.TrustedProxies,

		allowPrivateWebhookURLs: cfg.AllowPrivateWebhookURLs,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.OIDC != nil {
		if s.oidc, err = newOIDCClient(*cfg.OIDC, s.publicURL.String()+oidcCallbackPath, s.now); err != nil {
			return nil, err
		}
	}
	s.authLimit = throttle.New(throttle.Config{PerSecond: authPerMinute / 60.0, Burst: authPerMinute, Trusted: cfg.TrustedProxies, Now: s.now, Name: "auth"})
	s.procs = s.procedures()
	s.pages = s.pageRoutes()
	s.auth = s.authRoutes()
	return s, nil
}

// Routes returns the dashboard's pages and sign-in routes by pattern, for api.Config.Mount.
func (s *Server) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		"/dashboard":  http.RedirectHandler("/dashboard/", http.StatusFound),
		"/dashboard/": s.pages,
		"/api/auth/":  s.auth,
	}
}

// TRPC returns the /api/trpc handler, for api.Config.TRPC.
func (s *Server) TRPC() http.Handler { return http.HandlerFunc(s.serveTRPC) }
