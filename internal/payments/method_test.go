package payments_test

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// methodCard is the SDK 3-D Secure test card, whose 3-D Secure starts with
// the method (device fingerprint) step in the sandbox.
const methodCard = "4012001037141112"

// methodPayment confirms a payment of the method card expiring in month
// with request_three_d_secure=any and returns the intent, waiting in the
// method step.
func (e *env) methodPayment(t *testing.T, month int64) *pay.PaymentIntent {
	t.Helper()
	a, err := e.svc.CreatePaymentMethod(context.Background(), e.plain(),
		payments.CardInput{Number: methodCard, ExpMonth: month, ExpYear: int64(e.clock.Now().Year() + 2), CVC: "083"}, pay.BillingDetails{}, pay.MetadataUpdate{})
	if err != nil || a.Err != nil {
		t.Fatalf("tokenise: %+v, %v", a, err)
	}
	upd := intentParams(chargeAmount, a.Object.(*pay.PaymentMethod).ID, "")
	upd.RequestThreeDS = ptr("any")
	pi := e.charged(t, e.plain(), upd, payments.ConfirmParams{ReturnURL: "https://shop.example/back"}, pay.StatusRequiresAction)
	if a := pi.Action; a == nil || !a.Method() || a.URL != "http://sandbox.calmony.test/acs/method" || len(a.Request) != 1 {
		t.Fatalf("method step %+v", pi.Action)
	}
	return pi
}

var methodAnswerField = regexp.MustCompile(`name="threeDSMethodData" value="([^"]*)"`)

// methodAnswer does in memory what the hidden frame does: posts the
// method step's threeDSMethodData to the sandbox's method page, and
// returns what that page posts back.
func (e *env) methodAnswer(t *testing.T, a *pay.ThreeDSAction) [][2]string {
	t.Helper()
	u, _ := url.Parse(a.URL)
	req := httptest.NewRequest(http.MethodPost, u.Path, strings.NewReader(url.Values{"threeDSMethodData": {a.Request[0][1]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	e.sbx.ServeHTTP(rec, req)
	m := methodAnswerField.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusOK || m == nil {
		t.Fatalf("method page %d: %s", rec.Code, rec.Body)
	}
	return [][2]string{{"threeDSMethodData", html.UnescapeString(m[1])}}
}

// TestThreeDSecureMethodStep runs the method step with no HTTP: the first
// 65802 (threeDSMethodData) leaves the intent in requires_action with the
// method step; a challenge's answer is refused then; the method's answer
// is a continuation (its own gateway op) whose 65802 is the challenge,
// with no second requires_action event; the method's answer replayed once
// the challenge is awaited is refused and writes and sends nothing; the
// challenge's answer completes the payment (flow challenge), once. After a
// timeout with a frictionless month the payment completes at once (flow
// frictionless).
func TestThreeDSecureMethodStep(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		e := newEnv(t, postgres, options{})
		ctx := context.Background()
		pi := e.methodPayment(t, 12)
		a := pi.Action
		method := e.methodAnswer(t, a)
		before := e.written(t)
		for _, answer := range [][][2]string{{{"cres", "x:Y"}}, {{"threeDSMethodData", ""}}, append(method, [2]string{"cres", "x:Y"})} {
			if _, err := e.svc.ContinueThreeDS(ctx, pi.ID, a.Token, answer); !errors.Is(err, payments.ErrThreeDSRefused) {
				t.Errorf("answer %v during the method step: %v", answer, err)
			}
		}
		if after := e.written(t); after != before {
			t.Errorf("refused continuations wrote or sent: %s → %s", before, after)
		}

		o, err := e.svc.ContinueThreeDS(ctx, pi.ID, a.Token, method)
		if err != nil || o.Status != pay.StatusRequiresAction || o.Action == nil || o.Action.Method() || o.Action.Token != a.Token ||
			o.Action.Page != a.Page || o.Action.Ref != a.Ref || o.Action.XRef != a.XRef || len(o.Action.Request) != 1 || o.Action.Request[0][0] != "creq" {
			t.Fatalf("method continuation: %+v (action %+v), %v", o, o.Action, err)
		}
		challenge := o.Action
		if got := e.intent(t, pi.ID); got.Status != pay.StatusRequiresAction || got.Action == nil || got.Action.Request[0][0] != "creq" {
			t.Errorf("after the method step: %s %+v", got.Status, got.Action)
		}
		before = e.written(t)
		for _, answer := range [][][2]string{method, {{"threeDSMethodData", pay.ThreeDSMethodTimeout}}} {
			if _, err := e.svc.ContinueThreeDS(ctx, pi.ID, a.Token, answer); !errors.Is(err, payments.ErrThreeDSRefused) {
				t.Errorf("method answer %v replayed during the challenge: %v", answer, err)
			}
		}
		if after := e.written(t); after != before {
			t.Errorf("a replayed method answer wrote or sent: %s → %s", before, after)
		}

		answer := [][2]string{{"cres", challenge.Request[0][1] + ":Y"}}
		o, err = e.svc.ContinueThreeDS(ctx, pi.ID, a.Token, answer)
		if err != nil || o.Status != pay.StatusSucceeded || o.Action != nil {
			t.Fatalf("challenge continuation: %+v, %v", o, err)
		}
		got := e.intent(t, pi.ID)
		if r := e.charge(t, got.LatestCharge).Card.ThreeDSecure; r == nil || r.Result != "authenticated" || r.AuthenticationFlow != "challenge" {
			t.Errorf("charge's 3-D Secure %+v", r)
		}
		before = e.written(t)
		for _, answer := range [][][2]string{method, answer} {
			if _, err := e.svc.ContinueThreeDS(ctx, pi.ID, a.Token, answer); !errors.Is(err, payments.ErrThreeDSRefused) {
				t.Errorf("answer %v replayed after the payment: %v", answer, err)
			}
		}
		if after := e.written(t); after != before {
			t.Errorf("a replay wrote or sent: %s → %s", before, after)
		}
		if n := e.gw.called("3ds"); n != 2 {
			t.Errorf("%d continuations reached the gateway, want 2", n)
		}
		var steps []string
		for _, ev := range e.events(t, pi.ID) {
			if ev == "payment_intent.requires_action" || ev == "payment_intent.succeeded" {
				steps = append(steps, ev)
			}
		}
		if strings.Join(steps, " ") != "payment_intent.requires_action payment_intent.succeeded" {
			t.Errorf("events %v", steps)
		}

		// A timeout, then a frictionless month: done at once.
		pi = e.methodPayment(t, 1)
		o, err = e.svc.ContinueThreeDS(ctx, pi.ID, pi.Action.Token, [][2]string{{"threeDSMethodData", pay.ThreeDSMethodTimeout}})
		if err != nil || o.Status != pay.StatusSucceeded {
			t.Fatalf("timeout continuation: %+v, %v", o, err)
		}
		got = e.intent(t, pi.ID)
		if r := e.charge(t, got.LatestCharge).Card.ThreeDSecure; r == nil || r.Result != "authenticated" || r.AuthenticationFlow != "frictionless" {
			t.Errorf("charge's 3-D Secure after the method step %+v", r)
		}
	})
}

// TestThreeDSecureMethodAnswerLost: the method step's continuation reaches
// the gateway, which answers with the challenge, but the answer is lost:
// the intent stays processing until the reconciler, finding the sale still
// open, sends the continuation again, and the gateway's challenge is
// awaited; the challenge then completes the payment with one
// authorisation.
func TestThreeDSecureMethodAnswerLost(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		e := newEnv(t, postgres, options{})
		ctx := context.Background()
		pi := e.methodPayment(t, 12)
		token := pi.Action.Token
		e.gw.loseAnswer.Store(true)
		o, err := e.svc.ContinueThreeDS(ctx, pi.ID, token, e.methodAnswer(t, pi.Action))
		if err != nil || o.Status != pay.StatusProcessing {
			t.Fatalf("lost answer: %+v, %v", o, err)
		}
		e.clock.Advance(payments.OpLease + time.Second)
		e.reconcile(t)
		got := e.intent(t, pi.ID)
		if got.Status != pay.StatusRequiresAction || got.Action == nil || got.Action.Method() || got.Action.Request[0][0] != "creq" {
			t.Fatalf("reconciled: %s %+v", got.Status, got.Action)
		}
		o, err = e.svc.ContinueThreeDS(ctx, pi.ID, token, [][2]string{{"cres", got.Action.Request[0][1] + ":Y"}})
		if err != nil || o.Status != pay.StatusSucceeded {
			t.Fatalf("challenge continuation: %+v, %v", o, err)
		}
		if n := e.gw.called("3ds"); n != 3 {
			t.Errorf("%d continuations reached the gateway, want 3 (method, its resend, challenge)", n)
		}
		if ops := e.ops(t, pay.OpPending); len(ops) != 0 {
			t.Errorf("pending ops %+v", ops)
		}
	})
}

// TestSetupIntentThreeDSMethodStep: a setup intent's verification goes
// through the method step and then the challenge the same way, with one
// setup_intent.requires_action, and the method's answer replayed during
// the challenge is refused.
func TestSetupIntentThreeDSMethodStep(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		e := newEnv(t, postgres, options{})
		ctx := context.Background()
		a, err := e.svc.CreatePaymentMethod(ctx, e.plain(),
			payments.CardInput{Number: methodCard, ExpMonth: 12, ExpYear: int64(e.clock.Now().Year() + 2), CVC: "083"}, pay.BillingDetails{}, pay.MetadataUpdate{})
		if err != nil || a.Err != nil {
			t.Fatalf("tokenise: %+v, %v", a, err)
		}
		pm := a.Object.(*pay.PaymentMethod).ID
		ans, err := e.svc.CreateSetupIntent(ctx, e.plain(), pay.SetupIntentUpdate{PaymentMethod: &pm}, true,
			payments.SetupConfirmParams{ReturnURL: "https://shop.example/saved", RequestThreeDS: ptr("any")})
		if err != nil || ans.Err != nil {
			t.Fatalf("setup intent: %+v, %v", ans, err)
		}
		si, ok := ans.Object.(*pay.SetupIntent)
		if !ok || si.Status != pay.StatusRequiresAction || si.Action == nil || !si.Action.Method() {
			t.Fatalf("setup intent %+v", ans.Object)
		}
		method := e.methodAnswer(t, si.Action)
		o, err := e.svc.ContinueThreeDS(ctx, si.ID, si.Action.Token, method)
		if err != nil || o.Object != "setup_intent" || o.Status != pay.StatusRequiresAction || o.Action == nil || o.Action.Method() {
			t.Fatalf("method continuation: %+v, %v", o, err)
		}
		if _, err := e.svc.ContinueThreeDS(ctx, si.ID, si.Action.Token, method); !errors.Is(err, payments.ErrThreeDSRefused) {
			t.Errorf("method answer replayed: %v", err)
		}
		o, err = e.svc.ContinueThreeDS(ctx, si.ID, si.Action.Token, [][2]string{{"cres", o.Action.Request[0][1] + ":Y"}})
		if err != nil || o.Status != pay.StatusSucceeded {
			t.Fatalf("challenge continuation: %+v, %v", o, err)
		}
		n := 0
		for _, ev := range e.events(t, si.ID) {
			if ev == "setup_intent.requires_action" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d setup_intent.requires_action events", n)
		}
	})
}
