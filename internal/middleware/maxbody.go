package middleware

import (
	"fmt"
	"net/http"
)

// MaxBody returns middleware that limits request bodies to n bytes with
// http.MaxBytesReader. Reading past the limit fails with an
// *http.MaxBytesError, which handlers should map to 413, and makes the
// server close the connection after the response.
//
// The request is shallow-copied rather than modified, as http.Handler asks.
// MaxBody panics if n is not positive: that is a configuration bug.
func MaxBody(n int64) func(http.Handler) http.Handler {
	if n <= 0 {
		panic(fmt.Sprintf("middleware: MaxBody: limit must be positive, got %d", n))
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body != nil && r.Body != http.NoBody {
				r = r.WithContext(r.Context()) // shallow copy
				r.Body = http.MaxBytesReader(w, r.Body, n)
			}
			next.ServeHTTP(w, r)
		})
	}
}
