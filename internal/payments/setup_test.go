package payments_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/payments"
)

func TestConfigureSandbox(t *testing.T) {
	t.Parallel()
	noEnv := func(string) string { return "" }
	hosted := cardstream.HostedRequest{Amount: 1000, TransactionUnique: "cs_test_x-1", OrderRef: "cs_test_x",
		RedirectURL: "http://127.0.0.1:8080/v1/checkout/sessions/callback"}
	for _, tt := range []struct {
		name, sandboxURL, wantForm string
	}{
		{"its own origin", "http://127.0.0.1:8091", "http://127.0.0.1:8091/hosted/"},
		{"behind a proxy, under a path", "https://sandbox.example.com/cardstream/", "https://sandbox.example.com/cardstream/hosted/"},
		{"no browsers (production)", "", ""},
	} {
		set, err := payments.Configure(noEnv, payments.Options{PublicURL: "http://127.0.0.1:8080", SandboxURL: tt.sandboxURL})
		if err != nil || set.Sandbox == nil {
			t.Fatalf("%s: Configure = %+v, %v", tt.name, set, err)
		}
		// Test keys reach the sandbox in memory, wherever browsers do.
		res, err := set.Gateways.Test.Verify(context.Background(), cardstream.VerifyRequest{
			Card: cardstream.Card{Number: "4929421234600821", ExpiryMonth: 12, ExpiryYear: time.Now().Year() + 2, CVV: "356"}})
		if err != nil || !res.Approved() {
			t.Errorf("%s: Verify = %+v, %v", tt.name, res, err)
		}
		form, err := set.Gateways.Test.Hosted(hosted)
		switch {
		case tt.wantForm == "" && !errors.Is(err, payments.ErrNoHostedSandbox):
			t.Errorf("%s: Hosted = %+v, %v; want ErrNoHostedSandbox", tt.name, form, err)
		case tt.wantForm != "" && (err != nil || form.URL != tt.wantForm):
			t.Errorf("%s: Hosted = %+v, %v; want a form for %s", tt.name, form, err, tt.wantForm)
		}
	}
	// Another test gateway: no sandbox at all.
	env := map[string]string{cardstream.EnvTestGatewayURL: "https://gateway.cardstream.com/"}
	set, err := payments.Configure(func(k string) string { return env[k] }, payments.Options{PublicURL: "http://127.0.0.1:8080"})
	if err != nil || set.Sandbox != nil {
		t.Errorf("with CARDSTREAM_TEST_GATEWAY_URL: %+v, %v", set, err)
	}
}
