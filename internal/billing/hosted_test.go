package billing_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// The hosted invoice page's payments, below HTTP: the shopper's side is
// driven on the sandbox's hosted page in memory, and the gateway's results
// (the browser's copy and the server-to-server one) are handed to
// payments.Service.CompleteHostedPayment as the callback route would.

var (
	sandboxSessionRE = regexp.MustCompile(`name="session" value="([^"]*)"`)
	hiddenFieldRE    = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// hostedResult is one hosted payment attempt's signed result, not yet
// delivered: the fields the shopper's browser posts back, and the
// gateway's server-to-server copy.
type hostedResult struct {
	cs       *pay.CheckoutSession
	browser  url.Values
	s2s      url.Values
	approved bool
}

// shopper presses Pay on the invoice's page (StartHostedPayment) and, on
// the sandbox's hosted page, types number and presses op ("pay" or
// "cancel"). Nothing reaches the server yet.
func (e *invEnv) shopper(t *testing.T, inv *pay.Invoice, number, op string) hostedResult {
	t.Helper()
	cs, err := e.bill.StartHostedPayment(context.Background(), e.scope, inv.ID)
	if err != nil {
		t.Fatalf("start hosted payment: %v", err)
	}
	return e.attempt(t, cs, number, op)
}

// attempt makes one attempt at paying cs on the sandbox's hosted page.
func (e *invEnv) attempt(t *testing.T, cs *pay.CheckoutSession, number, op string) hostedResult {
	t.Helper()
	form, err := e.pay.HostedForm(cs)
	if err != nil {
		t.Fatal(err)
	}
	fields := url.Values{}
	for _, f := range form.Fields {
		fields.Add(f.Name, f.Value)
	}
	page := e.sandboxPost(t, form.URL, fields)
	m := sandboxSessionRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no card form:\n%s", page)
	}
	card := url.Values{"session": {m[1]}, "cardNumber": {number}, "cardExpiryMonth": {"12"},
		"cardExpiryYear": {fmt.Sprint(time.Now().Year()%100 + 2)}, "cardCVV": {"123"}, "op": {op}}
	page = e.sandboxPost(t, form.URL+"submit", card)
	res := hostedResult{cs: cs, browser: url.Values{}}
	for _, f := range hiddenFieldRE.FindAllStringSubmatch(page, -1) {
		res.browser.Add(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	if res.browser.Get("signature") == "" {
		t.Fatalf("no signed result:\n%s", page)
	}
	s2s, ok := e.s2s.Load(res.browser.Get("transactionUnique"))
	if !ok {
		t.Fatal("the sandbox made no server-to-server callback")
	}
	res.s2s, res.approved = s2s.(url.Values), res.browser.Get("responseCode") == "0"
	return res
}

// sandboxPost posts a form to the sandbox's pages, as a browser.
func (e *invEnv) sandboxPost(t *testing.T, target string, form url.Values) string {
	t.Helper()
	r := httptest.NewRequest("POST", target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	e.sbx.Pages().ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("sandbox %s: %d %s", target, w.Code, w.Body)
	}
	return w.Body.String()
}

// deliver hands a result to the callback, as its route does: the browser's
// copy, or the gateway's (s2s).
func (e *invEnv) deliver(res hostedResult, fields url.Values, s2s bool) (string, error) {
	target := "http://calmony.test" + payments.CheckoutCallbackPath + "?session_id=" + url.QueryEscape(res.cs.ID)
	if s2s {
		target += "&channel=callback"
	}
	r := httptest.NewRequest("POST", target, strings.NewReader(fields.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	cs, err := e.db.FindCheckoutSessionByID(context.Background(), res.cs.ID)
	if err != nil {
		return "", err
	}
	return e.pay.CompleteHostedPayment(context.Background(), r, cs)
}

// both delivers both copies of a result, the gateway's first (the
// sandbox posts it before redirecting the browser), and checks they send
// the shopper to the same place.
func (e *invEnv) both(t *testing.T, res hostedResult) string {
	t.Helper()
	first, err := e.deliver(res, res.s2s, true)
	if err != nil {
		t.Fatalf("server-to-server callback: %v", err)
	}
	again, err := e.deliver(res, res.browser, false)
	if err != nil {
		t.Fatalf("browser callback: %v", err)
	}
	if first != again {
		t.Errorf("the two copies of one result sent the shopper to %q and %q", first, again)
	}
	return first
}

// hostedInvoice is an open invoice of £12.00 (10.00 + 20 % VAT) for a new
// customer with no card.
func (e *invEnv) hostedInvoice(t *testing.T) *pay.Invoice {
	t.Helper()
	vat := e.rate(t, 20*pay.PercentUnit, false)
	return e.finalize(t, e.draft(t, e.customer(t, ""), billing.InvoiceParams{}, item(1000, 1, vat)).ID)
}

func (e *invEnv) invoice(t *testing.T, id string) *pay.Invoice {
	t.Helper()
	inv, err := e.db.FindInvoice(context.Background(), e.scope, id)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// counts counts the scope's events by type.
func (e *invEnv) counts(t *testing.T) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, ev := range e.events(t, "") {
		n[ev.Type]++
	}
	return n
}

// written summarises what the store holds: payment intents, charges,
// refunds, invoices' payments, sessions and events.
func (e *invEnv) written(t *testing.T) string {
	t.Helper()
	ctx, page := context.Background(), pay.Page{Limit: 100}
	pis, err1 := e.db.FindPaymentIntents(ctx, e.scope, store.PaymentIntentFilter{}, page)
	chs, err2 := e.db.FindCharges(ctx, e.scope, store.ChargeFilter{}, page)
	res, err3 := e.db.FindRefunds(ctx, e.scope, store.RefundFilter{}, page)
	invs, err4 := e.db.FindInvoices(ctx, e.scope, store.InvoiceFilter{}, page)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		t.Fatal(err)
	}
	var inv []string
	for _, i := range invs.Data {
		inv = append(inv, fmt.Sprintf("%s %s paid %d attempts %d payments %d", i.ID, i.Status, i.AmountPaid, i.AttemptCount, len(i.Payments)))
	}
	return fmt.Sprintf("%d intents, %d charges, %d refunds, %d events, invoices %v", len(pis.Data), len(chs.Data), len(res.Data),
		len(e.events(t, "")), inv)
}

// TestHostedInvoicePayment: the invoice's customer pays it with Stripe's
// test card on the gateway's hosted page; both copies of the result are
// recorded once, in the transaction that pays the invoice.
func TestHostedInvoicePayment(t *testing.T) {
	t.Parallel()
	invDBs(t, func(t *testing.T, e *invEnv) {
		inv := e.hostedInvoice(t)
		if inv.AmountRemaining != 1200 || !inv.PayableOnline() {
			t.Fatalf("invoice %+v", inv)
		}
		before := e.counts(t)
		res := e.shopper(t, inv, "4242424242424242", "pay")
		if !res.approved || res.cs.Invoice != inv.ID || res.cs.AmountTotal != 1200 {
			t.Fatalf("attempt: %v, session %+v", res.browser, res.cs)
		}
		page := pay.InvoicePageURL(inv, "http://calmony.test")
		if where := e.both(t, res); where != page+"?payment=paid" {
			t.Errorf("paid: shopper sent to %q", where)
		}
		got := e.invoice(t, inv.ID)
		if got.Status != pay.InvoiceStatusPaid || got.AmountPaid != 1200 || got.AmountRemaining != 0 || got.AttemptCount != 1 ||
			!got.Attempted || got.PaidAt == 0 || len(got.Payments) != 1 {
			t.Fatalf("invoice after payment: %+v", got)
		}
		ip := got.Payments[0]
		pi, err := e.db.FindPaymentIntent(context.Background(), e.scope, ip.PaymentIntent)
		if err != nil || ip.Status != "paid" || ip.AmountPaid != 1200 || pi.Status != pay.StatusSucceeded || pi.AmountReceived != 1200 ||
			pi.Customer != inv.Customer || pi.Metadata["invoice"] != inv.ID || pi.Description != "Invoice "+inv.Number {
			t.Fatalf("invoice payment %+v, intent %+v, %v", ip, pi, err)
		}
		pm, err := e.db.FindPaymentMethod(context.Background(), e.scope, pi.PaymentMethod)
		if err != nil || pm.Card.Last4 != "4242" || pm.Card.Brand != "visa" || pm.Customer != "" {
			t.Errorf("payment method %+v, %v (Stripe's card shown, not saved to the customer)", pm, err)
		}
		after := e.counts(t)
		for typ, want := range map[string]int{"invoice.paid": 1, "invoice.payment_succeeded": 1, "invoice.updated": 1,
			"payment_intent.succeeded": 1, "checkout.session.completed": 0, "payment_method.attached": 0} {
			if n := after[typ] - before[typ]; n != want {
				t.Errorf("%d %s events, want %d", n, typ, want)
			}
		}
		if e.gw.sales.Load() != 0 {
			t.Errorf("%d Direct sales: the hosted page charged the card", e.gw.sales.Load())
		}
		// Replayed again, later: nothing changes.
		w := e.written(t)
		if where := e.both(t, res); where != page+"?payment=paid" {
			t.Errorf("replay: shopper sent to %q", where)
		}
		if again := e.written(t); again != w {
			t.Errorf("a replay wrote:\n%s\nwas\n%s", again, w)
		}
		// Nothing is left to pay: no new payment can start.
		if _, err := e.bill.StartHostedPayment(context.Background(), e.scope, inv.ID); !errors.Is(err, billing.ErrInvoiceNotPayable) {
			t.Errorf("start on a paid invoice: %v", err)
		}
		// The invoice's session is internal: the API's finders never show it.
		if _, err := e.db.FindCheckoutSession(context.Background(), e.scope, res.cs.ID); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("internal session found: %v", err)
		}
		if l, err := e.db.FindCheckoutSessions(context.Background(), e.scope, "", pay.Page{Limit: 10}); err != nil || len(l.Data) != 0 {
			t.Errorf("sessions listed: %d, %v", len(l.Data), err)
		}
	})
}

// TestHostedInvoiceDeclined: a declined card leaves the invoice open with
// invoice.payment_failed once per attempt (whichever copies arrive), and
// attempt_count 1 for the first; a cancel on the gateway's page counts
// nothing; another card then pays it.
func TestHostedInvoiceDeclined(t *testing.T) {
	t.Parallel()
	invDBs(t, func(t *testing.T, e *invEnv) {
		inv := e.hostedInvoice(t)
		page := pay.InvoicePageURL(inv, "http://calmony.test")
		res := e.shopper(t, inv, "4000000000000002", "pay")
		if res.approved || res.browser.Get("responseCode") != "5" {
			t.Fatalf("decline card: %v", res.browser)
		}
		if where := e.both(t, res); where != page+"?payment=declined" {
			t.Errorf("declined: shopper sent to %q", where)
		}
		if where, err := e.deliver(res, res.browser, false); err != nil || where != page+"?payment=declined" {
			t.Errorf("third copy: %q %v", where, err)
		}
		got := e.invoice(t, inv.ID)
		if got.Status != pay.InvoiceStatusOpen || got.AttemptCount != 1 || !got.Attempted || got.LastFailure != "card_declined" || len(got.Payments) != 0 {
			t.Fatalf("after a decline: %+v", got)
		}
		if n := len(e.events(t, "invoice.payment_failed")); n != 1 {
			t.Errorf("%d invoice.payment_failed, want 1", n)
		}
		// A second decline is reported, but counts no second attempt: as
		// Stripe's manual attempts, it does not advance the retry schedule.
		if where := e.both(t, e.shopper(t, inv, "4000000000000002", "pay")); where != page+"?payment=declined" {
			t.Errorf("declined again: shopper sent to %q", where)
		}
		if got := e.invoice(t, inv.ID); got.AttemptCount != 1 {
			t.Errorf("a second decline counted: attempt_count %d", got.AttemptCount)
		}
		if n := len(e.events(t, "invoice.payment_failed")); n != 2 {
			t.Errorf("%d invoice.payment_failed after two declines, want 2", n)
		}
		if where := e.both(t, e.shopper(t, inv, "", "cancel")); where != page+"?payment=cancelled" {
			t.Errorf("cancelled: shopper sent to %q", where)
		}
		if got := e.invoice(t, inv.ID); got.AttemptCount != 1 {
			t.Errorf("a cancel counted: attempt_count %d", got.AttemptCount)
		}
		if where := e.both(t, e.shopper(t, inv, "5555555555554444", "pay")); where != page+"?payment=paid" {
			t.Errorf("paid: shopper sent to %q", where)
		}
		if got := e.invoice(t, inv.ID); got.Status != pay.InvoiceStatusPaid || got.AttemptCount != 2 || len(got.Payments) != 1 {
			t.Errorf("paid after a decline: %+v", got)
		}
		if n := len(e.events(t, "invoice.payment_failed")); n != 2 {
			t.Errorf("%d invoice.payment_failed after paying, want 2", n)
		}
	})
}

// TestHostedInvoiceCallbackRejected: SEC-05's rules hold for invoices'
// sessions: a result whose signature is missing or wrong, or that is not
// an attempt this server made for the session, changes nothing.
func TestHostedInvoiceCallbackRejected(t *testing.T) {
	t.Parallel()
	invDBs(t, func(t *testing.T, e *invEnv) {
		inv := e.hostedInvoice(t)
		res := e.shopper(t, inv, "4242424242424242", "pay")
		other := e.shopper(t, e.hostedInvoice(t), "4242424242424242", "pay")
		w := e.written(t)
		forged := func(change func(v url.Values)) url.Values {
			v := url.Values{}
			for k, vs := range res.browser {
				v[k] = slices.Clone(vs)
			}
			change(v)
			return v
		}
		for name, fields := range map[string]url.Values{
			"no signature":      forged(func(v url.Values) { v.Del("signature") }),
			"empty signature":   forged(func(v url.Values) { v.Set("signature", "") }),
			"wrong signature":   forged(func(v url.Values) { v.Set("signature", strings.Repeat("0", 128)) }),
			"amount changed":    forged(func(v url.Values) { v.Set("amount", "1") }),
			"declined to paid":  forged(func(v url.Values) { v.Set("responseCode", "0"); v.Set("xref", "forged") }),
			"another's attempt": other.browser,
		} {
			for _, s2s := range []bool{false, true} {
				if where, err := e.deliver(res, fields, s2s); !errors.Is(err, payments.ErrCallbackRejected) {
					t.Errorf("%s (s2s %v): %q, %v; want rejected", name, s2s, where, err)
				}
			}
		}
		// A server whose billing set no hooks refuses even a genuine result
		// rather than record the payment without its invoice.
		unhooked := payments.New(payments.Config{DB: e.db, Keys: e.db.Keys(), Gateways: payments.Gateways{Test: e.gw},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PublicURL: "http://calmony.test"})
		r := httptest.NewRequest("POST", "http://calmony.test"+payments.CheckoutCallbackPath+"?session_id="+res.cs.ID, strings.NewReader(res.browser.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if where, err := unhooked.CompleteHostedPayment(context.Background(), r, res.cs); err == nil {
			t.Errorf("no invoice hooks: %q, want an error", where)
		}
		if got := e.written(t); got != w {
			t.Errorf("rejected callbacks wrote:\n%s\nwas\n%s", got, w)
		}
		if got := e.invoice(t, inv.ID); got.Status != pay.InvoiceStatusOpen {
			t.Errorf("invoice %s after forged callbacks", got.Status)
		}
		// The genuine result is still taken.
		e.both(t, res)
		if got := e.invoice(t, inv.ID); got.Status != pay.InvoiceStatusPaid {
			t.Errorf("genuine result after forgeries: %s", got.Status)
		}
	})
}

// refundedAtOnce checks that a hosted payment the invoice could not take
// was refunded in full, once, and not added to the invoice.
func (e *invEnv) refundedAtOnce(t *testing.T, res hostedResult, where string) {
	t.Helper()
	if want := pay.InvoicePageURL(e.invoice(t, res.cs.Invoice), "http://calmony.test") + "?payment=refunded"; where != want {
		t.Errorf("shopper sent to %q, want %q", where, want)
	}
	refunds, err := e.db.FindRefunds(context.Background(), e.scope, store.RefundFilter{}, pay.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(refunds.Data) != 1 {
		t.Fatalf("%d refunds, want 1", len(refunds.Data))
	}
	re := refunds.Data[0]
	ch, err := e.db.FindCharge(context.Background(), e.scope, re.Charge)
	if err != nil {
		t.Fatal(err)
	}
	if re.Status != pay.RefundSucceeded || re.Amount != 1200 || re.Reason != "duplicate" || re.Metadata["invoice"] != res.cs.Invoice ||
		re.Metadata["calmony_refund_reason"] == "" || ch.AmountRefunded != 1200 || ch.AmountCaptured != 1200 {
		t.Errorf("refund %+v of charge %+v", re, ch)
	}
	for _, ip := range e.invoice(t, res.cs.Invoice).Payments {
		if ip.PaymentIntent == re.PaymentIntent {
			t.Errorf("the refunded payment is on the invoice: %+v", ip)
		}
	}
	for _, typ := range []string{"refund.created", "charge.refunded"} {
		if n := len(e.events(t, typ)); n != 1 {
			t.Errorf("%d %s events, want 1", n, typ)
		}
	}
}

// TestHostedInvoicePaidElsewhere: while the shopper is on the gateway's
// page, the invoice is paid out of band; the hosted payment that then
// arrives is refunded at once, once, whichever copies arrive.
func TestHostedInvoicePaidElsewhere(t *testing.T) {
	t.Parallel()
	invDBs(t, func(t *testing.T, e *invEnv) {
		inv := e.hostedInvoice(t)
		res := e.shopper(t, inv, "4242424242424242", "pay")
		ok[*pay.Invoice](t, "pay out of band")(e.bill.PayInvoice(context.Background(), e.plain(), inv.ID, billing.PayParams{PaidOutOfBand: true}))
		e.refundedAtOnce(t, res, e.both(t, res))
		if got := e.invoice(t, inv.ID); got.Status != pay.InvoiceStatusPaid || got.AmountPaid != 1200 || len(got.Payments) != 1 ||
			got.Payments[0].PaymentIntent != "" {
			t.Errorf("invoice %+v", got)
		}
		if n := e.gw.refunds.Load(); n != 1 {
			t.Errorf("%d refunds sent, want 1", n)
		}
		// A later replay neither refunds again nor pays the invoice.
		w := e.written(t)
		e.both(t, res)
		if got := e.written(t); got != w || e.gw.refunds.Load() != 1 {
			t.Errorf("a replay wrote:\n%s\nwas\n%s", got, w)
		}
	})
}

// TestHostedInvoiceVoidedMeanwhile: a payment arriving for a voided
// invoice is refunded, even if the process stops between recording it and
// sending the refund: the reconciler sends it.
func TestHostedInvoiceVoidedMeanwhile(t *testing.T) {
	t.Parallel()
	invDBs(t, func(t *testing.T, e *invEnv) {
		inv := e.hostedInvoice(t)
		res := e.shopper(t, inv, "4242424242424242", "pay")
		ok[*pay.Invoice](t, "void")(e.bill.VoidInvoice(context.Background(), e.plain(), inv.ID))
		e.payCrash.Store("refund-recorded")
		if _, err := e.deliver(res, res.s2s, true); !errors.Is(err, payments.ErrCrashed) {
			t.Fatalf("crash after recording: %v", err)
		}
		if n := e.gw.refunds.Load(); n != 0 {
			t.Fatalf("%d refunds sent before the crash point", n)
		}
		// The browser's copy finds it recorded and sends nothing itself.
		if _, err := e.deliver(res, res.browser, false); err != nil {
			t.Fatal(err)
		}
		if err := e.pay.Reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.refundedAtOnce(t, res, pay.InvoicePageURL(inv, "http://calmony.test")+"?payment=refunded")
		if got := e.invoice(t, inv.ID); got.Status != pay.InvoiceStatusVoid || got.AmountPaid != 0 || len(got.Payments) != 0 {
			t.Errorf("voided invoice %+v", got)
		}
	})
}

// TestHostedInvoiceChargeInFlight: an invoice whose card charge (the API's
// pay, the scheduler's) has no outcome yet starts no hosted payment, and a
// hosted payment arriving meanwhile is refunded: the charge, which began
// first, decides.
func TestHostedInvoiceChargeInFlight(t *testing.T) {
	t.Parallel()
	invDBs(t, func(t *testing.T, e *invEnv) {
		vat := e.rate(t, 20*pay.PercentUnit, false)
		inv := e.finalize(t, e.draft(t, e.customer(t, "pm_card_visa"), billing.InvoiceParams{}, item(1000, 1, vat)).ID)
		res := e.shopper(t, inv, "4242424242424242", "pay")
		e.crash.Store("attempt-recorded")
		if _, err := e.bill.PayInvoice(context.Background(), e.plain(), inv.ID, billing.PayParams{}); !errors.Is(err, payments.ErrCrashed) {
			t.Fatalf("pay crashing after its attempt is recorded: %v", err)
		}
		if _, err := e.bill.StartHostedPayment(context.Background(), e.scope, inv.ID); !errors.Is(err, billing.ErrInvoicePaymentInFlight) {
			t.Errorf("start with a charge in flight: %v", err)
		}
		e.refundedAtOnce(t, res, e.both(t, res))
		// The charge, resumed, pays the invoice.
		paid := ok[*pay.Invoice](t, "pay resumed")(e.bill.PayInvoice(context.Background(), e.plain(), inv.ID, billing.PayParams{}))
		if paid.Status != pay.InvoiceStatusPaid || len(paid.Payments) != 1 || e.gw.sales.Load() != 1 {
			t.Errorf("resumed charge: %+v, %d sales", paid, e.gw.sales.Load())
		}
	})
}

// TestHostedInvoiceTwoTabs: two tabs pay the same invoice at once; one
// payment pays it and the other is refunded, whatever order their copies
// arrive in.
func TestHostedInvoiceTwoTabs(t *testing.T) {
	t.Parallel()
	invDBs(t, func(t *testing.T, e *invEnv) {
		inv := e.hostedInvoice(t)
		a, b := e.shopper(t, inv, "4242424242424242", "pay"), e.shopper(t, inv, "5555555555554444", "pay")
		if a.cs.ID != b.cs.ID {
			t.Errorf("two presses of Pay made two sessions: %s, %s", a.cs.ID, b.cs.ID)
		}
		var wg sync.WaitGroup
		where := make([]string, 4)
		for i, d := range []struct {
			res    hostedResult
			fields url.Values
			s2s    bool
		}{{a, a.s2s, true}, {b, b.s2s, true}, {a, a.browser, false}, {b, b.browser, false}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				if where[i], err = e.deliver(d.res, d.fields, d.s2s); err != nil {
					t.Errorf("deliver %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		got := e.invoice(t, inv.ID)
		if got.Status != pay.InvoiceStatusPaid || got.AmountPaid != 1200 || len(got.Payments) != 1 {
			t.Fatalf("invoice %+v", got)
		}
		if where[0] != where[2] || where[1] != where[3] || where[0] == where[1] {
			t.Errorf("shoppers sent to %q", where)
		}
		refunded := a
		if strings.HasSuffix(where[0], "?payment=paid") {
			refunded = b
		}
		e.refundedAtOnce(t, refunded, pay.InvoicePageURL(inv, "http://calmony.test")+"?payment=refunded")
		pis, err := e.db.FindPaymentIntents(context.Background(), e.scope, store.PaymentIntentFilter{}, pay.Page{Limit: 10})
		if err != nil || len(pis.Data) != 2 {
			t.Errorf("%d payment intents, want 2: %v", len(pis.Data), err)
		}
	})
}
