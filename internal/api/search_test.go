package api_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v85"

	"github.com/calmony/calmonypay/internal/apitest"
)

// searched runs a search through stripe-go's iterator, which follows
// next_page, and returns the IDs found in order.
func searched[T any](t *testing.T, l *stripe.V1SearchList[T], id func(T) string) []string {
	t.Helper()
	ids := []string{}
	for v, err := range l.All(context.Background()) {
		if err != nil {
			t.Fatalf("search: %v", err)
		}
		ids = append(ids, id(v))
	}
	return ids
}

func TestSearchCustomers(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		ctx := context.Background()
		sc := payClient(t, srv, "")
		create := func(email string, md map[string]string) string {
			p := &stripe.CustomerCreateParams{Metadata: md, Name: stripe.String("Jenny Rosen")}
			if email != "" {
				p.Email = stripe.String(email)
			}
			c, err := sc.V1Customers.Create(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			return c.ID
		}
		c1 := create("a@example.com", map[string]string{"order": "1", "$.odd key": "x", `it's`: "q"})
		c2 := create("b@example.com", map[string]string{"order": "2"})
		c3 := create("a@example.com", map[string]string{"tier": "gold"})
		c4 := create("", nil)
		gone := create("c@example.com", map[string]string{"order": "3"})
		if _, err := sc.V1Customers.Delete(ctx, gone, nil); err != nil {
			t.Fatal(err)
		}
		// The same email in another project is not found.
		_, otherKey := apitest.NewProject(t, srv.DB)
		if _, err := payClient(t, srv, otherKey).V1Customers.Create(ctx, &stripe.CustomerCreateParams{Email: stripe.String("a@example.com")}); err != nil {
			t.Fatal(err)
		}
		id := func(c *stripe.Customer) string { return c.ID }
		for _, tt := range []struct {
			query string
			want  []string
		}{
			{"email:'a@example.com'", []string{c3, c1}},
			{`email:"b@example.com"`, []string{c2}},
			{"email:'c@example.com'", []string{}}, // deleted
			{"email:null", []string{c4}},
			{"-email:'a@example.com'", []string{c4, c2}},
			{"metadata['order']:'2'", []string{c2}},
			{"metadata['$.odd key']:'x'", []string{c1}},
			{`metadata["it's"]:'q'`, []string{c1}},
			{"metadata['order']:null", []string{c4, c3}},
			{"-metadata['order']:null", []string{c2, c1}},
			{"-metadata['order']:'1'", []string{c4, c3, c2}},
			{"email:'b@example.com' OR metadata['tier']:'gold'", []string{c3, c2}},
			{"email:'a@example.com' AND metadata['tier']:'gold'", []string{c3}},
			{"created>0 created<=4102444800", []string{c4, c3, c2, c1}},
			{"created<0", []string{}},
		} {
			for _, limit := range []int64{1, 10} { // one result a page exercises next_page
				p := &stripe.CustomerSearchParams{SearchParams: stripe.SearchParams{Query: tt.query, Limit: stripe.Int64(limit)}}
				if got := searched(t, sc.V1Customers.Search(ctx, p), id); !slices.Equal(got, tt.want) {
					t.Errorf("search %q (limit %d) = %v, want %v", tt.query, limit, got, tt.want)
				}
			}
		}
		// The wire shape, with total_count when asked for.
		a := do(t, srv, call{method: "GET", path: "/v1/customers/search?limit=1&expand[]=total_count&query=" + url.QueryEscape("email:'a@example.com'")})
		next, _ := a.body["next_page"].(string)
		if a.status != 200 || a.body["object"] != "search_result" || a.body["url"] != "/v1/customers/search" || a.body["has_more"] != true ||
			next == "" || a.body["total_count"] != float64(2) || len(a.body["data"].([]any)) != 1 {
			t.Fatalf("search_result = %d %s", a.status, a.raw)
		}
		a = do(t, srv, call{method: "GET", path: "/v1/customers/search?limit=1&page=" + next + "&query=" + url.QueryEscape("email:'a@example.com'")})
		if v, ok := a.body["next_page"]; a.status != 200 || a.body["has_more"] != false || !ok || v != nil || strings.Contains(a.raw, "total_count") {
			t.Errorf("last page = %d %s", a.status, a.raw)
		}
	})
}

func TestSearchPaymentIntentsAndCharges(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		ctx := context.Background()
		sc := payClient(t, srv, "")
		cus, err := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{})
		if err != nil {
			t.Fatal(err)
		}
		intent := func(amount int64, customer bool, md map[string]string) *stripe.PaymentIntent {
			p := &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(amount), Currency: stripe.String("gbp"), Metadata: md}
			if customer {
				p.Customer = stripe.String(cus.ID)
			}
			pi, err := sc.V1PaymentIntents.Create(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			return pi
		}
		pi1 := intent(1000, true, map[string]string{"order": "A"})
		pi2 := intent(2500, false, nil)
		pi3 := intent(5000, true, map[string]string{"order": "B"})
		if _, err := sc.V1PaymentIntents.Cancel(ctx, pi2.ID, nil); err != nil {
			t.Fatal(err)
		}
		paid, err := sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1200), Currency: stripe.String("gbp"),
			PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true), Metadata: map[string]string{"order": "C"}})
		if err != nil || paid.Status != stripe.PaymentIntentStatusSucceeded {
			t.Fatalf("paid intent: %v %v", paid, err)
		}
		piID := func(pi *stripe.PaymentIntent) string { return pi.ID }
		for _, tt := range []struct {
			query string
			want  []string
		}{
			{"status:'canceled'", []string{pi2.ID}},
			{"status:'succeeded'", []string{paid.ID}},
			{"-status:'canceled' AND amount>1000", []string{paid.ID, pi3.ID}},
			{fmt.Sprintf("customer:'%s' amount>=5000", cus.ID), []string{pi3.ID}},
			{"customer:null", []string{paid.ID, pi2.ID}},
			{"metadata['order']:'A' OR metadata['order']:'C'", []string{paid.ID, pi1.ID}},
			{"currency:'gbp'", []string{paid.ID, pi3.ID, pi2.ID, pi1.ID}},
			{"currency:'usd'", []string{}},
			{"amount:2500", []string{pi2.ID}},
			{"amount<1000", []string{}},
		} {
			for _, limit := range []int64{1, 3} {
				p := &stripe.PaymentIntentSearchParams{SearchParams: stripe.SearchParams{Query: tt.query, Limit: stripe.Int64(limit)}}
				if got := searched(t, sc.V1PaymentIntents.Search(ctx, p), piID); !slices.Equal(got, tt.want) {
					t.Errorf("payment intents %q (limit %d) = %v, want %v", tt.query, limit, got, tt.want)
				}
			}
		}
		chID := func(c *stripe.Charge) string { return c.ID }
		for _, tt := range []struct {
			query string
			want  []string
		}{
			{fmt.Sprintf("payment_intent:'%s' AND status:'succeeded'", paid.ID), []string{paid.LatestCharge.ID}},
			{"amount:1200 currency:'gbp' customer:null", []string{paid.LatestCharge.ID}},
			{"status:'failed' OR amount>5000", []string{}},
		} {
			p := &stripe.ChargeSearchParams{SearchParams: stripe.SearchParams{Query: tt.query}}
			if got := searched(t, sc.V1Charges.Search(ctx, p), chID); !slices.Equal(got, tt.want) {
				t.Errorf("charges %q = %v, want %v", tt.query, got, tt.want)
			}
		}
		// expand[] reaches into the results.
		p := &stripe.ChargeSearchParams{SearchParams: stripe.SearchParams{Query: "status:'succeeded'"}}
		p.AddExpand("data.payment_intent")
		for ch, err := range sc.V1Charges.Search(ctx, p).All(ctx) {
			if err != nil || ch.PaymentIntent == nil || ch.PaymentIntent.Amount != 1200 {
				t.Errorf("expanded charge = %+v, %v", ch, err)
			}
		}
	})
}

// TestSearchBadQueries: a query the server cannot answer is a 400 naming
// query (or page, or limit) and saying why, never a misleading
// parameter_unknown.
func TestSearchBadQueries(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		get := func(path, query string) call {
			return call{method: "GET", path: path + "?query=" + url.QueryEscape(query)}
		}
		checkBadInput(t, srv, []badInput{
			{"customer name", get("/v1/customers/search", "name:'Jenny'"), 400, "parameter_invalid", "query"},
			{"customer phone", get("/v1/customers/search", "phone:'+447700900123'"), 400, "parameter_invalid", "query"},
			{"email substring", get("/v1/customers/search", "email~'jenny'"), 400, "parameter_invalid", "query"},
			{"unknown field", get("/v1/payment_intents/search", "last_payment_error.code:'card_declined'"), 400, "parameter_invalid", "query"},
			{"AND with OR", get("/v1/payment_intents/search", "status:'a' AND amount>1 OR amount<5"), 400, "parameter_invalid", "query"},
			{"parentheses", get("/v1/charges/search", "(status:'succeeded')"), 400, "parameter_invalid", "query"},
			{"not a number", get("/v1/charges/search", "amount>ten"), 400, "parameter_invalid", "query"},
			{"unclosed quote", get("/v1/charges/search", "status:'succeeded"), 400, "parameter_invalid", "query"},
			{"no query", call{method: "GET", path: "/v1/customers/search"}, 400, "parameter_missing", "query"},
			{"empty query", call{method: "GET", path: "/v1/customers/search?query="}, 400, "parameter_invalid_empty", "query"},
			{"bad page", call{method: "GET", path: "/v1/customers/search?query=created>0&page=nonsense"}, 400, "parameter_invalid", "page"},
			{"forged page", call{method: "GET", path: "/v1/customers/search?query=created>0&page=MTI6Y3VzXwA"}, 400, "parameter_invalid", "page"},
			{"limit", call{method: "GET", path: "/v1/payment_intents/search?query=created>0&limit=101"}, 400, "parameter_invalid_integer", "limit"},
			{"list parameter", call{method: "GET", path: "/v1/payment_intents/search?query=created>0&starting_after=pi_x"}, 400, "parameter_unknown", "starting_after"},
			{"bad expand", call{method: "GET", path: "/v1/customers/search?query=created>0&expand[]=data.email"}, 400, "parameter_invalid", "expand"},
		})
		a := do(t, srv, get("/v1/customers/search", "name:'Jenny'"))
		if !strings.Contains(a.err("message"), "encrypted") {
			t.Errorf("refusal of name does not say why: %s", a.raw)
		}
	})
}
