package billing_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// env is a billing.Service on a real store with one test-mode project,
// called as the dashboard or a scheduler would: no HTTP.
type env struct {
	db    *store.DB
	svc   *billing.Service
	scope pay.Scope
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pays := payments.New(payments.Config{DB: db, Keys: db.Keys(), Logger: log})
	return &env{db: db, svc: billing.New(billing.Config{DB: db, Payments: pays, Logger: log}), scope: storetest.Project(t, db)}
}

func (e *env) plain() payments.Call { return payments.Plain(e.scope) }

func (e *env) keyed(key, fp string) payments.Call {
	c := e.plain()
	c.Key = &payments.IdempotencyKey{Key: store.IdemKey{Scope: e.scope, Key: key}, Method: "POST", Path: "/v1/tax_rates", Fingerprint: fp}
	return c
}

// events returns the scope's events of type typ ("" for all), newest first.
func (e *env) events(t *testing.T, typ string) []*pay.Event {
	t.Helper()
	var f store.EventFilter
	if typ != "" {
		f.Types = []string{typ}
	}
	l, err := e.db.FindEvents(context.Background(), e.scope, f, pay.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return l.Data
}

// eventData decodes an event's data: the tax rate as its JSON object, and
// the previous attributes.
func eventData(t *testing.T, ev *pay.Event) (obj, prev map[string]any) {
	t.Helper()
	var d struct {
		Object             map[string]any `json:"object"`
		PreviousAttributes map[string]any `json:"previous_attributes"`
	}
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		t.Fatal(err)
	}
	return d.Object, d.PreviousAttributes
}

func str(s string) *string { return &s }

func vatParams() billing.TaxRateParams {
	return billing.TaxRateParams{Percentage: 175000, Inclusive: true, Fields: pay.TaxRateUpdate{
		DisplayName: str("VAT"), Country: str("GB"), TaxType: str("vat"), Jurisdiction: str("UK"),
		Metadata: pay.MetadataUpdate{Set: map[string]string{"hmrc": "box1"}}}}
}

// taxRateOf returns a function that takes an operation's results and
// returns the tax rate answered, failing the test on an error.
func taxRateOf(t *testing.T) func(a *payments.Answer, err error) *pay.TaxRate {
	return func(a *payments.Answer, err error) *pay.TaxRate {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		r, ok := a.Object.(*pay.TaxRate)
		if !ok {
			t.Fatalf("answer object %T, want *pay.TaxRate", a.Object)
		}
		return r
	}
}

// CreateTaxRate writes the rate and its tax_rate.created event together,
// active by default, and answers the rate's JSON with its percentage exact.
func TestCreateTaxRate(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		a, err := e.svc.CreateTaxRate(ctx, e.plain(), vatParams())
		r := taxRateOf(t)(a, err)
		want := &pay.TaxRate{ID: r.ID, Scope: e.scope, Created: r.Created, Active: true, DisplayName: "VAT", Percentage: 175000,
			Inclusive: true, Country: "GB", TaxType: "vat", Jurisdiction: "UK", Metadata: map[string]string{"hmrc": "box1"}}
		if diff := cmp.Diff(want, r); diff != "" {
			t.Errorf("created (-want +got):\n%s", diff)
		}
		stored, err := e.db.FindTaxRate(ctx, e.scope, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, stored); diff != "" {
			t.Errorf("stored (-want +got):\n%s", diff)
		}
		var body map[string]any
		if err := json.Unmarshal(a.Body, &body); err != nil || body["percentage"] != 17.5 || body["object"] != "tax_rate" || a.Status != 200 {
			t.Errorf("answer %d %s (%v), want the tax rate with percentage 17.5", a.Status, a.Body, err)
		}
		evs := e.events(t, "tax_rate.created")
		if len(evs) != 1 || evs[0].ObjectID != r.ID {
			t.Fatalf("tax_rate.created events = %+v, want one for %s", evs, r.ID)
		}
		obj, prev := eventData(t, evs[0])
		if obj["id"] != r.ID || obj["percentage"] != 17.5 || obj["display_name"] != "VAT" || prev != nil {
			t.Errorf("event data %v, previous %v", obj, prev)
		}

		// active=false at creation makes an archived rate.
		p := vatParams()
		p.Fields.Active = new(bool)
		if r := taxRateOf(t)(e.svc.CreateTaxRate(ctx, e.plain(), p)); r.Active {
			t.Error("created with active=false, but active")
		}
	})
}

// A create the rules refuse answers a 400 naming the field, and writes
// neither a rate nor an event.
func TestCreateTaxRateRefusals(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		for _, tt := range []struct {
			param  string
			change func(*billing.TaxRateParams)
		}{
			{"display_name", func(p *billing.TaxRateParams) { p.Fields.DisplayName = nil }},
			{"percentage", func(p *billing.TaxRateParams) { p.Percentage = pay.MaxPercent + 1 }},
			{"percentage", func(p *billing.TaxRateParams) { p.Percentage = -1 }},
			{"country", func(p *billing.TaxRateParams) { p.Fields.Country = str("UK") }},
			{"tax_type", func(p *billing.TaxRateParams) { p.Fields.TaxType = str("income_tax") }},
		} {
			p := vatParams()
			tt.change(&p)
			_, err := e.svc.CreateTaxRate(ctx, e.plain(), p)
			if pe, ok := pay.AsError(err); !ok || pe.Status != 400 || pe.Param != tt.param {
				t.Errorf("create refusing %s: %v", tt.param, err)
			}
		}
		l, err := e.db.FindTaxRates(ctx, e.scope, store.TaxRateFilter{}, pay.Page{Limit: 10})
		if err != nil || len(l.Data) != 0 || len(e.events(t, "")) != 0 {
			t.Errorf("after refused creates: %d rates (%v), %d events, want none", len(l.Data), err, len(e.events(t, "")))
		}
	})
}

// UpdateTaxRate changes the mutable fields with a tax_rate.updated event
// naming the old values; an update that changes nothing emits nothing; a
// rate of another project or mode does not exist.
func TestUpdateTaxRate(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		r := taxRateOf(t)(e.svc.CreateTaxRate(ctx, e.plain(), vatParams()))
		no := false
		ch := pay.TaxRateUpdate{Active: &no, DisplayName: str("VAT (2010 rate)"), Jurisdiction: str(""), State: str("ENG"),
			JurisdictionLevel: str("country"), Metadata: pay.MetadataUpdate{Set: map[string]string{"hmrc": "", "note": "archived"}}}
		got := taxRateOf(t)(e.svc.UpdateTaxRate(ctx, e.plain(), r.ID, ch))
		want := *r
		want.Active, want.DisplayName, want.Jurisdiction, want.State, want.JurisdictionLevel = false, "VAT (2010 rate)", "", "ENG", "country"
		want.Metadata = map[string]string{"note": "archived"}
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("updated (-want +got):\n%s", diff)
		}
		if stored, _ := e.db.FindTaxRate(ctx, e.scope, r.ID); !cmp.Equal(&want, stored) {
			t.Errorf("stored %+v, want %+v", stored, want)
		}
		evs := e.events(t, "tax_rate.updated")
		if len(evs) != 1 {
			t.Fatalf("%d tax_rate.updated events, want 1", len(evs))
		}
		obj, prev := eventData(t, evs[0])
		wantPrev := map[string]any{"active": true, "display_name": "VAT", "jurisdiction": "UK", "state": nil, "jurisdiction_level": nil,
			"metadata": map[string]any{"hmrc": "box1"}}
		if diff := cmp.Diff(wantPrev, prev); diff != "" || obj["active"] != false {
			t.Errorf("tax_rate.updated previous_attributes (-want +got):\n%s object %v", diff, obj)
		}

		if _, err := e.svc.UpdateTaxRate(ctx, e.plain(), r.ID, pay.TaxRateUpdate{DisplayName: str("VAT (2010 rate)")}); err != nil {
			t.Fatal(err)
		}
		if n := len(e.events(t, "tax_rate.updated")); n != 1 {
			t.Errorf("an update changing nothing: %d tax_rate.updated events, want still 1", n)
		}
		if _, err := e.svc.UpdateTaxRate(ctx, e.plain(), r.ID, pay.TaxRateUpdate{TaxType: str("VAT")}); err == nil {
			t.Error("tax_type VAT (not lower case) accepted")
		}

		other := newEnv(t, db)
		live := *e
		live.scope.Livemode = true
		for _, who := range []*env{other, &live} {
			_, err := who.svc.UpdateTaxRate(ctx, who.plain(), r.ID, pay.TaxRateUpdate{DisplayName: str("Mine")})
			if pe, ok := pay.AsError(err); !ok || pe.Status != 404 || pe.Code != "resource_missing" || pe.Param != "id" {
				t.Errorf("update from %+v: %v, want resource_missing", who.scope, err)
			}
		}
		if stored, _ := e.db.FindTaxRate(ctx, e.scope, r.ID); stored.DisplayName != "VAT (2010 rate)" {
			t.Errorf("display name %q after other scopes' updates", stored.DisplayName)
		}
	})
}

// A create retried with its idempotency key replays the first answer and
// writes nothing more; the key with other parameters is refused.
func TestCreateTaxRateIdempotent(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		first, err := e.svc.CreateTaxRate(ctx, e.keyed("k1", "fp1"), vatParams())
		if err != nil || first.Replayed {
			t.Fatalf("first create: %+v, %v", first, err)
		}
		again, err := e.svc.CreateTaxRate(ctx, e.keyed("k1", "fp1"), vatParams())
		if err != nil || !again.Replayed || string(again.Body) != string(first.Body) || again.Status != first.Status {
			t.Fatalf("retry: %+v, %v; want a replay of %s", again, err, first.Body)
		}
		_, err = e.svc.CreateTaxRate(ctx, e.keyed("k1", "fp2"), vatParams())
		if pe, ok := pay.AsError(err); !ok || pe.Type != pay.ErrorTypeIdempotency {
			t.Errorf("the key with other parameters: %v, want an idempotency_error", err)
		}
		l, _ := e.db.FindTaxRates(ctx, e.scope, store.TaxRateFilter{}, pay.Page{Limit: 10})
		evs := e.events(t, "tax_rate.created")
		if len(l.Data) != 1 || len(evs) != 1 || evs[0].IdempotencyKey != "k1" {
			t.Errorf("%d rates and %d events (%+v), want one of each, the event naming key k1", len(l.Data), len(evs), evs)
		}
	})
}
