package payments

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/cardstream/sandbox"
	"github.com/calmony/calmonypay/internal/middleware"
	"github.com/calmony/calmonypay/internal/throttle"
)

// CheckoutCallbackPath is the API's route for hosted payment results, the
// only place the in-process sandbox calls back to.
const CheckoutCallbackPath = "/v1/checkout/sessions/callback"

// noBrowserSandbox is the in-process sandbox's gateway URL when browsers
// cannot reach it (production): test keys reach it in memory only.
const noBrowserSandbox = "https://sandbox.invalid/"

// ErrNoHostedSandbox is Hosted's error when test-mode hosted payments go
// to the in-process sandbox and browsers cannot reach it (production).
var ErrNoHostedSandbox = errors.New("payments: the in-process sandbox is not served to browsers on this server")

// Setup is the gateway wiring of one server.
type Setup struct {
	Gateways Gateways
	// Sandbox is the in-process sandbox, nil when test keys use another gateway.
	Sandbox *sandbox.Sandbox
}

// Options are what Configure needs to know of the server.
type Options struct {
	// PublicURL is the API's base URL: the sandbox calls back only to its
	// CheckoutCallbackPath.
	PublicURL string
	// SandboxURL is where browsers reach the in-process sandbox, on an
	// origin of its own (never the API's: anyone can sign requests for the
	// sandbox's public test accounts). Empty: browsers cannot reach it
	// (production), and test-mode hosted payments are refused.
	SandboxURL string
	// RequireLive (production) makes the live account's settings required.
	RequireLive bool
	Logger      *slog.Logger
	// Client identifies a request's client for the sandbox's per-client
	// bounds (sandbox.Options.Client).
	Client func(*http.Request) string
}

// Configure builds the gateways from the environment. Test-mode keys use
// CARDSTREAM_TEST_* (default: Cardstream's published test account on the
// in-process sandbox, reached in memory, its pages at opts.SandboxURL).
// Live keys use CARDSTREAM_MERCHANT_ID, CARDSTREAM_SIGNATURE_KEY and
// CARDSTREAM_GATEWAY_URL; with RequireLive (production) all three must be
// set, otherwise live payments are simply unavailable until they are.
func Configure(getenv func(string) string, opts Options) (*Setup, error) {
	set := &Setup{}
	sandboxURL := noBrowserSandbox
	if opts.SandboxURL != "" {
		sandboxURL = strings.TrimRight(opts.SandboxURL, "/") + "/"
	}
	testCfg, err := cardstream.LoadConfig(getenv, false, sandboxURL)
	if err != nil {
		return nil, err
	}
	testCfg.Logger = opts.Logger
	if testCfg.GatewayURL == sandboxURL {
		callback, _ := url.Parse(strings.TrimRight(opts.PublicURL, "/") + CheckoutCallbackPath)
		set.Sandbox, err = sandbox.New(sandbox.Options{Logger: opts.Logger, BaseURL: sandboxURL, Client: opts.Client,
			// Anyone may sign for the published test account: let the sandbox
			// call back only to this server's callback.
			CallbackAllowFunc: func(u *url.URL) bool {
				return u.Scheme == callback.Scheme && u.Host == callback.Host && u.Path == callback.Path
			}})
		if err != nil {
			return nil, err
		}
		mount, _ := url.Parse(sandboxURL)
		testCfg.HTTPClient = &http.Client{Transport: set.Sandbox.Transport(mount.Path)}
	}
	test, err := cardstream.New(testCfg)
	if err != nil {
		return nil, fmt.Errorf("test gateway: %w", err)
	}
	set.Gateways.Test = test
	if testCfg.GatewayURL == noBrowserSandbox {
		set.Gateways.Test = noHosted{test}
	}
	if !opts.RequireLive && getenv(cardstream.EnvMerchantID) == "" && getenv(cardstream.EnvSignatureKey) == "" &&
		getenv(cardstream.EnvSignatureKey+"_FILE") == "" && getenv(cardstream.EnvGatewayURL) == "" {
		return set, nil
	}
	liveCfg, err := cardstream.LoadConfig(getenv, true, "")
	if err != nil {
		return nil, fmt.Errorf("live gateway: %w", err)
	}
	liveCfg.Logger = opts.Logger
	live, err := cardstream.New(liveCfg)
	if err != nil {
		return nil, fmt.Errorf("live gateway: %w", err)
	}
	set.Gateways.Live = live
	return set, nil
}

// noHosted is a gateway whose hosted payment page browsers cannot reach.
type noHosted struct{ Gateway }

func (noHosted) Hosted(cardstream.HostedRequest) (*cardstream.HostedForm, error) {
	return nil, ErrNoHostedSandbox
}

// SandboxHandler serves the sandbox's pages on their own origin as the API
// serves its routes (request IDs, the access log, the security headers: no
// page may be framed), each client limited as perClient says. Its Direct
// API is not served there: test keys reach it in memory, and anyone could
// sign for its public test account and fill its transaction store, evicting
// the cards merchants' test data holds (the standalone calmonypay sandbox
// serves it, for its own users).
func (s *Setup) SandboxHandler(perClient throttle.Config, log *slog.Logger) http.Handler {
	return middleware.Chain(s.Sandbox.Pages(),
		middleware.RequestID(nil),
		middleware.AccessLog(log),
		middleware.SecurityHeaders,
		middleware.Recover(log),
		throttle.New(perClient).Limit(throttle.TooManyText),
	)
}
