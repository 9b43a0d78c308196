// Package payments is the operations layer: Service runs every write that
// moves money or emits an event (customers, payment methods, payment
// intents, refunds, checkout sessions, hosted payments), in steps that
// survive a crash between any two of them (steps.go), and reconciles
// gateway calls whose outcome was not recorded. The API, the hosted pages,
// the CLI and the billing scheduler call the same operations. It also
// validates cards, maps Stripe's test cards to the gateway's and turns
// gateway answers into Stripe's errors.
package payments

import (
	"context"
	"errors"
	"net/http"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/pay"
)

// Gateway is what payments need of Cardstream. *cardstream.Client is one.
type Gateway interface {
	Verify(ctx context.Context, req cardstream.VerifyRequest) (*cardstream.Result, error)
	Sale(ctx context.Context, req cardstream.SaleRequest) (*cardstream.Result, error)
	Capture(ctx context.Context, req cardstream.CaptureRequest) (*cardstream.Result, error)
	Cancel(ctx context.Context, req cardstream.CancelRequest) (*cardstream.Result, error)
	Query(ctx context.Context, req cardstream.QueryRequest) (*cardstream.Result, error)
	// ContinueThreeDS sends a 3-D Secure continuation (threeDSRef and what
	// the ACS posted back).
	ContinueThreeDS(ctx context.Context, req cardstream.ThreeDSContinueRequest) (*cardstream.Result, error)
	Refund(ctx context.Context, req cardstream.RefundRequest) (*cardstream.RefundResult, error)
	// Hosted builds the signed form for the hosted payment page.
	Hosted(req cardstream.HostedRequest) (*cardstream.HostedForm, error)
	// ParseCallback verifies a hosted redirect or callback POST.
	ParseCallback(r *http.Request) (*cardstream.Result, error)
	// MerchantID is the gateway account.
	MerchantID() string
}

var _ Gateway = (*cardstream.Client)(nil)

// Gateways holds one gateway per mode. Test-mode keys only ever reach Test,
// so a test key can never move real money.
type Gateways struct {
	Test Gateway
	Live Gateway // nil when no live account is configured
}

// errLiveNotConfigured refuses live payments without a live account.
var errLiveNotConfigured = &pay.Error{Status: http.StatusBadRequest, Type: pay.ErrorTypeInvalidRequest, Code: "livemode_not_configured",
	Message: "Live payments are not configured on this server: set CARDSTREAM_MERCHANT_ID, CARDSTREAM_SIGNATURE_KEY and CARDSTREAM_GATEWAY_URL."}

// For returns the gateway for a mode.
func (g Gateways) For(livemode bool) (Gateway, error) {
	if !livemode {
		if g.Test == nil {
			return nil, errors.New("payments: no test gateway")
		}
		return g.Test, nil
	}
	if g.Live == nil {
		return nil, errLiveNotConfigured
	}
	return g.Live, nil
}

// GatewayUnavailable is the answer when the gateway could not be reached or
// failed before charging: a 502 api_error, which both SDKs retry.
func GatewayUnavailable(err error) *pay.Error {
	return &pay.Error{Status: http.StatusBadGateway, Type: pay.ErrorTypeAPI, Code: "gateway_unavailable",
		Message: "The card gateway could not be reached. Nothing was charged; retry the request.", Err: err}
}
