package payments

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// Setup intents (seti_): a card saved for later payments, the customer
// authenticated once (3-D Secure) where the issuer asks, so that later
// merchant-initiated payments are exempt. Confirming one sends a VERIFY of
// the stored card (no money moves), e-commerce with threeDSRedirectURL as a
// customer-initiated sale is, in the same steps as a sale: prepare records
// the gateway op (kind "setup") with the intent processing, settle records
// the outcome; a challenge leaves it requires_action and the 3-D Secure
// page continues it (ContinueThreeDS) as a payment intent's.

// SetupConfirmParams are a setup intent confirmation's own parameters.
type SetupConfirmParams struct {
	PaymentMethod  *string
	ReturnURL      string
	RequestThreeDS *string
}

// CreateSetupIntent creates a setup intent from upd and, with confirm,
// confirms it at once (a refusal before the gateway call leaves nothing
// behind). A Stripe test payment-method ID in upd is tokenised first.
func (s *Service) CreateSetupIntent(ctx context.Context, call Call, upd pay.SetupIntentUpdate, confirm bool, opts SetupConfirmParams) (*Answer, error) {
	return s.run(ctx, call, func(ctx context.Context, st *steps) error {
		fresh, err := s.tokeniseTestID(ctx, st, upd.PaymentMethod, "payment_method")
		if err != nil {
			return err
		}
		build := func(tx *store.Tx) (*pay.SetupIntent, error) {
			si := &pay.SetupIntent{Scope: st.scope, Status: pay.StatusRequiresPaymentMethod, Usage: "off_session"}
			if err := s.applySetupChange(ctx, tx, si, upd, fresh); err != nil {
				return nil, err
			}
			if fresh != nil {
				if err := tx.CreatePaymentMethod(ctx, fresh); err != nil {
					return nil, err
				}
			}
			if si.PaymentMethod != "" {
				si.Status = pay.StatusRequiresConfirmation
			}
			tx.NewSetupIntent(si)
			return si, nil
		}
		if confirm {
			return s.confirmSetup(ctx, st, "", opts, build)
		}
		return st.commit(ctx, func(tx *store.Tx) (any, error) {
			si, err := build(tx)
			if err != nil {
				return nil, err
			}
			if err := tx.CreateSetupIntent(ctx, si); err != nil {
				return nil, err
			}
			return si, Emit(ctx, tx, st.scope, pay.EventSetupIntentCreated, si.ID, pay.SetupIntentView(si), nil)
		})
	})
}

// applySetupChange sets the sent fields on si and checks them against the
// scope's objects. fresh stands for the test payment method in upd.
func (s *Service) applySetupChange(ctx context.Context, tx *store.Tx, si *pay.SetupIntent, upd pay.SetupIntentUpdate, fresh *pay.PaymentMethod) error {
	if fresh != nil {
		upd.PaymentMethod = &fresh.ID
	}
	upd.Apply(si)
	if upd.Customer != nil && *upd.Customer != "" {
		if err := requireCustomer(ctx, tx, si.Scope, *upd.Customer, "customer"); err != nil {
			return err
		}
	}
	if upd.PaymentMethod != nil && *upd.PaymentMethod != "" {
		pm := fresh
		if pm == nil {
			var err error
			if pm, err = tx.FindPaymentMethod(ctx, si.Scope, *upd.PaymentMethod); err != nil {
				return pay.NotFoundAs(err, "PaymentMethod", *upd.PaymentMethod, "payment_method")
			}
		}
		if pm.Customer != "" && si.Customer != "" && pm.Customer != si.Customer {
			return pay.InvalidParam("payment_method", "The PaymentMethod %s belongs to another customer.", pm.ID)
		}
	}
	return pay.CheckMetadata(si.Metadata)
}

// UpdateSetupIntent changes a setup intent: its customer and payment
// method only before confirmation.
func (s *Service) UpdateSetupIntent(ctx context.Context, call Call, id string, upd pay.SetupIntentUpdate) (*Answer, error) {
	return s.withCard(ctx, call, upd.PaymentMethod, "payment_method", func(ctx context.Context, tx *store.Tx, fresh *pay.PaymentMethod) (any, error) {
		si, err := tx.FindSetupIntent(ctx, call.Scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "setup_intent", id, "id")
		}
		editable := si.Status == pay.StatusRequiresPaymentMethod || si.Status == pay.StatusRequiresConfirmation
		if !editable && (upd.Customer != nil || upd.PaymentMethod != nil || upd.Usage != nil || upd.RequestThreeDS != nil) {
			return nil, si.UnexpectedState("update")
		}
		if err := s.applySetupChange(ctx, tx, si, upd, fresh); err != nil {
			return nil, err
		}
		if fresh != nil {
			if err := tx.CreatePaymentMethod(ctx, fresh); err != nil {
				return nil, err
			}
		}
		if editable {
			si.Status = pay.StatusRequiresPaymentMethod
			if si.PaymentMethod != "" {
				si.Status = pay.StatusRequiresConfirmation
			}
		}
		return si, tx.UpdateSetupIntent(ctx, si)
	})
}

// CancelSetupIntent cancels a setup intent that has not succeeded.
func (s *Service) CancelSetupIntent(ctx context.Context, call Call, id, reason string) (*Answer, error) {
	return s.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		si, err := tx.FindSetupIntent(ctx, call.Scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "setup_intent", id, "id")
		}
		if !si.Confirmable() {
			return nil, si.UnexpectedState("cancel")
		}
		si.Status, si.CancellationReason, si.Action = pay.StatusCanceled, reason, nil
		if err := tx.UpdateSetupIntent(ctx, si); err != nil {
			return nil, err
		}
		return si, Emit(ctx, tx, call.Scope, pay.EventSetupIntentCanceled, si.ID, pay.SetupIntentView(si), nil)
	})
}

// ConfirmSetupIntent verifies a setup intent's card, with 3-D Secure.
func (s *Service) ConfirmSetupIntent(ctx context.Context, call Call, id string, opts SetupConfirmParams) (*Answer, error) {
	return s.run(ctx, call, func(ctx context.Context, st *steps) error { return s.confirmSetup(ctx, st, id, opts, nil) })
}

// setupOp is what a setup's gateway op keeps (never card data).
type setupOp struct {
	PaymentMethod string `json:"payment_method"`
	XRef          string `json:"xref"`
	threeDSContext
	ThreeDSMonth int `json:"three_ds_month,omitempty"`
	// TestDecline (test mode): Stripe's decline test cards cannot be set
	// up, as they cannot be attached (AttachDecline): declined here, the
	// verification not sent.
	TestDecline string `json:"test_decline,omitempty"`
}

func (o setupOp) send(ctx context.Context, gw Gateway, transactionUnique, orderRef string) (*cardstream.Result, error) {
	if o.TestDecline != "" {
		msg := "TEST CARD DECLINED: " + o.TestDecline + " (Stripe test card; decided by Calmony Pay, not sent to the gateway)"
		return &cardstream.Result{Action: "VERIFY", Outcome: cardstream.OutcomeDeclined, DeclineCode: o.TestDecline, State: cardstream.StateDeclined,
			ResponseMessage: msg, Fields: cardstream.Fields{{Name: "action", Value: "VERIFY"}, {Name: "responseMessage", Value: msg}}}, nil
	}
	req := cardstream.VerifyRequest{XRef: o.XRef, Type: cardstream.TypeECOM, Agreement: cardstream.AgreementCardOnFile,
		TransactionUnique: transactionUnique, OrderRef: orderRef}
	if o.ThreeDS {
		req.ThreeDS = &cardstream.ThreeDSOptions{RedirectURL: o.RedirectURL}
	}
	if o.ThreeDSMonth != 0 {
		req.Extra = cardstream.Fields{{Name: "cardExpiryMonth", Value: fmt.Sprintf("%02d", o.ThreeDSMonth)},
			{Name: "cardExpiryYear", Value: fmt.Sprintf("%02d", (time.Now().Year()+2)%100)}}
	}
	return gw.Verify(ctx, req)
}

// confirmSetup verifies a setup intent's card. create, if not nil, builds
// a new intent (id unused), stored by prepare as processing.
func (s *Service) confirmSetup(ctx context.Context, st *steps, id string, opts SetupConfirmParams, create func(tx *store.Tx) (*pay.SetupIntent, error)) error {
	fresh, err := s.tokeniseTestID(ctx, st, opts.PaymentMethod, "payment_method")
	if err != nil {
		return err
	}
	if fresh != nil {
		opts.PaymentMethod = &fresh.ID
	}
	gw, err := s.gateways.For(st.scope.Livemode)
	if err != nil {
		return err
	}
	var (
		si  *pay.SetupIntent
		req setupOp
	)
	err = st.prepare(ctx, func(tx *store.Tx) error {
		var created any
		if create != nil {
			if si, err = create(tx); err != nil {
				return err
			}
			created = pay.SetupIntentView(si)
		} else if si, err = tx.FindSetupIntent(ctx, st.scope, id); err != nil {
			return pay.NotFoundAs(err, "setup_intent", id, "id")
		}
		if !si.Confirmable() {
			return si.UnexpectedState("confirm")
		}
		if fresh != nil {
			fresh.Customer = ""
			if err := tx.CreatePaymentMethod(ctx, fresh); err != nil {
				return err
			}
		}
		if opts.PaymentMethod != nil {
			si.PaymentMethod = *opts.PaymentMethod
		}
		if opts.RequestThreeDS != nil {
			si.RequestThreeDS = *opts.RequestThreeDS
		}
		if si.PaymentMethod == "" {
			return pay.InvalidRequest("setup_intent_unexpected_state", "payment_method",
				"You cannot confirm this SetupIntent because it's missing a payment method. Pass payment_method.")
		}
		pm, err := tx.FindPaymentMethod(ctx, st.scope, si.PaymentMethod)
		if err != nil {
			return pay.NotFoundAs(err, "PaymentMethod", si.PaymentMethod, "payment_method")
		}
		if pm.Customer != "" && si.Customer != "" && pm.Customer != si.Customer {
			return pay.InvalidParam("payment_method", "The PaymentMethod %s belongs to another customer.", pm.ID)
		}
		req = setupOp{PaymentMethod: pm.ID, XRef: pm.XRef}
		if !st.scope.Livemode && pm.Card.TestDecline != "" && !pm.Card.TestAttaches {
			req.TestDecline = pm.Card.TestDecline
		}
		switch {
		case st.scope.Livemode:
			req.ThreeDS = true
		case testThreeDSApplies(pm.Card, si.RequestThreeDS):
			req.ThreeDS, req.ThreeDSMonth = true, threeDSMonth(pm.Card, si.RequestThreeDS)
		}
		if req.ThreeDS && s.publicURL != "" {
			req.Token, req.ReturnURL = pay.RandomString(32), opts.ReturnURL
			req.RedirectURL = s.publicURL + pay.ThreeDSPagePath + si.ID + "/return?token=" + req.Token
		} else {
			req.ThreeDS = false
		}
		si.LastError, si.Action = nil, nil
		si.Attempt++
		si.Status = pay.StatusProcessing
		if err := st.recordOp(ctx, tx, st.newOp(si.Scope, "setup", si.ID, fmt.Sprintf("%s-%d", si.ID, si.Attempt)), req, si); err != nil {
			return err
		}
		if create != nil {
			if err := tx.CreateSetupIntent(ctx, si); err != nil {
				return err
			}
			return Emit(ctx, tx, st.scope, pay.EventSetupIntentCreated, si.ID, created, nil)
		}
		return tx.UpdateSetupIntent(ctx, si)
	})
	if err != nil {
		return err
	}
	op := st.op
	res, callErr := req.send(ctx, gw, op.TransactionUnique, si.ID)
	return st.settle(ctx, func(tx *store.Tx) (any, error) { return s.settleSetup(ctx, tx, op, res, callErr, &req.threeDSContext) })
}

// SetupAuthenticationFailure is the error of a setup whose 3-D Secure
// authentication failed, as Stripe's last_setup_error shows it.
func SetupAuthenticationFailure() *pay.Error {
	return &pay.Error{Status: http.StatusPaymentRequired, Type: pay.ErrorTypeInvalidRequest, Code: "setup_intent_authentication_failure",
		Message: "The latest attempt to set up the payment method has failed because authentication failed."}
}

// settleSetup records a setup's (or its continuation's, op.Kind "3ds")
// outcome, as settleSale does a sale's.
func (s *Service) settleSetup(ctx context.Context, tx *store.Tx, op *pay.GatewayOp, res *cardstream.Result, callErr error, tds *threeDSContext) (any, error) {
	si, err := tx.FindSetupIntent(ctx, op.Scope, op.ObjectID)
	if err != nil {
		return nil, err
	}
	if callErr != nil {
		if uncertain(callErr) {
			s.log.WarnContext(ctx, "gateway verification outcome unknown; the reconciler will settle it", "op", op.ID, "setup_intent", si.ID, "err", callErr)
			return si, errNoOutcome
		}
		if err := finishOp(ctx, tx, op, pay.OpDone, "refused: "+callErr.Error()); err != nil {
			return nil, err
		}
		return s.failSetup(ctx, tx, op, si, GatewayUnavailable(callErr))
	}
	if res.Outcome == cardstream.OutcomeDuplicate {
		return s.park(ctx, tx, op, "gateway reported a duplicate: an earlier copy of this verification landed and its answer was lost")
	}
	if err := finishOp(ctx, tx, op, pay.OpDone, res.Outcome.String()); err != nil {
		return nil, err
	}
	if res.ResponseCode == cardstream.Code3DSAuthRequired && res.ThreeDS != nil && res.ThreeDS.Ref != "" && tds != nil && tds.Token != "" &&
		cardstream.AbsoluteURL(res.ThreeDS.URL) {
		a := &pay.ThreeDSAction{Token: tds.Token, ReturnURL: tds.ReturnURL, Ref: res.ThreeDS.Ref, URL: res.ThreeDS.URL, XRef: res.XRef,
			Page: s.publicURL + pay.ThreeDSPagePath + si.ID + "?token=" + tds.Token}
		for _, f := range res.ThreeDS.Request {
			a.Request = append(a.Request, [2]string{f.Name, f.Value})
		}
		if a.XRef == "" && si.Action != nil {
			a.XRef = si.Action.XRef
		}
		si.Status, si.Action = pay.StatusRequiresAction, a
		if err := tx.UpdateSetupIntent(ctx, si); err != nil {
			return nil, err
		}
		if op.Kind == "3ds" {
			return si, nil // a further step: no second event
		}
		return si, Emit(ctx, tx, op.Scope, pay.EventSetupIntentRequiresAction, si.ID, pay.SetupIntentView(si), nil)
	}
	if op.Kind == "3ds" && (res.ResponseCode == cardstream.Code3DSError || res.Outcome == cardstream.OutcomeGatewayError) && si.Action != nil {
		si.Status = pay.StatusRequiresAction // the challenge is still open
		return si, tx.UpdateSetupIntent(ctx, si)
	}
	si.Action = nil
	if !res.Approved() {
		e := DeclineError(res)
		if res.ResponseCode == cardstream.Code3DSResultNotAccepted || op.Kind == "3ds" && res.Outcome == cardstream.OutcomeThreeDSRequired ||
			op.Kind == "3ds" && res.Outcome == cardstream.OutcomeInvalidRequest {
			e = SetupAuthenticationFailure()
		}
		return s.failSetup(ctx, tx, op, si, e)
	}
	pm, err := tx.FindPaymentMethod(ctx, op.Scope, si.PaymentMethod)
	if err != nil {
		return nil, err
	}
	flow := "frictionless"
	if op.Kind == "3ds" {
		flow = "challenge"
	}
	r := threeDSResult(res, flow)
	attached := si.Customer != "" && pm.Customer == ""
	if attached {
		pm.Customer = si.Customer
	}
	setUp := si.Usage != "on_session" && r != nil && (r.Result == "authenticated" || r.Result == "attempt_acknowledged") && !pm.Card.SetUpOffSession
	if setUp {
		pm.Card.SetUpOffSession = true
	}
	if attached || setUp {
		if err := tx.UpdatePaymentMethod(ctx, pm); err != nil {
			return nil, err
		}
	}
	si.Status = pay.StatusSucceeded
	if err := tx.UpdateSetupIntent(ctx, si); err != nil {
		return nil, err
	}
	if attached {
		if err := Emit(ctx, tx, op.Scope, pay.EventPaymentMethodAttached, pm.ID, pay.PaymentMethodView(pm), nil); err != nil {
			return nil, err
		}
	}
	return si, Emit(ctx, tx, op.Scope, pay.EventSetupIntentSucceeded, si.ID, pay.SetupIntentView(si), nil)
}

// failSetup records a refused setup: the intent needs a new payment
// method, and the error is answered (and replayed).
func (s *Service) failSetup(ctx context.Context, tx *store.Tx, op *pay.GatewayOp, si *pay.SetupIntent, e *pay.Error) (any, error) {
	si.Status, si.Action, si.LastError = pay.StatusRequiresPaymentMethod, nil, LastPaymentError(e, si.PaymentMethod)
	if err := tx.UpdateSetupIntent(ctx, si); err != nil {
		return nil, err
	}
	v := pay.SetupIntentView(si)
	e.SetupIntent = v
	if err := Emit(ctx, tx, op.Scope, pay.EventSetupIntentSetupFailed, si.ID, v, nil); err != nil {
		return nil, err
	}
	return nil, e
}
