package cardstream

import (
	"errors"
	"fmt"
)

// Verification failures (§3.3 step 4). All three match ErrVerification.
var (
	// ErrVerification matches every signature verification failure.
	ErrVerification = errors.New("cardstream: signature verification failed")
	// ErrNoSecret means a message could not be verified because no local
	// signing secret is configured (whether or not it carried a signature).
	ErrNoSecret = fmt.Errorf("%w: no local signing secret configured", ErrVerification)
	// ErrNoSignature means a secret is configured but the message carries no
	// signature.
	ErrNoSignature = fmt.Errorf("%w: message has no signature", ErrVerification)
	// ErrBadSignature means the signature does not match the message.
	ErrBadSignature = fmt.Errorf("%w: signature mismatch", ErrVerification)
)

// Other failures callers can test for with errors.Is.
var (
	// ErrUnparsable means a body could not be parsed into gateway fields, or a
	// verified response lacks or garbles a required field.
	ErrUnparsable = errors.New("cardstream: unparsable message")
	// ErrMismatch means a verified response does not match the request that
	// produced it (merchantID, amount, currency, xref, transactionUnique).
	ErrMismatch = errors.New("cardstream: response does not match request")
	// ErrTransport means the request did not get an HTTP 200 answer: a
	// network failure, a 5xx status or a timeout.
	ErrTransport = errors.New("cardstream: transport failure")
	// ErrTimeout means an attempt or the caller's context deadline expired.
	// It also matches ErrTransport and context.DeadlineExceeded.
	ErrTimeout = errors.New("cardstream: timeout")
	// ErrInvalidRequest means the request was refused locally before it was
	// sent (a missing or malformed field).
	ErrInvalidRequest = errors.New("cardstream: invalid request")
	// ErrInvalidConfig means a Config is incomplete or malformed.
	ErrInvalidConfig = errors.New("cardstream: invalid config")
	// ErrNotRefundable means a Refund found the transaction in a state that
	// allows neither a void nor a refund, or nothing is left to refund.
	ErrNotRefundable = errors.New("cardstream: transaction cannot be refunded")
	// ErrLedgerMismatch means a Refund's QUERY found a different amount
	// left at the gateway than the caller's ledger expected
	// (RefundRequest.Remaining): nothing was sent.
	ErrLedgerMismatch = errors.New("cardstream: the gateway's amounts differ from the ledger's")
	// ErrDeclined matches every *ResponseError returned by Result.Err.
	ErrDeclined = errors.New("cardstream: transaction not approved")
)

// MismatchError reports a response field that differs from the request or
// from an expectation. The values are never card data.
type MismatchError struct {
	Field string
	Want  string
	Got   string
}

// Error implements error.
func (e *MismatchError) Error() string {
	return fmt.Sprintf("cardstream: response %s = %q, want %q", e.Field, e.Got, e.Want)
}

// Is makes errors.Is(err, ErrMismatch) true.
func (e *MismatchError) Is(target error) bool { return target == ErrMismatch }

// TransportError reports a failed HTTP exchange with the gateway.
type TransportError struct {
	// Op is the gateway action, e.g. "SALE".
	Op string
	// StatusCode is the HTTP status when one was received, else 0.
	StatusCode int
	// Attempts is the number of attempts made.
	Attempts int
	// Err is the underlying error, if any.
	Err error
}

// Error implements error.
func (e *TransportError) Error() string {
	msg := fmt.Sprintf("cardstream %s: transport failure after %d attempt(s)", e.Op, e.Attempts)
	if e.StatusCode != 0 {
		msg += fmt.Sprintf(": HTTP %d", e.StatusCode)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *TransportError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrTransport) true.
func (e *TransportError) Is(target error) bool { return target == ErrTransport }

// UnverifiedError reports a response that failed signature verification.
// ResponseCode and ResponseMessage are what the unverified body claimed; they
// are for diagnosis only (an unknown merchantID, for example, produces an
// unsigned 65539 answer) and must never be treated as a gateway decision.
type UnverifiedError struct {
	ResponseCode    string
	ResponseMessage string
	Err             error
}

// Error implements error.
func (e *UnverifiedError) Error() string {
	if e.ResponseCode == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("%v (unverified responseCode %s %q)", e.Err, e.ResponseCode, e.ResponseMessage)
}

// Unwrap returns the verification error.
func (e *UnverifiedError) Unwrap() error { return e.Err }

// ResponseError describes a verified gateway answer that is not an
// approval. Result.Err returns it.
type ResponseError struct {
	Action          string
	ResponseCode    int
	ResponseMessage string
	Outcome         Outcome
	DeclineCode     string
	Retryable       bool
}

// Error implements error.
func (e *ResponseError) Error() string {
	return fmt.Sprintf("cardstream %s: %s (responseCode %d %q, decline code %s)",
		e.Action, e.Outcome, e.ResponseCode, e.ResponseMessage, e.DeclineCode)
}

// Is makes errors.Is(err, ErrDeclined) true.
func (e *ResponseError) Is(target error) bool { return target == ErrDeclined }
