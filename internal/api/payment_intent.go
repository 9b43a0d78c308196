package api

import (
	"context"
	"net/http"
	"slices"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// minimumAmounts are Stripe's smallest chargeable amounts per currency.
var minimumAmounts = map[string]int64{"gbp": 30, "eur": 50, "usd": 50}

// intentChange is a parsed create or update of a payment intent.
type intentChange struct {
	amount                                                     *int64
	currency, customer, paymentMethod, description, descriptor *string
	receiptEmail, captureMethod, setupFutureUsage              *string
	metadata                                                   metadataChange
}

func readIntentChange(p *params) intentChange {
	var ch intentChange
	if ch.amount = p.OptInt64("amount"); ch.amount != nil && *ch.amount < 1 {
		p.Fail("amount", "parameter_invalid_integer", "amount must be a positive integer in the currency's smallest unit.")
	}
	ch.currency = p.OptString("currency")
	ch.customer = p.OptString("customer")
	ch.paymentMethod = p.OptString("payment_method")
	ch.description = readText(p, "description", 1000)
	ch.descriptor = readDescriptor(p, "statement_descriptor")
	if ch.receiptEmail = p.OptString("receipt_email"); ch.receiptEmail != nil && *ch.receiptEmail != "" && !plausibleEmail(*ch.receiptEmail) {
		p.Fail("receipt_email", "email_invalid", "Invalid email address.")
	}
	if ch.captureMethod = p.OptString("capture_method"); ch.captureMethod != nil && !oneOf(*ch.captureMethod, []string{"automatic", "automatic_async", "manual"}) {
		p.Fail("capture_method", "parameter_invalid", "capture_method must be automatic, automatic_async or manual.")
	}
	if ch.setupFutureUsage = p.OptString("setup_future_usage"); ch.setupFutureUsage != nil && !oneOf(*ch.setupFutureUsage, []string{"", "on_session", "off_session"}) {
		p.Fail("setup_future_usage", "parameter_invalid", "setup_future_usage must be on_session or off_session.")
	}
	readPaymentMethodTypes(p)
	if sub, ok := p.Sub("automatic_payment_methods"); ok {
		sub.Bool("enabled")
		sub.Ignore("allow_redirects")
	}
	p.Ignore("confirmation_method")
	ch.metadata = readMetadata(p)
	return ch
}

// readPaymentMethodTypes checks payment_method_types: card is the only type
// there is.
func readPaymentMethodTypes(p *params) {
	if types, ok := p.StringSlice("payment_method_types"); ok && slices.ContainsFunc(types, func(t string) bool { return t != "card" }) {
		p.Fail("payment_method_types", "parameter_invalid", "Only card payments are supported: payment_method_types may only contain card.")
	}
}

// apply sets the sent fields on pi and checks them against the project's
// currencies and the scope's objects. It returns the payment method it
// checked, if one was sent. fresh, if not nil, is the payment method this
// request made from the Stripe test ID in ch, and stands for it (the
// caller saves it once the change is checked).
func (s *Server) applyIntentChange(ctx context.Context, tx *store.Tx, pi *pay.PaymentIntent, ch intentChange, fresh *pay.PaymentMethod) (*pay.PaymentMethod, error) {
	if fresh != nil {
		ch.paymentMethod = &fresh.ID
	}
	if ch.amount != nil {
		pi.Amount = *ch.amount
	}
	if ch.currency != nil {
		pi.Currency = *ch.currency
	}
	if payments.CurrencyNumeric(pi.Currency) == "" || !s.currencyAllowed(ctx, pi.Scope, pi.Currency) {
		return nil, pay.InvalidParam("currency", "Currency %q is not enabled for this project.", clip(pi.Currency, 10))
	}
	if pi.Amount < minimumAmounts[pi.Currency] {
		return nil, pay.InvalidRequest("amount_too_small", "amount", "Amount must be at least %d %s.", minimumAmounts[pi.Currency], pi.Currency)
	}
	if pi.Amount > 99999999 {
		return nil, pay.InvalidRequest("amount_too_large", "amount", "Amount must be no more than 99999999.")
	}
	if ch.customer != nil {
		if *ch.customer != "" {
			if err := s.requireCustomer(ctx, tx, pi.Scope, *ch.customer, "customer"); err != nil {
				return nil, err
			}
		}
		pi.Customer = *ch.customer
	}
	var pm *pay.PaymentMethod
	if ch.paymentMethod != nil && *ch.paymentMethod != "" {
		var err error
		if pm = fresh; pm == nil {
			if pm, err = tx.FindPaymentMethod(ctx, pi.Scope, *ch.paymentMethod); err != nil {
				return nil, notFoundAs(err, "PaymentMethod", *ch.paymentMethod, "payment_method")
			}
		}
		if pm.Customer != "" && pi.Customer != "" && pm.Customer != pi.Customer {
			return nil, pay.InvalidParam("payment_method", "The PaymentMethod %s belongs to another customer.", pm.ID)
		}
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&pi.PaymentMethod, ch.paymentMethod)
	set(&pi.Description, ch.description)
	set(&pi.StatementDescriptor, ch.descriptor)
	set(&pi.ReceiptEmail, ch.receiptEmail)
	set(&pi.CaptureMethod, ch.captureMethod)
	set(&pi.SetupFutureUsage, ch.setupFutureUsage)
	pi.Metadata = ch.metadata.apply(pi.Metadata)
	return pm, checkMetadata(pi.Metadata)
}

func (s *Server) createPaymentIntent(r *http.Request, p *params) (stagedFunc, error) {
	ch := readIntentChange(p)
	if ch.amount == nil {
		p.Missing("amount")
	}
	if ch.currency == nil {
		p.Missing("currency")
	}
	confirm, _ := p.Bool("confirm")
	opts := readConfirmOptions(p)
	if err := p.Err(); err != nil {
		return nil, err
	}
	return func(ctx context.Context, st *stage) error {
		fresh, err := s.tokeniseTestID(ctx, st, ch.paymentMethod, "payment_method")
		if err != nil {
			return err
		}
		// build makes the new intent, with its ID; the caller stores it and
		// records its payment_intent.created event.
		build := func(tx *store.Tx) (*pay.PaymentIntent, *pay.PaymentMethod, error) {
			pi := &pay.PaymentIntent{Scope: st.scope, Status: pay.StatusRequiresPaymentMethod, CaptureMethod: "automatic"}
			pm, err := s.applyIntentChange(ctx, tx, pi, ch, fresh)
			if err != nil {
				return nil, nil, err
			}
			if fresh != nil {
				if err := tx.CreatePaymentMethod(ctx, fresh); err != nil {
					return nil, nil, err
				}
			}
			if pi.PaymentMethod != "" {
				pi.Status = pay.StatusRequiresConfirmation
			}
			tx.NewPaymentIntent(pi)
			return pi, pm, nil
		}
		if confirm {
			return s.confirm(ctx, st, "", opts, build)
		}
		// No gateway call: one transaction writes the intent and its
		// response, so a crash leaves either both or neither.
		return st.commit(ctx, func(tx *store.Tx) (any, error) {
			pi, _, err := build(tx)
			if err != nil {
				return nil, err
			}
			if err := tx.CreatePaymentIntent(ctx, pi); err != nil {
				return nil, err
			}
			v := pay.PaymentIntentView(pi)
			return v, s.emit(ctx, tx, st.scope, pay.EventPaymentIntentCreated, pi.ID, v, nil)
		})
	}, nil
}

func (s *Server) retrievePaymentIntent(r *http.Request, p *params) (readFunc, error) {
	id := r.PathValue("id")
	p.Ignore("client_secret")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		pi, err := s.db.FindPaymentIntent(ctx, scope, id)
		if err != nil {
			return nil, notFoundAs(err, "payment_intent", id, "id")
		}
		return pay.PaymentIntentView(pi), nil
	}, nil
}

func (s *Server) updatePaymentIntent(r *http.Request, p *params) (cardWrite, error) {
	id := r.PathValue("id")
	ch := readIntentChange(p)
	return cardWrite{paymentMethod: ch.paymentMethod, fn: func(ctx context.Context, tx *store.Tx, scope pay.Scope, fresh *pay.PaymentMethod) (any, error) {
		pi, err := tx.FindPaymentIntent(ctx, scope, id)
		if err != nil {
			return nil, notFoundAs(err, "payment_intent", id, "id")
		}
		editable := pi.Editable()
		if !editable && (ch.amount != nil || ch.currency != nil || ch.paymentMethod != nil || ch.customer != nil || ch.captureMethod != nil) {
			return nil, pi.UnexpectedState("update")
		}
		before := pay.PaymentIntentView(pi)
		if _, err := s.applyIntentChange(ctx, tx, pi, ch, fresh); err != nil {
			return nil, err
		}
		if fresh != nil {
			if err := tx.CreatePaymentMethod(ctx, fresh); err != nil {
				return nil, err
			}
		}
		if editable {
			pi.Status = pay.StatusRequiresPaymentMethod
			if pi.PaymentMethod != "" {
				pi.Status = pay.StatusRequiresConfirmation
			}
		}
		if err := tx.UpdatePaymentIntent(ctx, pi); err != nil {
			return nil, err
		}
		after := pay.PaymentIntentView(pi)
		return after, s.emitUpdate(ctx, tx, scope, pay.EventPaymentIntentUpdated, pi.ID, before, after)
	}}, nil
}

func (s *Server) listPaymentIntents(r *http.Request, p *params) (readFunc, error) {
	page := readPage(p)
	var f store.PaymentIntentFilter
	f.Customer, _ = p.String("customer")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		l, err := s.db.FindPaymentIntents(ctx, scope, f, page)
		if err != nil {
			return nil, err
		}
		return newList("payment_intent", "/v1/payment_intents", l, pay.PaymentIntentView), nil
	}, nil
}
