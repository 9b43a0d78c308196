package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	stripe "github.com/stripe/stripe-go/v85"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// cardLog passes calls to the sandbox and keeps the card numbers it was
// asked to verify and the sales it was sent.
type cardLog struct {
	payments.Gateway
	mu       sync.Mutex
	verified []string
	sales    []cardstream.SaleRequest
}

func (g *cardLog) Verify(ctx context.Context, req cardstream.VerifyRequest) (*cardstream.Result, error) {
	g.mu.Lock()
	g.verified = append(g.verified, req.Card.Number)
	g.mu.Unlock()
	return g.Gateway.Verify(ctx, req)
}

func (g *cardLog) Sale(ctx context.Context, req cardstream.SaleRequest) (*cardstream.Result, error) {
	g.mu.Lock()
	g.sales = append(g.sales, req)
	g.mu.Unlock()
	return g.Gateway.Sale(ctx, req)
}

func (g *cardLog) counts() (verified, sales int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.verified), len(g.sales)
}

// startWithCardLogs starts a server whose test and live gateways are the
// sandbox behind a cardLog each.
func startWithCardLogs(t *testing.T, postgres bool) (srv *apitest.Server, test, live *cardLog) {
	t.Helper()
	sandbox := apitest.Start(t, apitest.Options{}).Payments.Gateways().Test
	test, live = &cardLog{Gateway: sandbox}, &cardLog{Gateway: sandbox}
	return apitest.Start(t, apitest.Options{Postgres: postgres, Gateways: &payments.Gateways{Test: test, Live: live}}), test, live
}

// stripeCards are Stripe's published test cards that succeed, with what
// Stripe's payment methods show for them.
var stripeCards = []struct {
	number, paymentMethod, brand, funding string
}{
	{"4242424242424242", "pm_card_visa", "visa", "credit"},
	{"4000056655665556", "pm_card_visa_debit", "visa", "debit"},
	{"5555555555554444", "pm_card_mastercard", "mastercard", "credit"},
	{"2223003122003222", "", "mastercard", "credit"},
	{"5200828282828210", "pm_card_mastercard_debit", "mastercard", "debit"},
	{"378282246310005", "pm_card_amex", "amex", "credit"},
	{"6011111111111117", "pm_card_discover", "discover", "credit"},
	{"3056930009020004", "pm_card_diners", "diners", "credit"},
	{"3566002020360505", "pm_card_jcb", "jcb", "credit"},
}

// stripeDeclineCards are Stripe's published decline test cards, with the
// error code and decline code of their charges, and whether they attach
// to a customer (Stripe declines the others on attach as well).
var stripeDeclineCards = []struct {
	number, paymentMethod, code, declineCode string
	attaches, reachesGateway                 bool
}{
	{"4000000000000002", "pm_card_chargeDeclined", "card_declined", "generic_decline", false, false},
	{"4000000000009995", "pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds", false, false},
	{"4000000000009987", "pm_card_chargeDeclinedLostCard", "card_declined", "lost_card", false, false},
	{"4000000000009979", "pm_card_chargeDeclinedStolenCard", "card_declined", "stolen_card", false, false},
	{"4000000000000069", "pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card", false, true},
	{"4000000000000127", "pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", "incorrect_cvc", false, true},
	{"4000000000000119", "pm_card_chargeDeclinedProcessingError", "processing_error", "processing_error", false, false},
	{"4000000000000341", "pm_card_chargeCustomerFail", "card_declined", "generic_decline", true, false},
}

// createCard creates a payment method from a card number with Stripe's
// habits: CVC 123 (1234 for Amex) and an arbitrary future expiry.
func createCard(t *testing.T, sc *stripe.Client, number string) (*stripe.PaymentMethod, error) {
	t.Helper()
	cvc := "123"
	if number[:2] == "37" {
		cvc = "1234"
	}
	return sc.V1PaymentMethods.Create(context.Background(), &stripe.PaymentMethodCreateParams{Type: stripe.String("card"),
		Card: &stripe.PaymentMethodCreateCardParams{Number: stripe.String(number), ExpMonth: stripe.Int64(3),
			ExpYear: stripe.Int64(int64(time.Now().Year() + 4)), CVC: stripe.String(cvc)}})
}

func charge(sc *stripe.Client, pm string) (*stripe.PaymentIntent, error) {
	return sc.V1PaymentIntents.Create(context.Background(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(2000),
		Currency: stripe.String("gbp"), PaymentMethod: stripe.String(pm), Confirm: stripe.Bool(true)})
}

// Stripe's test card numbers, with any CVC and any future expiry, and its
// test payment-method IDs, make payment methods that show Stripe's card
// and charge successfully.
func TestStripeTestCardsSucceed(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		srv, gw, _ := startWithCardLogs(t, postgres)
		sc := payClient(t, srv, "")
		ctx := context.Background()
		fingerprints := map[string]string{}
		for _, c := range stripeCards {
			pm, err := createCard(t, sc, c.number)
			if err != nil {
				t.Fatalf("%s: %v", c.number, err)
			}
			last4 := c.number[len(c.number)-4:]
			if card := pm.Card; string(card.Brand) != c.brand || card.Last4 != last4 || string(card.Funding) != c.funding ||
				card.Country != "US" || card.ExpMonth != 3 || card.ExpYear != int64(time.Now().Year()+4) || card.Checks.CVCCheck != "pass" {
				t.Errorf("%s: card %+v %+v", c.number, card, card.Checks)
			}
			fingerprints[c.number] = pm.Card.Fingerprint
			pi, err := charge(sc, pm.ID)
			if err != nil || pi.Status != stripe.PaymentIntentStatusSucceeded {
				t.Fatalf("%s: charge = %+v, %v", c.number, pi, err)
			}
			ch, err := sc.V1Charges.Retrieve(ctx, pi.LatestCharge.ID, nil)
			if err != nil || ch.PaymentMethodDetails.Card.Last4 != last4 || string(ch.PaymentMethodDetails.Card.Brand) != c.brand {
				t.Errorf("%s: charge %+v, %v", c.number, ch, err)
			}
			if c.paymentMethod == "" {
				continue
			}
			pi, err = charge(sc, c.paymentMethod)
			if err != nil || pi.Status != stripe.PaymentIntentStatusSucceeded {
				t.Fatalf("%s: charge = %+v, %v", c.paymentMethod, pi, err)
			}
			used, err := sc.V1PaymentMethods.Retrieve(ctx, pi.PaymentMethod.ID, nil)
			if err != nil || used.Card.Last4 != last4 || string(used.Card.Brand) != c.brand || string(used.Card.Funding) != c.funding ||
				used.Card.Fingerprint != pm.Card.Fingerprint {
				t.Errorf("%s: payment method %+v, %v; want the card of %s", c.paymentMethod, used.Card, err, c.number)
			}
		}
		again, err := createCard(t, sc, "4242424242424242")
		if err != nil || again.Card.Fingerprint != fingerprints["4242424242424242"] || again.Card.Fingerprint == fingerprints["5555555555554444"] {
			t.Errorf("fingerprints: %s again %v %v, others %v", "4242424242424242", again, err, fingerprints)
		}
		// The sandbox only ever saw its own published cards.
		gw.mu.Lock()
		defer gw.mu.Unlock()
		for _, n := range gw.verified {
			for _, c := range stripeCards {
				if n == c.number {
					t.Errorf("Stripe's %s reached the sandbox", n)
				}
			}
		}
	})
}

// Stripe's decline test cards make payment methods, decline when charged
// with Stripe's codes and, but for the one that fails only when charged,
// when attached to a customer.
func TestStripeDeclineTestCards(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		srv, gw, _ := startWithCardLogs(t, postgres)
		sc := payClient(t, srv, "")
		ctx := context.Background()
		cus, _ := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{})
		for _, c := range stripeDeclineCards {
			pm, err := createCard(t, sc, c.number)
			if err != nil || pm.Card.Last4 != c.number[12:] || pm.Card.Brand != "visa" {
				t.Fatalf("%s: create = %+v, %v", c.number, pm, err)
			}
			for _, id := range []string{pm.ID, c.paymentMethod, pm.ID} { // the card stays usable
				_, salesBefore := gw.counts()
				_, err := charge(sc, id)
				se := stripeErr(t, err)
				if se.HTTPStatusCode != 402 || se.Type != stripe.ErrorTypeCard || string(se.Code) != c.code || string(se.DeclineCode) != c.declineCode {
					t.Fatalf("%s: charge = %d %s %s %s, want 402 card_error %s %s", id, se.HTTPStatusCode, se.Type, se.Code, se.DeclineCode, c.code, c.declineCode)
				}
				params := &stripe.PaymentIntentRetrieveParams{}
				params.AddExpand("latest_charge")
				pi, err := sc.V1PaymentIntents.Retrieve(ctx, se.PaymentIntent.ID, params)
				if err != nil || pi.Status != stripe.PaymentIntentStatusRequiresPaymentMethod || pi.LastPaymentError == nil ||
					string(pi.LastPaymentError.DeclineCode) != c.declineCode || pi.LatestCharge == nil || pi.LatestCharge.Status != "failed" ||
					pi.LatestCharge.FailureCode != c.code {
					t.Errorf("%s: declined intent %+v, %v", id, pi, err)
				}
				if _, sales := gw.counts(); (sales > salesBefore) != c.reachesGateway {
					t.Errorf("%s: %d sales sent, want the decline to reach the gateway: %v", id, sales-salesBefore, c.reachesGateway)
				}
			}
			attached, err := sc.V1PaymentMethods.Attach(ctx, pm.ID, &stripe.PaymentMethodAttachParams{Customer: stripe.String(cus.ID)})
			if c.attaches {
				if err != nil || attached.Customer == nil {
					t.Errorf("%s: attach = %+v, %v", c.number, attached, err)
				}
				continue
			}
			if se := stripeErr(t, err); se.HTTPStatusCode != 402 || string(se.Code) != c.code || string(se.DeclineCode) != c.declineCode {
				t.Errorf("%s: attach = %d %s %s, want 402 %s %s", c.number, se.HTTPStatusCode, se.Code, se.DeclineCode, c.code, c.declineCode)
			}
			if _, err := sc.V1PaymentMethods.Attach(ctx, c.paymentMethod, &stripe.PaymentMethodAttachParams{Customer: stripe.String(cus.ID)}); stripeErr(t, err).HTTPStatusCode != 402 {
				t.Errorf("%s: attach = %v, want 402", c.paymentMethod, err)
			}
			if got, _ := sc.V1PaymentMethods.Retrieve(ctx, pm.ID, nil); got.Customer != nil {
				t.Errorf("%s: attached after a declined attach", c.number)
			}
		}
		if n := countPaymentMethods(t, sc, cus.ID); n != 1 {
			t.Errorf("the customer has %d payment methods, want 1 (pm_card_chargeCustomerFail's card)", n)
		}
	})
}

// The test IDs work wherever Stripe takes a payment method: on customer
// create (with the same ID as its default), payment intent update and
// confirm; a decline card on customer create declines it.
func TestStripeTestIDsEverywhere(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		cus, err := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{PaymentMethod: stripe.String("pm_card_visa"),
			InvoiceSettings: &stripe.CustomerCreateInvoiceSettingsParams{DefaultPaymentMethod: stripe.String("pm_card_visa")}})
		if err != nil {
			t.Fatalf("customer with pm_card_visa: %v", err)
		}
		def := cus.InvoiceSettings.DefaultPaymentMethod
		if def == nil {
			t.Fatalf("customer %+v has no default payment method", cus)
		}
		pm, err := sc.V1PaymentMethods.Retrieve(ctx, def.ID, nil)
		if err != nil || pm.Customer == nil || pm.Customer.ID != cus.ID || pm.Card.Last4 != "4242" {
			t.Errorf("the customer's default payment method = %+v, %v", pm, err)
		}
		if _, err := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{Email: stripe.String("declined@example.com"),
			PaymentMethod: stripe.String("pm_card_chargeDeclinedInsufficientFunds")}); stripeErr(t, err).DeclineCode != "insufficient_funds" {
			t.Errorf("customer with a decline card: %v, want 402 insufficient_funds", err)
		}
		for c, err := range sc.V1Customers.List(ctx, &stripe.CustomerListParams{Email: stripe.String("declined@example.com")}).All(ctx) {
			t.Errorf("a customer whose card was declined was created: %v %v", c, err)
		}

		pi, err := sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1500), Currency: stripe.String("gbp")})
		if err != nil {
			t.Fatal(err)
		}
		pi, err = sc.V1PaymentIntents.Update(ctx, pi.ID, &stripe.PaymentIntentUpdateParams{PaymentMethod: stripe.String("pm_card_mastercard")})
		if err != nil || pi.Status != stripe.PaymentIntentStatusRequiresConfirmation || pi.PaymentMethod == nil {
			t.Fatalf("update with pm_card_mastercard: %+v, %v", pi, err)
		}
		if pi, err = sc.V1PaymentIntents.Confirm(ctx, pi.ID, nil); err != nil || pi.Status != stripe.PaymentIntentStatusSucceeded {
			t.Fatalf("confirm: %+v, %v", pi, err)
		}
		other, _ := sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1500), Currency: stripe.String("gbp")})
		other, err = sc.V1PaymentIntents.Confirm(ctx, other.ID, &stripe.PaymentIntentConfirmParams{PaymentMethod: stripe.String("pm_card_amex")})
		if err != nil || other.Status != stripe.PaymentIntentStatusSucceeded {
			t.Fatalf("confirm with pm_card_amex: %+v, %v", other, err)
		}
		// An update refused after the card was made leaves no payment method behind.
		before := countPaymentMethods(t, sc, "")
		if _, err := sc.V1PaymentIntents.Update(ctx, other.ID, &stripe.PaymentIntentUpdateParams{PaymentMethod: stripe.String("pm_card_visa")}); stripeErr(t, err).HTTPStatusCode != 400 {
			t.Errorf("update of a succeeded intent: %v, want 400", err)
		}
		if _, err := sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(10), Currency: stripe.String("gbp"),
			PaymentMethod: stripe.String("pm_card_visa")}); stripeErr(t, err).Code != "amount_too_small" {
			t.Errorf("create below the minimum: %v, want amount_too_small", err)
		}
		if after := countPaymentMethods(t, sc, ""); after != before {
			t.Errorf("refused requests left %d payment methods behind", after-before)
		}
	})
}

// countPaymentMethods counts the payment methods of a customer, or all
// with customer "".
func countPaymentMethods(t *testing.T, sc *stripe.Client, customer string) int {
	t.Helper()
	params := &stripe.PaymentMethodListParams{}
	if customer != "" {
		params.Customer = stripe.String(customer)
	}
	n := 0
	for _, err := range sc.V1PaymentMethods.List(context.Background(), params).All(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// GET /v1/payment_methods/pm_card_visa answers a payment method of the
// test card, the same every time, without storing it or calling the
// gateway; live mode has no test IDs and takes Stripe's numbers as any.
func TestStripeTestIDRetrieveAndLiveMode(t *testing.T) {
	t.Parallel()
	srv, gw, live := startWithCardLogs(t, false)
	sc := payClient(t, srv, "")
	ctx := context.Background()
	get := func(key, id string) (int, string) {
		a := do(t, srv, call{method: "GET", path: "/v1/payment_methods/" + id, key: key})
		return a.status, a.raw
	}
	status, first := get("", "pm_card_visa")
	if _, second := get("", "pm_card_visa"); status != 200 || second != first {
		t.Errorf("two retrieves of pm_card_visa: %d\n%s\n%s", status, first, second)
	}
	var pm stripe.PaymentMethod
	if err := json.Unmarshal([]byte(first), &pm); err != nil {
		t.Fatal(err)
	}
	if pm.ID != "pm_card_visa" || pm.Card.Last4 != "4242" || pm.Card.Brand != "visa" || pm.Card.Funding != "credit" || pm.Customer != nil || pm.Livemode {
		t.Errorf("pm_card_visa = %s", first)
	}
	for _, c := range append(stripeCards, struct{ number, paymentMethod, brand, funding string }{"4000000000000002", "pm_card_chargeDeclined", "visa", "credit"}) {
		if c.paymentMethod == "" {
			continue
		}
		got, err := sc.V1PaymentMethods.Retrieve(ctx, c.paymentMethod, nil)
		if err != nil || got.Card.Last4 != c.number[len(c.number)-4:] || string(got.Card.Brand) != c.brand {
			t.Errorf("%s = %+v, %v", c.paymentMethod, got, err)
		}
	}
	if v, _ := gw.counts(); v != 0 || countPaymentMethods(t, sc, "") != 0 {
		t.Errorf("retrieves verified %d cards and stored %d payment methods", v, countPaymentMethods(t, sc, ""))
	}

	liveKey := apitest.NewKey(t, srv.DB, srv.Project, true)
	if status, body := get(liveKey, "pm_card_visa"); status != 404 {
		t.Errorf("live retrieve of pm_card_visa = %d %s", status, body)
	}
	lc := payClient(t, srv, liveKey)
	if _, err := charge(lc, "pm_card_visa"); stripeErr(t, err).Code != stripe.ErrorCodeResourceMissing {
		t.Errorf("live charge of pm_card_visa: %v, want resource_missing", err)
	}
	// A Stripe number in live mode is an ordinary card: the live gateway
	// sees it as it is (and, here the sandbox, declines it).
	if _, err := createCard(t, lc, "4242424242424242"); stripeErr(t, err).HTTPStatusCode != 402 {
		t.Errorf("live 4242424242424242: %v, want a decline", err)
	}
	live.mu.Lock()
	defer live.mu.Unlock()
	if fmt.Sprint(live.verified) != "[4242424242424242]" {
		t.Errorf("the live gateway verified %v, want Stripe's number unchanged", live.verified)
	}
}

// A sale of a decline test card whose first execution crashed after its op
// was recorded is settled by the reconciler as the request would have been:
// declined here, with no sale sent; the retry gets the decline.
func TestStripeDeclineTestCardAfterACrash(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		rig := newFaultRig(t, postgres, apitest.Options{})
		params := &stripe.PaymentIntentCreateParams{Params: keyed("crash"), Amount: stripe.Int64(2000), Currency: stripe.String("gbp"),
			PaymentMethod: stripe.String("pm_card_chargeDeclinedLostCard"), Confirm: stripe.Bool(true)}
		rig.armed.Store("prepared")
		if _, err := rig.sc.V1PaymentIntents.Create(context.Background(), params); err == nil {
			t.Fatal("the crashed request answered")
		}
		rig.later(t)
		_, err := rig.sc.V1PaymentIntents.Create(context.Background(), params)
		if se := stripeErr(t, err); se.HTTPStatusCode != 402 || se.DeclineCode != "lost_card" || se.PaymentIntent == nil ||
			se.PaymentIntent.Status != stripe.PaymentIntentStatusRequiresPaymentMethod {
			t.Errorf("retry after the reconciler: %v", err)
		}
		if sent, _ := rig.gw.counts("SALE"); sent != 0 {
			t.Errorf("%d sales sent for a decline decided here", sent)
		}
	})
}
