package api

import (
	"context"
	"crypto/subtle"
	"net/http"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
)

// readSetupChange reads a setup intent create or update.
func readSetupChange(p *params, create bool) pay.SetupIntentUpdate {
	var ch pay.SetupIntentUpdate
	ch.Customer = p.OptString("customer")
	ch.PaymentMethod = p.OptString("payment_method")
	ch.Description = readText(p, "description", 1000)
	if ch.Usage = p.OptString("usage"); ch.Usage != nil && !oneOf(*ch.Usage, []string{"on_session", "off_session"}) {
		p.Fail("usage", "parameter_invalid", "usage must be on_session or off_session.")
	}
	if !create && ch.Usage != nil {
		p.Fail("usage", "parameter_unknown", "usage can only be set when the SetupIntent is created.")
	}
	readPaymentMethodTypes(p)
	ch.RequestThreeDS = readPaymentMethodOptions(p)
	if sub, ok := p.Sub("automatic_payment_methods"); ok {
		sub.Bool("enabled")
		sub.Ignore("allow_redirects")
	}
	p.Ignore("flow_directions", "attach_to_self", "single_use", "on_behalf_of")
	ch.Metadata = readMetadata(p)
	return ch
}

func (s *Server) createSetupIntent(r *http.Request, p *params) (opFunc, error) {
	ch := readSetupChange(p, true)
	confirm, _ := p.Bool("confirm")
	var opts payments.SetupConfirmParams
	opts.ReturnURL = s.checkURL(p, "return_url", false)
	if !confirm && opts.ReturnURL != "" {
		p.Fail("return_url", "parameter_invalid", "return_url can only be passed when confirm=true.")
	}
	p.Ignore("mandate_data", "use_stripe_sdk")
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.payments.CreateSetupIntent(ctx, call, ch, confirm, opts)
	}, nil
}

func (s *Server) confirmSetupIntent(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	var opts payments.SetupConfirmParams
	opts.PaymentMethod = p.OptString("payment_method")
	opts.ReturnURL = s.checkURL(p, "return_url", false)
	opts.RequestThreeDS = readPaymentMethodOptions(p)
	p.Ignore("mandate_data", "use_stripe_sdk", "client_secret")
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.payments.ConfirmSetupIntent(ctx, call, id, opts)
	}, nil
}

func (s *Server) updateSetupIntent(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	ch := readSetupChange(p, false)
	p.stageIf("setup_intent", ch.PaymentMethod)
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.payments.UpdateSetupIntent(ctx, call, id, ch)
	}, nil
}

func (s *Server) cancelSetupIntent(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	reason := p.OptString("cancellation_reason")
	if reason != nil && !pay.IsSetupCancellationReason(*reason) {
		p.Fail("cancellation_reason", "parameter_invalid", "cancellation_reason must be one of abandoned, requested_by_customer or duplicate.")
	}
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		why := ""
		if reason != nil {
			why = *reason
		}
		return s.payments.CancelSetupIntent(ctx, call, id, why)
	}, nil
}

func (s *Server) retrieveSetupIntent(r *http.Request, p *params) (readFunc, error) {
	id := r.PathValue("id")
	secret, sent := p.String("client_secret")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		si, err := s.db.FindSetupIntent(ctx, scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "setup_intent", id, "id")
		}
		if sent && subtle.ConstantTimeCompare([]byte(secret), []byte(si.ClientSecret)) != 1 {
			return nil, pay.InvalidParam("client_secret", "The client_secret provided does not match the client_secret associated with the SetupIntent.")
		}
		return si, nil
	}, nil
}

func (s *Server) listSetupIntents(r *http.Request, p *params) (readFunc, error) {
	page := readPage(p)
	customer, _ := p.String("customer")
	p.Ignore("payment_method", "attach_to_self", "created")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		l, err := s.db.FindSetupIntents(ctx, scope, customer, page)
		if err != nil {
			return nil, err
		}
		return newList("setup_intent", "/v1/setup_intents", l, pay.SetupIntentView), nil
	}, nil
}
