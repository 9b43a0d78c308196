package dashboard_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
)

// refundCounter counts the refunds the gateway gave back money for.
type refundCounter struct {
	payments.Gateway
	refunded atomic.Int64 // minor units
	calls    atomic.Int32
}

func (g *refundCounter) Refund(ctx context.Context, req cardstream.RefundRequest) (*cardstream.RefundResult, error) {
	res, err := g.Gateway.Refund(ctx, req)
	if err == nil && res != nil {
		g.calls.Add(1)
		g.refunded.Add(res.Refunded)
	}
	return res, err
}

// TestDashboardRefundCrashThenRetry kills a dashboard refund at each point
// between its steps (its gateway op recorded; the gateway answered; the
// outcome recorded), lets the lease lapse and the reconciler run, then the
// admin retries with the same idempotencyKey (a page resubmitted, a
// client's retry): the retry finds the first execution's refund, the
// gateway gave money back once, the ledger says so, and the audit log has
// the refund once, on both databases.
func TestDashboardRefundCrashThenRetry(t *testing.T) {
	t.Parallel()
	for _, point := range []string{"prepared", "called", "settled"} {
		for _, pg := range []bool{false, true} {
			name := point + "/sqlite"
			if pg {
				name = point + "/postgres"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				base := apitest.Start(t, apitest.Options{Postgres: pg}) // for its sandbox gateway
				gw := &refundCounter{Gateway: base.Payments.Gateways().Test}
				var armed atomic.Value
				armed.Store("")
				var offset atomic.Int64
				srv := apitest.Start(t, apitest.Options{Postgres: pg, Gateways: &payments.Gateways{Test: gw},
					Now:   func() time.Time { return time.Now().Add(time.Duration(offset.Load())) },
					Crash: func(p string) bool { return armed.CompareAndSwap(p, "") }})
				payment := pay1(t, srv, srv.Key, "", "1000")
				admin := signIn(t, srv, "ada@example.com", pay.RoleAdmin)
				in := map[string]any{"id": payment, "amount": 400, "idempotencyKey": "dash-refund-1"}

				armed.Store(point)
				if status, e := admin.mutate("payments.refund", in); status != 500 || e.code() != "INTERNAL_SERVER_ERROR" {
					t.Fatalf("the refund crashed at %s but was answered %d %+v", point, status, e.Error)
				}
				if armed.Load() != "" {
					t.Fatalf("the refund never reached %s", point)
				}
				offset.Add(int64(time.Minute))
				if err := srv.Payments.Reconcile(context.Background()); err != nil {
					t.Fatal(err)
				}
				var out struct {
					Refund struct {
						ID     string
						Amount int64
						Status string
					}
				}
				status, e := admin.mutate("payments.refund", in)
				e.data(t, &out)
				if status != 200 || out.Refund.Amount != 400 || out.Refund.Status != "succeeded" {
					t.Errorf("retry after a crash at %s: %d %+v", point, status, out.Refund)
				}
				if n, amount := gw.calls.Load(), gw.refunded.Load(); n != 1 || amount != 400 {
					t.Errorf("the gateway refunded %d times, %d in all; want once, 400", n, amount)
				}
				refunds := v1OK(t, srv, "GET", "/v1/refunds?payment_intent="+payment, nil)["data"].([]any)
				charges := v1OK(t, srv, "GET", "/v1/charges?payment_intent="+payment, nil)["data"].([]any)
				if len(refunds) != 1 || refunds[0].(map[string]any)["id"] != out.Refund.ID ||
					charges[0].(map[string]any)["amount_refunded"] != float64(400) {
					t.Errorf("ledger after the retry: refunds %v, charge %v", refunds, charges[0])
				}
				// The audit line the crashed first execution never wrote is
				// written by the retry, once; a further replay adds none.
				admin.mutate("payments.refund", in)
				if got := auditOf(t, srv.DB, srv.Project, "refund.created"); len(got) != 1 || got[0].Target != out.Refund.ID {
					t.Errorf("refund.created audit lines after a crash at %s and two retries: %+v; want one", point, got)
				}
			})
		}
	}
}
