package middleware

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// panicSecret is a panic message that must never reach a client.
const panicSecret = "secret panic detail 4242424242424242"

func TestRecoverWritesStripeEnvelope(t *testing.T) {
	t.Parallel()
	logger, logs := newTestLogger(t)
	h := Chain(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "999")
		w.Header().Set("Set-Cookie", "half=done")
		w.Header().Set("Content-Security-Policy", "default-src *") // an outer header replaced
		w.Header().Add("Request-Id", "req_other")                  // and one added to
		panic(panicSecret)
	}), RequestID(func() string { return "req_abc123" }), SecurityHeaders, Recover(logger))
	rec := httptest.NewRecorder()

	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/customers?email=x", nil))

	resp := rec.Result()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", resp.StatusCode)
	}
	body, _ := io.ReadAll(resp.Body)
	var got map[string]map[string]string
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	want := map[string]map[string]string{"error": {
		"type":    "api_error",
		"message": "An unexpected error occurred. Request ID: req_abc123",
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("body mismatch (-want +got):\n%s", diff)
	}
	if strings.Contains(string(body), "secret") || strings.Contains(string(body), "4242") {
		t.Errorf("body %q leaks the panic value", body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q, want application/json; charset=utf-8", ct)
	}
	if v := resp.Header.Get("Set-Cookie"); v != "" {
		t.Errorf("Set-Cookie = %q: the failed handler's header was kept", v)
	}
	if v := resp.Header.Get("Content-Length"); v == "999" {
		t.Errorf("Content-Length = %q: the failed handler's header was kept", v)
	}
	if got := resp.Header.Values("Request-Id"); len(got) != 1 || got[0] != "req_abc123" {
		t.Errorf("Request-Id = %q, want req_abc123", got)
	}
	checkSecurityHeaders(t, resp.Header, apiCSP)

	lines := logLines(t, logs.String())
	if len(lines) != 1 {
		t.Fatalf("got %d log lines, want 1:\n%s", len(lines), logs)
	}
	line := lines[0]
	if line["level"] != "ERROR" || line["request_id"] != "req_abc123" || line["panic"] != panicSecret {
		t.Errorf("log line = %v, want level ERROR, request_id req_abc123 and the panic value", line)
	}
	if stack, _ := line["stack"].(string); !strings.Contains(stack, "TestRecoverWritesStripeEnvelope") {
		t.Errorf("logged stack does not show the panicking function:\n%s", stack)
	}
	if path := line["path"]; path != "/v1/customers" {
		t.Errorf("logged path = %v, want /v1/customers (no query)", path)
	}
}

func TestRecoverWithoutRequestID(t *testing.T) {
	t.Parallel()
	logger, _ := newTestLogger(t)
	h := Recover(logger)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(errors.New("boom"))
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	want := `{"error":{"type":"api_error","message":"An unexpected error occurred."}}`
	if got := rec.Body.String(); got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
}

func TestRecoverPassesAbortHandler(t *testing.T) {
	t.Parallel()
	logger, logs := newTestLogger(t)
	h := Recover(logger)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler", v)
		}
		if logs.String() != "" {
			t.Errorf("ErrAbortHandler was logged: %s", logs)
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	t.Error("ServeHTTP returned normally, want the panic passed on")
}

func TestRecoverAfterWriteAborts(t *testing.T) {
	t.Parallel()
	logger, logs := newTestLogger(t)
	h := Recover(logger)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"partial":`))
		panic(panicSecret)
	}))
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler", v)
		}
		if !strings.Contains(logs.String(), panicSecret) {
			t.Errorf("panic not logged: %s", logs)
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	t.Error("ServeHTTP returned normally, want the response aborted")
}

func TestRecoverAfterWriteBreaksConnection(t *testing.T) {
	t.Parallel()
	logger, _ := newTestLogger(t)
	srv := httptest.NewServer(Recover(logger)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"partial":`))
		w.(http.Flusher).Flush()
		panic(panicSecret)
	})))
	t.Cleanup(srv.Close)

	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		return // the connection broke before the header: also fine
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("truncated body read without error, want a broken connection")
	}
}

func TestRecoverServerNeverLeaksPanic(t *testing.T) {
	t.Parallel()
	srv, logs := newTestServer(t)
	resp, err := srv.Client().Get(srv.URL + "/v1/panic")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	id := resp.Header.Get("Request-Id")
	want := `{"error":{"type":"api_error","message":"An unexpected error occurred. Request ID: ` + id + `"}}`
	if string(body) != want {
		t.Errorf("body = %s, want %s", body, want)
	}
	if resp.Header.Get("Set-Cookie") != "" {
		t.Errorf("Set-Cookie from the panicking handler was sent")
	}
	if !strings.Contains(logs.String(), id) {
		t.Errorf("logs do not mention request ID %s:\n%s", id, logs)
	}
}

func TestRecoverNilLoggerPanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("Recover(nil) did not panic")
		}
	}()
	Recover(nil)
}
