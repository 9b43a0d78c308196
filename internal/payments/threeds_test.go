package payments_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// TestThreeDSecureOperations runs 3-D Secure with no HTTP: a Stripe 3-D
// Secure test card's confirmation waits in requires_action with the
// challenge; a continuation with a wrong token, or once it is over, is
// refused and writes and sends nothing; the right one succeeds, keeps the
// result on the charge and says where the browser goes. Off-session the
// card is declined with authentication_required before any sale is sent.
func TestThreeDSecureOperations(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		e := newEnv(t, postgres, options{})
		ctx := context.Background()
		pm := e.card(t, "4000000000003220")
		pi := e.charged(t, e.plain(), intentParams(chargeAmount, pm.ID, ""), payments.ConfirmParams{ReturnURL: "https://shop.example/back?o=1"},
			pay.StatusRequiresAction)
		a := pi.Action
		if a == nil || a.Token == "" || a.XRef == "" || a.Page != "http://calmony.test/3ds/"+pi.ID+"?token="+a.Token || len(a.Request) != 1 || a.Request[0][0] != "creq" {
			t.Fatalf("action %+v", a)
		}
		sale := e.gw.lastSale(t)
		if sale.ThreeDS == nil || sale.ThreeDS.RedirectURL != "http://calmony.test/3ds/"+pi.ID+"/return?token="+a.Token ||
			!slices.ContainsFunc(sale.Extra, func(f cardstream.Field) bool { return f.Name == "cardExpiryMonth" && f.Value == "12" }) {
			t.Errorf("sale sent %+v", sale)
		}
		answer := [][2]string{{"cres", a.Request[0][1] + ":Y"}}
		before := e.written(t)
		for _, token := range []string{"", "wrong", strings.ToUpper(a.Token)} {
			if _, err := e.svc.ContinueThreeDS(ctx, pi.ID, token, answer); !errors.Is(err, payments.ErrThreeDSRefused) {
				t.Errorf("token %q: %v", token, err)
			}
		}
		if _, err := e.svc.ContinueThreeDS(ctx, "pi_unknown", a.Token, answer); !errors.Is(err, payments.ErrThreeDSRefused) {
			t.Errorf("unknown intent: %v", err)
		}
		if after := e.written(t); after != before {
			t.Errorf("refused continuations wrote or sent: %s → %s", before, after)
		}
		o, err := e.svc.ContinueThreeDS(ctx, pi.ID, a.Token, answer)
		if err != nil || o.Status != pay.StatusSucceeded || o.Action != nil || o.ReturnURL != "https://shop.example/back?o=1" || o.Object != "payment_intent" {
			t.Fatalf("continuation: %+v, %v", o, err)
		}
		got := e.intent(t, pi.ID)
		if target, status := payments.ThreeDSReturn(o); status != "succeeded" ||
			target != "https://shop.example/back?o=1&payment_intent="+pi.ID+"&payment_intent_client_secret="+pi.ClientSecret+"&redirect_status=succeeded" {
			t.Errorf("return to %s (%s)", target, status)
		}
		if r := e.charge(t, got.LatestCharge).Card.ThreeDSecure; r == nil || r.Result != "authenticated" || r.AuthenticationFlow != "challenge" || r.ECI != "05" {
			t.Errorf("charge's 3-D Secure %+v", r)
		}
		before = e.written(t)
		if _, err := e.svc.ContinueThreeDS(ctx, pi.ID, a.Token, answer); !errors.Is(err, payments.ErrThreeDSRefused) {
			t.Errorf("replayed continuation: %v", err)
		}
		if after := e.written(t); after != before {
			t.Errorf("a replay wrote or sent: %s → %s", before, after)
		}
		if ev := e.events(t, pi.ID); !slices.Contains(ev, "payment_intent.requires_action") || ev[len(ev)-1] != "payment_intent.succeeded" {
			t.Errorf("events %v", ev)
		}

		// Off-session: declined before the gateway.
		sales := e.gw.called("sale")
		off := e.card(t, "4000002760003184")
		res, err := e.svc.CreatePaymentIntent(ctx, e.plain(), intentParams(chargeAmount, off.ID, ""), true, payments.ConfirmParams{OffSession: true})
		if err != nil || res.Err == nil || res.Err.Code != "authentication_required" || res.Err.DeclineCode != "authentication_required" {
			t.Fatalf("off-session: %+v, %v", res, err)
		}
		if n := e.gw.called("sale"); n != sales {
			t.Errorf("an off-session payment needing authentication reached the gateway")
		}
	})
}

// TestThreeDSecureContinuationRace: the ACS's answer arriving several times
// at once (the browser's post repeated, two instances behind a load
// balancer) sends one continuation to the gateway: one call completes the
// payment, the others are refused, and one charge is made.
func TestThreeDSecureContinuationRace(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		e := newEnv(t, postgres, options{})
		ctx := context.Background()
		pm := e.card(t, "4000000000003220")
		pi := e.charged(t, e.plain(), intentParams(chargeAmount, pm.ID, ""), payments.ConfirmParams{ReturnURL: "https://shop.example/back"},
			pay.StatusRequiresAction)
		answer := [][2]string{{"cres", pi.Action.Request[0][1] + ":Y"}}
		const n = 4
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { _, errs[i] = e.svc.ContinueThreeDS(ctx, pi.ID, pi.Action.Token, answer) })
		}
		wg.Wait()
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, payments.ErrThreeDSRefused):
				t.Errorf("continuation %d: %v", i, err)
			}
		}
		got := e.intent(t, pi.ID)
		if ok != 1 || e.gw.called("3ds") != 1 || got.Status != pay.StatusSucceeded || got.LatestCharge == "" {
			t.Errorf("%d continuations answered, %d sent to the gateway, intent %s (want 1, 1, succeeded)", ok, e.gw.called("3ds"), got.Status)
		}
	})
}

// TestThreeDSecureKeyRetriedAfterCrash: a keyed confirmation that the
// gateway answered with a challenge, whose process died before answering,
// is answered on a retry with the same key from what was kept (the intent
// in requires_action, the same challenge page), with no second sale, and the
// challenge then completes the payment once.
func TestThreeDSecureKeyRetriedAfterCrash(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		e := newEnv(t, postgres, options{crash: crashOnce("settled")})
		ctx := context.Background()
		pm := e.card(t, "4000000000003220")
		call := e.keyed("confirm-3ds", "fp")
		confirm := payments.ConfirmParams{ReturnURL: "https://shop.example/back"}
		if _, err := e.svc.CreatePaymentIntent(ctx, call, intentParams(chargeAmount, pm.ID, ""), true, confirm); !errors.Is(err, payments.ErrCrashed) {
			t.Fatalf("first call: %v", err)
		}
		pi := e.onlyIntent(t)
		again, err := e.svc.CreatePaymentIntent(ctx, call, intentParams(chargeAmount, pm.ID, ""), true, confirm)
		if err != nil || !again.Replayed || !strings.Contains(string(again.Body), `"status":"requires_action"`) ||
			!strings.Contains(string(again.Body), pi.Action.Token) || e.gw.called("sale") != 1 {
			t.Fatalf("retry with the key: %v, replayed %v, %d sales, %.200s", err, again != nil && again.Replayed, e.gw.called("sale"), again.Body)
		}
		answer := [][2]string{{"cres", pi.Action.Request[0][1] + ":Y"}}
		if o, err := e.svc.ContinueThreeDS(ctx, pi.ID, pi.Action.Token, answer); err != nil || o.Status != pay.StatusSucceeded {
			t.Fatalf("continuation: %+v, %v", o, err)
		}
		if e.gw.called("sale") != 1 || e.gw.called("3ds") != 1 {
			t.Errorf("%d sales, %d continuations sent, want 1 and 1", e.gw.called("sale"), e.gw.called("3ds"))
		}
	})
}
