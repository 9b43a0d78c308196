package webhook_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	stripewebhook "github.com/stripe/stripe-go/v85/webhook"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/webhook"
	sign "github.com/calmony/calmonypay/webhook"
)

var backends = []struct {
	name string
	opts apitest.Options
}{
	{"sqlite", apitest.Options{}},
	{"postgres", apitest.Options{Postgres: true}},
}

// listEvents returns every event of the server's test project, newest first.
func listEvents(t *testing.T, srv *apitest.Server) []map[string]any {
	t.Helper()
	var out []map[string]any
	after := ""
	for {
		path := "/v1/events?limit=100"
		if after != "" {
			path += "&starting_after=" + after
		}
		l := apiCall(t, srv, "GET", path, nil)
		for _, e := range l["data"].([]any) {
			out = append(out, e.(map[string]any))
			after = e.(map[string]any)["id"].(string)
		}
		if l["has_more"] != true {
			return out
		}
	}
}

// eventAbout returns the event about the object with the given ID.
func eventAbout(t *testing.T, srv *apitest.Server, objectID string) map[string]any {
	t.Helper()
	for _, e := range listEvents(t, srv) {
		if e["data"].(map[string]any)["object"].(map[string]any)["id"] == objectID {
			return e
		}
	}
	t.Fatalf("no event about %s", objectID)
	return nil
}

// Every delivery verifies with stripe-go's ConstructEvent, and its body is
// the event the API returns.
func TestDeliveriesVerifyWithStripeGo(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, b.opts)
			startWorker(t, srv, webhook.Config{})
			rc := newReceiver(t, nil)
			id, secret := createEndpoint(t, srv, rc.srv.URL+"/hooks")
			rc.setSecret(secret)
			if !strings.HasPrefix(secret, "whsec_") {
				t.Fatalf("secret = %q", secret)
			}

			cus := createCustomer(t, srv, "jenny@example.com")
			apiCall(t, srv, "POST", "/v1/customers/"+cus, url.Values{"name": {"Jenny"}})
			apiCall(t, srv, "DELETE", "/v1/customers/"+cus, nil)
			waitFor(t, 10*time.Second, "three deliveries", func() bool { return rc.distinct() == 3 })

			types := map[string]bool{}
			for _, d := range rc.deliveries() {
				types[d.event.Type] = true
				if d.event.APIVersion != pay.APIVersion {
					t.Errorf("api_version = %q", d.event.APIVersion)
				}
				// The body is the API's event, pending_webhooks aside (it
				// counted this delivery when sent).
				var sent, stored map[string]any
				json.Unmarshal(d.body, &sent)
				waitFor(t, 5*time.Second, "the delivery to be recorded", func() bool {
					stored = apiCall(t, srv, "GET", "/v1/events/"+d.event.ID, nil)
					return stored["pending_webhooks"] == 0.0
				})
				if sent["pending_webhooks"] != 1.0 {
					t.Errorf("sent pending_webhooks = %v, want 1", sent["pending_webhooks"])
				}
				delete(sent, "pending_webhooks")
				delete(stored, "pending_webhooks")
				if diff := cmp.Diff(stored, sent); diff != "" {
					t.Errorf("delivered body differs from GET /v1/events/%s (-api +sent):\n%s", d.event.ID, diff)
				}

				// stripe-go rejects a tampered body or a stale signature.
				sig := d.header.Get("Stripe-Signature")
				tampered := []byte(strings.Replace(string(d.body), cus, "cus_forged", 1))
				if _, err := stripewebhook.ConstructEvent(tampered, sig, secret); err == nil {
					t.Error("ConstructEvent accepted a tampered body")
				}
				stale := sign.Sign(d.body, time.Now().Add(-10*time.Minute), secret)
				if _, err := stripewebhook.ConstructEvent(d.body, stale, secret); err == nil {
					t.Error("ConstructEvent accepted a 10-minute-old signature")
				}
				if _, err := stripewebhook.ConstructEvent(d.body, sig, "whsec_wrong"); err == nil {
					t.Error("ConstructEvent accepted another secret")
				}
			}
			if diff := cmp.Diff(map[string]bool{"customer.created": true, "customer.updated": true, "customer.deleted": true}, types); diff != "" {
				t.Errorf("event types (-want +got):\n%s", diff)
			}
			d := rc.deliveries()[0]
			as := attempts(t, srv, d.event.ID)
			if len(as) != 1 || as[0]["status"] != "succeeded" || as[0]["response_status"] != 200.0 || as[0]["webhook_endpoint"] != id ||
				as[0]["attempt"] != 1.0 || as[0]["next_retry"] != nil || as[0]["url"] != rc.srv.URL+"/hooks" {
				t.Errorf("attempts = %v", as)
			}
		})
	}
}

// A receiver that fails the first tries gets each event after retries, on
// the retry policy's schedule, driven by the test clock.
func TestFlakyReceiverGetsEveryEventAfterRetries(t *testing.T) {
	t.Parallel()
	srv := startServer(t, apitest.Options{})
	clk := &clock{}
	startWorker(t, srv, webhook.Config{Now: clk.Now, RandFunc: func() float64 { return 0.5 }}) // 0.5: no jitter
	const failures = 3
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, d *delivery, n int) {
		if n <= failures {
			http.Error(w, "try again later", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	_, secret := createEndpoint(t, srv, rc.srv.URL)
	rc.setSecret(secret)
	for i := range 5 {
		createCustomer(t, srv, fmt.Sprintf("flaky%d@example.com", i))
	}
	evts := listEvents(t, srv)
	for try := 1; try <= failures+1; try++ {
		waitFor(t, 10*time.Second, fmt.Sprintf("try %d of every event to be recorded", try), func() bool {
			for _, e := range evts {
				if len(attempts(t, srv, e["id"].(string))) < try {
					return false
				}
			}
			return true
		})
		clk.Advance(time.Hour) // past any of the first waits (1, 2, 4 minutes)
	}
	for _, e := range evts {
		id := e["id"].(string)
		if n := rc.count(id); n != failures+1 {
			t.Errorf("%s arrived %d times, want %d", id, n, failures+1)
		}
		as := attempts(t, srv, id)
		if len(as) != failures+1 {
			t.Fatalf("%s: %d attempts", id, len(as))
		}
		for i, a := range as {
			n := failures + 1 - i // newest first
			if a["attempt"] != float64(n) {
				t.Errorf("attempt %d numbered %v", n, a["attempt"])
			}
			if n == failures+1 {
				if a["status"] != "succeeded" || a["response_status"] != 204.0 || a["next_retry"] != nil {
					t.Errorf("last attempt = %v", a)
				}
				continue
			}
			want := webhook.RetryPolicy{}.Wait(n)
			if a["status"] != "failed" || a["response_status"] != 500.0 || !strings.Contains(a["response_body"].(string), "try again later") ||
				a["error"] != "HTTP 500" || a["next_retry"].(float64)-a["created"].(float64) != want.Seconds() {
				t.Errorf("attempt %d = %v, want a failure retried after %v", n, a, want)
			}
		}
		if got := apiCall(t, srv, "GET", "/v1/events/"+id, nil)["pending_webhooks"]; got != 0.0 {
			t.Errorf("pending_webhooks = %v", got)
		}
	}
}

// After three days of failures the endpoint is disabled, the merchant sees
// why, and it receives nothing more.
func TestFailingEndpointDisabledAfterThreeDays(t *testing.T) {
	t.Parallel()
	srv := startServer(t, apitest.Options{})
	clk := &clock{}
	startWorker(t, srv, webhook.Config{Now: clk.Now, RandFunc: func() float64 { return 0.5 }})
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, d *delivery, n int) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	})
	id, secret := createEndpoint(t, srv, rc.srv.URL)
	rc.setSecret(secret)
	createCustomer(t, srv, "down@example.com")
	evt := listEvents(t, srv)[0]["id"].(string)
	for n := 1; ; n++ {
		waitFor(t, 10*time.Second, fmt.Sprintf("attempt %d", n), func() bool { return len(attempts(t, srv, evt)) >= n })
		if apiCall(t, srv, "GET", "/v1/webhook_endpoints/"+id, nil)["status"] == "disabled" {
			break
		}
		if n > 30 {
			t.Fatal("the endpoint is still enabled after 30 attempts")
		}
		clk.Advance(webhook.DefaultRetryPolicy().Max)
	}
	ep := apiCall(t, srv, "GET", "/v1/webhook_endpoints/"+id, nil)
	if ep["disabled_reason"] != "delivery_failures" || ep["failing_since"] == nil {
		t.Errorf("disabled endpoint = %v", ep)
	}
	as := attempts(t, srv, evt)
	last := as[0]
	if last["next_retry"] != nil || last["created"].(float64)-as[len(as)-1]["created"].(float64) < (72*time.Hour).Seconds() {
		t.Errorf("last attempt = %v after %d attempts", last, len(as))
	}
	if len(as) < 10 || len(as) > 25 {
		t.Errorf("%d attempts over three days, want about 17", len(as))
	}
	// Nothing more is queued for it.
	if e := eventAbout(t, srv, createCustomer(t, srv, "after@example.com")); e["pending_webhooks"] != 0.0 {
		t.Errorf("event after disabling: pending_webhooks = %v", e["pending_webhooks"])
	}
	// Enabling it again clears the reason.
	ep = apiCall(t, srv, "POST", "/v1/webhook_endpoints/"+id, url.Values{"disabled": {"false"}})
	if ep["status"] != "enabled" || ep["disabled_reason"] != nil || ep["failing_since"] != nil {
		t.Errorf("re-enabled endpoint = %v", ep)
	}
}

// Several hundred events to several endpoints, with two workers sharing the
// queue (as two serve instances would), arrive exactly once each.
func TestManyEventsArriveExactlyOnce(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, b.opts)
			startWorker(t, srv, webhook.Config{Concurrency: 8, PollInterval: 20 * time.Millisecond})
			startWorker(t, srv, webhook.Config{Concurrency: 8, PollInterval: 20 * time.Millisecond})
			var rcs []*receiver
			for range 3 {
				rc := newReceiver(t, nil)
				_, secret := createEndpoint(t, srv, rc.srv.URL, "customer.created")
				rc.setSecret(secret)
				rcs = append(rcs, rc)
			}
			const events = 300
			var wg sync.WaitGroup
			var next atomic.Int64
			for range 16 {
				wg.Go(func() {
					for i := next.Add(1); i <= events; i = next.Add(1) {
						createCustomer(t, srv, fmt.Sprintf("many%d@example.com", i))
					}
				})
			}
			wg.Wait()
			evts := listEvents(t, srv)
			if len(evts) != events {
				t.Fatalf("%d events, want %d", len(evts), events)
			}
			for i, rc := range rcs {
				waitFor(t, 60*time.Second, fmt.Sprintf("receiver %d to get every event", i), func() bool { return rc.distinct() == events })
			}
			for i, rc := range rcs {
				for _, e := range evts {
					if n := rc.count(e["id"].(string)); n != 1 {
						t.Errorf("receiver %d got %s %d times", i, e["id"], n)
					}
				}
			}
		})
	}
}

// Receivers that hang, reset the connection, redirect, fail or answer with
// a huge body are recorded as failures and do not hold up a healthy one.
func TestMisbehavingReceivers(t *testing.T) {
	t.Parallel()
	srv := startServer(t, apitest.Options{})
	// A long attempt timeout makes "queued behind the hanging receiver"
	// (events × timeout) far slower than any scheduling noise under -race.
	const timeout = 2 * time.Second
	startWorker(t, srv, webhook.Config{Concurrency: 4, PerEndpoint: 1, Timeout: timeout})

	var redirectFollowed atomic.Bool
	target := newReceiver(t, func(w http.ResponseWriter, r *http.Request, d *delivery, n int) { redirectFollowed.Store(true) })
	behaviours := map[string]func(w http.ResponseWriter, r *http.Request, d *delivery, n int){
		"hang": func(w http.ResponseWriter, r *http.Request, d *delivery, n int) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		},
		"reset": func(w http.ResponseWriter, r *http.Request, d *delivery, n int) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.(*net.TCPConn).SetLinger(0)
				conn.Close()
			}
		},
		"redirect": func(w http.ResponseWriter, r *http.Request, d *delivery, n int) {
			http.Redirect(w, r, target.srv.URL, http.StatusTemporaryRedirect)
		},
		"not found": func(w http.ResponseWriter, r *http.Request, d *delivery, n int) { http.NotFound(w, r) },
		"huge": func(w http.ResponseWriter, r *http.Request, d *delivery, n int) {
			w.WriteHeader(http.StatusInternalServerError)
			chunk := []byte(strings.Repeat("x", 1<<16))
			for range 1 << 10 { // 64 MiB, unless the client stops reading
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		},
	}
	ids := map[string]string{}
	for name, fn := range behaviours {
		rc := newReceiver(t, fn)
		id, secret := createEndpoint(t, srv, rc.srv.URL)
		rc.setSecret(secret)
		ids[name] = id
	}
	healthy := newReceiver(t, nil)
	_, secret := createEndpoint(t, srv, healthy.srv.URL)
	healthy.setSecret(secret)

	start := time.Now()
	const events = 5
	for i := range events {
		createCustomer(t, srv, fmt.Sprintf("mis%d@example.com", i))
	}
	// The hanging receiver alone needs events × timeout; the healthy one
	// is not queued behind it.
	waitFor(t, events*timeout/2, "the healthy receiver to get every event", func() bool { return healthy.distinct() == events })
	if d := time.Since(start); d > events*timeout/2 {
		t.Errorf("the healthy receiver waited %v", d)
	}
	evts := listEvents(t, srv)
	waitFor(t, 20*time.Second, "a first attempt to every endpoint", func() bool {
		for _, e := range evts {
			if len(attempts(t, srv, e["id"].(string))) < len(behaviours)+1 {
				return false
			}
		}
		return true
	})
	byEndpoint := map[string]map[string]any{}
	for _, a := range attempts(t, srv, evts[0]["id"].(string)) {
		byEndpoint[a["webhook_endpoint"].(string)] = a
	}
	for name, id := range ids {
		a := byEndpoint[id]
		if a["status"] != "failed" || a["next_retry"] == nil {
			t.Errorf("%s: attempt = %v, want a failure to retry", name, a)
		}
		errText, _ := a["error"].(string)
		switch name {
		case "hang":
			if a["response_status"] != nil || !strings.Contains(errText, "timed out") {
				t.Errorf("hang: %v", a)
			}
		case "reset":
			if a["response_status"] != nil || errText == "" {
				t.Errorf("reset: %v", a)
			}
		case "redirect":
			if a["response_status"] != 307.0 || !strings.Contains(errText, "redirect") {
				t.Errorf("redirect: %v", a)
			}
		case "not found":
			if a["response_status"] != 404.0 {
				t.Errorf("not found: %v", a)
			}
		case "huge":
			body, _ := a["response_body"].(string)
			if a["response_status"] != 500.0 || len(body) != 256 {
				t.Errorf("huge: status %v, %d bytes of body kept", a["response_status"], len(body))
			}
		}
	}
	if redirectFollowed.Load() {
		t.Error("a redirect was followed")
	}
}

// Deleted and disabled endpoints receive nothing, even for events queued
// before.
func TestDeletedAndDisabledEndpointsAreNotSent(t *testing.T) {
	t.Parallel()
	srv := startServer(t, apitest.Options{})
	clk := &clock{}
	startWorker(t, srv, webhook.Config{Now: clk.Now})
	var hits atomic.Int64
	failing := newReceiver(t, func(w http.ResponseWriter, r *http.Request, d *delivery, n int) {
		hits.Add(1)
		http.Error(w, "no", http.StatusInternalServerError)
	})
	deleted, secret := createEndpoint(t, srv, failing.srv.URL)
	failing.setSecret(secret)
	off := newReceiver(t, nil)
	disabled, secret := createEndpoint(t, srv, off.srv.URL)
	off.setSecret(secret)
	apiCall(t, srv, "POST", "/v1/webhook_endpoints/"+disabled, url.Values{"disabled": {"true"}})

	createCustomer(t, srv, "gone@example.com")
	waitFor(t, 5*time.Second, "the first attempt", func() bool { return hits.Load() == 1 })
	evt := listEvents(t, srv)[0]["id"].(string)
	waitFor(t, 5*time.Second, "the first attempt to be recorded", func() bool { return len(attempts(t, srv, evt)) == 1 })
	del := apiCall(t, srv, "DELETE", "/v1/webhook_endpoints/"+deleted, nil)
	if del["deleted"] != true || del["object"] != "webhook_endpoint" {
		t.Errorf("delete = %v", del)
	}
	clk.Advance(24 * time.Hour)
	createCustomer(t, srv, "later@example.com")
	// Give the worker time to (wrongly) send anything.
	time.Sleep(200 * time.Millisecond)
	if n := hits.Load(); n != 1 {
		t.Errorf("the deleted endpoint got %d requests, want 1", n)
	}
	if n := off.distinct(); n != 0 {
		t.Errorf("the disabled endpoint got %d events", n)
	}
	for _, e := range listEvents(t, srv) {
		if e["pending_webhooks"] != 0.0 {
			t.Errorf("%s: pending_webhooks = %v", e["id"], e["pending_webhooks"])
		}
	}
}

// While a secret is rolled, deliveries carry one signature per secret, so
// receivers holding either verify them.
func TestRolledSecretSignsWithBoth(t *testing.T) {
	t.Parallel()
	srv := startServer(t, apitest.Options{})
	startWorker(t, srv, webhook.Config{})
	rc := newReceiver(t, nil)
	id, old := createEndpoint(t, srv, rc.srv.URL)
	rc.setSecret(old)
	rolled := apiCall(t, srv, "POST", "/v1/webhook_endpoints/"+id+"/roll_secret", url.Values{"expires_in": {"3600"}})
	fresh := rolled["secret"].(string)
	if fresh == old || !strings.HasPrefix(fresh, "whsec_") {
		t.Fatalf("rolled secret = %q", fresh)
	}
	createCustomer(t, srv, "roll@example.com")
	waitFor(t, 5*time.Second, "a delivery", func() bool { return rc.distinct() == 1 })
	d := rc.deliveries()[0]
	sig := d.header.Get("Stripe-Signature")
	if strings.Count(sig, "v1=") != 2 {
		t.Errorf("signature header %q, want two v1 values", sig)
	}
	for _, s := range []string{old, fresh} {
		if _, err := stripewebhook.ConstructEvent(d.body, sig, s); err != nil {
			t.Errorf("ConstructEvent with one of the secrets: %v", err)
		}
	}
	// Rolling again with no overlap: only the newest secret signs.
	newest := apiCall(t, srv, "POST", "/v1/webhook_endpoints/"+id+"/roll_secret", url.Values{"expires_in": {"0"}})["secret"].(string)
	rc.setSecret(newest)
	createCustomer(t, srv, "roll2@example.com")
	waitFor(t, 5*time.Second, "a second delivery", func() bool { return rc.distinct() == 2 })
	d = rc.deliveries()[1]
	sig = d.header.Get("Stripe-Signature")
	if strings.Count(sig, "v1=") != 1 {
		t.Errorf("signature header %q, want one v1 value", sig)
	}
	if _, err := stripewebhook.ConstructEvent(d.body, sig, fresh); err == nil {
		t.Error("the replaced secret still verifies")
	}
}

// POST /v1/events/{id}/retry sends an event again.
func TestRetryRedelivers(t *testing.T) {
	t.Parallel()
	srv := startServer(t, apitest.Options{})
	startWorker(t, srv, webhook.Config{})
	rc := newReceiver(t, nil)
	id, secret := createEndpoint(t, srv, rc.srv.URL)
	rc.setSecret(secret)
	createCustomer(t, srv, "again@example.com")
	evt := listEvents(t, srv)[0]["id"].(string)
	waitFor(t, 5*time.Second, "the delivery", func() bool { return rc.count(evt) == 1 })
	waitFor(t, 5*time.Second, "the attempt to be recorded", func() bool { return len(attempts(t, srv, evt)) == 1 })
	got := apiCall(t, srv, "POST", "/v1/events/"+evt+"/retry", url.Values{"webhook_endpoint": {id}})
	if got["id"] != evt || got["object"] != "event" || got["pending_webhooks"] != 1.0 {
		t.Errorf("retry answered %v", got)
	}
	waitFor(t, 5*time.Second, "the redelivery", func() bool { return rc.count(evt) == 2 })
	waitFor(t, 5*time.Second, "the second attempt to be recorded", func() bool {
		as := attempts(t, srv, evt)
		return len(as) == 2 && as[0]["attempt"].(float64)+as[1]["attempt"].(float64) == 3 // 1 and 2
	})
}

// A delivery claimed by a worker that died is sent once its lease expires.
func TestDeliveryClaimedByDeadWorkerIsSent(t *testing.T) {
	t.Parallel()
	srv := startServer(t, apitest.Options{})
	rc := newReceiver(t, nil)
	_, secret := createEndpoint(t, srv, rc.srv.URL)
	rc.setSecret(secret)
	createCustomer(t, srv, "crash@example.com")
	// The dead worker: it claims, then never finishes.
	ds, err := srv.DB.ClaimDeliveries(t.Context(), store.ClaimOptions{Now: time.Now(), Lease: 15 * time.Second, Limit: 10})
	if err != nil || len(ds) != 1 {
		t.Fatalf("claim = %d, %v", len(ds), err)
	}
	clk := &clock{}
	startWorker(t, srv, webhook.Config{Now: clk.Now})
	time.Sleep(50 * time.Millisecond)
	if rc.distinct() != 0 {
		t.Fatal("a leased delivery was sent before its lease expired")
	}
	clk.Advance(16 * time.Second)
	waitFor(t, 5*time.Second, "the delivery after the lease", func() bool { return rc.distinct() == 1 })
}

// Stopping the worker lets the delivery in flight finish and be recorded.
func TestWorkerStopsGracefully(t *testing.T) {
	t.Parallel()
	srv := startServer(t, apitest.Options{})
	arrived, release := make(chan struct{}), make(chan struct{})
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, d *delivery, n int) {
		close(arrived)
		<-release
		w.WriteHeader(http.StatusOK)
	})
	_, secret := createEndpoint(t, srv, rc.srv.URL)
	rc.setSecret(secret)
	w, err := webhook.New(webhook.Config{DB: srv.DB, AllowPrivateURLs: true, PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithCancel(t)
	stopped := make(chan struct{})
	go func() {
		w.Run(ctx)
		close(stopped)
	}()
	createCustomer(t, srv, "stop@example.com")
	<-arrived
	cancel()
	select {
	case <-stopped:
		t.Fatal("Run returned with a delivery in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the delivery finished")
	}
	evt := listEvents(t, srv)[0]
	if evt["pending_webhooks"] != 0.0 || len(attempts(t, srv, evt["id"].(string))) != 1 {
		t.Errorf("after stopping: %v", evt)
	}
}

// Endpoint URLs are checked again when sending, on the address connected
// to: a live-mode endpoint never reaches loopback, whatever the worker
// allows test mode, and a test-mode one only when the operator allowed
// private URLs (serve --allow-private-webhook-urls).
func TestLoopbackRefusedAtDialTime(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name          string
		livemode      bool
		allowPrivate  bool
		wantDelivered bool
	}{
		{"live mode, private URLs allowed", true, true, false},
		{"test mode, by default", false, false, false},
		{"test mode, private URLs allowed", false, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := apitest.Start(t, apitest.Options{})
			w, err := webhook.New(webhook.Config{DB: srv.DB, AllowPrivateURLs: tt.allowPrivate, PollInterval: 5 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := contextWithCancel(t)
			done := make(chan struct{})
			go func() { w.Run(ctx); close(done) }()
			t.Cleanup(func() { cancel(); <-done })
			rc := newReceiver(t, nil)
			rc.setSecret("whsec_x")
			scope := pay.Scope{ProjectID: srv.Project, Livemode: tt.livemode}
			// Stored directly: the API refuses such URLs.
			for _, u := range []string{rc.srv.URL, strings.Replace(rc.srv.URL, "127.0.0.1", "localhost", 1)} {
				ep := &pay.WebhookEndpoint{Scope: scope, URL: u, EnabledEvents: []string{"*"}}
				if err := srv.DB.Tx(t.Context(), func(tx *store.Tx) error { return tx.CreateWebhookEndpoint(t.Context(), ep, "whsec_x") }); err != nil {
					t.Fatal(err)
				}
			}
			e := &pay.Event{Scope: scope, Type: "customer.created", ObjectID: "cus_1", Data: []byte(`{"object":{}}`)}
			if err := srv.DB.Tx(t.Context(), func(tx *store.Tx) error { return tx.CreateEvent(t.Context(), e) }); err != nil {
				t.Fatal(err)
			}
			var as pay.List[*pay.DeliveryAttempt]
			waitFor(t, 5*time.Second, "the attempts", func() bool {
				as, _ = srv.DB.FindDeliveryAttempts(t.Context(), scope, e.ID, "", pay.Page{Limit: 10})
				return len(as.Data) == 2
			})
			for _, a := range as.Data {
				if blocked := !a.Succeeded && strings.HasPrefix(a.Error, "blocked"); blocked == tt.wantDelivered {
					t.Errorf("attempt to %s = %+v", a.URL, a)
				}
			}
			if got := rc.distinct() > 0; got != tt.wantDelivered {
				t.Errorf("the loopback receiver got the event: %v, want %v", got, tt.wantDelivered)
			}
		})
	}
}

// An attempt records what the endpoint answered as a status and a short
// printable excerpt, and a failed connection as a generic description: a
// service that is not the merchant's receiver cannot be read through the
// attempts.
func TestAttemptsKeepOnlySanitisedExcerpts(t *testing.T) {
	t.Parallel()
	srv := startServer(t, apitest.Options{})
	startWorker(t, srv, webhook.Config{Timeout: 2 * time.Second})
	const banner = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3 internal-host-7"

	// A service that is not HTTP answers with its banner.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Read(make([]byte, 1024))
			c.Write([]byte(banner + "\r\n"))
			c.Close()
		}
	}()
	// A port nothing listens on.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + closed.Addr().String() + "/"
	closed.Close()
	// A receiver answering control characters, bytes that are not UTF-8 and
	// far more than an excerpt.
	noisy := newReceiver(t, func(w http.ResponseWriter, r *http.Request, d *delivery, n int) {
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte("\x1b[31mupstream\x00\x07 down\r\n\t\xff\xfe(" + strings.Repeat("é", 300)))
	})
	plain := newReceiver(t, nil)
	untrusted := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(untrusted.Close)

	service := ln.Addr().String() + "/"
	plainOverTLS := "https" + strings.TrimPrefix(plain.srv.URL, "http")
	wantError := map[string]string{
		"http://" + service:  "the answer was not HTTP",
		"https://" + service: "TLS error: the handshake failed",
		refused:              "connection refused",
		noisy.srv.URL:        "HTTP 502",
		plainOverTLS:         "TLS error: the server answered without TLS",
		untrusted.URL:        "TLS error: the certificate is not trusted or not valid for this host",
	}
	for u := range wantError {
		if _, secret := createEndpoint(t, srv, u); u == noisy.srv.URL {
			noisy.setSecret(secret)
		}
	}
	createCustomer(t, srv, "banner@example.com")
	evt := listEvents(t, srv)[0]["id"].(string)
	waitFor(t, 10*time.Second, "an attempt to every endpoint", func() bool { return len(attempts(t, srv, evt)) == len(wantError) })
	for _, a := range attempts(t, srv, evt) {
		raw, _ := json.Marshal(a)
		for _, part := range strings.Fields(banner) {
			if strings.Contains(string(raw), part) {
				t.Errorf("an attempt shows the banner's %q: %s", part, raw)
			}
		}
		if a["status"] != "failed" || a["error"] != wantError[a["url"].(string)] {
			t.Errorf("attempt to %s: error %q, want %q", a["url"], a["error"], wantError[a["url"].(string)])
		}
		body, _ := a["response_body"].(string)
		if a["url"] != noisy.srv.URL {
			if body != "" {
				t.Errorf("attempt to %s kept a body: %q", a["url"], body)
			}
			continue
		}
		want := "[31mupstream down (" + strings.Repeat("é", (256-len("\x1b[31mupstream\x00\x07 down\r\n\t\xff\xfe("))/2)
		if a["response_status"] != 502.0 || body != want {
			t.Errorf("noisy receiver's excerpt = %d %q, want %q", len(body), body, want)
		}
	}
}
