package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	stripe "github.com/stripe/stripe-go/v85"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

func payClient(t *testing.T, srv *apitest.Server, key string) *stripe.Client {
	t.Helper()
	if key == "" {
		key = srv.Key
	}
	return stripe.NewClient(key, stripe.WithBackends(stripe.NewBackendsWithConfig(&stripe.BackendConfig{
		URL: stripe.String(srv.URL), MaxNetworkRetries: stripe.Int64(0), HTTPClient: &http.Client{Timeout: 30 * time.Second},
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	})))
}

// publishedCards are Cardstream's test cards (cardstream-protocol.md §11.3).
var publishedCards = []struct {
	number, cvc, brand, funding string
}{
	{"4929421234600821", "356", "visa", "credit"},
	{"4543059999999982", "110", "visa", "credit"},
	{"4539791001730106", "289", "visa", "debit"},
	{"4917480000000008", "009", "visa", "debit"},
	{"5301250070000191", "419", "mastercard", "credit"},
	{"5573471234567898", "159", "mastercard", "debit"},
	{"6759015050123445002", "309", "mastercard", "debit"},
	{"3540599999991047", "209", "jcb", "credit"},
	{"374245455400001", "4887", "amex", "credit"},
	{"36432685260294", "111", "diners", "credit"},
}

func newCard(t *testing.T, sc *stripe.Client, number, cvc string) *stripe.PaymentMethod {
	t.Helper()
	pm, err := sc.V1PaymentMethods.Create(context.Background(), &stripe.PaymentMethodCreateParams{Type: stripe.String("card"),
		Card: &stripe.PaymentMethodCreateCardParams{Number: stripe.String(number), ExpMonth: stripe.Int64(12),
			ExpYear: stripe.Int64(int64(time.Now().Year() + 2)), CVC: stripe.String(cvc)}})
	if err != nil {
		t.Fatalf("create payment method: %v", err)
	}
	return pm
}

func stripeErr(t *testing.T, err error) *stripe.Error {
	t.Helper()
	var se *stripe.Error
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a *stripe.Error", err)
	}
	return se
}

func TestSDKPaymentMethods(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	sc := payClient(t, srv, "")
	ctx := context.Background()
	for _, c := range publishedCards {
		pm := newCard(t, sc, c.number, c.cvc)
		if pm.Card.Brand != stripe.PaymentMethodCardBrand(c.brand) || pm.Card.Last4 != c.number[len(c.number)-4:] ||
			string(pm.Card.Funding) != c.funding || pm.Card.Checks.CVCCheck != "pass" || pm.Livemode {
			t.Errorf("card %s…: brand %s last4 %s funding %s cvc %s", c.number[:6], pm.Card.Brand, pm.Card.Last4, pm.Card.Funding, pm.Card.Checks.CVCCheck)
		}
	}
	// Card validation gives Stripe's codes before any gateway call, and never echoes the number.
	for _, tt := range []struct {
		number, cvc string
		month, year int64
		code        stripe.ErrorCode
	}{
		{"4929421234600822", "356", 12, 2040, stripe.ErrorCodeIncorrectNumber},
		{"49294", "356", 12, 2040, stripe.ErrorCodeInvalidNumber},
		{"4929421234600821", "356", 13, 2040, stripe.ErrorCodeInvalidExpiryMonth},
		{"4929421234600821", "356", 12, 2001, stripe.ErrorCodeInvalidExpiryYear},
		{"4929421234600821", "35", 12, 2040, stripe.ErrorCodeInvalidCVC},
		{"4929421234600821", "999", 12, 2040, stripe.ErrorCodeIncorrectCVC}, // declined by the gateway's CV2 check
	} {
		_, err := sc.V1PaymentMethods.Create(ctx, &stripe.PaymentMethodCreateParams{Type: stripe.String("card"),
			Card: &stripe.PaymentMethodCreateCardParams{Number: stripe.String(tt.number), ExpMonth: stripe.Int64(tt.month), ExpYear: stripe.Int64(tt.year), CVC: stripe.String(tt.cvc)}})
		se := stripeErr(t, err)
		if se.Code != tt.code || se.HTTPStatusCode != 402 || se.Type != stripe.ErrorTypeCard {
			t.Errorf("card %s: got %d %s %s, want 402 card_error %s", tt.number[:4], se.HTTPStatusCode, se.Type, se.Code, tt.code)
		}
		if strings.Contains(se.Msg, tt.number) || strings.Contains(string(se.LastResponse.RawJSON), tt.number) {
			t.Errorf("error echoes the card number: %s", se.Msg)
		}
	}
	// Attach, list, detach.
	cus, _ := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{Email: stripe.String("card@example.com")})
	pm, err := sc.V1PaymentMethods.Attach(ctx, "pm_card_visa", &stripe.PaymentMethodAttachParams{Customer: stripe.String(cus.ID)})
	if err != nil || pm.Customer == nil || pm.Customer.ID != cus.ID || pm.Card.Brand != "visa" {
		t.Fatalf("attach pm_card_visa: %v %+v", err, pm)
	}
	n := 0
	for _, err := range sc.V1PaymentMethods.List(ctx, &stripe.PaymentMethodListParams{Customer: stripe.String(cus.ID)}).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("customer has %d payment methods, want 1", n)
	}
	if _, err := sc.V1PaymentMethods.Detach(ctx, pm.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.V1PaymentMethods.Detach(ctx, pm.ID, nil); stripeErr(t, err).HTTPStatusCode != 400 {
		t.Error("second detach did not fail")
	}
	// Another project's customer does not exist for this key, and vice versa.
	_, otherKey := apitest.NewProject(t, srv.DB)
	other := payClient(t, srv, otherKey)
	if _, err := other.V1PaymentMethods.Retrieve(ctx, pm.ID, nil); stripeErr(t, err).Code != stripe.ErrorCodeResourceMissing {
		t.Error("another project sees the payment method")
	}
	otherCus, _ := other.V1Customers.Create(ctx, &stripe.CustomerCreateParams{})
	if _, err := sc.V1PaymentMethods.Attach(ctx, pm.ID, &stripe.PaymentMethodAttachParams{Customer: stripe.String(otherCus.ID)}); stripeErr(t, err).Code != stripe.ErrorCodeResourceMissing {
		t.Error("attached to another project's customer")
	}
}

func TestSDKTestAmounts(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		pm := newCard(t, sc, "4929421234600821", "356")
		for _, tt := range []struct {
			amount      int64
			offSession  bool
			status      stripe.PaymentIntentStatus
			declineCode string
		}{
			{1000, false, stripe.PaymentIntentStatusSucceeded, ""},
			{2500, false, stripe.PaymentIntentStatusSucceeded, ""},
			{5000, false, stripe.PaymentIntentStatusRequiresPaymentMethod, "call_issuer"},
			{10000, false, stripe.PaymentIntentStatusRequiresPaymentMethod, "do_not_honor"},
			{15000, false, stripe.PaymentIntentStatusRequiresPaymentMethod, "pickup_card"},
			{20000, false, stripe.PaymentIntentStatusRequiresPaymentMethod, "authentication_required"},
			{20000, true, stripe.PaymentIntentStatusSucceeded, ""},
		} {
			t.Run(fmt.Sprintf("%d offsession=%v", tt.amount, tt.offSession), func(t *testing.T) {
				params := &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(tt.amount), Currency: stripe.String("gbp"),
					PaymentMethod: stripe.String(pm.ID), Confirm: stripe.Bool(true)}
				if tt.offSession {
					params.OffSession = stripe.Bool(true)
				}
				pi, err := sc.V1PaymentIntents.Create(ctx, params)
				if tt.declineCode == "" {
					if err != nil || pi.Status != tt.status || pi.AmountReceived != tt.amount || pi.LatestCharge == nil {
						t.Fatalf("pi = %+v, %v", pi, err)
					}
					ch, err := sc.V1Charges.Retrieve(ctx, pi.LatestCharge.ID, nil)
					if err != nil || !ch.Captured || ch.AmountCaptured != tt.amount || ch.Status != "succeeded" || ch.PaymentMethodDetails.Card.Last4 != "0821" {
						t.Errorf("charge = %+v, %v", ch, err)
					}
					return
				}
				se := stripeErr(t, err)
				if se.HTTPStatusCode != 402 || se.Type != stripe.ErrorTypeCard || string(se.DeclineCode) != tt.declineCode {
					t.Fatalf("got %d %s %s %s, want 402 card_error %s", se.HTTPStatusCode, se.Type, se.Code, se.DeclineCode, tt.declineCode)
				}
				if se.PaymentIntent == nil {
					t.Fatal("card error without its payment_intent")
				}
				got, err := sc.V1PaymentIntents.Retrieve(ctx, se.PaymentIntent.ID, nil)
				if err != nil || got.Status != tt.status || got.LastPaymentError == nil || string(got.LastPaymentError.DeclineCode) != tt.declineCode {
					t.Errorf("declined intent = %+v, %v", got, err)
				}
			})
		}
	})
}

func TestSDKStripeTestPaymentMethods(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	sc := payClient(t, srv, "")
	ctx := context.Background()
	pi, err := sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1999), Currency: stripe.String("gbp"),
		PaymentMethod: stripe.String("pm_card_mastercard"), Confirm: stripe.Bool(true)})
	if err != nil || pi.Status != stripe.PaymentIntentStatusSucceeded {
		t.Fatalf("pm_card_mastercard: %+v %v", pi, err)
	}
	_, err = sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1999), Currency: stripe.String("gbp"),
		PaymentMethod: stripe.String("pm_card_chargeDeclined"), Confirm: stripe.Bool(true)})
	if se := stripeErr(t, err); se.HTTPStatusCode != 402 || se.Type != stripe.ErrorTypeCard {
		t.Errorf("pm_card_chargeDeclined: %d %s", se.HTTPStatusCode, se.Type)
	}
}

func TestSDKManualCaptureCancelAndRefunds(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		pm := newCard(t, sc, "5301250070000191", "419")
		authorise := func(amount int64) *stripe.PaymentIntent {
			t.Helper()
			pi, err := sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(amount), Currency: stripe.String("gbp"),
				PaymentMethod: stripe.String(pm.ID), CaptureMethod: stripe.String("manual"), Confirm: stripe.Bool(true)})
			if err != nil || pi.Status != stripe.PaymentIntentStatusRequiresCapture || pi.AmountCapturable != amount {
				t.Fatalf("authorise: %+v %v", pi, err)
			}
			return pi
		}
		// Partial capture.
		pi := authorise(2000)
		if _, err := sc.V1PaymentIntents.Capture(ctx, pi.ID, &stripe.PaymentIntentCaptureParams{AmountToCapture: stripe.Int64(2001)}); stripeErr(t, err).Code != stripe.ErrorCodeAmountTooLarge {
			t.Error("capturing more than authorised did not fail with amount_too_large")
		}
		pi, err := sc.V1PaymentIntents.Capture(ctx, pi.ID, &stripe.PaymentIntentCaptureParams{AmountToCapture: stripe.Int64(1500)})
		if err != nil || pi.Status != stripe.PaymentIntentStatusSucceeded || pi.AmountReceived != 1500 {
			t.Fatalf("partial capture: %+v %v", pi, err)
		}
		if _, err := sc.V1PaymentIntents.Capture(ctx, pi.ID, nil); stripeErr(t, err).Code != stripe.ErrorCodePaymentIntentUnexpectedState {
			t.Error("second capture did not fail with payment_intent_unexpected_state")
		}
		// Partial refunds before settlement lower the capture; more than is left fails; then the rest.
		re, err := sc.V1Refunds.Create(ctx, &stripe.RefundCreateParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(500)})
		if err != nil || re.Status != stripe.RefundStatusSucceeded || re.Amount != 500 {
			t.Fatalf("partial refund: %+v %v", re, err)
		}
		if _, err := sc.V1Refunds.Create(ctx, &stripe.RefundCreateParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(1001)}); stripeErr(t, err).Code != stripe.ErrorCodeAmountTooLarge {
			t.Error("refunding more than is left did not fail with amount_too_large")
		}
		if _, err := sc.V1Refunds.Create(ctx, &stripe.RefundCreateParams{PaymentIntent: stripe.String(pi.ID)}); err != nil {
			t.Fatal(err)
		}
		ch, _ := sc.V1Charges.Retrieve(ctx, pi.LatestCharge.ID, nil)
		if ch.AmountRefunded != 1500 || !ch.Refunded {
			t.Errorf("charge after refunds: refunded %d %v", ch.AmountRefunded, ch.Refunded)
		}
		if _, err := sc.V1Refunds.Create(ctx, &stripe.RefundCreateParams{Charge: stripe.String(ch.ID)}); stripeErr(t, err).Code != stripe.ErrorCodeChargeAlreadyRefunded {
			t.Error("refunding a fully refunded charge did not fail with charge_already_refunded")
		}

		// Cancel an authorisation.
		pi = authorise(1200)
		pi, err = sc.V1PaymentIntents.Cancel(ctx, pi.ID, &stripe.PaymentIntentCancelParams{CancellationReason: stripe.String("requested_by_customer")})
		if err != nil || pi.Status != stripe.PaymentIntentStatusCanceled || pi.CancellationReason != "requested_by_customer" {
			t.Fatalf("cancel: %+v %v", pi, err)
		}
		if _, err := sc.V1PaymentIntents.Cancel(ctx, pi.ID, nil); stripeErr(t, err).Code != stripe.ErrorCodePaymentIntentUnexpectedState {
			t.Error("second cancel did not fail")
		}

		// A refund after settlement is a REFUND_SALE.
		// 100–2499 settles as accepted in the simulator (2500–4999 is rejected at settlement).
		paid, err := sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(2400), Currency: stripe.String("gbp"),
			PaymentMethod: stripe.String(pm.ID), Confirm: stripe.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		if n := srv.Sandbox.SettleAll(); n == 0 {
			t.Fatal("nothing to settle")
		}
		for _, amount := range []int64{1000, 1400} {
			re, err := sc.V1Refunds.Create(ctx, &stripe.RefundCreateParams{PaymentIntent: stripe.String(paid.ID), Amount: stripe.Int64(amount)})
			if err != nil || re.Status != stripe.RefundStatusSucceeded {
				t.Fatalf("refund after settlement: %+v %v", re, err)
			}
		}
		ch, _ = sc.V1Charges.Retrieve(ctx, paid.LatestCharge.ID, nil)
		if ch.AmountRefunded != 2400 || !ch.Refunded {
			t.Errorf("settled charge after refunds: %d %v", ch.AmountRefunded, ch.Refunded)
		}
	})
}

func TestConcurrentConfirmChargesOnce(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		pm := newCard(t, sc, "4929421234600821", "356")
		pi, err := sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1234), Currency: stripe.String("gbp"), PaymentMethod: stripe.String(pm.ID)})
		if err != nil || pi.Status != stripe.PaymentIntentStatusRequiresConfirmation {
			t.Fatalf("create: %+v %v", pi, err)
		}
		var (
			wg        sync.WaitGroup
			succeeded atomic.Int32
		)
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if got, err := sc.V1PaymentIntents.Confirm(ctx, pi.ID, nil); err == nil && got.Status == stripe.PaymentIntentStatusSucceeded {
					succeeded.Add(1)
				} else if err != nil && stripeErr(t, err).Code != stripe.ErrorCodePaymentIntentUnexpectedState {
					t.Errorf("concurrent confirm: %v", err)
				}
			}()
		}
		wg.Wait()
		if succeeded.Load() != 1 {
			t.Errorf("%d confirms succeeded, want exactly 1", succeeded.Load())
		}
		if n := countCharges(t, sc, pi.ID); n != 1 {
			t.Errorf("%d charges for one intent, want 1", n)
		}
	})
}

func countCharges(t *testing.T, sc *stripe.Client, pi string) int {
	t.Helper()
	return count(t, sc.V1Charges.List(context.Background(), &stripe.ChargeListParams{PaymentIntent: stripe.String(pi)}).All(context.Background()))
}

func countIntents(t *testing.T, sc *stripe.Client) int {
	t.Helper()
	return count(t, sc.V1PaymentIntents.List(context.Background(), &stripe.PaymentIntentListParams{}).All(context.Background()))
}

// count walks a list through all its pages.
func count[T any](t *testing.T, all stripe.Seq2[T, error]) int {
	t.Helper()
	n := 0
	for _, err := range all {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

func TestConfirmIdempotencyKeyChargesOnce(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	sc := payClient(t, srv, "")
	ctx := context.Background()
	pm := newCard(t, sc, "4929421234600821", "356")
	pi, _ := sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1500), Currency: stripe.String("gbp"), PaymentMethod: stripe.String(pm.ID)})
	for i := 0; i < 3; i++ {
		params := &stripe.PaymentIntentConfirmParams{}
		params.SetIdempotencyKey("confirm-" + pi.ID)
		got, err := sc.V1PaymentIntents.Confirm(ctx, pi.ID, params)
		if err != nil || got.Status != stripe.PaymentIntentStatusSucceeded {
			t.Fatalf("confirm %d: %+v %v", i, got, err)
		}
	}
	// A declined confirm replays its decline, too.
	declined, _ := sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(10500), Currency: stripe.String("gbp"), PaymentMethod: stripe.String(pm.ID)})
	for i := 0; i < 2; i++ {
		params := &stripe.PaymentIntentConfirmParams{}
		params.SetIdempotencyKey("confirm-" + declined.ID)
		_, err := sc.V1PaymentIntents.Confirm(ctx, declined.ID, params)
		if se := stripeErr(t, err); se.HTTPStatusCode != 402 {
			t.Errorf("declined confirm %d: %d", i, se.HTTPStatusCode)
		}
	}
	if countCharges(t, sc, pi.ID) != 1 || countCharges(t, sc, declined.ID) != 1 {
		t.Error("an idempotent retry reached the gateway again")
	}
}

// lossyGateway loses the first Sale: before it reaches the gateway (the
// request is lost) or after (the answer is lost).
type lossyGateway struct {
	payments.Gateway
	loseAnswer bool
	lost       atomic.Bool
	sales      atomic.Int32
	lostXRef   atomic.Value // the xref of the sale whose answer was lost
}

func (g *lossyGateway) Sale(ctx context.Context, req cardstream.SaleRequest) (*cardstream.Result, error) {
	if g.lost.CompareAndSwap(false, true) {
		if g.loseAnswer {
			g.sales.Add(1)
			if res, err := g.Gateway.Sale(ctx, req); err == nil {
				g.lostXRef.Store(res.XRef)
			}
		}
		return nil, fmt.Errorf("%w: simulated", cardstream.ErrTimeout)
	}
	g.sales.Add(1)
	return g.Gateway.Sale(ctx, req)
}

func TestGatewayTimeoutIsReconciled(t *testing.T) {
	t.Parallel()
	for _, loseAnswer := range []bool{false, true} {
		t.Run(fmt.Sprintf("loseAnswer=%v", loseAnswer), func(t *testing.T) {
			t.Parallel()
			var offset atomic.Int64
			now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
			base := apitest.Start(t, apitest.Options{}) // only for its sandbox gateway
			lossy := &lossyGateway{Gateway: base.Payments.Gateways().Test, loseAnswer: loseAnswer}
			srv := apitest.Start(t, apitest.Options{Gateways: &payments.Gateways{Test: lossy}, Now: now})
			sc := payClient(t, srv, "")
			ctx := context.Background()
			pm := newCard(t, sc, "4929421234600821", "356")
			pi, err := sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1700), Currency: stripe.String("gbp"),
				PaymentMethod: stripe.String(pm.ID), Confirm: stripe.Bool(true)})
			if err != nil || pi.Status != stripe.PaymentIntentStatusProcessing {
				t.Fatalf("confirm with a lost gateway call: %+v %v", pi, err)
			}
			if _, err := sc.V1PaymentIntents.Confirm(ctx, pi.ID, nil); stripeErr(t, err).Code != stripe.ErrorCodePaymentIntentUnexpectedState {
				t.Error("a processing intent could be confirmed again")
			}
			offset.Store(int64(time.Minute))
			if err := srv.Payments.Reconcile(ctx); err != nil {
				t.Fatal(err)
			}
			got, _ := sc.V1PaymentIntents.Retrieve(ctx, pi.ID, nil)
			if !loseAnswer && (got.Status != stripe.PaymentIntentStatusSucceeded || countCharges(t, sc, pi.ID) != 1) {
				t.Errorf("lost request: after reconcile %s with %d charges, want succeeded with 1", got.Status, countCharges(t, sc, pi.ID))
			}
			if loseAnswer && got.Status != stripe.PaymentIntentStatusProcessing {
				t.Errorf("lost answer: after reconcile %s, want processing until an operator settles it", got.Status)
			}
			// However it ends, the card was charged at most once at the gateway:
			// a resend of a landed sale is refused by the gateway as a duplicate.
			if n := lossy.sales.Load(); (loseAnswer && n != 2) || (!loseAnswer && n != 1) {
				t.Errorf("%d sales sent", n)
			}
			if !loseAnswer {
				return
			}
			// The operator finds the transaction at the gateway and settles it.
			ops, err := srv.DB.FindGatewayOps(ctx, "attention", 10)
			if err != nil || len(ops) != 1 {
				t.Fatalf("ops needing an operator: %v %v", ops, err)
			}
			if err := srv.Payments.ResolveGatewayOp(ctx, ops[0].ID, "NOT-THIS-ONE", false); err == nil {
				t.Error("resolved with an unknown xref")
			}
			if err := srv.Payments.ResolveGatewayOp(ctx, ops[0].ID, lossy.lostXRef.Load().(string), false); err != nil {
				t.Fatal(err)
			}
			got, _ = sc.V1PaymentIntents.Retrieve(ctx, pi.ID, nil)
			if got.Status != stripe.PaymentIntentStatusSucceeded || countCharges(t, sc, pi.ID) != 1 {
				t.Errorf("after resolving: %s with %d charges", got.Status, countCharges(t, sc, pi.ID))
			}
		})
	}
}

// eachStore runs fn with a server on SQLite and, when
// CALMONY_TEST_POSTGRES_URL is set, one on PostgreSQL.
func eachStore(t *testing.T, fn func(t *testing.T, srv *apitest.Server)) {
	eachStoreWith(t, apitest.Options{}, fn)
}

// eachStoreWith runs fn on a server with opts on each database.
func eachStoreWith(t *testing.T, opts apitest.Options, fn func(t *testing.T, srv *apitest.Server)) {
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); fn(t, apitest.Start(t, opts)) })
	pg := opts
	pg.Postgres = true
	t.Run("postgres", func(t *testing.T) { t.Parallel(); fn(t, apitest.Start(t, pg)) })
}

func TestCurrencies(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	sc := payClient(t, srv, "")
	ctx := context.Background()
	params := func() *stripe.PaymentIntentCreateParams {
		return &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("eur")}
	}
	if _, err := sc.V1PaymentIntents.Create(ctx, params()); stripeErr(t, err).Param != "currency" {
		t.Errorf("eur before it is enabled: %v", err)
	}
	if err := srv.DB.Tx(ctx, func(tx *store.Tx) error { return tx.SetProjectCurrencies(ctx, srv.Project, []string{"gbp", "eur"}) }); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		pi, err := sc.V1PaymentIntents.Create(ctx, params())
		if err == nil {
			if pi.Currency != "eur" {
				t.Errorf("currency = %s", pi.Currency)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("eur after enabling: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPaymentsAreScopedToProjectAndMode(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	sc := payClient(t, srv, "")
	ctx := context.Background()
	pi, err := sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("gbp"),
		PaymentMethod: stripe.String("pm_card_visa"), Confirm: stripe.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	re, err := sc.V1Refunds.Create(ctx, &stripe.RefundCreateParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(100)})
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey := apitest.NewProject(t, srv.DB)
	for name, key := range map[string]string{"other project": otherKey, "live mode": apitest.NewKey(t, srv.DB, srv.Project, true)} {
		other := payClient(t, srv, key)
		checks := map[string]error{}
		_, checks["payment intent"] = other.V1PaymentIntents.Retrieve(ctx, pi.ID, nil)
		_, checks["charge"] = other.V1Charges.Retrieve(ctx, pi.LatestCharge.ID, nil)
		_, checks["refund"] = other.V1Refunds.Retrieve(ctx, re.ID, nil)
		_, checks["payment method"] = other.V1PaymentMethods.Retrieve(ctx, pi.PaymentMethod.ID, nil)
		_, checks["confirm"] = other.V1PaymentIntents.Confirm(ctx, pi.ID, nil)
		_, checks["refund create"] = other.V1Refunds.Create(ctx, &stripe.RefundCreateParams{PaymentIntent: stripe.String(pi.ID)})
		for what, err := range checks {
			se := stripeErr(t, err)
			// A live key on a server without a live account is refused before
			// any lookup, which reveals nothing either.
			if name == "live mode" && se.Code == "livemode_not_configured" && (what == "confirm" || what == "refund create") {
				continue
			}
			if se.Code != stripe.ErrorCodeResourceMissing {
				t.Errorf("%s: %s: %d %s, want resource_missing", name, what, se.HTTPStatusCode, se.Code)
			}
		}
		for _, err := range other.V1PaymentIntents.List(ctx, &stripe.PaymentIntentListParams{}).All(ctx) {
			if err == nil {
				t.Errorf("%s lists another scope's payment intents", name)
			}
		}
	}
}

// TestCreateAndConfirmRefusedLeavesNothing: a create with confirm=true that is
// refused before the gateway call is one atomic write, so it stores no
// payment intent, and its idempotency key stays free.
func TestCreateAndConfirmRefusedLeavesNothing(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		params := &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("gbp"), Confirm: stripe.Bool(true)}
		params.SetIdempotencyKey("create-confirm")
		_, err := sc.V1PaymentIntents.Create(ctx, params)
		if se := stripeErr(t, err); se.HTTPStatusCode != 400 || se.Param != "payment_method" {
			t.Fatalf("confirm without a payment method: %v", err)
		}
		if n := countIntents(t, sc); n != 0 {
			t.Errorf("%d payment intents stored, want none", n)
		}
		// The key was not used up: the same key with a payment method now charges.
		pm := newCard(t, sc, publishedCards[0].number, publishedCards[0].cvc)
		ok := &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("gbp"), Confirm: stripe.Bool(true), PaymentMethod: stripe.String(pm.ID)}
		ok.SetIdempotencyKey("create-confirm")
		pi, err := sc.V1PaymentIntents.Create(ctx, ok)
		if err != nil || pi.Status != stripe.PaymentIntentStatusSucceeded {
			t.Fatalf("create and confirm: %+v, %v", pi, err)
		}
		if n := countIntents(t, sc); n != 1 {
			t.Errorf("%d payment intents stored, want 1", n)
		}
	})
}

// TestConcurrentKeyedCreateAndConfirmChargesOnce sends one keyed create with
// confirm=true from 8 clients at once: the key is claimed in the transaction
// that creates the intent, so only one intent is created and charged; the
// others replay its response or are told to retry.
func TestConcurrentKeyedCreateAndConfirmChargesOnce(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		pm := newCard(t, sc, publishedCards[0].number, publishedCards[0].cvc)
		var (
			wg  sync.WaitGroup
			mu  sync.Mutex
			ids = map[string]bool{}
		)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				params := &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("gbp"), Confirm: stripe.Bool(true), PaymentMethod: stripe.String(pm.ID)}
				params.SetIdempotencyKey("same-key")
				pi, err := sc.V1PaymentIntents.Create(ctx, params)
				if err != nil {
					if se := stripeErr(t, err); se.HTTPStatusCode != 409 {
						t.Errorf("create and confirm: %v", err)
					}
					return
				}
				mu.Lock()
				ids[pi.ID] = true
				mu.Unlock()
			}()
		}
		wg.Wait()
		if len(ids) != 1 || countIntents(t, sc) != 1 {
			t.Fatalf("answers named %d intents and %d are stored; want 1", len(ids), countIntents(t, sc))
		}
		for id := range ids {
			if n := countCharges(t, sc, id); n != 1 {
				t.Errorf("%d charges, want 1", n)
			}
		}
	})
}

// TestKeyedPaymentMethodCreate: a payment method create checks its key
// before verifying the card and claims it only when it stores the outcome.
// A retry replays the first answer, other parameters are refused, and
// clients racing with one key end up with one stored payment method.
func TestKeyedPaymentMethodCreate(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		body := "type=card&card[number]=4929421234600821&card[exp_month]=12&card[exp_year]=" + fmt.Sprint(time.Now().Year()+2) + "&card[cvc]=356"
		first := do(t, srv, call{method: "POST", path: "/v1/payment_methods", body: body, header: map[string]string{"Idempotency-Key": "pm-1"}})
		again := do(t, srv, call{method: "POST", path: "/v1/payment_methods", body: body, header: map[string]string{"Idempotency-Key": "pm-1"}})
		if first.status != 200 || again.status != 200 || again.body["id"] != first.body["id"] || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry: %d %v then %d %v (%v)", first.status, first.body["id"], again.status, again.body["id"], again.header)
		}
		other := do(t, srv, call{method: "POST", path: "/v1/payment_methods", body: body + "&metadata[a]=b", header: map[string]string{"Idempotency-Key": "pm-1"}})
		wantError(t, other, 400, "idempotency_error", "", "")

		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := do(t, srv, call{method: "POST", path: "/v1/payment_methods", body: body, header: map[string]string{"Idempotency-Key": "pm-race"}})
				if a.status != 200 && a.status != 409 {
					t.Errorf("racing create: %d %s", a.status, a.raw)
				}
			}()
		}
		wg.Wait()
		var n int
		if err := srv.DB.RawQueryRow(context.Background(), `SELECT COUNT(*) FROM payment_methods`).Scan(&n); err != nil || n != 2 {
			t.Errorf("%d payment methods stored (err %v), want 2: one per key", n, err)
		}
	})
}

// TestPaymentIntentEvents checks the events a create, and a create with
// confirm=true, record: payment_intent.created holds the intent as it was
// created, before the confirmation moved it on.
func TestPaymentIntentEvents(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		pm := newCard(t, sc, publishedCards[0].number, publishedCards[0].cvc)
		plain, err := sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(500), Currency: stripe.String("gbp")})
		if err != nil {
			t.Fatal(err)
		}
		paid, err := sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("gbp"),
			Confirm: stripe.Bool(true), PaymentMethod: stripe.String(pm.ID)})
		if err != nil || paid.Status != stripe.PaymentIntentStatusSucceeded {
			t.Fatalf("create and confirm: %+v, %v", paid, err)
		}
		type seen struct{ typ, object, status string }
		var got []seen
		for e, err := range sc.V1Events.List(ctx, &stripe.EventListParams{}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			var obj struct{ ID, Status string }
			if err := json.Unmarshal(e.Data.Raw, &obj); err != nil {
				t.Fatal(err)
			}
			got = append(got, seen{string(e.Type), obj.ID, obj.Status})
		}
		slices.Reverse(got) // oldest first
		want := []seen{
			{"payment_intent.created", plain.ID, "requires_payment_method"},
			{"payment_intent.created", paid.ID, "requires_confirmation"},
			{"payment_intent.succeeded", paid.ID, "succeeded"},
		}
		if !slices.Equal(got, want) {
			t.Errorf("events, oldest first:\n%v\nwant\n%v", got, want)
		}
	})
}
