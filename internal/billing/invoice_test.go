package billing_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/cardstream/sandbox"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// salesGateway passes every call to the sandbox and counts the sales and
// refunds; while failRefunds is set, refunds fail as an unreachable gateway
// would.
type salesGateway struct {
	payments.Gateway
	sales, refunds atomic.Int64
	failRefunds    atomic.Bool
}

func (g *salesGateway) Sale(ctx context.Context, req cardstream.SaleRequest) (*cardstream.Result, error) {
	g.sales.Add(1)
	return g.Gateway.Sale(ctx, req)
}

func (g *salesGateway) Refund(ctx context.Context, req cardstream.RefundRequest) (*cardstream.RefundResult, error) {
	if g.failRefunds.Load() {
		return nil, &url.Error{Op: "Post", URL: "https://gateway.example/direct/", Err: errors.New("connection refused")}
	}
	g.refunds.Add(1)
	return g.Gateway.Refund(ctx, req)
}

// invEnv is a billing.Service charging the sandbox, with no HTTP: the
// sandbox's hosted page is driven in memory (shopper), and the callbacks it
// posts server-to-server are caught (s2s, by transactionUnique).
type invEnv struct {
	db    *store.DB
	pay   *payments.Service
	bill  *billing.Service
	gw    *salesGateway
	sbx   *sandbox.Sandbox
	s2s   sync.Map // transactionUnique → the callback's body, url.Values
	scope pay.Scope
	crash atomic.Value // string: the billing crash point armed, once
	// payCrash is the payments crash point armed, once.
	payCrash atomic.Value
	// skew moves billing's wall clock (its "now" and its claims' leases)
	// forward, in nanoseconds.
	skew atomic.Int64
}

// catchCallbacks is a transport that keeps the sandbox's server-to-server
// callbacks instead of sending them.
type catchCallbacks struct{ e *invEnv }

func (c catchCallbacks) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	v, _ := url.ParseQuery(string(body))
	c.e.s2s.Store(v.Get("transactionUnique"), v)
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("OK")), Header: http.Header{}, Request: r}, nil
}

func newInvEnv(t *testing.T, postgres bool) *invEnv {
	t.Helper()
	return newInvEnvOn(t, storetest.OpenWithClock(t, postgres, nil))
}

// newInvEnvOn is newInvEnv on the store db.
func newInvEnvOn(t testing.TB, db *store.DB) *invEnv {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	noEnv := func(string) string { return "" }
	e := &invEnv{db: db, scope: storetest.Project(t, db)}
	test, err := sandbox.Setup(noEnv, sandbox.SetupOptions{CallbackURL: "http://calmony.test" + payments.CheckoutCallbackPath,
		SandboxURL: "http://sandbox.calmony.test", Logger: log, StandIn: payments.HostedStandIn,
		CallbackClient: &http.Client{Transport: catchCallbacks{e}}})
	if err != nil {
		t.Fatal(err)
	}
	gws, err := payments.Configure(noEnv, payments.Options{Test: test.Client, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	e.gw, e.sbx = &salesGateway{Gateway: gws.Test}, test.Sandbox
	e.crash.Store("")
	e.payCrash.Store("")
	e.pay = payments.New(payments.Config{DB: db, Keys: db.Keys(), Gateways: payments.Gateways{Test: e.gw}, Logger: log,
		PublicURL: "http://calmony.test", Crash: func(point string) bool { return e.payCrash.CompareAndSwap(point, "") }})
	e.bill = e.billing(log)
	e.pay.SetInvoiceHooks(e.bill)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		e.pay.Drain(ctx)
	})
	return e
}

// billing returns another billing.Service on e's database and payments
// service, as a second instance would run.
func (e *invEnv) billing(log *slog.Logger) *billing.Service {
	return billing.New(billing.Config{DB: e.db, Payments: e.pay, Logger: log,
		Now:   func() time.Time { return time.Now().Add(time.Duration(e.skew.Load())) },
		Crash: func(point string) bool { return e.crash.CompareAndSwap(point, "") }})
}

func (e *invEnv) plain() payments.Call { return payments.Plain(e.scope) }

// events returns the scope's events of type typ ("" for all).
func (e *invEnv) events(t *testing.T, typ string) []*pay.Event {
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

// customer makes a customer whose default payment method is card (a Stripe
// test payment method ID), or none if card is "".
func (e *invEnv) customer(t *testing.T, card string) string {
	t.Helper()
	ctx := context.Background()
	a, err := e.pay.CreateCustomer(ctx, e.plain(), pay.CustomerUpdate{Name: ptr("Ada")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cus := a.Object.(*pay.Customer)
	if card == "" {
		return cus.ID
	}
	a, err = e.pay.AttachPaymentMethod(ctx, e.plain(), card, cus.ID)
	if err != nil {
		t.Fatal(err)
	}
	pm := a.Object.(*pay.PaymentMethod)
	if _, err := e.pay.UpdateCustomer(ctx, e.plain(), cus.ID, pay.CustomerUpdate{DefaultPaymentMethod: &pm.ID}); err != nil {
		t.Fatal(err)
	}
	return cus.ID
}

func ptr[T any](v T) *T { return &v }

func (e *invEnv) rate(t *testing.T, percent pay.Percent, inclusive bool) string {
	t.Helper()
	a, err := e.bill.CreateTaxRate(context.Background(), e.plain(), billing.TaxRateParams{Percentage: percent, Inclusive: inclusive,
		Fields: pay.TaxRateUpdate{DisplayName: ptr("VAT")}})
	if err != nil {
		t.Fatal(err)
	}
	return a.Object.(*pay.TaxRate).ID
}

// draft makes a draft invoice for cus with one item per amount.
func (e *invEnv) draft(t *testing.T, cus string, p billing.InvoiceParams, items ...billing.ItemParams) *pay.Invoice {
	t.Helper()
	ctx := context.Background()
	p.Customer = cus
	inv := ok[*pay.Invoice](t, "create invoice")(e.bill.CreateInvoice(ctx, e.plain(), p))
	for _, ip := range items {
		ip.Customer, ip.Invoice = cus, inv.ID
		if ip.Currency == nil {
			ip.Currency = ptr("gbp")
		}
		ok[*pay.InvoiceItem](t, "create item")(e.bill.CreateInvoiceItem(ctx, e.plain(), ip))
	}
	inv, err := e.db.FindInvoice(ctx, e.scope, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func item(amount, qty int64, rates ...string) billing.ItemParams {
	ip := billing.ItemParams{Amount: &amount, Quantity: &qty}
	if len(rates) > 0 {
		ip.TaxRates = &rates
	}
	return ip
}

func (e *invEnv) finalize(t *testing.T, id string) *pay.Invoice {
	t.Helper()
	return ok[*pay.Invoice](t, "finalize")(e.bill.FinalizeInvoice(context.Background(), e.plain(), id, nil))
}

func invDBs(t *testing.T, fn func(t *testing.T, e *invEnv)) {
	storetest.Dialects(t, func(t *testing.T, postgres bool) { fn(t, newInvEnv(t, postgres)) })
}

func TestInvoiceTotals(t *testing.T) {
	t.Parallel()
	invDBs(t, func(t *testing.T, e *invEnv) {
		cus := e.customer(t, "")
		vat20 := e.rate(t, 20*pay.PercentUnit, false)
		incl20 := e.rate(t, 20*pay.PercentUnit, true)
		vat5 := e.rate(t, 5*pay.PercentUnit, false)
		zero := e.rate(t, 0, false)
		// 3 × 9.99 at 20 % exclusive: 29.97 + 5.99 (5.994).
		// 12.00 at 20 % inclusive: 2.00 of it is VAT.
		// 10.00 at 20 % and 5 % exclusive: + 2.00 + 0.50.
		// 7.00 with no rate of its own: the default, 5 %: + 0.35.
		// 4.00 zero-rated.
		inv := e.draft(t, cus, billing.InvoiceParams{DefaultTaxRates: &[]string{vat5}},
			item(999, 3, vat20), item(1200, 1, incl20), item(1000, 1, vat20, vat5), item(700, 1), item(400, 1, zero))
		if inv.Subtotal != 2997+1200+1000+700+400 {
			t.Errorf("subtotal %d", inv.Subtotal)
		}
		wantTax := int64(599 + 200 + 200 + 50 + 35 + 0)
		if inv.Tax != wantTax || inv.Total != inv.Subtotal+wantTax-200 || inv.AmountDue != inv.Total || inv.AmountRemaining != inv.Total {
			t.Errorf("tax %d total %d due %d remaining %d", inv.Tax, inv.Total, inv.AmountDue, inv.AmountRemaining)
		}
		byRate := map[string]int64{}
		for _, tt := range inv.TotalTaxes() {
			byRate[tt.TaxRate] = tt.Amount
		}
		if byRate[vat20] != 799 || byRate[incl20] != 200 || byRate[vat5] != 85 || byRate[zero] != 0 {
			t.Errorf("total taxes by rate %v", byRate)
		}
		// Recomputed on a change while draft: drop the default rate.
		a, err := e.bill.UpdateInvoice(context.Background(), e.plain(), inv.ID, billing.InvoiceParams{DefaultTaxRates: &[]string{}})
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Object.(*pay.Invoice); got.Tax != wantTax-35 {
			t.Errorf("after dropping the default rate tax = %d", got.Tax)
		}
	})
}

// TestInvoiceNumbersUnderConcurrency: invoices are numbered per customer
// (PREFIX-0001, …, as Stripe's by default), concurrent finalisations of one
// customer's invoices never share a number, another customer's sequence is
// its own, and a customer whose prefix another's invoice has taken is
// given a new one.
func TestInvoiceNumbersUnderConcurrency(t *testing.T) {
	t.Parallel()
	invDBs(t, func(t *testing.T, e *invEnv) {
		ctx := context.Background()
		cus := e.customer(t, "")
		const n = 8
		ids := make([]string, n)
		for i := range ids {
			ids[i] = e.draft(t, cus, billing.InvoiceParams{}, item(100, 1)).ID
		}
		var wg sync.WaitGroup
		numbers := make([]string, n)
		errs := make([]error, n)
		for i, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a, err := e.bill.FinalizeInvoice(context.Background(), e.plain(), id, nil)
				if errs[i] = err; err == nil {
					numbers[i] = a.Object.(*pay.Invoice).Number
				}
			}()
		}
		wg.Wait()
		c, err := e.db.FindCustomer(ctx, e.scope, cus)
		if err != nil {
			t.Fatal(err)
		}
		prefix := c.NumberPrefix()
		seen := map[string]bool{}
		for i, num := range numbers {
			if errs[i] != nil {
				t.Fatalf("finalize %d: %v", i, errs[i])
			}
			if seen[num] || !strings.HasPrefix(num, prefix+"-") || len(prefix) != 8 {
				t.Errorf("number %q (duplicate: %v)", num, seen[num])
			}
			seen[num] = true
		}
		for i := 1; i <= n; i++ {
			if want := prefix + "-000" + string(rune('0'+i)); !seen[want] {
				t.Errorf("no invoice numbered %s: %v", want, numbers)
			}
		}
		var view struct {
			Prefix string `json:"invoice_prefix"`
			Next   int64  `json:"next_invoice_sequence"`
		}
		if b, err := json.Marshal(pay.CustomerView(c)); err != nil || json.Unmarshal(b, &view) != nil || view.Prefix != prefix || view.Next != n+1 {
			t.Errorf("customer shows invoice_prefix %s, next_invoice_sequence %d; want %s, %d", view.Prefix, view.Next, prefix, n+1)
		}

		// Another customer: a sequence of its own. Then one given the
		// first's prefix, whose number 1 is taken: a new prefix.
		other := e.customer(t, "")
		if got := e.finalize(t, e.draft(t, other, billing.InvoiceParams{}, item(100, 1)).ID).Number; strings.HasPrefix(got, prefix) || !strings.HasSuffix(got, "-0001") {
			t.Errorf("the other customer's first number %s", got)
		}
		third := e.customer(t, "")
		if err := e.db.Tx(ctx, func(tx *store.Tx) error { return tx.SetInvoicePrefix(ctx, e.scope, third, prefix) }); err != nil {
			t.Fatal(err)
		}
		got := e.finalize(t, e.draft(t, third, billing.InvoiceParams{}, item(100, 1)).ID).Number
		c3, _ := e.db.FindCustomer(ctx, e.scope, third)
		if got == prefix+"-0001" || got != c3.InvoicePrefix+"-0001" || c3.InvoicePrefix == prefix || len(c3.InvoicePrefix) != 8 {
			t.Errorf("a customer whose prefix was taken: number %s, prefix now %q", got, c3.InvoicePrefix)
		}
	})
}

func TestInvoicePay(t *testing.T) {
	t.Parallel()
	invDBs(t, func(t *testing.T, e *invEnv) {
		ctx := context.Background()
		cus := e.customer(t, "pm_card_visa")
		inv := e.finalize(t, e.draft(t, cus, billing.InvoiceParams{}, item(1500, 2)).ID)
		if inv.Status != pay.InvoiceStatusOpen || inv.Total != 3000 || inv.Token == "" {
			t.Fatalf("finalized %+v", inv)
		}
		paid := ok[*pay.Invoice](t, "pay")(e.bill.PayInvoice(ctx, e.plain(), inv.ID, billing.PayParams{}))
		if paid.Status != pay.InvoiceStatusPaid || paid.AmountPaid != 3000 || paid.AmountRemaining != 0 || paid.PaidAt == 0 ||
			len(paid.Payments) != 1 || paid.Payments[0].Status != "paid" || !strings.HasPrefix(paid.Payments[0].PaymentIntent, "pi_") ||
			paid.AttemptCount != 1 {
			t.Fatalf("paid %+v", paid)
		}
		if e.gw.sales.Load() != 1 {
			t.Errorf("%d sales, want 1", e.gw.sales.Load())
		}
		// Transitions from paid are refused, and write nothing.
		before := len(e.events(t, ""))
		for name, op := range map[string]func() (*payments.Answer, error){
			"pay": func() (*payments.Answer, error) {
				return e.bill.PayInvoice(ctx, e.plain(), inv.ID, billing.PayParams{})
			},
			"void": func() (*payments.Answer, error) { return e.bill.VoidInvoice(ctx, e.plain(), inv.ID) },
			"mark": func() (*payments.Answer, error) { return e.bill.MarkUncollectible(ctx, e.plain(), inv.ID) },
			"finalize": func() (*payments.Answer, error) {
				return e.bill.FinalizeInvoice(ctx, e.plain(), inv.ID, nil)
			},
			"delete": func() (*payments.Answer, error) { return e.bill.DeleteInvoice(ctx, e.plain(), inv.ID) },
		} {
			if _, err := op(); err == nil {
				t.Errorf("%s a paid invoice succeeded", name)
			} else if pe, isPay := pay.AsError(err); !isPay || pe.Status != 400 {
				t.Errorf("%s a paid invoice: %v", name, err)
			}
		}
		if after := len(e.events(t, "")); after != before || e.gw.sales.Load() != 1 {
			t.Errorf("refused transitions wrote %d events, %d sales", after-before, e.gw.sales.Load())
		}

		// Paid out of band: no sale.
		oob := e.finalize(t, e.draft(t, cus, billing.InvoiceParams{}, item(100, 1)).ID)
		got := ok[*pay.Invoice](t, "pay out of band")(e.bill.PayInvoice(ctx, e.plain(), oob.ID, billing.PayParams{PaidOutOfBand: true}))
		if got.Status != pay.InvoiceStatusPaid || got.AmountPaid != 100 || e.gw.sales.Load() != 1 {
			t.Errorf("out of band %+v, %d sales", got, e.gw.sales.Load())
		}
		// A zero invoice is paid at finalisation.
		if z := e.finalize(t, e.draft(t, cus, billing.InvoiceParams{}).ID); z.Status != pay.InvoiceStatusPaid {
			t.Errorf("zero invoice %s", z.Status)
		}
	})
}

func TestInvoicePayDecline(t *testing.T) {
	t.Parallel()
	invDBs(t, func(t *testing.T, e *invEnv) {
		ctx := context.Background()
		cus := e.customer(t, "pm_card_chargeCustomerFail")
		inv := e.finalize(t, e.draft(t, cus, billing.InvoiceParams{}, item(1000, 1)).ID)
		a, err := e.bill.PayInvoice(ctx, e.plain(), inv.ID, billing.PayParams{})
		if err != nil || a.Err == nil || a.Err.Status != 402 || a.Err.Type != pay.ErrorTypeCard || a.Status != 402 {
			t.Fatalf("declined pay: %+v, %v", a, err)
		}
		got, err := e.db.FindInvoice(ctx, e.scope, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != pay.InvoiceStatusOpen || got.AttemptCount != 1 || !got.Attempted || got.PayAttempt != 0 || got.Payments[0].Status != "canceled" {
			t.Errorf("after a decline %+v", got)
		}
		if len(e.events(t, "invoice.payment_failed")) != 1 {
			t.Error("no invoice.payment_failed event")
		}
	})
}

// TestInvoicePayCrashAndConcurrency: a crash after the attempt is recorded
// and before the charge, then a retry, then two concurrent pays: exactly one
// sale reaches the gateway.
func TestInvoicePayCrashAndConcurrency(t *testing.T) {
	t.Parallel()
	invDBs(t, func(t *testing.T, e *invEnv) {
		ctx := context.Background()
		cus := e.customer(t, "pm_card_visa")
		inv := e.finalize(t, e.draft(t, cus, billing.InvoiceParams{}, item(1000, 1)).ID)
		e.crash.Store("attempt-recorded")
		if _, err := e.bill.PayInvoice(ctx, e.plain(), inv.ID, billing.PayParams{}); !errors.Is(err, payments.ErrCrashed) {
			t.Fatalf("crash: %v", err)
		}
		if got, _ := e.db.FindInvoice(ctx, e.scope, inv.ID); got.PayAttempt != 1 || e.gw.sales.Load() != 0 {
			t.Fatalf("after the crash: attempt %d, %d sales", got.PayAttempt, e.gw.sales.Load())
		}
		var wg sync.WaitGroup
		answers := make([]*payments.Answer, 3)
		errs := make([]error, 3)
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i], errs[i] = e.bill.PayInvoice(ctx, e.plain(), inv.ID, billing.PayParams{})
			}()
		}
		wg.Wait()
		paid := 0
		for i := range answers {
			if errs[i] == nil && answers[i].Object != nil && answers[i].Object.(*pay.Invoice).Status == pay.InvoiceStatusPaid {
				paid++
			}
		}
		got, _ := e.db.FindInvoice(ctx, e.scope, inv.ID)
		if paid == 0 || got.Status != pay.InvoiceStatusPaid || got.AmountPaid != 1000 || len(got.Payments) != 1 {
			t.Errorf("answers %v %v; invoice %+v", answers, errs, got)
		}
		if n := e.gw.sales.Load(); n != 1 {
			t.Errorf("%d sales, want exactly 1", n)
		}
		if n := len(e.events(t, "invoice.paid")); n != 1 {
			t.Errorf("%d invoice.paid events, want 1", n)
		}
	})
}
