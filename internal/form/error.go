package form

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Error codes carried by [Error]. All belong to Stripe's
// invalid_request_error type.
const (
	// CodeUnknown: a parameter that no handler read ("Received unknown
	// parameter: x"). Stripe's own code.
	CodeUnknown = "parameter_unknown"
	// CodeMissing: a required parameter was not sent. Stripe's own code.
	CodeMissing = "parameter_missing"
	// CodeInvalidEmpty: an empty string (an "unset") was sent for a
	// parameter that cannot be unset. Stripe's own code.
	CodeInvalidEmpty = "parameter_invalid_empty"
	// CodeInvalidInteger: the value is not a base-10 int64. Stripe's own code.
	CodeInvalidInteger = "parameter_invalid_integer"
	// CodeInvalidBoolean: the value is neither "true" nor "false".
	CodeInvalidBoolean = "parameter_invalid_boolean"
	// CodeInvalidString: an object or array was sent where a string was
	// expected.
	CodeInvalidString = "parameter_invalid_string"
	// CodeInvalidArray: a string or object was sent where an array was
	// expected (Stripe's "Invalid array").
	CodeInvalidArray = "parameter_invalid_array"
	// CodeInvalidObject: a string or array was sent where an object was
	// expected (Stripe's "Invalid hash").
	CodeInvalidObject = "parameter_invalid_object"
	// CodeConflict: the same parameter was sent as more than one of a
	// value, an object and an array ("a=1&a[b]=2", "a[0]=x&a[k]=y").
	CodeConflict = "parameter_conflict"
	// CodeMalformed: the parameters cannot be decoded at all: a bad
	// percent-escape, a malformed bracket key, invalid JSON, or a JSON body
	// that is not an object.
	CodeMalformed = "parameters_malformed"
	// CodeLimit: the parameters exceed MaxDepth, MaxIndex or MaxParams.
	CodeLimit = "parameters_limit_exceeded"
	// CodeUnsupportedMediaType: the body's Content-Type is missing or not
	// supported. Such errors also match ErrUnsupportedMediaType (HTTP 415).
	CodeUnsupportedMediaType = "invalid_content_type"
	// CodeTooLarge: the body exceeds the limit given to Decode. Such errors
	// also match ErrTooLarge (HTTP 413).
	CodeTooLarge = "request_too_large"
)

// ErrTooLarge is matched (with errors.Is) by the error Decode returns when
// the body exceeds its limit. Handlers map it to HTTP 413.
var ErrTooLarge = errors.New("form: request body too large")

// ErrUnsupportedMediaType is matched (with errors.Is) by the error Decode
// returns for a body whose Content-Type is missing or unsupported. Handlers
// map it to HTTP 415.
var ErrUnsupportedMediaType = errors.New("form: unsupported content type")

// maxNameInError bounds how much of a parameter name an error repeats, so
// a hostile megabyte-long key cannot become a megabyte-long error.
const maxNameInError = 200

// Error is a client error about the request's parameters, shaped for
// Stripe's error envelope: Code is one of the Code constants, Param names
// the parameter Stripe-style (address[line1], items[0][price]) or is empty,
// and Message is fit to show to the API user. Messages never contain
// parameter values.
type Error struct {
	Code    string
	Param   string
	Message string

	// err is a sentinel (ErrTooLarge, ErrUnsupportedMediaType) or nil.
	err error
}

// Error returns the code and the message.
func (e *Error) Error() string {
	return e.Code + ": " + e.Message
}

// Unwrap returns the sentinel the error matches, if any.
func (e *Error) Unwrap() error {
	return e.err
}

// newError builds an *Error about param; format takes the clipped param as
// its only argument.
func newError(code, param, format string) *Error {
	p := clip(param)
	return &Error{Code: code, Param: p, Message: fmt.Sprintf(format, p)}
}

// clip shortens s to at most maxNameInError bytes on a rune boundary.
func clip(s string) string {
	if len(s) <= maxNameInError {
		return s
	}
	i := maxNameInError
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func errUnknown(param string) *Error {
	return newError(CodeUnknown, param, "Received unknown parameter: %s")
}

func errMissing(param string) *Error {
	return newError(CodeMissing, param, "Missing required param: %s.")
}

func errInvalidEmpty(param string) *Error {
	p := clip(param)
	return &Error{Code: CodeInvalidEmpty, Param: p, Message: fmt.Sprintf(
		"You passed an empty string for '%[1]s'. We assume empty values are an attempt to unset a parameter; "+
			"however '%[1]s' cannot be unset. You should remove '%[1]s' from your request or supply a non-empty value.", p)}
}

func errInvalidInteger(param string) *Error {
	return newError(CodeInvalidInteger, param, "Invalid integer for parameter: %s")
}

func errInvalidBoolean(param string) *Error {
	return newError(CodeInvalidBoolean, param, "Invalid boolean for parameter: %s (expected true or false)")
}

func errInvalidString(param string) *Error {
	return newError(CodeInvalidString, param, "Invalid string for parameter: %s (an object or array was sent)")
}

func errInvalidArray(param string) *Error {
	return newError(CodeInvalidArray, param, "Invalid array for parameter: %s")
}

func errInvalidObject(param string) *Error {
	return newError(CodeInvalidObject, param, "Invalid hash for parameter: %s")
}

func errConflict(param string) *Error {
	return newError(CodeConflict, param,
		"Parameter %s was sent more than once with different shapes (a value, an object or an array)")
}

func errMalformedName(param string) *Error {
	return newError(CodeMalformed, param, "Invalid parameter name: %s")
}

func errLimit(param, what string) *Error {
	p := clip(param)
	return &Error{Code: CodeLimit, Param: p, Message: fmt.Sprintf("Parameter %s exceeds the limit: %s", p, what)}
}
