package api_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v85"

	"github.com/calmony/calmonypay/internal/apitest"
)

// TestSDKSetupIntents saves cards with SetupIntents through stripe-go: a
// card that needs authentication on set-up is challenged (next_action,
// the 3-D Secure page, back at return_url with setup_intent and
// redirect_status), attached to the customer and exempt off-session
// afterwards; a failed challenge is setup_intent_authentication_failure;
// a card needing none succeeds at once; cancel; bad states refused.
func TestSDKSetupIntents(t *testing.T) {
	t.Parallel()
	returnURL := shopReturnURL(t)
	eachStoreWith(t, apitest.Options{AllowLocalhostURLs: true}, func(t *testing.T, srv *apitest.Server) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		cus, err := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{})
		if err != nil {
			t.Fatal(err)
		}
		setup := func(pm string) (*stripe.SetupIntent, error) {
			return sc.V1SetupIntents.Create(ctx, &stripe.SetupIntentCreateParams{Customer: stripe.String(cus.ID), PaymentMethod: stripe.String(pm),
				Confirm: stripe.Bool(true), ReturnURL: stripe.String(returnURL), Usage: stripe.String("off_session")})
		}
		offSession := func(pm string) (*stripe.PaymentIntent, error) {
			return sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(900), Currency: stripe.String("gbp"),
				Customer: stripe.String(cus.ID), PaymentMethod: stripe.String(pm), Confirm: stripe.Bool(true), OffSession: stripe.Bool(true)})
		}

		si, err := setup("pm_card_authenticationRequiredOnSetup")
		if err != nil || si.Status != stripe.SetupIntentStatusRequiresAction || si.NextAction == nil || si.NextAction.RedirectToURL == nil ||
			!strings.HasPrefix(si.NextAction.RedirectToURL.URL, srv.URL+"/3ds/"+si.ID+"?token=") || !strings.HasPrefix(si.ID, "seti_") {
			t.Fatalf("setup: %+v, %v", si, err)
		}
		pm := si.PaymentMethod.ID
		if _, err := offSession(pm); stripeErr(t, err).Code != "authentication_required" {
			t.Errorf("off-session before the set-up: %v", err)
		}
		back, fields := acsAnswer(t, si.NextAction.RedirectToURL.URL, "Y")
		u, _ := url.Parse(onward(t, back, fields))
		if q := u.Query(); q.Get("setup_intent") != si.ID || q.Get("setup_intent_client_secret") != si.ClientSecret || q.Get("redirect_status") != "succeeded" {
			t.Errorf("sent back to %s", u)
		}
		got, err := sc.V1SetupIntents.Retrieve(ctx, si.ID, &stripe.SetupIntentRetrieveParams{ClientSecret: stripe.String(si.ClientSecret)})
		if err != nil || got.Status != stripe.SetupIntentStatusSucceeded || got.NextAction != nil || got.Usage != "off_session" {
			t.Fatalf("after the challenge: %+v, %v", got, err)
		}
		if pmGot, err := sc.V1PaymentMethods.Retrieve(ctx, pm, nil); err != nil || pmGot.Customer == nil || pmGot.Customer.ID != cus.ID {
			t.Errorf("payment method after the set-up: %+v, %v", pmGot, err)
		}
		if pi, err := offSession(pm); err != nil || pi.Status != stripe.PaymentIntentStatusSucceeded {
			t.Errorf("off-session after the set-up: %+v, %v", pi, err)
		}
		if status, _, _ := postForm(t, back, fields); status != 400 {
			t.Errorf("the answer again: %d", status)
		}

		// A failed challenge.
		si, err = setup("pm_card_threeDSecure2Required")
		if err != nil {
			t.Fatal(err)
		}
		back, fields = acsAnswer(t, si.NextAction.RedirectToURL.URL, "N")
		if u, _ := url.Parse(onward(t, back, fields)); u.Query().Get("redirect_status") != "failed" {
			t.Errorf("failed challenge sent back to %s", u)
		}
		if got, err := sc.V1SetupIntents.Retrieve(ctx, si.ID, nil); err != nil || got.Status != stripe.SetupIntentStatusRequiresPaymentMethod ||
			got.LastSetupError == nil || got.LastSetupError.Code != "setup_intent_authentication_failure" {
			t.Errorf("after a failed challenge: %+v, %v", got, err)
		}

		// No authentication needed: succeeded inside the confirmation.
		si, err = setup("pm_card_visa")
		if err != nil || si.Status != stripe.SetupIntentStatusSucceeded {
			t.Fatalf("pm_card_visa: %+v, %v", si, err)
		}
		if _, err := sc.V1SetupIntents.Cancel(ctx, si.ID, nil); stripeErr(t, err).Code != "setup_intent_unexpected_state" {
			t.Errorf("cancel a succeeded setup: %v", err)
		}

		// Stripe's decline cards cannot be set up.
		_, err = setup("pm_card_chargeDeclined")
		if se := stripeErr(t, err); se.HTTPStatusCode != 402 || se.Code != "card_declined" || se.SetupIntent == nil ||
			se.SetupIntent.Status != stripe.SetupIntentStatusRequiresPaymentMethod || se.SetupIntent.LastSetupError == nil {
			t.Errorf("declined setup: %+v", se)
		}

		// Created, updated, confirmed later; cancelled.
		si, err = sc.V1SetupIntents.Create(ctx, &stripe.SetupIntentCreateParams{Customer: stripe.String(cus.ID), Metadata: map[string]string{"k": "v"}})
		if err != nil || si.Status != stripe.SetupIntentStatusRequiresPaymentMethod || si.Usage != "off_session" {
			t.Fatalf("create: %+v, %v", si, err)
		}
		if si, err = sc.V1SetupIntents.Update(ctx, si.ID, &stripe.SetupIntentUpdateParams{PaymentMethod: stripe.String("pm_card_threeDSecureOptional")}); err != nil ||
			si.Status != stripe.SetupIntentStatusRequiresConfirmation {
			t.Fatalf("update: %+v, %v", si, err)
		}
		if si, err = sc.V1SetupIntents.Confirm(ctx, si.ID, nil); err != nil || si.Status != stripe.SetupIntentStatusSucceeded {
			t.Fatalf("confirm (frictionless): %+v, %v", si, err)
		}
		si, err = sc.V1SetupIntents.Create(ctx, &stripe.SetupIntentCreateParams{})
		if err != nil {
			t.Fatal(err)
		}
		if si, err = sc.V1SetupIntents.Cancel(ctx, si.ID, &stripe.SetupIntentCancelParams{CancellationReason: stripe.String("abandoned")}); err != nil ||
			si.Status != stripe.SetupIntentStatusCanceled || si.CancellationReason != "abandoned" {
			t.Errorf("cancel: %+v, %v", si, err)
		}
		if _, err := sc.V1SetupIntents.Confirm(ctx, si.ID, &stripe.SetupIntentConfirmParams{PaymentMethod: stripe.String("pm_card_visa")}); stripeErr(t, err).Code != "setup_intent_unexpected_state" {
			t.Errorf("confirm a cancelled setup: %v", err)
		}
		n := 0
		for s, err := range sc.V1SetupIntents.List(ctx, &stripe.SetupIntentListParams{Customer: stripe.String(cus.ID)}).All(ctx) {
			if err != nil || s.Customer.ID != cus.ID {
				t.Fatal(s, err)
			}
			n++
		}
		if n != 5 {
			t.Errorf("%d setup intents of the customer, want 5", n)
		}
	})
}

// TestSetupIntentCrash: a setup's verification, or its continuation,
// crashed after the gateway answered: the intent stays processing until
// the reconciler settles it (a lost verification is given up, moving no
// money; a continuation is found with a QUERY).
func TestSetupIntentCrash(t *testing.T) {
	t.Parallel()
	rig := newFaultRig(t, false, apitest.Options{AllowLocalhostURLs: true})
	ctx := context.Background()
	rig.armed.Store("called")
	if _, err := rig.sc.V1SetupIntents.Create(ctx, &stripe.SetupIntentCreateParams{PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true)}); err == nil {
		t.Fatal("the crashed setup answered")
	}
	var si *stripe.SetupIntent
	for s, err := range rig.sc.V1SetupIntents.List(ctx, nil).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		si = s
	}
	if si == nil || si.Status != stripe.SetupIntentStatusProcessing {
		t.Fatalf("after the crash: %+v", si)
	}
	rig.later(t)
	if got, err := rig.sc.V1SetupIntents.Retrieve(ctx, si.ID, nil); err != nil || got.Status != stripe.SetupIntentStatusRequiresPaymentMethod ||
		got.LastSetupError == nil || got.LastSetupError.Code != "processing_error" {
		t.Errorf("reconciled: %+v, %v", got, err)
	}

	si, err := rig.sc.V1SetupIntents.Create(ctx, &stripe.SetupIntentCreateParams{PaymentMethod: stripe.String("pm_card_authenticationRequired"),
		Confirm: stripe.Bool(true), ReturnURL: stripe.String("https://shop.example/done")})
	if err != nil || si.Status != stripe.SetupIntentStatusRequiresAction {
		t.Fatalf("setup: %+v, %v", si, err)
	}
	back, fields := acsAnswer(t, si.NextAction.RedirectToURL.URL, "Y")
	rig.armed.Store("called")
	if status, _, _ := postForm(t, back, fields); status != 500 {
		t.Errorf("crashed continuation: %d", status)
	}
	rig.later(t)
	if got, err := rig.sc.V1SetupIntents.Retrieve(ctx, si.ID, nil); err != nil || got.Status != stripe.SetupIntentStatusSucceeded {
		t.Errorf("reconciled continuation: %+v, %v", got, err)
	}
}
