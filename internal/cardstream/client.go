package cardstream

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// Client talks to the Cardstream Direct API at {GatewayURL}direct/ and
// builds Hosted Payment Page forms for {GatewayURL}hosted/. It is safe for
// concurrent use.
//
// Every response is parsed from the body only, its signature verified with
// the configured secret, and its merchantID, amount, currencyCode,
// transactionUnique, orderRef (and for CAPTURE, CANCEL and QUERY the xref)
// compared with the request before a Result is built.
//
// Timeouts: each attempt is bounded by Config.Timeout, or MoneyTimeout for
// a request that moves money.
//
// Retries: an attempt that fails in transport (network error, attempt
// timeout, HTTP 5xx) is resent, with the identical body, only when that is
// safe under the protocol: QUERY always; SALE, VERIFY and REFUND_SALE
// because they carry a stable transactionUnique and duplicateDelay, so a
// copy that lands twice is refused with 65554 (OutcomeDuplicate) instead of
// charging twice; retries stop before DuplicateDelay has elapsed. CAPTURE,
// CANCEL and the 3-D Secure continuation are never resent.
type Client struct {
	cfg Config
}

// New returns a Client for cfg, or an error wrapping ErrInvalidConfig.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Client{cfg: cfg.withDefaults()}, nil
}

// MerchantID returns the configured merchant account.
func (c *Client) MerchantID() string { return c.cfg.MerchantID }

// DirectURL returns the Direct API endpoint.
func (c *Client) DirectURL() string { return c.cfg.GatewayURL + "direct/" }

// HostedURL returns the Hosted Payment Page endpoint.
func (c *Client) HostedURL() string { return c.cfg.GatewayURL + "hosted/" }

// Secret returns the signing secret, for verifying callbacks with Verify.
func (c *Client) Secret() string { return c.cfg.Secret }

// request is one Direct API call before signing.
type request struct {
	action string
	fields Fields
	// retry marks requests that are safe to resend (see Client).
	retry bool
	// sameXRef marks management actions whose response names the same
	// transaction as the request.
	sameXRef bool
	// moves marks requests that move money (Config.MoneyTimeout).
	moves bool
}

// newRequest starts a field list with merchantID and action.
func (c *Client) newRequest(action string) Fields {
	return Fields{{"merchantID", c.cfg.MerchantID}, {"action", action}}
}

// unique returns a fresh transactionUnique.
func (c *Client) unique() (string, error) {
	u, err := randomToken(c.cfg.Rand, 16)
	if err != nil {
		return "", fmt.Errorf("cardstream: generate transactionUnique: %w", err)
	}
	return u, nil
}

// do signs, sends (with retries where safe), verifies and checks req.
func (c *Client) do(ctx context.Context, req request) (*Result, error) {
	body := SignedRequest(req.fields, c.cfg.Secret).AppendEncode(nil)
	start := c.cfg.NowFunc()
	for attempt := 1; ; attempt++ {
		raw, err := c.attempt(ctx, req, body)
		if err == nil {
			return c.accept(ctx, req, raw, attempt)
		}
		if !c.retryable(ctx, req, err, attempt, start) {
			return nil, c.transportError(req.action, attempt, err)
		}
		if serr := c.cfg.SleepFunc(ctx, c.backoff(attempt)); serr != nil {
			return nil, c.transportError(req.action, attempt, errors.Join(err, serr))
		}
	}
}

func (c *Client) backoff(attempt int) time.Duration {
	return c.cfg.RetryBackoff << (attempt - 1)
}

// retryable decides whether a failed attempt may be resent.
func (c *Client) retryable(ctx context.Context, req request, err error, attempt int, start time.Time) bool {
	var se *statusError
	transient := !errors.As(err, &se) || se.code >= 500
	elapsed := c.cfg.NowFunc().Sub(start) + c.backoff(attempt)
	return req.retry && transient && ctx.Err() == nil && attempt < c.cfg.MaxAttempts &&
		elapsed < c.cfg.DuplicateDelay
}

func (c *Client) transportError(action string, attempts int, err error) error {
	te := &TransportError{Op: action, Attempts: attempts, Err: err}
	var se *statusError
	if errors.As(err, &se) {
		te.StatusCode = se.code
	}
	return te
}

// statusError is a non-200 HTTP answer.
type statusError struct{ code int }

func (e *statusError) Error() string { return fmt.Sprintf("HTTP status %d", e.code) }

// attempt performs one HTTP exchange bounded by the per-attempt timeout.
func (c *Client) attempt(ctx context.Context, req request, body []byte) (string, error) {
	action, timeout := req.action, c.cfg.Timeout
	if req.moves {
		timeout = c.cfg.MoneyTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.DirectURL(), bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("build request: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	resp, err := c.cfg.HTTPClient.Do(hreq)
	if err != nil {
		return "", timeoutAware(err)
	}
	defer resp.Body.Close()
	data, err := readAll(resp.Body, resp.ContentLength)
	if err != nil {
		return "", timeoutAware(fmt.Errorf("read response: %w", err))
	}
	if resp.StatusCode != http.StatusOK {
		return "", &statusError{code: resp.StatusCode}
	}
	if len(data) > MaxBodyBytes {
		return "", fmt.Errorf("%w: response larger than %d bytes", ErrUnparsable, MaxBodyBytes)
	}
	if c.cfg.Logger.Enabled(ctx, slog.LevelDebug) { // skip building the arguments
		c.cfg.Logger.DebugContext(ctx, "cardstream response received", "action", action, "status", resp.StatusCode)
	}
	return string(data), nil
}

// timeoutAware marks deadline errors with ErrTimeout.
func timeoutAware(err error) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return err
}

// accept parses, verifies and checks a response body.
func (c *Client) accept(ctx context.Context, req request, raw string, attempts int) (*Result, error) {
	if strings.HasPrefix(strings.TrimSpace(raw), "<") {
		return nil, fmt.Errorf("cardstream %s: %w: HTML instead of a form-encoded response", req.action, ErrUnparsable)
	}
	fields, err := ParseBody(raw)
	if err != nil {
		return nil, fmt.Errorf("cardstream %s: %w", req.action, err)
	}
	signed, err := Verify(fields, c.cfg.Secret)
	if err != nil {
		return nil, fmt.Errorf("cardstream %s: %w", req.action, &UnverifiedError{
			ResponseCode: fields.Get("responseCode"), ResponseMessage: fields.Get("responseMessage"), Err: err})
	}
	res, err := NewResult(signed)
	if err != nil {
		return nil, fmt.Errorf("cardstream %s: %w", req.action, err)
	}
	if err := c.checkEcho(req, res); err != nil {
		return nil, fmt.Errorf("cardstream %s: %w", req.action, err)
	}
	if c.cfg.Logger.Enabled(ctx, slog.LevelDebug) {
		c.cfg.Logger.DebugContext(ctx, "cardstream exchange", "action", req.action, "attempts", attempts,
			"response_code", res.ResponseCode, "outcome", res.Outcome.String(), "xref", res.XRef)
	}
	return res, nil
}

// checkEcho compares the verified response with what was sent (§3.3 step 6).
func (c *Client) checkEcho(req request, res *Result) error {
	if got := res.Fields.Get("merchantID"); got != c.cfg.MerchantID {
		return &MismatchError{Field: "merchantID", Want: c.cfg.MerchantID, Got: got}
	}
	names := []string{"amount", "currencyCode", "transactionUnique", "orderRef"}
	if req.sameXRef {
		names = append(names, "xref")
	}
	for _, name := range names {
		want, sent := req.fields.Lookup(name)
		if got := res.Fields.Get(name); sent && got != want {
			return &MismatchError{Field: name, Want: want, Got: got}
		}
	}
	return nil
}

// Do sends a caller-built field list (merchantID is set for you; action
// must be present) and returns the verified result. It never retries. Use
// it for actions this package has no typed method for.
func (c *Client) Do(ctx context.Context, fields Fields) (*Result, error) {
	f := fields.Clone()
	f.DelRoot(SignatureField)
	f.Set("merchantID", c.cfg.MerchantID)
	action := f.Get("action")
	if action == "" {
		return nil, fmt.Errorf("%w: action is required", ErrInvalidRequest)
	}
	return c.do(ctx, request{action: action, fields: f})
}

// randomToken returns n random bytes as hex, from r or crypto/rand.
func randomToken(r io.Reader, n int) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
