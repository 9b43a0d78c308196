// Package middleware holds the HTTP middleware shared by every Calmony Pay
// route: request IDs, access logging, panic recovery, security headers, body
// limits and the CORS/CSRF policies of the /v1 and /api/trpc surfaces.
//
// Every middleware has the shape func(http.Handler) http.Handler and is
// composed with [Chain], first listed = outermost. The order matters:
//
//	h := middleware.Chain(mux,
//		middleware.RequestID(nil),    // outermost: every layer and every response sees the ID
//		middleware.AccessLog(logger), // sees the final status, including Recover's 500
//		middleware.SecurityHeaders,   // outside Recover, so a recovered panic carries the headers
//		middleware.Recover(logger),
//		middleware.MaxBody(1<<20),
//	)
//
// The /v1 sub-tree adds its CORS layers around authentication:
//
//	cors := middleware.V1CORS{UnionAllowFunc: ..., ProjectAllowFunc: ...}
//	v1 := middleware.Chain(v1mux, cors.Preflight, authenticate, rateLimit, cors.Actual)
//
// and /api/trpc is wrapped by the handler returned from [TRPC].
//
// The package imports only the standard library.
package middleware
