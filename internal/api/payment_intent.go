package api

import (
	"context"
	"crypto/subtle"
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
	ch.RequestThreeDS = readPaymentMethodOptions(p)
	if sub, ok := p.Sub("automatic_payment_methods"); ok {
		sub.Bool("enabled")
		sub.Ignore("allow_redirects")
	}
	p.Ignore("confirmation_method")
	ch.Metadata = readMetadata(p)
	return ch
}

// readPaymentMethodOptions reads payment_method_options: of its card
// options, request_three_d_secure (automatic, any or challenge) is kept;
// the others are accepted and have no effect.
func readPaymentMethodOptions(p *params) *string {
	if p.Unset("payment_method_options") {
		return nil
	}
	opts, ok := p.Sub("payment_method_options")
	if !ok {
		return nil
	}
	card, ok := opts.Sub("card")
	if !ok {
		return nil
	}
	card.Ignore("capture_method", "installments", "mandate_options", "network", "setup_future_usage", "require_cvc_recollection",
		"statement_descriptor_suffix_kana", "statement_descriptor_suffix_kanji", "moto", "cvc_token", "request_extended_authorization",
		"request_incremental_authorization", "request_multicapture", "request_overcapture")
	v := card.OptString("request_three_d_secure")
	if v != nil && !oneOf(*v, []string{"automatic", "any", "challenge"}) {
		card.Fail("request_three_d_secure", "parameter_invalid", "request_three_d_secure must be one of automatic, any or challenge.")
	}
	return v
}

// readPaymentMethodTypes checks payment_method_types: card is the only type
// there is.
func readPaymentMethodTypes(p *params) {
	if types, ok := p.StringSlice("payment_method_types"); ok && slices.ContainsFunc(types, func(t string) bool { return t != "card" }) {
		p.Fail("payment_method_types", "parameter_invalid", "Only card payments are supported: payment_method_types may only contain card.")
	}
}

func (s *Server) createPaymentIntent(r *http.Request, p *params) (opFunc, error) {
	ch := readIntentChange(p)
	if ch.Amount == nil {
		p.Missing("amount")
	}
	if ch.Currency == nil {
		p.Missing("currency")
	}
	confirm, _ := p.Bool("confirm")
	opts := s.readConfirmOptions(p)
	if !confirm && opts.ReturnURL != "" {
		p.Fail("return_url", "parameter_invalid", "return_url can only be passed when confirm=true.")
	}
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.payments.CreatePaymentIntent(ctx, call, ch, confirm, opts)
	}, nil
}

// readConfirmOptions reads confirm's own parameters.
func (s *Server) readConfirmOptions(p *params) payments.ConfirmParams {
	var o payments.ConfirmParams
	if v, ok := p.String("off_session"); ok {
		o.OffSession = v == "true" || v == "one_off" || v == "recurring"
		if !oneOf(v, []string{"true", "false", "one_off", "recurring"}) {
			p.Fail("off_session", "parameter_invalid_boolean", "off_session must be true or false.")
		}
	}
	o.ReturnURL = s.checkURL(p, "return_url", false)
	o.ErrorOnRequiresAction, _ = p.Bool("error_on_requires_action")
	p.Ignore("mandate_data", "use_stripe_sdk")
	return o
}

func (s *Server) confirmPaymentIntent(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	opts := s.readConfirmOptions(p)
	opts.RequestThreeDS = readPaymentMethodOptions(p)
	opts.PaymentMethod = p.OptString("payment_method")
	if opts.ReceiptEmail = p.OptString("receipt_email"); opts.ReceiptEmail != nil && *opts.ReceiptEmail != "" && !plausibleEmail(*opts.ReceiptEmail) {
		p.Fail("receipt_email", "email_invalid", "Invalid email address.")
	}
	p.Ignore("payment_method_types", "setup_future_usage", "capture_method", "shipping")
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.payments.ConfirmPaymentIntent(ctx, call, id, opts)
	}, nil
}

func (s *Server) capturePaymentIntent(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	var c payments.CaptureParams
	if c.Amount = p.OptInt64("amount_to_capture"); c.Amount != nil && *c.Amount < 1 {
		p.Fail("amount_to_capture", "parameter_invalid_integer", "amount_to_capture must be a positive integer.")
	}
	c.Metadata = readMetadata(p)
	c.StatementDescriptor = readDescriptor(p, "statement_descriptor")
	readDescriptor(p, "statement_descriptor_suffix") // checked, not kept: there is no prefix to add it to
	p.Ignore("final_capture")
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.payments.CapturePaymentIntent(ctx, call, id, c)
	}, nil
}

func (s *Server) cancelPaymentIntent(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	reason := p.OptString("cancellation_reason")
	if reason != nil && !pay.IsCancellationReason(*reason) {
		p.Fail("cancellation_reason", "parameter_invalid", "cancellation_reason must be one of duplicate, fraudulent, requested_by_customer or abandoned.")
	}
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		why := ""
		if reason != nil {
			why = *reason
		}
		return s.payments.CancelPaymentIntent(ctx, call, id, why)
	}, nil
}

func (s *Server) retrievePaymentIntent(r *http.Request, p *params) (readFunc, error) {
	id := r.PathValue("id")
	secret, sent := p.String("client_secret")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		pi, err := s.db.FindPaymentIntent(ctx, scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "payment_intent", id, "id")
		}
		// A client secret sent with it (the payment_intent_client_secret a
		// return_url received) must be the intent's.
		if sent && subtle.ConstantTimeCompare([]byte(secret), []byte(pi.ClientSecret)) != 1 {
			return nil, pay.InvalidParam("client_secret", "The client_secret provided does not match the client_secret associated with the PaymentIntent.")
		}
		return pi, nil
	}, nil
}

func (s *Server) updatePaymentIntent(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	ch := readIntentChange(p)
	p.stageIf("payment_intent", ch.PaymentMethod)
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.payments.UpdatePaymentIntent(ctx, call, id, ch)
	}, nil
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
