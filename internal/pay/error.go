// Package pay holds Calmony Pay's domain types: resources, prefixed IDs,
// error kinds and the state rules shared by the store and the API. It imports
// only the standard library.
package pay

import (
	"errors"
	"fmt"
	"strings"
)

// Error types, as Stripe names them in the error envelope.
const (
	ErrorTypeAPI            = "api_error"
	ErrorTypeCard           = "card_error"
	ErrorTypeIdempotency    = "idempotency_error"
	ErrorTypeInvalidRequest = "invalid_request_error"
	ErrorTypeAuthentication = "authentication_error"
	ErrorTypeRateLimit      = "rate_limit"
)

// Error is an error a client may see, shaped like Stripe's error object.
// Status is the HTTP status it is answered with.
type Error struct {
	Status      int
	Type        string
	Code        string
	Param       string
	Message     string
	DeclineCode string
	// PaymentIntent is the payment intent a card error is about, shown in
	// the error as Stripe does.
	PaymentIntent any
	// SetupIntent is the setup intent a card error is about.
	SetupIntent any
	// ShouldRetry is sent as Stripe-Should-Retry: true, which makes
	// Stripe's SDKs retry the request (a lock timeout, say).
	ShouldRetry bool
	Err         error // optional cause, never shown to the client
}

func (e *Error) Error() string {
	if e.Param != "" {
		return fmt.Sprintf("%s (%s): %s", e.Code, e.Param, e.Message)
	}
	if e.Code != "" {
		return e.Code + ": " + e.Message
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Sentinel errors, wrapped with %w by the store and matched with errors.Is.
var (
	// ErrNotFound means the object does not exist in the caller's project and mode.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a unique value is already taken.
	ErrConflict = errors.New("conflict")
)

// InvalidRequest is a 400 invalid_request_error naming param.
func InvalidRequest(code, param, format string, args ...any) *Error {
	return &Error{Status: 400, Type: ErrorTypeInvalidRequest, Code: code, Param: param, Message: fmt.Sprintf(format, args...)}
}

// MissingParam is Stripe's parameter_missing error.
func MissingParam(param string) *Error {
	return InvalidRequest("parameter_missing", param, "Missing required param: %s.", param)
}

// InvalidParam is Stripe's parameter_invalid error for a value out of range or of the wrong form.
func InvalidParam(param, format string, args ...any) *Error {
	return InvalidRequest("parameter_invalid", param, format, args...)
}

// NoSuch is Stripe's 404 resource_missing error.
func NoSuch(kind, id, param string) *Error {
	return &Error{Status: 404, Type: ErrorTypeInvalidRequest, Code: "resource_missing", Param: param,
		Message: fmt.Sprintf("No such %s: '%s'", kind, id)}
}

// NotFoundAs turns [ErrNotFound] into Stripe's resource_missing error
// naming the kind of object, its ID and the parameter that named it. Any
// other error is returned as it is.
func NotFoundAs(err error, kind, id, param string) error {
	if errors.Is(err, ErrNotFound) {
		return NoSuch(kind, id, param)
	}
	return err
}

// Clip shortens s to at most n bytes, marking a cut with "…", and drops
// invalid UTF-8, so a client's or gateway's text can be quoted in a message
// or a note.
func Clip(s string, n int) string {
	if len(s) > n {
		s = s[:n] + "…"
	}
	return strings.ToValidUTF8(s, "")
}

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// ErrorEnvelope is Stripe's error envelope for e: {"error": {…}}.
func ErrorEnvelope(e *Error) any {
	return errorEnvelope{Error: errorDetail{Type: e.Type, Code: e.Code, DeclineCode: e.DeclineCode, Param: e.Param,
		Message: e.Message, PaymentIntent: e.PaymentIntent, SetupIntent: e.SetupIntent}}
}

type errorEnvelope struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Type          string `json:"type"`
	Code          string `json:"code,omitempty"`
	DeclineCode   string `json:"decline_code,omitempty"`
	Param         string `json:"param,omitempty"`
	Message       string `json:"message"`
	PaymentIntent any    `json:"payment_intent,omitempty"`
	SetupIntent   any    `json:"setup_intent,omitempty"`
}
