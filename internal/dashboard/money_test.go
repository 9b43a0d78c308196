package dashboard_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/pay"
)

// backends are the databases the tRPC tests run on (PostgreSQL is skipped
// without CALMONY_TEST_POSTGRES_URL).
var backends = []struct {
	name string
	opts apitest.Options
}{
	{"sqlite", apitest.Options{}},
	{"postgres", apitest.Options{Postgres: true}},
}

type payment struct {
	ID             string `json:"id"`
	Amount         int64  `json:"amount"`
	AmountReceived int64  `json:"amountReceived"`
	Status         string `json:"status"`
	Customer       string `json:"customer"`
	CustomerEmail  string `json:"customerEmail"`
}

type paymentPage struct {
	Data    []payment `json:"data"`
	HasMore bool      `json:"hasMore"`
}

func ids(ps []payment) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

// auditCount counts the project's audit lines of an action.
func auditCount(t *testing.T, srv *apitest.Server, action string) int {
	t.Helper()
	l, err := srv.DB.FindAudit(context.Background(), srv.Project, pay.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range l.Data {
		if e.Action == action {
			n++
		}
	}
	return n
}

// wantError checks a tRPC error's code and, if field is not "", the input
// field it names.
func wantError(t *testing.T, what string, status int, e envelope, wantStatus int, code, field string) {
	t.Helper()
	if status != wantStatus || e.code() != code || (field != "" && e.Error.Data.Field != field) {
		var got any = e.Result
		if e.Error != nil {
			got = *e.Error
		}
		t.Errorf("%s = %d %+v; want %d %s naming %q", what, status, got, wantStatus, code, field)
	}
}

func TestMoneyPayments(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			srv := apitest.Start(t, b.opts)
			admin := signIn(t, srv, "ada@example.com", pay.RoleAdmin)
			dev := signIn(t, srv, "dev@example.com", pay.RoleDeveloper)
			viewer := signIn(t, srv, "vi@example.com", pay.RoleViewer)

			ada := shop(t, srv, srv.Key, "ada@example.com", "Ada Lovelace")
			bob := shop(t, srv, srv.Key, "bob@example.com", "Bob Babbage")
			p1 := pay1(t, srv, srv.Key, ada, "1250")
			p2 := pay1(t, srv, srv.Key, "", "500")
			p3 := pay1(t, srv, srv.Key, ada, "3000")
			p4 := pay1(t, srv, srv.Key, bob, "700")
			otherProject, otherKey := apitest.NewProject(t, srv.DB)
			_ = otherProject
			theirs := pay1(t, srv, otherKey, "", "999")

			list := func(in map[string]any) paymentPage {
				t.Helper()
				_, e := viewer.query("payments.list", in)
				var pg paymentPage
				e.data(t, &pg)
				return pg
			}
			if got := ids(list(nil).Data); !slices.Equal(got, []string{p4, p3, p2, p1}) {
				t.Errorf("payments.list = %v; want newest first %v (and not the other project's %s)", got, []string{p4, p3, p2, p1}, theirs)
			}
			if got := list(map[string]any{"customerEmail": "ada@example.com"}); !slices.Equal(ids(got.Data), []string{p3, p1}) ||
				got.Data[0].CustomerEmail != "ada@example.com" {
				t.Errorf("payments by ada's email = %+v", got)
			}
			if got := list(map[string]any{"customerEmail": "nobody@example.com"}); len(got.Data) != 0 {
				t.Errorf("payments by an unknown email = %+v", got)
			}
			if got := ids(list(map[string]any{"amountMin": 700, "amountMax": 1250}).Data); !slices.Equal(got, []string{p4, p1}) {
				t.Errorf("payments of 7.00–12.50 = %v", got)
			}
			if got := ids(list(map[string]any{"status": "succeeded", "amountMin": 3000}).Data); !slices.Equal(got, []string{p3}) {
				t.Errorf("succeeded payments of 30.00 or more = %v", got)
			}
			if got := list(map[string]any{"status": "canceled"}); len(got.Data) != 0 {
				t.Errorf("canceled payments = %v", ids(got.Data))
			}
			future := time.Now().Add(48 * time.Hour).Unix()
			if got := list(map[string]any{"createdFrom": future}); len(got.Data) != 0 {
				t.Errorf("payments from the day after tomorrow = %v", ids(got.Data))
			}
			if got := list(map[string]any{"createdFrom": 0, "createdTo": future}); len(got.Data) != 4 {
				t.Errorf("payments until the day after tomorrow = %v", ids(got.Data))
			}
			// Page by page, one at a time: every payment once, in order.
			var paged []string
			after := ""
			for range 10 {
				in := map[string]any{"limit": 1}
				if after != "" {
					in["startingAfter"] = after
				}
				pg := list(in)
				paged = append(paged, ids(pg.Data)...)
				if !pg.HasMore {
					break
				}
				after = pg.Data[0].ID
			}
			if !slices.Equal(paged, []string{p4, p3, p2, p1}) {
				t.Errorf("paged one by one: %v", paged)
			}

			// Bad input names the field.
			for _, tt := range []struct {
				in    map[string]any
				field string
			}{
				{map[string]any{"status": "paid"}, "status"},
				{map[string]any{"limit": 0}, "limit"},
				{map[string]any{"limit": 101}, "limit"},
				{map[string]any{"limit": "ten"}, "limit"},
				{map[string]any{"amountMin": -1}, "amountMin"},
				{map[string]any{"amountMax": 0}, "amountMax"},
				{map[string]any{"amountMin": 500, "amountMax": 400}, "amountMax"},
				{map[string]any{"createdFrom": 10, "createdTo": 5}, "createdTo"},
				{map[string]any{"startingAfter": "pi_nope"}, "startingAfter"},
				{map[string]any{"startingAfter": theirs}, "startingAfter"},
				{map[string]any{"customer_email": "x"}, "customer_email"},
			} {
				status, e := viewer.query("payments.list", tt.in)
				wantError(t, "payments.list with bad "+tt.field, status, e, 400, "BAD_REQUEST", tt.field)
			}

			// One payment: its charge (brand and last four only), and its
			// timeline of events and gateway operations.
			status, e := viewer.query("payments.get", map[string]any{"id": p1})
			var d struct {
				Payment payment `json:"payment"`
				Charges []struct {
					ID             string `json:"id"`
					AmountCaptured int64  `json:"amountCaptured"`
					AmountRefunded int64  `json:"amountRefunded"`
					Card           struct{ Brand, Last4 string }
				} `json:"charges"`
				Refunds []struct {
					ID     string `json:"id"`
					Amount int64  `json:"amount"`
					Status string `json:"status"`
				} `json:"refunds"`
				Refundable int64 `json:"refundable"`
				Timeline   []struct {
					Source, Type, State, Object string
					Attempts                    int
				} `json:"timeline"`
			}
			e.data(t, &d)
			raw := string(e.Result.Data)
			if status != 200 || d.Payment.ID != p1 || d.Payment.CustomerEmail != "ada@example.com" || len(d.Charges) != 1 ||
				d.Charges[0].Card.Brand != "visa" || d.Charges[0].Card.Last4 != "4242" || d.Refundable != 1250 {
				t.Errorf("payments.get = %d %s", status, raw)
			}
			for _, secret := range []string{"secret", "xref", "XRef", "4242424242424242", "gateway\":"} {
				if strings.Contains(raw, secret) {
					t.Errorf("payments.get shows %q: %s", secret, raw)
				}
			}
			var kinds []string
			for _, te := range d.Timeline {
				kinds = append(kinds, te.Source+":"+te.Type)
			}
			if !slices.Equal(kinds, []string{"gateway:sale", "event:payment_intent.created", "event:payment_intent.succeeded"}) {
				t.Errorf("timeline = %v", kinds)
			}

			// Scoping: another project's payment does not exist here.
			status, e = admin.query("payments.get", map[string]any{"id": theirs})
			wantError(t, "payments.get of another project's payment", status, e, 404, "NOT_FOUND", "")
			status, e = admin.mutate("payments.refund", map[string]any{"id": theirs, "idempotencyKey": "k-theirs"})
			wantError(t, "payments.refund of another project's payment", status, e, 404, "NOT_FOUND", "")
			if r := v1Key(t, srv.URL, otherKey, "GET", "/v1/refunds?payment_intent="+theirs, nil); len(r["data"].([]any)) != 0 {
				t.Errorf("the other project's payment was refunded: %v", r)
			}

			// Refunds: a viewer and a developer are refused, and nothing
			// is refunded.
			for i, c := range []*client{viewer, dev} {
				status, e := c.mutate("payments.refund", map[string]any{"id": p1, "amount": 100, "idempotencyKey": fmt.Sprint("k-role-", i)})
				wantError(t, "payments.refund by a non-admin", status, e, 403, "FORBIDDEN", "")
			}
			if r := v1OK(t, srv, "GET", "/v1/refunds?payment_intent="+p1, nil); len(r["data"].([]any)) != 0 {
				t.Fatalf("a refused refund refunded: %v", r)
			}
			// Bad refund input names the field, and refunds nothing; so
			// does a payment with nothing to refund.
			unpaid := v1OK(t, srv, "POST", "/v1/payment_intents", url.Values{"amount": {"800"}, "currency": {"gbp"}})["id"].(string)
			for _, tt := range []struct {
				in    map[string]any
				field string
			}{
				{map[string]any{"id": p1, "amount": 100}, "idempotencyKey"},
				{map[string]any{"id": p1, "amount": 100, "idempotencyKey": strings.Repeat("k", 256)}, "idempotencyKey"},
				{map[string]any{"id": p1, "amount": 0, "idempotencyKey": "k-0"}, "amount"},
				{map[string]any{"id": p1, "amount": 1.5, "idempotencyKey": "k-1.5"}, "amount"},
				{map[string]any{"id": p1, "amount": 1251, "idempotencyKey": "k-1251"}, "amount"},
				{map[string]any{"id": p1, "reason": "bored", "idempotencyKey": "k-bored"}, "reason"},
				{map[string]any{"amount": 100, "idempotencyKey": "k-noid"}, "id"},
				{map[string]any{"id": unpaid, "idempotencyKey": "k-unpaid"}, "id"},
			} {
				status, e := admin.mutate("payments.refund", tt.in)
				wantError(t, "payments.refund with bad "+tt.field, status, e, 400, "BAD_REQUEST", tt.field)
			}
			if r := v1OK(t, srv, "GET", "/v1/refunds?payment_intent="+p1, nil); len(r["data"].([]any)) != 0 {
				t.Fatalf("a refund with bad input refunded: %v", r)
			}

			// An admin's refund, sent twice with one key: one refund, one
			// audit line.
			var out [2]struct {
				Refund struct {
					ID     string `json:"id"`
					Amount int64  `json:"amount"`
					Status string `json:"status"`
				} `json:"refund"`
				Payment struct {
					Refundable int64 `json:"refundable"`
				} `json:"payment"`
			}
			for i := range out {
				status, e := admin.mutate("payments.refund", map[string]any{"id": p1, "amount": 250, "reason": "requested_by_customer",
					"idempotencyKey": "refund-p1-once"})
				if status != 200 {
					t.Fatalf("refund %d = %d %+v", i, status, e.Error)
				}
				e.data(t, &out[i])
			}
			if out[0].Refund.ID == "" || out[0].Refund.ID != out[1].Refund.ID || out[0].Refund.Amount != 250 ||
				out[0].Refund.Status != "succeeded" || out[1].Payment.Refundable != 1000 {
				t.Errorf("refund twice with one key: %+v", out)
			}
			if r := v1OK(t, srv, "GET", "/v1/refunds?payment_intent="+p1, nil); len(r["data"].([]any)) != 1 {
				t.Errorf("refunds of %s: %d; want 1", p1, len(r["data"].([]any)))
			}
			if n := auditCount(t, srv, "refund.created"); n != 1 {
				t.Errorf("refund.created audit lines: %d; want 1", n)
			}
			// The same key with other input is refused, not replayed.
			status, e = admin.mutate("payments.refund", map[string]any{"id": p1, "amount": 300, "idempotencyKey": "refund-p1-once"})
			if status < 400 || e.Error == nil {
				t.Errorf("the key reused with another amount = %d %s", status, e.Result.Data)
			}
			// The refund is on the payment's page now, with its events.
			_, e = viewer.query("payments.get", map[string]any{"id": p1})
			e.data(t, &d)
			kinds = kinds[:0]
			for _, te := range d.Timeline {
				kinds = append(kinds, te.Source+":"+te.Type)
			}
			if len(d.Refunds) != 1 || d.Refunds[0].Amount != 250 || d.Charges[0].AmountRefunded != 250 ||
				!slices.Contains(kinds, "gateway:refund") || !slices.Contains(kinds, "event:refund.created") ||
				!slices.Contains(kinds, "event:charge.refunded") {
				t.Errorf("after the refund: refunds %+v, timeline %v", d.Refunds, kinds)
			}

			// The overview: the payments of the last 30 days and the refund.
			status, e = viewer.query("overview.summary", nil)
			var sum struct {
				Days, From, To int64
				Currencies     []string
				Revenue        []struct {
					Currency                     string
					Amount, Count, Refunded, Net int64
				}
				Daily []struct {
					Day     int64
					Amounts map[string]int64
					Count   int64
				}
				Recent []payment
			}
			e.data(t, &sum)
			today := time.Now().UTC().Truncate(24 * time.Hour).Unix()
			if status != 200 || sum.Days != 30 || len(sum.Daily) != 30 || sum.To != today+86400 || sum.From != today-29*86400 ||
				!slices.Equal(sum.Currencies, []string{"gbp"}) || len(sum.Revenue) != 1 || len(sum.Recent) != 5 {
				t.Fatalf("overview.summary = %d %s", status, e.Result.Data)
			}
			if r := sum.Revenue[0]; r.Amount != 5450 || r.Count != 4 || r.Refunded != 250 || r.Net != 5200 {
				t.Errorf("revenue = %+v; want 5450 from 4 payments, 250 refunded", r)
			}
			last := sum.Daily[29]
			if last.Day != today || last.Amounts["gbp"] != 5450 || last.Count != 4 || sum.Daily[0].Amounts["gbp"] != 0 {
				t.Errorf("daily: first %+v, last %+v", sum.Daily[0], last)
			}
			for _, bad := range []map[string]any{{"days": 0}, {"days": 367}, {"days": "30"}} {
				status, e := viewer.query("overview.summary", bad)
				wantError(t, "overview.summary with bad days", status, e, 400, "BAD_REQUEST", "days")
			}
			_ = p2
		})
	}
}

func TestMoneyCustomersSubscriptionsInvoices(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			srv := apitest.Start(t, b.opts)
			admin := signIn(t, srv, "ada@example.com", pay.RoleAdmin)
			dev := signIn(t, srv, "dev@example.com", pay.RoleDeveloper)
			viewer := signIn(t, srv, "vi@example.com", pay.RoleViewer)
			ada := shop(t, srv, srv.Key, "ada@example.com", "Ada Lovelace")
			shop(t, srv, srv.Key, "bob@example.com", "Bob Babbage")
			sub := subscribe(t, srv, ada)
			p := pay1(t, srv, srv.Key, ada, "1500")
			_, otherKey := apitest.NewProject(t, srv.DB)
			theirCus := shop(t, srv, otherKey, "ada@example.com", "Ada elsewhere")

			var cl struct {
				Data []struct {
					ID, Email, Name string
				}
				HasMore bool
			}
			_, e := viewer.query("customers.list", map[string]any{"email": "ada@example.com"})
			e.data(t, &cl)
			if len(cl.Data) != 1 || cl.Data[0].ID != ada || cl.Data[0].Name != "Ada Lovelace" {
				t.Errorf("customers.list by email = %s", e.Result.Data)
			}
			_, e = viewer.query("customers.list", map[string]any{"limit": 1})
			e.data(t, &cl)
			if len(cl.Data) != 1 || !cl.HasMore || cl.Data[0].Email != "bob@example.com" {
				t.Errorf("customers.list limit 1 = %s", e.Result.Data)
			}
			status, e := viewer.query("customers.get", map[string]any{"id": theirCus})
			wantError(t, "customers.get of another project's customer", status, e, 404, "NOT_FOUND", "")
			status, e = viewer.query("customers.get", map[string]any{})
			wantError(t, "customers.get without id", status, e, 400, "BAD_REQUEST", "id")

			var cd struct {
				Customer struct{ ID, Email string }
				Payments struct {
					Data []payment
				}
				Subscriptions struct {
					Data []struct {
						ID, Status string
						Amount     int64
					}
				}
				Invoices struct {
					Data []struct {
						ID, Number, Status, HostedInvoiceURL, InvoicePdf string
						Total                                            int64
					}
				}
			}
			_, e = viewer.query("customers.get", map[string]any{"id": ada})
			e.data(t, &cd)
			if cd.Customer.Email != "ada@example.com" || len(cd.Subscriptions.Data) != 1 || cd.Subscriptions.Data[0].ID != sub ||
				cd.Subscriptions.Data[0].Amount != 1000 || len(cd.Invoices.Data) != 1 || len(cd.Payments.Data) != 2 ||
				!slices.Contains(ids(cd.Payments.Data), p) {
				t.Fatalf("customers.get = %s", e.Result.Data)
			}
			inv := cd.Invoices.Data[0]
			if inv.Status != "paid" || inv.Total != 1000 || inv.Number == "" || !strings.HasPrefix(inv.HostedInvoiceURL, srv.URL+"/invoices/") ||
				inv.InvoicePdf != inv.HostedInvoiceURL+"/pdf" {
				t.Errorf("invoice = %+v", inv)
			}

			// invoices.list, with its filters.
			var il struct {
				Data []struct{ ID, Status, InvoicePdf string }
			}
			_, e = viewer.query("invoices.list", map[string]any{"status": "paid", "customer": ada})
			e.data(t, &il)
			if len(il.Data) != 1 || il.Data[0].ID != inv.ID || il.Data[0].InvoicePdf == "" {
				t.Errorf("invoices.list paid = %s", e.Result.Data)
			}
			_, e = viewer.query("invoices.list", map[string]any{"status": "open"})
			e.data(t, &il)
			if len(il.Data) != 0 {
				t.Errorf("invoices.list open = %s", e.Result.Data)
			}
			status, e = viewer.query("invoices.list", map[string]any{"status": "unpaid"})
			wantError(t, "invoices.list bad status", status, e, 400, "BAD_REQUEST", "status")
			status, e = viewer.query("subscriptions.list", map[string]any{"status": "gone"})
			wantError(t, "subscriptions.list bad status", status, e, 400, "BAD_REQUEST", "status")

			// Cancelling: refused to a viewer and a developer, nothing changes.
			for _, c := range []*client{viewer, dev} {
				status, e := c.mutate("subscriptions.cancel", map[string]any{"id": sub, "idempotencyKey": "cancel-x"})
				wantError(t, "subscriptions.cancel by a non-admin", status, e, 403, "FORBIDDEN", "")
			}
			status, e = admin.mutate("subscriptions.cancel", map[string]any{"id": sub})
			wantError(t, "subscriptions.cancel without a key", status, e, 400, "BAD_REQUEST", "idempotencyKey")
			status, e = admin.mutate("subscriptions.cancel", map[string]any{"id": sub, "atPeriodEnd": "yes", "idempotencyKey": "c-0"})
			wantError(t, "subscriptions.cancel with atPeriodEnd a string", status, e, 400, "BAD_REQUEST", "atPeriodEnd")
			if s := v1OK(t, srv, "GET", "/v1/subscriptions/"+sub, nil); s["status"] != "active" || s["cancel_at_period_end"] != false {
				t.Fatalf("a refused cancellation changed the subscription: %v", s)
			}

			type subView struct {
				ID, Status        string
				CancelAtPeriodEnd bool
			}
			var sv subView
			status, e = admin.mutate("subscriptions.cancel", map[string]any{"id": sub, "atPeriodEnd": true, "idempotencyKey": "c-1"})
			e.data(t, &sv)
			if status != 200 || sv.Status != "active" || !sv.CancelAtPeriodEnd {
				t.Errorf("cancel at period end = %d %+v", status, sv)
			}
			for range 2 {
				status, e = admin.mutate("subscriptions.cancel", map[string]any{"id": sub, "idempotencyKey": "c-2"})
				e.data(t, &sv)
				if status != 200 || sv.Status != "canceled" {
					t.Errorf("cancel now = %d %+v", status, sv)
				}
			}
			if n := auditCount(t, srv, "subscription.canceled"); n != 2 {
				t.Errorf("subscription.canceled audit lines: %d; want 2 (at period end, then now once)", n)
			}
			ev := v1OK(t, srv, "GET", "/v1/events?type=customer.subscription.deleted", nil)
			if n := len(ev["data"].([]any)); n != 1 {
				t.Errorf("customer.subscription.deleted events: %d; want 1", n)
			}
			// Cancelling a canceled subscription (another key) names the id.
			status, e = admin.mutate("subscriptions.cancel", map[string]any{"id": sub, "idempotencyKey": "c-3"})
			wantError(t, "cancel a canceled subscription", status, e, 400, "BAD_REQUEST", "id")
			status, e = admin.mutate("subscriptions.cancel", map[string]any{"id": "sub_nope", "idempotencyKey": "c-4"})
			wantError(t, "cancel an unknown subscription", status, e, 404, "NOT_FOUND", "")

			var sl struct {
				Data []subView
			}
			_, e = viewer.query("subscriptions.list", map[string]any{"status": "canceled", "customer": ada})
			e.data(t, &sl)
			if len(sl.Data) != 1 || sl.Data[0].ID != sub {
				t.Errorf("subscriptions.list canceled = %s", e.Result.Data)
			}
			_, e = viewer.query("subscriptions.list", map[string]any{"status": "active"})
			e.data(t, &sl)
			if len(sl.Data) != 0 {
				t.Errorf("subscriptions.list active = %s", e.Result.Data)
			}
		})
	}
}
