package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/hosted"
	"github.com/calmony/calmonypay/internal/metrics"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// do sends a request with the server's key (none if key is "") and returns
// the status and body.
func do(t *testing.T, method, u, key string, form url.Values) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(form.Encode()))
	if key != "" {
		req.SetBasicAuth(key, "")
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// value returns the value of the series name with exactly labels, or -1.
func value(t *testing.T, m *metrics.Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, s := range mf.GetMetric() {
			if len(s.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range s.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue series
				}
			}
			return number(s)
		}
	}
	return -1
}

func number(s *dto.Metric) float64 {
	switch {
	case s.Counter != nil:
		return s.Counter.GetValue()
	case s.Gauge != nil:
		return s.Gauge.GetValue()
	case s.Histogram != nil:
		return float64(s.Histogram.GetSampleCount())
	}
	return -1
}

// TestMetrics: through a real API server on both databases, requests are
// labelled by route pattern (never an ID), the client limiter's 429s are
// counted, and the webhook queue and the scheduler's lag are read from the
// database.
func TestMetrics(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		ctx := context.Background()
		m := metrics.New()
		srv := apitest.Start(t, apitest.Options{Postgres: postgres, Metrics: m, ClientRateLimit: 1})
		scope := pay.Scope{ProjectID: srv.Project}

		if code, body := do(t, "POST", srv.URL+"/v1/webhook_endpoints", srv.Key, url.Values{"url": {"https://hooks.example.com/ops"},
			"enabled_events[]": {"customer.created"}}); code != 200 {
			t.Fatalf("create endpoint: %d %s", code, body)
		}
		code, body := do(t, "POST", srv.URL+"/v1/customers", srv.Key, url.Values{"email": {"m@example.com"}})
		id := regexp.MustCompile(`cus_[0-9A-Za-z]+`).FindString(body)
		if code != 200 || id == "" {
			t.Fatalf("create customer: %d %s", code, body)
		}
		if code, body := do(t, "GET", srv.URL+"/v1/customers/"+id, srv.Key, nil); code != 200 {
			t.Fatalf("retrieve: %d %s", code, body)
		}
		if code, _ := do(t, "GET", srv.URL+"/v1/customers/cus_doesnotexist", srv.Key, nil); code != 404 {
			t.Fatalf("retrieve a missing customer: %d, want 404", code)
		}
		if code, _ := do(t, "GET", srv.URL+"/v1/customers/"+id, "", nil); code != 401 {
			t.Fatalf("retrieve without a key: %d, want 401", code)
		}
		limited := 0
		for range 10 {
			if code, _ := do(t, "GET", srv.URL+hosted.CheckoutPath+"cs_test_nope", "", nil); code == http.StatusTooManyRequests {
				limited++
			}
		}
		if limited == 0 {
			t.Fatal("10 checkout page views at once met no 429 with a client limit of 1 a second")
		}
		// A renewal due 90 seconds ago on the wall clock.
		due := &pay.Subscription{Scope: scope, Customer: id, Status: pay.SubscriptionActive, Currency: "gbp",
			CollectionMethod: pay.CollectCharge, NextActionAt: time.Now().Unix() - 90}
		if err := srv.DB.Tx(ctx, func(tx *store.Tx) error { return tx.CreateSubscription(ctx, due) }); err != nil {
			t.Fatal(err)
		}

		for _, tt := range []struct {
			name   string
			labels map[string]string
			want   float64
		}{
			{"calmony_http_requests_total", map[string]string{"method": "GET", "route": "/v1/customers/{id}", "code": "200"}, 1},
			{"calmony_http_requests_total", map[string]string{"method": "GET", "route": "/v1/customers/{id}", "code": "404"}, 1},
			{"calmony_http_requests_total", map[string]string{"method": "GET", "route": "/v1/customers/{id}", "code": "401"}, 1},
			{"calmony_http_requests_total", map[string]string{"method": "POST", "route": "/v1/webhook_endpoints", "code": "200"}, 1},
			{"calmony_http_request_duration_seconds", map[string]string{"method": "GET", "route": "/v1/customers/{id}", "class": "4xx"}, 2},
			{"calmony_rate_limit_rejections_total", map[string]string{"limiter": "client"}, float64(limited)},
			{"calmony_rate_limit_rejections_total", map[string]string{"limiter": "api_key"}, 0},
			{"calmony_webhook_queue_depth", nil, 1},
			{"calmony_store_scrape_success", nil, 1},
		} {
			if got := value(t, m, tt.name, tt.labels); got != tt.want {
				t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
			}
		}
		if lag := value(t, m, "calmony_billing_scheduler_lag_seconds", nil); lag < 89 || lag > 120 {
			t.Errorf("scheduler lag = %v, want about 90 s", lag)
		}
		if age := value(t, m, "calmony_webhook_queue_oldest_pending_seconds", nil); age < 0 || age > 60 {
			t.Errorf("oldest pending delivery = %v s, want under a minute", age)
		}
		rec := httptest.NewRecorder()
		m.Handler(nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "go_goroutines") {
			t.Fatalf("scrape = %d %s", rec.Code, rec.Body)
		}
		if strings.Contains(rec.Body.String(), id) || strings.Contains(rec.Body.String(), "cs_test_nope") || strings.Contains(rec.Body.String(), "cus_doesnotexist") {
			t.Error("the scrape carries an object ID")
		}
	})
}
