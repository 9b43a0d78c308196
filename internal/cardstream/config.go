package cardstream

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Cardstream's published test account (§11.1).
const (
	TestMerchantID = "100001"
	TestSecret     = "Circle4Take40Idea"
)

// Environment variable names read by LoadConfig.
const (
	EnvMerchantID         = "CARDSTREAM_MERCHANT_ID"
	EnvSignatureKey       = "CARDSTREAM_SIGNATURE_KEY"
	EnvGatewayURL         = "CARDSTREAM_GATEWAY_URL"
	EnvTestMerchantID     = "CARDSTREAM_TEST_MERCHANT_ID"
	EnvTestSignatureKey   = "CARDSTREAM_TEST_SIGNATURE_KEY"
	EnvTestGatewayURL     = "CARDSTREAM_TEST_GATEWAY_URL"
	fileSuffix            = "_FILE"
	defaultTimeout        = 30 * time.Second
	defaultMoneyTimeout   = 2 * time.Minute
	defaultDuplicateDelay = 300 * time.Second
	defaultMaxAttempts    = 3
	defaultRetryBackoff   = 500 * time.Millisecond
	redacted              = "[REDACTED]"
)

// Config configures a Client. The zero values of the optional fields mean
// the defaults documented on each.
type Config struct {
	// MerchantID is the gateway merchant account. Required.
	MerchantID string
	// Secret is the signing secret phrase. Required: unsigned operation is
	// not supported.
	Secret string
	// GatewayURL is the gateway base URL; "direct/" and "hosted/" are
	// appended. Required; must be absolute http(s), and https when Live.
	GatewayURL string
	// Live marks a production account (https required).
	Live bool
	// CountryCode is the merchant's country sent on new transactions.
	// Defaults to "826" (United Kingdom).
	CountryCode string
	// CurrencyCode is the default currency. Defaults to "826" (GBP).
	CurrencyCode string
	// HTTPClient sends the requests. Defaults to a client without its own
	// timeout (Timeout below bounds each attempt).
	HTTPClient *http.Client
	// Timeout bounds each attempt of a request that moves no money (VERIFY,
	// QUERY). Defaults to 30s.
	Timeout time.Duration
	// MoneyTimeout bounds each attempt of a request that moves money (SALE,
	// CAPTURE, CANCEL, REFUND_SALE, the 3-D Secure continuation). A slow
	// answer is worth waiting for: a resend of a sale that has landed is
	// only refused as a duplicate (65554), which does not say how the sale
	// ended, and a capture or cancel is never resent. Defaults to 2m.
	MoneyTimeout time.Duration
	// MaxAttempts bounds attempts of requests that are safe to resend
	// (see Client). Defaults to 3; 1 disables retries.
	MaxAttempts int
	// RetryBackoff is the delay before the second attempt; it doubles for
	// each further attempt. Defaults to 500ms.
	RetryBackoff time.Duration
	// DuplicateDelay is sent as duplicateDelay on new transactions (§9.7).
	// Defaults to 300s; retries stop once it has elapsed.
	DuplicateDelay time.Duration
	// Logger receives debug records of each exchange (never card data).
	// Defaults to a logger that discards.
	Logger *slog.Logger
	// Rand is the randomness for generated transactionUnique values. It
	// must be safe for concurrent use. Defaults to crypto/rand.
	Rand io.Reader
	// SleepFunc waits between attempts. Defaults to a timer that honours
	// ctx. Tests may replace it.
	SleepFunc func(ctx context.Context, d time.Duration) error
	// NowFunc returns the current time. Defaults to time.Now.
	NowFunc func() time.Time
}

// String describes c with the secret redacted.
func (c Config) String() string {
	return fmt.Sprintf("cardstream.Config{MerchantID:%s Secret:%s GatewayURL:%s Live:%t}",
		c.MerchantID, redactSecret(c.Secret), c.GatewayURL, c.Live)
}

// GoString is String, so %#v cannot print the secret either.
func (c Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer with the secret redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("merchant_id", c.MerchantID),
		slog.String("secret", redactSecret(c.Secret)),
		slog.String("gateway_url", c.GatewayURL),
		slog.Bool("live", c.Live),
	)
}

func redactSecret(s string) string {
	if s == "" {
		return "(unset)"
	}
	return redacted
}

// LoadConfig reads the gateway settings from the environment. With live it
// reads CARDSTREAM_MERCHANT_ID, CARDSTREAM_SIGNATURE_KEY and
// CARDSTREAM_GATEWAY_URL, all required; the error names every missing one.
// Otherwise it reads the CARDSTREAM_TEST_* variables, defaulting to the
// published test account 100001 / Circle4Take40Idea and to
// defaultTestGatewayURL (typically the in-process sandbox's URL). Each
// signature key may instead be read from the file named by the same
// variable with a _FILE suffix.
func LoadConfig(getenv func(string) string, live bool, defaultTestGatewayURL string) (Config, error) {
	names := [3]string{EnvTestMerchantID, EnvTestSignatureKey, EnvTestGatewayURL}
	if live {
		names = [3]string{EnvMerchantID, EnvSignatureKey, EnvGatewayURL}
	}
	secret, err := readSecret(getenv, names[1])
	if err != nil {
		return Config{}, err
	}
	cfg := Config{
		MerchantID: strings.TrimSpace(getenv(names[0])), Secret: secret,
		GatewayURL: strings.TrimSpace(getenv(names[2])), Live: live,
	}
	if !live {
		cfg.MerchantID = cmp.Or(cfg.MerchantID, TestMerchantID)
		cfg.Secret = cmp.Or(cfg.Secret, TestSecret)
		cfg.GatewayURL = cmp.Or(cfg.GatewayURL, defaultTestGatewayURL)
	}
	if err := cfg.validate(names); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// readSecret returns getenv(name), or the trimmed contents of the file
// named by name_FILE when name is unset.
func readSecret(getenv func(string) string, name string) (string, error) {
	if v := getenv(name); v != "" {
		return v, nil
	}
	path := getenv(name + fileSuffix)
	if path == "" {
		return "", nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w: read %s%s: %w", ErrInvalidConfig, name, fileSuffix, err)
	}
	return strings.TrimRight(string(data), "\r\n"), nil
}

// Validate checks that c has everything a Client needs.
func (c Config) Validate() error {
	return c.validate([3]string{"MerchantID", "Secret", "GatewayURL"})
}

func (c Config) validate(names [3]string) error {
	var missing []string
	for i, v := range []string{c.MerchantID, c.Secret, c.GatewayURL} {
		if v == "" {
			missing = append(missing, names[i])
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %s", ErrInvalidConfig, strings.Join(missing, ", "))
	}
	u, err := url.Parse(c.GatewayURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%w: %s must be an absolute http(s) URL", ErrInvalidConfig, names[2])
	}
	if c.Live && u.Scheme != "https" {
		return fmt.Errorf("%w: %s must use https for a live account", ErrInvalidConfig, names[2])
	}
	return nil
}

// withDefaults fills the optional fields.
func (c Config) withDefaults() Config {
	if !strings.HasSuffix(c.GatewayURL, "/") {
		c.GatewayURL += "/"
	}
	c.CountryCode = cmp.Or(c.CountryCode, "826")
	c.CurrencyCode = cmp.Or(c.CurrencyCode, "826")
	c.Timeout = cmp.Or(c.Timeout, defaultTimeout)
	c.MoneyTimeout = cmp.Or(c.MoneyTimeout, defaultMoneyTimeout)
	c.MaxAttempts = max(cmp.Or(c.MaxAttempts, defaultMaxAttempts), 1)
	c.RetryBackoff = cmp.Or(c.RetryBackoff, defaultRetryBackoff)
	c.DuplicateDelay = cmp.Or(c.DuplicateDelay, defaultDuplicateDelay)
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.SleepFunc == nil {
		c.SleepFunc = sleep
	}
	if c.NowFunc == nil {
		c.NowFunc = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	return c
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
