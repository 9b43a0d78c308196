package payments_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/payments"
)

// fakeGateway answers Sale with its result or error; nothing else is called.
type fakeGateway struct {
	payments.Gateway
	result *cardstream.Result
	err    error
}

func (f fakeGateway) Sale(context.Context, cardstream.SaleRequest) (*cardstream.Result, error) {
	return f.result, f.err
}

// TestObserve: every call is reported with its operation, mode and
// outcome, and the answer passes through unchanged.
func TestObserve(t *testing.T) {
	t.Parallel()
	type seen struct{ op, mode, outcome string }
	var got []seen
	observe := func(op, mode, outcome string, d time.Duration) {
		if d < 0 {
			t.Errorf("negative duration %v", d)
		}
		got = append(got, seen{op, mode, outcome})
	}
	declined := &cardstream.Result{Outcome: cardstream.OutcomeDeclined}
	down := errors.New("connection refused")
	gws := payments.Observe(payments.Gateways{Test: fakeGateway{result: declined}, Live: fakeGateway{err: down}}, observe)
	if r, err := gws.Test.Sale(context.Background(), cardstream.SaleRequest{}); r != declined || err != nil {
		t.Errorf("test Sale = %v, %v; want the gateway's answer", r, err)
	}
	if _, err := gws.Live.Sale(context.Background(), cardstream.SaleRequest{}); !errors.Is(err, down) {
		t.Errorf("live Sale error = %v, want %v", err, down)
	}
	want := []seen{{"sale", "test", "declined"}, {"sale", "live", "error"}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("observed %v, want %v", got, want)
	}
	if g := payments.Observe(payments.Gateways{Test: fakeGateway{}}, observe); g.Live != nil {
		t.Error("Observe made a live gateway out of none")
	}
}
