package middleware

import (
	"log/slog"
	"net/http"
	"time"
)

// AccessLog returns middleware that writes one info-level log line per
// request, after the response, with these attributes:
//
//	method, path, status, duration, bytes, request_id, remote_addr
//
// and aborted=true when the handler did not return normally (a panic
// passed on by [Recover], such as http.ErrAbortHandler).
//
// The path is logged without the query string, which may carry sensitive
// values; headers and bodies are never logged (ASVS 16.2.5). remote_addr is
// the TCP peer: X-Forwarded-For and similar client-supplied headers are not
// trusted here (ASVS 4.1.3).
//
// AccessLog panics if logger is nil. Place it inside [RequestID] and outside
// [Recover].
func AccessLog(logger *slog.Logger) func(http.Handler) http.Handler {
	mustHaveLogger(logger, "AccessLog")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rw := newResponseWriter(w, nil)
			completed := false
			defer func() { logRequest(logger, r, rw, time.Since(start), completed) }()
			next.ServeHTTP(rw, r)
			completed = true
		})
	}
}

// logRequest writes the access log line for r.
func logRequest(logger *slog.Logger, r *http.Request, rw *responseWriter, d time.Duration, completed bool) {
	status := rw.status
	if status == 0 && completed {
		status = http.StatusOK // net/http's implicit status for an empty response
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.Int64("bytes", rw.bytes),
		slog.String("request_id", RequestIDFrom(r.Context())),
		slog.String("remote_addr", r.RemoteAddr),
	}
	if !completed {
		attrs = append(attrs, slog.Bool("aborted", true))
	}
	logger.LogAttrs(r.Context(), slog.LevelInfo, "http request", attrs...)
}
