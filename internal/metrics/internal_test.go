package metrics

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/calmony/calmonypay/internal/middleware"
	"github.com/calmony/calmonypay/internal/store"
)

// fakeStore counts its reads and fails when told to.
type fakeStore struct {
	reads int
	fail  bool
}

func (f *fakeStore) FindWebhookQueue(context.Context) (store.WebhookQueue, error) {
	f.reads++
	if f.fail {
		return store.WebhookQueue{}, errors.New("database down")
	}
	return store.WebhookQueue{Pending: 3, OldestPending: 1000}, nil
}

func (f *fakeStore) FindOldestDue(context.Context) (int64, error) { return 1100, nil }
func (f *fakeStore) Pools() []store.Pool                          { return nil }

// TestStoreCollectorCache: the database is read at most once per cache
// period however often it is scraped, and a failed read drops the gauges
// and says so rather than repeating stale values.
func TestStoreCollectorCache(t *testing.T) {
	t.Parallel()
	now := time.Unix(1200, 0)
	db := &fakeStore{}
	c := &storeCollector{db: db, log: discard(), cacheFor: 5 * time.Second, now: func() time.Time { return now }}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	gauge := func(name string) float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == name {
				return mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		return -1
	}
	if d, age, lag := gauge("calmony_webhook_queue_depth"), gauge("calmony_webhook_queue_oldest_pending_seconds"), gauge("calmony_billing_scheduler_lag_seconds"); d != 3 || age != 200 || lag != 100 {
		t.Errorf("depth, age, lag = %v, %v, %v; want 3, 200, 100", d, age, lag)
	}
	gauge("calmony_webhook_queue_depth")
	now = now.Add(4 * time.Second)
	gauge("calmony_webhook_queue_depth")
	if db.reads != 1 {
		t.Errorf("%d reads within the cache period, want 1", db.reads)
	}
	now, db.fail = now.Add(2*time.Second), true
	if d, up := gauge("calmony_webhook_queue_depth"), gauge("calmony_store_scrape_success"); d != -1 || up != 0 || db.reads != 2 {
		t.Errorf("after a failed read: depth %v, success %v, reads %d; want absent, 0, 2", d, up, db.reads)
	}
}

// TestInstrument: the route label is the innermost pattern, never the
// path; a handler that writes nothing counts as 200; refusals noted by the
// handlers are counted.
func TestInstrument(t *testing.T) {
	t.Parallel()
	m := New()
	inner := http.NewServeMux()
	inner.Handle("POST /v1/things/{id}", middleware.Routed(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		middleware.NoteIdempotency(r.Context(), "in_use")
		w.WriteHeader(http.StatusConflict)
	})))
	outer := http.NewServeMux()
	outer.Handle("/v1/", middleware.Routed(inner))
	outer.Handle("GET /quiet", middleware.Routed(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	h := m.Instrument(outer)
	for _, r := range []*http.Request{
		httptest.NewRequest("POST", "/v1/things/thing_123456789", nil),
		httptest.NewRequest("GET", "/quiet", nil),
		httptest.NewRequest("BREW", "/nowhere", nil),
	} {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	want := `
# HELP calmony_http_requests_total HTTP requests on the API listener, by method, route pattern and status code.
# TYPE calmony_http_requests_total counter
calmony_http_requests_total{code="200",method="GET",route="/quiet"} 1
calmony_http_requests_total{code="404",method="other",route="unmatched"} 1
calmony_http_requests_total{code="409",method="POST",route="/v1/things/{id}"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "calmony_http_requests_total"); err != nil {
		t.Error(err)
	}
	if got := testutil.ToFloat64(m.idempotency.WithLabelValues("in_use")); got != 1 {
		t.Errorf("idempotency in_use = %v, want 1", got)
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
