package api_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/stripe/stripe-go/v85"

	"github.com/calmony/calmonypay/internal/apitest"
)

// TestSDKTestClocks drives /v1/test_helpers/test_clocks and customers on
// test clocks with stripe-go v85, on each database.
func TestSDKTestClocks(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		for _, tc := range []struct {
			name string
			run  func(*testing.T, *apitest.Server)
		}{
			{"Lifecycle", testSDKClockLifecycle},
			{"Customers", testSDKClockCustomers},
			{"Idempotency", testSDKClockIdempotency},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.run(t, srv)
			})
		}
	})
}

// clockFrozen is the frozen time the tests' clocks start at: 2020-01-01.
const clockFrozen = 1_577_836_800

// waitReady polls a clock until it is ready, and fails the test unless it is
// within a few seconds.
func waitReady(t *testing.T, sc *stripe.Client, id string) *stripe.TestHelpersTestClock {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := sc.V1TestHelpersTestClocks.Retrieve(ctx, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status == stripe.TestHelpersTestClockStatusReady {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("clock %s still %s after 5s", id, c.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testSDKClockLifecycle(t *testing.T, srv *apitest.Server) {
	sc := payClient(t, srv, "")
	ctx := context.Background()
	name := "annual plan " + sdkUnique()
	before := time.Now().Unix()
	c, err := sc.V1TestHelpersTestClocks.Create(ctx, &stripe.TestHelpersTestClockCreateParams{
		FrozenTime: stripe.Int64(clockFrozen), Name: stripe.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.ID, "clock_") || c.Object != "test_helpers.test_clock" || c.Created < before || c.Created > time.Now().Unix() ||
		c.DeletesAfter != c.Created+30*86400 || c.FrozenTime != clockFrozen || c.Livemode || c.Name != name ||
		c.Status != stripe.TestHelpersTestClockStatusReady || c.StatusDetails == nil || c.StatusDetails.Advancing != nil || c.Deleted {
		t.Errorf("created clock = %+v", c)
	}
	got, err := sc.V1TestHelpersTestClocks.Retrieve(ctx, c.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(c, got, gocmp.FilterPath(func(p gocmp.Path) bool { return p.Last().String() == ".APIResource" }, gocmp.Ignore())); diff != "" {
		t.Errorf("retrieved clock differs (-created +retrieved):\n%s", diff)
	}
	// Stripe's nulls and empty objects, as the wire shows them.
	raw := do(t, srv, call{method: "POST", path: "/v1/test_helpers/test_clocks", body: "frozen_time=1"})
	if raw.status != 200 || !strings.Contains(raw.raw, `"name":null`) || !strings.Contains(raw.raw, `"status_details":{}`) {
		t.Errorf("a clock with no name: %d %s", raw.status, raw.raw)
	}

	// Listed, newest first, page by page.
	other, err := sc.V1TestHelpersTestClocks.Create(ctx, &stripe.TestHelpersTestClockCreateParams{FrozenTime: stripe.Int64(clockFrozen)})
	if err != nil {
		t.Fatal(err)
	}
	params := &stripe.TestHelpersTestClockListParams{}
	params.Limit = stripe.Int64(1)
	var listed []string
	for lc, err := range sc.V1TestHelpersTestClocks.List(ctx, params).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, lc.ID)
	}
	if i, j := slices.Index(listed, other.ID), slices.Index(listed, c.ID); i < 0 || j < 0 || i > j {
		t.Errorf("listed %v, want %s before %s", listed, other.ID, c.ID)
	}

	// An advance answers advancing; the clock is ready at the target soon after.
	target := int64(clockFrozen + 35*86400)
	adv, err := sc.V1TestHelpersTestClocks.Advance(ctx, c.ID, &stripe.TestHelpersTestClockAdvanceParams{FrozenTime: stripe.Int64(target)})
	if err != nil {
		t.Fatal(err)
	}
	if adv.Status != stripe.TestHelpersTestClockStatusAdvancing || adv.FrozenTime != clockFrozen || adv.StatusDetails == nil ||
		adv.StatusDetails.Advancing == nil || adv.StatusDetails.Advancing.TargetFrozenTime != target {
		t.Errorf("advance answered %+v", adv)
	}
	ready := waitReady(t, sc, c.ID)
	if ready.FrozenTime != target || ready.StatusDetails == nil || ready.StatusDetails.Advancing != nil {
		t.Errorf("ready clock = %+v, want frozen at %d", ready, target)
	}
	var types []string
	for e, err := range sc.V1Events.List(ctx, &stripe.EventListParams{}).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(e.Data.Raw), c.ID) {
			types = append(types, string(e.Type))
		}
	}
	slices.Reverse(types)
	if want := []string{"test_helpers.test_clock.created", "test_helpers.test_clock.advancing", "test_helpers.test_clock.ready"}; !slices.Equal(types, want) {
		t.Errorf("the clock's events: %v, want %v", types, want)
	}

	del, err := sc.V1TestHelpersTestClocks.Delete(ctx, c.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if del.ID != c.ID || !del.Deleted || del.Object != "test_helpers.test_clock" {
		t.Errorf("delete answered %+v", del)
	}
	_, err = sc.V1TestHelpersTestClocks.Retrieve(ctx, c.ID, nil)
	sdkCheckError(t, "retrieve after the delete", err, sdkWant{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: stripe.ErrorCodeResourceMissing, Param: "id"})
}

func testSDKClockCustomers(t *testing.T, srv *apitest.Server) {
	sc := payClient(t, srv, "")
	ctx := context.Background()
	clock, err := sc.V1TestHelpersTestClocks.Create(ctx, &stripe.TestHelpersTestClockCreateParams{FrozenTime: stripe.Int64(clockFrozen)})
	if err != nil {
		t.Fatal(err)
	}
	email := "clock+" + sdkUnique() + "@example.com"
	var on []string
	for range 2 {
		cus, err := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{Email: stripe.String(email), TestClock: stripe.String(clock.ID)})
		if err != nil {
			t.Fatal(err)
		}
		if cus.TestClock == nil || cus.TestClock.ID != clock.ID {
			t.Errorf("customer's test_clock = %+v, want %s", cus.TestClock, clock.ID)
		}
		on = append(on, cus.ID)
	}
	off, err := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{Email: stripe.String(email)})
	if err != nil {
		t.Fatal(err)
	}
	if off.TestClock != nil {
		t.Errorf("a customer on no clock shows test_clock %+v", off.TestClock)
	}
	// Expanded, the clock itself; listed, the customers as ever.
	params := &stripe.CustomerRetrieveParams{}
	params.AddExpand("test_clock")
	got, err := sc.V1Customers.Retrieve(ctx, on[0], params)
	if err != nil {
		t.Fatal(err)
	}
	if got.TestClock == nil || got.TestClock.ID != clock.ID || got.TestClock.FrozenTime != clockFrozen || got.TestClock.Status != "ready" {
		t.Errorf("expanded test_clock = %+v", got.TestClock)
	}
	ids, err := sdkListIDs(ctx, sc.V1Customers.List(ctx, &stripe.CustomerListParams{Email: stripe.String(email)}))
	if err != nil || len(ids) != 3 {
		t.Errorf("customers listed by email: %v, %v; want all 3", ids, err)
	}
	// The clock is set at creation only.
	if a := do(t, srv, call{method: "POST", path: "/v1/customers/" + off.ID, body: "test_clock=" + clock.ID}); a.status != 400 ||
		!strings.Contains(a.raw, `"param":"test_clock"`) {
		t.Errorf("an update of test_clock: %d %s", a.status, a.raw)
	}

	// Deleting the clock deletes its customers, not the others.
	if _, err := sc.V1TestHelpersTestClocks.Delete(ctx, clock.ID, nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range append(on, off.ID) {
		cus, err := sc.V1Customers.Retrieve(ctx, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := id != off.ID; cus.Deleted != want {
			t.Errorf("customer %s after its clock's delete: deleted %v, want %v", id, cus.Deleted, want)
		}
	}
	var deleted []string
	for e, err := range sc.V1Events.List(ctx, &stripe.EventListParams{Type: stripe.String("customer.deleted")}).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if id := e.Data.Object["id"].(string); slices.Contains(on, id) {
			deleted = append(deleted, id)
		}
	}
	slices.Sort(deleted)
	slices.Sort(on)
	if !slices.Equal(deleted, on) {
		t.Errorf("customer.deleted events for %v, want %v", deleted, on)
	}
}

// TestSDKTestClockBadInput: every refusal is a 4xx in Stripe's envelope
// naming the parameter. Its server runs no clock loop, so that an advance
// stays advancing until the test finishes it.
func TestSDKTestClockBadInput(t *testing.T) {
	t.Parallel()
	eachStoreWith(t, apitest.Options{NoTestClockLoop: true}, testSDKClockBadInput)
}

func testSDKClockBadInput(t *testing.T, srv *apitest.Server) {
	sc := payClient(t, srv, "")
	ctx := context.Background()
	clock, err := sc.V1TestHelpersTestClocks.Create(ctx, &stripe.TestHelpersTestClockCreateParams{FrozenTime: stripe.Int64(clockFrozen)})
	if err != nil {
		t.Fatal(err)
	}
	live := payClient(t, srv, apitest.NewKey(t, srv.DB, srv.Project, true))
	_, otherKey := apitest.NewProject(t, srv.DB)
	other := payClient(t, srv, otherKey)
	twoYears := time.Unix(clockFrozen, 0).UTC().AddDate(2, 0, 0).Unix()

	invalid := func(param string, code stripe.ErrorCode) sdkWant {
		return sdkWant{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: code, Param: param}
	}
	liveMode := invalid("", "livemode_mismatch")
	missing := sdkWant{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: stripe.ErrorCodeResourceMissing, Param: "id"}
	advance := func(sc *stripe.Client, id string, to int64) error {
		_, err := sc.V1TestHelpersTestClocks.Advance(ctx, id, &stripe.TestHelpersTestClockAdvanceParams{FrozenTime: stripe.Int64(to)})
		return err
	}

	_, err = live.V1TestHelpersTestClocks.Create(ctx, &stripe.TestHelpersTestClockCreateParams{FrozenTime: stripe.Int64(clockFrozen)})
	sdkCheckError(t, "live create", err, liveMode)
	_, err = live.V1TestHelpersTestClocks.Retrieve(ctx, clock.ID, nil)
	sdkCheckError(t, "live retrieve", err, liveMode)
	for _, err := range live.V1TestHelpersTestClocks.List(ctx, &stripe.TestHelpersTestClockListParams{}).All(ctx) {
		sdkCheckError(t, "live list", err, liveMode)
		break
	}
	sdkCheckError(t, "live advance", advance(live, clock.ID, clockFrozen+1), liveMode)
	_, err = live.V1TestHelpersTestClocks.Delete(ctx, clock.ID, nil)
	sdkCheckError(t, "live delete", err, liveMode)
	_, err = live.V1Customers.Create(ctx, &stripe.CustomerCreateParams{TestClock: stripe.String(clock.ID)})
	sdkCheckError(t, "a live customer on a clock", err, invalid("test_clock", "livemode_mismatch"))

	for _, tc := range []struct {
		name, path, body string
		want             sdkWant
	}{
		{"create without frozen_time", "/v1/test_helpers/test_clocks", "name=x", invalid("frozen_time", stripe.ErrorCodeParameterMissing)},
		{"create with a word for frozen_time", "/v1/test_helpers/test_clocks", "frozen_time=soon", invalid("frozen_time", "parameter_invalid_integer")},
		{"create before 1970", "/v1/test_helpers/test_clocks", "frozen_time=-1", invalid("frozen_time", "parameter_invalid_integer")},
		{"create with a long name", "/v1/test_helpers/test_clocks", "frozen_time=1&name=" + strings.Repeat("n", 301), invalid("name", "parameter_invalid_string_too_long")},
		{"create with an unknown parameter", "/v1/test_helpers/test_clocks", "frozen_time=1&metadata[a]=b", invalid("metadata", "parameter_unknown")},
		{"advance without frozen_time", "/v1/test_helpers/test_clocks/" + clock.ID + "/advance", "", invalid("frozen_time", stripe.ErrorCodeParameterMissing)},
		{"list by created", "/v1/test_helpers/test_clocks?created=1", "", invalid("created", "parameter_unknown")},
	} {
		method, path := "POST", tc.path
		if strings.Contains(tc.path, "?") {
			method = "GET"
		}
		a := do(t, srv, call{method: method, path: path, body: tc.body})
		e, _ := a.body["error"].(map[string]any)
		got := sdkWant{Status: a.status}
		if e != nil {
			got.Type, got.Param = stripe.ErrorType(fmt.Sprint(e["type"])), fmt.Sprint(e["param"])
			got.Code = stripe.ErrorCode(fmt.Sprint(e["code"]))
		}
		if diff := gocmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s%s", tc.name, diff, a.raw)
		}
	}

	sdkCheckError(t, "advance backwards", advance(sc, clock.ID, clockFrozen-1), invalid("frozen_time", "parameter_invalid"))
	sdkCheckError(t, "advance to the same time", advance(sc, clock.ID, clockFrozen), invalid("frozen_time", "parameter_invalid"))
	sdkCheckError(t, "advance beyond two years", advance(sc, clock.ID, twoYears+1), invalid("frozen_time", "parameter_invalid"))
	sdkCheckError(t, "advance of an unknown clock", advance(sc, "clock_unknown", clockFrozen+1), missing)
	sdkCheckError(t, "advance of another project's clock", advance(other, clock.ID, clockFrozen+1), missing)
	_, err = other.V1TestHelpersTestClocks.Retrieve(ctx, clock.ID, nil)
	sdkCheckError(t, "retrieve of another project's clock", err, missing)
	_, err = other.V1TestHelpersTestClocks.Delete(ctx, clock.ID, nil)
	sdkCheckError(t, "delete of another project's clock", err, missing)
	_, err = other.V1Customers.Create(ctx, &stripe.CustomerCreateParams{TestClock: stripe.String(clock.ID)})
	sdkCheckError(t, "a customer on another project's clock", err, sdkWant{Status: 404, Type: stripe.ErrorTypeInvalidRequest,
		Code: stripe.ErrorCodeResourceMissing, Param: "test_clock"})
	for lc, err := range other.V1TestHelpersTestClocks.List(ctx, &stripe.TestHelpersTestClockListParams{}).All(ctx) {
		t.Errorf("another project lists %v, %v", lc, err)
	}

	// While it advances, no second advance; once it is ready, the next.
	if err := advance(sc, clock.ID, twoYears); err != nil {
		t.Fatalf("advance by exactly two years: %v", err)
	}
	sdkCheckError(t, "advance while advancing", advance(sc, clock.ID, twoYears+1), invalid("", "test_clock_unexpected_state"))
	if c, err := sc.V1TestHelpersTestClocks.Retrieve(ctx, clock.ID, nil); err != nil || c.Status != "advancing" ||
		c.StatusDetails.Advancing.TargetFrozenTime != twoYears {
		t.Fatalf("the clock after a refused advance: %+v, %v", c, err)
	}
	if err := srv.Billing.AdvanceClocks(ctx); err != nil {
		t.Fatal(err)
	}
	if err := advance(sc, clock.ID, twoYears+1); err != nil {
		t.Errorf("advance once ready: %v", err)
	}
}

func testSDKClockIdempotency(t *testing.T, srv *apitest.Server) {
	sc := payClient(t, srv, "")
	ctx := context.Background()
	key := "clock-" + sdkUnique()
	create := func() (*stripe.TestHelpersTestClock, error) {
		p := &stripe.TestHelpersTestClockCreateParams{FrozenTime: stripe.Int64(clockFrozen), Name: stripe.String(key)}
		p.SetIdempotencyKey(key)
		return sc.V1TestHelpersTestClocks.Create(ctx, p)
	}
	first, err := create()
	if err != nil {
		t.Fatal(err)
	}
	second, err := create()
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != second.ID || second.LastResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay made %s after %s (Idempotent-Replayed %q), want the same clock replayed",
			second.ID, first.ID, second.LastResponse.Header.Get("Idempotent-Replayed"))
	}
	n := 0
	for lc, err := range sc.V1TestHelpersTestClocks.List(ctx, &stripe.TestHelpersTestClockListParams{}).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if lc.Name == key {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d clocks named %s, want 1", n, key)
	}
	// The same key with other parameters is refused.
	p := &stripe.TestHelpersTestClockCreateParams{FrozenTime: stripe.Int64(clockFrozen + 1)}
	p.SetIdempotencyKey(key)
	_, err = sc.V1TestHelpersTestClocks.Create(ctx, p)
	if se := stripeErr(t, err); se.Type != stripe.ErrorTypeIdempotency {
		t.Errorf("the key reused with other parameters: %v", err)
	}
}
