package payments

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/cardstream/sandbox"
)

// SandboxPath is where serve mounts the in-process Cardstream sandbox.
const SandboxPath = "/sandbox/cardstream"

// Setup is the gateway wiring of one server.
type Setup struct {
	Gateways Gateways
	// Sandbox is the in-process sandbox, nil when test keys use another gateway.
	Sandbox *sandbox.Sandbox
}

// Configure builds the gateways from the environment. Test-mode keys use
// CARDSTREAM_TEST_* (default: Cardstream's published test account on the
// in-process sandbox at publicURL+SandboxPath, reached in memory). Live keys
// use CARDSTREAM_MERCHANT_ID, CARDSTREAM_SIGNATURE_KEY and
// CARDSTREAM_GATEWAY_URL; with requireLive (production) all three must be
// set, otherwise live payments are simply unavailable until they are.
func Configure(getenv func(string) string, publicURL string, requireLive bool, log *slog.Logger) (*Setup, error) {
	set := &Setup{}
	sandboxURL := strings.TrimRight(publicURL, "/") + SandboxPath + "/"
	testCfg, err := cardstream.LoadConfig(getenv, false, sandboxURL)
	if err != nil {
		return nil, err
	}
	testCfg.Logger = log
	if testCfg.GatewayURL == sandboxURL {
		own, _ := url.Parse(publicURL)
		set.Sandbox, err = sandbox.New(sandbox.Options{Logger: log, BaseURL: strings.TrimSuffix(sandboxURL, "/"),
			// Anyone may sign for the published test account: let the sandbox
			// call back only to this server.
			CallbackAllowFunc: func(u *url.URL) bool { return own != nil && u.Scheme == own.Scheme && u.Host == own.Host }})
		if err != nil {
			return nil, err
		}
		testCfg.HTTPClient = &http.Client{Transport: set.Sandbox.Transport(SandboxPath)}
	}
	test, err := cardstream.New(testCfg)
	if err != nil {
		return nil, fmt.Errorf("test gateway: %w", err)
	}
	set.Gateways.Test = test
	if !requireLive && getenv(cardstream.EnvMerchantID) == "" && getenv(cardstream.EnvSignatureKey) == "" &&
		getenv(cardstream.EnvSignatureKey+"_FILE") == "" && getenv(cardstream.EnvGatewayURL) == "" {
		return set, nil
	}
	liveCfg, err := cardstream.LoadConfig(getenv, true, "")
	if err != nil {
		return nil, fmt.Errorf("live gateway: %w", err)
	}
	liveCfg.Logger = log
	live, err := cardstream.New(liveCfg)
	if err != nil {
		return nil, fmt.Errorf("live gateway: %w", err)
	}
	set.Gateways.Live = live
	return set, nil
}
