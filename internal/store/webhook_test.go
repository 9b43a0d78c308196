package store_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

const testSecret = "whsec_0123456789abcdefghijABCDEFGHIJ"

func createEndpoint(t *testing.T, db *store.DB, ep *pay.WebhookEndpoint, secret string) *pay.WebhookEndpoint {
	t.Helper()
	if ep.URL == "" {
		ep.URL = "https://hooks.example.com/" + pay.RandomString(6)
	}
	if ep.EnabledEvents == nil {
		ep.EnabledEvents = []string{"*"}
	}
	err := db.Tx(context.Background(), func(tx *store.Tx) error { return tx.CreateWebhookEndpoint(context.Background(), ep, secret) })
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func createEvent(t *testing.T, db *store.DB, scope pay.Scope, typ string) *pay.Event {
	t.Helper()
	e := &pay.Event{Scope: scope, Type: typ, ObjectID: "cus_x", Data: []byte(`{"object":{"id":"cus_x"}}`)}
	if err := db.Tx(context.Background(), func(tx *store.Tx) error { return tx.CreateEvent(context.Background(), e) }); err != nil {
		t.Fatal(err)
	}
	return e
}

func claim(t *testing.T, db *store.DB, now time.Time, limit int) []*store.Delivery {
	t.Helper()
	ds, err := db.ClaimDeliveries(context.Background(), store.ClaimOptions{Now: now, Lease: time.Minute, Limit: limit})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func finish(t *testing.T, db *store.DB, d *store.Delivery, r store.AttemptResult) store.FinishOutcome {
	t.Helper()
	out, err := db.FinishDelivery(context.Background(), d, r, 72*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func pendingOf(t *testing.T, db *store.DB, scope pay.Scope, id string) int {
	t.Helper()
	e, err := db.FindEvent(context.Background(), scope, id)
	if err != nil {
		t.Fatal(err)
	}
	return e.PendingWebhooks
}

func TestWebhookEndpointLifecycle(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		ep := createEndpoint(t, db, &pay.WebhookEndpoint{Scope: scope, URL: "https://hooks.example.com/a", EnabledEvents: []string{"customer.created"},
			Description: "orders", Metadata: map[string]string{"team": "shop"}, APIVersion: pay.APIVersion}, testSecret)
		if !pay.HasPrefix(ep.ID, pay.PrefixWebhookEndpoint) || ep.Created == 0 || ep.Status != pay.WebhookEnabled {
			t.Fatalf("created endpoint = %+v", ep)
		}
		got, err := db.FindWebhookEndpoint(ctx, scope, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(ep, got); diff != "" {
			t.Errorf("FindWebhookEndpoint mismatch (-want +got):\n%s", diff)
		}
		var raw []byte
		if err := db.RawQueryRow(ctx, `SELECT secret FROM webhook_endpoints WHERE id = $1`, ep.ID).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), "whsec_") || strings.Contains(string(raw), testSecret[6:]) {
			t.Error("the signing secret is stored in plaintext")
		}
		for _, other := range []pay.Scope{storetest.Project(t, db), {ProjectID: scope.ProjectID, Livemode: true}} {
			if _, err := db.FindWebhookEndpoint(ctx, other, ep.ID); !errors.Is(err, pay.ErrNotFound) {
				t.Errorf("FindWebhookEndpoint from %+v: err = %v, want ErrNotFound", other, err)
			}
		}
		l, err := db.FindWebhookEndpoints(ctx, scope, pay.Page{Limit: 10})
		if err != nil || len(l.Data) != 1 || l.Data[0].ID != ep.ID {
			t.Fatalf("FindWebhookEndpoints = %+v, %v", l, err)
		}

		// Disabling cancels the waiting deliveries.
		e := createEvent(t, db, scope, "customer.created")
		if e.PendingWebhooks != 1 {
			t.Fatalf("PendingWebhooks = %d, want 1", e.PendingWebhooks)
		}
		got.Status, got.DisabledReason = pay.WebhookDisabled, pay.DisabledManual
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.UpdateWebhookEndpoint(ctx, got) }); err != nil {
			t.Fatal(err)
		}
		if n := pendingOf(t, db, scope, e.ID); n != 0 {
			t.Errorf("after disabling: pending = %d, want 0", n)
		}
		if ds := claim(t, db, time.Now(), 10); len(ds) != 0 {
			t.Errorf("claimed %d deliveries for a disabled endpoint", len(ds))
		}
		if e := createEvent(t, db, scope, "customer.created"); e.PendingWebhooks != 0 {
			t.Errorf("event for a disabled endpoint: pending = %d", e.PendingWebhooks)
		}

		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.DeleteWebhookEndpoint(ctx, scope, ep.ID) }); err != nil {
			t.Fatal(err)
		}
		if _, err := db.FindWebhookEndpoint(ctx, scope, ep.ID); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("after delete: err = %v", err)
		}
		err = db.Tx(ctx, func(tx *store.Tx) error { return tx.DeleteWebhookEndpoint(ctx, scope, ep.ID) })
		if !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("second delete: err = %v, want ErrNotFound", err)
		}
	})
}

func TestEventFanOut(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		scope := storetest.Project(t, db)
		all := createEndpoint(t, db, &pay.WebhookEndpoint{Scope: scope, EnabledEvents: []string{"*"}}, testSecret)
		created := createEndpoint(t, db, &pay.WebhookEndpoint{Scope: scope, EnabledEvents: []string{"customer.created"}}, testSecret)
		createEndpoint(t, db, &pay.WebhookEndpoint{Scope: scope, Status: pay.WebhookDisabled}, testSecret)
		createEndpoint(t, db, &pay.WebhookEndpoint{Scope: storetest.Project(t, db)}, testSecret)
		createEndpoint(t, db, &pay.WebhookEndpoint{Scope: pay.Scope{ProjectID: scope.ProjectID, Livemode: true}}, testSecret)

		e1 := createEvent(t, db, scope, "customer.created")
		e2 := createEvent(t, db, scope, "customer.updated")
		if e1.PendingWebhooks != 2 || e2.PendingWebhooks != 1 {
			t.Errorf("PendingWebhooks = %d, %d; want 2, 1", e1.PendingWebhooks, e2.PendingWebhooks)
		}
		l, err := db.FindEvents(context.Background(), scope, store.EventFilter{}, pay.Page{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, e := range l.Data {
			got[e.ID] = e.PendingWebhooks
		}
		if diff := cmp.Diff(map[string]int{e1.ID: 2, e2.ID: 1}, got); diff != "" {
			t.Errorf("FindEvents pending (-want +got):\n%s", diff)
		}

		ds := claim(t, db, time.Now(), 10)
		var pairs []string
		for _, d := range ds {
			pairs = append(pairs, d.Event.ID+">"+d.EndpointID)
			if d.Attempt != 1 || len(d.Secrets) != 1 || string(d.Secrets[0]) != testSecret || d.URL == "" {
				t.Errorf("claimed delivery = %+v", d)
			}
			if d.Event.PendingWebhooks == 0 || string(d.Event.Data) != `{"object":{"id":"cus_x"}}` {
				t.Errorf("claimed event = %+v", d.Event)
			}
		}
		slices.Sort(pairs)
		want := []string{e1.ID + ">" + all.ID, e1.ID + ">" + created.ID, e2.ID + ">" + all.ID}
		slices.Sort(want)
		if diff := cmp.Diff(want, pairs); diff != "" {
			t.Errorf("claimed deliveries (-want +got):\n%s", diff)
		}
	})
}

func TestClaimDeliveries(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		scope := storetest.Project(t, db)
		createEndpoint(t, db, &pay.WebhookEndpoint{Scope: scope}, testSecret)
		createEndpoint(t, db, &pay.WebhookEndpoint{Scope: scope}, testSecret)
		const events = 40
		for range events {
			createEvent(t, db, scope, "customer.created")
		}
		now := time.Now().Add(time.Second)

		// Concurrent claimers never share a delivery.
		var (
			mu   sync.Mutex
			seen = map[string]int{}
			wg   sync.WaitGroup
		)
		for range 6 {
			wg.Go(func() {
				for {
					ds, err := db.ClaimDeliveries(context.Background(), store.ClaimOptions{Now: now, Lease: time.Minute, Limit: 7})
					if err != nil {
						t.Error(err)
						return
					}
					if len(ds) == 0 {
						return
					}
					mu.Lock()
					for _, d := range ds {
						seen[d.Event.ID+">"+d.EndpointID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != 2*events {
			t.Errorf("claimed %d distinct deliveries, want %d", len(seen), 2*events)
		}
		for k, n := range seen {
			if n != 1 {
				t.Errorf("delivery %s claimed %d times", k, n)
			}
		}

		// Leased deliveries are not claimed again until the lease expires,
		// as after a crash; then they are, with the same attempt number.
		if ds := claim(t, db, now.Add(59*time.Second), 100); len(ds) != 0 {
			t.Errorf("claimed %d leased deliveries", len(ds))
		}
		again := claim(t, db, now.Add(61*time.Second), 100)
		if len(again) != 2*events || again[0].Attempt != 1 {
			t.Fatalf("after the lease: claimed %d (attempt %d), want %d (attempt 1)", len(again), again[0].Attempt, 2*events)
		}
		for _, d := range again {
			finish(t, db, d, store.AttemptResult{Started: now.Add(61 * time.Second), StatusCode: 200, Succeeded: true})
		}
		if ds := claim(t, db, now.Add(time.Hour), 100); len(ds) != 0 {
			t.Errorf("claimed %d delivered deliveries", len(ds))
		}
		if n := pendingOf(t, db, scope, again[0].Event.ID); n != 0 {
			t.Errorf("pending after success = %d", n)
		}
		attempts, err := db.FindDeliveryAttempts(context.Background(), scope, again[0].Event.ID, "", pay.Page{Limit: 10})
		if err != nil || len(attempts.Data) != 2 || !attempts.Data[0].Succeeded || attempts.Data[0].StatusCode != 200 {
			t.Errorf("attempts = %+v, %v", attempts.Data, err)
		}
	})
}

// A hanging receiver with many deliveries due cannot take every slot.
func TestClaimPerEndpoint(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		scope := storetest.Project(t, db)
		slow := createEndpoint(t, db, &pay.WebhookEndpoint{Scope: scope, EnabledEvents: []string{"customer.updated"}}, testSecret)
		fast := createEndpoint(t, db, &pay.WebhookEndpoint{Scope: scope, EnabledEvents: []string{"customer.created"}}, testSecret)
		for range 10 {
			createEvent(t, db, scope, "customer.updated")
		}
		createEvent(t, db, scope, "customer.created")
		ds, err := db.ClaimDeliveries(context.Background(), store.ClaimOptions{Now: time.Now().Add(time.Second), Lease: time.Minute,
			Limit: 4, PerEndpoint: 2, InFlight: map[string]int{slow.ID: 1}})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, d := range ds {
			got[d.EndpointID]++
		}
		if diff := cmp.Diff(map[string]int{slow.ID: 1, fast.ID: 1}, got); diff != "" {
			t.Errorf("claimed per endpoint (-want +got):\n%s", diff)
		}
	})
}

func TestFinishDeliveryRetriesThenDisables(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		ep := createEndpoint(t, db, &pay.WebhookEndpoint{Scope: scope}, testSecret)
		e1 := createEvent(t, db, scope, "customer.created")
		e2 := createEvent(t, db, scope, "customer.updated")
		now := time.Now()
		ds := claim(t, db, now, 1)
		if len(ds) != 1 {
			t.Fatalf("claimed %d", len(ds))
		}
		first := ds[0]
		e, other := e1, e2
		if first.Event.ID == e2.ID {
			e, other = e2, e1
		}
		retry := now.Add(time.Hour)
		finish(t, db, first, store.AttemptResult{Started: now, StatusCode: 500, ResponseBody: "oops", Error: "HTTP 500", NextRetry: retry})
		got, _ := db.FindWebhookEndpoint(ctx, scope, ep.ID)
		if got.FailingSince != now.Unix() || got.Status != pay.WebhookEnabled {
			t.Errorf("after a failure: endpoint = %+v", got)
		}
		// The other event is still due; the failed one waits for its retry.
		if ds := claim(t, db, now.Add(time.Minute), 10); len(ds) != 1 || ds[0].Event.ID == first.Event.ID {
			t.Fatalf("claimed %d before the retry time", len(ds))
		} else {
			finish(t, db, ds[0], store.AttemptResult{Started: now.Add(time.Minute), Error: "timed out", NextRetry: now.Add(2 * time.Hour)})
		}
		ds = claim(t, db, retry, 10)
		if len(ds) != 1 || ds[0].Attempt != 2 {
			t.Fatalf("at the retry time: claimed %+v", ds)
		}
		// Three days of failure disable the endpoint and cancel what waits.
		out := finish(t, db, ds[0], store.AttemptResult{Started: now.Add(72 * time.Hour), StatusCode: 503})
		if !out.EndpointDisabled {
			t.Error("the endpoint was not disabled after 72 hours of failures")
		}
		got, _ = db.FindWebhookEndpoint(ctx, scope, ep.ID)
		if got.Status != pay.WebhookDisabled || got.DisabledReason != pay.DisabledDeliveryFailures || got.DisabledAt != now.Add(72*time.Hour).Unix() {
			t.Errorf("endpoint = %+v, want disabled for delivery failures", got)
		}
		if n := pendingOf(t, db, scope, other.ID); n != 0 {
			t.Errorf("the other event still has %d pending deliveries", n)
		}
		attempts, _ := db.FindDeliveryAttempts(ctx, scope, e.ID, ep.ID, pay.Page{Limit: 10})
		if len(attempts.Data) != 2 {
			t.Fatalf("attempts = %+v", attempts.Data)
		}
		a := attempts.Data[1] // oldest last
		if a.Attempt != 1 || a.StatusCode != 500 || a.ResponseBody != "oops" || a.NextRetry != retry.Unix() || a.Succeeded {
			t.Errorf("first attempt = %+v", a)
		}
	})
}

func TestSuccessResetsFailingSince(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		scope := storetest.Project(t, db)
		ep := createEndpoint(t, db, &pay.WebhookEndpoint{Scope: scope}, testSecret)
		createEvent(t, db, scope, "customer.created")
		now := time.Now()
		d := claim(t, db, now, 1)[0]
		finish(t, db, d, store.AttemptResult{Started: now, StatusCode: 500, NextRetry: now.Add(time.Minute)})
		d = claim(t, db, now.Add(time.Minute), 1)[0]
		finish(t, db, d, store.AttemptResult{Started: now.Add(time.Minute), StatusCode: 204, Succeeded: true})
		if got, _ := db.FindWebhookEndpoint(context.Background(), scope, ep.ID); got.FailingSince != 0 {
			t.Errorf("FailingSince = %d after a success, want 0", got.FailingSince)
		}
	})
}

func TestRollWebhookSecret(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		ep := createEndpoint(t, db, &pay.WebhookEndpoint{Scope: scope}, testSecret)
		const next = "whsec_nextnextnextnextnextnextnextnext"
		now := time.Now()
		expires := now.Add(time.Hour).Unix()
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.RollWebhookSecret(ctx, scope, ep.ID, next, expires) }); err != nil {
			t.Fatal(err)
		}
		e := createEvent(t, db, scope, "customer.created")
		d := claim(t, db, now, 1)[0]
		if len(d.Secrets) != 2 || string(d.Secrets[0]) != next || string(d.Secrets[1]) != testSecret {
			t.Errorf("during the overlap: %d secrets", len(d.Secrets))
		}
		db.ReleaseDelivery(ctx, d)
		d = claim(t, db, now.Add(2*time.Hour), 1)[0]
		if len(d.Secrets) != 1 || string(d.Secrets[0]) != next {
			t.Errorf("after the overlap: %d secrets", len(d.Secrets))
		}
		finish(t, db, d, store.AttemptResult{Started: now, Succeeded: true, StatusCode: 200})
		// Rolling with no overlap drops the old secret at once.
		const third = "whsec_thirdthirdthirdthirdthirdthird"
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.RollWebhookSecret(ctx, scope, ep.ID, third, 0) }); err != nil {
			t.Fatal(err)
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error { _, _, err := tx.RetryEvent(ctx, scope, e.ID, ""); return err }); err != nil {
			t.Fatal(err)
		}
		d = claim(t, db, now.Add(time.Minute), 1)[0]
		if len(d.Secrets) != 1 || string(d.Secrets[0]) != third {
			t.Errorf("after a roll without overlap: %d secrets", len(d.Secrets))
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.RollWebhookSecret(ctx, scope, "we_nope", third, 0) }); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("roll of a missing endpoint: %v", err)
		}
	})
}

func TestRetryEvent(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		a := createEndpoint(t, db, &pay.WebhookEndpoint{Scope: scope}, testSecret)
		e := createEvent(t, db, scope, "customer.created")
		now := time.Now()
		d := claim(t, db, now, 1)[0]
		finish(t, db, d, store.AttemptResult{Started: now, Succeeded: true, StatusCode: 200})
		// An endpoint created after the event receives it on retry too.
		b := createEndpoint(t, db, &pay.WebhookEndpoint{Scope: scope, EnabledEvents: []string{"customer.created"}}, testSecret)
		createEndpoint(t, db, &pay.WebhookEndpoint{Scope: scope, EnabledEvents: []string{"customer.deleted"}}, testSecret)
		var (
			got *pay.Event
			n   int
		)
		err := db.Tx(ctx, func(tx *store.Tx) error {
			var err error
			got, n, err = tx.RetryEvent(ctx, scope, e.ID, "")
			return err
		})
		if err != nil || n != 2 || got.PendingWebhooks != 2 || got.ID != e.ID {
			t.Fatalf("RetryEvent = %+v, %d, %v", got, n, err)
		}
		ds := claim(t, db, now.Add(time.Second), 10)
		ids := []string{}
		for _, d := range ds {
			ids = append(ids, d.EndpointID)
			if d.EndpointID == a.ID && d.Attempt != 2 {
				t.Errorf("redelivery to %s is attempt %d, want 2", a.ID, d.Attempt)
			}
		}
		slices.Sort(ids)
		want := []string{a.ID, b.ID}
		slices.Sort(want)
		if diff := cmp.Diff(want, ids); diff != "" {
			t.Errorf("redelivered to (-want +got):\n%s", diff)
		}

		// One endpoint only; a retry while in flight makes the outcome of
		// the attempt in flight not settle the delivery.
		err = db.Tx(ctx, func(tx *store.Tx) error { _, _, err := tx.RetryEvent(ctx, scope, e.ID, a.ID); return err })
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			finish(t, db, d, store.AttemptResult{Started: now, Succeeded: true, StatusCode: 200})
		}
		if n := pendingOf(t, db, scope, e.ID); n != 1 {
			t.Errorf("pending = %d, want 1 (the retried delivery)", n)
		}

		disabled := createEndpoint(t, db, &pay.WebhookEndpoint{Scope: scope, Status: pay.WebhookDisabled}, testSecret)
		err = db.Tx(ctx, func(tx *store.Tx) error { _, _, err := tx.RetryEvent(ctx, scope, e.ID, disabled.ID); return err })
		if !errors.Is(err, store.ErrEndpointDisabled) {
			t.Errorf("retry to a disabled endpoint: %v", err)
		}
		err = db.Tx(ctx, func(tx *store.Tx) error { _, _, err := tx.RetryEvent(ctx, scope, "evt_nope", ""); return err })
		if !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("retry of a missing event: %v", err)
		}
	})
}

func TestPruneEvents(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		createEndpoint(t, db, &pay.WebhookEndpoint{Scope: scope}, testSecret)
		old := createEvent(t, db, scope, "customer.created")
		d := claim(t, db, time.Now(), 1)[0]
		finish(t, db, d, store.AttemptResult{Started: time.Now(), Succeeded: true, StatusCode: 200})
		if _, err := db.RawExec(ctx, `UPDATE events SET created = created - 40*86400 WHERE id = $1`, old.ID); err != nil {
			t.Fatal(err)
		}
		// Pruning goes scope by scope: live mode's old events go too.
		live := pay.Scope{ProjectID: scope.ProjectID, Livemode: true}
		oldLive := createEvent(t, db, live, "customer.created")
		if _, err := db.RawExec(ctx, `UPDATE events SET created = created - 40*86400 WHERE id = $1`, oldLive.ID); err != nil {
			t.Fatal(err)
		}
		kept := createEvent(t, db, scope, "customer.created")
		n, err := db.PruneEvents(ctx, time.Now().Add(-30*24*time.Hour).Unix())
		if err != nil || n != 2 {
			t.Fatalf("PruneEvents = %d, %v; want 2", n, err)
		}
		if _, err := db.FindEvent(ctx, live, oldLive.ID); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("old live-mode event: %v", err)
		}
		if _, err := db.FindEvent(ctx, scope, old.ID); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("old event: %v", err)
		}
		if _, err := db.FindEvent(ctx, scope, kept.ID); err != nil {
			t.Errorf("recent event: %v", err)
		}
		var left int
		db.RawQueryRow(ctx, `SELECT COUNT(*) FROM webhook_attempts WHERE event_id = $1`, old.ID).Scan(&left)
		if left != 0 {
			t.Errorf("%d attempts of the pruned event remain", left)
		}
	})
}

// A secret that no longer decrypts (the key was changed) fails the attempt
// instead of leaving the delivery leased forever.
func TestClaimWithUndecryptableSecret(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		scope := storetest.Project(t, db)
		ep := createEndpoint(t, db, &pay.WebhookEndpoint{Scope: scope}, testSecret)
		if _, err := db.RawExec(context.Background(), `UPDATE webhook_endpoints SET secret = $2 WHERE id = $1`, ep.ID, []byte("garbage")); err != nil {
			t.Fatal(err)
		}
		createEvent(t, db, scope, "customer.created")
		ds := claim(t, db, time.Now(), 10)
		if len(ds) != 1 || ds[0].Broken == "" || len(ds[0].Secrets) != 0 {
			t.Fatalf("claimed %+v, want one broken delivery", ds)
		}
	})
}
