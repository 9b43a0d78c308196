package cardstream

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		env     map[string]string
		live    bool
		want    Config
		wantErr string
	}{
		{"test defaults", nil, false, Config{MerchantID: "100001", Secret: TestSecret, GatewayURL: "http://127.0.0.1:8080/sandbox/cardstream/"}, ""},
		{"test overrides", map[string]string{EnvTestMerchantID: "123", EnvTestSignatureKey: "k", EnvTestGatewayURL: "https://g.example/"},
			false, Config{MerchantID: "123", Secret: "k", GatewayURL: "https://g.example/"}, ""},
		{"live complete", map[string]string{EnvMerchantID: "9", EnvSignatureKey: "s", EnvGatewayURL: "https://gateway.cardstream.com/",
			EnvTestMerchantID: "ignored"}, true, Config{MerchantID: "9", Secret: "s", GatewayURL: "https://gateway.cardstream.com/", Live: true}, ""},
		{"live key file", map[string]string{EnvMerchantID: "9", EnvSignatureKey + "_FILE": keyFile, EnvGatewayURL: "https://g.example/"},
			true, Config{MerchantID: "9", Secret: "from-file", GatewayURL: "https://g.example/", Live: true}, ""},
		{"live missing all", nil, true, Config{}, "missing CARDSTREAM_MERCHANT_ID, CARDSTREAM_SIGNATURE_KEY, CARDSTREAM_GATEWAY_URL"},
		{"live missing key", map[string]string{EnvMerchantID: "9", EnvGatewayURL: "https://g.example/"}, true, Config{}, "missing CARDSTREAM_SIGNATURE_KEY"},
		{"live http", map[string]string{EnvMerchantID: "9", EnvSignatureKey: "s", EnvGatewayURL: "http://g.example/"}, true, Config{}, "must use https"},
		{"relative URL", map[string]string{EnvTestGatewayURL: "/sandbox/"}, false, Config{}, "absolute http(s) URL"},
		{"missing key file", map[string]string{EnvTestSignatureKey + "_FILE": filepath.Join(t.TempDir(), "nope")}, false, Config{}, "read CARDSTREAM_TEST_SIGNATURE_KEY_FILE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := LoadConfig(env(tt.env), tt.live, "http://127.0.0.1:8080/sandbox/cardstream/")
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("LoadConfig error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got.MerchantID != tt.want.MerchantID || got.Secret != tt.want.Secret ||
				got.GatewayURL != tt.want.GatewayURL || got.Live != tt.want.Live {
				t.Errorf("LoadConfig = %v (%v), want %v", got, err, tt.want)
			}
		})
	}
}

func TestConfigRedactsSecret(t *testing.T) {
	t.Parallel()
	cfg := Config{MerchantID: "100001", Secret: "Circle4Take40Idea", GatewayURL: "https://g.example/"}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "cfg", cfg)
	for _, s := range []string{cfg.String(), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg), logged.String()} {
		if strings.Contains(s, "Circle4") || !strings.Contains(s, "[REDACTED]") {
			t.Errorf("config formatted as %q", s)
		}
	}
	fields := Fields{{"cardNumber", "4929421234600821"}, {"cardCVV", "356"}, {"amount", "1"}}
	logged.Reset()
	slog.New(slog.NewTextHandler(&logged, nil)).Info("fields", "f", fields)
	for _, s := range []string{fields.String(), fmt.Sprint(fields), logged.String()} {
		if strings.Contains(s, "4929") || strings.Contains(s, "356") || !strings.Contains(s, "amount") {
			t.Errorf("fields formatted as %q", s)
		}
	}
}
