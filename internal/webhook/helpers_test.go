package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	stripewebhook "github.com/stripe/stripe-go/v85/webhook"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/webhook"
)

// clock is a test clock running ahead of real time by an offset that tests
// advance, so retry schedules pass without sleeping. It never runs behind
// real time, which stamps the events the API creates.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// startServer starts an API server that lets test-mode endpoints use the
// tests' loopback receivers, as serve --allow-private-webhook-urls does.
func startServer(t *testing.T, opts apitest.Options) *apitest.Server {
	t.Helper()
	opts.AllowPrivateWebhookURLs = true
	return apitest.Start(t, opts)
}

// startWorker runs a worker on srv's database until the test ends. Like the
// server, it lets test-mode deliveries reach loopback receivers.
func startWorker(t *testing.T, srv *apitest.Server, cfg webhook.Config) {
	t.Helper()
	cfg.DB = srv.DB
	cfg.AllowPrivateURLs = true
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 5 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w, err := webhook.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// apiCall makes one API request with the server's test key and decodes the
// answer; it fails the test on a non-200 answer unless want says otherwise.
func apiCall(t *testing.T, srv *apitest.Server, method, path string, form url.Values, want ...int) map[string]any {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+srv.Key)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	status := http.StatusOK
	if len(want) > 0 {
		status = want[0]
	}
	if resp.StatusCode != status {
		t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, raw, status)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return out
}

// createEndpoint registers a test-mode endpoint for url and returns its ID
// and signing secret.
func createEndpoint(t *testing.T, srv *apitest.Server, u string, events ...string) (string, string) {
	t.Helper()
	if len(events) == 0 {
		events = []string{"*"}
	}
	form := url.Values{"url": {u}}
	for _, e := range events {
		form.Add("enabled_events[]", e)
	}
	ep := apiCall(t, srv, "POST", "/v1/webhook_endpoints", form)
	return ep["id"].(string), ep["secret"].(string)
}

func createCustomer(t *testing.T, srv *apitest.Server, email string) string {
	t.Helper()
	return apiCall(t, srv, "POST", "/v1/customers", url.Values{"email": {email}})["id"].(string)
}

// attempts lists an event's delivery attempts, newest first.
func attempts(t *testing.T, srv *apitest.Server, eventID string) []map[string]any {
	t.Helper()
	l := apiCall(t, srv, "GET", "/v1/events/"+eventID+"/delivery_attempts?limit=100", nil)
	var out []map[string]any
	for _, a := range l["data"].([]any) {
		out = append(out, a.(map[string]any))
	}
	return out
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// delivery is one request a receiver got.
type delivery struct {
	body   []byte
	header http.Header
	event  struct {
		ID         string `json:"id"`
		Type       string `json:"type"`
		APIVersion string `json:"api_version"`
		Data       struct {
			Object map[string]any `json:"object"`
		} `json:"data"`
	}
}

// receiver is a webhook receiver that verifies every delivery with stripe-go
// v85's webhook.ConstructEvent (default options) and keeps a log.
type receiver struct {
	t   *testing.T
	srv *httptest.Server
	// respond answers a verified delivery; nil answers 200.
	respond func(w http.ResponseWriter, r *http.Request, d *delivery, n int)

	mu     sync.Mutex
	secret string
	log    []*delivery
	counts map[string]int // by event ID
}

func newReceiver(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, d *delivery, n int)) *receiver {
	rc := &receiver{t: t, respond: respond, counts: map[string]int{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) setSecret(s string) {
	rc.mu.Lock()
	rc.secret = s
	rc.mu.Unlock()
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	rc.mu.Lock()
	secret := rc.secret
	rc.mu.Unlock()
	d := &delivery{body: body, header: r.Header.Clone()}
	if _, err := stripewebhook.ConstructEvent(body, r.Header.Get("Stripe-Signature"), secret); err != nil {
		rc.t.Errorf("stripe-go ConstructEvent rejected a delivery: %v", err)
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	if got, want := r.Header.Get("Calmony-Signature"), r.Header.Get("Stripe-Signature"); got != want {
		rc.t.Errorf("Calmony-Signature %q != Stripe-Signature %q", got, want)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		rc.t.Errorf("Content-Type = %q", ct)
	}
	if err := json.Unmarshal(body, &d.event); err != nil {
		rc.t.Errorf("delivery body: %v", err)
	}
	rc.mu.Lock()
	rc.log = append(rc.log, d)
	rc.counts[d.event.ID]++
	n := rc.counts[d.event.ID]
	rc.mu.Unlock()
	if rc.respond != nil {
		rc.respond(w, r, d, n)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// count returns how many times the event arrived.
func (rc *receiver) count(eventID string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.counts[eventID]
}

// distinct returns how many different events arrived.
func (rc *receiver) distinct() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.counts)
}

func (rc *receiver) deliveries() []*delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*delivery(nil), rc.log...)
}

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx, cancel
}
