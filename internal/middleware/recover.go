package middleware

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
)

// Recover returns middleware that turns a panic in a later handler into a
// 500 response with Stripe's error envelope:
//
//	{"error":{"type":"api_error","message":"An unexpected error occurred. Request ID: req_…"}}
//
// The panic value and stack are logged at error level with the request ID;
// they never reach the client (ASVS 16.5.1).
//
// If nothing has been written yet, the response header is first reset to
// what it was when Recover was entered, so headers set by the failed
// handler (Content-Length, Set-Cookie, a page's CSP, ...) are dropped while
// those of outer middleware (Request-Id, security headers) are kept. Headers
// set by middleware inside Recover, such as [V1CORS.Actual]'s CORS headers,
// are dropped too.
//
// If the response has already started, a correct status can no longer be
// sent: Recover logs the panic and aborts the response with
// http.ErrAbortHandler, so the client sees a broken connection rather than
// a truncated body that looks complete. A panic with http.ErrAbortHandler
// itself is passed on untouched and not logged, as net/http does.
//
// Recover panics if logger is nil. Place it inside [RequestID],
// [AccessLog] and [SecurityHeaders].
func Recover(logger *slog.Logger) func(http.Handler) http.Handler {
	mustHaveLogger(logger, "Recover")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			snapshot := snapshotHeader(w.Header())
			rw := newResponseWriter(w, nil)
			defer func() {
				if v := recover(); v != nil {
					handlePanic(logger, w, r, rw.wroteHeader, snapshot, v)
				}
			}()
			next.ServeHTTP(rw, r)
		})
	}
}

// handlePanic logs the panic value v and answers the request, or aborts it
// if the response has already started.
func handlePanic(logger *slog.Logger, w http.ResponseWriter, r *http.Request, started bool, snapshot headerSnapshot, v any) {
	if v == http.ErrAbortHandler { // compared by identity, as net/http does
		panic(v)
	}
	id := RequestIDFrom(r.Context())
	logger.LogAttrs(r.Context(), slog.LevelError, "panic recovered",
		slog.String("request_id", id),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("panic", fmt.Sprint(v)),
		slog.String("stack", string(debug.Stack())),
		slog.Bool("response_started", started),
	)
	if started {
		panic(http.ErrAbortHandler)
	}
	snapshot.restore(w.Header())
	writeJSON(w, http.StatusInternalServerError, internalErrorBody(id))
}

// headerSnapshot is a response header as Recover found it: its names and
// their value slices, not copies of the values. It is taken for every
// request and used only after a panic, so it is a slice (one allocation)
// rather than a cloned map. Handlers replace a name's values (Set) or append
// to them (Add), neither of which changes the values a snapshot holds.
type headerSnapshot []headerEntry

type headerEntry struct {
	name   string
	values []string
}

func snapshotHeader(h http.Header) headerSnapshot {
	s := make(headerSnapshot, 0, len(h))
	for name, values := range h {
		s = append(s, headerEntry{name, values[:len(values):len(values)]})
	}
	return s
}

// restore makes h hold exactly the snapshot's names and values.
func (s headerSnapshot) restore(h http.Header) {
	clear(h)
	for _, e := range s {
		h[e.name] = e.values
	}
}

// stripeError is Stripe's error envelope, reduced to the fields used here.
type stripeError struct {
	Error stripeErrorDetail `json:"error"`
}

// stripeErrorDetail is the object inside [stripeError].
type stripeErrorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// internalErrorBody returns the generic envelope for an unexpected error.
func internalErrorBody(requestID string) stripeError {
	msg := "An unexpected error occurred."
	if requestID != "" {
		msg += " Request ID: " + requestID
	}
	return stripeError{Error: stripeErrorDetail{Type: "api_error", Message: msg}}
}

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only fixed types of strings and numbers are passed in, so this
		// cannot happen; fail safe rather than panic inside Recover.
		http.Error(w, http.StatusText(status), status)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// mustHaveLogger panics if logger is nil: a missing logger is a wiring bug
// that would otherwise silently lose panic reports.
func mustHaveLogger(logger *slog.Logger, name string) {
	if logger == nil {
		panic("middleware: " + name + ": nil logger")
	}
}
