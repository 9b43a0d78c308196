package payments_test

import (
	"errors"
	"testing"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/payments"
)

func TestConfigure(t *testing.T) {
	t.Parallel()
	test, err := cardstream.New(cardstream.Config{MerchantID: cardstream.TestMerchantID, Secret: cardstream.TestSecret,
		GatewayURL: "http://127.0.0.1:8091/"})
	if err != nil {
		t.Fatal(err)
	}
	hosted := cardstream.HostedRequest{Amount: 1000, TransactionUnique: "cs_test_x-1", OrderRef: "cs_test_x",
		RedirectURL: "http://127.0.0.1:8080/v1/checkout/sessions/callback"}
	noEnv := func(string) string { return "" }

	gws, err := payments.Configure(noEnv, payments.Options{Test: test})
	if err != nil || gws.Test != test || gws.Live != nil {
		t.Fatalf("Configure = %+v, %v; want the test gateway and no live one", gws, err)
	}
	// Browsers cannot reach the test gateway's pages (production): test-mode
	// hosted payments are refused, the rest reaches it.
	gws, err = payments.Configure(noEnv, payments.Options{Test: test, NoTestPages: true})
	if err != nil {
		t.Fatal(err)
	}
	if form, err := gws.Test.Hosted(hosted); !errors.Is(err, payments.ErrNoHostedSandbox) {
		t.Errorf("NoTestPages: Hosted = %+v, %v; want ErrNoHostedSandbox", form, err)
	}
	if id := gws.Test.MerchantID(); id != cardstream.TestMerchantID {
		t.Errorf("NoTestPages: MerchantID = %q", id)
	}

	if _, err := payments.Configure(noEnv, payments.Options{Test: test, RequireLive: true}); err == nil {
		t.Error("RequireLive without the live account's settings: no error")
	}
	if _, err := payments.Configure(noEnv, payments.Options{}); err == nil {
		t.Error("no test gateway: no error")
	}
	env := map[string]string{cardstream.EnvMerchantID: "200001", cardstream.EnvSignatureKey: "secret-phrase",
		cardstream.EnvGatewayURL: "https://gateway.cardstream.com/"}
	gws, err = payments.Configure(func(k string) string { return env[k] }, payments.Options{Test: test, RequireLive: true})
	if err != nil || gws.Live == nil || gws.Live.MerchantID() != "200001" {
		t.Errorf("with the live account: %+v, %v", gws, err)
	}
}
