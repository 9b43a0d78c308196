package webhook_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	stripewebhook "github.com/stripe/stripe-go/v85/webhook"

	"github.com/calmony/calmonypay/webhook"
)

const (
	secret = "whsec_test0123456789abcdefABCDEF0123"
	other  = "whsec_other0123456789abcdefABCDEF012"
)

var payload = []byte(`{"id":"evt_123","object":"event","api_version":"2026-03-25.dahlia","type":"customer.created","data":{"object":{}}}`)

func TestVerify(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	signed := webhook.Sign(payload, now, secret)
	for _, tt := range []struct {
		name      string
		payload   []byte
		header    string
		secret    string
		tolerance time.Duration
		at        time.Time
		want      error
	}{
		{"valid", payload, signed, secret, 0, now, nil},
		{"valid with spaces", payload, strings.ReplaceAll(signed, ",", ", "), secret, 0, now, nil},
		{"second of two secrets", payload, webhook.Sign(payload, now, other, secret), secret, 0, now, nil},
		{"unknown schemes ignored", payload, signed + ",v0=abcd,v9=zz", secret, 0, now, nil},
		{"just inside default tolerance", payload, signed, secret, 0, now.Add(300 * time.Second), nil},
		{"too old for default tolerance", payload, signed, secret, 0, now.Add(301 * time.Second), webhook.ErrTooOld},
		{"too far in the future", payload, signed, secret, 0, now.Add(-301 * time.Second), webhook.ErrTooOld},
		{"centuries in the future", payload, webhook.Sign(payload, time.Unix(1_800_000_000+10_000_000_000, 0), secret), secret, 0, now, webhook.ErrTooOld},
		{"centuries in the past", payload, webhook.Sign(payload, time.Unix(1_800_000_000-10_000_000_000, 0), secret), secret, 0, now, webhook.ErrTooOld},
		{"the largest timestamp", payload, webhook.Sign(payload, time.Unix(math.MaxInt64, 0), secret), secret, 0, now, webhook.ErrTooOld},
		{"custom tolerance", payload, signed, secret, time.Hour, now.Add(59 * time.Minute), nil},
		{"negative tolerance skips the check", payload, signed, secret, -1, now.Add(48 * time.Hour), nil},
		{"tampered body", append([]byte(nil), strings.Replace(string(payload), "evt_123", "evt_124", 1)...), signed, secret, 0, now, webhook.ErrNoValidSignature},
		{"wrong secret", payload, signed, other, 0, now, webhook.ErrNoValidSignature},
		{"secret without prefix", payload, signed, strings.TrimPrefix(secret, "whsec_"), 0, now, webhook.ErrNoValidSignature},
		{"timestamp changed", payload, strings.Replace(signed, "t=1800000000", "t=1800000001", 1), secret, 0, now, webhook.ErrNoValidSignature},
		{"empty header", payload, "", secret, 0, now, webhook.ErrNotSigned},
		{"no timestamp", payload, signed[strings.Index(signed, ",")+1:], secret, 0, now, webhook.ErrInvalidHeader},
		{"bad timestamp", payload, "t=abc,v1=00", secret, 0, now, webhook.ErrInvalidHeader},
		{"two timestamps", payload, signed + ",t=1800000000", secret, 0, now, webhook.ErrInvalidHeader},
		{"pair without =", payload, signed + ",junk", secret, 0, now, webhook.ErrInvalidHeader},
		{"no v1", payload, "t=1800000000,v0=abc", secret, 0, now, webhook.ErrNoValidSignature},
		{"v1 not hex", payload, "t=1800000000,v1=xyz", secret, 0, now, webhook.ErrNoValidSignature},
		{"huge header", payload, signed + strings.Repeat(",v0=a", 2000), secret, 0, now, webhook.ErrInvalidHeader},
		{"empty secret", payload, signed, "", 0, now, webhook.ErrNoSecret},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := webhook.VerifyAt(tt.payload, tt.header, tt.secret, tt.tolerance, tt.at)
			if !errors.Is(err, tt.want) {
				t.Errorf("VerifyAt(%s) = %v, want %v", tt.name, err, tt.want)
			}
			if err != nil {
				var we *webhook.Error
				if !errors.As(err, &we) || we.Reason == "" {
					t.Errorf("error %v is not a *webhook.Error with a Reason", err)
				}
			}
		})
	}
}

func TestVerifyUsesCurrentTime(t *testing.T) {
	t.Parallel()
	if err := webhook.Verify(payload, webhook.Sign(payload, time.Now(), secret), secret, 0); err != nil {
		t.Errorf("Verify(fresh signature) = %v", err)
	}
	old := webhook.Sign(payload, time.Now().Add(-10*time.Minute), secret)
	if err := webhook.Verify(payload, old, secret, 0); !errors.Is(err, webhook.ErrTooOld) {
		t.Errorf("Verify(10-minute-old signature) = %v, want ErrTooOld", err)
	}
}

func TestSignFormat(t *testing.T) {
	t.Parallel()
	h := webhook.Sign(payload, time.Unix(1_800_000_000, 0), secret, other)
	parts := strings.Split(h, ",")
	if len(parts) != 3 || parts[0] != "t=1800000000" || !strings.HasPrefix(parts[1], "v1=") || len(parts[1]) != 3+64 || parts[1] == parts[2] {
		t.Errorf("Sign = %q, want t=…,v1=<64 hex>,v1=<64 hex>", h)
	}
}

// Our signatures are Stripe's: stripe-go v85 verifies what Sign makes, and
// Verify accepts what stripe-go's test helper makes.
func TestStripeGoCompatibility(t *testing.T) {
	t.Parallel()
	now := time.Now()
	if _, err := stripewebhook.ConstructEvent(payload, webhook.Sign(payload, now, other, secret), secret); err != nil {
		t.Errorf("stripe-go ConstructEvent rejected our signature: %v", err)
	}
	if _, err := stripewebhook.ConstructEvent(payload, webhook.Sign(payload, now.Add(-301*time.Second), secret), secret); err == nil {
		t.Error("stripe-go accepted a stale signature")
	}
	tampered := []byte(strings.Replace(string(payload), "customer.created", "customer.deleted", 1))
	if _, err := stripewebhook.ConstructEvent(tampered, webhook.Sign(payload, now, secret), secret); err == nil {
		t.Error("stripe-go accepted a tampered body")
	}
	sp := stripewebhook.GenerateTestSignedPayload(&stripewebhook.UnsignedPayload{Payload: payload, Secret: secret})
	if err := webhook.Verify(payload, sp.Header, secret, 0); err != nil {
		t.Errorf("Verify(stripe-go test header) = %v", err)
	}
	if got, want := string(webhook.ComputeSignature(sp.Timestamp, payload, secret)), string(sp.Signature); got != want {
		t.Error("ComputeSignature differs from stripe-go's")
	}
}

func ExampleVerify() {
	body := []byte(`{"id":"evt_1","object":"event"}`)
	header := webhook.Sign(body, time.Now(), "whsec_example")
	if err := webhook.Verify(body, header, "whsec_example", 0); err != nil {
		panic(err)
	}
}
