package payments_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/cardstream/sandbox"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// env is a payments.Service on a real store and the in-process Cardstream
// sandbox, called as a scheduler or the CLI would call it: no HTTP at all.
type env struct {
	db    *store.DB
	svc   *payments.Service
	gw    *gateway
	sbx   *sandbox.Sandbox
	clock *clock
	scope pay.Scope
}

// options tune newEnv.
type options struct {
	// crash is payments.Config.Crash.
	crash func(point string) bool
}

// newEnv builds a Service on a fresh store (PostgreSQL if postgres) with
// one test-mode project, charging the sandbox through a counting gateway.
// The store and the service share one clock, which the test moves.
func newEnv(t *testing.T, postgres bool, opts options) *env {
	t.Helper()
	clk := &clock{}
	db := storetest.OpenWithClock(t, postgres, clk.Now)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	noEnv := func(string) string { return "" }
	// The sandbox's pages and callbacks are never reached: there are no
	// browsers here, only Direct API calls made in memory.
	test, err := sandbox.Setup(noEnv, sandbox.SetupOptions{CallbackURL: "http://calmony.test" + payments.CheckoutCallbackPath,
		SandboxURL: "http://sandbox.calmony.test", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	gws, err := payments.Configure(noEnv, payments.Options{Test: test.Client, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	gw := &gateway{Gateway: gws.Test, calls: map[string]int{}}
	svc := payments.New(payments.Config{DB: db, Keys: db.Keys(), Gateways: payments.Gateways{Test: gw}, Logger: log, Now: clk.Now,
		PublicURL: "http://calmony.test", Crash: opts.crash})
	t.Cleanup(func() {
		// Operations that answered before their gateway call ended still
		// record its outcome: let them, before the store closes.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := svc.Drain(ctx); err != nil {
			t.Errorf("drain: %v", err)
		}
	})
	return &env{db: db, svc: svc, gw: gw, sbx: test.Sandbox, clock: clk, scope: storetest.Project(t, db)}
}

// plain is a call on behalf of the env's project with no idempotency key.
func (e *env) plain() payments.Call { return payments.Plain(e.scope) }

// keyed is a call with the idempotency key key, for a request whose
// parameters have the fingerprint fp.
func (e *env) keyed(key, fp string) payments.Call {
	c := e.plain()
	c.Key = &payments.IdempotencyKey{Key: store.IdemKey{Scope: e.scope, Key: key}, Method: "POST", Path: "/v1/test", Fingerprint: fp}
	return c
}

// card tokenises a card number (a Stripe test card) and returns the
// stored payment method.
func (e *env) card(t *testing.T, number string) *pay.PaymentMethod {
	t.Helper()
	a, err := e.svc.CreatePaymentMethod(context.Background(), e.plain(),
		payments.CardInput{Number: number, ExpMonth: 12, ExpYear: int64(e.clock.Now().Year() + 2), CVC: "123"}, pay.BillingDetails{}, pay.MetadataUpdate{})
	if err != nil {
		t.Fatalf("tokenise %s: %v", number, err)
	}
	pm, ok := a.Object.(*pay.PaymentMethod)
	if !ok || a.Err != nil {
		t.Fatalf("tokenise %s: %T %v", number, a.Object, a.Err)
	}
	return pm
}

// intentParams are a payment intent's amount in GBP and payment method,
// and optionally its capture method.
func intentParams(amount int64, pm, captureMethod string) pay.PaymentIntentUpdate {
	u := pay.PaymentIntentUpdate{Amount: &amount, Currency: ptr("gbp"), PaymentMethod: &pm}
	if captureMethod != "" {
		u.CaptureMethod = &captureMethod
	}
	return u
}

// charged creates and confirms a payment intent, and fails the test unless
// the answer is an intent in status want.
func (e *env) charged(t *testing.T, call payments.Call, upd pay.PaymentIntentUpdate, opts payments.ConfirmParams, want string) *pay.PaymentIntent {
	t.Helper()
	a, err := e.svc.CreatePaymentIntent(context.Background(), call, upd, true, opts)
	if err != nil {
		t.Fatalf("create and confirm: %v", err)
	}
	return answeredIntent(t, a, want)
}

// answeredIntent returns the payment intent a answers with, and fails the
// test unless it is in status want.
func answeredIntent(t *testing.T, a *payments.Answer, want string) *pay.PaymentIntent {
	t.Helper()
	pi, ok := a.Object.(*pay.PaymentIntent)
	if !ok || a.Err != nil {
		t.Fatalf("answer: %T (err %v), want a payment intent", a.Object, a.Err)
	}
	if pi.Status != want {
		t.Fatalf("payment intent %s is %s, want %s", pi.ID, pi.Status, want)
	}
	return pi
}

// intent reads a payment intent from the store.
func (e *env) intent(t *testing.T, id string) *pay.PaymentIntent {
	t.Helper()
	pi, err := e.db.FindPaymentIntent(context.Background(), e.scope, id)
	if err != nil {
		t.Fatal(err)
	}
	return pi
}

// charge reads a charge from the store.
func (e *env) charge(t *testing.T, id string) *pay.Charge {
	t.Helper()
	ch, err := e.db.FindCharge(context.Background(), e.scope, id)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// events returns the types of the events written about an object, oldest
// first.
func (e *env) events(t *testing.T, objectID string) []string {
	t.Helper()
	l, err := e.db.FindEvents(context.Background(), e.scope, store.EventFilter{ObjectID: objectID}, pay.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for i := len(l.Data) - 1; i >= 0; i-- {
		types = append(types, l.Data[i].Type)
	}
	return types
}

// written summarises what the store and the gateway hold: how many of
// each object, how many events, and the calls that reached the gateway.
// Comparing it before and after a call shows whether the call wrote or
// sent anything.
func (e *env) written(t *testing.T) string {
	t.Helper()
	ctx, page := context.Background(), pay.Page{Limit: 100}
	count := func(n int, err error) int {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	var (
		pms      = count(lenOf(e.db.FindPaymentMethods(ctx, e.scope, store.PaymentMethodFilter{}, page)))
		intents  = count(lenOf(e.db.FindPaymentIntents(ctx, e.scope, store.PaymentIntentFilter{}, page)))
		charges  = count(lenOf(e.db.FindCharges(ctx, e.scope, store.ChargeFilter{}, page)))
		refunds  = count(lenOf(e.db.FindRefunds(ctx, e.scope, store.RefundFilter{}, page)))
		sessions = count(lenOf(e.db.FindCheckoutSessions(ctx, e.scope, "", page)))
		events   = count(lenOf(e.db.FindEvents(ctx, e.scope, store.EventFilter{}, page)))
	)
	return fmt.Sprintf("%d payment methods, %d intents, %d charges, %d refunds, %d sessions, %d events; "+
		"gateway: %d verify, %d sale, %d capture, %d cancel, %d refund, %d 3ds", pms, intents, charges, refunds, sessions, events,
		e.gw.called("verify"), e.gw.called("sale"), e.gw.called("capture"), e.gw.called("cancel"), e.gw.called("refund"), e.gw.called("3ds"))
}

func lenOf[T any](l pay.List[T], err error) (int, error) { return len(l.Data), err }

// payError returns err as a *pay.Error, failing the test if it is not one.
func payError(t *testing.T, err error) *pay.Error {
	t.Helper()
	e, ok := pay.AsError(err)
	if !ok {
		t.Fatalf("error %v (%T), want a *pay.Error", err, err)
	}
	return e
}

// refused returns the *pay.Error an operation refused with, whether it
// returned it (nothing was written) or answered it (kept under the key).
func refused(t *testing.T, a *payments.Answer, err error) *pay.Error {
	t.Helper()
	if err != nil {
		return payError(t, err)
	}
	if a.Err == nil {
		t.Fatalf("answered %T, want a refusal", a.Object)
	}
	return a.Err
}

func ptr[T any](v T) *T { return &v }

// clock is the store's and the service's clock: the real time moved on by
// what the test has advanced it.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// errLost is the error of a gateway call whose request or answer was lost.
var errLost = fmt.Errorf("%w: simulated", cardstream.ErrTimeout)

// gateway passes every call to the sandbox and counts them. It keeps the
// sale requests sent and the xrefs of the sales the gateway approved, and
// can lose the next sale's request (the gateway never sees it) or its
// answer (the gateway charges, the caller sees a timeout).
type gateway struct {
	payments.Gateway
	loseRequest, loseAnswer atomic.Bool

	mu       sync.Mutex
	calls    map[string]int           // action → calls that reached the gateway
	sales    []cardstream.SaleRequest // sales that reached the gateway
	approved []string                 // xrefs of approved sales
}

func (g *gateway) count(action string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls[action]++
}

// called returns how many calls of action reached the gateway.
func (g *gateway) called(action string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls[action]
}

// approvedSales returns the xrefs of the sales the gateway approved.
func (g *gateway) approvedSales() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.approved...)
}

// lastSale returns the last sale request that reached the gateway.
func (g *gateway) lastSale(t *testing.T) cardstream.SaleRequest {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.sales) == 0 {
		t.Fatal("no sale reached the gateway")
	}
	return g.sales[len(g.sales)-1]
}

func (g *gateway) Sale(ctx context.Context, req cardstream.SaleRequest) (*cardstream.Result, error) {
	if g.loseRequest.CompareAndSwap(true, false) {
		return nil, errLost
	}
	g.mu.Lock()
	g.calls["sale"]++
	g.sales = append(g.sales, req)
	g.mu.Unlock()
	res, err := g.Gateway.Sale(ctx, req)
	if err == nil && res.Approved() {
		g.mu.Lock()
		g.approved = append(g.approved, res.XRef)
		g.mu.Unlock()
	}
	if g.loseAnswer.CompareAndSwap(true, false) {
		return nil, errLost
	}
	return res, err
}

// ContinueThreeDS counts 3-D Secure continuations ("3ds") and loses them
// like sales.
func (g *gateway) ContinueThreeDS(ctx context.Context, req cardstream.ThreeDSContinueRequest) (*cardstream.Result, error) {
	if g.loseRequest.CompareAndSwap(true, false) {
		return nil, errLost
	}
	g.count("3ds")
	res, err := g.Gateway.ContinueThreeDS(ctx, req)
	if g.loseAnswer.CompareAndSwap(true, false) {
		return nil, errLost
	}
	return res, err
}

func (g *gateway) Verify(ctx context.Context, req cardstream.VerifyRequest) (*cardstream.Result, error) {
	g.count("verify")
	return g.Gateway.Verify(ctx, req)
}

func (g *gateway) Capture(ctx context.Context, req cardstream.CaptureRequest) (*cardstream.Result, error) {
	g.count("capture")
	return g.Gateway.Capture(ctx, req)
}

func (g *gateway) Cancel(ctx context.Context, req cardstream.CancelRequest) (*cardstream.Result, error) {
	g.count("cancel")
	return g.Gateway.Cancel(ctx, req)
}

func (g *gateway) Refund(ctx context.Context, req cardstream.RefundRequest) (*cardstream.RefundResult, error) {
	g.count("refund")
	return g.Gateway.Refund(ctx, req)
}
