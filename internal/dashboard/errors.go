package dashboard

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/calmony/calmonypay/internal/pay"
)

// trpcError is a procedure's failure as tRPC reports it.
type trpcError struct {
	code    string // tRPC's code: "BAD_REQUEST", "NOT_FOUND", …
	message string
	field   string // the input field at fault, if any
}

func (e *trpcError) Error() string { return e.code + ": " + e.message }

// trpcCodes are tRPC's error codes with their JSON-RPC codes and HTTP
// statuses (@trpc/server's rpc/codes.ts and getHTTPStatusCode.ts).
var trpcCodes = map[string]struct{ rpc, status int }{
	"PARSE_ERROR":           {-32700, http.StatusBadRequest},
	"BAD_REQUEST":           {-32600, http.StatusBadRequest},
	"INTERNAL_SERVER_ERROR": {-32603, http.StatusInternalServerError},
	"UNAUTHORIZED":          {-32001, http.StatusUnauthorized},
	"FORBIDDEN":             {-32003, http.StatusForbidden},
	"NOT_FOUND":             {-32004, http.StatusNotFound},
	"METHOD_NOT_SUPPORTED":  {-32005, http.StatusMethodNotAllowed},
	"CONFLICT":              {-32009, http.StatusConflict},
	"PAYLOAD_TOO_LARGE":     {-32013, http.StatusRequestEntityTooLarge},
	"TOO_MANY_REQUESTS":     {-32029, http.StatusTooManyRequests},
}

// badRequest is a BAD_REQUEST naming the input field at fault.
func badRequest(field, message string) *trpcError {
	return &trpcError{code: "BAD_REQUEST", message: message, field: field}
}

// notFound is a NOT_FOUND for an object the caller's project does not have
// (another project's objects included).
func notFound(kind, id string) *trpcError {
	return &trpcError{code: "NOT_FOUND", message: fmt.Sprintf("No such %s: %q", kind, id)}
}

func forbidden(least pay.Role) *trpcError {
	return &trpcError{code: "FORBIDDEN", message: fmt.Sprintf("This needs the %s role.", least)}
}

// asTRPCError maps an operation's error to a tRPC error: the caller's own
// mistakes keep their message; anything else is INTERNAL_SERVER_ERROR with
// a fixed message.
func asTRPCError(err error) *trpcError {
	var te *trpcError
	var pe *pay.Error
	switch {
	case errors.As(err, &te):
		return te
	case errors.Is(err, errSignedOut):
		return &trpcError{code: "UNAUTHORIZED", message: "Sign in to use the dashboard."}
	case errors.As(err, &pe):
		return payError(pe)
	case errors.Is(err, pay.ErrNotFound):
		return &trpcError{code: "NOT_FOUND", message: "Not found."}
	case errors.Is(err, pay.ErrConflict):
		return &trpcError{code: "CONFLICT", message: "That conflicts with the current state."}
	default:
		return &trpcError{code: "INTERNAL_SERVER_ERROR", message: "Internal server error"}
	}
}

// payError maps an operation's answered error (Stripe-shaped) to tRPC's
// codes, keeping its message and parameter, which are written for the
// caller.
func payError(pe *pay.Error) *trpcError {
	code := "BAD_REQUEST"
	switch pe.Status {
	case http.StatusNotFound:
		code = "NOT_FOUND"
	case http.StatusConflict:
		code = "CONFLICT"
	case http.StatusTooManyRequests:
		code = "TOO_MANY_REQUESTS"
	case http.StatusUnauthorized, http.StatusForbidden:
		code = "FORBIDDEN"
	}
	if pe.Status >= 500 {
		return &trpcError{code: "INTERNAL_SERVER_ERROR", message: "Internal server error"}
	}
	return &trpcError{code: code, message: pe.Message, field: pe.Param}
}

// Text is the error's message, for pages.
func (e *trpcError) Text() string { return e.message }
