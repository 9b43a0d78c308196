// Package api serves Calmony Pay's Stripe-compatible /v1 API: key
// authentication, rate limiting, idempotency, form decoding, expansion, list
// pagination and the error envelope, and the resources built on them.
package api

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/calmony/calmonypay/internal/middleware"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/secret"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/throttle"
)

// Config configures a Server.
type Config struct {
	DB     *store.DB
	Keys   *secret.Keyring
	Logger *slog.Logger
	// RateLimit is the number of requests per second allowed per API key;
	// 0 turns rate limiting off.
	RateLimit int
	// ClientRateLimit is the number of requests per second allowed per
	// client address on each of the routes that know no key (the checkout
	// page, the gateway's callback), with bursts of five seconds' worth;
	// 0 turns it off.
	ClientRateLimit int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client. Nobody else's is believed.
	TrustedProxies []netip.Prefix
	// MaxBodyBytes caps request bodies. Defaults to 1 MiB.
	MaxBodyBytes int64
	// AppOrigin is the dashboard's own origin, the only one allowed to call
	// /api/trpc cross-origin. Empty: no cross-origin calls at all.
	AppOrigin string
	// PublicURL is the base URL browsers reach the server at, for hosted
	// checkout pages and the gateway's redirects and callbacks.
	PublicURL string
	// AllowLocalhostURLs lets checkout success and cancel URLs point at
	// http://localhost, for development only.
	AllowLocalhostURLs bool
	// SkipCallbackSignature is the test-mode bypass of hosted payment
	// callback verification (CALMONY_ENV=test or REQUIRE_SIGNATURE=false).
	SkipCallbackSignature bool
	// Gateways are the card gateways for test and live keys.
	Gateways payments.Gateways
	// AllowPrivateWebhookURLs lets test-mode webhook endpoints use http and
	// loopback or private-network hosts (safeurl.Options.AllowPrivate), for
	// development only. Without it, and always in live mode, endpoints must
	// be public https URLs.
	AllowPrivateWebhookURLs bool
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// AnswerWithin is how long a request that calls the gateway waits for
	// the outcome before answering with the payment as it is (processing);
	// the outcome is still recorded when it comes. Defaults to 30s.
	AnswerWithin time.Duration
	// Crash, for tests, ends a request that calls the gateway as a crash
	// of the process would (no further writes, its lease on the gateway op
	// left to lapse, the connection dropped) at each point for which it
	// returns true: "prepared" (the op is recorded, the gateway not yet
	// called), "called" (the gateway answered, nothing recorded) and
	// "settled" (the outcome recorded, no answer sent).
	Crash func(point string) bool
}

// Server is the HTTP API. Create it with New.
type Server struct {
	db         *store.DB
	keys       *secret.Keyring
	log        *slog.Logger
	now        func() time.Time
	maxBody    int64
	auth       *keyCache
	limiter    *limiter
	origins    *refreshing[origins]
	currencies *refreshing[map[string][]string]
	gateways   payments.Gateways
	publicURL  string
	// allowLocalhostURLs and skipCallbackSignature: see Config.
	allowLocalhostURLs    bool
	skipCallbackSignature bool
	handler               http.Handler

	allowPrivateWebhookURLs bool // see Config

	answerWithin time.Duration
	crash        func(point string) bool
	// stopBackground stops the settings caches' reloading.
	stopBackground func()
	// inflight counts staged requests still running, including those that
	// answered before their gateway call ended (see Close).
	inflight sync.WaitGroup

	// pageLimit and callbackLimit limit each client of the checkout page
	// and of the gateway's callback.
	pageLimit, callbackLimit *throttle.Limiter
}

// New returns a Server for cfg. Call Close when done to stop its background work.
func New(cfg Config) (*Server, error) {
	s := &Server{
		db:                    cfg.DB,
		keys:                  cfg.Keys,
		log:                   cmp.Or(cfg.Logger, slog.Default()),
		now:                   cfg.Now,
		maxBody:               cmp.Or(cfg.MaxBodyBytes, 1<<20),
		gateways:              cfg.Gateways,
		publicURL:             strings.TrimRight(cfg.PublicURL, "/"),
		allowLocalhostURLs:    cfg.AllowLocalhostURLs,
		skipCallbackSignature: cfg.SkipCallbackSignature,

		allowPrivateWebhookURLs: cfg.AllowPrivateWebhookURLs,
		answerWithin:            cmp.Or(cfg.AnswerWithin, 30*time.Second),
		crash:                   cfg.Crash,
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.auth = newKeyCache(cfg.DB, s.now)
	s.limiter = newLimiter(cfg.RateLimit, s.now)
	perClient := throttle.Config{PerSecond: float64(cfg.ClientRateLimit), Trusted: cfg.TrustedProxies, Now: s.now}
	s.pageLimit, s.callbackLimit = throttle.New(perClient), throttle.New(perClient)
	trpc, err := middleware.TRPC(cfg.AppOrigin)
	if err != nil {
		return nil, err
	}
	s.handler = s.routes(trpc)
	s.origins = newOriginCache(cfg.DB, s.log)
	s.currencies = newCurrencyCache(cfg.DB, s.log)
	ctx, stop := context.WithCancel(context.Background())
	s.stopBackground = stop
	s.origins.start(ctx)
	s.currencies.start(ctx)
	return s, nil
}

// ServeHTTP serves every route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Close stops background work.
func (s *Server) Close() {
	s.limiter.close()
	s.stopBackground()
}

// Drain waits until every request that calls the gateway has recorded its
// outcome (some answer before that), or ctx ends: a process that stops
// earlier leaves their ops to the reconciler.
func (s *Server) Drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// routes builds the whole route table and its middleware.
func (s *Server) routes(trpc func(http.Handler) http.Handler) http.Handler {
	v1 := http.NewServeMux()
	v1.Handle("POST /v1/customers", s.writeCard("customer", s.createCustomer))
	v1.Handle("GET /v1/customers", s.read(s.listCustomers))
	v1.Handle("GET /v1/customers/search", s.read(search("customers", "customer", s.db.SearchCustomers, pay.CustomerView)))
	v1.Handle("GET /v1/customers/{id}", s.read(s.retrieveCustomer))
	v1.Handle("POST /v1/customers/{id}", s.write(s.updateCustomer))
	v1.Handle("PATCH /v1/customers/{id}", s.write(s.updateCustomer))
	v1.Handle("DELETE /v1/customers/{id}", s.write(s.deleteCustomer))
	v1.Handle("GET /v1/customers/{customer}/payment_methods", s.read(s.listPaymentMethods))
	v1.Handle("POST /v1/payment_methods", s.staged("payment_method", s.createPaymentMethod))
	v1.Handle("GET /v1/payment_methods", s.read(s.listPaymentMethods))
	v1.Handle("GET /v1/payment_methods/{id}", s.read(s.retrievePaymentMethod))
	v1.Handle("POST /v1/payment_methods/{id}", s.write(s.updatePaymentMethod))
	v1.Handle("POST /v1/payment_methods/{id}/attach", s.writeCard("payment_method", s.attachPaymentMethod))
	v1.Handle("POST /v1/payment_methods/{id}/detach", s.write(s.detachPaymentMethod))
	v1.Handle("POST /v1/payment_intents", s.staged("payment_intent", s.createPaymentIntent))
	v1.Handle("GET /v1/payment_intents", s.read(s.listPaymentIntents))
	v1.Handle("GET /v1/payment_intents/search", s.read(search("payment_intents", "payment_intent", s.db.SearchPaymentIntents, pay.PaymentIntentView)))
	v1.Handle("GET /v1/payment_intents/{id}", s.read(s.retrievePaymentIntent))
	v1.Handle("POST /v1/payment_intents/{id}", s.writeCard("payment_intent", s.updatePaymentIntent))
	v1.Handle("POST /v1/payment_intents/{id}/confirm", s.staged("payment_intent", s.confirmPaymentIntent))
	v1.Handle("POST /v1/payment_intents/{id}/capture", s.staged("payment_intent", s.capturePaymentIntent))
	v1.Handle("POST /v1/payment_intents/{id}/cancel", s.staged("payment_intent", s.cancelPaymentIntent))
	v1.Handle("GET /v1/charges", s.read(s.listCharges))
	v1.Handle("GET /v1/charges/search", s.read(search("charges", "charge", s.db.SearchCharges, pay.ChargeView)))
	v1.Handle("GET /v1/charges/{id}", s.read(s.retrieveCharge))
	v1.Handle("POST /v1/charges/{id}", s.write(s.updateCharge))
	v1.Handle("POST /v1/refunds", s.staged("refund", s.createRefund))
	v1.Handle("GET /v1/refunds", s.read(s.listRefunds))
	v1.Handle("GET /v1/refunds/{id}", s.read(s.retrieveRefund))
	v1.Handle("POST /v1/refunds/{id}", s.write(s.updateRefund))
	v1.Handle("POST /v1/checkout/sessions", s.write(s.createCheckoutSession))
	v1.Handle("GET /v1/checkout/sessions", s.read(s.listCheckoutSessions))
	v1.Handle("GET /v1/checkout/sessions/{id}", s.read(s.retrieveCheckoutSession))
	v1.Handle("GET /v1/checkout/sessions/{id}/line_items", s.read(s.listCheckoutLineItems))
	v1.Handle("POST /v1/checkout/sessions/{id}/expire", s.write(s.expireCheckoutSession))
	v1.Handle("GET /v1/events", s.read(s.listEvents))
	v1.Handle("GET /v1/events/{id}", s.read(s.retrieveEvent))
	v1.Handle("GET /v1/events/{id}/delivery_attempts", s.read(s.listDeliveryAttempts))
	v1.Handle("POST /v1/events/{id}/retry", s.write(s.retryEvent))
	v1.Handle("POST /v1/webhook_endpoints", s.write(s.createWebhookEndpoint))
	v1.Handle("GET /v1/webhook_endpoints", s.read(s.listWebhookEndpoints))
	v1.Handle("GET /v1/webhook_endpoints/{id}", s.read(s.retrieveWebhookEndpoint))
	v1.Handle("POST /v1/webhook_endpoints/{id}", s.write(s.updateWebhookEndpoint))
	v1.Handle("DELETE /v1/webhook_endpoints/{id}", s.write(s.deleteWebhookEndpoint))
	v1.Handle("POST /v1/webhook_endpoints/{id}/roll_secret", s.write(s.rollWebhookSecret))
	v1.Handle("/v1/", s.read(s.unknownRoute))

	cors := middleware.V1CORS{UnionAllowFunc: s.anyProjectOrigin, ProjectAllowFunc: s.callerProjectOrigin}
	api := middleware.Chain(v1,
		cors.Preflight,
		s.authenticate,
		cors.Actual,
		s.rateLimit,
		middleware.MaxBody(s.maxBody),
	)

	mux := http.NewServeMux()
	mux.Handle("/v1/", api)
	// Hosted checkout: the page and the gateway's callback know no API key,
	// so each client is limited instead; the callback is authenticated by
	// its signature alone.
	mux.Handle("GET /checkout/{id}", s.pageLimit.Limit(tooManyPages)(http.HandlerFunc(s.checkoutPage)))
	mux.Handle("POST "+payments.CheckoutCallbackPath, s.callbackLimit.Limit(throttle.TooManyText)(http.HandlerFunc(s.checkoutCallback)))
	mux.Handle("/api/trpc/", trpc(http.HandlerFunc(trpcNotFound)))
	mux.HandleFunc("GET /{$}", s.root)
	mux.HandleFunc("/", s.notFound)
	return middleware.Chain(mux,
		middleware.RequestID(nil),
		withPayRequestID,
		middleware.AccessLog(s.log),
		middleware.SecurityHeaders,
		middleware.Recover(s.log),
	)
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
	})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, routeNotFound(r))
}

func (s *Server) unknownRoute(r *http.Request, p *params) (readFunc, error) {
	return nil, routeNotFound(r)
}

// trpcNotFound answers /api/trpc until the dashboard's procedures exist.
func trpcNotFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{
		"message": "No procedure found on path", "code": -32004,
		"data": map[string]any{"code": "NOT_FOUND", "httpStatus": 404},
	}})
}

// Gateways returns the card gateways the server charges through.
func (s *Server) Gateways() payments.Gateways { return s.gateways }
