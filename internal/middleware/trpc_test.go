package middleware

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// appOrigin is the dashboard origin used by the tRPC tests; the API host is
// api.calmonypay.com, so the two are same-site but cross-origin.
const appOrigin = "https://app.calmonypay.com"

// newTRPCHandler wraps a handler that records whether it ran in TRPC.
func newTRPCHandler(t *testing.T, called *bool) http.Handler {
	t.Helper()
	mw, err := TRPC(appOrigin)
	if err != nil {
		t.Fatalf("TRPC(%q): %v", appOrigin, err)
	}
	return mw(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		*called = true
		_, _ = w.Write([]byte(`{"result":{"data":null}}`))
	}))
}

// trpcRequest builds a request to the tRPC endpoint as a browser would send
// it. Empty origin or fetchSite leave the header out.
func trpcRequest(method, origin, fetchSite string) *http.Request {
	r := httptest.NewRequest(method, "https://api.calmonypay.com/api/trpc/account.update", nil)
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	if fetchSite != "" {
		r.Header.Set("Sec-Fetch-Site", fetchSite)
	}
	return r
}

func TestTRPCInvalidAppOrigin(t *testing.T) {
	t.Parallel()
	for _, origin := range []string{"null", "*", "app.calmonypay.com", "https://app.calmonypay.com/"} {
		if _, err := TRPC(origin); !errors.Is(err, ErrInvalidOrigin) {
			t.Errorf("TRPC(%q) error = %v, want ErrInvalidOrigin", origin, err)
		}
	}
}

// TestTRPCNoAppOrigin: with no dashboard origin configured, no origin gets
// a CORS grant and cross-origin writes are refused; same-origin ones pass.
func TestTRPCNoAppOrigin(t *testing.T) {
	t.Parallel()
	mw, err := TRPC("")
	if err != nil {
		t.Fatal(err)
	}
	called := false
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { called = true }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, trpcRequest(http.MethodPost, appOrigin, "same-site"))
	if rec.Code != http.StatusForbidden || called {
		t.Errorf("cross-origin POST: %d (handler ran: %v), want 403", rec.Code, called)
	}
	if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("Access-Control-Allow-Origin = %q, want none", got)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, trpcRequest(http.MethodPost, "", "same-origin"))
	if !called {
		t.Errorf("same-origin POST was refused: %d", rec.Code)
	}
}

func TestTRPCNormalisesAppOrigin(t *testing.T) {
	t.Parallel()
	mw, err := TRPC("HTTPS://App.CalmonyPay.com:443")
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	mw(http.NotFoundHandler()).ServeHTTP(rec, trpcRequest(http.MethodGet, appOrigin, "same-site"))
	if got := rec.Header().Get("Access-Control-Allow-Origin"); got != appOrigin {
		t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, appOrigin)
	}
}

func TestTRPCPreflight(t *testing.T) {
	t.Parallel()
	const vary = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
	for _, tt := range []struct {
		name, origin string
		want         map[string][]string
	}{
		{"app origin", appOrigin, map[string][]string{
			"Access-Control-Allow-Origin":      {appOrigin},
			"Access-Control-Allow-Credentials": {"true"},
			"Access-Control-Allow-Methods":     {"GET, POST"},
			"Access-Control-Allow-Headers":     {"Content-Type, trpc-accept, X-CSRF-Token"},
			"Access-Control-Max-Age":           {"600"},
			"Vary":                             {vary},
		}},
		{"other origin", "https://evil.example", map[string][]string{"Vary": {vary}}},
		{"suffix trick", "https://app.calmonypay.com.evil.net", map[string][]string{"Vary": {vary}}},
		{"null", "null", map[string][]string{"Vary": {vary}}},
		{"no origin", "", map[string][]string{"Vary": {vary}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			called := false
			r := trpcRequest(http.MethodOptions, tt.origin, "same-site")
			r.Header.Set("Access-Control-Request-Method", http.MethodPost)
			r.Header.Set("Access-Control-Request-Headers", "content-type")
			rec := httptest.NewRecorder()

			newTRPCHandler(t, &called).ServeHTTP(rec, r)

			if called {
				t.Error("preflight reached the next handler")
			}
			if rec.Code != http.StatusNoContent {
				t.Errorf("status = %d, want 204", rec.Code)
			}
			if diff := cmp.Diff(tt.want, map[string][]string(rec.Header())); diff != "" {
				t.Errorf("headers mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTRPCCredentialsOnlyForAppOrigin(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		origin   string
		wantACAO string
	}{
		{appOrigin, appOrigin},
		{"https://app.calmonypay.com.evil.net", ""},
		{"https://evilapp.calmonypay.com", ""},
		{"https://evil.calmonypay.com", ""},
		{"http://app.calmonypay.com", ""},
		{"https://app.calmonypay.com:8443", ""},
		{"https://APP.calmonypay.com", ""},
		{"https://app.calmonypay.com/", ""},
		{"https://user@app.calmonypay.com", ""},
		{"https://аpp.calmonypay.com", ""}, // Cyrillic a
		{"null", ""},
		{"*", ""},
		{"", ""},
	} {
		called := false
		rec := httptest.NewRecorder()
		newTRPCHandler(t, &called).ServeHTTP(rec, trpcRequest(http.MethodGet, tt.origin, "cross-site"))

		h := rec.Header()
		wantACAC := ""
		if tt.wantACAO != "" {
			wantACAC = "true"
		}
		if got := h.Get("Access-Control-Allow-Origin"); got != tt.wantACAO {
			t.Errorf("Origin %q: Access-Control-Allow-Origin = %q, want %q", tt.origin, got, tt.wantACAO)
		}
		if got := h.Get("Access-Control-Allow-Credentials"); got != wantACAC {
			t.Errorf("Origin %q: Access-Control-Allow-Credentials = %q, want %q", tt.origin, got, wantACAC)
		}
		if diff := cmp.Diff([]string{"Origin"}, h.Values("Vary")); diff != "" {
			t.Errorf("Origin %q: Vary mismatch (-want +got):\n%s", tt.origin, diff)
		}
		if !called || rec.Code != http.StatusOK {
			t.Errorf("Origin %q: cross-site GET = %d (handler called %t), want 200 served", tt.origin, rec.Code, called)
		}
	}
}

func TestTRPCCrossOriginProtection(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, method, origin, fetchSite string
		wantStatus                      int
	}{
		{"cross-site POST", http.MethodPost, "https://evil.example", "cross-site", http.StatusForbidden},
		{"cross-site POST, no Origin", http.MethodPost, "", "cross-site", http.StatusForbidden},
		{"same-site POST from a sibling", http.MethodPost, "https://evil.calmonypay.com", "same-site", http.StatusForbidden},
		{"cross-site PUT", http.MethodPut, "https://evil.example", "cross-site", http.StatusForbidden},
		{"cross-site PATCH", http.MethodPatch, "https://evil.example", "cross-site", http.StatusForbidden},
		{"cross-site DELETE", http.MethodDelete, "https://evil.example", "cross-site", http.StatusForbidden},
		{"old browser, foreign Origin", http.MethodPost, "https://evil.example", "", http.StatusForbidden},
		{"cross-site POST, suffix trick", http.MethodPost, "https://app.calmonypay.com.evil.net", "cross-site", http.StatusForbidden},
		{"same-origin POST", http.MethodPost, "https://api.calmonypay.com", "same-origin", http.StatusOK},
		{"user-initiated POST", http.MethodPost, "", "none", http.StatusOK},
		{"old browser, same host", http.MethodPost, "https://api.calmonypay.com", "", http.StatusOK},
		{"non-browser POST", http.MethodPost, "", "", http.StatusOK},
		{"app origin POST (trusted)", http.MethodPost, appOrigin, "same-site", http.StatusOK},
		{"cross-site GET", http.MethodGet, "https://evil.example", "cross-site", http.StatusOK},
		{"cross-site HEAD", http.MethodHead, "https://evil.example", "cross-site", http.StatusOK},
		{"cross-site plain OPTIONS", http.MethodOptions, "https://evil.example", "cross-site", http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			called := false
			rec := httptest.NewRecorder()

			newTRPCHandler(t, &called).ServeHTTP(rec, trpcRequest(tt.method, tt.origin, tt.fetchSite))

			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if wantCalled := tt.wantStatus == http.StatusOK; called != wantCalled {
				t.Errorf("handler called = %t, want %t", called, wantCalled)
			}
			if tt.wantStatus == http.StatusForbidden {
				checkForbiddenBody(t, rec)
			}
		})
	}
}

// checkForbiddenBody checks the JSON body of a refused tRPC request.
func checkForbiddenBody(tb testing.TB, rec *httptest.ResponseRecorder) {
	tb.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		tb.Errorf("Content-Type = %q, want application/json; charset=utf-8", ct)
	}
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		tb.Fatalf("body %q: %v", rec.Body, err)
	}
	want := map[string]any{"error": map[string]any{
		"message": "Cross-origin request refused.",
		"code":    float64(-32003),
		"data":    map[string]any{"code": "FORBIDDEN", "httpStatus": float64(403)},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		tb.Errorf("body mismatch (-want +got):\n%s", diff)
	}
}
