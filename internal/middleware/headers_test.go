package middleware

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
)

// pageCSP is a CSP a page handler sets for itself.
const pageCSP = "default-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'"

// requestIDPattern matches IDs made by the default generator.
var requestIDPattern = regexp.MustCompile(`^req_[0-9A-Za-z]{24}$`)

// newTestMux returns a ServeMux with one route per kind of response the
// security headers must survive.
func newTestMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/ok", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	mux.HandleFunc("GET /v1/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/v1/ok", http.StatusFound)
	})
	mux.HandleFunc("GET /v1/error", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "bad request", http.StatusBadRequest)
	})
	mux.HandleFunc("GET /v1/panic", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Set-Cookie", "half=done")
		w.Header().Set("Content-Security-Policy", pageCSP)
		panic("secret panic detail 4242424242424242")
	})
	mux.HandleFunc("GET /v1/empty", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("GET /checkout", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Security-Policy", pageCSP)
		w.Header().Set("Cache-Control", "private, max-age=60")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>Checkout</title>"))
	})
	mux.HandleFunc("GET /v1/tamper", func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Server", "calmony/1.0.23")
		h.Set("X-Powered-By", "Go")
		h.Set("X-Frame-Options", "SAMEORIGIN")
		h.Del("Strict-Transport-Security")
		h.Del("Content-Security-Policy")
		h.Del("Cross-Origin-Resource-Policy")
		h.Del("Cache-Control")
		w.WriteHeader(http.StatusOK)
	})
	return mux
}

// newTestServer serves newTestMux behind the recommended middleware stack.
func newTestServer(t *testing.T) (*httptest.Server, *syncBuffer) {
	t.Helper()
	logger, logs := newTestLogger(t)
	h := Chain(newTestMux(),
		RequestID(nil),
		AccessLog(logger),
		SecurityHeaders,
		Recover(logger),
		MaxBody(1<<20),
	)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, logs
}

// noRedirectClient returns a client of srv that does not follow redirects.
func noRedirectClient(srv *httptest.Server) *http.Client {
	c := *srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	client := noRedirectClient(srv)

	for _, tt := range []struct {
		name, method, path string
		wantStatus         int
		wantCSP            string
		wantCacheControl   string
	}{
		{"200", http.MethodGet, "/v1/ok", http.StatusOK, apiCSP, "no-store"},
		{"empty 200", http.MethodGet, "/v1/empty", http.StatusOK, apiCSP, "no-store"},
		{"404 ServeMux", http.MethodGet, "/nope", http.StatusNotFound, apiCSP, "no-store"},
		{"405 ServeMux", http.MethodPost, "/v1/ok", http.StatusMethodNotAllowed, apiCSP, "no-store"},
		{"redirect", http.MethodGet, "/v1/redirect", http.StatusFound, apiCSP, "no-store"},
		{"http.Error", http.MethodGet, "/v1/error", http.StatusBadRequest, apiCSP, "no-store"},
		{"panic", http.MethodGet, "/v1/panic", http.StatusInternalServerError, apiCSP, "no-store"},
		{"HEAD", http.MethodHead, "/v1/ok", http.StatusOK, apiCSP, "no-store"},
		{"page overrides CSP", http.MethodGet, "/checkout", http.StatusOK, pageCSP, "private, max-age=60"},
		{"handler tampering", http.MethodGet, "/v1/tamper", http.StatusOK, apiCSP, "no-store"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("%s %s status = %d, want %d", tt.method, tt.path, resp.StatusCode, tt.wantStatus)
			}
			checkSecurityHeaders(t, resp.Header, tt.wantCSP)
			if got := resp.Header.Values("Cache-Control"); len(got) != 1 || got[0] != tt.wantCacheControl {
				t.Errorf("Cache-Control = %q, want %q", got, tt.wantCacheControl)
			}
			if id := resp.Header.Get("Request-Id"); !requestIDPattern.MatchString(id) {
				t.Errorf("Request-Id = %q, want match for %s", id, requestIDPattern)
			}
		})
	}
}

func TestSecurityHeadersAllowedMethodsOn405(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	req, err := http.NewRequest(http.MethodDelete, srv.URL+"/v1/ok", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got, want := resp.Header.Get("Allow"), "GET, HEAD"; got != want {
		t.Errorf("Allow = %q, want %q (ServeMux headers must survive)", got, want)
	}
}

func TestSecurityHeadersSetBeforeHandler(t *testing.T) {
	t.Parallel()
	// Handlers can read the defaults, which is what lets them replace one.
	var seen string
	h := SecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		seen = w.Header().Get("Content-Security-Policy")
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	if seen != apiCSP {
		t.Errorf("CSP seen by handler = %q, want %q", seen, apiCSP)
	}
}

func TestSecurityHeadersOnFlushAndWrite(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		write func(http.ResponseWriter)
	}{
		{"Write", func(w http.ResponseWriter) { _, _ = w.Write([]byte("x")) }},
		{"Flush", func(w http.ResponseWriter) { w.(http.Flusher).Flush() }},
		{"ResponseController.Flush", func(w http.ResponseWriter) { _ = http.NewResponseController(w).Flush() }},
		{"WriteHeader", func(w http.ResponseWriter) { w.WriteHeader(http.StatusAccepted) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			h := SecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Server", "nginx/1.0")
				w.Header().Del("X-Frame-Options")
				tt.write(w)
			}))
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			checkSecurityHeaders(t, rec.Result().Header, apiCSP)
		})
	}
}
