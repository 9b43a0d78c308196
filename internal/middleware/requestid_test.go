package middleware

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRequestIDFormatAndUniqueness(t *testing.T) {
	t.Parallel()
	const n = 10000
	seen := make(map[string]bool, n)
	for range n {
		id := newRequestID()
		if !requestIDPattern.MatchString(id) {
			t.Fatalf("newRequestID() = %q, want match for %s", id, requestIDPattern)
		}
		if seen[id] {
			t.Fatalf("newRequestID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestRequestIDAlphabetCoverage(t *testing.T) {
	t.Parallel()
	// With 24 000 characters drawn, every base62 symbol should appear; a
	// biased or truncated alphabet would show up here.
	counts := make(map[rune]int)
	for range 1000 {
		for _, c := range newRequestID()[len(requestIDPrefix):] {
			counts[c]++
		}
	}
	if len(counts) != len(base62Alphabet) {
		t.Errorf("distinct characters = %d, want %d", len(counts), len(base62Alphabet))
	}
}

func TestRequestIDMiddleware(t *testing.T) {
	t.Parallel()
	var fromCtx string
	h := RequestID(nil)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		fromCtx = RequestIDFrom(r.Context())
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Request-Id", "req_attacker_chosen")
	req.Header.Set("X-Request-Id", "req_attacker_chosen")
	rec := httptest.NewRecorder()

	h.ServeHTTP(rec, req)

	got := rec.Header().Get("Request-Id")
	if !requestIDPattern.MatchString(got) {
		t.Errorf("Request-Id = %q, want match for %s", got, requestIDPattern)
	}
	if fromCtx != got {
		t.Errorf("RequestIDFrom(ctx) = %q, want the header value %q", fromCtx, got)
	}
}

func TestRequestIDInjectedGenerator(t *testing.T) {
	t.Parallel()
	h := RequestID(func() string { return "req_test" })(http.NotFoundHandler())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if got := rec.Header().Get("Request-Id"); got != "req_test" {
		t.Errorf("Request-Id = %q, want %q", got, "req_test")
	}
}

func TestRequestIDDiffersPerRequest(t *testing.T) {
	t.Parallel()
	h := RequestID(nil)(http.NotFoundHandler())
	ids := make(map[string]bool)
	for range 100 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		ids[rec.Header().Get("Request-Id")] = true
	}
	if len(ids) != 100 {
		t.Errorf("distinct request IDs = %d, want 100", len(ids))
	}
}

func TestRequestIDFromEmptyContext(t *testing.T) {
	t.Parallel()
	if got := RequestIDFrom(context.Background()); got != "" {
		t.Errorf("RequestIDFrom(background) = %q, want empty", got)
	}
}
