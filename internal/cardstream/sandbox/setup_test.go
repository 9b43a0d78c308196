package sandbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/cardstream/sandbox"
)

func TestSetup(t *testing.T) {
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
		tg, err := sandbox.Setup(noEnv, sandbox.SetupOptions{CallbackURL: "http://127.0.0.1:8080/v1/checkout/sessions/callback",
			SandboxURL: tt.sandboxURL})
		if err != nil || tg.Sandbox == nil || tg.NoBrowsers != (tt.wantForm == "") {
			t.Fatalf("%s: Setup = %+v, %v", tt.name, tg, err)
		}
		// Test keys reach the sandbox in memory, wherever browsers do.
		res, err := tg.Client.Verify(context.Background(), cardstream.VerifyRequest{
			Card: cardstream.Card{Number: "4929421234600821", ExpiryMonth: 12, ExpiryYear: time.Now().Year() + 2, CVV: "356"}})
		if err != nil || !res.Approved() {
			t.Errorf("%s: Verify = %+v, %v", tt.name, res, err)
		}
		if tt.wantForm == "" {
			continue
		}
		if form, err := tg.Client.Hosted(hosted); err != nil || form.URL != tt.wantForm {
			t.Errorf("%s: Hosted = %+v, %v; want a form for %s", tt.name, form, err, tt.wantForm)
		}
	}
	// Another test gateway: no sandbox at all.
	env := map[string]string{cardstream.EnvTestGatewayURL: "https://gateway.cardstream.com/"}
	tg, err := sandbox.Setup(func(k string) string { return env[k] }, sandbox.SetupOptions{CallbackURL: "http://127.0.0.1:8080/v1/checkout/sessions/callback"})
	if err != nil || tg.Sandbox != nil || tg.NoBrowsers {
		t.Errorf("with CARDSTREAM_TEST_GATEWAY_URL: %+v, %v", tg, err)
	}
}
