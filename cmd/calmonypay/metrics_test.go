package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/store/storetest"
)

// TestServeOperations starts serve with --metrics-addr and JSON logs:
// /healthz and /readyz answer without a key on the API listener, and after
// a customer, a payment through the sandbox, an idempotency mismatch and a
// burst beyond the rate limit, the metrics listener serves the series
// with route patterns, never IDs, as labels.
func TestServeOperations(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	te.env["CALMONY_LOG_FORMAT"] = "json"
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	ready := make(chan string, 1)
	done := make(chan int, 1)
	e := &env{stdout: &out, stderr: &errb, getenv: te.getenv, ready: func(u string) { ready <- u }}
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--rate-limit", "5"}, e)
	}()
	var base string
	select {
	case base = <-ready:
	case code := <-done:
		t.Fatalf("serve exited %d before it was ready: %s", code, errb.String())
	case <-time.After(10 * time.Second):
		t.Fatal("serve not ready after 10s")
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("serve exited %d: %s", code, errb.String())
			}
		}
	}
	defer stop()
	banner := out.String()
	metricsURL := regexp.MustCompile(`http://127\.0\.0\.1:\d+/metrics`).FindString(banner)
	key := keyRE.FindString(banner)
	if metricsURL == "" || key == "" || strings.Contains(metricsURL, base) {
		t.Fatalf("banner lacks the metrics URL on a listener of its own, or the key:\n%s", banner)
	}

	for _, path := range []string{"/healthz", "/readyz"} {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s = %d %s, want 200", path, res.StatusCode, b)
		}
	}
	if res, err := http.Get(strings.TrimSuffix(metricsURL, "/metrics") + "/v1/customers"); err == nil {
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("the metrics listener serves /v1/customers: %d", res.StatusCode)
		}
		res.Body.Close()
	}

	status, body := request(t, "POST", base+"/v1/customers", key, url.Values{"email": {"ops@example.com"}})
	if status != 200 {
		t.Fatalf("create customer: %d %s", status, body)
	}
	status, body = request(t, "POST", base+"/v1/payment_intents", key, url.Values{"amount": {"1000"}, "currency": {"gbp"},
		"payment_method": {"pm_card_visa"}, "confirm": {"true"}})
	if status != 200 || !strings.Contains(body, `"status":"succeeded"`) {
		t.Fatalf("payment: %d %s", status, body)
	}
	for i, amount := range []string{"500", "700"} {
		req, _ := http.NewRequest("POST", base+"/v1/customers", strings.NewReader(url.Values{"email": {"idem" + amount + "@example.com"}}.Encode()))
		req.SetBasicAuth(key, "")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Idempotency-Key", "ops-test-key")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if i == 1 && (res.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "idempotency_error")) {
			t.Fatalf("the key reused with other parameters: %d %s, want 400 idempotency_error", res.StatusCode, b)
		}
	}
	limited := 0
	for range 20 {
		if status, _ := request(t, "GET", base+"/v1/customers", key, nil); status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("20 requests at once met no 429 with --rate-limit 5")
	}

	res, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	scrape := string(b)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %d %s", res.StatusCode, scrape)
	}
	for _, want := range []string{
		`calmony_http_requests_total{code="200",method="POST",route="/v1/customers"} 2`,
		`calmony_http_requests_total{code="200",method="POST",route="/v1/payment_intents"} 1`,
		`calmony_http_requests_total{code="400",method="POST",route="/v1/customers"} 1`,
		`calmony_http_requests_total{code="200",method="GET",route="/readyz"} 1`,
		`calmony_http_request_duration_seconds_bucket{class="2xx",method="POST",route="/v1/payment_intents",le="+Inf"} 1`,
		`calmony_gateway_request_duration_seconds_count{mode="test",operation="sale",outcome="approved"} 1`,
		`calmony_idempotency_rejections_total{reason="mismatch"} 1`,
		`calmony_rate_limit_rejections_total{limiter="api_key"} ` + strconv.Itoa(limited),
		`calmony_http_requests_total{code="429",method="GET",route="/v1/customers"} ` + strconv.Itoa(limited),
		`calmony_webhook_queue_depth 0`,
		`calmony_billing_scheduler_lag_seconds 0`,
		`calmony_store_scrape_success 1`,
		`calmony_db_max_open_connections{pool="write"} 1`,
		`calmony_db_max_open_connections{pool="read"} 16`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(scrape, want) {
			t.Errorf("the scrape lacks %s", want)
		}
	}
	if m := regexp.MustCompile(`(cus|pi|ch|pm|evt|req)_[0-9A-Za-z]{8,}`).FindString(scrape); m != "" {
		t.Errorf("the scrape carries an ID: %s", m)
	}
	stop()
	// Every log line is one JSON object.
	for _, line := range strings.Split(strings.TrimSpace(errb.String()), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil || v["level"] == nil {
			t.Errorf("log line is not slog JSON: %q", line)
		}
	}
}

// TestServeReadyzPostgres: serve's /readyz fails, naming the database
// only, while PostgreSQL cannot be reached, and recovers when it can;
// /healthz answers throughout.
func TestServeReadyzPostgres(t *testing.T) {
	t.Parallel()
	proxy := storetest.NewProxy(t, storetest.DSN(t, true))
	te := newTestEnv(t)
	te.env["CALMONY_DATABASE"] = proxy.DSN
	base, _, stop := te.serve()
	defer stop()
	get := func(path string) (int, string) {
		t.Helper()
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get("/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz = %d %s, want 200", code, body)
	}
	proxy.Down()
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || body != `{"failed":["database"],"status":"unavailable"}`+"\n" {
		t.Errorf("/readyz with PostgreSQL unreachable = %d %q, want 503 naming the database only", code, body)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz with PostgreSQL unreachable = %d, want 200", code)
	}
	proxy.Up()
	deadline := time.Now().Add(5 * time.Second)
	code, body := get("/readyz")
	for code != http.StatusOK && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		code, body = get("/readyz")
	}
	if code != http.StatusOK {
		t.Errorf("/readyz with PostgreSQL back = %d %s, want 200", code, body)
	}
}
