package middleware

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestResponseWriterRecordsStatusAndBytes(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	rw := newResponseWriter(rec, nil)
	rw.WriteHeader(http.StatusAccepted)
	rw.WriteHeader(http.StatusTeapot) // superfluous: ignored
	_, _ = rw.Write([]byte("abc"))
	_, _ = rw.Write([]byte("de"))
	if rw.status != http.StatusAccepted || rw.bytes != 5 {
		t.Errorf("status, bytes = %d, %d, want %d, 5", rw.status, rw.bytes, http.StatusAccepted)
	}
}

func TestResponseWriterInformationalIsNotFinal(t *testing.T) {
	t.Parallel()
	type result struct {
		status int
		bytes  int64
	}
	results := make(chan result, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		rw := newResponseWriter(w, nil)
		w.Header().Set("Link", "</app.css>; rel=preload")
		rw.WriteHeader(http.StatusEarlyHints)
		if rw.wroteHeader {
			t.Error("103 Early Hints counted as the final header")
		}
		rw.WriteHeader(http.StatusCreated)
		_, _ = rw.Write([]byte("done"))
		results <- result{rw.status, rw.bytes}
	})
	srv := httptest.NewServer(SecurityHeaders(h))
	t.Cleanup(srv.Close)

	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	got := <-results
	if resp.StatusCode != http.StatusCreated || got.status != http.StatusCreated || got.bytes != 4 {
		t.Errorf("status = %d, recorded %d and %d bytes, want 201, 201 and 4", resp.StatusCode, got.status, got.bytes)
	}
	checkSecurityHeaders(t, resp.Header, apiCSP)
}

func TestResponseWriterHookRunsOncePerStatusLine(t *testing.T) {
	t.Parallel()
	calls := 0
	rw := newResponseWriter(httptest.NewRecorder(), func(http.Header) { calls++ })
	_, _ = rw.Write([]byte("a"))
	_, _ = rw.Write([]byte("b"))
	rw.Flush()
	if calls != 1 {
		t.Errorf("hook ran %d times, want 1", calls)
	}
}

func TestResponseControllerThroughStack(t *testing.T) {
	t.Parallel()
	logger, _ := newTestLogger(t)
	errs := make(chan error, 1)
	h := Chain(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		errs <- http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute))
	}), RequestID(nil), AccessLog(logger), SecurityHeaders, Recover(logger), MaxBody(10))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if err := <-errs; err != nil {
		t.Errorf("SetWriteDeadline through the middleware: %v", err)
	}
}
