// Package metrics exposes Calmony Pay's Prometheus metrics: HTTP requests
// by route pattern and status, gateway calls, rate-limit and idempotency
// refusals, the webhook queue, the billing scheduler's lag, the database
// pools and the Go runtime. It uses a registry of its own, never the
// global default, and is served on a listener of its own (--metrics-addr).
package metrics

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/calmony/calmonypay/internal/middleware"
	"github.com/calmony/calmonypay/internal/store"
)

// Metrics holds the registry and the series the code updates.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	gateway     *prometheus.HistogramVec
	rateLimited *prometheus.CounterVec
	idempotency *prometheus.CounterVec
}

// New returns Metrics with the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "calmony_http_requests_total",
			Help: "HTTP requests on the API listener, by method, route pattern and status code.",
		}, []string{"method", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "calmony_http_request_duration_seconds",
			Help:    "HTTP request latency on the API listener, by method, route pattern and status class (2xx, 4xx, …).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route", "class"}),
		gateway: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "calmony_gateway_request_duration_seconds",
			Help:    "Card gateway calls, by operation (sale, verify, capture, cancel, query, 3ds, refund, callback), mode (test, live) and outcome (approved, declined, 3ds_required, …, error when no answer came).",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"operation", "mode", "outcome"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "calmony_rate_limit_rejections_total",
			Help: "Requests refused with 429 by a rate limiter: api_key (per API key on /v1), client (per client address on checkout pages and the gateway callback), auth (dashboard sign-in, /api/auth).",
		}, []string{"limiter"}),
		idempotency: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "calmony_idempotency_rejections_total",
			Help: "Requests refused for their Idempotency-Key: in_use (409, another request with the key is running), mismatch (400, the key was used with other parameters).",
		}, []string{"reason"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.gateway, m.rateLimited, m.idempotency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, l := range []string{"api_key", "client", "auth"} {
		m.rateLimited.WithLabelValues(l)
	}
	for _, r := range []string{"in_use", "mismatch"} {
		m.idempotency.WithLabelValues(r)
	}
	return m
}

// Registry returns the registry, for tests and more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition format; log
// (nil: slog.Default) gets its errors.
func (m *Metrics) Handler(log *slog.Logger) http.Handler {
	log = cmp.Or(log, slog.Default())
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn), Registry: m.reg})
}

// ObserveGateway records one gateway call (payments.ObserveFunc).
func (m *Metrics) ObserveGateway(operation, mode, outcome string, d time.Duration) {
	m.gateway.WithLabelValues(operation, mode, outcome).Observe(d.Seconds())
}

// Instrument is middleware that counts and times every request by its
// route pattern (middleware.Routed), never its path, so no object ID ever
// becomes a label, and counts the refusals the handlers noted.
func (m *Metrics) Instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r, o := middleware.WithObservation(r)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			code := sw.status
			if code == 0 {
				code = http.StatusOK
			}
			if v := recover(); v != nil {
				code = http.StatusInternalServerError
				defer panic(v)
			}
			method, route := methodLabel(r.Method), routeLabel(o.Pattern)
			m.requests.WithLabelValues(method, route, strconv.Itoa(code)).Inc()
			m.latency.WithLabelValues(method, route, strconv.Itoa(code/100)+"xx").Observe(time.Since(start).Seconds())
			if o.Limiter != "" {
				m.rateLimited.WithLabelValues(o.Limiter).Inc()
			}
			if o.Idempotency != "" {
				m.idempotency.WithLabelValues(o.Idempotency).Inc()
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// methodLabel bounds the method label to the methods HTTP defines.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// routeLabel is a pattern without its method (the method label has it).
func routeLabel(pattern string) string {
	if pattern == "" {
		return "unmatched"
	}
	for i := 0; i < len(pattern); i++ {
		if pattern[i] == '/' {
			return pattern[i:]
		}
		if pattern[i] == ' ' {
			return pattern[i+1:]
		}
	}
	return pattern
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes,
// deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Store is what the scrape-time gauges read; *store.DB is one.
type Store interface {
	FindWebhookQueue(ctx context.Context) (store.WebhookQueue, error)
	FindOldestDue(ctx context.Context) (int64, error)
	Pools() []store.Pool
}

// WatchStore adds the gauges read from db at scrape time: the webhook
// queue and the billing scheduler's lag (their queries cached for
// cacheFor, 5 seconds by default, so frequent scrapes cost little), and the
// connection pools' statistics. log (nil: slog.Default) gets read errors.
func (m *Metrics) WatchStore(db Store, log *slog.Logger, cacheFor time.Duration) {
	if cacheFor <= 0 {
		cacheFor = 5 * time.Second
	}
	log = cmp.Or(log, slog.Default())
	m.reg.MustRegister(&storeCollector{db: db, log: log, cacheFor: cacheFor, now: time.Now})
}
