package payments

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// An invoice is paid from its hosted invoice page through the machinery of
// hosted checkout: an internal checkout session bound to the invoice
// (CheckoutSession.Invoice) makes the signed hosted form, and the gateway's
// result comes back to the checkout callback, with the same signature,
// matching and replay rules. What the payment does to the invoice is
// billing's, which payments never imports: billing sets InvoiceHooks, which
// run inside the transaction that records the payment.

// InvoiceHooks settle an invoice paid on the hosted invoice page, inside
// the transaction that records the gateway's result, so that the invoice
// changes together with the payment or not at all. billing.Service
// implements them; cmd and apitest set them with Service.SetInvoiceHooks.
type InvoiceHooks interface {
	// HostedInvoicePaid applies pi, a hosted payment of the invoice that
	// succeeded, to the invoice. It returns "" if it did; otherwise why not
	// (the invoice was paid or voided meanwhile, or a card charge of it is
	// in flight), and the payment is refunded at once.
	HostedInvoicePaid(ctx context.Context, tx *store.Tx, scope pay.Scope, invoiceID string, pi *pay.PaymentIntent) (refuse string, err error)
	// HostedInvoiceDeclined records a declined hosted payment attempt of
	// the invoice (not a shopper's cancel).
	HostedInvoiceDeclined(ctx context.Context, tx *store.Tx, scope pay.Scope, invoiceID string) error
	// InvoiceIntentSettled applies the outcome of a confirmation of pi, a
	// payment intent that may be the one an invoice's confirmation_secret
	// belongs to (its metadata names the invoice), to that invoice: paid
	// (succeeded) or a failed attempt. It changes nothing for any other
	// intent. On success it returns, as HostedInvoicePaid does, why the
	// invoice could not take the payment, which is then refunded at once.
	InvoiceIntentSettled(ctx context.Context, tx *store.Tx, pi *pay.PaymentIntent) (refuse string, err error)
	// CustomerCardReplaced makes pm, a card the customer just saved from
	// the customer portal (and now its default), the default payment
	// method of the customer's subscriptions that have not ended.
	CustomerCardReplaced(ctx context.Context, tx *store.Tx, scope pay.Scope, customer, pm string) error
}

// invoiceIntentSettled passes a sale's outcome on pi to the invoice hooks,
// in the transaction that records it, when pi's metadata names an invoice;
// a success the invoice cannot take is refunded at once (the refund's
// gateway op is left to the reconciler, its lease lapsed).
func (s *Service) invoiceIntentSettled(ctx context.Context, tx *store.Tx, pi *pay.PaymentIntent) error {
	id := pi.Metadata["invoice"]
	if s.invoices == nil || id == "" {
		return nil
	}
	refuse, err := s.invoices.InvoiceIntentSettled(ctx, tx, pi)
	if err != nil || refuse == "" || pi.Status != pay.StatusSucceeded {
		return err
	}
	s.log.WarnContext(ctx, "payment of an invoice's confirmation_secret refunded at once", "invoice", id, "payment_intent", pi.ID, "why", refuse)
	_, err = s.recordRefundNow(ctx, tx, pi, map[string]string{"invoice": id, "calmony_refund_reason": refuse})
	return err
}

// SetInvoiceHooks sets what settles invoices paid on the hosted invoice
// page. Call it before serving: without hooks, the result of such a
// payment is refused (an error, nothing recorded) rather than recorded
// without its invoice.
func (s *Service) SetInvoiceHooks(h InvoiceHooks) { s.invoices = h }

// What the hosted invoice page is told of a payment's result, in its query
// (?payment=…), by the address the shopper's browser is sent back to.
const (
	InvoicePagePaid        = "paid"
	InvoicePageDeclined    = "declined"
	InvoicePageCancelled   = "cancelled"
	InvoicePageRefunded    = "refunded"    // paid, but the invoice could not take it: refunded at once
	InvoicePageUnconfirmed = "unconfirmed" // the result could not be verified
)

// Invoice session lifetimes: a new session lives invoiceSessionTTL (the
// gateway's page an hour); one with less than invoiceSessionReuse left is
// not reused for a new attempt.
const (
	invoiceSessionTTL   = time.Hour
	invoiceSessionReuse = 30 * time.Minute
)

// InvoiceSession returns, in tx, the checkout session through which the
// customer of inv, an open invoice, pays what remains of it on the
// gateway's hosted page: the invoice's open session if it asks for that
// amount and lives long enough, else a new one. The caller checks that inv
// may be paid; whether it still can when the payment arrives is the
// hooks' to decide. Each page view still makes its own attempt
// (HostedForm).
func (s *Service) InvoiceSession(ctx context.Context, tx *store.Tx, inv *pay.Invoice) (*pay.CheckoutSession, error) {
	now := tx.Now.Unix()
	cs, err := tx.FindOpenInvoiceSession(ctx, inv.ID, now+int64(invoiceSessionReuse/time.Second))
	if err == nil && cs.AmountTotal == inv.AmountRemaining && cs.Currency == inv.Currency {
		return cs, nil
	}
	if err != nil && !errors.Is(err, pay.ErrNotFound) {
		return nil, err
	}
	page := pay.InvoicePageURL(inv, s.publicURL)
	desc := "Invoice " + inv.Number
	cs = &pay.CheckoutSession{Scope: inv.Scope, Invoice: inv.ID, ExpiresAt: now + int64(invoiceSessionTTL/time.Second), Mode: "payment",
		Status: pay.CheckoutOpen, PaymentStatus: "unpaid", Currency: inv.Currency, AmountTotal: inv.AmountRemaining,
		LineItems:  []pay.LineItem{{ID: pay.NewID(pay.PrefixLineItem), Name: desc, UnitAmount: inv.AmountRemaining, Quantity: 1}},
		SuccessURL: invoicePageWith(page, InvoicePagePaid), CancelURL: invoicePageWith(page, InvoicePageUnconfirmed),
		Customer: inv.Customer, CustomerEmail: inv.CustomerEmail, PIDescription: desc, PIMetadata: map[string]string{"invoice": inv.ID}}
	if err := tx.CreateCheckoutSession(ctx, cs); err != nil {
		return nil, err
	}
	return cs, nil
}

// invoicePageWith is the invoice page at page telling it what became of a
// payment.
func invoicePageWith(page, result string) string { return page + "?payment=" + result }

// invoicePage is the page of a session's invoice (its success URL without
// the query).
func invoicePage(cs *pay.CheckoutSession) string {
	page, _, _ := strings.Cut(cs.SuccessURL, "?")
	return page
}

// invoiceDeclined records a declined attempt at paying the session's
// invoice, and returns where the shopper goes: back to the invoice page,
// which offers to try again.
func (s *Service) invoiceDeclined(ctx context.Context, tx *store.Tx, cs *pay.CheckoutSession, res *cardstream.Result, fresh bool) (string, error) {
	result := InvoicePageDeclined
	if res.ResponseCode == cardstream.CodeCancelled {
		result = InvoicePageCancelled
	}
	target := invoicePageWith(invoicePage(cs), result)
	if !fresh || result == InvoicePageCancelled || cs.PaymentStatus == "paid" {
		return target, nil
	}
	if s.invoices == nil {
		return "", errNoInvoiceHooks
	}
	return target, s.invoices.HostedInvoiceDeclined(ctx, tx, cs.Scope, cs.Invoice)
}

var errNoInvoiceHooks = errors.New("hosted invoice payment: no invoice hooks are set (payments.Service.SetInvoiceHooks)")

// invoicePaid applies pi, a new hosted payment of the session's invoice,
// through the hooks: the session is complete if the invoice took it;
// otherwise the payment is refunded at once, and the refund's gateway op
// returned for the caller to send once the transaction has committed.
func (s *Service) invoicePaid(ctx context.Context, tx *store.Tx, cs *pay.CheckoutSession, pi *pay.PaymentIntent, res *cardstream.Result) (string, *pay.GatewayOp, error) {
	if s.invoices == nil {
		return "", nil, errNoInvoiceHooks
	}
	refuse, err := s.invoices.HostedInvoicePaid(ctx, tx, cs.Scope, cs.Invoice, pi)
	if err != nil {
		return "", nil, err
	}
	cs.Attempt++
	if refuse == "" {
		cs.Status, cs.PaymentStatus, cs.PaymentIntent, cs.PaidXRef = pay.CheckoutComplete, "paid", pi.ID, res.XRef
		return cs.SuccessURL, nil, tx.UpdateCheckoutSession(ctx, cs)
	}
	cs.OtherXRefs = append(cs.OtherXRefs, res.XRef)
	if err := tx.UpdateCheckoutSession(ctx, cs); err != nil {
		return "", nil, err
	}
	s.log.WarnContext(ctx, "hosted invoice payment refunded at once", "invoice", cs.Invoice, "payment_intent", pi.ID, "why", refuse)
	op, err := s.recordRefundNow(ctx, tx, pi, map[string]string{"invoice": cs.Invoice, "calmony_refund_reason": refuse})
	return invoicePageWith(invoicePage(cs), InvoicePageRefunded), op, err
}

// recordRefundNow records, in tx, a full refund of pi's charge that no one
// asked for: a pending refund (reason duplicate), refund.created and its
// gateway op, with its lease already lapsed, so that the reconciler sends
// it if this process stops before sendRefundNow does. Once sent it is an
// ordinary refund: settled, retried or parked for an operator as any other.
func (s *Service) recordRefundNow(ctx context.Context, tx *store.Tx, pi *pay.PaymentIntent, md map[string]string) (*pay.GatewayOp, error) {
	ch, err := tx.FindCharge(ctx, pi.Scope, pi.LatestCharge)
	if err != nil {
		return nil, err
	}
	re := &pay.Refund{ID: pay.NewID(pay.PrefixRefund), Scope: pi.Scope, Charge: ch.ID, PaymentIntent: pi.ID, Amount: ch.AmountCaptured - ch.AmountRefunded,
		Currency: ch.Currency, Status: pay.RefundPending, Reason: "duplicate", Metadata: md}
	if err := tx.CreateRefund(ctx, re); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(refundOp{XRef: ch.XRef, Amount: re.Amount, Captured: ch.AmountCaptured, Refunded: ch.AmountRefunded})
	if err != nil {
		return nil, err
	}
	op := &pay.GatewayOp{ID: pay.NewID(pay.PrefixGatewayOp), Scope: pi.Scope, Kind: "refund", ObjectID: re.ID, TransactionUnique: re.ID, Owner: newOwner()}
	if err := tx.CreateGatewayOp(ctx, op, raw, 0); err != nil {
		return nil, err
	}
	return op, Emit(ctx, tx, pi.Scope, pay.EventRefundCreated, re.ID, pay.RefundView(re), nil)
}

// sendRefundNow sends a refund recordRefundNow recorded, as the reconciler
// would (a QUERY first, then the refund), detached from the caller: it
// must not stop halfway because the shopper's browser went away. A failure
// leaves the op to the reconciler.
func (s *Service) sendRefundNow(ctx context.Context, op *pay.GatewayOp) {
	s.inflight.Add(1)
	defer s.inflight.Done()
	ctx = context.WithoutCancel(ctx)
	if err := s.reconcileOp(ctx, op); err != nil {
		s.log.ErrorContext(ctx, "refund of a hosted invoice payment: left to the reconciler", "op", op.ID, "refund", op.ObjectID, "err", err)
	}
}
