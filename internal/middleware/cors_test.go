package middleware

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Origins registered by the two test projects.
const (
	shopOrigin  = "https://shop.example.com"
	otherOrigin = "https://other.example.org"
)

// projectKey is the context key under which fakeAuth stores the project.
type projectKey struct{}

// testV1CORS returns a policy where project "A" allows shopOrigin and
// project "B" allows otherOrigin; the union allows both. The functions fail
// the test if they are handed an origin that is not in normal form.
func testV1CORS(t *testing.T) V1CORS {
	allow := map[string]map[string]bool{
		"A": {shopOrigin: true},
		"B": {otherOrigin: true},
	}
	checkNormal := func(origin string) {
		if norm, err := ParseOrigin(origin); err != nil || norm != origin {
			t.Errorf("policy func got origin %q, not in normal form", origin)
		}
	}
	return V1CORS{
		UnionAllowFunc: func(_ context.Context, origin string) bool {
			checkNormal(origin)
			return allow["A"][origin] || allow["B"][origin]
		},
		ProjectAllowFunc: func(r *http.Request, origin string) bool {
			checkNormal(origin)
			project, _ := r.Context().Value(projectKey{}).(string)
			return allow[project][origin]
		},
	}
}

// fakeAuth stands in for key authentication: "Bearer sk_test_A" belongs to
// project A, "Bearer sk_test_B" to project B, anything else gets 401.
func fakeAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		project, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer sk_test_")
		if !ok || (project != "A" && project != "B") {
			writeJSON(w, http.StatusUnauthorized, stripeError{Error: stripeErrorDetail{
				Type: "invalid_request_error", Message: "Invalid API Key provided.",
			}})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), projectKey{}, project)))
	})
}

// newV1Handler returns the /v1 stack: Preflight, fakeAuth, Actual, handler.
func newV1Handler(t *testing.T) http.Handler {
	cors := testV1CORS(t)
	return Chain(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"object":"list"}`))
	}), cors.Preflight, fakeAuth, cors.Actual)
}

// hostileOrigins are Origin header values that must never be granted access
// when only shopOrigin is registered.
var hostileOrigins = []string{
	"null",
	"*",
	"",
	"https://shop.example.com.evil.net",
	"https://evilshop.example.com",
	"https://evil.net/https://shop.example.com",
	"https://shop.example.com.",
	"http://shop.example.com",
	"https://shop.example.com:8443",
	"https://shop.example.com:443",
	"https://SHOP.EXAMPLE.COM",
	"HTTPS://shop.example.com",
	"https://user@shop.example.com",
	"https://shop.example.com@evil.net",
	"https://shop.example.com/",
	"https://shop.example.com/path",
	"https://shop.example.com?x",
	"https://shöp.example.com",
	"https://ѕhop.example.com", // Cyrillic dze
	"https://xn--shp-sna.example.com",
	"https://shop.example.com, https://evil.net",
	"https://shop.example.com\t",
}

// preflightRequest returns a preflight from origin for POST /v1/customers.
func preflightRequest(origin string) *http.Request {
	r := httptest.NewRequest(http.MethodOptions, "/v1/customers", nil)
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	r.Header.Set("Access-Control-Request-Method", http.MethodPost)
	r.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
	return r
}

// varyTokensOf returns the Vary tokens of h in order.
func varyTokensOf(h http.Header) []string {
	var tokens []string
	for _, v := range h.Values("Vary") {
		for t := range strings.SplitSeq(v, ",") {
			tokens = append(tokens, strings.TrimSpace(t))
		}
	}
	return tokens
}

// checkNoCredentials fails if h allows credentials or any origin by wildcard.
func checkNoCredentials(tb testing.TB, h http.Header) {
	tb.Helper()
	if v := h.Values("Access-Control-Allow-Credentials"); len(v) != 0 {
		tb.Errorf("Access-Control-Allow-Credentials = %q, want none on /v1", v)
	}
	if v := h.Get("Access-Control-Allow-Origin"); v == "*" || v == "null" {
		tb.Errorf("Access-Control-Allow-Origin = %q", v)
	}
}

func TestV1PreflightAllowed(t *testing.T) {
	t.Parallel()
	cors := testV1CORS(t)
	h := cors.Preflight(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("preflight reached the next handler")
	}))
	for _, origin := range []string{shopOrigin, otherOrigin} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, preflightRequest(origin))

		if rec.Code != http.StatusNoContent {
			t.Errorf("status = %d, want 204", rec.Code)
		}
		want := map[string][]string{
			"Access-Control-Allow-Origin":  {origin},
			"Access-Control-Allow-Methods": {"GET, POST, DELETE, PATCH, OPTIONS"},
			"Access-Control-Allow-Headers": {"Authorization, Content-Type, Idempotency-Key, Stripe-Version, Stripe-Account, X-Stripe-Client-User-Agent"},
			"Access-Control-Max-Age":       {"600"},
			"Vary":                         {"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"},
		}
		if diff := cmp.Diff(want, map[string][]string(rec.Header())); diff != "" {
			t.Errorf("preflight from %s: headers mismatch (-want +got):\n%s", origin, diff)
		}
		if rec.Body.Len() != 0 {
			t.Errorf("preflight body = %q, want empty", rec.Body)
		}
	}
}

func TestV1PreflightHostileOrigins(t *testing.T) {
	t.Parallel()
	cors := testV1CORS(t)
	h := cors.Preflight(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("preflight reached the next handler")
	}))
	for _, origin := range hostileOrigins {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, preflightRequest(origin))

		if rec.Code != http.StatusNoContent {
			t.Errorf("Origin %q: status = %d, want 204", origin, rec.Code)
		}
		want := map[string][]string{
			"Vary": {"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"},
		}
		if diff := cmp.Diff(want, map[string][]string(rec.Header())); diff != "" {
			t.Errorf("Origin %q: headers mismatch (-want +got):\n%s", origin, diff)
		}
	}
}

func TestV1PreflightDuplicateOriginHeaders(t *testing.T) {
	t.Parallel()
	cors := testV1CORS(t)
	r := preflightRequest(shopOrigin)
	r.Header.Add("Origin", shopOrigin)
	rec := httptest.NewRecorder()
	cors.Preflight(http.NotFoundHandler()).ServeHTTP(rec, r)
	if v := rec.Header().Get("Access-Control-Allow-Origin"); v != "" {
		t.Errorf("Access-Control-Allow-Origin = %q with two Origin headers, want none", v)
	}
}

func TestV1PreflightNilFuncsDenyAll(t *testing.T) {
	t.Parallel()
	var cors V1CORS
	for _, mw := range []func(http.Handler) http.Handler{cors.Preflight, cors.Actual} {
		rec := httptest.NewRecorder()
		mw(http.NotFoundHandler()).ServeHTTP(rec, preflightRequest(shopOrigin))
		if v := rec.Header().Get("Access-Control-Allow-Origin"); v != "" {
			t.Errorf("Access-Control-Allow-Origin = %q with nil policy funcs, want none", v)
		}
	}
}

func TestV1OptionsWithoutPreflightHeaderPassesThrough(t *testing.T) {
	t.Parallel()
	cors := testV1CORS(t)
	called := false
	h := cors.Preflight(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	r := httptest.NewRequest(http.MethodOptions, "/v1/customers", nil)
	r.Header.Set("Origin", shopOrigin)
	h.ServeHTTP(httptest.NewRecorder(), r)
	if !called {
		t.Error("plain OPTIONS did not reach the next handler")
	}
}

func TestV1Chain(t *testing.T) {
	t.Parallel()
	const expose = "Request-Id, Idempotency-Key, Idempotent-Replayed, Stripe-Should-Retry, Retry-After"
	for _, tt := range []struct {
		name, origin, key string
		wantStatus        int
		wantACAO          string
	}{
		{"own project's origin", shopOrigin, "A", http.StatusOK, shopOrigin},
		{"other project's origin", otherOrigin, "A", http.StatusOK, ""},
		{"origin of project B with key B", otherOrigin, "B", http.StatusOK, otherOrigin},
		{"unauthenticated, allowed origin", shopOrigin, "", http.StatusUnauthorized, ""},
		{"bad key", shopOrigin, "Z", http.StatusUnauthorized, ""},
		{"no Origin (server to server)", "", "A", http.StatusOK, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/v1/customers", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.key != "" {
				r.Header.Set("Authorization", "Bearer sk_test_"+tt.key)
			}
			rec := httptest.NewRecorder()

			newV1Handler(t).ServeHTTP(rec, r)

			h := rec.Header()
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := h.Get("Access-Control-Allow-Origin"); got != tt.wantACAO {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantACAO)
			}
			wantExpose := ""
			if tt.wantACAO != "" {
				wantExpose = expose
			}
			if got := h.Get("Access-Control-Expose-Headers"); got != wantExpose {
				t.Errorf("Access-Control-Expose-Headers = %q, want %q", got, wantExpose)
			}
			if diff := cmp.Diff([]string{"Origin"}, varyTokensOf(h)); diff != "" {
				t.Errorf("Vary mismatch (-want +got):\n%s", diff)
			}
			checkNoCredentials(t, h)
		})
	}
}

func TestV1ActualHostileOrigins(t *testing.T) {
	t.Parallel()
	for _, origin := range hostileOrigins {
		r := httptest.NewRequest(http.MethodPost, "/v1/customers", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Authorization", "Bearer sk_test_A")
		rec := httptest.NewRecorder()

		newV1Handler(t).ServeHTTP(rec, r)

		if rec.Code != http.StatusOK {
			t.Errorf("Origin %q: status = %d, want 200 (CORS is not access control)", origin, rec.Code)
		}
		if v := rec.Header().Values("Access-Control-Allow-Origin"); len(v) != 0 {
			t.Errorf("Origin %q: Access-Control-Allow-Origin = %q, want none", origin, v)
		}
		checkNoCredentials(t, rec.Header())
	}
}

func TestV1PreflightSkipsAuthentication(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	newV1Handler(t).ServeHTTP(rec, preflightRequest(shopOrigin))
	if rec.Code != http.StatusNoContent || rec.Header().Get("Access-Control-Allow-Origin") != shopOrigin {
		t.Errorf("preflight = %d with ACAO %q, want 204 with %q", rec.Code, rec.Header().Get("Access-Control-Allow-Origin"), shopOrigin)
	}
	checkNoCredentials(t, rec.Header())
}

func TestAddVary(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		existing []string
		add      []string
		want     []string
	}{
		{"empty", nil, []string{"Origin"}, []string{"Origin"}},
		{"several at once", nil, []string{"Origin", "Accept"}, []string{"Origin, Accept"}},
		{"already present", []string{"Accept-Encoding, origin"}, []string{"Origin"}, []string{"Accept-Encoding, origin"}},
		{"partly present", []string{"Origin"}, []string{"Origin", "Access-Control-Request-Method"}, []string{"Origin", "Access-Control-Request-Method"}},
		{"star", []string{"*"}, []string{"Origin"}, []string{"*"}},
	} {
		h := http.Header{}
		for _, v := range tt.existing {
			h.Add("Vary", v)
		}
		addVary(h, tt.add...)
		if diff := cmp.Diff(tt.want, h.Values("Vary")); diff != "" {
			t.Errorf("%s: Vary mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}
