package middleware

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// syncBuffer is a bytes.Buffer safe for concurrent use, for loggers written
// from server goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newTestLogger returns a JSON logger at debug level and its output.
func newTestLogger(tb testing.TB) (*slog.Logger, *syncBuffer) {
	tb.Helper()
	var buf syncBuffer
	return slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

// logLines decodes each JSON log line in out.
func logLines(tb testing.TB, out string) []map[string]any {
	tb.Helper()
	var lines []map[string]any
	for line := range strings.Lines(out) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			tb.Fatalf("log line %q: %v", line, err)
		}
		lines = append(lines, m)
	}
	return lines
}

// wantSecurityHeaders returns the security headers every response must
// carry, with the given Content-Security-Policy.
func wantSecurityHeaders(csp string) map[string][]string {
	return map[string][]string{
		"Strict-Transport-Security":    {"max-age=63072000; includeSubDomains; preload"},
		"X-Frame-Options":              {"DENY"},
		"X-Content-Type-Options":       {"nosniff"},
		"Referrer-Policy":              {"strict-origin-when-cross-origin"},
		"Permissions-Policy":           {"camera=(), microphone=(), geolocation=()"},
		"Content-Security-Policy":      {csp},
		"Cross-Origin-Resource-Policy": {"same-origin"},
	}
}

// apiCSP is the default Content-Security-Policy of API responses.
const apiCSP = "default-src 'none'; frame-ancestors 'none'"

// checkSecurityHeaders fails the test unless h carries exactly the security
// headers with the given CSP, and no banner header.
func checkSecurityHeaders(tb testing.TB, h http.Header, csp string) {
	tb.Helper()
	want := wantSecurityHeaders(csp)
	got := make(map[string][]string, len(want))
	for k := range want {
		got[k] = h.Values(k)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		tb.Errorf("security headers mismatch (-want +got):\n%s", diff)
	}
	for _, k := range []string{"Server", "X-Powered-By"} {
		if v := h.Values(k); len(v) != 0 {
			tb.Errorf("header %s = %q, want none", k, v)
		}
	}
}
