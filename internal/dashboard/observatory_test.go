package dashboard_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/pay"
)

// TestSecurityHeadersOverTLS checks, over TLS, what a Mozilla
// Observatory-style scan scores the dashboard's pages, its API and the
// public reference on: HSTS of six months or more, a CSP without
// 'unsafe-inline' or 'unsafe-eval' that denies by default and forbids
// framing, base and object URLs, X-Content-Type-Options, X-Frame-Options,
// a strict Referrer-Policy, Cross-Origin-Resource-Policy, no Server banner
// and no cache of signed-in pages. (The session cookie's Secure, HttpOnly,
// SameSite and __Host- prefix over https: TestSecureCookies.)
func TestSecurityHeadersOverTLS(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	ts := httptest.NewTLSServer(srv.API)
	t.Cleanup(ts.Close)
	cookie := srv.DashboardSession(t, "ada@example.com", pay.RoleAdmin)
	for _, path := range []string{"/dashboard/signin", "/dashboard/", "/dashboard/payments", "/dashboard/developers",
		"/api/trpc/session.get", "/docs", "/dashboard/no-such-page"} {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
		req.AddCookie(&http.Cookie{Name: "calmony_session", Value: cookie})
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		checks := []struct {
			ok   bool
			what string
		}{
			{strings.HasPrefix(h.Get("Strict-Transport-Security"), "max-age=63072000"), "HSTS of two years"},
			{csp != "" && !strings.Contains(csp, "unsafe-inline") && !strings.Contains(csp, "unsafe-eval"), "a CSP without unsafe-*"},
			{strings.Contains(csp, "default-src 'none'"), "CSP default-src 'none'"},
			{strings.Contains(csp, "frame-ancestors 'none'"), "CSP frame-ancestors 'none'"},
			{!strings.Contains(csp, "script-src") || strings.Contains(csp, "script-src 'self'") && !strings.Contains(csp, "*"), "scripts from the origin only"},
			{h.Get("X-Content-Type-Options") == "nosniff", "nosniff"},
			{h.Get("X-Frame-Options") == "DENY", "X-Frame-Options DENY"},
			{h.Get("Referrer-Policy") == "strict-origin-when-cross-origin" || h.Get("Referrer-Policy") == "no-referrer", "a strict Referrer-Policy"},
			{h.Get("Cross-Origin-Resource-Policy") == "same-origin", "CORP same-origin"},
			{h.Get("Server") == "" && h.Get("X-Powered-By") == "", "no banner"},
			{path == "/docs" || strings.Contains(h.Get("Cache-Control"), "no-store"), "no-store for signed-in answers"},
		}
		if strings.HasPrefix(path, "/dashboard/") {
			checks = append(checks, struct {
				ok   bool
				what string
			}{strings.Contains(csp, "base-uri 'none'") && strings.Contains(csp, "form-action 'self'"), "CSP base-uri and form-action"})
		}
		for _, c := range checks {
			if !c.ok {
				t.Errorf("GET %s (%d): want %s; headers %v", path, resp.StatusCode, c.what, h)
			}
		}
	}
}
