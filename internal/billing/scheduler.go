package billing

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/pdf"
	"github.com/calmony/calmonypay/internal/store"
)

// The billing scheduler. Its jobs are rows: every subscription and invoice
// keeps the time of its next due work (next_action_at), and a pass claims
// the due rows in batches (store.ClaimDue: a lease, FOR UPDATE SKIP LOCKED
// on PostgreSQL, so that several instances share them), runs each row's
// due steps, and releases them. Each step is one transaction that locks the
// row and re-checks that the step is still due, so a step runs once however
// many instances, or retries after a crash, reach it; the lease only saves
// them the work. The only step that moves money, an invoice's charge, runs
// through PayInvoice, whose attempt is committed before the charge and
// charged under a key naming it (the gateway's transactionUnique follows
// from it), so a resumed or concurrent charge of one attempt is the same
// charge.
//
// Rows on the wall clock run when the wall clock reaches them (RunDue, from
// serve's loop or `calmonypay billing run`); rows of a test clock's
// customers run when the clock advances past them (runDue), each step at
// its own due time, in time order.

const (
	// dueBatch is how many rows of each kind one claim takes: the work in
	// memory at once is bounded by it, whatever is due.
	dueBatch = 256
	// dueLease is how long a claim keeps other instances off a row: longer
	// than a batch takes. The claims of an instance that dies hold until
	// then.
	dueLease = 30 * time.Second
	// dueWorkers is how many subscriptions a pass works on at once. Each
	// waits on its transactions' commits most of the time; on SQLite, the
	// more of them, the more closures each group commit takes (64: about
	// 30 against 9 with 16) and the less each costs (billing.renewals:
	// 1.19× the renewals per second of 16 workers, and 128 no better).
	dueWorkers = 64
	// maxSteps bounds the steps one job runs at one time: a row is never
	// due more often than that at one instant, so more means a bug, which
	// is logged rather than looped on.
	maxSteps = 12
)

// RunStats counts what a scheduler pass did.
type RunStats struct {
	Jobs   int // rows worked on
	Failed int // rows whose work failed, to be tried again by a later pass
}

// RunDue runs the billing work due now on the wall clock: every
// subscription and invoice not on a test clock whose next action is due,
// batch by batch until none is left. serve runs it every minute
// (RunScheduler); `calmonypay billing run` runs one pass.
func (s *Service) RunDue(ctx context.Context) (RunStats, error) {
	return s.runJobs(ctx, "", func() int64 { return s.now().Unix() }, func(j store.DueJob) int64 { return s.now().Unix() })
}

// runDue runs the work due on test clock c's customers up to target,
// before the clock is ready: each step at its own due time, earliest
// first. If rows are due that another instance holds, it fails, so the
// clock stays advancing until they are done.
func (s *Service) runDue(ctx context.Context, c *pay.TestClock, target int64) error {
	st, err := s.runJobs(ctx, c.ID, func() int64 { return target }, func(j store.DueJob) int64 { return j.Due })
	if err != nil {
		return err
	}
	if st.Failed > 0 {
		return fmt.Errorf("%d of the clock's billing jobs failed", st.Failed)
	}
	more, err := s.db.HasDue(ctx, c.ID, target)
	if err != nil {
		return err
	}
	if more {
		return errWorkElsewhere
	}
	return nil
}

// errWorkElsewhere: a test clock's due work is claimed by another
// instance (or one that died, until its claims end), so its advance waits.
var errWorkElsewhere = errors.New("billing work of the clock is claimed by another instance")

// runJobs claims and runs the due rows of clock ("" the wall clock) until
// none is due at until(); jobNow says at what time a job runs.
func (s *Service) runJobs(ctx context.Context, clock string, until func() int64, jobNow func(store.DueJob) int64) (RunStats, error) {
	var st RunStats
	// seen catches a row due again at the same time after its work: its
	// steps did not move it on, so running it again would loop.
	seen := map[string]int64{}
	for ctx.Err() == nil {
		jobs, err := s.db.ClaimDue(ctx, clock, until(), s.now(), dueLease, dueBatch)
		if err != nil {
			return st, err
		}
		if len(jobs) == 0 {
			break
		}
		run, rest := timeOrdered(jobs)
		var stuck []store.DueJob
		run = slices.DeleteFunc(run, func(j store.DueJob) bool {
			if due, ok := seen[j.Kind+j.ID]; ok && due == j.Due {
				stuck = append(stuck, j)
				return true
			}
			seen[j.Kind+j.ID] = j.Due
			return false
		})
		for _, j := range stuck {
			s.log.ErrorContext(ctx, "billing job still due after its work; left claimed for a later pass", "kind", j.Kind, "id", j.ID, "due", j.Due)
		}
		st.Failed += len(stuck)
		done := s.runBatch(ctx, run, jobNow)
		st.Jobs += len(run)
		st.Failed += len(run) - len(done)
		// Failed and stuck rows stay claimed until their lease ends, so
		// this pass does not take them again.
		if err := s.db.ReleaseDue(context.WithoutCancel(ctx), append(done, rest...)); err != nil {
			return st, err
		}
		if len(run) == 0 {
			break // only stuck rows are due
		}
	}
	return st, ctx.Err()
}

// timeOrdered splits claimed jobs (in due order) into those to run now and
// the rest: when a kind's claim was full, rows of the other kind due later
// than its last one might come before rows it did not take, so only jobs
// due by then run in this batch.
func timeOrdered(jobs []store.DueJob) (run, rest []store.DueJob) {
	cut := int64(-1)
	for _, kind := range []string{store.DueSubscription, store.DueInvoice} {
		n, last := 0, int64(0)
		for _, j := range jobs {
			if j.Kind == kind {
				n, last = n+1, j.Due
			}
		}
		if n == dueBatch && (cut < 0 || last < cut) {
			cut = last
		}
	}
	if cut < 0 {
		return jobs, nil
	}
	i, _ := slices.BinarySearchFunc(jobs, cut+1, func(j store.DueJob, t int64) int { return cmp.Compare(j.Due, t) })
	return jobs[:i], jobs[i:]
}

// runBatch runs jobs, those of one subscription one after another in due
// order and the rest in parallel, and returns the ones that succeeded.
func (s *Service) runBatch(ctx context.Context, jobs []store.DueJob, jobNow func(store.DueJob) int64) []store.DueJob {
	var (
		groups = map[string][]store.DueJob{}
		order  []string
	)
	for _, j := range jobs {
		k := cmp.Or(j.Subscription, j.ID)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], j)
	}
	var (
		mu   sync.Mutex
		done []store.DueJob
		wg   sync.WaitGroup
		work = make(chan []store.DueJob)
	)
	for range min(dueWorkers, len(order)) {
		wg.Go(func() {
			for group := range work {
				for _, j := range group {
					if err := s.runJob(ctx, j, jobNow(j)); err != nil {
						if ctx.Err() == nil {
							s.log.ErrorContext(ctx, "billing job failed; a later pass retries it", "kind", j.Kind, "id", j.ID, "err", err)
						}
						break // the group's later jobs wait for this one
					}
					mu.Lock()
					done = append(done, j)
					mu.Unlock()
				}
			}
		})
	}
	for _, k := range order {
		work <- groups[k]
	}
	close(work)
	wg.Wait()
	return done
}

// runJob runs the steps of a row due at now, until none is. Each step
// reports whether the row is still due at now once it has committed (read
// from the state it wrote), so the step that would find nothing to do is
// not run: a row changed meanwhile by anything else is found by the next
// claim.
func (s *Service) runJob(ctx context.Context, j store.DueJob, now int64) error {
	for range maxSteps {
		var (
			more bool
			err  error
		)
		switch j.Kind {
		case store.DueSubscription:
			more, err = s.subscriptionStep(ctx, j.Scope, j.ID, now)
		default:
			more, err = s.invoiceStep(ctx, j.Scope, j.ID, now)
		}
		if err != nil || !more {
			return err
		}
	}
	return fmt.Errorf("still due after %d steps", maxSteps)
}

// RunScheduler runs RunDue now and every interval until ctx ends. serve
// runs it under its loop group.
func (s *Service) RunScheduler(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if st, err := s.RunDue(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "billing scheduler pass failed", "err", err)
		} else if st.Failed > 0 {
			s.log.WarnContext(ctx, "billing scheduler pass left work for later", "jobs", st.Jobs, "failed", st.Failed)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ---- subscriptions ----

// subscriptionStep runs, in one transaction, the subscription's steps due
// at now, one after another (a test clock's advance may pass several:
// invoice.upcoming, then the renewal), and reports whether another is due
// at now after them (only if maxSteps ran out).
func (s *Service) subscriptionStep(ctx context.Context, scope pay.Scope, id string, now int64) (bool, error) {
	more := false
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		sub, err := tx.FindSubscription(ctx, scope, id)
		if err != nil {
			return err
		}
		more = dueAt(sub.NextActionAt, now) // else done by another instance, or not due yet
		for i := 0; more && i < maxSteps; i++ {
			if more, err = s.subscriptionStepIn(ctx, tx, sub, now); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, pay.ErrNotFound) {
		return false, nil
	}
	return more && err == nil, err
}

// subscriptionStepIn runs, in tx, the first of sub's steps due at now,
// writes sub and emits the step's events, and reports whether another is
// due at now after it. In order: the end of a pause of collection, the
// expiry of an incomplete subscription, cancellation (cancel_at,
// cancel_at_period_end), the trial_will_end notice, the trial's end, the
// renewal at the period's end, and the invoice.upcoming notice.
func (s *Service) subscriptionStepIn(ctx context.Context, tx *store.Tx, sub *pay.Subscription, now int64) (bool, error) {
	scope := sub.Scope
	before := pay.SubscriptionView(sub)
	var events []pay.EventType
	switch {
	case sub.PauseCollection != nil && sub.PauseCollection.ResumesAt != 0 && sub.PauseCollection.ResumesAt <= now:
		sub.PauseCollection = nil
	case sub.Status == pay.SubscriptionIncomplete && now >= sub.Created+pay.IncompleteExpiry:
		if err := s.expireIncomplete(ctx, tx, sub, now); err != nil {
			return false, err
		}
	case sub.CancelAt != 0 && sub.CancelAt <= now:
		sub.Status, sub.EndedAt = pay.SubscriptionCanceled, sub.CancelAt
		sub.CanceledAt = cmp.Or(sub.CanceledAt, sub.CancelAt)
		sub.CancellationReason = cmp.Or(sub.CancellationReason, "cancellation_requested")
		events = append(events, pay.EventCustomerSubscriptionDeleted)
	case sub.TrialWillEndAt() != 0 && sub.TrialWillEndAt() <= now:
		sub.TrialWillEndSent = true
		events = append(events, pay.EventCustomerSubscriptionTrialWillEnd)
	case sub.Status == pay.SubscriptionTrialing && sub.TrialEnd <= now:
		evs, err := s.endTrial(ctx, tx, sub, now)
		if err != nil {
			return false, err
		}
		events = append(events, evs...)
	case sub.RenewsAt() != 0 && sub.RenewsAt() <= now:
		if err := s.renew(ctx, tx, sub, sub.CurrentPeriodEnd, now); err != nil {
			return false, err
		}
	case sub.UpcomingAt() != 0 && sub.UpcomingAt() <= now:
		sub.UpcomingSentFor = sub.RenewsAt()
		preview, err := s.upcomingInvoice(ctx, tx, sub, now)
		if err != nil {
			return false, err
		}
		if err := payments.Emit(ctx, tx, scope, pay.EventInvoiceUpcoming, sub.ID, preview, nil); err != nil {
			return false, err
		}
	default:
		// next_action_at was stale: set it right below.
	}
	sub.ComputeNextActionAt()
	more := dueAt(sub.NextActionAt, now)
	if err := tx.UpdateSubscription(ctx, sub); err != nil {
		return false, err
	}
	var after any = pay.SubscriptionView(sub)
	if len(events) > 0 || sub.Status == pay.SubscriptionCanceled {
		var err error
		if after, err = payments.EncodeView(after); err != nil { // once for every event
			return false, err
		}
	}
	if sub.Status == pay.SubscriptionCanceled {
		// customer.subscription.deleted is the ending's only event.
		return more, payments.Emit(ctx, tx, scope, pay.EventCustomerSubscriptionDeleted, sub.ID, after, nil)
	}
	for _, e := range events {
		if err := payments.Emit(ctx, tx, scope, e, sub.ID, after, nil); err != nil {
			return false, err
		}
	}
	return more, payments.EmitUpdate(ctx, tx, scope, pay.EventCustomerSubscriptionUpdated, sub.ID, before, after)
}

// dueAt reports whether a row whose next action is at next is due at now.
func dueAt(next, now int64) bool { return next != 0 && next <= now }

// expireIncomplete ends a subscription whose first invoice was not paid
// within 23 hours: incomplete_expired, its invoice voided (unless a
// payment of it is in flight, which then settles the invoice alone).
func (s *Service) expireIncomplete(ctx context.Context, tx *store.Tx, sub *pay.Subscription, now int64) error {
	sub.Status, sub.EndedAt = pay.SubscriptionIncompleteExpired, now
	if sub.LatestInvoice == "" {
		return nil
	}
	inv, err := tx.FindInvoice(ctx, sub.Scope, sub.LatestInvoice)
	if err != nil {
		return err
	}
	if !inv.Payable() || inv.PayAttempt != 0 {
		return nil
	}
	before := s.view(inv)
	inv.Status, inv.VoidedAt = pay.InvoiceStatusVoid, now
	return s.saveInvoice(ctx, tx, inv, before, pay.EventInvoiceVoided)
}

// saveInvoice writes inv and emits the events named and invoice.updated
// if its view changed from before.
func (s *Service) saveInvoice(ctx context.Context, tx *store.Tx, inv *pay.Invoice, before any, events ...pay.EventType) error {
	if err := tx.UpdateInvoice(ctx, inv); err != nil {
		return err
	}
	return s.emitInvoice(ctx, tx, inv, before, s.view(inv), events...)
}

// emitInvoice emits events, showing view, and invoice.updated from before
// to view if it changed; the caller writes inv.
func (s *Service) emitInvoice(ctx context.Context, tx *store.Tx, inv *pay.Invoice, before, view any, events ...pay.EventType) error {
	view, err := payments.EncodeView(view) // once for every event
	if err != nil {
		return err
	}
	for _, e := range events {
		if err := payments.Emit(ctx, tx, inv.Scope, e, inv.ID, view, nil); err != nil {
			return err
		}
	}
	return payments.EmitUpdate(ctx, tx, inv.Scope, pay.EventInvoiceUpdated, inv.ID, before, view)
}

// paymentMethodOf is the card a subscription's invoices charge: its own
// default, else its customer's; "" if none.
func (s *Service) paymentMethodOf(ctx context.Context, tx *store.Tx, sub *pay.Subscription) (string, error) {
	if sub.DefaultPaymentMethod != "" {
		return sub.DefaultPaymentMethod, nil
	}
	cus, err := tx.FindCustomer(ctx, sub.Scope, sub.Customer)
	if err != nil {
		return "", err
	}
	return cus.DefaultPaymentMethod, nil
}

// endTrial ends a subscription's trial at its trial end: without a payment
// method to charge, as trial_settings say (cancel, pause, or invoice
// anyway); else the first paid period starts there, anchored on it, with
// its invoice.
func (s *Service) endTrial(ctx context.Context, tx *store.Tx, sub *pay.Subscription, now int64) ([]pay.EventType, error) {
	end := sub.TrialEnd
	if sub.CollectionMethod == pay.CollectCharge && sub.TrialMissingPaymentMethod != "" && sub.TrialMissingPaymentMethod != pay.TrialEndCreateInvoice {
		pm, err := s.paymentMethodOf(ctx, tx, sub)
		if err != nil {
			return nil, err
		}
		if pm == "" {
			if sub.TrialMissingPaymentMethod == pay.TrialEndCancel {
				sub.Status, sub.CanceledAt, sub.EndedAt = pay.SubscriptionCanceled, end, end
				return nil, nil
			}
			sub.Status = pay.SubscriptionPaused
			return []pay.EventType{pay.EventCustomerSubscriptionPaused}, nil
		}
	}
	sub.Status, sub.BillingCycleAnchor = pay.SubscriptionActive, end
	return nil, s.renew(ctx, tx, sub, end, now)
}

// renew starts the subscription's period that begins at start and invoices
// it (billing_reason subscription_cycle): a draft, finalised and charged by
// the scheduler an hour later (pay.FinalizeDelay), with the customer's
// pending invoice items. While collection is paused the invoice is voided,
// marked uncollectible or kept as a draft, as pause_collection says; an
// unpaid subscription's invoices stay drafts, as Stripe's do.
func (s *Service) renew(ctx context.Context, tx *store.Tx, sub *pay.Subscription, start, now int64) error {
	if len(sub.Items) == 0 {
		return fmt.Errorf("subscription %s has no items", sub.ID)
	}
	rec := sub.Items[0].Price.Recurring
	prevStart, prevEnd := sub.CurrentPeriodStart, sub.CurrentPeriodEnd
	sub.CurrentPeriodStart = start
	sub.CurrentPeriodEnd = pay.PeriodEndAfter(sub.BillingCycleAnchor, start, rec.Interval, rec.IntervalCount)
	inv, err := s.cycleInvoice(ctx, tx, sub, pay.BillingReasonSubscriptionCycle, prevStart, prevEnd, now)
	if err != nil {
		return err
	}
	sub.LatestInvoice = inv.ID
	if sub.Status == pay.SubscriptionUnpaid {
		return s.holdDraft(ctx, tx, inv)
	}
	if pc := sub.PauseCollection; pc != nil {
		switch pc.Behavior {
		case pay.PauseKeepAsDraft:
			return s.holdDraft(ctx, tx, inv)
		case pay.PauseVoid, pay.PauseMarkUncollectible:
			before := s.view(inv)
			events, err := s.finalize(ctx, tx, inv, now)
			if err != nil {
				return err
			}
			if inv.Status == pay.InvoiceStatusOpen {
				if pc.Behavior == pay.PauseVoid {
					inv.Status, inv.VoidedAt = pay.InvoiceStatusVoid, now
					events = append(events, pay.EventInvoiceVoided)
				} else {
					inv.Status, inv.MarkedUncollectibleAt = pay.InvoiceStatusUncollectible, now
					events = append(events, pay.EventInvoiceMarkedUncollectible)
				}
			}
			inv.AutoAdvance = false
			return s.saveInvoice(ctx, tx, inv, before, events...)
		}
	}
	return nil
}

// holdDraft turns off a new draft's automatic finalisation.
func (s *Service) holdDraft(ctx context.Context, tx *store.Tx, inv *pay.Invoice) error {
	before := s.view(inv)
	inv.AutoAdvance = false
	return s.saveInvoice(ctx, tx, inv, before)
}

// cycleInvoice writes the draft invoice of sub's current period: a line
// per item, at the item's tax rates or the subscription's, the customer's
// pending invoice items in its currency, and invoice.created. Its own
// period is the one before (prevStart to prevEnd), as Stripe's is.
func (s *Service) cycleInvoice(ctx context.Context, tx *store.Tx, sub *pay.Subscription, reason string, prevStart, prevEnd, now int64) (*pay.Invoice, error) {
	inv, err := s.buildCycleInvoice(ctx, tx, sub, reason, prevStart, prevEnd, now)
	if err != nil {
		return nil, err
	}
	// The items taken name the invoice, which is written once, with them
	// (they are all the items a new invoice has).
	inv.ID = pay.NewID(pay.PrefixInvoice)
	items, err := tx.FindPendingInvoiceItems(ctx, sub.Scope, sub.Customer, sub.Currency, sub.ID)
	if err != nil {
		return nil, err
	}
	if err := takeItems(ctx, tx, inv, items); err != nil {
		return nil, err
	}
	computeWith(inv, items)
	if err := tx.CreateInvoice(ctx, inv); err != nil {
		return nil, err
	}
	return inv, payments.Emit(ctx, tx, sub.Scope, pay.EventInvoiceCreated, inv.ID, s.view(inv), nil)
}

// buildCycleInvoice returns, unsaved, the draft invoice of sub's current
// period with a line per item.
func (s *Service) buildCycleInvoice(ctx context.Context, tx *store.Tx, sub *pay.Subscription, reason string, prevStart, prevEnd, now int64) (*pay.Invoice, error) {
	inv := &pay.Invoice{Scope: sub.Scope, Status: pay.InvoiceStatusDraft, Currency: sub.Currency, Customer: sub.Customer,
		CollectionMethod: sub.CollectionMethod, AutoAdvance: true, PeriodStart: prevStart, PeriodEnd: prevEnd, TestClock: sub.TestClock,
		DefaultPaymentMethod: sub.DefaultPaymentMethod, DefaultTaxRates: sub.DefaultTaxRates, Description: sub.Description,
		Subscription: sub.ID, BillingReason: reason, Created: now}
	if sub.CollectionMethod == pay.CollectSend {
		inv.DueDate = now + pay.FinalizeDelay + sub.DaysUntilDue*day
	}
	for _, it := range sub.Items {
		name, err := s.productName(ctx, tx, sub.Scope, it.Price.Product)
		if err != nil {
			return nil, err
		}
		line := pay.InvoiceLine{ID: pay.NewID(pay.PrefixInvoiceLine), Quantity: it.Quantity, UnitAmount: it.Price.UnitAmount,
			Amount: it.Quantity * it.Price.UnitAmount, PeriodStart: sub.CurrentPeriodStart, PeriodEnd: sub.CurrentPeriodEnd,
			Price: it.Price.ID, Product: it.Price.Product, SubscriptionItem: it.ID,
			Description: fmt.Sprintf("%d × %s (at %s / %s)", it.Quantity, name, pdf.Money(it.Price.UnitAmount, it.Price.Currency),
				it.Price.Recurring.Interval)}
		rates := it.TaxRates
		if len(rates) == 0 {
			rates = sub.DefaultTaxRates
		}
		inv.Lines = append(inv.Lines, taxedLine(line, rates))
	}
	return inv, nil
}

// productName is a product's name for an invoice line, its ID if it has
// gone.
func (s *Service) productName(ctx context.Context, tx *store.Tx, scope pay.Scope, id string) (string, error) {
	p, err := tx.ReadProduct(ctx, scope, id)
	switch {
	case errors.Is(err, pay.ErrNotFound):
		return id, nil
	case err != nil:
		return "", err
	}
	return p.Name, nil
}

// upcomingInvoice renders the invoice sub's next renewal will make, as
// Stripe's invoice.upcoming carries it: with no ID.
func (s *Service) upcomingInvoice(ctx context.Context, tx *store.Tx, sub *pay.Subscription, now int64) (any, error) {
	next := *sub
	start := sub.RenewsAt()
	if sub.Status == pay.SubscriptionTrialing {
		next.BillingCycleAnchor = start
	}
	rec := sub.Items[0].Price.Recurring
	next.CurrentPeriodStart, next.CurrentPeriodEnd = start, pay.PeriodEndAfter(next.BillingCycleAnchor, start, rec.Interval, rec.IntervalCount)
	inv, err := s.buildCycleInvoice(ctx, tx, &next, pay.BillingReasonUpcoming, sub.CurrentPeriodStart, start, start)
	if err != nil {
		return nil, err
	}
	items, err := tx.FindPendingInvoiceItems(ctx, sub.Scope, sub.Customer, sub.Currency, sub.ID)
	if err != nil {
		return nil, err
	}
	inv.Lines = append(inv.Lines, itemLines(inv, items)...)
	computeTotals(inv)
	v, err := json.Marshal(s.view(inv))
	if err != nil {
		return nil, err
	}
	// The view's first field is its ID, "" here: leave it out.
	if !bytes.HasPrefix(v, []byte(`{"id":"",`)) {
		return nil, fmt.Errorf("upcoming invoice view: %.40s", v)
	}
	return json.RawMessage(append([]byte{'{'}, v[len(`{"id":"",`):]...)), nil
}

// ---- invoices ----

// invoiceStep runs, in one transaction, the first of an invoice's steps
// due at now and reports whether another is due at now after it. In
// order: finalising an auto-advancing draft; acting on a failed attempt
// (dunning: the next retry, or the final action); a send_invoice
// subscription invoice's due date; a card charge: resuming the attempt in
// flight, or recording the next one (chargeStep), charged once committed
// (chargeAttempt). A draft whose charge is due once finalised has its
// attempt recorded in the same transaction.
func (s *Service) invoiceStep(ctx context.Context, scope pay.Scope, id string, now int64) (bool, error) {
	var (
		more    bool
		inv     *pay.Invoice
		attempt int64 // the card attempt to charge once committed
	)
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		more, attempt = false, 0
		var err error
		if inv, err = tx.FindInvoice(ctx, scope, id); err != nil {
			return err
		}
		if !dueAt(inv.NextActionAt(), now) {
			return nil
		}
		before := s.view(inv)
		switch {
		case inv.Status == pay.InvoiceStatusDraft:
			f, err := s.startFinalize(ctx, tx, inv)
			if err != nil {
				return err
			}
			// The card of the charge that follows is looked up before the
			// invoice takes its number, which holds every other
			// finalisation of the project until this commits.
			var card cardChoice
			if inv.CollectionMethod == pay.CollectCharge && inv.AmountDue > 0 {
				if card.pm, card.err = s.attemptCard(ctx, tx, inv, PayParams{}, f.cus); !refusal(card.err) {
					return card.err
				}
				card.chosen = true
			}
			events, err := f.finish(ctx, tx, inv, now)
			if err != nil {
				return err
			}
			if inv.Status == pay.InvoiceStatusOpen && inv.CollectionMethod == pay.CollectCharge {
				inv.NextPaymentAttempt = now
			}
			if !chargeNow(inv, now) {
				more = dueAt(inv.NextActionAt(), now)
				return s.saveInvoice(ctx, tx, inv, before, events...)
			}
			// The finalisation's events show the invoice finalised, as
			// when its charge was a step of its own.
			finalized := s.view(inv)
			if err := s.emitInvoice(ctx, tx, inv, before, finalized, events...); err != nil {
				return err
			}
			attempt, more, err = s.chargeStep(ctx, tx, inv, finalized, card, now)
			return err
		case inv.CollectionMethod == pay.CollectSend:
			inv.Overdue = true
			if err := s.saveInvoice(ctx, tx, inv, before); err != nil {
				return err
			}
			more = dueAt(inv.NextActionAt(), now)
			return s.subscriptionPastDue(ctx, tx, inv)
		case inv.PayAttempt == 0 && inv.AttemptCount > inv.DunningDone:
			if err := s.dun(ctx, tx, inv, before, now); err != nil {
				return err
			}
			more = dueAt(inv.NextActionAt(), now)
			return nil
		}
		attempt, more, err = s.chargeStep(ctx, tx, inv, before, cardChoice{}, now)
		return err
	})
	if err != nil || attempt == 0 {
		return more && err == nil, ignoreNotFound(err)
	}
	return s.chargeAttempt(ctx, inv, attempt, now)
}

func ignoreNotFound(err error) error {
	if errors.Is(err, pay.ErrNotFound) {
		return nil
	}
	return err
}

// chargeNow reports whether inv's next step at now is a card charge.
func chargeNow(inv *pay.Invoice, now int64) bool {
	return inv.Payable() && inv.CollectionMethod == pay.CollectCharge && !(inv.PayAttempt == 0 && inv.AttemptCount > inv.DunningDone) &&
		dueAt(inv.NextActionAt(), now)
}

// cardChoice is the card a new attempt charges, if chosen already
// (attemptCard): pm, or err if there is none it can charge.
type cardChoice struct {
	chosen bool
	pm     string
	err    error
}

// refusal reports whether err is nil or a refusal of the card (a 4xx
// *pay.Error: none, detached, gone), as opposed to a failure to look.
func refusal(err error) bool {
	var pe *pay.Error
	return err == nil || errors.As(err, &pe) && pe.Status < 500
}

// chargeStep records, on inv locked in tx and shown as before, the card
// attempt the scheduler charges at now (off-session): the attempt in
// flight, or the next one, on card if chosen already, else on the card
// attemptCard chooses; it writes inv and returns the attempt to charge
// once committed. With no card to charge, or one that cannot be, the
// attempt fails at once, with no charge (more: the failure is acted on
// next).
func (s *Service) chargeStep(ctx context.Context, tx *store.Tx, inv *pay.Invoice, before any, card cardChoice, now int64) (attempt int64, more bool, err error) {
	if inv.PayAttempt != 0 {
		return inv.PayAttempt, false, nil // the same charge, resumed: nothing to write
	}
	if !card.chosen {
		card.pm, card.err = s.attemptCard(ctx, tx, inv, PayParams{}, nil)
	}
	switch {
	case card.err == nil:
		return recordAttempt(inv, card.pm, now), false, tx.UpdateInvoice(ctx, inv)
	case !refusal(card.err):
		return 0, false, card.err // the job is tried again by a later pass
	}
	// No payment method, or one that cannot be charged (detached, gone):
	// a failed attempt with no charge, which retrying will not mend.
	var pe *pay.Error
	errors.As(card.err, &pe)
	s.log.WarnContext(ctx, "invoice has no card to charge", "invoice", inv.ID, "reason", pe.Message)
	inv.AttemptCount++
	inv.Attempted, inv.LastFailure, inv.NextPaymentAttempt = true, noPaymentMethod, 0
	return 0, dueAt(inv.NextActionAt(), now), s.saveInvoice(ctx, tx, inv, before, pay.EventInvoicePaymentFailed)
}

// chargeAttempt charges, off-session, the attempt of inv that the
// scheduler's step has committed, as a recurring merchant-initiated
// payment when it bills a subscription, and records the outcome
// (PayInvoice's charge and settlement, with no answer to keep), and
// reports whether the invoice has another step due at now: a decline is an
// outcome, not an error, which the next step acts on. An attempt left
// without an outcome (its gateway operation unknown or parked, or in
// another's hands) is resumed later (resumeLater).
func (s *Service) chargeAttempt(ctx context.Context, inv *pay.Invoice, attempt, now int64) (bool, error) {
	if err := s.crashAt("attempt-recorded"); err != nil {
		return false, err
	}
	off := true
	p := PayParams{OffSession: &off, at: now}
	own := &ownCharge{attempt: attempt, p: p}
	piID, err := s.charge(ctx, inv, attempt, p, own)
	if err == nil {
		err = s.crashAt("charged")
	}
	settled, decline := own.inv, own.decline
	if err == nil && !own.settled {
		// Not settled with the payment (a replay of a charge made
		// before, or one the reconciler settled): in a transaction of
		// its own.
		err = s.db.Tx(ctx, func(tx *store.Tx) error {
			var err error
			settled, decline, err = s.settleOwnAttempt(ctx, tx, inv.Scope, inv.ID, attempt, piID, nil, p)
			return err
		})
	}
	var pe *pay.Error
	switch {
	case err == nil:
		return decline != nil || dueAt(settled.NextActionAt(), now), nil
	case errors.As(err, &pe) && (pe.Status == http.StatusConflict || pe.Code == "invoice_unexpected_state"):
		// Settled meanwhile by another route, or the attempt still in
		// another's hands.
		return false, s.resumeLater(ctx, inv.Scope, inv.ID, now)
	}
	return false, ignoreNotFound(err) // the job is tried again by a later pass
}

// settleOwnAttempt records, in tx, the outcome of the scheduler's attempt
// of invoice id (settleAttempt), and when the attempt has none yet, when
// to resume it.
func (s *Service) settleOwnAttempt(ctx context.Context, tx *store.Tx, scope pay.Scope, id string, attempt int64, piID string, pi *pay.PaymentIntent, p PayParams) (*pay.Invoice, *pay.Error, error) {
	inv, decline, err := s.settleAttempt(ctx, tx, scope, id, attempt, piID, pi, p)
	if err != nil || inv.PayAttempt == 0 {
		return inv, decline, err
	}
	bumpResume(inv, p.at)
	return inv, decline, tx.UpdateInvoice(ctx, inv)
}

// resumeLater sets when the scheduler resumes the invoice's card attempt
// if it still has no outcome (its gateway operation unknown, or parked for
// an operator): later each time, up to a day, so that it neither spins nor
// holds up a test clock's advance.
func (s *Service) resumeLater(ctx context.Context, scope pay.Scope, id string, now int64) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		inv, err := tx.FindInvoice(ctx, scope, id)
		if err != nil || inv.PayAttempt == 0 {
			return err
		}
		bumpResume(inv, now)
		return tx.UpdateInvoice(ctx, inv)
	})
}

// bumpResume sets, at now, when the scheduler next resumes inv's attempt in
// flight: later each time, up to a day.
func bumpResume(inv *pay.Invoice, now int64) {
	inv.PayResumeDelay = min(max(2*inv.PayResumeDelay, pay.PaymentResumeDelay), pay.MaxPaymentResumeDelay)
	inv.PayResumeAt = now + inv.PayResumeDelay
}

// noPaymentMethod is an invoice's LastFailure when it had no card that
// could be charged.
const noPaymentMethod = "no_payment_method"

// hardDeclines are the failures that no retry of the same card mends:
// the dunning schedule stops at once on them.
var hardDeclines = map[string]bool{
	"lost_card": true, "stolen_card": true, "pickup_card": true, "invalid_account": true, "restricted_card": true,
	"incorrect_number": true, "invalid_number": true, "expired_card": true, "card_not_supported": true,
	noPaymentMethod: true,
}

// dun acts on an invoice's failed attempt, in tx: the subscription it bills
// becomes past_due; then, unless the failure was a hard decline or the
// retries of the project's dunning schedule are spent, the next retry is
// set, counted from the attempt; else the final actions run on the
// subscription (cancel, mark unpaid or leave past due) and the invoice
// (leave open or mark uncollectible). The first invoice of an incomplete
// subscription is never retried: the customer pays it, or it expires.
func (s *Service) dun(ctx context.Context, tx *store.Tx, inv *pay.Invoice, before any, now int64) error {
	inv.DunningDone, inv.NextPaymentAttempt = inv.AttemptCount, 0
	var sub *pay.Subscription
	if inv.Subscription != "" {
		var err error
		if sub, err = tx.FindSubscription(ctx, inv.Scope, inv.Subscription); err != nil {
			return err
		}
		if sub.Status == pay.SubscriptionIncomplete || sub.Ended() || sub.LatestInvoice != inv.ID {
			return s.saveInvoice(ctx, tx, inv, before)
		}
	}
	proj, err := tx.FindProject(ctx, inv.Scope.ProjectID)
	if err != nil {
		return err
	}
	d := proj.Dunning
	retry := int(inv.AttemptCount) - 1 // the retries made so far
	var events []pay.EventType
	final := hardDeclines[inv.LastFailure] || retry >= len(d.Retries)
	if !final {
		inv.NextPaymentAttempt = max(inv.LastPaymentAt(), now) + int64(d.Retries[retry]/time.Second)
	} else if d.InvoiceAction == pay.DunningMarkUncollectible && inv.Status == pay.InvoiceStatusOpen {
		inv.Status, inv.MarkedUncollectibleAt = pay.InvoiceStatusUncollectible, now
		events = append(events, pay.EventInvoiceMarkedUncollectible)
	}
	if err := s.saveInvoice(ctx, tx, inv, before, events...); err != nil {
		return err
	}
	if sub == nil {
		return nil
	}
	subBefore := pay.SubscriptionView(sub)
	if sub.Status == pay.SubscriptionActive || sub.Status == pay.SubscriptionTrialing {
		sub.Status = pay.SubscriptionPastDue
	}
	if final {
		switch d.FinalAction {
		case pay.DunningCancel:
			sub.Status, sub.CanceledAt, sub.EndedAt, sub.CancellationReason = pay.SubscriptionCanceled, now, now, "payment_failed"
			sub.ComputeNextActionAt()
			if err := tx.UpdateSubscription(ctx, sub); err != nil {
				return err
			}
			return payments.Emit(ctx, tx, sub.Scope, pay.EventCustomerSubscriptionDeleted, sub.ID, pay.SubscriptionView(sub), nil)
		case pay.DunningMarkUnpaid:
			sub.Status = pay.SubscriptionUnpaid
		}
	}
	return s.saveSubscription(ctx, tx, sub, subBefore)
}

// subscriptionPastDue makes the subscription whose latest invoice inv, a
// send_invoice one, is past its due date past_due.
func (s *Service) subscriptionPastDue(ctx context.Context, tx *store.Tx, inv *pay.Invoice) error {
	sub, err := tx.FindSubscription(ctx, inv.Scope, inv.Subscription)
	if err != nil {
		return err
	}
	if sub.LatestInvoice != inv.ID || sub.Status != pay.SubscriptionActive {
		return nil
	}
	before := pay.SubscriptionView(sub)
	sub.Status = pay.SubscriptionPastDue
	return s.saveSubscription(ctx, tx, sub, before)
}
