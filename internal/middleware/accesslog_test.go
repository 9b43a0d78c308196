package middleware

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestAccessLog(t *testing.T) {
	t.Parallel()
	logger, logs := newTestLogger(t)
	h := Chain(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte("hello"))
	}), RequestID(func() string { return "req_log" }), AccessLog(logger))
	req := httptest.NewRequest(http.MethodPost, "/v1/customers?email=a@b.example&key=sk_test_query", strings.NewReader("card=4242424242424242"))
	req.Header.Set("Authorization", "Bearer sk_test_header_secret")
	req.Header.Set("Cookie", "session=cookie_secret")
	req.RemoteAddr = "192.0.2.1:1234"

	h.ServeHTTP(httptest.NewRecorder(), req)

	out := logs.String()
	for _, secret := range []string{"sk_test", "cookie_secret", "4242", "email", "?"} {
		if strings.Contains(out, secret) {
			t.Errorf("access log contains %q:\n%s", secret, out)
		}
	}
	lines := logLines(t, out)
	if len(lines) != 1 {
		t.Fatalf("got %d log lines, want 1:\n%s", len(lines), out)
	}
	want := map[string]any{
		"level":       "INFO",
		"msg":         "http request",
		"method":      "POST",
		"path":        "/v1/customers",
		"status":      float64(http.StatusCreated),
		"bytes":       float64(5),
		"request_id":  "req_log",
		"remote_addr": "192.0.2.1:1234",
	}
	ignore := cmpopts.IgnoreMapEntries(func(k string, _ any) bool { return k == "time" || k == "duration" })
	if diff := cmp.Diff(want, lines[0], ignore); diff != "" {
		t.Errorf("log line mismatch (-want +got):\n%s", diff)
	}
	if _, ok := lines[0]["duration"].(float64); !ok {
		t.Errorf("duration = %v, want a number", lines[0]["duration"])
	}
}

func TestAccessLogImplicitStatus(t *testing.T) {
	t.Parallel()
	logger, logs := newTestLogger(t)
	h := AccessLog(logger)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	if got := logLines(t, logs.String())[0]["status"]; got != float64(200) {
		t.Errorf("status = %v, want 200", got)
	}
}

func TestAccessLogAborted(t *testing.T) {
	t.Parallel()
	logger, logs := newTestLogger(t)
	h := AccessLog(logger)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	func() {
		defer func() { _ = recover() }()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}()
	lines := logLines(t, logs.String())
	if len(lines) != 1 || lines[0]["aborted"] != true {
		t.Errorf("log = %v, want one line with aborted=true", lines)
	}
}

func TestAccessLogSeesRecoveredStatus(t *testing.T) {
	t.Parallel()
	logger, logs := newTestLogger(t)
	h := Chain(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("x") }),
		AccessLog(logger), Recover(logger))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	var access map[string]any
	for _, l := range logLines(t, logs.String()) {
		if l["msg"] == "http request" {
			access = l
		}
	}
	if access["status"] != float64(500) {
		t.Errorf("access log status = %v, want 500", access["status"])
	}
}
