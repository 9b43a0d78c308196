package middleware

import "net/http"

// Chain wraps h in the middleware m. The first middleware listed is the
// outermost one: Chain(h, a, b) serves a request as a(b(h)).
func Chain(h http.Handler, m ...func(http.Handler) http.Handler) http.Handler {
	for i := len(m) - 1; i >= 0; i-- {
		h = m[i](h)
	}
	return h
}
