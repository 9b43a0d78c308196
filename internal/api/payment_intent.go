package api

import (
	"context"
	"net/http"
	"slices"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// readIntentChange reads a payment intent create or update.
func readIntentChange(p *params) pay.PaymentIntentUpdate {
	var ch pay.PaymentIntentUpdate
	if ch.Amount = p.OptInt64("amount"); ch.Amount != nil && *ch.Amount < 1 {
		p.Fail("amount", "parameter_invalid_integer", "amount must be a positive integer in the currency's smallest unit.")
	}
	ch.Currency = p.OptString("currency")
	ch.Customer = p.OptString("customer")
	ch.PaymentMethod = p.OptString("payment_method")
	ch.Description = readText(p, "description", 1000)
	ch.StatementDescriptor = readDescriptor(p, "statement_descriptor")
	if ch.ReceiptEmail = p.OptString("receipt_email"); ch.ReceiptEmail != nil && *ch.ReceiptEmail != "" && !plausibleEmail(*ch.ReceiptEmail) {
		p.Fail("receipt_email", "email_invalid", "Invalid email address.")
	}
	if ch.CaptureMethod = p.OptString("capture_method"); ch.CaptureMethod != nil && !oneOf(*ch.CaptureMethod, []string{"automatic", "automatic_async", "manual"}) {
		p.Fail("capture_method", "parameter_invalid", "capture_method must be automatic, automatic_async or manual.")
	}
	if ch.SetupFutureUsage = p.OptString("setup_future_usage"); ch.SetupFutureUsage != nil && !oneOf(*ch.SetupFutureUsage, []string{"", "on_session", "off_session"}) {
		p.Fail("setup_future_usage", "parameter_invalid", "setup_future_usage must be on_session or off_session.")
	}
	readPaymentMethodTypes(p)
	if sub, ok := p.Sub("automatic_payment_methods"); ok {
		sub.Bool("enabled")
		sub.Ignore("allow_redirects")
	}
	p.Ignore("confirmation_method")
	ch.Metadata = readMetadata(p)
	return ch
}

// readPaymentMethodTypes checks payment_method_types: card is the only type
// there is.
func readPaymentMethodTypes(p *params) {
	if types, ok := p.StringSlice("payment_method_types"); ok && slices.ContainsFunc(types, func(t string) bool { return t != "card" }) {
		p.Fail("payment_method_types", "parameter_invalid", "Only card payments are supported: payment_method_types may only contain card.")
	}
}

// applyIntentChange sets the sent fields on pi and checks them against the project's
// currencies and the scope's objects. It returns the payment method it
// checked, if one was sent. fresh, if not nil, is the payment method this
// request made from the Stripe test ID in ch, and stands for it (the
// caller saves it once the change is checked).
func (s *Server) applyIntentChange(ctx context.Context, tx *store.Tx, pi *pay.PaymentIntent, ch pay.PaymentIntentUpdate, fresh *pay.PaymentMethod) (*pay.PaymentMethod, error) {
	if fresh != nil {
		ch.PaymentMethod = &fresh.ID
	}
	ch.Apply(pi)
	if payments.CurrencyNumeric(pi.Currency) == "" || !s.currencyAllowed(ctx, pi.Scope, pi.Currency) {
		return nil, pay.InvalidParam("currency", "Currency %q is not enabled for this project.", pay.Clip(pi.Currency, 10))
	}
	if pi.Amount < pay.MinimumAmount(pi.Currency) {
		return nil, pay.InvalidRequest("amount_too_small", "amount", "Amount must be at least %d %s.", pay.MinimumAmount(pi.Currency), pi.Currency)
	}
	if pi.Amount > 99999999 {
		return nil, pay.InvalidRequest("amount_too_large", "amount", "Amount must be no more than 99999999.")
	}
	if ch.Customer != nil && *ch.Customer != "" {
		if err := s.requireCustomer(ctx, tx, pi.Scope, *ch.Customer, "customer"); err != nil {
			return nil, err
		}
	}
	var pm *pay.PaymentMethod
	if ch.PaymentMethod != nil && *ch.PaymentMethod != "" {
		var err error
		if pm = fresh; pm == nil {
			if pm, err = tx.FindPaymentMethod(ctx, pi.Scope, *ch.PaymentMethod); err != nil {
				return nil, pay.NotFoundAs(err, "PaymentMethod", *ch.PaymentMethod, "payment_method")
			}
		}
		if pm.Customer != "" && pi.Customer != "" && pm.Customer != pi.Customer {
			return nil, pay.InvalidParam("payment_method", "The PaymentMethod %s belongs to another customer.", pm.ID)
		}
	}
	return pm, pay.CheckMetadata(pi.Metadata)
}

func (s *Server) createPaymentIntent(r *http.Request, p *params) (stagedFunc, error) {
	ch := readIntentChange(p)
	if ch.Amount == nil {
		p.Missing("amount")
	}
	if ch.Currency == nil {
		p.Missing("currency")
	}
	confirm, _ := p.Bool("confirm")
	opts := readConfirmOptions(p)
	if err := p.Err(); err != nil {
		return nil, err
	}
	return func(ctx context.Context, st *stage) error {
		fresh, err := s.tokeniseTestID(ctx, st, ch.PaymentMethod, "payment_method")
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
			return nil, pay.NotFoundAs(err, "payment_intent", id, "id")
		}
		return pay.PaymentIntentView(pi), nil
	}, nil
}

func (s *Server) updatePaymentIntent(r *http.Request, p *params) (cardWrite, error) {
	id := r.PathValue("id")
	ch := readIntentChange(p)
	return cardWrite{paymentMethod: ch.PaymentMethod, fn: func(ctx context.Context, tx *store.Tx, scope pay.Scope, fresh *pay.PaymentMethod) (any, error) {
		pi, err := tx.FindPaymentIntent(ctx, scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "payment_intent", id, "id")
		}
		editable := pi.Editable()
		if !editable && (ch.Amount != nil || ch.Currency != nil || ch.PaymentMethod != nil || ch.Customer != nil || ch.CaptureMethod != nil) {
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
