package cardstream

import (
	"fmt"
	"net/http"
)

// VerifyBody reads r's body (never its URL query), parses it and verifies
// its signature with secret. It returns the signed fields. Errors wrap
// ErrUnparsable, or ErrNoSecret, ErrNoSignature or ErrBadSignature.
func VerifyBody(r *http.Request, secret string) (Fields, error) {
	fields, err := ReadBody(r)
	if err != nil {
		return nil, err
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrUnparsable)
	}
	return Verify(fields, secret)
}

// ParseCallback verifies a hosted callback or redirect POST (§9 steps 3–4)
// with the client's secret and returns its Result. The merchantID must be
// the client's; check the business values with Result.Match against your
// own record, and treat the message as at-least-once and unordered.
func (c *Client) ParseCallback(r *http.Request) (*Result, error) {
	fields, err := VerifyBody(r, c.cfg.Secret)
	if err != nil {
		return nil, fmt.Errorf("cardstream callback: %w", err)
	}
	res, err := NewResult(fields)
	if err != nil {
		return nil, fmt.Errorf("cardstream callback: %w", err)
	}
	if err := res.Match(Expectation{MerchantID: c.cfg.MerchantID}); err != nil {
		return nil, fmt.Errorf("cardstream callback: %w", err)
	}
	return res, nil
}
