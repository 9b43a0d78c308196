package payments

import (
	"context"
	"net/http"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream"
)

// ObserveFunc is told of every gateway call: its operation (sale, verify,
// capture, cancel, query, 3ds, refund, callback), the mode (test or
// live), its outcome (approved, declined, 3ds_required, … or error when no
// answer came) and how long it took.
type ObserveFunc func(operation, mode, outcome string, d time.Duration)

// Observe returns gws with every call through observe, for metrics.
func Observe(gws Gateways, observe ObserveFunc) Gateways {
	if gws.Test != nil {
		gws.Test = observed{Gateway: gws.Test, mode: "test", observe: observe}
	}
	if gws.Live != nil {
		gws.Live = observed{Gateway: gws.Live, mode: "live", observe: observe}
	}
	return gws
}

// observed is a Gateway whose calls are reported to observe.
type observed struct {
	Gateway
	mode    string
	observe ObserveFunc
}

// call runs fn as the operation op and reports it.
func call[T any](o observed, op string, fn func() (T, error), result func(T) *cardstream.Result) (T, error) {
	start := time.Now()
	v, err := fn()
	outcome := "error"
	if err == nil {
		if r := result(v); r != nil {
			outcome = r.Outcome.String()
		}
	}
	o.observe(op, o.mode, outcome, time.Since(start))
	return v, err
}

func self(r *cardstream.Result) *cardstream.Result { return r }

func (o observed) Verify(ctx context.Context, req cardstream.VerifyRequest) (*cardstream.Result, error) {
	return call(o, "verify", func() (*cardstream.Result, error) { return o.Gateway.Verify(ctx, req) }, self)
}

func (o observed) Sale(ctx context.Context, req cardstream.SaleRequest) (*cardstream.Result, error) {
	return call(o, "sale", func() (*cardstream.Result, error) { return o.Gateway.Sale(ctx, req) }, self)
}

func (o observed) Capture(ctx context.Context, req cardstream.CaptureRequest) (*cardstream.Result, error) {
	return call(o, "capture", func() (*cardstream.Result, error) { return o.Gateway.Capture(ctx, req) }, self)
}

func (o observed) Cancel(ctx context.Context, req cardstream.CancelRequest) (*cardstream.Result, error) {
	return call(o, "cancel", func() (*cardstream.Result, error) { return o.Gateway.Cancel(ctx, req) }, self)
}

func (o observed) Query(ctx context.Context, req cardstream.QueryRequest) (*cardstream.Result, error) {
	return call(o, "query", func() (*cardstream.Result, error) { return o.Gateway.Query(ctx, req) }, self)
}

func (o observed) ContinueThreeDS(ctx context.Context, req cardstream.ThreeDSContinueRequest) (*cardstream.Result, error) {
	return call(o, "3ds", func() (*cardstream.Result, error) { return o.Gateway.ContinueThreeDS(ctx, req) }, self)
}

func (o observed) Refund(ctx context.Context, req cardstream.RefundRequest) (*cardstream.RefundResult, error) {
	return call(o, "refund", func() (*cardstream.RefundResult, error) { return o.Gateway.Refund(ctx, req) },
		func(r *cardstream.RefundResult) *cardstream.Result {
			if r == nil {
				return nil
			}
			return r.Result
		})
}

// ParseCallback is no network call, but a callback refused (a bad
// signature) is worth counting: outcome error.
func (o observed) ParseCallback(r *http.Request) (*cardstream.Result, error) {
	return call(o, "callback", func() (*cardstream.Result, error) { return o.Gateway.ParseCallback(r) }, self)
}
