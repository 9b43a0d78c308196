package payments_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// Stripe's test cards used here.
const (
	visa          = "4242424242424242"
	declinedVisa  = "4000000000000002"
	chargeAmount  = int64(2000)
	partialAmount = int64(1500)
)

// TestChargeTestCard charges a tokenised Stripe test card with no HTTP
// request: the intent succeeds with one captured charge at the gateway.
func TestChargeTestCard(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		e := newEnv(t, postgres, options{})
		pm := e.card(t, visa)
		if pm.Card.Brand != "visa" || pm.Card.Last4 != "4242" || pm.XRef == "" {
			t.Errorf("payment method: brand %q, last4 %q, xref %q; want a visa ending 4242 stored at the gateway", pm.Card.Brand, pm.Card.Last4, pm.XRef)
		}
		if n := e.gw.called("verify"); n != 1 {
			t.Errorf("%d verifications, want 1", n)
		}

		a, err := e.svc.CreatePaymentIntent(context.Background(), e.plain(), intentParams(chargeAmount, pm.ID, ""), true, payments.ConfirmParams{})
		if err != nil {
			t.Fatal(err)
		}
		pi := answeredIntent(t, a, pay.StatusSucceeded)
		if pi.AmountReceived != chargeAmount || pi.LatestCharge == "" {
			t.Errorf("intent: amount_received %d, latest_charge %q", pi.AmountReceived, pi.LatestCharge)
		}
		if a.Status != http.StatusOK || !bytes.Contains(a.Body, []byte(`"status":"succeeded"`)) || a.Replayed {
			t.Errorf("rendered answer: %d %s (replayed %v)", a.Status, a.Body, a.Replayed)
		}
		if got := e.intent(t, pi.ID); got.Status != pay.StatusSucceeded || got.AmountReceived != chargeAmount {
			t.Errorf("stored intent: %s, amount_received %d", got.Status, got.AmountReceived)
		}
		ch := e.charge(t, pi.LatestCharge)
		if ch.Status != "succeeded" || !ch.Captured || ch.AmountCaptured != chargeAmount || ch.PaymentMethod != pm.ID || ch.PaymentIntent != pi.ID {
			t.Errorf("charge: %+v", ch)
		}
		if xrefs := e.gw.approvedSales(); len(xrefs) != 1 || xrefs[0] != ch.XRef {
			t.Errorf("approved sales at the gateway %v, want one, the charge's %q", xrefs, ch.XRef)
		}
		if state, ok := e.sbx.State(ch.XRef); !ok || state != cardstream.StateCaptured {
			t.Errorf("sandbox state of the sale: %q %v, want captured", state, ok)
		}
		want := []string{"payment_intent.created", "payment_intent.succeeded"}
		if got := e.events(t, pi.ID); !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
	})
}

// TestDeclinedCard confirms with Stripe's declining test card: the decline
// is answered as a kept card error, the intent wants a new payment method,
// its failure events are written, and a good card then pays it.
func TestDeclinedCard(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		e := newEnv(t, postgres, options{})
		ctx := context.Background()
		bad := e.card(t, declinedVisa)
		created, err := e.svc.CreatePaymentIntent(ctx, e.plain(), intentParams(chargeAmount, bad.ID, ""), false, payments.ConfirmParams{})
		if err != nil {
			t.Fatal(err)
		}
		pi := answeredIntent(t, created, pay.StatusRequiresConfirmation)

		a, err := e.svc.ConfirmPaymentIntent(ctx, e.plain(), pi.ID, payments.ConfirmParams{})
		if err != nil {
			t.Fatalf("a decline is an answer, not a failure: %v", err)
		}
		if a.Object != nil || a.Err == nil || a.Err.Code != "card_declined" || a.Err.DeclineCode != "generic_decline" || a.Err.Type != pay.ErrorTypeCard {
			t.Fatalf("answer: object %T, err %+v; want the card_declined error", a.Object, a.Err)
		}
		if a.Status != http.StatusPaymentRequired || !bytes.Contains(a.Body, []byte(`"card_declined"`)) {
			t.Errorf("rendered answer: %d %s", a.Status, a.Body)
		}
		got := e.intent(t, pi.ID)
		if got.Status != pay.StatusRequiresPaymentMethod || got.LastError == nil || got.LastError.Code != "card_declined" || got.AmountReceived != 0 {
			t.Errorf("stored intent: %s, last error %+v, amount_received %d", got.Status, got.LastError, got.AmountReceived)
		}
		if ch := e.charge(t, got.LatestCharge); ch.Status != "failed" || ch.FailureCode != "card_declined" || ch.Captured {
			t.Errorf("failed charge: status %s, failure code %s, captured %v", ch.Status, ch.FailureCode, ch.Captured)
		}
		want := []string{"payment_intent.created", "payment_intent.failed", "payment_intent.payment_failed"}
		if got := e.events(t, pi.ID); !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
		if xrefs := e.gw.approvedSales(); len(xrefs) != 0 {
			t.Errorf("approved sales %v, want none", xrefs)
		}

		good := e.card(t, visa)
		a, err = e.svc.ConfirmPaymentIntent(ctx, e.plain(), pi.ID, payments.ConfirmParams{PaymentMethod: &good.ID})
		if err != nil {
			t.Fatal(err)
		}
		if paid := answeredIntent(t, a, pay.StatusSucceeded); paid.LastError != nil || paid.PaymentMethod != good.ID {
			t.Errorf("paid with a new card: last error %+v, payment method %s", paid.LastError, paid.PaymentMethod)
		}
	})
}

// TestManualCapture authorises, then captures part of the authorisation.
func TestManualCapture(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		e := newEnv(t, postgres, options{})
		ctx := context.Background()
		pm := e.card(t, visa)
		pi := e.charged(t, e.plain(), intentParams(chargeAmount, pm.ID, "manual"), payments.ConfirmParams{}, pay.StatusRequiresCapture)
		if pi.AmountCapturable != chargeAmount || pi.AmountReceived != 0 {
			t.Errorf("authorised: amount_capturable %d, amount_received %d", pi.AmountCapturable, pi.AmountReceived)
		}
		xref := e.charge(t, pi.LatestCharge).XRef
		if state, _ := e.sbx.State(xref); state != cardstream.StateApproved {
			t.Errorf("sandbox state after the authorisation: %q, want approved", state)
		}

		_, err := e.svc.CapturePaymentIntent(ctx, e.plain(), pi.ID, payments.CaptureParams{Amount: ptr(chargeAmount + 1)})
		if pe := payError(t, err); pe.Code != "amount_too_large" {
			t.Errorf("capture of more than authorised: %v", pe)
		}
		if n := e.gw.called("capture"); n != 0 {
			t.Errorf("a refused capture reached the gateway %d times", n)
		}

		a, err := e.svc.CapturePaymentIntent(ctx, e.plain(), pi.ID, payments.CaptureParams{Amount: ptr(partialAmount)})
		if err != nil {
			t.Fatal(err)
		}
		captured := answeredIntent(t, a, pay.StatusSucceeded)
		if captured.AmountReceived != partialAmount || captured.AmountCapturable != 0 {
			t.Errorf("captured: amount_received %d, amount_capturable %d", captured.AmountReceived, captured.AmountCapturable)
		}
		if ch := e.charge(t, pi.LatestCharge); !ch.Captured || ch.AmountCaptured != partialAmount {
			t.Errorf("charge: captured %v, amount_captured %d", ch.Captured, ch.AmountCaptured)
		}
		if state, _ := e.sbx.State(xref); state != cardstream.StateCaptured {
			t.Errorf("sandbox state after the capture: %q, want captured", state)
		}
		want := []string{"payment_intent.created", "payment_intent.amount_capturable_updated", "payment_intent.succeeded"}
		if got := e.events(t, pi.ID); !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
		a, err = e.svc.CapturePaymentIntent(ctx, e.plain(), pi.ID, payments.CaptureParams{})
		if pe := refused(t, a, err); pe.Code != "payment_intent_unexpected_state" {
			t.Errorf("second capture: %v", pe)
		}
	})
}

// TestCancel cancels an authorisation, which voids it at the gateway, and
// an unconfirmed intent, which holds nothing there.
func TestCancel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		confirm bool
		voids   int // cancels sent to the gateway
	}{
		{name: "authorisation", confirm: true, voids: 1},
		{name: "unconfirmed", confirm: false, voids: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			storetest.Dialects(t, func(t *testing.T, postgres bool) {
				e := newEnv(t, postgres, options{})
				ctx := context.Background()
				pm := e.card(t, visa)
				created, err := e.svc.CreatePaymentIntent(ctx, e.plain(), intentParams(chargeAmount, pm.ID, "manual"), tt.confirm, payments.ConfirmParams{})
				if err != nil {
					t.Fatal(err)
				}
				pi := created.Object.(*pay.PaymentIntent)

				a, err := e.svc.CancelPaymentIntent(ctx, e.plain(), pi.ID, "requested_by_customer")
				if err != nil {
					t.Fatal(err)
				}
				canceled := answeredIntent(t, a, pay.StatusCanceled)
				if canceled.CancellationReason != "requested_by_customer" || canceled.CanceledAt == 0 || canceled.AmountCapturable != 0 {
					t.Errorf("canceled: reason %q, canceled_at %d, amount_capturable %d", canceled.CancellationReason, canceled.CanceledAt, canceled.AmountCapturable)
				}
				if got := e.intent(t, pi.ID); got.Status != pay.StatusCanceled {
					t.Errorf("stored intent: %s", got.Status)
				}
				if n := e.gw.called("cancel"); n != tt.voids {
					t.Errorf("%d cancels sent to the gateway, want %d", n, tt.voids)
				}
				if tt.confirm {
					ch := e.charge(t, pi.LatestCharge)
					if ch.AmountRefunded != chargeAmount {
						t.Errorf("voided charge: amount_refunded %d, want %d", ch.AmountRefunded, chargeAmount)
					}
					if state, _ := e.sbx.State(ch.XRef); state != cardstream.StateCanceled {
						t.Errorf("sandbox state: %q, want canceled", state)
					}
				}
				if got := e.events(t, pi.ID); got[len(got)-1] != "payment_intent.canceled" {
					t.Errorf("events %v, want payment_intent.canceled last", got)
				}
				a, err = e.svc.CancelPaymentIntent(ctx, e.plain(), pi.ID, "")
				if pe := refused(t, a, err); pe.Code != "payment_intent_unexpected_state" {
					t.Errorf("second cancel: %v", pe)
				}
			})
		})
	}
}

// TestOffSession confirms a customer's saved card with and without the
// customer present: an off-session confirmation is sent as a
// merchant-initiated payment, and works.
func TestOffSession(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		offSession bool
		typ        cardstream.TransactionType
		agreement  cardstream.AgreementType
		initiator  string
	}{
		{"on session", false, cardstream.TypeECOM, cardstream.AgreementCardOnFile, "consumer"},
		{"off session", true, cardstream.TypeMOTO, cardstream.AgreementUnscheduled, "merchant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			storetest.Dialects(t, func(t *testing.T, postgres bool) {
				e := newEnv(t, postgres, options{})
				ctx := context.Background()
				pm := e.card(t, visa)
				a, err := e.svc.CreateCustomer(ctx, e.plain(), pay.CustomerUpdate{Email: ptr("payer@example.com")}, &pm.ID)
				if err != nil || a.Err != nil {
					t.Fatalf("create customer: %v %v", err, a)
				}
				cus := a.Object.(*pay.Customer)
				upd := intentParams(chargeAmount, pm.ID, "")
				upd.Customer = &cus.ID
				created, err := e.svc.CreatePaymentIntent(ctx, e.plain(), upd, false, payments.ConfirmParams{})
				if err != nil {
					t.Fatal(err)
				}
				pi := created.Object.(*pay.PaymentIntent)

				a, err = e.svc.ConfirmPaymentIntent(ctx, e.plain(), pi.ID, payments.ConfirmParams{OffSession: tt.offSession})
				if err != nil {
					t.Fatal(err)
				}
				if paid := answeredIntent(t, a, pay.StatusSucceeded); paid.Customer != cus.ID || e.charge(t, paid.LatestCharge).Customer != cus.ID {
					t.Errorf("paid intent's customer %q, want %q on it and its charge", paid.Customer, cus.ID)
				}
				sale := e.gw.lastSale(t)
				if sale.Type != tt.typ || sale.Agreement != tt.agreement || sale.Initiator != tt.initiator || sale.XRef != pm.XRef {
					t.Errorf("sale sent as type %v, agreement %q, initiator %q, xref %q; want %v, %q, %q on the card's xref",
						sale.Type, sale.Agreement, sale.Initiator, sale.XRef, tt.typ, tt.agreement, tt.initiator)
				}
			})
		})
	}
}
