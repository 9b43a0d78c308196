package api_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stripe/stripe-go/v85"

	"github.com/calmony/calmonypay/internal/apitest"
)

// TestSDKTaxRates drives /v1/tax_rates with stripe-go v85 against a real
// server on each database.
func TestSDKTaxRates(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		for _, tc := range []struct {
			name string
			run  func(*testing.T, *apitest.Server)
		}{
			{"CreateRetrieve", testTaxRateCreateRetrieve},
			{"Precision", testTaxRatePrecision},
			{"Update", testTaxRateUpdate},
			{"List", testTaxRateList},
			{"BadInput", testTaxRateBadInput},
			{"Isolation", testTaxRateIsolation},
			{"Idempotency", testTaxRateIdempotency},
			{"Events", testTaxRateEvents},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.run(t, srv)
			})
		}
	})
}

// ignoreResource leaves out what the SDK adds to a decoded object.
var ignoreResource = cmpopts.IgnoreFields(stripe.TaxRate{}, "APIResource")

func ukVAT() *stripe.TaxRateCreateParams {
	p := &stripe.TaxRateCreateParams{
		DisplayName:  stripe.String("VAT"),
		Description:  stripe.String("UK standard rate"),
		Percentage:   stripe.Float64(20),
		Inclusive:    stripe.Bool(false),
		Country:      stripe.String("GB"),
		State:        stripe.String("ENG"),
		Jurisdiction: stripe.String("UK"),
		TaxType:      stripe.String("vat"),
	}
	p.AddMetadata("hmrc_box", "1")
	return p
}

func testTaxRateCreateRetrieve(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	sc := sdkClient(srv.URL, srv.Key)
	before := time.Now().Unix()
	r, err := sc.V1TaxRates.Create(ctx, ukVAT())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if !strings.HasPrefix(r.ID, "txr_") || r.Created < before-1 || r.Created > time.Now().Unix()+1 {
		t.Errorf("Create: ID %q created %d, want txr_… now", r.ID, r.Created)
	}
	want := &stripe.TaxRate{ID: r.ID, Object: "tax_rate", Active: true, Country: "GB", Created: r.Created, Description: "UK standard rate",
		DisplayName: "VAT", EffectivePercentage: 20, Inclusive: false, Jurisdiction: "UK", Livemode: false,
		Metadata: map[string]string{"hmrc_box": "1"}, Percentage: 20, RateType: "percentage", State: "ENG", TaxType: "vat"}
	if diff := gocmp.Diff(want, r, ignoreResource); diff != "" {
		t.Errorf("Create (-want +got):\n%s", diff)
	}
	got, err := sc.V1TaxRates.Retrieve(ctx, r.ID, nil)
	if err != nil {
		t.Fatalf("Retrieve(%s): %v", r.ID, err)
	}
	if diff := gocmp.Diff(want, got, ignoreResource); diff != "" {
		t.Errorf("Retrieve (-want +got):\n%s", diff)
	}

	// Every field of Stripe's object is there, unset ones as null.
	minimal, err := sc.V1TaxRates.Create(ctx, &stripe.TaxRateCreateParams{DisplayName: stripe.String("Zero rate"),
		Percentage: stripe.Float64(0), Inclusive: stripe.Bool(true)})
	if err != nil {
		t.Fatalf("Create minimal: %v", err)
	}
	a := do(t, srv, call{method: "GET", path: "/v1/tax_rates/" + minimal.ID})
	wantJSON := map[string]any{"id": minimal.ID, "object": "tax_rate", "active": true, "country": nil, "created": float64(minimal.Created),
		"description": nil, "display_name": "Zero rate", "effective_percentage": 0.0, "flat_amount": nil, "inclusive": true,
		"jurisdiction": nil, "jurisdiction_level": nil, "livemode": false, "metadata": map[string]any{}, "percentage": 0.0,
		"rate_type": "percentage", "state": nil, "tax_type": nil}
	if diff := gocmp.Diff(wantJSON, a.body); a.status != 200 || diff != "" {
		t.Errorf("GET %s: %d (-want +got):\n%s", minimal.ID, a.status, diff)
	}

	// Lower-case codes are taken and kept in upper case.
	p := ukVAT()
	p.Country, p.State = stripe.String("gb"), stripe.String("sct")
	if r, err := sc.V1TaxRates.Create(ctx, p); err != nil || r.Country != "GB" || r.State != "SCT" {
		t.Errorf("Create with country gb, state sct: %+v, %v", r, err)
	}

	_, err = sc.V1TaxRates.Retrieve(ctx, "txr_NoSuchRate000000000000", nil)
	sdkCheckError(t, "Retrieve unknown", err, sdkWant{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: stripe.ErrorCodeResourceMissing, Param: "id"})
	rp := &stripe.TaxRateRetrieveParams{}
	rp.AddExpand("country")
	_, err = sc.V1TaxRates.Retrieve(ctx, r.ID, rp)
	sdkCheckError(t, "Retrieve expanding a plain field", err, sdkWant{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "parameter_invalid", Param: "expand"})
}

// Percentages are kept exactly and answered as the shortest decimal, which
// both the SDK's float64 and the raw JSON show.
func testTaxRatePrecision(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	sc := sdkClient(srv.URL, srv.Key)
	for _, tt := range []struct {
		sent float64
		json string
	}{{17.5, "17.5"}, {0.0001, "0.0001"}, {100, "100"}, {20, "20"}, {5, "5"}, {0, "0"}, {12.3456, "12.3456"}} {
		r, err := sc.V1TaxRates.Create(ctx, &stripe.TaxRateCreateParams{DisplayName: stripe.String("VAT"),
			Percentage: stripe.Float64(tt.sent), Inclusive: stripe.Bool(false)})
		if err != nil {
			t.Fatalf("Create(percentage %v): %v", tt.sent, err)
		}
		if r.Percentage != tt.sent || r.EffectivePercentage != tt.sent {
			t.Errorf("Create(percentage %v) = %v (effective %v)", tt.sent, r.Percentage, r.EffectivePercentage)
		}
		a := do(t, srv, call{method: "GET", path: "/v1/tax_rates/" + r.ID})
		if !strings.Contains(a.raw, `"percentage":`+tt.json+`,`) || !strings.Contains(a.raw, `"effective_percentage":`+tt.json+`,`) {
			t.Errorf("percentage %v answered as %s, want %s", tt.sent, a.raw, tt.json)
		}
	}
}

func testTaxRateUpdate(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	sc := sdkClient(srv.URL, srv.Key)
	r, err := sc.V1TaxRates.Create(ctx, ukVAT())
	if err != nil {
		t.Fatal(err)
	}
	p := &stripe.TaxRateUpdateParams{Active: stripe.Bool(false), DisplayName: stripe.String("VAT (old)"), Description: stripe.String(""),
		Country: stripe.String("IE"), State: stripe.String(""), Jurisdiction: stripe.String("IE"), TaxType: stripe.String("gst")}
	p.AddMetadata("hmrc_box", "")
	p.AddMetadata("archived", "2026")
	p.AddExtra("jurisdiction_level", "country")
	got, err := sc.V1TaxRates.Update(ctx, r.ID, p)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	want := *r
	want.Active, want.DisplayName, want.Description, want.Country, want.State, want.Jurisdiction, want.TaxType =
		false, "VAT (old)", "", "IE", "", "IE", "gst"
	want.JurisdictionLevel = "country"
	want.Metadata = map[string]string{"archived": "2026"}
	if diff := gocmp.Diff(&want, got, ignoreResource); diff != "" {
		t.Errorf("Update (-want +got):\n%s", diff)
	}
	if again, err := sc.V1TaxRates.Retrieve(ctx, r.ID, nil); err != nil || !gocmp.Equal(&want, again, ignoreResource) {
		t.Errorf("Retrieve after Update = %+v, %v", again, err)
	}
	// An empty update changes nothing; unsetting metadata clears it.
	if same, err := sc.V1TaxRates.Update(ctx, r.ID, &stripe.TaxRateUpdateParams{}); err != nil || !gocmp.Equal(&want, same, ignoreResource) {
		t.Errorf("empty Update = %+v, %v", same, err)
	}
	up := &stripe.TaxRateUpdateParams{}
	up.AddUnsetField(stripe.TaxRateUpdateParamsUnsetFieldMetadata)
	if cleared, err := sc.V1TaxRates.Update(ctx, r.ID, up); err != nil || len(cleared.Metadata) != 0 {
		t.Errorf("Update unsetting metadata = %+v, %v", cleared, err)
	}
}

func testTaxRateList(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	_, key := apitest.NewProject(t, srv.DB)
	sc := sdkClient(srv.URL, key)
	made := map[string]string{} // ID → "active/inclusive"
	var order []string
	for _, c := range []struct{ active, inclusive bool }{{true, false}, {true, true}, {false, false}, {false, true}, {true, false}} {
		p := &stripe.TaxRateCreateParams{DisplayName: stripe.String("VAT"), Percentage: stripe.Float64(20), Inclusive: stripe.Bool(c.inclusive),
			Active: stripe.Bool(c.active)}
		r, err := sc.V1TaxRates.Create(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		made[r.ID] = boolWord(c.active, "active") + "/" + boolWord(c.inclusive, "inclusive")
		order = append([]string{r.ID}, order...) // newest first
	}
	list := func(p *stripe.TaxRateListParams) []string {
		t.Helper()
		p.Limit = stripe.Int64(2) // the SDK pages, so each filter must hold on every page
		var ids []string
		for r, err := range sc.V1TaxRates.List(ctx, p).All(ctx) {
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			ids = append(ids, r.ID)
		}
		return ids
	}
	where := func(keep func(string) bool) []string {
		var ids []string
		for _, id := range order {
			if keep(made[id]) {
				ids = append(ids, id)
			}
		}
		return ids
	}
	for _, tt := range []struct {
		name string
		p    *stripe.TaxRateListParams
		want []string
	}{
		{"all", &stripe.TaxRateListParams{}, order},
		{"active", &stripe.TaxRateListParams{Active: stripe.Bool(true)}, where(func(s string) bool { return strings.HasPrefix(s, "active/") })},
		{"archived", &stripe.TaxRateListParams{Active: stripe.Bool(false)}, where(func(s string) bool { return strings.HasPrefix(s, "not active/") })},
		{"inclusive", &stripe.TaxRateListParams{Inclusive: stripe.Bool(true)}, where(func(s string) bool { return strings.HasSuffix(s, "/inclusive") })},
		{"active exclusive", &stripe.TaxRateListParams{Active: stripe.Bool(true), Inclusive: stripe.Bool(false)}, where(func(s string) bool { return s == "active/not inclusive" })},
		{"created in the future", &stripe.TaxRateListParams{CreatedRange: &stripe.RangeQueryParams{GreaterThan: time.Now().Unix() + 3600}}, nil},
		{"created up to now", &stripe.TaxRateListParams{CreatedRange: &stripe.RangeQueryParams{LesserThanOrEqual: time.Now().Unix() + 1}}, order},
	} {
		if diff := gocmp.Diff(tt.want, list(tt.p), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("List %s (-want +got):\n%s", tt.name, diff)
		}
	}
	_, err := sdkListAll(ctx, sc, &stripe.TaxRateListParams{ListParams: stripe.ListParams{StartingAfter: stripe.String("txr_NoSuch0000000000000000")}})
	sdkCheckError(t, "List after an unknown rate", err, sdkWant{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: stripe.ErrorCodeResourceMissing, Param: "starting_after"})
}

func sdkListAll(ctx context.Context, sc *stripe.Client, p *stripe.TaxRateListParams) ([]*stripe.TaxRate, error) {
	var out []*stripe.TaxRate
	for r, err := range sc.V1TaxRates.List(ctx, p).All(ctx) {
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func boolWord(b bool, word string) string {
	if b {
		return word
	}
	return "not " + word
}

// Every bad input is a 400 naming its parameter, and writes nothing.
func testTaxRateBadInput(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	_, key := apitest.NewProject(t, srv.DB)
	sc := sdkClient(srv.URL, key)
	base := func() *stripe.TaxRateCreateParams {
		return &stripe.TaxRateCreateParams{DisplayName: stripe.String("VAT"), Percentage: stripe.Float64(20), Inclusive: stripe.Bool(false)}
	}
	with := func(change func(p *stripe.TaxRateCreateParams)) *stripe.TaxRateCreateParams {
		p := base()
		change(p)
		return p
	}
	rawPercentage := func(v string) *stripe.TaxRateCreateParams {
		return with(func(p *stripe.TaxRateCreateParams) { p.Percentage = nil; p.AddExtra("percentage", v) })
	}
	for _, tt := range []struct {
		name        string
		p           *stripe.TaxRateCreateParams
		param, code string
	}{
		{"no display_name", with(func(p *stripe.TaxRateCreateParams) { p.DisplayName = nil }), "display_name", "parameter_missing"},
		{"empty display_name", with(func(p *stripe.TaxRateCreateParams) { p.DisplayName = stripe.String("") }), "display_name", "parameter_invalid_empty"},
		{"long display_name", with(func(p *stripe.TaxRateCreateParams) { p.DisplayName = stripe.String(strings.Repeat("V", 51)) }), "display_name", "parameter_invalid_string_too_long"},
		{"no percentage", with(func(p *stripe.TaxRateCreateParams) { p.Percentage = nil }), "percentage", "parameter_missing"},
		{"no inclusive", with(func(p *stripe.TaxRateCreateParams) { p.Inclusive = nil }), "inclusive", "parameter_missing"},
		{"inclusive not a boolean", with(func(p *stripe.TaxRateCreateParams) { p.Inclusive = nil; p.AddExtra("inclusive", "yes") }), "inclusive", "parameter_invalid_boolean"},
		{"percentage 100.00001", rawPercentage("100.00001"), "percentage", "parameter_invalid"},
		{"percentage 100.0001", rawPercentage("100.0001"), "percentage", "parameter_invalid"},
		{"percentage -1", with(func(p *stripe.TaxRateCreateParams) { p.Percentage = stripe.Float64(-1) }), "percentage", "parameter_invalid"},
		{"percentage with 5 decimals", rawPercentage("17.12345"), "percentage", "parameter_invalid"},
		{"percentage in exponent form", rawPercentage("2e1"), "percentage", "parameter_invalid"},
		{"percentage not a number", rawPercentage("twenty"), "percentage", "parameter_invalid"},
		{"country UK", with(func(p *stripe.TaxRateCreateParams) { p.Country = stripe.String("UK") }), "country", "parameter_invalid"},
		{"country of 3 letters", with(func(p *stripe.TaxRateCreateParams) { p.Country = stripe.String("GBR") }), "country", "parameter_invalid"},
		{"country unassigned", with(func(p *stripe.TaxRateCreateParams) { p.Country = stripe.String("ZZ") }), "country", "parameter_invalid"},
		{"state with the country prefix", with(func(p *stripe.TaxRateCreateParams) { p.State = stripe.String("GB-ENG") }), "state", "parameter_invalid"},
		{"tax_type unknown", with(func(p *stripe.TaxRateCreateParams) { p.TaxType = stripe.String("income_tax") }), "tax_type", "parameter_invalid"},
		{"jurisdiction_level unknown", with(func(p *stripe.TaxRateCreateParams) { p.AddExtra("jurisdiction_level", "planet") }), "jurisdiction_level", "parameter_invalid"},
		{"long jurisdiction", with(func(p *stripe.TaxRateCreateParams) { p.Jurisdiction = stripe.String(strings.Repeat("j", 51)) }), "jurisdiction", "parameter_invalid_string_too_long"},
		{"unknown parameter", with(func(p *stripe.TaxRateCreateParams) { p.AddExtra("rate", "20") }), "rate", "parameter_unknown"},
		{"flat_amount (Stripe Tax only)", with(func(p *stripe.TaxRateCreateParams) { p.AddExtra("flat_amount[amount]", "5") }), "flat_amount", "parameter_unknown"},
	} {
		_, err := sc.V1TaxRates.Create(ctx, tt.p)
		sdkCheckError(t, "Create with "+tt.name, err, sdkWant{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: stripe.ErrorCode(tt.code), Param: tt.param})
	}
	if rates, err := sdkListAll(ctx, sc, &stripe.TaxRateListParams{}); err != nil || len(rates) != 0 {
		t.Fatalf("after refused creates: %d rates, %v; want none", len(rates), err)
	}

	r, err := sc.V1TaxRates.Create(ctx, base())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name        string
		change      func(p *stripe.TaxRateUpdateParams)
		param, code string
	}{
		{"percentage", func(p *stripe.TaxRateUpdateParams) { p.AddExtra("percentage", "5") }, "percentage", "parameter_unknown"},
		{"inclusive", func(p *stripe.TaxRateUpdateParams) { p.AddExtra("inclusive", "true") }, "inclusive", "parameter_unknown"},
		{"empty display_name", func(p *stripe.TaxRateUpdateParams) { p.DisplayName = stripe.String("") }, "display_name", "parameter_invalid_empty"},
		{"country UK", func(p *stripe.TaxRateUpdateParams) { p.Country = stripe.String("uk") }, "country", "parameter_invalid"},
		{"tax_type VAT", func(p *stripe.TaxRateUpdateParams) { p.TaxType = stripe.String("VAT") }, "tax_type", "parameter_invalid"},
		{"active not a boolean", func(p *stripe.TaxRateUpdateParams) { p.AddExtra("active", "no") }, "active", "parameter_invalid_boolean"},
	} {
		p := &stripe.TaxRateUpdateParams{Description: stripe.String("must not be written")}
		tt.change(p)
		_, err := sc.V1TaxRates.Update(ctx, r.ID, p)
		se := sdkCheckError(t, "Update with "+tt.name, err, sdkWant{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: stripe.ErrorCode(tt.code), Param: tt.param})
		if tt.name == "percentage" && !strings.Contains(se.Msg, "cannot be changed") {
			t.Errorf("Update with percentage: message %q does not say it cannot be changed", se.Msg)
		}
	}
	if got, err := sc.V1TaxRates.Retrieve(ctx, r.ID, nil); err != nil || got.Percentage != 20 || got.Description != "" || got.Inclusive {
		t.Errorf("after refused updates: %+v, %v", got, err)
	}
	_, err = sdkListAll(ctx, sc, &stripe.TaxRateListParams{Active: nil, ListParams: stripe.ListParams{Filters: filterOf("active", "maybe")}})
	sdkCheckError(t, "List with active=maybe", err, sdkWant{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "parameter_invalid_boolean", Param: "active"})

	events, err := sdkEvents(ctx, sc, "tax_rate.*")
	if err != nil || len(events) != 1 || events[0].Type != "tax_rate.created" {
		t.Errorf("events after the refusals: %d, %v; want only the one rate's tax_rate.created", len(events), err)
	}
}

func filterOf(name, value string) stripe.Filters {
	var f stripe.Filters
	f.AddFilter(name, "", value)
	return f
}

func sdkEvents(ctx context.Context, sc *stripe.Client, typ string) ([]*stripe.Event, error) {
	var out []*stripe.Event
	for e, err := range sc.V1Events.List(ctx, &stripe.EventListParams{Type: stripe.String(typ)}).All(ctx) {
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
	return out, nil
}

// A rate of another project, or of the other mode, does not exist.
func testTaxRateIsolation(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	sc := sdkClient(srv.URL, srv.Key)
	_, otherKey := apitest.NewProject(t, srv.DB)
	other := sdkClient(srv.URL, otherKey)
	live := sdkClient(srv.URL, apitest.NewKey(t, srv.DB, srv.Project, true))
	r, err := sc.V1TaxRates.Create(ctx, ukVAT())
	if err != nil {
		t.Fatal(err)
	}
	missing := sdkWant{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: stripe.ErrorCodeResourceMissing, Param: "id"}
	for name, c := range map[string]*stripe.Client{"another project": other, "live mode": live} {
		_, err := c.V1TaxRates.Retrieve(ctx, r.ID, nil)
		sdkCheckError(t, "Retrieve from "+name, err, missing)
		_, err = c.V1TaxRates.Update(ctx, r.ID, &stripe.TaxRateUpdateParams{Active: stripe.Bool(false)})
		sdkCheckError(t, "Update from "+name, err, missing)
		listed, err := sdkListAll(ctx, c, &stripe.TaxRateListParams{})
		if err != nil || slices.ContainsFunc(listed, func(x *stripe.TaxRate) bool { return x.ID == r.ID }) {
			t.Errorf("List from %s shows %s (%v)", name, r.ID, err)
		}
	}
	lr, err := live.V1TaxRates.Create(ctx, ukVAT())
	if err != nil || !lr.Livemode {
		t.Fatalf("live Create: %+v, %v", lr, err)
	}
	_, err = sc.V1TaxRates.Retrieve(ctx, lr.ID, nil)
	sdkCheckError(t, "Retrieve a live rate with a test key", err, missing)
	if got, err := sc.V1TaxRates.Retrieve(ctx, r.ID, nil); err != nil || !got.Active {
		t.Errorf("after others' updates: %+v, %v; want it active still", got, err)
	}
}

func testTaxRateIdempotency(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	_, key := apitest.NewProject(t, srv.DB)
	sc := sdkClient(srv.URL, key)
	idem := "txr-" + sdkUnique()
	create := func(percentage float64) (*stripe.TaxRate, error) {
		p := ukVAT()
		p.Percentage = stripe.Float64(percentage)
		p.SetIdempotencyKey(idem)
		return sc.V1TaxRates.Create(ctx, p)
	}
	first, err := create(20)
	if err != nil {
		t.Fatal(err)
	}
	second, err := create(20)
	if err != nil {
		t.Fatal(err)
	}
	if second.ID != first.ID || second.LastResponse.Header.Get("Idempotent-Replayed") != "true" || !gocmp.Equal(first, second, ignoreResource) {
		t.Errorf("replay: %s (replayed %q), want %s replayed", second.ID, second.LastResponse.Header.Get("Idempotent-Replayed"), first.ID)
	}
	_, err = create(5)
	sdkCheckError(t, "the key with another percentage", err, sdkWant{Status: 400, Type: stripe.ErrorTypeIdempotency})
	rates, err := sdkListAll(ctx, sc, &stripe.TaxRateListParams{})
	events, _ := sdkEvents(ctx, sc, "tax_rate.created")
	if err != nil || len(rates) != 1 || len(events) != 1 {
		t.Errorf("%d rates (%v) and %d events, want one of each", len(rates), err, len(events))
	}
	if len(events) == 1 && (events[0].Request == nil || events[0].Request.IdempotencyKey != idem) {
		t.Errorf("event request %+v, want the idempotency key %s", events[0].Request, idem)
	}
}

// Creates and updates emit tax_rate.created and tax_rate.updated, with the
// rate as the API shows it and, for an update, the old values.
func testTaxRateEvents(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	_, key := apitest.NewProject(t, srv.DB)
	sc := sdkClient(srv.URL, key)
	r, err := sc.V1TaxRates.Create(ctx, ukVAT())
	if err != nil {
		t.Fatal(err)
	}
	up, err := sc.V1TaxRates.Update(ctx, r.ID, &stripe.TaxRateUpdateParams{Active: stripe.Bool(false), DisplayName: stripe.String("VAT 2010")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.V1TaxRates.Update(ctx, r.ID, &stripe.TaxRateUpdateParams{DisplayName: stripe.String("VAT 2010")}); err != nil {
		t.Fatal(err) // no change, no event
	}
	events, err := sdkEvents(ctx, sc, "tax_rate.*")
	if err != nil || len(events) != 2 {
		t.Fatalf("tax_rate.* events: %d, %v; want created and updated", len(events), err)
	}
	for i, tt := range []struct {
		typ  stripe.EventType
		rate *stripe.TaxRate
		prev map[string]any
	}{
		{"tax_rate.updated", up, map[string]any{"active": true, "display_name": "VAT"}},
		{"tax_rate.created", r, nil},
	} {
		e := events[i]
		var got stripe.TaxRate
		if err := json.Unmarshal(e.Data.Raw, &got); err != nil {
			t.Fatal(err)
		}
		if e.Type != tt.typ || !gocmp.Equal(tt.rate, &got, ignoreResource) {
			t.Errorf("event %d: %s with %+v, want %s with %+v", i, e.Type, got, tt.typ, tt.rate)
		}
		if diff := gocmp.Diff(tt.prev, e.Data.PreviousAttributes, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s previous_attributes (-want +got):\n%s", e.Type, diff)
		}
	}
}
