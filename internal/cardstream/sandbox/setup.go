package sandbox

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/calmony/calmonypay/internal/cardstream"
)

// noBrowsers is the in-process sandbox's gateway URL when browsers cannot
// reach it (production): test keys reach it in memory only.
const noBrowsers = "https://sandbox.invalid/"

// TestGateway is a server's test-mode gateway: the client test keys charge
// and, by default, the in-process sandbox behind it.
type TestGateway struct {
	Client *cardstream.Client
	// Sandbox is the in-process sandbox Client reaches in memory, nil when
	// CARDSTREAM_TEST_GATEWAY_URL names another gateway. Its Pages are for
	// browsers, on an origin of their own.
	Sandbox *Sandbox
	// NoBrowsers reports that Client's hosted payment page is the
	// in-process sandbox's and browsers cannot reach it (production).
	NoBrowsers bool
}

// SetupOptions are what Setup needs to know of the server.
type SetupOptions struct {
	// CallbackURL is the server's hosted payment callback, the only URL the
	// in-process sandbox calls back to (its query aside).
	CallbackURL string
	// SandboxURL is where browsers reach the in-process sandbox, on an
	// origin of its own (never the server's: anyone can sign requests for
	// the sandbox's public test accounts). Empty: browsers cannot reach it
	// (production), and NoBrowsers is set.
	SandboxURL string
	Logger     *slog.Logger
	// Client identifies a request's client for the sandbox's per-client
	// bounds (Options.Client).
	Client func(*http.Request) string
	// StandIn: see Options.StandIn.
	StandIn func(number string) (standIn string, decline, ok bool)
	// StandInChallenge: see Options.StandInChallenge.
	StandInChallenge func(number string) bool
	// CallbackClient posts the hosted page's server-to-server callbacks
	// (Options.CallbackClient); tests catch them with it.
	CallbackClient *http.Client
	// MaxTransactions: see Options.MaxTransactions.
	MaxTransactions int
}

// Setup builds the test-mode gateway from CARDSTREAM_TEST_* (default:
// Cardstream's published test account on the in-process sandbox, reached in
// memory, its pages at opts.SandboxURL).
func Setup(getenv func(string) string, opts SetupOptions) (*TestGateway, error) {
	baseURL := noBrowsers
	if opts.SandboxURL != "" {
		baseURL = strings.TrimRight(opts.SandboxURL, "/") + "/"
	}
	cfg, err := cardstream.LoadConfig(getenv, false, baseURL)
	if err != nil {
		return nil, err
	}
	cfg.Logger = opts.Logger
	tg := &TestGateway{NoBrowsers: cfg.GatewayURL == noBrowsers}
	if cfg.GatewayURL == baseURL {
		callback, err := url.Parse(opts.CallbackURL)
		if err != nil {
			callback = &url.URL{} // allows no callback
		}
		tg.Sandbox, err = New(Options{Logger: opts.Logger, BaseURL: baseURL, Client: opts.Client, StandIn: opts.StandIn,
			StandInChallenge: opts.StandInChallenge,
			CallbackClient:   opts.CallbackClient, MaxTransactions: opts.MaxTransactions,
			// Anyone may sign for the published test account: let the sandbox
			// call back only to this server's callback.
			CallbackAllowFunc: func(u *url.URL) bool {
				return u.Scheme == callback.Scheme && u.Host == callback.Host && u.Path == callback.Path
			}})
		if err != nil {
			return nil, err
		}
		mount, _ := url.Parse(baseURL)
		cfg.HTTPClient = &http.Client{Transport: tg.Sandbox.Transport(mount.Path)}
	}
	if tg.Client, err = cardstream.New(cfg); err != nil {
		return nil, fmt.Errorf("test gateway: %w", err)
	}
	return tg, nil
}
