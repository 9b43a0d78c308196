package middleware

import "net/http"

// Values of the security headers. The first five are SEC-12's and are sent
// verbatim on every response.
const (
	hstsValue               = "max-age=63072000; includeSubDomains; preload"
	frameOptionsValue       = "DENY"
	contentTypeOptionsValue = "nosniff"
	referrerPolicyValue     = "strict-origin-when-cross-origin"
	permissionsPolicyValue  = "camera=(), microphone=(), geolocation=()"

	// Defaults for API responses; a handler may replace them.
	apiCSPValue          = "default-src 'none'; frame-ancestors 'none'"
	apiCORPValue         = "same-origin"
	apiCacheControlValue = "no-store"
)

// SecurityHeaders sets the security headers on every response that passes
// through it, including errors written with http.Error, ServeMux's 404 and
// 405 replies, redirects and the 500 written by [Recover] (which must
// therefore run inside SecurityHeaders).
//
// Mandatory headers (SEC-12). These are set before the handler runs and set
// again just before the header is written, so a handler can neither change
// nor remove them:
//
//	Strict-Transport-Security: max-age=63072000; includeSubDomains; preload
//	X-Frame-Options: DENY
//	X-Content-Type-Options: nosniff
//	Referrer-Policy: strict-origin-when-cross-origin
//	Permissions-Policy: camera=(), microphone=(), geolocation=()
//
// Overridable defaults, suited to the JSON API. They are set before the
// handler runs; a handler that needs another value (an HTML page such as
// hosted checkout or the dashboard setting its own Content-Security-Policy)
// calls w.Header().Set before writing the response and its value is sent.
// A handler that deletes one of them gets the default back:
//
//	Content-Security-Policy: default-src 'none'; frame-ancestors 'none'
//	Cross-Origin-Resource-Policy: same-origin
//	Cache-Control: no-store (ASVS 14.3.2)
//
// Server and X-Powered-By are removed just before the header is written,
// whoever set them (for example a reverse proxy copying upstream headers),
// so no version banner ever leaves the server. net/http sends no Server
// header of its own.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		setMandatoryHeaders(h)
		h.Set("Content-Security-Policy", apiCSPValue)
		h.Set("Cross-Origin-Resource-Policy", apiCORPValue)
		h.Set("Cache-Control", apiCacheControlValue)
		next.ServeHTTP(newResponseWriter(w, enforceSecurityHeaders), r)
	})
}

// setMandatoryHeaders sets the five SEC-12 headers, replacing any value.
func setMandatoryHeaders(h http.Header) {
	h.Set("Strict-Transport-Security", hstsValue)
	h.Set("X-Frame-Options", frameOptionsValue)
	h.Set("X-Content-Type-Options", contentTypeOptionsValue)
	h.Set("Referrer-Policy", referrerPolicyValue)
	h.Set("Permissions-Policy", permissionsPolicyValue)
}

// enforceSecurityHeaders runs just before the header is written: it restores
// the mandatory headers, puts back any default a handler deleted and removes
// banners.
func enforceSecurityHeaders(h http.Header) {
	setMandatoryHeaders(h)
	setIfAbsent(h, "Content-Security-Policy", apiCSPValue)
	setIfAbsent(h, "Cross-Origin-Resource-Policy", apiCORPValue)
	setIfAbsent(h, "Cache-Control", apiCacheControlValue)
	h.Del("Server")
	h.Del("X-Powered-By")
}

// setIfAbsent sets key to value unless the header already has a value.
func setIfAbsent(h http.Header, key, value string) {
	if h.Get(key) == "" {
		h.Set(key, value)
	}
}
