package payments

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/calmony/calmonypay/internal/cardstream"
)

// CheckoutCallbackPath is the API's route for hosted payment results, the
// only place the in-process sandbox calls back to.
const CheckoutCallbackPath = "/v1/checkout/sessions/callback"

// ErrNoHostedSandbox is Hosted's error when test-mode hosted payments go
// to the in-process sandbox and browsers cannot reach it (production).
var ErrNoHostedSandbox = errors.New("payments: the in-process sandbox is not served to browsers on this server")

// Options are what Configure needs to know of the server.
type Options struct {
	// Test is the test-mode gateway (sandbox.Setup builds it). Required.
	Test Gateway
	// NoTestPages: browsers cannot reach Test's hosted payment page (the
	// in-process sandbox in production), so test-mode hosted payments are
	// refused with ErrNoHostedSandbox.
	NoTestPages bool
	// RequireLive (production) makes the live account's settings required.
	RequireLive bool
	Logger      *slog.Logger
}

// Configure builds the gateways: opts.Test for test keys, and for live keys
// CARDSTREAM_MERCHANT_ID, CARDSTREAM_SIGNATURE_KEY and
// CARDSTREAM_GATEWAY_URL. With RequireLive (production) all three must be
// set, otherwise live payments are simply unavailable until they are.
func Configure(getenv func(string) string, opts Options) (Gateways, error) {
	if opts.Test == nil {
		return Gateways{}, errors.New("payments: no test gateway")
	}
	gws := Gateways{Test: opts.Test}
	if opts.NoTestPages {
		gws.Test = noHosted{opts.Test}
	}
	if !opts.RequireLive && getenv(cardstream.EnvMerchantID) == "" && getenv(cardstream.EnvSignatureKey) == "" &&
		getenv(cardstream.EnvSignatureKey+"_FILE") == "" && getenv(cardstream.EnvGatewayURL) == "" {
		return gws, nil
	}
	liveCfg, err := cardstream.LoadConfig(getenv, true, "")
	if err != nil {
		return Gateways{}, fmt.Errorf("live gateway: %w", err)
	}
	liveCfg.Logger = opts.Logger
	live, err := cardstream.New(liveCfg)
	if err != nil {
		return Gateways{}, fmt.Errorf("live gateway: %w", err)
	}
	gws.Live = live
	return gws, nil
}

// noHosted is a gateway whose hosted payment page browsers cannot reach.
type noHosted struct{ Gateway }

func (noHosted) Hosted(cardstream.HostedRequest) (*cardstream.HostedForm, error) {
	return nil, ErrNoHostedSandbox
}
