// Package apitest starts a real Calmony Pay API server on a test store for
// end-to-end tests over HTTP.
package apitest

import (
	"cmp"
	"context"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/api"
	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/cardstream/sandbox"
	"github.com/calmony/calmonypay/internal/config"
	"github.com/calmony/calmonypay/internal/dashboard"
	"github.com/calmony/calmonypay/internal/health"
	"github.com/calmony/calmonypay/internal/hosted"
	"github.com/calmony/calmonypay/internal/loop"
	"github.com/calmony/calmonypay/internal/metrics"
	"github.com/calmony/calmonypay/internal/middleware"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
	"github.com/calmony/calmonypay/internal/throttle"
	"github.com/calmony/calmonypay/internal/webhook"
)

// Server is a running API server with one project and a test-mode key.
type Server struct {
	URL     string // base URL, without /v1
	Key     string // a test-mode secret key of Project
	Project string
	DB      *store.DB
	API     *api.Server
	// Payments is the server's operations layer.
	Payments *payments.Service
	// Billing is the server's billing operations layer.
	Billing *billing.Service
	// Dashboard serves /dashboard and /api/trpc.
	Dashboard *dashboard.Server
	// Sandbox is the in-process Cardstream sandbox test-mode keys charge,
	// served to browsers at SandboxURL, an origin of its own as in serve.
	Sandbox    *sandbox.Sandbox
	SandboxURL string
	// Loops are the server's background loops; /healthz and /readyz
	// (Health) are served, the loops started here being required.
	Loops  *loop.Group
	Health *health.Checker

	dsn string // PostgreSQL: the database's, for OwnStore
}

// Options tune Start.
type Options struct {
	// RateLimit per key per second; 0 turns it off (the default for tests).
	RateLimit int
	// ClientRateLimit per client address per second on the routes that
	// know no key, and on the sandbox; 0 means serve's default (so tests
	// show that a shopper never meets it), negative turns it off.
	ClientRateLimit int
	// Postgres runs on PostgreSQL (the test is skipped unless
	// CALMONY_TEST_POSTGRES_URL is set) instead of SQLite.
	Postgres bool
	// Logger defaults to a discarding logger.
	Logger *slog.Logger
	// Gateways replace the in-process sandbox (for example with a gateway
	// that times out).
	Gateways *payments.Gateways
	// Now is the server's and the store's clock.
	Now func() time.Time
	// ThreeDSMethodTimeout: see hosted.Config (0: its default, 10 s).
	ThreeDSMethodTimeout time.Duration
	// SandboxPages, if set, wraps the sandbox's pages (inside the
	// middleware), for a test that makes one misbehave.
	SandboxPages func(http.Handler) http.Handler
	// AllowLocalhostURLs and AllowPrivateWebhookURLs: see api.Config;
	// SkipCallbackSignature, AnswerWithin and Crash: see payments.Config.
	AllowLocalhostURLs      bool
	AllowPrivateWebhookURLs bool
	SkipCallbackSignature   bool
	AnswerWithin            time.Duration
	Crash                   func(point string) bool
	// NoTestClockLoop leaves test clocks advancing until the test calls
	// Billing.AdvanceClocks, instead of finishing their advances at once.
	NoTestClockLoop bool
	// Share makes the server a second instance of Share's: the same
	// database, project and key (Postgres and Now are then Share's).
	Share *Server
	// OwnStore, with Share on PostgreSQL, gives the second instance a
	// store of its own on Share's database, as a second serve process has:
	// nothing passes between the two but the database (and its
	// notifications). Without it they share one store handle.
	OwnStore bool
	// CacheExpiry: see api.Config and payments.Config (0: 1 s).
	CacheExpiry time.Duration
	// Webhooks runs a webhook delivery worker, as serve does (private and
	// loopback endpoint URLs allowed, so that tests receive them).
	Webhooks bool
	// Metrics, if set, measures the server as serve's --metrics-addr
	// does: its requests, gateway calls and store gauges.
	Metrics *metrics.Metrics
}

// Start starts a server and stops it when the test ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	var db *store.DB
	var dsn string
	switch {
	case opts.Share != nil && opts.OwnStore:
		if opts.Share.dsn == "" {
			tb.Fatal("apitest: OwnStore needs a Share on PostgreSQL")
		}
		dsn = opts.Share.dsn
		db = storetest.OpenDSN(tb, dsn, opts.Share.DB.Keys(), opts.Share.DB.Now)
	case opts.Share != nil:
		db = opts.Share.DB
	case opts.Postgres:
		dsn = storetest.DSN(tb, true)
		db = storetest.OpenDSN(tb, dsn, storetest.Keys(tb), opts.Now)
	default:
		db = storetest.OpenWithClock(tb, false, opts.Now)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	// The server's and the sandbox's URLs are known before they start, so
	// the sandbox (on an origin of its own, as in serve) and hosted checkout
	// pages can point browsers at each other.
	ts, sts := httptest.NewUnstartedServer(nil), httptest.NewUnstartedServer(nil)
	publicURL, sandboxURL := "http://"+ts.Listener.Addr().String(), "http://"+sts.Listener.Addr().String()
	noEnv := func(string) string { return "" }
	test, err := sandbox.Setup(noEnv, sandbox.SetupOptions{CallbackURL: publicURL + payments.CheckoutCallbackPath,
		SandboxURL: sandboxURL, Logger: log, StandIn: payments.HostedStandIn,
		StandInChallenge: payments.HostedStandInChallenge})
	if err != nil {
		tb.Fatal(err)
	}
	gws, err := payments.Configure(noEnv, payments.Options{Test: test.Client, Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	if opts.Gateways != nil {
		gws = *opts.Gateways
	}
	var instrument func(http.Handler) http.Handler
	if opts.Metrics != nil {
		gws = payments.Observe(gws, opts.Metrics.ObserveGateway)
		opts.Metrics.WatchStore(db, log, 0)
		instrument = opts.Metrics.Instrument
	}
	perClient := cmp.Or(opts.ClientRateLimit, config.DefaultClientRateLimit)
	svc := payments.New(payments.Config{DB: db, Keys: db.Keys(), Gateways: gws, Logger: log, Now: opts.Now, PublicURL: publicURL,
		SkipCallbackSignature: opts.SkipCallbackSignature, Render: api.Renderer(publicURL), AnswerWithin: opts.AnswerWithin, Crash: opts.Crash,
		CacheExpiry: opts.CacheExpiry})
	bill := billing.New(billing.Config{DB: db, Payments: svc, Logger: log, Now: opts.Now})
	svc.SetInvoiceHooks(bill)
	pages := hosted.New(hosted.Config{DB: db, Payments: svc, Billing: bill, Logger: log, ClientRateLimit: perClient, Now: opts.Now,
		ThreeDSMethodTimeout: opts.ThreeDSMethodTimeout})
	dash, err := dashboard.New(dashboard.Config{DB: db, Payments: svc, Billing: bill, Logger: log, PublicURL: publicURL, Now: opts.Now,
		AllowPrivateWebhookURLs: opts.AllowPrivateWebhookURLs})
	if err != nil {
		tb.Fatal(err)
	}
	loops := loop.NewGroup(context.Background(), log)
	checker := &health.Checker{DB: db, Loops: loops, Required: []string{"currencies", "origins"}, Logger: log}
	srv, err := api.New(api.Config{DB: db, Payments: svc, Billing: bill, Mount: mounts(pages.Routes(), dash.Routes(), checker.Routes()), TRPC: dash.TRPC(),
		Keys: db.Keys(), Logger: log, RateLimit: opts.RateLimit, AppOrigin: "https://app.calmony.test", Now: opts.Now,
		AllowLocalhostURLs: opts.AllowLocalhostURLs, AllowPrivateWebhookURLs: opts.AllowPrivateWebhookURLs, Instrument: instrument,
		CacheExpiry: opts.CacheExpiry})
	if err != nil {
		tb.Fatal(err)
	}
	loops.Go("currencies", svc.RefreshSettings)
	loops.Go("origins", srv.RefreshSettings)
	if dsn != "" {
		// As serve: this instance's store hears the others' changes.
		loops.Go("cache invalidation", db.ListenChanges)
	}
	if !opts.NoTestClockLoop {
		loops.Go("test clocks", func(ctx context.Context) { bill.RunClocks(ctx, time.Second) })
	}
	if opts.Webhooks {
		w, err := webhook.New(webhook.Config{DB: db, Logger: log, Now: opts.Now, AllowPrivateURLs: true, PollInterval: 10 * time.Millisecond})
		if err != nil {
			tb.Fatal(err)
		}
		loops.Go("webhook worker", func(ctx context.Context) { w.Run(ctx) })
	}
	ts.Config.Handler = srv
	// The sandbox's pages as serve serves them (cmd/calmonypay's
	// sandboxHandler): the API's middleware and a per-client limit.
	var sandboxPages http.Handler = test.Sandbox.Pages()
	if opts.SandboxPages != nil {
		sandboxPages = opts.SandboxPages(sandboxPages)
	}
	sts.Config.Handler = middleware.Chain(sandboxPages,
		middleware.RequestID(nil),
		middleware.AccessLog(log),
		middleware.SecurityHeaders,
		middleware.Recover(log),
		throttle.New(throttle.Config{PerSecond: float64(perClient)}).Limit(throttle.TooManyText),
	)
	ts.Start()
	sts.Start()
	tb.Cleanup(func() {
		sts.Close()
		ts.Close()
		svc.Drain(context.Background())
		loops.Stop()
	})
	out := &Server{URL: ts.URL, DB: db, API: srv, Payments: svc, Billing: bill, Dashboard: dash, Sandbox: test.Sandbox, SandboxURL: sts.URL,
		Loops: loops, Health: checker, dsn: dsn}
	if opts.Share != nil {
		out.Project, out.Key = opts.Share.Project, opts.Share.Key
	} else {
		out.Project = storetest.Project(tb, db).ProjectID
		out.Key = NewKey(tb, db, out.Project, false)
	}
	return out
}

// mounts joins route tables.
func mounts(tables ...map[string]http.Handler) map[string]http.Handler {
	out := map[string]http.Handler{}
	for _, t := range tables {
		maps.Copy(out, t)
	}
	return out
}

// NewKey creates a secret key for a project and returns it.
func NewKey(tb testing.TB, db *store.DB, projectID string, live bool) string {
	tb.Helper()
	key, rec := pay.NewSecretKey(live)
	rec.ProjectID = projectID
	if err := db.Tx(context.Background(), func(tx *store.Tx) error { return tx.CreateAPIKey(context.Background(), &rec) }); err != nil {
		tb.Fatal(err)
	}
	return key
}

// NewProject creates another project with a test key and returns both.
func NewProject(tb testing.TB, db *store.DB) (projectID, key string) {
	tb.Helper()
	scope := storetest.Project(tb, db)
	return scope.ProjectID, NewKey(tb, db, scope.ProjectID, false)
}

// DashboardSession signs a person in to the dashboard of s's project (in
// test mode) with a role, as the sign-in flows would, and returns the
// session cookie's value. The person is made a member first.
func (s *Server) DashboardSession(tb testing.TB, email string, role pay.Role) string {
	tb.Helper()
	ctx := context.Background()
	token := pay.RandomString(32)
	now := s.DB.Now()
	err := s.DB.Tx(ctx, func(tx *store.Tx) error {
		u, err := tx.EnsureUser(ctx, email, "")
		if err != nil {
			return err
		}
		if err := tx.SetMember(ctx, s.Project, u.ID, role); err != nil {
			return err
		}
		return tx.CreateStaffSession(ctx, &pay.StaffSession{TokenHash: pay.HashKey(token), UserID: u.ID, ProjectID: s.Project,
			ExpiresAt: now.Add(dashboard.DefaultSessionLifetime).Unix(), IdleUntil: now.Add(dashboard.DefaultIdleTimeout).Unix()})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return token
}
