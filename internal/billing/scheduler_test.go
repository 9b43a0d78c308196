package billing_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// t0 is the test clocks' start: Thursday 1 January 2026, 09:00 UTC.
var t0 = time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC).Unix()

func (e *invEnv) newClock(t *testing.T) string {
	t.Helper()
	return ok[*pay.TestClock](t, "create clock")(e.bill.CreateTestClock(context.Background(), e.plain(), billing.TestClockParams{FrozenTime: t0})).ID
}

// clockCustomer makes a customer on clock whose default card is card ("":
// none).
func (e *invEnv) clockCustomer(t *testing.T, clock, card string) string {
	t.Helper()
	ctx := context.Background()
	cus := ok[*pay.Customer](t, "create customer")(e.pay.CreateCustomer(ctx, e.plain(), pay.CustomerUpdate{Name: ptr("Ada"), TestClock: &clock}, nil))
	if card != "" {
		e.setCard(t, cus.ID, card)
	}
	return cus.ID
}

// setCard attaches card to cus and makes it the default.
func (e *invEnv) setCard(t *testing.T, cus, card string) {
	t.Helper()
	ctx := context.Background()
	pm := ok[*pay.PaymentMethod](t, "attach")(e.pay.AttachPaymentMethod(ctx, e.plain(), card, cus))
	if _, err := e.pay.UpdateCustomer(ctx, e.plain(), cus, pay.CustomerUpdate{DefaultPaymentMethod: &pm.ID}); err != nil {
		t.Fatal(err)
	}
}

// advance moves clock to to and finishes the advance, as serve's clock
// loop would, with bill (e.bill if nil).
func (e *invEnv) advance(t *testing.T, clock string, to int64) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.bill.AdvanceTestClock(ctx, e.plain(), clock, to); err != nil {
		t.Fatalf("advance to %s: %v", time.Unix(to, 0).UTC(), err)
	}
	if err := e.bill.AdvanceClocks(ctx); err != nil {
		t.Fatalf("advance to %s: %v", time.Unix(to, 0).UTC(), err)
	}
	if c, _ := e.db.FindTestClock(ctx, e.scope, clock); c.Status != pay.TestClockReady || c.FrozenTime != to {
		t.Fatalf("clock after advancing: %+v", c)
	}
}

func (e *invEnv) sub(t *testing.T, id string) *pay.Subscription {
	t.Helper()
	s, err := e.db.FindSubscription(context.Background(), e.scope, id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// invoicesOf returns the subscription's invoices, oldest first.
func (e *invEnv) invoicesOf(t *testing.T, sub *pay.Subscription) []*pay.Invoice {
	t.Helper()
	l, err := e.db.FindInvoices(context.Background(), e.scope, store.InvoiceFilter{Customer: sub.Customer}, pay.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []*pay.Invoice
	for _, inv := range slices.Backward(l.Data) {
		if inv.Subscription == sub.ID {
			out = append(out, inv)
		}
	}
	return out
}

// count returns how many events of typ are about object id.
func (e *invEnv) count(t *testing.T, typ, id string) int {
	t.Helper()
	l, err := e.db.FindEvents(context.Background(), e.scope, store.EventFilter{Types: []string{typ}, ObjectID: id}, pay.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return len(l.Data)
}

func TestSchedulerTrialRenewalsAndUpcoming(t *testing.T) {
	t.Parallel()
	invDBs(t, func(t *testing.T, e *invEnv) {
		clock := e.newClock(t)
		cus := e.clockCustomer(t, clock, "pm_card_visa")
		vat := e.rate(t, pay.Percent(200000), false)
		price := e.recurring(t, "gbp", 1000, "month", 1)
		sub, first := e.subscribe(t, billing.SubscriptionParams{Customer: cus, TrialPeriodDays: ptr[int64](14), DefaultTaxRates: &[]string{vat},
			Items: []billing.SubscriptionItemParams{{Price: price, Quantity: ptr[int64](2)}}})
		if sub.Created != t0 || sub.TrialStart != t0 || sub.TrialEnd != t0+14*86400 || first.Created != t0 {
			t.Fatalf("a subscription on a clock starts at the clock's time: %+v", sub)
		}
		trialEnd := sub.TrialEnd

		// 12 days in: trial_will_end (due 3 days before the end) and
		// invoice.upcoming (7 days before) were sent, nothing billed.
		e.advance(t, clock, t0+12*86400)
		if n := e.count(t, "customer.subscription.trial_will_end", sub.ID); n != 1 {
			t.Errorf("%d trial_will_end events, want 1", n)
		}
		if n := e.count(t, "invoice.upcoming", sub.ID); n != 1 {
			t.Errorf("%d invoice.upcoming events, want 1", n)
		}
		if got := e.sub(t, sub.ID); got.Status != pay.SubscriptionTrialing || e.gw.sales.Load() != 0 {
			t.Fatalf("before the trial's end: %s, %d sales", got.Status, e.gw.sales.Load())
		}

		// The trial ends: a draft at once, finalised and charged an hour
		// later.
		e.advance(t, clock, trialEnd+60)
		got := e.sub(t, sub.ID)
		invs := e.invoicesOf(t, got)
		if got.Status != pay.SubscriptionActive || len(invs) != 2 || invs[1].Status != pay.InvoiceStatusDraft || !invs[1].AutoAdvance {
			t.Fatalf("at the trial's end: %s, invoices %d, latest %+v", got.Status, len(invs), invs[len(invs)-1])
		}
		if got.CurrentPeriodStart != trialEnd || got.BillingCycleAnchor != trialEnd || got.CurrentPeriodEnd != pay.AddIntervals(trialEnd, "month", 1, 1) {
			t.Errorf("period after the trial: %d–%d anchor %d", got.CurrentPeriodStart, got.CurrentPeriodEnd, got.BillingCycleAnchor)
		}
		if inv := invs[1]; inv.Total != 2400 || inv.Tax != 400 || inv.BillingReason != pay.BillingReasonSubscriptionCycle || inv.Created != trialEnd ||
			inv.Lines[0].PeriodStart != trialEnd {
			t.Errorf("renewal invoice: total %d tax %d reason %s created %d lines %+v", inv.Total, inv.Tax, inv.BillingReason, inv.Created, inv.Lines)
		}
		e.advance(t, clock, trialEnd+pay.FinalizeDelay+60)
		invs = e.invoicesOf(t, got)
		if inv := invs[1]; inv.Status != pay.InvoiceStatusPaid || inv.AmountPaid != 2400 || inv.FinalizedAt != trialEnd+pay.FinalizeDelay || len(inv.Payments) != 1 {
			t.Fatalf("after the finalize delay: %+v", inv)
		}
		if n := e.gw.sales.Load(); n != 1 {
			t.Fatalf("%d sales, want 1", n)
		}

		// Three renewals in one advance: each invoiced, finalised and paid
		// once, in order.
		periodEnd := got.CurrentPeriodEnd
		to := pay.AddIntervals(periodEnd, "month", 1, 2) + pay.FinalizeDelay + 60
		e.advance(t, clock, to)
		got = e.sub(t, sub.ID)
		invs = e.invoicesOf(t, got)
		if len(invs) != 5 || got.Status != pay.SubscriptionActive || got.CurrentPeriodStart != pay.AddIntervals(periodEnd, "month", 1, 2) {
			t.Fatalf("after three more periods: %s, %d invoices, period %d–%d", got.Status, len(invs), got.CurrentPeriodStart, got.CurrentPeriodEnd)
		}
		for i, inv := range invs[1:] {
			if inv.Status != pay.InvoiceStatusPaid || len(inv.Payments) != 1 || inv.AmountPaid != 2400 {
				t.Errorf("invoice %d: %s, %d payments, paid %d", i+1, inv.Status, len(inv.Payments), inv.AmountPaid)
			}
			if i > 0 && inv.PeriodEnd != inv.Lines[0].PeriodStart {
				t.Errorf("invoice %d covers %d–%d, its line %d–%d", i+1, inv.PeriodStart, inv.PeriodEnd, inv.Lines[0].PeriodStart, inv.Lines[0].PeriodEnd)
			}
		}
		if n := e.gw.sales.Load(); n != 4 {
			t.Errorf("%d sales, want 4", n)
		}
		if n := e.count(t, "invoice.paid", ""); n != 5 {
			t.Errorf("%d invoice.paid events, want 5", n)
		}
		if n := e.count(t, "invoice.upcoming", sub.ID); n != 4 {
			t.Errorf("%d invoice.upcoming events, want 4 (one before each renewal)", n)
		}
	})
}

func TestSchedulerDunningToCancel(t *testing.T) {
	t.Parallel()
	invDBs(t, func(t *testing.T, e *invEnv) {
		ctx := context.Background()
		clock := e.newClock(t)
		cus := e.clockCustomer(t, clock, "pm_card_visa")
		price := e.recurring(t, "gbp", 1500, "month", 1)
		sub, _ := e.subscribe(t, billing.SubscriptionParams{Customer: cus, Items: []billing.SubscriptionItemParams{{Price: price}}})
		if sub.Status != pay.SubscriptionActive {
			t.Fatalf("status %s", sub.Status)
		}
		// The card starts declining: every charge fails.
		e.setCard(t, cus, "pm_card_chargeCustomerFail")
		renewal := sub.CurrentPeriodEnd
		e.advance(t, clock, renewal+pay.FinalizeDelay+60)
		got := e.sub(t, sub.ID)
		inv := e.invoicesOf(t, got)[1]
		if got.Status != pay.SubscriptionPastDue || inv.Status != pay.InvoiceStatusOpen || inv.AttemptCount != 1 ||
			inv.NextPaymentAttempt != inv.FinalizedAt+3600 {
			t.Fatalf("after the first failure: %s; invoice %s attempts %d next %d (finalized %d)", got.Status, inv.Status, inv.AttemptCount,
				inv.NextPaymentAttempt, inv.FinalizedAt)
		}
		// The default schedule: an hour, a day, three days; then cancel.
		e.advance(t, clock, inv.FinalizedAt+3600+60)
		if inv, _ = e.db.FindInvoice(ctx, e.scope, inv.ID); inv.AttemptCount != 2 || inv.NextPaymentAttempt != inv.LastPaymentAt()+86400 {
			t.Fatalf("after the first retry: attempts %d next %d", inv.AttemptCount, inv.NextPaymentAttempt)
		}
		e.advance(t, clock, inv.NextPaymentAttempt+4*86400)
		got = e.sub(t, sub.ID)
		inv, _ = e.db.FindInvoice(ctx, e.scope, inv.ID)
		if got.Status != pay.SubscriptionCanceled || got.CancellationReason != "payment_failed" || inv.Status != pay.InvoiceStatusOpen ||
			inv.AttemptCount != 4 || inv.NextPaymentAttempt != 0 {
			t.Fatalf("after the schedule: %s (%s); invoice %s attempts %d next %d", got.Status, got.CancellationReason, inv.Status,
				inv.AttemptCount, inv.NextPaymentAttempt)
		}
		if n := e.count(t, "invoice.payment_failed", inv.ID); n != 4 {
			t.Errorf("%d invoice.payment_failed events, want 4", n)
		}
		if n := e.count(t, "customer.subscription.deleted", sub.ID); n != 1 {
			t.Errorf("%d customer.subscription.deleted events, want 1", n)
		}
		if n := e.count(t, "payment_intent.payment_failed", ""); n != 4 {
			t.Errorf("%d payment_intent.payment_failed events, want 4 (four attempts)", n)
		}
		// Nothing more happens: the subscription has ended.
		e.advance(t, clock, got.CurrentPeriodEnd+40*86400)
		if n := len(e.invoicesOf(t, got)); n != 2 || e.count(t, "payment_intent.created", "") != 5 {
			t.Errorf("after the end: %d invoices, %d payment intents", n, e.count(t, "payment_intent.created", ""))
		}
	})
}

func TestSchedulerDunningFinalActionsAndRecovery(t *testing.T) {
	t.Parallel()
	invDBs(t, func(t *testing.T, e *invEnv) {
		ctx := context.Background()
		tx := func(fn func(tx *store.Tx) error) {
			t.Helper()
			if err := e.db.Tx(ctx, fn); err != nil {
				t.Fatal(err)
			}
		}
		// One retry after an hour, then unpaid and uncollectible.
		tx(func(tx *store.Tx) error {
			return tx.SetProjectDunning(ctx, e.scope.ProjectID, pay.Dunning{Retries: []time.Duration{time.Hour},
				FinalAction: pay.DunningMarkUnpaid, InvoiceAction: pay.DunningMarkUncollectible})
		})
		clock := e.newClock(t)
		cus := e.clockCustomer(t, clock, "pm_card_visa")
		price := e.recurring(t, "gbp", 900, "month", 1)
		sub, _ := e.subscribe(t, billing.SubscriptionParams{Customer: cus, Items: []billing.SubscriptionItemParams{{Price: price}}})
		e.setCard(t, cus, "pm_card_chargeCustomerFail")
		e.advance(t, clock, sub.CurrentPeriodEnd+pay.FinalizeDelay+2*3600)
		got := e.sub(t, sub.ID)
		inv := e.invoicesOf(t, got)[1]
		if got.Status != pay.SubscriptionUnpaid || inv.Status != pay.InvoiceStatusUncollectible || inv.AttemptCount != 2 {
			t.Fatalf("final actions: %s, invoice %s attempts %d", got.Status, inv.Status, inv.AttemptCount)
		}
		// An unpaid subscription's renewals stay drafts.
		e.advance(t, clock, got.CurrentPeriodEnd+pay.FinalizeDelay+60)
		got = e.sub(t, sub.ID)
		invs := e.invoicesOf(t, got)
		if len(invs) != 3 || invs[2].Status != pay.InvoiceStatusDraft || invs[2].AutoAdvance {
			t.Fatalf("renewal while unpaid: %d invoices, latest %+v", len(invs), invs[len(invs)-1])
		}
		// The customer pays the latest invoice with a good card: active.
		e.setCard(t, cus, "pm_card_visa")
		e.finalize(t, invs[2].ID)
		if _, err := e.bill.PayInvoice(ctx, e.plain(), invs[2].ID, billing.PayParams{}); err != nil {
			t.Fatal(err)
		}
		if got = e.sub(t, sub.ID); got.Status != pay.SubscriptionActive {
			t.Errorf("after paying the latest invoice: %s", got.Status)
		}
	})
}

func TestSchedulerHardDeclineStopsRetries(t *testing.T) {
	t.Parallel()
	invDBs(t, func(t *testing.T, e *invEnv) {
		clock := e.newClock(t)
		cus := e.clockCustomer(t, clock, "pm_card_visa")
		price := e.recurring(t, "gbp", 1000, "week", 1)
		sub, _ := e.subscribe(t, billing.SubscriptionParams{Customer: cus, Items: []billing.SubscriptionItemParams{{Price: price}}})
		// The customer removes the card: the renewal's attempt fails with
		// no charge, which no retry mends: the final action at once.
		c, _ := e.db.FindCustomer(context.Background(), e.scope, cus)
		if _, err := e.pay.DetachPaymentMethod(context.Background(), e.plain(), c.DefaultPaymentMethod); err != nil {
			t.Fatal(err)
		}
		e.advance(t, clock, sub.CurrentPeriodEnd+pay.FinalizeDelay+60)
		got := e.sub(t, sub.ID)
		inv := e.invoicesOf(t, got)[1]
		if got.Status != pay.SubscriptionCanceled || inv.AttemptCount != 1 || inv.NextPaymentAttempt != 0 || e.gw.sales.Load() != 1 {
			t.Fatalf("with no card: %s; invoice attempts %d failure %q next %d; %d sales", got.Status, inv.AttemptCount, inv.LastFailure,
				inv.NextPaymentAttempt, e.gw.sales.Load())
		}
		if n := e.count(t, "invoice.payment_failed", inv.ID); n != 1 {
			t.Errorf("%d invoice.payment_failed events, want 1", n)
		}
		// A send_invoice subscription whose invoice is not paid by its due
		// date is past due.
		cus2 := e.clockCustomer(t, clock, "")
		sub2, _ := e.subscribe(t, billing.SubscriptionParams{Customer: cus2, CollectionMethod: pay.CollectSend, DaysUntilDue: ptr[int64](3),
			Items: []billing.SubscriptionItemParams{{Price: price}}})
		e.advance(t, clock, sub2.Created+4*86400)
		if got := e.sub(t, sub2.ID); got.Status != pay.SubscriptionPastDue {
			t.Errorf("a send_invoice subscription past its due date: %s", got.Status)
		}
	})
}

func TestSchedulerCancelAtPeriodEndAndIncompleteExpiry(t *testing.T) {
	t.Parallel()
	invDBs(t, func(t *testing.T, e *invEnv) {
		ctx := context.Background()
		clock := e.newClock(t)
		cus := e.clockCustomer(t, clock, "pm_card_visa")
		price := e.recurring(t, "gbp", 1000, "month", 1)
		sub, _ := e.subscribe(t, billing.SubscriptionParams{Customer: cus, Items: []billing.SubscriptionItemParams{{Price: price}}})
		if _, err := e.bill.UpdateSubscription(ctx, e.plain(), sub.ID, billing.SubscriptionParams{CancelAtPeriodEnd: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		open, _ := e.subscribe(t, billing.SubscriptionParams{Customer: cus, PaymentBehavior: billing.DefaultIncomplete,
			Items: []billing.SubscriptionItemParams{{Price: e.recurring(t, "gbp", 500, "month", 1)}}})
		e.advance(t, clock, t0+pay.IncompleteExpiry+60)
		got := e.sub(t, open.ID)
		if inv := e.invoicesOf(t, got)[0]; got.Status != pay.SubscriptionIncompleteExpired || got.EndedAt != t0+pay.IncompleteExpiry ||
			inv.Status != pay.InvoiceStatusVoid {
			t.Errorf("incomplete after 23 hours: %s ended %d, invoice %s", got.Status, got.EndedAt, inv.Status)
		}
		e.advance(t, clock, sub.CurrentPeriodEnd+2*pay.FinalizeDelay)
		got = e.sub(t, sub.ID)
		if got.Status != pay.SubscriptionCanceled || got.EndedAt != sub.CurrentPeriodEnd || len(e.invoicesOf(t, got)) != 1 {
			t.Errorf("cancel at period end: %s ended %d, %d invoices", got.Status, got.EndedAt, len(e.invoicesOf(t, got)))
		}
		if n := e.count(t, "customer.subscription.deleted", sub.ID); n != 1 {
			t.Errorf("%d customer.subscription.deleted events", n)
		}
		if n := e.gw.sales.Load(); n != 1 {
			t.Errorf("%d sales, want 1", n)
		}
	})
}

// TestSchedulerCrashBetweenAttemptAndCharge: the process dies after a
// renewal's attempt is committed and before its charge; the clock stays
// advancing, and once the dead instance's claim ends the next pass makes
// the one charge.
func TestSchedulerCrashBetweenAttemptAndCharge(t *testing.T) {
	t.Parallel()
	invDBs(t, func(t *testing.T, e *invEnv) {
		ctx := context.Background()
		clock := e.newClock(t)
		cus := e.clockCustomer(t, clock, "pm_card_visa")
		sub, _ := e.subscribe(t, billing.SubscriptionParams{Customer: cus, Items: []billing.SubscriptionItemParams{{Price: e.recurring(t, "gbp", 700, "month", 1)}}})
		// Past the time the attempt is resumed (pay.PaymentResumeDelay).
		to := sub.CurrentPeriodEnd + pay.FinalizeDelay + pay.PaymentResumeDelay + 60
		if _, err := e.bill.AdvanceTestClock(ctx, e.plain(), clock, to); err != nil {
			t.Fatal(err)
		}
		e.crash.Store("attempt-recorded")
		if err := e.bill.AdvanceClocks(ctx); err == nil {
			t.Fatal("the advance finished despite the crash")
		}
		c, _ := e.db.FindTestClock(ctx, e.scope, clock)
		inv := e.invoicesOf(t, sub)[1]
		if c.Status != pay.TestClockAdvancing || inv.PayAttempt != 1 || e.gw.sales.Load() != 1 {
			t.Fatalf("after the crash: clock %s, attempt %d, %d sales", c.Status, inv.PayAttempt, e.gw.sales.Load())
		}
		// Another instance while the claim holds: it does not finish the
		// advance, and charges nothing.
		other := e.billing(slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err := other.AdvanceClocks(ctx); err == nil {
			t.Fatal("a second instance finished the advance while the work was claimed")
		}
		e.skew.Store(int64(time.Minute)) // the dead instance's claim has ended
		if err := other.AdvanceClocks(ctx); err != nil {
			t.Fatal(err)
		}
		inv, _ = e.db.FindInvoice(ctx, e.scope, inv.ID)
		if c, _ = e.db.FindTestClock(ctx, e.scope, clock); c.Status != pay.TestClockReady || inv.Status != pay.InvoiceStatusPaid ||
			len(inv.Payments) != 1 || e.gw.sales.Load() != 2 {
			t.Errorf("after the retry: clock %s, invoice %s with %d payments, %d sales (want 2)", c.Status, inv.Status, len(inv.Payments),
				e.gw.sales.Load())
		}
	})
}

// TestSchedulerChargeSettlesItsInvoice: the scheduler's charge of an
// invoice records the invoice's outcome in the payment's own transaction,
// so a crash once the charge has returned loses nothing: the invoice is
// paid, and the next pass charges nothing again.
func TestSchedulerChargeSettlesItsInvoice(t *testing.T) {
	t.Parallel()
	invDBs(t, func(t *testing.T, e *invEnv) {
		ctx := context.Background()
		clock := e.newClock(t)
		cus := e.clockCustomer(t, clock, "pm_card_visa")
		sub, _ := e.subscribe(t, billing.SubscriptionParams{Customer: cus, Items: []billing.SubscriptionItemParams{{Price: e.recurring(t, "gbp", 700, "month", 1)}}})
		to := sub.CurrentPeriodEnd + pay.FinalizeDelay + 60
		if _, err := e.bill.AdvanceTestClock(ctx, e.plain(), clock, to); err != nil {
			t.Fatal(err)
		}
		e.crash.Store("charged")
		if err := e.bill.AdvanceClocks(ctx); err == nil {
			t.Fatal("the advance finished despite the crash")
		}
		inv := e.invoicesOf(t, sub)[1]
		if inv.Status != pay.InvoiceStatusPaid || inv.PayAttempt != 0 || len(inv.Payments) != 1 || inv.Payments[0].Status != "paid" ||
			e.gw.sales.Load() != 2 {
			t.Fatalf("after the crash: invoice %s, attempt %d, payments %+v, %d sales (want the renewal paid, 2 sales)",
				inv.Status, inv.PayAttempt, inv.Payments, e.gw.sales.Load())
		}
		e.skew.Store(int64(time.Minute)) // the dead instance's claim has ended
		if err := e.bill.AdvanceClocks(ctx); err != nil {
			t.Fatal(err)
		}
		c, _ := e.db.FindTestClock(ctx, e.scope, clock)
		s, _ := e.db.FindSubscription(ctx, e.scope, sub.ID)
		if c.Status != pay.TestClockReady || s.Status != pay.SubscriptionActive || e.gw.sales.Load() != 2 {
			t.Errorf("after the next pass: clock %s, subscription %s, %d sales (want 2)", c.Status, s.Status, e.gw.sales.Load())
		}
	})
}

// TestSchedulerInstancesRace runs several instances' passes at once over
// the same due renewals on the wall clock: each renewal is invoiced once and
// charged once.
func TestSchedulerInstancesRace(t *testing.T) {
	t.Parallel()
	invDBs(t, func(t *testing.T, e *invEnv) {
		ctx := context.Background()
		price := e.recurring(t, "gbp", 1200, "day", 1)
		const n = 30
		var subs []*pay.Subscription
		for range n {
			sub, _ := e.subscribe(t, billing.SubscriptionParams{Customer: e.customer(t, "pm_card_visa"),
				Items: []billing.SubscriptionItemParams{{Price: price}}})
			subs = append(subs, sub)
		}
		// A day and two hours on every renewal is due; then, an hour
		// later, the finalisation and charge of each renewal's invoice.
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		for _, skew := range []time.Duration{26 * time.Hour, 28 * time.Hour} {
			e.skew.Store(int64(skew))
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for i := range errs {
				bill := e.billing(log)
				wg.Go(func() { _, errs[i] = bill.RunDue(ctx) })
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
		}
		for _, sub := range subs {
			invs := e.invoicesOf(t, sub)
			if len(invs) != 2 || invs[1].Status != pay.InvoiceStatusPaid || len(invs[1].Payments) != 1 {
				t.Fatalf("subscription %s: %d invoices, latest %s with %d payments", sub.ID, len(invs), invs[len(invs)-1].Status,
					len(invs[len(invs)-1].Payments))
			}
		}
		if got := e.gw.sales.Load(); got != 2*n {
			t.Errorf("%d sales, want %d (one first payment and one renewal each)", got, 2*n)
		}
		if got := e.count(t, "invoice.created", ""); got != 2*n {
			t.Errorf("%d invoice.created events, want %d", got, 2*n)
		}
	})
}
