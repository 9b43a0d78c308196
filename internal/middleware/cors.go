package middleware

import (
	"context"
	"net/http"
	"strings"
)

// CORS response values for /v1.
const (
	v1AllowMethods  = "GET, POST, DELETE, PATCH, OPTIONS"
	v1AllowHeaders  = "Authorization, Content-Type, Idempotency-Key, Stripe-Version, Stripe-Account, X-Stripe-Client-User-Agent"
	v1ExposeHeaders = "Request-Id, Idempotency-Key, Idempotent-Replayed, Stripe-Should-Retry, Retry-After"
	preflightMaxAge = "600"
)

// V1CORS is the CORS policy of the Stripe-style /v1 API, where each project
// (merchant account) registers the browser origins allowed to call the API
// with its keys.
//
// It is written on the standard library rather than github.com/rs/cors
// because the two halves of a CORS exchange are decided on different data:
// a preflight carries no Authorization header, so it can only be decided
// from the union of all projects' allowlists, while the actual request must
// be checked against the allowlist of the project that owns the calling
// key, which is known only after authentication. rs/cors makes one
// decision per request from one callback and runs both halves in one
// middleware, so it cannot sit before authentication for preflights and
// after it for actual requests without stretching its hooks.
//
// Use Preflight before authentication and rate limiting, and Actual after
// authentication:
//
//	v1 := middleware.Chain(v1mux, cors.Preflight, authenticate, rateLimit, cors.Actual)
//
// Allowed origins are echoed exactly; the policy never sends "*", "null" or
// Access-Control-Allow-Credentials (the API authenticates with keys, not
// cookies). Responses produced before Actual runs, such as authentication's
// 401, carry Vary: Origin (added by Preflight) but no
// Access-Control-Allow-Origin, so a browser script sees them only as a
// network error; server-side clients are not affected.
//
// CORS is not access control: a disallowed origin only loses the CORS
// headers, and the request is still served and authenticated as usual.
type V1CORS struct {
	// UnionAllowFunc reports whether origin, in normal form (see
	// [ParseOrigin]), is registered by at least one project. It decides
	// preflights. nil allows no origin. Lookup errors should be reported
	// as false (fail closed).
	UnionAllowFunc func(ctx context.Context, origin string) bool

	// ProjectAllowFunc reports whether origin, in normal form, is
	// registered by the project of the key that authenticated r. It
	// decides actual requests. nil allows no origin.
	ProjectAllowFunc func(r *http.Request, origin string) bool
}

// Preflight answers every CORS preflight (an OPTIONS request with an
// Access-Control-Request-Method header) itself with 204 No Content; the
// next handler never sees it, so preflights are never authenticated or
// rate limited.
//
// If the Origin is in normal form and UnionAllowFunc allows it, the answer
// allows it with Access-Control-Allow-Origin (the origin echoed exactly),
// the /v1 methods and request headers, and a 600-second max age; otherwise
// it carries no CORS grant. It always carries
// Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers.
//
// Other requests get Vary: Origin, so responses that never reach
// [V1CORS.Actual] (a 401 from authentication, a 429) are not cached across
// origins, and are passed to next.
func (c V1CORS) Preflight(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isPreflight(r) {
			addVary(w.Header(), "Origin")
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		addVary(h, "Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers")
		if origin, ok := canonicalOrigin(r); ok && c.UnionAllowFunc != nil && c.UnionAllowFunc(r.Context(), origin) {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", v1AllowMethods)
			h.Set("Access-Control-Allow-Headers", v1AllowHeaders)
			h.Set("Access-Control-Max-Age", preflightMaxAge)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// Actual adds the CORS headers of an actual (non-preflight) request. It must
// run after authentication, because ProjectAllowFunc checks the origin
// against the allowlist of the calling key's project.
//
// It always adds Vary: Origin. If the request's Origin is in normal form and
// ProjectAllowFunc allows it, it also sets Access-Control-Allow-Origin to
// that origin and exposes Request-Id, Idempotency-Key, Idempotent-Replayed,
// Stripe-Should-Retry and Retry-After to the script.
func (c V1CORS) Actual(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		addVary(h, "Origin")
		if origin, ok := canonicalOrigin(r); ok && c.ProjectAllowFunc != nil && c.ProjectAllowFunc(r, origin) {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", v1ExposeHeaders)
		}
		next.ServeHTTP(w, r)
	})
}

// isPreflight reports whether r is a CORS preflight request.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
}

// canonicalOrigin returns the request's Origin header if there is exactly
// one and it is already in the normal form of [ParseOrigin], as browsers
// send it. Anything else ("null", a trailing slash, upper case, several
// Origin headers) is reported as not ok and never echoed.
func canonicalOrigin(r *http.Request) (string, bool) {
	values := r.Header.Values("Origin")
	if len(values) != 1 {
		return "", false
	}
	norm, err := ParseOrigin(values[0])
	if err != nil || norm != values[0] {
		return "", false
	}
	return norm, true
}

// addVary adds each token to the Vary header unless it is already listed
// (case-insensitively) or Vary is "*". Missing tokens are added as one
// comma-separated value.
func addVary(h http.Header, tokens ...string) {
	if len(h["Vary"]) == 0 { // the usual case: nothing to merge with
		h["Vary"] = []string{strings.Join(tokens, ", ")}
		return
	}
	present := varyTokens(h)
	if present["*"] {
		return
	}
	var missing []string
	for _, t := range tokens {
		if !present[strings.ToLower(t)] {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		h.Add("Vary", strings.Join(missing, ", "))
	}
}

// varyTokens returns the lowercased tokens listed in h's Vary headers.
func varyTokens(h http.Header) map[string]bool {
	tokens := make(map[string]bool)
	for _, v := range h.Values("Vary") {
		for t := range strings.SplitSeq(v, ",") {
			tokens[strings.ToLower(strings.TrimSpace(t))] = true
		}
	}
	return tokens
}
