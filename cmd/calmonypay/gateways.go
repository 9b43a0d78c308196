package main

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/calmony/calmonypay/internal/cardstream/sandbox"
	"github.com/calmony/calmonypay/internal/middleware"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/throttle"
)

// gatewayOptions are what configureGateways needs to know of the server.
type gatewayOptions struct {
	// publicURL is the API's base URL: the in-process sandbox calls back
	// only to its payments.CheckoutCallbackPath.
	publicURL string
	// sandboxURL is where browsers reach the in-process sandbox, on an
	// origin of its own; empty in production (see sandbox.SetupOptions).
	sandboxURL  string
	requireLive bool
	// sandboxMaxTransactions: see sandbox.SetupOptions.
	sandboxMaxTransactions int
	log                    *slog.Logger
	// client identifies a request's client for the sandbox's bounds.
	client func(*http.Request) string
}

// configureGateways builds the gateways from the environment: test keys on
// CARDSTREAM_TEST_* (by default the in-process sandbox, returned for
// serving its pages; nil when another gateway is named), live keys on
// CARDSTREAM_* (see payments.Configure).
func configureGateways(getenv func(string) string, o gatewayOptions) (payments.Gateways, *sandbox.Sandbox, error) {
	test, err := sandbox.Setup(getenv, sandbox.SetupOptions{
		CallbackURL: strings.TrimRight(o.publicURL, "/") + payments.CheckoutCallbackPath,
		SandboxURL:  o.sandboxURL, Logger: o.log, Client: o.client, StandIn: payments.HostedStandIn,
		StandInChallenge: payments.HostedStandInChallenge, MaxTransactions: o.sandboxMaxTransactions})
	if err != nil {
		return payments.Gateways{}, nil, err
	}
	gws, err := payments.Configure(getenv, payments.Options{Test: test.Client, NoTestPages: test.NoBrowsers,
		RequireLive: o.requireLive, Logger: o.log})
	if err != nil {
		return payments.Gateways{}, nil, err
	}
	return gws, test.Sandbox, nil
}

// sandboxHandler serves the sandbox's pages on their own origin as the API
// serves its routes (request IDs, the access log, the security headers: no
// page may be framed), each client limited as perClient says. Its Direct
// API is not served there: test keys reach it in memory, and anyone could
// sign for its public test account and fill its transaction store, evicting
// the cards merchants' test data holds (the standalone calmonypay sandbox
// serves it, for its own users).
func sandboxHandler(sb *sandbox.Sandbox, perClient throttle.Config, log *slog.Logger) http.Handler {
	return middleware.Chain(sb.Pages(),
		middleware.RequestID(nil),
		middleware.AccessLog(log),
		middleware.SecurityHeaders,
		middleware.Recover(log),
		throttle.New(perClient).Limit(throttle.TooManyText),
	)
}
