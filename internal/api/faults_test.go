package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	stripe "github.com/stripe/stripe-go/v85"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/cardstream/sandbox"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// recordingGateway passes every call to the sandbox and keeps what money
// the gateway moved: approved sales by transactionUnique (with their xref),
// approved captures, cancels and refunds. hook, when set, runs before each
// money-moving call and may replace it.
type recordingGateway struct {
	payments.Gateway
	delay time.Duration
	hook  func(action string, req any) (handled bool, res any, err error)

	mu       sync.Mutex
	sales    map[string][]string // transactionUnique → xrefs of approved sales
	sent     map[string]int      // action → calls
	approved map[string]int      // action → approved calls
}

func newRecordingGateway(gw payments.Gateway) *recordingGateway {
	return &recordingGateway{Gateway: gw, sales: map[string][]string{}, sent: map[string]int{}, approved: map[string]int{}}
}

func (g *recordingGateway) note(action string, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sent[action]++
	if ok {
		g.approved[action]++
	}
}

func (g *recordingGateway) counts(action string) (sent, approved int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sent[action], g.approved[action]
}

// approvedSales returns the xrefs of the approved sales of a payment intent
// (transactionUnique pi_…-N).
func (g *recordingGateway) approvedSales(pi string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for unique, xrefs := range g.sales {
		for n := 1; n < 10; n++ {
			if unique == fmt.Sprintf("%s-%d", pi, n) {
				out = append(out, xrefs...)
			}
		}
	}
	return out
}

// pass sends one money-moving call through the hook, then the sandbox,
// and notes it.
func pass[Req any, Res interface{ Approved() bool }](ctx context.Context, g *recordingGateway, action string, req Req,
	send func(context.Context, Req) (Res, error)) (Res, error) {
	time.Sleep(g.delay)
	if g.hook != nil {
		if handled, res, err := g.hook(action, req); handled {
			r, _ := res.(Res)
			return r, err
		}
	}
	res, err := send(ctx, req)
	g.note(action, err == nil && res.Approved())
	return res, err
}

func (g *recordingGateway) Sale(ctx context.Context, req cardstream.SaleRequest) (*cardstream.Result, error) {
	res, err := pass(ctx, g, "SALE", req, g.Gateway.Sale)
	if err == nil && res != nil && res.Approved() {
		g.mu.Lock()
		g.sales[req.TransactionUnique] = append(g.sales[req.TransactionUnique], res.XRef)
		g.mu.Unlock()
	}
	return res, err
}

func (g *recordingGateway) ContinueThreeDS(ctx context.Context, req cardstream.ThreeDSContinueRequest) (*cardstream.Result, error) {
	return pass(ctx, g, "3DS", req, g.Gateway.ContinueThreeDS)
}

func (g *recordingGateway) Capture(ctx context.Context, req cardstream.CaptureRequest) (*cardstream.Result, error) {
	return pass(ctx, g, "CAPTURE", req, g.Gateway.Capture)
}

func (g *recordingGateway) Cancel(ctx context.Context, req cardstream.CancelRequest) (*cardstream.Result, error) {
	return pass(ctx, g, "CANCEL", req, g.Gateway.Cancel)
}

func (g *recordingGateway) Refund(ctx context.Context, req cardstream.RefundRequest) (*cardstream.RefundResult, error) {
	return pass(ctx, g, "REFUND", req, g.Gateway.Refund)
}

// faultRig is a server on a movable clock, charging through a recording
// gateway, that crashes a request at an armed point.
type faultRig struct {
	srv     *apitest.Server
	sandbox *sandbox.Sandbox // behind gw
	sc      *stripe.Client
	gw      *recordingGateway
	offset  atomic.Int64
	armed   atomic.Value // string: the crash point the next request to reach it dies at
}

func newFaultRig(t *testing.T, postgres bool, opts apitest.Options) *faultRig {
	t.Helper()
	base := apitest.Start(t, apitest.Options{}) // only for its sandbox gateway
	rig := &faultRig{gw: newRecordingGateway(base.Payments.Gateways().Test), sandbox: base.Sandbox}
	rig.armed.Store("")
	opts.Postgres = postgres
	opts.Gateways = &payments.Gateways{Test: rig.gw}
	opts.Now = func() time.Time { return time.Now().Add(time.Duration(rig.offset.Load())) }
	opts.Crash = func(point string) bool { return rig.armed.CompareAndSwap(point, "") }
	rig.srv = apitest.Start(t, opts)
	// No connection reuse: Go's transport resends a keyed request whose
	// reused connection broke, which would hide the crash from the test.
	rig.sc = stripe.NewClient(rig.srv.Key, stripe.WithBackends(stripe.NewBackendsWithConfig(&stripe.BackendConfig{
		URL: stripe.String(rig.srv.URL), MaxNetworkRetries: stripe.Int64(0),
		HTTPClient:    &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}},
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	})))
	return rig
}

// paid makes a payment of amount, charged at once.
func (rig *faultRig) paid(t *testing.T, amount int64) *stripe.PaymentIntent {
	t.Helper()
	pm := newCard(t, rig.sc, "4929421234600821", "356")
	pi, err := rig.sc.V1PaymentIntents.Create(context.Background(), &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(amount),
		Currency: stripe.String("gbp"), PaymentMethod: stripe.String(pm.ID), Confirm: stripe.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return pi
}

// later moves the clock past every lease and runs the reconciler once.
func (rig *faultRig) later(t *testing.T) {
	t.Helper()
	rig.offset.Add(int64(time.Minute))
	if err := rig.srv.Payments.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func keyed(key string) stripe.Params {
	p := stripe.Params{}
	p.SetIdempotencyKey(key)
	return p
}

func replayed(r stripe.APIResource) bool {
	return r.LastResponse != nil && r.LastResponse.Header.Get("Idempotent-Replayed") == "true"
}

// TestCrashThenRetryResumesTheFirstExecution kills a keyed request at each
// point between its steps (its gateway op recorded; the gateway answered;
// the outcome recorded), lets its lease lapse and the reconciler run, and
// retries it with the same key: the retry finds the first execution's
// outcome, and the gateway moved money once.
func TestCrashThenRetryResumesTheFirstExecution(t *testing.T) {
	t.Parallel()
	kinds := []string{"create_and_confirm", "confirm", "capture", "cancel", "refund"}
	points := []string{"prepared", "called", "settled"}
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		for _, kind := range kinds {
			for _, point := range points {
				t.Run(kind+"/"+point, func(t *testing.T) {
					t.Parallel()
					crashAndRetry(t, newFaultRig(t, postgres, apitest.Options{}), kind, point)
				})
			}
		}
	})
}

func crashAndRetry(t *testing.T, rig *faultRig, kind, point string) {
	ctx := context.Background()
	sc := rig.sc
	pm := newCard(t, sc, "4929421234600821", "356")
	newIntent := func(capture string, confirm bool) *stripe.PaymentIntent {
		pi, err := sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("gbp"),
			PaymentMethod: stripe.String(pm.ID), CaptureMethod: stripe.String(capture), Confirm: stripe.Bool(confirm)})
		if err != nil {
			t.Fatal(err)
		}
		return pi
	}
	const key = "the-one-key"
	var (
		do   func() (status string, r stripe.APIResource, err error)
		want string
		pi   *stripe.PaymentIntent
	)
	intent := func(got *stripe.PaymentIntent, err error) (string, stripe.APIResource, error) {
		if err != nil {
			return "", stripe.APIResource{}, err
		}
		pi = got
		return string(got.Status), got.APIResource, nil
	}
	switch kind {
	case "create_and_confirm":
		want = "succeeded"
		do = func() (string, stripe.APIResource, error) {
			return intent(sc.V1PaymentIntents.Create(ctx, &stripe.PaymentIntentCreateParams{Params: keyed(key), Amount: stripe.Int64(1000),
				Currency: stripe.String("gbp"), PaymentMethod: stripe.String(pm.ID), Confirm: stripe.Bool(true)}))
		}
	case "confirm":
		want, pi = "succeeded", newIntent("automatic", false)
		id := pi.ID
		do = func() (string, stripe.APIResource, error) {
			return intent(sc.V1PaymentIntents.Confirm(ctx, id, &stripe.PaymentIntentConfirmParams{Params: keyed(key)}))
		}
	case "capture", "cancel":
		pi = newIntent("manual", true)
		id := pi.ID
		want = "succeeded"
		do = func() (string, stripe.APIResource, error) {
			return intent(sc.V1PaymentIntents.Capture(ctx, id, &stripe.PaymentIntentCaptureParams{Params: keyed(key)}))
		}
		if kind == "cancel" {
			want = "canceled"
			do = func() (string, stripe.APIResource, error) {
				return intent(sc.V1PaymentIntents.Cancel(ctx, id, &stripe.PaymentIntentCancelParams{Params: keyed(key)}))
			}
		}
	case "refund":
		pi = newIntent("automatic", true)
		want = "succeeded"
		id := pi.ID
		do = func() (string, stripe.APIResource, error) {
			re, err := sc.V1Refunds.Create(ctx, &stripe.RefundCreateParams{Params: keyed(key), PaymentIntent: stripe.String(id), Amount: stripe.Int64(400)})
			if err != nil {
				return "", stripe.APIResource{}, err
			}
			return string(re.Status), re.APIResource, nil
		}
	}

	rig.armed.Store(point)
	if _, _, err := do(); err == nil {
		t.Fatalf("the request crashed at %s but was answered", point)
	}
	if rig.armed.Load() != "" {
		t.Fatalf("the request never reached %s", point)
	}
	rig.later(t)
	status, res, err := do()
	if err != nil {
		t.Fatalf("retry after the crash: %v", err)
	}
	if kind == "create_and_confirm" || kind == "confirm" {
		if point == "called" {
			// The sale landed and its answer died with the request: the
			// reconciler's resend was refused as a duplicate, so the op waits
			// for an operator, and the retry says the payment is processing.
			if status != "processing" || replayed(res) {
				t.Fatalf("retry with the sale's answer lost: %s (replayed %v), want processing, not stored", status, replayed(res))
			}
			resolveWithSale(t, rig, pi.ID)
			if status, res, err = do(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if status != want || !replayed(res) {
		t.Errorf("retry after a crash at %s: %s (replayed %v), want %s replayed", point, status, replayed(res), want)
	}
	if kind == "create_and_confirm" {
		if n := countIntents(t, sc); n != 1 {
			t.Errorf("%d payment intents after a retried create, want 1", n)
		}
	}
	// Money moved once.
	if xrefs := rig.gw.approvedSales(pi.ID); len(xrefs) != 1 {
		t.Errorf("%d approved sales at the gateway, want 1", len(xrefs))
	}
	action := map[string]string{"capture": "CAPTURE", "cancel": "CANCEL", "refund": "REFUND"}[kind]
	if _, approved := rig.gw.counts(action); action != "" && approved != 1 {
		t.Errorf("%d approved %s at the gateway, want 1", approved, action)
	}
	if kind == "refund" {
		ch, err := sc.V1Charges.Retrieve(ctx, pi.LatestCharge.ID, nil)
		if err != nil || ch.AmountRefunded != 400 {
			t.Errorf("charge after the refund: %+v %v, want 400 refunded", ch, err)
		}
		assertLedgerMatchesGateway(t, rig, pi.ID)
	}
}

// resolveWithSale settles the parked sale op of an intent with the xref of
// the gateway transaction, as an operator would from Cardstream's MMS.
func resolveWithSale(t *testing.T, rig *faultRig, pi string) {
	t.Helper()
	ctx := context.Background()
	ops, err := rig.srv.DB.FindGatewayOps(ctx, pay.OpAttention, 10)
	if err != nil || len(ops) != 1 || ops[0].ObjectID != pi {
		t.Fatalf("ops waiting for an operator: %v %v, want one for %s", ops, err, pi)
	}
	xrefs := rig.gw.approvedSales(pi)
	if len(xrefs) != 1 {
		t.Fatalf("%d approved sales at the gateway", len(xrefs))
	}
	if err := rig.srv.Payments.ResolveGatewayOp(ctx, ops[0].ID, xrefs[0], false); err != nil {
		t.Fatal(err)
	}
}

// assertLedgerMatchesGateway compares what our charge says is left to
// refund with what the gateway's QUERY of the sale shows.
func assertLedgerMatchesGateway(t *testing.T, rig *faultRig, piID string) {
	t.Helper()
	ctx := context.Background()
	pi, err := rig.sc.V1PaymentIntents.Retrieve(ctx, piID, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := rig.sc.V1Charges.Retrieve(ctx, pi.LatestCharge.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	xrefs := rig.gw.approvedSales(piID)
	if len(xrefs) != 1 {
		t.Fatalf("%d approved sales for %s", len(xrefs), piID)
	}
	q, err := rig.gw.Query(ctx, cardstream.QueryRequest{XRef: xrefs[0]})
	if err != nil {
		t.Fatal(err)
	}
	left := q.Amount
	if q.State == cardstream.StateAccepted {
		left -= q.AmountRefunded
	} else if q.State == cardstream.StateCanceled {
		left = 0
	}
	if ours := ch.AmountCaptured - ch.AmountRefunded; ours != left {
		t.Errorf("ledger: %d left of %s (captured %d, refunded %d); gateway: %d left (state %s, amount %d, refunded %d)",
			ours, ch.ID, ch.AmountCaptured, ch.AmountRefunded, left, q.State, q.Amount, q.AmountRefunded)
	}
}

// TestSlowGatewayDoesNotRaceTheReconciler freezes the gateway past the
// request's patience: the request answers processing, keeps its lease on
// the op while it waits, and the reconciler, run meanwhile with the clock
// past the op's first lease, leaves the op alone. The outcome is recorded
// when the gateway answers, and a retry replays it: one sale was sent.
func TestSlowGatewayDoesNotRaceTheReconciler(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		rig := newFaultRig(t, postgres, apitest.Options{AnswerWithin: 200 * time.Millisecond})
		ctx := context.Background()
		pm := newCard(t, rig.sc, "4929421234600821", "356")
		rig.gw.delay = 7 * time.Second // more than one renewal (every 5 s)
		params := &stripe.PaymentIntentCreateParams{Params: keyed("slow"), Amount: stripe.Int64(1000), Currency: stripe.String("gbp"),
			PaymentMethod: stripe.String(pm.ID), Confirm: stripe.Bool(true)}
		pi, err := rig.sc.V1PaymentIntents.Create(ctx, params)
		if err != nil || pi.Status != stripe.PaymentIntentStatusProcessing || replayed(pi.APIResource) {
			t.Fatalf("create with a frozen gateway: %+v %v, want processing", pi, err)
		}
		// After the renewal, 17.5 s of clock have passed: past the op's
		// first lease (15 s), within the renewed one.
		time.Sleep(5500 * time.Millisecond)
		rig.offset.Store(int64(12 * time.Second))
		if err := rig.srv.Payments.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		if sent, _ := rig.gw.counts("SALE"); sent != 0 {
			t.Errorf("the reconciler resent a sale whose request was still waiting on the gateway")
		}
		if err := rig.srv.Payments.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := rig.sc.V1PaymentIntents.Create(ctx, params)
		if err != nil || got.ID != pi.ID || got.Status != stripe.PaymentIntentStatusSucceeded || !replayed(got.APIResource) {
			t.Fatalf("retry once the gateway answered: %+v %v, want %s succeeded, replayed", got, err, pi.ID)
		}
		if sent, approved := rig.gw.counts("SALE"); sent != 1 || approved != 1 {
			t.Errorf("%d sales sent, %d approved; want 1", sent, approved)
		}
	})
}

// TestDuplicateAnswerAfterTheReconcilerSettled replays the outside run's
// 500: the reconciler settles a sale while the request's own copy of it is
// answered 65554 (duplicate). The request answers the settled outcome, and
// its key replays it; nothing is charged twice.
func TestDuplicateAnswerAfterTheReconcilerSettled(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		rig := newFaultRig(t, postgres, apitest.Options{})
		ctx := context.Background()
		pm := newCard(t, rig.sc, "4929421234600821", "356")
		var first atomic.Bool
		var dup *cardstream.Result
		rig.gw.hook = func(action string, req any) (bool, any, error) {
			if action != "SALE" || !first.CompareAndSwap(false, true) {
				return false, nil, nil
			}
			// The request's lease lapses while it waits: the reconciler
			// resends the sale (approved) and records it.
			rig.later(t)
			// The request's copy then reaches the gateway: a duplicate.
			res, err := rig.gw.Gateway.Sale(ctx, req.(cardstream.SaleRequest))
			dup = res
			return true, res, err
		}
		params := &stripe.PaymentIntentCreateParams{Params: keyed("dup"), Amount: stripe.Int64(1000), Currency: stripe.String("gbp"),
			PaymentMethod: stripe.String(pm.ID), Confirm: stripe.Bool(true)}
		pi, err := rig.sc.V1PaymentIntents.Create(ctx, params)
		if dup == nil || dup.Outcome != cardstream.OutcomeDuplicate {
			t.Fatalf("the request's copy was not answered as a duplicate: %+v", dup)
		}
		if err != nil || pi.Status != stripe.PaymentIntentStatusSucceeded {
			t.Fatalf("create whose sale the reconciler settled: %+v %v, want succeeded", pi, err)
		}
		again, err := rig.sc.V1PaymentIntents.Create(ctx, params)
		if err != nil || again.ID != pi.ID || !replayed(again.APIResource) {
			t.Fatalf("retry: %+v %v, want %s replayed", again, err, pi.ID)
		}
		if xrefs := rig.gw.approvedSales(pi.ID); len(xrefs) != 1 {
			t.Errorf("%d approved sales, want 1", len(xrefs))
		}
		if ops, _ := rig.srv.DB.FindGatewayOps(ctx, pay.OpAttention, 10); len(ops) != 0 {
			t.Errorf("ops parked: %v", ops)
		}
	})
}

// TestConcurrentRefundsAgreeWithTheGateway sends ten concurrent partial
// refunds of 300 on a payment of 1000, with gateway latency, before and
// after settlement: refunds of one charge reach the gateway one at a time,
// so exactly three succeed and the gateway gave back what our ledger says.
func TestConcurrentRefundsAgreeWithTheGateway(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		for _, settled := range []bool{false, true} {
			t.Run(fmt.Sprintf("settled=%v", settled), func(t *testing.T) {
				t.Parallel()
				rig := newFaultRig(t, postgres, apitest.Options{})
				ctx := context.Background()
				pi := rig.paid(t, 1000)
				if settled {
					settle(t, rig, pi.ID)
				}
				rig.gw.delay = 50 * time.Millisecond
				var (
					wg                  sync.WaitGroup
					succeeded, tooLarge atomic.Int32
					unexpected          sync.Map
				)
				for i := range 10 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						re, err := rig.sc.V1Refunds.Create(ctx, &stripe.RefundCreateParams{Params: keyed(fmt.Sprint("refund-", i)),
							PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(300)})
						var se *stripe.Error
						switch {
						case err == nil && re.Status == stripe.RefundStatusSucceeded:
							succeeded.Add(1)
						case errors.As(err, &se) && se.Code == stripe.ErrorCodeAmountTooLarge:
							tooLarge.Add(1)
						default:
							unexpected.Store(i, fmt.Sprint(re, err))
						}
					}()
				}
				wg.Wait()
				unexpected.Range(func(k, v any) bool { t.Errorf("refund %v: %v", k, v); return true })
				if succeeded.Load() != 3 || tooLarge.Load() != 7 {
					t.Errorf("%d refunds succeeded and %d were too large; want 3 and 7", succeeded.Load(), tooLarge.Load())
				}
				ch, err := rig.sc.V1Charges.Retrieve(ctx, pi.LatestCharge.ID, nil)
				if err != nil || ch.AmountRefunded != 900 {
					t.Errorf("charge: %+v %v, want 900 refunded", ch, err)
				}
				assertLedgerMatchesGateway(t, rig, pi.ID)
			})
		}
	})
}

// settle settles a payment's sale at the sandbox.
func settle(t *testing.T, rig *faultRig, piID string) {
	t.Helper()
	xrefs := rig.gw.approvedSales(piID)
	if len(xrefs) != 1 {
		t.Fatalf("%d approved sales for %s", len(xrefs), piID)
	}
	if _, err := rig.sandbox.Settle(xrefs[0]); err != nil {
		t.Fatal(err)
	}
}

// TestRefundWaitsForAnotherRefundOfTheCharge holds one refund at the
// gateway: a second refund of the same charge gets Stripe's lock timeout
// (429 lock_timeout, Stripe-Should-Retry: true) rather than racing it.
func TestRefundWaitsForAnotherRefundOfTheCharge(t *testing.T) {
	t.Parallel()
	rig := newFaultRig(t, false, apitest.Options{})
	ctx := context.Background()
	pi := rig.paid(t, 1000)
	release := make(chan struct{})
	held := make(chan struct{})
	rig.gw.hook = func(action string, _ any) (bool, any, error) {
		if action == "REFUND" {
			select {
			case <-held:
			default:
				close(held)
				<-release
			}
		}
		return false, nil, nil
	}
	firstDone := make(chan error, 1)
	go func() {
		_, err := rig.sc.V1Refunds.Create(ctx, &stripe.RefundCreateParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(100)})
		firstDone <- err
	}()
	<-held
	_, err := rig.sc.V1Refunds.Create(ctx, &stripe.RefundCreateParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(100)})
	se := stripeErr(t, err)
	if se.HTTPStatusCode != http.StatusTooManyRequests || se.Code != stripe.ErrorCodeLockTimeout ||
		se.LastResponse == nil || se.LastResponse.Header.Get("Stripe-Should-Retry") != "true" {
		t.Errorf("second refund while the first is at the gateway: %d %s, want 429 lock_timeout with Stripe-Should-Retry", se.HTTPStatusCode, se.Code)
	}
	close(release)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	if re, err := rig.sc.V1Refunds.Create(ctx, &stripe.RefundCreateParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(100)}); err != nil ||
		re.Status != stripe.RefundStatusSucceeded {
		t.Errorf("refund after the first settled: %+v %v", re, err)
	}
	assertLedgerMatchesGateway(t, rig, pi.ID)
}

// TestRefundParkedWhenTheGatewayDisagrees refunds part of a sale behind our
// back: the next refund finds the gateway's amounts differ from our
// ledger's, sends nothing and waits for an operator, visibly.
func TestRefundParkedWhenTheGatewayDisagrees(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		rig := newFaultRig(t, postgres, apitest.Options{})
		ctx := context.Background()
		pi := rig.paid(t, 1000)
		xref := rig.gw.approvedSales(pi.ID)[0]
		if _, err := rig.gw.Gateway.Refund(ctx, cardstream.RefundRequest{XRef: xref, Amount: 200}); err != nil {
			t.Fatal(err)
		}
		re, err := rig.sc.V1Refunds.Create(ctx, &stripe.RefundCreateParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(300)})
		if err != nil || re.Status != stripe.RefundStatusRequiresAction {
			t.Fatalf("refund against a gateway that disagrees: %+v %v, want requires_action", re, err)
		}
		if _, approved := rig.gw.counts("REFUND"); approved != 0 {
			t.Errorf("%d refunds reached the gateway", approved)
		}
		ops, err := rig.srv.DB.FindGatewayOps(ctx, pay.OpAttention, 10)
		if err != nil || len(ops) != 1 || ops[0].ObjectID != re.ID {
			t.Fatalf("ops for an operator: %v %v", ops, err)
		}
		evs := rig.sc.V1Events.List(ctx, &stripe.EventListParams{Type: stripe.String("refund.updated")})
		found := false
		for ev, err := range evs.All(ctx) {
			if err == nil && ev.Data.Object["id"] == re.ID && ev.Data.Object["status"] == "requires_action" {
				found = true
			}
		}
		if !found {
			t.Error("no refund.updated event shows the parked refund")
		}
		_, err = rig.sc.V1Refunds.Create(ctx, &stripe.RefundCreateParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(100)})
		if se := stripeErr(t, err); se.HTTPStatusCode != 400 || se.Code != "refund_requires_operator" {
			t.Errorf("refund while another waits for an operator: %d %s", se.HTTPStatusCode, se.Code)
		}
		// The operator finds no refund of ours at the gateway.
		if err := rig.srv.Payments.ResolveGatewayOp(ctx, ops[0].ID, "", true); err != nil {
			t.Fatal(err)
		}
		if got, _ := rig.sc.V1Refunds.Retrieve(ctx, re.ID, nil); got.Status != stripe.RefundStatusFailed {
			t.Errorf("resolved refund: %s, want failed", got.Status)
		}
	})
}

// TestVerifyDuplicateIsNotADecline loses the answer to a card
// verification, so the client's resend is answered 65554: the card is
// verified again, not declined.
func TestVerifyDuplicateIsNotADecline(t *testing.T) {
	t.Parallel()
	base := apitest.Start(t, apitest.Options{})
	dup := &duplicatingVerify{Gateway: base.Payments.Gateways().Test}
	srv := apitest.Start(t, apitest.Options{Gateways: &payments.Gateways{Test: dup}})
	pm := newCard(t, payClient(t, srv, ""), "4929421234600821", "356")
	if pm.Card.Last4 != "0821" || dup.calls.Load() != 3 {
		t.Errorf("payment method %+v after %d verifications, want the card after 3", pm.Card, dup.calls.Load())
	}
}

// duplicatingVerify answers the first VERIFY as the gateway answers a resend
// of one that landed: it sends it twice and returns the second answer.
type duplicatingVerify struct {
	payments.Gateway
	calls atomic.Int32
}

func (g *duplicatingVerify) Verify(ctx context.Context, req cardstream.VerifyRequest) (*cardstream.Result, error) {
	if g.calls.Add(1) == 1 {
		if _, err := g.Gateway.Verify(ctx, req); err != nil {
			return nil, err
		}
		g.calls.Add(1)
	}
	return g.Gateway.Verify(ctx, req)
}

// TestExpandIsCheckedBeforeTheGateway: a money-moving request's expand[]
// is checked before anything is charged (after the call it could only fail
// a payment that was made), and a decline is answered, and replayed,
// whatever expand[] asked for.
func TestExpandIsCheckedBeforeTheGateway(t *testing.T) {
	t.Parallel()
	rig := newFaultRig(t, false, apitest.Options{})
	ctx := context.Background()
	pm := newCard(t, rig.sc, "4929421234600821", "356")
	params := &stripe.PaymentIntentCreateParams{Amount: stripe.Int64(1000), Currency: stripe.String("gbp"),
		PaymentMethod: stripe.String(pm.ID), Confirm: stripe.Bool(true)}
	params.AddExpand("no_such_field")
	_, err := rig.sc.V1PaymentIntents.Create(ctx, params)
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 || se.Param != "expand" {
		t.Errorf("create with a bad expand[]: %d %s, want 400 naming expand", se.HTTPStatusCode, se.Param)
	}
	if sent, _ := rig.gw.counts("SALE"); sent != 0 || countIntents(t, rig.sc) != 0 {
		t.Errorf("a request refused for its expand[] charged %d times, left %d intents", sent, countIntents(t, rig.sc))
	}
	declined := &stripe.PaymentIntentCreateParams{Params: keyed("declined"), Amount: stripe.Int64(10500), Currency: stripe.String("gbp"),
		PaymentMethod: stripe.String(pm.ID), Confirm: stripe.Bool(true)}
	declined.AddExpand("latest_charge")
	for i := range 2 {
		_, err := rig.sc.V1PaymentIntents.Create(ctx, declined)
		if se := stripeErr(t, err); se.HTTPStatusCode != 402 || se.PaymentIntent == nil {
			t.Errorf("declined create %d with expand[]: %d %+v", i, se.HTTPStatusCode, se)
		}
	}
	if sent, _ := rig.gw.counts("SALE"); sent != 1 {
		t.Errorf("%d sales sent for one keyed decline, want 1", sent)
	}
}

// TestInstancesReconcileAnOpOnce: two instances on one database run their
// reconcilers at once over an op whose request died: one takes the op and
// resends the sale, the other leaves it, and the key's retry on either
// instance gets the one outcome.
func TestInstancesReconcileAnOpOnce(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		rig := newFaultRig(t, postgres, apitest.Options{})
		other := apitest.Start(t, apitest.Options{Share: rig.srv, Gateways: &payments.Gateways{Test: rig.gw},
			Now: func() time.Time { return time.Now().Add(time.Duration(rig.offset.Load())) }})
		ctx := context.Background()
		pm := newCard(t, rig.sc, "4929421234600821", "356")
		params := &stripe.PaymentIntentCreateParams{Params: keyed("two-instances"), Amount: stripe.Int64(1000), Currency: stripe.String("gbp"),
			PaymentMethod: stripe.String(pm.ID), Confirm: stripe.Bool(true)}
		rig.armed.Store("prepared")
		if _, err := rig.sc.V1PaymentIntents.Create(ctx, params); err == nil {
			t.Fatal("the request crashed but was answered")
		}
		rig.offset.Add(int64(time.Minute))
		var wg sync.WaitGroup
		for _, srv := range []*apitest.Server{rig.srv, other} {
			wg.Go(func() {
				if err := srv.Payments.Reconcile(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if sent, approved := rig.gw.counts("SALE"); sent != 1 || approved != 1 {
			t.Errorf("%d sales sent (%d approved) by two reconcilers, want 1", sent, approved)
		}
		for _, srv := range []*apitest.Server{rig.srv, other} {
			pi, err := payClient(t, srv, "").V1PaymentIntents.Create(ctx, params)
			if err != nil || pi.Status != stripe.PaymentIntentStatusSucceeded || !replayed(pi.APIResource) {
				t.Errorf("retry on %s: %+v %v, want succeeded, replayed", srv.URL, pi, err)
			}
		}
	})
}
