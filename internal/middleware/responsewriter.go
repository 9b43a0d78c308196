package middleware

import "net/http"

// responseWriter wraps an http.ResponseWriter to record the status and size of
// the response and, optionally, to adjust the header just before it is sent.
//
// It implements http.Flusher and exposes the wrapped writer through Unwrap, so
// http.ResponseController (Hijack, SetWriteDeadline, EnableFullDuplex, ...)
// keeps working through any number of layers.
type responseWriter struct {
	http.ResponseWriter

	// beforeHeader, if not nil, runs on the header map just before a
	// status line is written (including 1xx informational responses).
	beforeHeader func(http.Header)

	status      int   // final status code; 0 until the header is written
	bytes       int64 // body bytes written
	wroteHeader bool  // a final (non-1xx) header has been written
}

// newResponseWriter wraps w. beforeHeader may be nil.
func newResponseWriter(w http.ResponseWriter, beforeHeader func(http.Header)) *responseWriter {
	return &responseWriter{ResponseWriter: w, beforeHeader: beforeHeader}
}

// WriteHeader runs the beforeHeader hook and records the status code.
func (rw *responseWriter) WriteHeader(code int) {
	if rw.wroteHeader {
		// Superfluous call: let net/http log it, keep the first status.
		rw.ResponseWriter.WriteHeader(code)
		return
	}
	if rw.beforeHeader != nil {
		rw.beforeHeader(rw.Header())
	}
	if !isInformational(code) {
		rw.wroteHeader = true
		rw.status = code
	}
	rw.ResponseWriter.WriteHeader(code)
}

// Write sends an implicit 200 header first, as net/http does, and counts
// the bytes written.
func (rw *responseWriter) Write(b []byte) (int, error) {
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	n, err := rw.ResponseWriter.Write(b)
	rw.bytes += int64(n)
	return n, err
}

// Flush sends an implicit 200 header first and flushes the wrapped writer if
// it supports flushing.
func (rw *responseWriter) Flush() {
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	// A writer that cannot flush returns http.ErrNotSupported, which is
	// exactly what a failed http.Flusher assertion would have meant.
	_ = http.NewResponseController(rw.ResponseWriter).Flush()
}

// Unwrap returns the wrapped writer for http.ResponseController.
func (rw *responseWriter) Unwrap() http.ResponseWriter {
	return rw.ResponseWriter
}

// isInformational reports whether code is a 1xx status after which a final
// status still follows. 101 Switching Protocols is final.
func isInformational(code int) bool {
	return code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols
}
