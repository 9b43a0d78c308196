package billing

import (
	"context"
	"errors"
	"fmt"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// Paying an invoice on its hosted page. The shopper presses Pay: billing
// checks the invoice and payments makes (or reuses) the invoice's internal
// checkout session, whose signed hosted form sends the browser to the
// gateway. The gateway's result comes back through the checkout callback
// (payments.Service.CompleteHostedPayment), which calls the hooks below in
// the transaction that records it. Beside PayInvoice (the API's pay and
// the scheduler's off-session charges), which it never restructures: an
// invoice with a card charge in flight (PayAttempt) starts no hosted
// payment, and a hosted payment that arrives for an invoice paid, voided or
// being charged meanwhile is refunded at once.

var _ payments.InvoiceHooks = (*Service)(nil)

// Errors of StartHostedPayment, which the hosted page explains.
var (
	// ErrInvoiceNotPayable: the invoice is not open or uncollectible, or
	// nothing is left to pay.
	ErrInvoiceNotPayable = errors.New("the invoice cannot be paid")
	// ErrInvoicePaymentInFlight: a card charge of the invoice (the API's
	// pay, the scheduler's) has no outcome yet.
	ErrInvoicePaymentInFlight = errors.New("a payment of the invoice is in progress")
)

// StartHostedPayment begins paying an invoice on the gateway's hosted page
// and returns the checkout session to make the hosted form from
// (payments.Service.HostedForm). An invoice that cannot be paid online
// (pay.Invoice.PayableOnline) is refused with one of the errors above.
//
// The invoice is read, not locked: the callback locks the session, then the
// invoice, and locking them here in the other order could deadlock. A
// change after this check (paid elsewhere, voided) is caught when the
// payment arrives, which is then refunded.
func (s *Service) StartHostedPayment(ctx context.Context, scope pay.Scope, id string) (*pay.CheckoutSession, error) {
	inv, err := s.db.FindInvoice(ctx, scope, id)
	if err != nil {
		return nil, err
	}
	switch {
	case inv.Payable() && inv.AmountRemaining > 0 && inv.PayAttempt != 0:
		return nil, ErrInvoicePaymentInFlight
	case !inv.PayableOnline():
		return nil, fmt.Errorf("%w: it is %s, with %d left to pay", ErrInvoiceNotPayable, inv.Status, inv.AmountRemaining)
	}
	var cs *pay.CheckoutSession
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		cs, err = s.payments.InvoiceSession(ctx, tx, inv)
		return err
	})
	return cs, err
}

// HostedInvoicePaid applies a succeeded hosted payment to its invoice, in
// the transaction that records the payment (payments.InvoiceHooks): the
// invoice is paid, the payment joins its payments, its subscription
// becomes active if it was waiting on this invoice, with invoice.paid,
// invoice.payment_succeeded and invoice.updated. It refuses, and the
// payment is refunded, if the invoice was paid or voided meanwhile, a card
// charge of it is in flight (the charge came first: it decides), or the
// payment is not for what remains.
func (s *Service) HostedInvoicePaid(ctx context.Context, tx *store.Tx, scope pay.Scope, id string, pi *pay.PaymentIntent) (string, error) {
	inv, err := tx.FindInvoice(ctx, scope, id)
	if err != nil {
		return "", err
	}
	switch {
	case !inv.Payable():
		return "invoice " + inv.ID + " is " + inv.Status + " already", nil
	case inv.PayAttempt != 0:
		return fmt.Sprintf("a card charge of invoice %s (attempt %d) is in flight", inv.ID, inv.PayAttempt), nil
	case pi.Status != pay.StatusSucceeded || pi.Currency != inv.Currency || pi.AmountReceived != inv.AmountRemaining:
		return fmt.Sprintf("the payment (%s %d %s) is not the %d %s left to pay on invoice %s",
			pi.Status, pi.AmountReceived, pi.Currency, inv.AmountRemaining, inv.Currency, inv.ID), nil
	}
	now, err := s.clockTime(ctx, tx, scope, inv.TestClock, 0)
	if err != nil {
		return "", err
	}
	before := s.view(inv)
	inv.Payments = append(inv.Payments, pay.InvoicePayment{ID: pay.NewID(pay.PrefixInvoicePayment), PaymentIntent: pi.ID,
		PaymentMethod: pi.PaymentMethod, AmountRequested: inv.AmountRemaining, AmountPaid: pi.AmountReceived, Status: "paid", Created: now, PaidAt: now})
	inv.AmountPaid += pi.AmountReceived
	inv.AmountRemaining = inv.AmountDue - inv.AmountPaid
	inv.AttemptCount, inv.Attempted, inv.NextPaymentAttempt = inv.AttemptCount+1, true, 0
	inv.Status, inv.PaidAt = pay.InvoiceStatusPaid, now
	if err := s.saveInvoice(ctx, tx, inv, before, pay.EventInvoicePaid, pay.EventInvoicePaymentSucceeded); err != nil {
		return "", err
	}
	return "", s.subscriptionInvoicePaid(ctx, tx, inv)
}

// HostedInvoiceDeclined records a declined hosted payment attempt of an
// open invoice (payments.InvoiceHooks), with invoice.payment_failed; the
// invoice stays open. It counts as Stripe counts a customer's manual
// attempt: as the invoice's first attempt if it had none (attempt_count 1,
// so the scheduler then acts on it as on a failed first charge), and
// otherwise not at all, so a shopper's tries on the page never advance the
// dunning schedule. While a card charge is in flight nothing changes: its
// outcome sets the count.
func (s *Service) HostedInvoiceDeclined(ctx context.Context, tx *store.Tx, scope pay.Scope, id string) error {
	inv, err := tx.FindInvoice(ctx, scope, id)
	if err != nil {
		return err
	}
	if !inv.Payable() || inv.PayAttempt != 0 {
		return nil
	}
	before := s.view(inv)
	if inv.AttemptCount == 0 {
		inv.AttemptCount, inv.LastFailure = 1, "card_declined"
	}
	inv.Attempted = true
	return s.saveInvoice(ctx, tx, inv, before, pay.EventInvoicePaymentFailed)
}

// InvoiceIntentSettled applies the outcome of pi, if it is the payment
// intent of an invoice's confirmation_secret, to that invoice
// (payments.InvoiceHooks), in the transaction that records it: paid as on
// the hosted page (the subscription whose first invoice it is becomes
// active and, if neither it nor its customer has a default payment method,
// takes the card paid with as its own, so that its renewals can be
// charged), or a failed attempt. The invoice is read without a lock first:
// the intents of the invoices' own charges, which also name their invoice,
// are left alone without taking one.
func (s *Service) InvoiceIntentSettled(ctx context.Context, tx *store.Tx, pi *pay.PaymentIntent) (string, error) {
	id := pi.Metadata["invoice"]
	if own, _ := ctx.Value(ownChargeKey{}).(*ownCharge); own != nil && own.invoice == id {
		// The invoice's own charge (charge), settled by its payer: the
		// scheduler's here, with the payment.
		if own.attempt == 0 {
			return "", nil
		}
		inv, decline, err := s.settleOwnAttempt(ctx, tx, pi.Scope, id, own.attempt, pi.ID, pi, own.p)
		if err != nil {
			if refusal(err) {
				// The attempt settled meanwhile by another route: nothing
				// changed, and it is not the payment's business; the
				// scheduler meets it again in a transaction of its own.
				err = nil
			}
			return "", err
		}
		own.settled, own.inv, own.decline = true, inv, decline
		return "", nil
	}
	if peek, err := tx.ReadInvoice(ctx, pi.Scope, id); err != nil || peek.ConfirmationIntent != pi.ID {
		return "", ignoreNotFound(err)
	}
	if pi.Status != pay.StatusSucceeded {
		return "", s.HostedInvoiceDeclined(ctx, tx, pi.Scope, id)
	}
	refuse, err := s.HostedInvoicePaid(ctx, tx, pi.Scope, id, pi)
	if err != nil || refuse != "" {
		return refuse, err
	}
	inv, err := tx.FindInvoice(ctx, pi.Scope, id)
	if err != nil || inv.Subscription == "" {
		return "", err
	}
	sub, err := tx.FindSubscription(ctx, pi.Scope, inv.Subscription)
	if err != nil {
		return "", err
	}
	if pm, err := s.paymentMethodOf(ctx, tx, sub); err != nil || pm != "" {
		return "", err
	}
	before := pay.SubscriptionView(sub)
	sub.DefaultPaymentMethod = pi.PaymentMethod
	return "", s.saveSubscription(ctx, tx, sub, before)
}
