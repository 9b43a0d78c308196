package payments_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// TestIdempotencyKey passes an idempotency key as data (Call.Key), as a
// scheduler retrying a charge would: the second identical call replays the
// first one's answer and writes and sends nothing, and the same key with
// other parameters is refused.
func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	type op func(ctx context.Context, e *env, call payments.Call) (*payments.Answer, error)
	tests := []struct {
		name string
		// prepare returns the operation to run under the key, after any
		// set-up it needs.
		prepare func(t *testing.T, e *env) op
		want    int // the first answer's status
	}{
		{"charge (a gateway op)", func(t *testing.T, e *env) op {
			pm := e.card(t, visa)
			return func(ctx context.Context, e *env, call payments.Call) (*payments.Answer, error) {
				return e.svc.CreatePaymentIntent(ctx, call, intentParams(chargeAmount, pm.ID, ""), true, payments.ConfirmParams{})
			}
		}, http.StatusOK},
		{"declined charge (a kept error)", func(t *testing.T, e *env) op {
			pm := e.card(t, declinedVisa)
			return func(ctx context.Context, e *env, call payments.Call) (*payments.Answer, error) {
				return e.svc.CreatePaymentIntent(ctx, call, intentParams(chargeAmount, pm.ID, ""), true, payments.ConfirmParams{})
			}
		}, http.StatusPaymentRequired},
		{"tokenise (a verification)", func(t *testing.T, e *env) op {
			return func(ctx context.Context, e *env, call payments.Call) (*payments.Answer, error) {
				card := payments.CardInput{Number: visa, ExpMonth: 12, ExpYear: int64(e.clock.Now().Year() + 2), CVC: "123"}
				return e.svc.CreatePaymentMethod(ctx, call, card, pay.BillingDetails{}, pay.MetadataUpdate{})
			}
		}, http.StatusOK},
		{"checkout session (one transaction)", func(t *testing.T, e *env) op {
			return func(ctx context.Context, e *env, call payments.Call) (*payments.Answer, error) {
				return e.svc.CreateCheckoutSession(ctx, call, checkoutParams(nil))
			}
		}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			storetest.Dialects(t, func(t *testing.T, postgres bool) {
				e := newEnv(t, postgres, options{})
				ctx := context.Background()
				do := tt.prepare(t, e)
				before := e.written(t)

				first, err := do(ctx, e, e.keyed("key-1", "fp-1"))
				if err != nil {
					t.Fatal(err)
				}
				if first.Replayed || first.Status != tt.want || (first.Object == nil) == (first.Err == nil) {
					t.Fatalf("first call: status %d, replayed %v, object %T, err %v", first.Status, first.Replayed, first.Object, first.Err)
				}
				after := e.written(t)
				if after == before {
					t.Fatalf("the first call wrote and sent nothing: %s", after)
				}

				again, err := do(ctx, e, e.keyed("key-1", "fp-1"))
				if err != nil {
					t.Fatal(err)
				}
				if !again.Replayed || again.Status != first.Status || !bytes.Equal(again.Body, first.Body) {
					t.Errorf("second call: replayed %v, %d %s; want the first answer replayed: %d %s",
						again.Replayed, again.Status, again.Body, first.Status, first.Body)
				}
				if got := e.written(t); got != after {
					t.Errorf("the replay wrote or sent something:\n before %s\n after  %s", after, got)
				}

				_, err = do(ctx, e, e.keyed("key-1", "fp-2"))
				if pe := payError(t, err); pe.Type != pay.ErrorTypeIdempotency || pe.Status != http.StatusBadRequest {
					t.Errorf("same key, other parameters: %+v, want a 400 idempotency_error", pe)
				}
				if got := e.written(t); got != after {
					t.Errorf("the refused call wrote or sent something:\n before %s\n after  %s", after, got)
				}

				// The key is the call's alone: another key runs the operation again.
				other, err := do(ctx, e, e.keyed("key-2", "fp-1"))
				if err != nil || other.Replayed {
					t.Errorf("another key: replayed %v, %v", other != nil && other.Replayed, err)
				}
			})
		})
	}
}

// TestIdempotencyKeyOnEvents: the events a keyed call writes name its key,
// as events of an HTTP request with an Idempotency-Key header do.
func TestIdempotencyKeyOnEvents(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		e := newEnv(t, postgres, options{})
		ctx := context.Background()
		pi := e.charged(t, e.keyed("charge-42", "fp"), intentParams(chargeAmount, e.card(t, visa).ID, ""), payments.ConfirmParams{}, pay.StatusSucceeded)
		l, err := e.db.FindEvents(ctx, e.scope, store.EventFilter{ObjectID: pi.ID}, pay.Page{Limit: 10})
		if err != nil || len(l.Data) != 2 {
			t.Fatalf("events: %d %v, want 2", len(l.Data), err)
		}
		for _, ev := range l.Data {
			if ev.IdempotencyKey != "charge-42" {
				t.Errorf("%s: idempotency key %q, want charge-42", ev.Type, ev.IdempotencyKey)
			}
		}
	})
}
