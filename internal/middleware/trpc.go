package middleware

import (
	"fmt"
	"net/http"
)

// CORS response values for /api/trpc.
const (
	trpcAllowMethods = "GET, POST"
	trpcAllowHeaders = "Content-Type, trpc-accept, X-CSRF-Token"
)

// TRPC returns the CORS and cross-site request protection of the dashboard
// API at /api/trpc, which is authenticated by session cookie.
//
// appOrigin is the dashboard's own origin (CALMONY_APP_ORIGIN); it is
// normalised with [ParseOrigin] and TRPC fails if it is invalid. Empty, no
// origin is trusted: every cross-origin request gets no CORS grant and an
// unsafe one is refused.
//
//   - Only a request whose Origin header equals the app origin exactly gets
//     Access-Control-Allow-Origin (that origin) and
//     Access-Control-Allow-Credentials: true. Every response carries
//     Vary: Origin.
//   - Preflights are answered with 204 and never reach the next handler.
//     From the app origin they allow methods GET, POST and headers
//     Content-Type, trpc-accept, X-CSRF-Token (max age 600 s); from any other
//     origin they carry no CORS grant.
//   - Other requests pass through http.CrossOriginProtection with the app
//     origin trusted: a cross-site or same-site browser request with an
//     unsafe method (anything but GET, HEAD, OPTIONS) from another origin is
//     refused with 403 and a tRPC-shaped JSON error. GET, HEAD and OPTIONS are
//     never refused, so queries must not change state.
//
// Routes that must accept cross-site POSTs, such as the Cardstream callback,
// are mounted outside this middleware and authenticated by signature.
func TRPC(appOrigin string) (func(http.Handler) http.Handler, error) {
	cop := http.NewCrossOriginProtection()
	origin := ""
	if appOrigin != "" {
		var err error
		if origin, err = ParseOrigin(appOrigin); err != nil {
			return nil, fmt.Errorf("middleware: TRPC app origin: %w", err)
		}
		if err := cop.AddTrustedOrigin(origin); err != nil {
			return nil, fmt.Errorf("middleware: TRPC app origin: %w", err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(denyCrossOrigin))
	t := trpcPolicy{appOrigin: origin, cop: cop}
	return t.middleware, nil
}

// trpcPolicy holds the configuration of the middleware returned by [TRPC].
type trpcPolicy struct {
	appOrigin string
	cop       *http.CrossOriginProtection
}

// middleware applies the policy in front of next.
func (t trpcPolicy) middleware(next http.Handler) http.Handler {
	protected := t.cop.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isPreflight(r) {
			t.preflight(w, r)
			return
		}
		h := w.Header()
		addVary(h, "Origin")
		if t.fromApp(r) {
			h.Set("Access-Control-Allow-Origin", t.appOrigin)
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		protected.ServeHTTP(w, r)
	})
}

// preflight answers a preflight request with 204.
func (t trpcPolicy) preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	addVary(h, "Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers")
	if t.fromApp(r) {
		h.Set("Access-Control-Allow-Origin", t.appOrigin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("Access-Control-Allow-Methods", trpcAllowMethods)
		h.Set("Access-Control-Allow-Headers", trpcAllowHeaders)
		h.Set("Access-Control-Max-Age", preflightMaxAge)
	}
	w.WriteHeader(http.StatusNoContent)
}

// fromApp reports whether r carries exactly one Origin header equal to the
// app origin.
func (t trpcPolicy) fromApp(r *http.Request) bool {
	values := r.Header.Values("Origin")
	return t.appOrigin != "" && len(values) == 1 && values[0] == t.appOrigin
}

// trpcError is the tRPC v11 error envelope, without a transformer.
type trpcError struct {
	Error trpcErrorDetail `json:"error"`
}

// trpcErrorDetail is the object inside [trpcError].
type trpcErrorDetail struct {
	Message string        `json:"message"`
	Code    int           `json:"code"` // JSON-RPC code
	Data    trpcErrorData `json:"data"`
}

// trpcErrorData is the data object of a tRPC error.
type trpcErrorData struct {
	Code       string `json:"code"`
	HTTPStatus int    `json:"httpStatus"`
}

// trpcForbiddenCode is tRPC's JSON-RPC code for FORBIDDEN.
const trpcForbiddenCode = -32003

// denyCrossOrigin answers a request refused by http.CrossOriginProtection.
func denyCrossOrigin(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusForbidden, trpcError{Error: trpcErrorDetail{
		Message: "Cross-origin request refused.",
		Code:    trpcForbiddenCode,
		Data:    trpcErrorData{Code: "FORBIDDEN", HTTPStatus: http.StatusForbidden},
	}})
}
