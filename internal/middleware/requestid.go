package middleware

import (
	"context"
	"crypto/rand"
	"net/http"
)

const (
	// requestIDHeader is the response header carrying the request ID, as
	// Stripe sends it; the SDKs copy it into their errors and logs.
	requestIDHeader = "Request-Id"

	// requestIDPrefix and requestIDLength give IDs like
	// req_3fK9aZ0pQ7xLm2Vb8cN1dR4t: 24 base62 characters carry about 142
	// bits, above ASVS 11.5.1's 128.
	requestIDPrefix = "req_"
	requestIDLength = 24

	base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// requestIDKey is the context key of the request ID.
type requestIDKey struct{}

// RequestID gives every request a new ID: it stores the ID in the request's
// context (read it with [RequestIDFrom]) and sets the Request-Id response
// header before calling the next handler, so every response carries it.
//
// newID generates the IDs; nil means a random "req_" followed by 24 base62
// characters from crypto/rand. Tests may inject a deterministic generator.
//
// An incoming Request-Id or X-Request-Id header is ignored: a client-chosen
// ID could collide with another request's or inject text into the logs.
// Put RequestID outermost so that every other middleware and every response
// sees the ID.
func RequestID(newID func() string) func(http.Handler) http.Handler {
	if newID == nil {
		newID = newRequestID
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := newID()
			w.Header().Set(requestIDHeader, id)
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
		})
	}
}

// RequestIDFrom returns the request ID stored in ctx by [RequestID], or ""
// if there is none.
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// newRequestID returns "req_" followed by 24 uniformly random base62
// characters.
func newRequestID() string {
	id := make([]byte, 0, len(requestIDPrefix)+requestIDLength)
	id = append(id, requestIDPrefix...)
	var buf [32]byte
	for len(id) < cap(id) {
		rand.Read(buf[:]) // never fails: crypto/rand crashes the program instead (Go ≥ 1.24)
		for _, b := range buf {
			// 248 = 4×62: dropping larger bytes keeps b%62 uniform.
			if b >= 248 || len(id) == cap(id) {
				continue
			}
			id = append(id, base62Alphabet[b%62])
		}
	}
	return string(id)
}
