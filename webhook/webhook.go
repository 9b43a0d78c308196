// Package webhook signs and verifies Calmony Pay webhook deliveries.
//
// Calmony Pay signs each delivery the way Stripe does, so Stripe's own
// libraries (stripe-go's webhook.ConstructEvent, stripe-node's
// stripe.webhooks.constructEvent) verify it unchanged. Each request carries
//
//	Calmony-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=<…>]
//	Stripe-Signature:  the same value
//
// where each v1 is HMAC-SHA256, keyed with an endpoint's whole signing secret
// ("whsec_…"), over the timestamp, a dot, and the raw request body. While a
// secret is being rolled, one v1 is sent per valid secret.
//
// A receiver verifies with Verify over the raw body, before parsing it:
//
//	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
//	if err := webhook.Verify(body, r.Header.Get("Calmony-Signature"), secret, 0); err != nil {
//		http.Error(w, "bad signature", http.StatusBadRequest)
//		return
//	}
//
// Deliveries may repeat (at-least-once): deduplicate on the event ID.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Header names. Calmony Pay sends the same value in both.
const (
	SignatureHeader       = "Calmony-Signature"
	StripeSignatureHeader = "Stripe-Signature"
)

// DefaultTolerance is how far a signature's timestamp may be from the
// current time when Verify is given a tolerance of 0. It is Stripe's default.
const DefaultTolerance = 300 * time.Second

// scheme is the signature scheme Calmony Pay signs with. Verifiers ignore
// other schemes in the header.
const scheme = "v1"

// Error is a verification failure. Compare with errors.Is against the
// sentinel values below, or use errors.As to read Reason.
type Error struct {
	// Reason is a stable, machine-readable cause such as "timestamp_outside_tolerance".
	Reason  string
	message string
}

func (e *Error) Error() string { return "webhook: " + e.message }

// Verification failures.
var (
	// ErrNotSigned: the signature header is empty.
	ErrNotSigned = &Error{Reason: "not_signed", message: "no signature header"}
	// ErrInvalidHeader: the header is not of the form t=…,v1=….
	ErrInvalidHeader = &Error{Reason: "invalid_header", message: "malformed signature header"}
	// ErrNoValidSignature: no v1 signature matches the payload and secret.
	ErrNoValidSignature = &Error{Reason: "no_valid_signature", message: "no signature matches the payload"}
	// ErrTooOld: the timestamp is further from now than the tolerance, so
	// the delivery may be a replay.
	ErrTooOld = &Error{Reason: "timestamp_outside_tolerance", message: "timestamp outside the tolerance window"}
	// ErrNoSecret: the secret given to Verify is empty.
	ErrNoSecret = &Error{Reason: "no_secret", message: "empty signing secret"}
)

// ComputeSignature returns HMAC-SHA256(secret, "<unix t>.<payload>"), the
// raw bytes of a v1 signature. The key is the whole secret string,
// "whsec_" prefix included.
func ComputeSignature(t time.Time, payload []byte, secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(strconv.AppendInt(nil, t.Unix(), 10))
	m.Write([]byte{'.'})
	m.Write(payload)
	return m.Sum(nil)
}

// Sign returns the signature header value for payload sent at t: the
// timestamp and one v1 signature per secret, in order. Calmony Pay's
// sender uses it, so there is one implementation of the scheme.
func Sign(payload []byte, t time.Time, secrets ...string) string {
	var b strings.Builder
	b.WriteString("t=")
	b.WriteString(strconv.FormatInt(t.Unix(), 10))
	for _, s := range secrets {
		b.WriteString("," + scheme + "=")
		b.WriteString(hex.EncodeToString(ComputeSignature(t, payload, s)))
	}
	return b.String()
}

// Verify checks that header (the Calmony-Signature or Stripe-Signature
// value) signs payload with secret, and that its timestamp is within
// tolerance of the current time, in either direction. A tolerance of 0 means
// DefaultTolerance; a negative tolerance skips the timestamp check (only for
// replaying stored deliveries in tests). Signatures are compared in constant
// time; any one of several v1 values may match.
func Verify(payload []byte, header, secret string, tolerance time.Duration) error {
	return VerifyAt(payload, header, secret, tolerance, time.Now())
}

// VerifyAt is Verify at the given current time.
func VerifyAt(payload []byte, header, secret string, tolerance time.Duration, now time.Time) error {
	if secret == "" {
		return ErrNoSecret
	}
	t, sigs, err := parseHeader(header)
	if err != nil {
		return err
	}
	if tolerance == 0 {
		tolerance = DefaultTolerance
	}
	// Times are compared, not subtracted: Time.Sub saturates, and the
	// negation of the most negative Duration is itself, so a timestamp
	// centuries ahead once passed as within the tolerance. Time.Add
	// saturates too, which is what comparing needs.
	if tolerance > 0 && (t.Before(now.Add(-tolerance)) || t.After(now.Add(tolerance))) {
		return ErrTooOld
	}
	want := ComputeSignature(t, payload, secret)
	ok := false
	for _, sig := range sigs {
		// Check every one, so the time taken does not depend on which matched.
		if hmac.Equal(want, sig) {
			ok = true
		}
	}
	if !ok {
		return ErrNoValidSignature
	}
	return nil
}

// maxHeaderLen bounds the header Verify parses: a few signatures fit easily.
const maxHeaderLen = 4096

// parseHeader reads "t=<unix>,v1=<hex>[,v1=<hex>…]". Unknown schemes (v0,
// future ones) and v1 values that are not hex are ignored, as Stripe's
// libraries do.
func parseHeader(header string) (time.Time, [][]byte, error) {
	if strings.TrimSpace(header) == "" {
		return time.Time{}, nil, ErrNotSigned
	}
	if len(header) > maxHeaderLen {
		return time.Time{}, nil, ErrInvalidHeader
	}
	var (
		t     time.Time
		haveT bool
		sigs  [][]byte
	)
	for pair := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok {
			return time.Time{}, nil, ErrInvalidHeader
		}
		switch k {
		case "t":
			sec, err := strconv.ParseInt(v, 10, 64)
			if err != nil || haveT {
				return time.Time{}, nil, ErrInvalidHeader
			}
			t, haveT = time.Unix(sec, 0), true
		case scheme:
			if sig, err := hex.DecodeString(v); err == nil && len(sig) == sha256.Size {
				sigs = append(sigs, sig)
			}
		}
	}
	if !haveT {
		return time.Time{}, nil, ErrInvalidHeader
	}
	if len(sigs) == 0 {
		return time.Time{}, nil, ErrNoValidSignature
	}
	return t, sigs, nil
}
