package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/calmony/calmonypay/internal/api"
	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/config"
	"github.com/calmony/calmonypay/internal/dashboard"
	"github.com/calmony/calmonypay/internal/health"
	"github.com/calmony/calmonypay/internal/hosted"
	"github.com/calmony/calmonypay/internal/loop"
	"github.com/calmony/calmonypay/internal/metrics"
	"github.com/calmony/calmonypay/internal/middleware"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/throttle"
	"github.com/calmony/calmonypay/internal/webhook"
)

// defaultMemoryLimit is serve's soft heap ceiling unless GOMEMLIMIT is set.
const defaultMemoryLimit = 64 << 20

func serve(ctx context.Context, args []string, e *env) error {
	cfg := &config.Config{}
	fs := newFlagSet("serve", e)
	cfg.BindServe(fs, e.getenv)
	pprofAddr := fs.String("pprof-addr", e.getenv("CALMONY_PPROF_ADDR"), "serve Go profiling endpoints on this loopback address, e.g. 127.0.0.1:6060; off by default (CALMONY_PPROF_ADDR)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: serve takes no arguments", errUsage)
	}
	if err := cfg.Finish(); err != nil {
		return err
	}
	logs := newLogWriter(e.stderr)
	defer logs.Close()
	log := newLoggerTo(logs, cfg)
	if e.getenv("GOGC") == "" {
		// Request garbage is short-lived over a small live heap: collecting at
		// 3× the live heap instead of Go's default 2× took 10–15% off the CPU
		// per request at a cost of a few MB (BENCHMARKS.md). GOGC overrides.
		debug.SetGCPercent(200)
	}
	if e.getenv("GOMEMLIMIT") == "" {
		// A soft ceiling for the heap: below it GOGC alone decides, near it
		// the collector runs sooner, so a heap that grows (the in-process
		// sandbox's transactions, a burst of requests) does not take RSS
		// to three times what is live. It is soft: a live heap above it
		// costs more GC work, never an error. GOMEMLIMIT overrides.
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	if err := cfg.LoadEncryptionKey(e.getenv, log, true); err != nil {
		return err
	}
	if err := cfg.LoadWebhookKey(e.getenv, log, true); err != nil {
		return err
	}
	db, keys, err := openStore(ctx, cfg, e, log, true)
	if err != nil {
		return err
	}
	defer db.Close()
	boot, err := bootstrap(ctx, db)
	if err != nil {
		return err
	}
	if cfg.SkipCallbackSignature {
		if live, err := db.HasLiveKeys(ctx); err != nil || live {
			return cmp.Or(err, errors.New("the checkout callback signature bypass (CALMONY_ENV=test or REQUIRE_SIGNATURE=false) is refused while live keys exist"))
		}
		log.Warn("SECURITY: hosted payment callback signatures are NOT verified (CALMONY_ENV=test or REQUIRE_SIGNATURE=false); never use this with real payments")
	}
	if cfg.AllowPrivateWebhookURLs {
		log.Warn("SECURITY: test-mode webhook endpoints may target loopback and private-network hosts (--allow-private-webhook-urls); for development only")
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if cfg.PublicURL == "http://"+cfg.Addr || cfg.PublicURL == "https://"+cfg.Addr {
		// Report the real port when listening on :0.
		scheme := "http"
		if cfg.TLSCert != "" {
			scheme = "https"
		}
		cfg.PublicURL = scheme + "://" + ln.Addr().String()
	}
	// The dashboard is served by this same server unless told otherwise.
	o, err := middleware.ParseOrigin(cmp.Or(cfg.AppOrigin, cfg.PublicURL))
	if err != nil {
		return fmt.Errorf("--app-origin: %w", err)
	}
	cfg.AppOrigin = o

	trusted, err := throttle.ParseProxies(cfg.TrustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	// Browsers reach the sandbox's pages on a listener of its own: anyone
	// can sign requests for its public test accounts, so nothing of it may
	// share the API's origin. In production it has none; test keys still
	// reach it, in memory only.
	var sandboxLn net.Listener
	if cfg.Env != config.Production {
		if sandboxLn, err = listenSandbox(cfg); err != nil {
			return err
		}
		defer sandboxLn.Close()
	}
	gateways, sb, err := configureGateways(e.getenv, gatewayOptions{publicURL: cfg.PublicURL, sandboxURL: cfg.SandboxURL,
		requireLive: cfg.Env == config.Production, log: log, client: throttle.Client(trusted), sandboxMaxTransactions: cfg.SandboxMaxTransactions})
	if err != nil {
		return err
	}
	// Metrics, when asked for, on a listener of their own.
	var instrument func(http.Handler) http.Handler
	var metricsSrv *httpServer
	if cfg.MetricsAddr != "" {
		m := metrics.New()
		gateways = payments.Observe(gateways, m.ObserveGateway)
		m.WatchStore(db, log, 0)
		instrument = m.Instrument
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		defer mln.Close()
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", m.Handler(log))
		metricsSrv = &httpServer{Server: newHTTPServer(mux, log), ln: mln}
		cfg.MetricsAddr = mln.Addr().String()
	}
	svc := payments.New(payments.Config{DB: db, Keys: keys, Gateways: gateways, Logger: log, PublicURL: cfg.PublicURL,
		SkipCallbackSignature: cfg.SkipCallbackSignature, Render: api.Renderer(cfg.PublicURL)})
	bill := billing.New(billing.Config{DB: db, Payments: svc, Logger: log})
	svc.SetInvoiceHooks(bill)
	pages := hosted.New(hosted.Config{DB: db, Payments: svc, Billing: bill, Logger: log, ClientRateLimit: cfg.ClientRateLimit, TrustedProxies: trusted})
	dash, err := dashboard.New(dashboard.Config{DB: db, Payments: svc, Billing: bill, Logger: log, PublicURL: cfg.PublicURL, TrustedProxies: trusted,
		OIDC: oidcConfig(cfg), AllowPrivateWebhookURLs: cfg.AllowPrivateWebhookURLs})
	if err != nil {
		return err
	}
	if boot.testKey != "" {
		// The newcomer's way in: a one-time link for the new project's
		// first admin, in the banner.
		if boot.signInLink, _, err = dashboard.SignInLink(ctx, db, dashboard.LinkOptions{PublicURL: cfg.PublicURL, ProjectID: boot.projectID,
			CreatedBy: "serve"}); err != nil {
			return err
		}
	}
	// The background loops, started once the store is open and stopped
	// (and waited for) after the servers have shut down; /readyz fails
	// while one of requiredLoops is not running.
	loops := loop.NewGroup(ctx, log)
	defer loops.Stop()
	checker := &health.Checker{DB: db, Loops: loops, Required: requiredLoops(), Logger: log}
	mount := pages.Routes()
	maps.Copy(mount, dash.Routes())
	maps.Copy(mount, checker.Routes())
	srv, err := api.New(api.Config{DB: db, Payments: svc, Billing: bill, Mount: mount, TRPC: dash.TRPC(), Keys: keys, Logger: log, RateLimit: cfg.RateLimit,
		AppOrigin: cfg.AppOrigin, AllowPrivateWebhookURLs: cfg.AllowPrivateWebhookURLs, AllowLocalhostURLs: cfg.AllowLocalhostURLs, Instrument: instrument})
	if err != nil {
		return err
	}
	webhooks, err := newWebhookWorker(db, cfg, log)
	if err != nil {
		return err
	}
	if *pprofAddr != "" {
		stopPprof, err := startPprof(*pprofAddr, log)
		if err != nil {
			return err
		}
		defer stopPprof()
	}
	servers := []*httpServer{{Server: newHTTPServer(srv, log), ln: ln}}
	if sandboxLn != nil && sb != nil {
		perClient := throttle.Config{PerSecond: float64(cfg.ClientRateLimit), Trusted: trusted}
		servers = append(servers, &httpServer{Server: newHTTPServer(sandboxHandler(sb, perClient, log), log), ln: sandboxLn})
	}
	if metricsSrv != nil {
		servers = append(servers, metricsSrv)
	}
	printBanner(e, cfg, db, boot, sandboxLn != nil && sb != nil)
	runLoops(loops, db, svc, bill, srv, webhooks, cfg.ReconcileInterval, log)

	errc := make(chan error, len(servers))
	for _, hs := range servers {
		go func() {
			if hs == metricsSrv {
				errc <- hs.Serve(hs.ln) // plain HTTP: a private address
				return
			}
			errc <- hs.serve(cfg)
		}()
	}
	if e.ready != nil {
		e.ready(cfg.PublicURL)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	for _, hs := range servers {
		if err := hs.Shutdown(shutdownCtx); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
	}
	// Requests that answered before the gateway did record its outcome
	// now; any still waiting when the budget ends are the reconciler's.
	if err := svc.Drain(shutdownCtx); err != nil {
		log.Warn("gateway operations still waiting at shutdown are left to the reconciler", "err", err)
	}
	for range servers {
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	return nil
}

// httpServer is one of serve's listeners and the server on it.
type httpServer struct {
	*http.Server
	ln net.Listener
}

// serve serves until Shutdown, over TLS when configured.
func (hs *httpServer) serve(cfg *config.Config) error {
	if cfg.TLSCert != "" {
		return hs.ServeTLS(hs.ln, cfg.TLSCert, cfg.TLSKey)
	}
	return hs.Serve(hs.ln)
}

// listenSandbox opens the sandbox's own listener, --sandbox-addr or the
// host of --addr on a free port, and makes cfg.SandboxURL, unless given,
// the API's public host name on that port.
func listenSandbox(cfg *config.Config) (net.Listener, error) {
	addr := cfg.SandboxAddr
	if addr == "" {
		host, _, _ := net.SplitHostPort(cfg.Addr)
		addr = net.JoinHostPort(host, "0")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sandbox listener: %w", err)
	}
	if cfg.SandboxURL == "" {
		scheme := "http"
		if cfg.TLSCert != "" {
			scheme = "https"
		}
		api, _ := url.Parse(cfg.PublicURL)
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		cfg.SandboxURL = scheme + "://" + net.JoinHostPort(api.Hostname(), port)
	}
	cfg.SandboxURL = strings.TrimRight(cfg.SandboxURL, "/")
	if sb := originOf(cfg.SandboxURL); sb == "" || sb == originOf(cfg.PublicURL) || sb == cfg.AppOrigin {
		ln.Close()
		return nil, fmt.Errorf("--sandbox-url %q must be a URL of an origin of its own, not the API's or the dashboard's", cfg.SandboxURL)
	}
	return ln, nil
}

// originOf returns a URL's origin in normal form, or "" if it has none.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	o, err := middleware.ParseOrigin(u.Scheme + "://" + u.Host)
	if err != nil {
		return ""
	}
	return o
}

// newHTTPServer sets every timeout: a slow or stuck client cannot hold a
// connection or goroutine forever.
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// oidcConfig is the dashboard's OpenID Connect sign-in, if configured.
func oidcConfig(cfg *config.Config) *dashboard.OIDCConfig {
	if cfg.OIDCIssuer == "" {
		return nil
	}
	return &dashboard.OIDCConfig{Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: string(cfg.OIDCClientSecret), Name: cfg.OIDCName}
}

// bootResult is what bootstrap created on an empty database.
type bootResult struct {
	projectID string
	testKey   string // shown once; "" when the database already had a project
	// signInLink signs the first admin in to the dashboard, once, within
	// 15 minutes; made with testKey.
	signInLink string
}

// bootstrap gives an empty database its default project and a test key.
func bootstrap(ctx context.Context, db *store.DB) (bootResult, error) {
	ps, err := db.FindProjects(ctx)
	if err != nil || len(ps) > 0 {
		if len(ps) > 0 {
			return bootResult{projectID: ps[0].ID}, nil
		}
		return bootResult{}, err
	}
	p, err := createDefaultProject(ctx, db)
	if err != nil {
		return bootResult{}, err
	}
	key, _, err := createKey(ctx, db, p.ID, false)
	return bootResult{projectID: p.ID, testKey: key}, err
}

func printBanner(e *env, cfg *config.Config, db *store.DB, boot bootResult, sandbox bool) {
	w := e.stdout
	fmt.Fprintf(w, "\nCalmony Pay is running (%s)\n\n", cfg.Env)
	fmt.Fprintf(w, "  API          %s/v1\n", cfg.PublicURL)
	fmt.Fprintf(w, "  Dashboard    %s/dashboard/\n", cfg.PublicURL)
	fmt.Fprintf(w, "  API docs     %s/docs\n", cfg.PublicURL)
	dbName := cfg.Database
	if db.Dialect() == store.Postgres {
		dbName = "PostgreSQL"
	}
	fmt.Fprintf(w, "  Database     %s (%s)\n", dbName, db.Dialect())
	fmt.Fprintf(w, "  Project      %s\n", boot.projectID)
	if boot.testKey != "" {
		fmt.Fprintf(w, "  Test key     %s\n               shown once: save it now. Try:\n", boot.testKey)
		fmt.Fprintf(w, "               curl %s/v1/customers -u %s: -d email=jenny@example.com\n", cfg.PublicURL, boot.testKey)
	} else {
		fmt.Fprintf(w, "  Test key     made on first start; create another with: calmonypay keys create --mode test\n")
	}
	if boot.signInLink != "" {
		fmt.Fprintf(w, "  Sign in      %s\n               one-time link, valid 15 minutes; print another with: calmonypay dashboard link\n", boot.signInLink)
	} else {
		fmt.Fprintf(w, "  Sign in      print a one-time link with: calmonypay dashboard link [--email EMAIL]\n")
	}
	if cfg.SkipCallbackSignature {
		fmt.Fprintf(w, "  WARNING      checkout callback signatures are NOT verified (test-mode bypass)\n")
	}
	if cfg.AllowPrivateWebhookURLs {
		fmt.Fprintf(w, "  WARNING      test-mode webhooks may reach loopback and private-network hosts (--allow-private-webhook-urls)\n")
	}
	if cfg.MetricsAddr != "" {
		fmt.Fprintf(w, "  Metrics      http://%s/metrics (Prometheus; no authentication: keep this address private)\n", cfg.MetricsAddr)
	}
	if sandbox {
		fmt.Fprintf(w, "  Sandbox      %s/ (Cardstream test gateway for sk_test_ keys, on an origin of its own)\n", cfg.SandboxURL)
	}
	if cfg.GeneratedKey != "" {
		fmt.Fprintf(w, "  Warning      personal data is encrypted with a development key in %s; set CALMONY_ENCRYPTION_KEY for real data\n", cfg.GeneratedKey)
	}
	fmt.Fprintln(w)
}

// requiredLoops are the loops /readyz requires running: the reconciler,
// the webhook worker and the billing scheduler, and the settings caches
// requests read.
func requiredLoops() []string {
	return []string{"reconciler", "webhook worker", "billing scheduler", "project currencies", "CORS allowlists"}
}

// runLoops starts serve's background loops in g: the settings caches'
// reloads, on PostgreSQL the listener for other instances' changes to
// them, the reconciler (every interval), the checkout sweeper, the
// idempotency-key pruner, the dashboard's session pruner, the webhook worker, the test clocks' advances and
// the billing scheduler.
func runLoops(g *loop.Group, db *store.DB, svc *payments.Service, bill *billing.Service, srv *api.Server, webhooks *webhook.Worker,
	interval time.Duration, log *slog.Logger) {
	g.Go("project currencies", svc.RefreshSettings)
	g.Go("CORS allowlists", srv.RefreshSettings)
	if db.Dialect() == store.Postgres {
		// A key revoked or an origin removed through another instance is
		// refused here at once; the caches' one-second expiry is the
		// fallback while the listener reconnects.
		g.Go("cache invalidation", db.ListenChanges)
	}
	g.Every("reconciler", interval, svc.Reconcile)
	g.Every("checkout sweeper", 30*time.Second, func(ctx context.Context) error {
		n, err := svc.ExpireCheckoutSessions(ctx)
		if n > 0 {
			log.InfoContext(ctx, "expired checkout sessions", "count", n)
		}
		return err
	})
	// Idempotency keys are kept 24 hours.
	g.Every("idempotency pruner", time.Hour, func(ctx context.Context) error {
		n, err := db.PruneIdempotent(ctx)
		if n > 0 {
			log.InfoContext(ctx, "pruned idempotency keys", "count", n)
		}
		return err
	})
	// Advances of test clocks finish within a second, at once on the
	// instance that accepted them.
	g.Go("test clocks", func(ctx context.Context) { bill.RunClocks(ctx, time.Second) })
	// Renewals, trial ends, retries and expiries on the wall clock: due
	// work waits at most a minute.
	g.Go("billing scheduler", func(ctx context.Context) { bill.RunScheduler(ctx, time.Minute) })
	// Dashboard sessions that have ended, and spent or expired sign-in
	// links a day old.
	g.Every("session pruner", 10*time.Minute, func(ctx context.Context) error {
		return db.Tx(ctx, func(tx *store.Tx) error { return tx.DeleteExpiredStaffSessions(ctx, time.Now().Unix()) })
	})
	g.Go("webhook worker", func(ctx context.Context) {
		if err := webhooks.Run(ctx); err != nil {
			log.ErrorContext(ctx, "webhook worker stopped", "err", err)
		}
	})
}
