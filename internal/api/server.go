// Package api serves Calmony Pay's Stripe-compatible /v1 API: key
// authentication, rate limiting, idempotency, form decoding, expansion, list
// pagination and the error envelope, and the resources built on them.
package api

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/calmony/calmonypay/internal/apidocs"
	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/loop"
	"github.com/calmony/calmonypay/internal/middleware"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/secret"
	"github.com/calmony/calmonypay/internal/store"
)

// Config configures a Server.
type Config struct {
	DB *store.DB
	// Payments runs the writes. Required.
	Payments *payments.Service
	// Billing runs the billing writes (tax rates, test clocks, products, prices). Required.
	Billing *billing.Service
	// Mount are more routes on the same root and middleware, by pattern:
	// the shopper-facing pages (package hosted), which know no API key.
	Mount  map[string]http.Handler
	Keys   *secret.Keyring
	Logger *slog.Logger
	// RateLimit is the number of requests per second allowed per API key;
	// 0 turns rate limiting off.
	RateLimit int
	// MaxBodyBytes caps request bodies. Defaults to 1 MiB.
	MaxBodyBytes int64
	// TRPC serves /api/trpc (the dashboard's procedures), behind the CORS
	// and cross-origin protection of middleware.TRPC. Nil: every procedure
	// is NOT_FOUND.
	TRPC http.Handler
	// AppOrigin is the dashboard's own origin, the only one allowed to call
	// /api/trpc cross-origin. Optional: empty, no cross-origin calls at all.
	AppOrigin string
	// AllowLocalhostURLs lets checkout success and cancel URLs point at
	// http://localhost, for development only.
	AllowLocalhostURLs bool
	// AllowPrivateWebhookURLs lets test-mode webhook endpoints use http and
	// loopback or private-network hosts (safeurl.Options.AllowPrivate), for
	// development only. Without it, and always in live mode, endpoints must
	// be public https URLs.
	AllowPrivateWebhookURLs bool
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// Instrument wraps every route, outside all but the request ID, to
	// measure it (package metrics); it reads the route pattern and any
	// refusal from middleware.ObservationFrom. Optional.
	Instrument func(http.Handler) http.Handler
	// CacheExpiry bounds how long a looked-up API key and the CORS
	// allowlists are used without reading them again. Defaults to 1 s.
	// While RefreshSettings runs, a committed change (store.DB.OnChange,
	// from other instances too on PostgreSQL) drops them at once; tests
	// lengthen it to show that.
	CacheExpiry time.Duration
}

// Server is the HTTP API. Create it with New.
type Server struct {
	db        *store.DB
	payments  *payments.Service
	billing   *billing.Service
	keys      *secret.Keyring
	log       *slog.Logger
	now       func() time.Time
	maxBody   int64
	auth      *keyCache
	limiter   *limiter
	origins   *loop.Cached[origins]
	publicURL string
	// allowLocalhostURLs and allowPrivateWebhookURLs: see Config.
	allowLocalhostURLs      bool
	allowPrivateWebhookURLs bool
	// docs is the API reference page, rendered for publicURL.
	docs       []byte
	handler    http.Handler
	instrument func(http.Handler) http.Handler
}

// New returns a Server for cfg. It does no I/O and starts nothing: run
// RefreshSettings to keep the CORS allowlists fresh.
func New(cfg Config) (*Server, error) {
	s := &Server{
		db:                      cfg.DB,
		payments:                cfg.Payments,
		billing:                 cfg.Billing,
		keys:                    cfg.Keys,
		log:                     cmp.Or(cfg.Logger, slog.Default()),
		now:                     cfg.Now,
		maxBody:                 cmp.Or(cfg.MaxBodyBytes, 1<<20),
		publicURL:               cfg.Payments.PublicURL(),
		allowLocalhostURLs:      cfg.AllowLocalhostURLs,
		allowPrivateWebhookURLs: cfg.AllowPrivateWebhookURLs,
		instrument:              cfg.Instrument,
	}
	if s.instrument == nil {
		s.instrument = func(h http.Handler) http.Handler { return h }
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.auth = newKeyCache(cfg.DB, s.now, cmp.Or(cfg.CacheExpiry, keyCacheTTL))
	s.limiter = newLimiter(cfg.RateLimit, s.now)
	trpc, err := middleware.TRPC(cfg.AppOrigin)
	if err != nil {
		return nil, err
	}
	s.origins = newOriginCache(cfg.DB, s.log).WithRefresh(cfg.CacheExpiry)
	if s.docs, err = docsPage(s.publicURL); err != nil {
		return nil, err
	}
	s.handler = s.routes(trpc, cfg.TRPC, cfg.Mount)
	return s, nil
}

// RefreshSettings keeps the project settings the API reads (the CORS
// allowlists) fresh until ctx ends, and meanwhile drops cached keys and
// reloads the allowlists as soon as a change to them commits.
func (s *Server) RefreshSettings(ctx context.Context) {
	defer s.db.OnChange(s.settingsChanged)()
	s.origins.Run(ctx)
}

// settingsChanged drops what c makes stale.
func (s *Server) settingsChanged(c store.Change) {
	switch c.Kind {
	case store.ChangeKeys:
		s.auth.drop(c.Project)
	case store.ChangeOrigins:
		s.origins.Reload()
	case store.ChangeAll:
		s.auth.drop("")
		s.origins.Reload()
	}
}

// ServeHTTP serves every route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// v1Routes is the /v1 route table: every pattern the API serves and its
// handler. The API reference (package apidocs) is checked against it.
func (s *Server) v1Routes() []route {
	return []route{
		{"POST /v1/customers", s.op(s.createCustomer)},
		{"GET /v1/customers", s.read(s.listCustomers)},
		{"GET /v1/customers/search", s.read(search("customers", "customer", s.db.SearchCustomers, pay.CustomerView))},
		{"GET /v1/customers/{id}", s.read(retrieve(s.db.FindCustomer, "customer"))},
		{"POST /v1/customers/{id}", s.op(s.updateCustomer)},
		{"PATCH /v1/customers/{id}", s.op(s.updateCustomer)},
		{"DELETE /v1/customers/{id}", s.op(s.deleteCustomer)},
		{"GET /v1/customers/{customer}/payment_methods", s.read(s.listPaymentMethods)},
		{"POST /v1/payment_methods", s.staged("payment_method", s.createPaymentMethod)},
		{"GET /v1/payment_methods", s.read(s.listPaymentMethods)},
		{"GET /v1/payment_methods/{id}", s.read(s.retrievePaymentMethod)},
		{"POST /v1/payment_methods/{id}", s.op(s.updatePaymentMethod)},
		{"POST /v1/payment_methods/{id}/attach", s.op(s.attachPaymentMethod)},
		{"POST /v1/payment_methods/{id}/detach", s.op(s.detachPaymentMethod)},
		{"POST /v1/payment_intents", s.staged("payment_intent", s.createPaymentIntent)},
		{"GET /v1/payment_intents", s.read(s.listPaymentIntents)},
		{"GET /v1/payment_intents/search", s.read(search("payment_intents", "payment_intent", s.db.SearchPaymentIntents, pay.PaymentIntentView))},
		{"GET /v1/payment_intents/{id}", s.read(s.retrievePaymentIntent)},
		{"POST /v1/payment_intents/{id}", s.op(s.updatePaymentIntent)},
		{"POST /v1/payment_intents/{id}/confirm", s.staged("payment_intent", s.confirmPaymentIntent)},
		{"POST /v1/payment_intents/{id}/capture", s.staged("payment_intent", s.capturePaymentIntent)},
		{"POST /v1/payment_intents/{id}/cancel", s.staged("payment_intent", s.cancelPaymentIntent)},
		{"POST /v1/setup_intents", s.staged("setup_intent", s.createSetupIntent)},
		{"GET /v1/setup_intents", s.read(s.listSetupIntents)},
		{"GET /v1/setup_intents/{id}", s.read(s.retrieveSetupIntent)},
		{"POST /v1/setup_intents/{id}", s.op(s.updateSetupIntent)},
		{"POST /v1/setup_intents/{id}/confirm", s.staged("setup_intent", s.confirmSetupIntent)},
		{"POST /v1/setup_intents/{id}/cancel", s.op(s.cancelSetupIntent)},
		{"GET /v1/charges", s.read(s.listCharges)},
		{"GET /v1/charges/search", s.read(search("charges", "charge", s.db.SearchCharges, pay.ChargeView))},
		{"GET /v1/charges/{id}", s.read(retrieve(s.db.FindCharge, "charge"))},
		{"POST /v1/charges/{id}", s.op(s.updateCharge)},
		{"POST /v1/refunds", s.staged("refund", s.createRefund)},
		{"GET /v1/refunds", s.read(s.listRefunds)},
		{"GET /v1/refunds/{id}", s.read(retrieve(s.db.FindRefund, "refund"))},
		{"POST /v1/refunds/{id}", s.op(s.updateRefund)},
		{"POST /v1/checkout/sessions", s.op(s.createCheckoutSession)},
		{"GET /v1/checkout/sessions", s.read(s.listCheckoutSessions)},
		{"GET /v1/checkout/sessions/{id}", s.read(s.retrieveCheckoutSession)},
		{"GET /v1/checkout/sessions/{id}/line_items", s.read(s.listCheckoutLineItems)},
		{"POST /v1/checkout/sessions/{id}/expire", s.op(s.expireCheckoutSession)},
		{"POST /v1/tax_rates", s.op(s.createTaxRate)},
		{"GET /v1/tax_rates", s.read(s.listTaxRates)},
		{"GET /v1/tax_rates/{id}", s.read(retrieve(s.db.FindTaxRate, "tax rate"))},
		{"POST /v1/tax_rates/{id}", s.op(s.updateTaxRate)},
		{"POST /v1/products", s.op(s.createProduct)},
		{"GET /v1/products", s.read(s.listProducts)},
		{"GET /v1/products/search", s.read(search("products", "product", s.db.SearchProducts, pay.ProductView))},
		{"GET /v1/products/{id}", s.read(retrieve(s.db.FindProduct, "product"))},
		{"POST /v1/products/{id}", s.op(s.updateProduct)},
		{"DELETE /v1/products/{id}", s.op(s.deleteProduct)},
		{"POST /v1/prices", s.op(s.createPrice)},
		{"GET /v1/prices", s.read(s.listPrices)},
		{"GET /v1/prices/search", s.read(search("prices", "price", s.db.SearchPrices, pay.PriceView))},
		{"GET /v1/prices/{id}", s.read(retrieve(s.db.FindPrice, "price"))},
		{"POST /v1/prices/{id}", s.op(s.updatePrice)},
		{"POST /v1/invoiceitems", s.op(s.createInvoiceItem)},
		{"GET /v1/invoiceitems", s.read(s.listInvoiceItems)},
		{"GET /v1/invoiceitems/{id}", s.read(retrieve(s.db.FindInvoiceItem, "invoice item"))},
		{"POST /v1/invoiceitems/{id}", s.op(s.updateInvoiceItem)},
		{"DELETE /v1/invoiceitems/{id}", s.op(s.deleteInvoiceItem)},
		{"POST /v1/subscriptions", s.op(s.createSubscription)},
		{"GET /v1/subscriptions", s.read(s.listSubscriptions)},
		{"GET /v1/subscriptions/{id}", s.read(retrieve(s.db.FindSubscription, "subscription"))},
		{"POST /v1/subscriptions/{id}", s.op(s.updateSubscription)},
		{"DELETE /v1/subscriptions/{id}", s.op(s.cancelSubscription)},
		{"POST /v1/subscriptions/{id}/resume", s.op(s.resumeSubscription)},
		{"POST /v1/subscription_items", s.op(s.createSubscriptionItem)},
		{"GET /v1/subscription_items", s.read(s.listSubscriptionItems)},
		{"GET /v1/subscription_items/{id}", s.read(retrieve(s.db.FindSubscriptionItem, "subscription item"))},
		{"POST /v1/subscription_items/{id}", s.op(s.updateSubscriptionItem)},
		{"DELETE /v1/subscription_items/{id}", s.op(s.deleteSubscriptionItem)},
		{"POST /v1/invoices", s.op(s.createInvoice)},
		{"GET /v1/invoices", s.read(s.listInvoices)},
		{"GET /v1/invoices/{id}", s.read(retrieve(s.db.FindInvoice, "invoice"))},
		{"POST /v1/invoices/{id}", s.op(s.updateInvoice)},
		{"DELETE /v1/invoices/{id}", s.op(s.deleteInvoice)},
		{"GET /v1/invoices/{id}/lines", s.read(s.listInvoiceLines)},
		{"GET /v1/invoices/{id}/pdf", s.read(s.invoicePDF)},
		{"POST /v1/invoices/{id}/finalize", s.op(s.finalizeInvoice)},
		{"POST /v1/invoices/{id}/pay", s.op(s.payInvoice)},
		{"POST /v1/invoices/{id}/void", s.op(s.invoiceStep(func(b *billing.Service) func(context.Context, payments.Call, string) (*payments.Answer, error) {
			return b.VoidInvoice
		}))},
		{"POST /v1/invoices/{id}/mark_uncollectible", s.op(s.invoiceStep(func(b *billing.Service) func(context.Context, payments.Call, string) (*payments.Answer, error) {
			return b.MarkUncollectible
		}))},
		{"POST /v1/invoices/{id}/send", s.op(s.invoiceStep(func(b *billing.Service) func(context.Context, payments.Call, string) (*payments.Answer, error) {
			return b.SendInvoice
		}))},
		{"POST /v1/billing_portal/sessions", s.op(s.createPortalSession)},
		{"POST /v1/billing_portal/configurations", s.op(s.createPortalConfiguration)},
		{"GET /v1/billing_portal/configurations", s.read(s.listPortalConfigurations)},
		{"GET /v1/billing_portal/configurations/{id}", s.read(retrieve(s.db.FindPortalConfiguration, "billing portal configuration"))},
		{"POST /v1/billing_portal/configurations/{id}", s.op(s.updatePortalConfiguration)},
		{"GET /v1/events", s.read(s.listEvents)},
		{"GET /v1/events/{id}", s.read(retrieve(s.db.FindEvent, "event"))},
		{"GET /v1/events/{id}/delivery_attempts", s.read(s.listDeliveryAttempts)},
		{"POST /v1/events/{id}/retry", s.write(s.retryEvent)},
		{"POST /v1/webhook_endpoints", s.write(s.createWebhookEndpoint)},
		{"GET /v1/webhook_endpoints", s.read(s.listWebhookEndpoints)},
		{"GET /v1/webhook_endpoints/{id}", s.read(retrieve(s.db.FindWebhookEndpoint, "webhook_endpoint"))},
		{"POST /v1/webhook_endpoints/{id}", s.write(s.updateWebhookEndpoint)},
		{"DELETE /v1/webhook_endpoints/{id}", s.write(s.deleteWebhookEndpoint)},
		{"POST /v1/webhook_endpoints/{id}/roll_secret", s.write(s.rollWebhookSecret)},
		{"POST /v1/test_helpers/test_clocks", s.op(s.createTestClock)},
		{"GET /v1/test_helpers/test_clocks", s.read(s.listTestClocks)},
		{"GET /v1/test_helpers/test_clocks/{id}", s.read(s.retrieveTestClock)},
		{"DELETE /v1/test_helpers/test_clocks/{id}", s.op(s.deleteTestClock)},
		{"POST /v1/test_helpers/test_clocks/{id}/advance", s.op(s.advanceTestClock)},
	}
}

// route is one /v1 route: a ServeMux pattern and its handler.
type route struct {
	pattern string
	endpoint
}

// routes builds the whole route table and its middleware.
func (s *Server) routes(trpc func(http.Handler) http.Handler, procedures http.Handler, mount map[string]http.Handler) http.Handler {
	v1 := http.NewServeMux()
	for _, rt := range s.v1Routes() {
		v1.Handle(rt.pattern, middleware.Routed(rt))
	}
	v1.Handle("/v1/", middleware.Routed(s.read(s.unknownRoute)))

	cors := middleware.V1CORS{UnionAllowFunc: s.anyProjectOrigin, ProjectAllowFunc: s.callerProjectOrigin}
	api := middleware.Chain(v1,
		routeEarly(v1),
		cors.Preflight,
		s.authenticate,
		cors.Actual,
		s.rateLimit,
		middleware.MaxBody(s.maxBody),
	)

	mux := http.NewServeMux()
	// handle records each pattern for the metrics (middleware.Routed).
	handle := func(pattern string, h http.Handler) { mux.Handle(pattern, middleware.Routed(h)) }
	handle("/v1/", api)
	for pattern, h := range mount {
		handle(pattern, h)
	}
	if procedures == nil {
		procedures = http.HandlerFunc(trpcNotFound)
	}
	handle("/api/trpc/", trpc(middleware.MaxBody(s.maxBody)(procedures)))
	handle("GET /{$}", http.HandlerFunc(s.root))
	handle("GET "+docsPath, http.HandlerFunc(s.serveDocs))
	handle("GET "+docsPath+"/{$}", http.RedirectHandler(docsPath, http.StatusMovedPermanently))
	handle("GET "+docsStylesPath, serveDocsStyles(apidocs.Stylesheet()))
	handle("/", http.HandlerFunc(s.notFound))
	return middleware.Chain(mux,
		middleware.RequestID(nil),
		s.instrument,
		withPayRequestID,
		middleware.AccessLog(s.log),
		middleware.SecurityHeaders,
		middleware.Recover(s.log),
	)
}

// routeEarly records, for the metrics, the /v1 pattern a request will be
// routed to before authentication and the rate limit run, so their 401s
// and 429s carry it too. Without metrics (no Observation) it does nothing.
func routeEarly(v1 *http.ServeMux) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if o := middleware.ObservationFrom(r.Context()); o != nil {
				if _, pattern := v1.Handler(r); pattern != "" {
					o.Pattern = pattern
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// withPayRequestID hands the request ID middleware.RequestID made to the
// operations, which read it with pay.RequestIDFromContext.
func withPayRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := pay.NewContextWithRequestID(r.Context(), middleware.RequestIDFrom(r.Context()))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// root answers / with a short description: security scanners need a 2xx there.
func (s *Server) root(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"object":      "calmonypay",
		"description": "Calmony Pay: a Stripe-compatible payments API. Authenticate with a secret key: Authorization: Bearer sk_test_…",
		"api_version": "2026-03-25.dahlia",
		"api":         "/v1",
		"docs":        "/docs",
	})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, routeNotFound(r))
}

func (s *Server) unknownRoute(r *http.Request, p *params) (readFunc, error) {
	return nil, routeNotFound(r)
}

// trpcNotFound answers /api/trpc when there is no dashboard.
func trpcNotFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{
		"message": "No procedure found on path", "code": -32004,
		"data": map[string]any{"code": "NOT_FOUND", "httpStatus": 404},
	}})
}
