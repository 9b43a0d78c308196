package sandbox

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Transport returns an http.RoundTripper that serves requests straight
// through the sandbox, in memory, without a socket. mount is the path the
// gateway URL's requests carry before the sandbox routes ("" or "/" when
// the client's GatewayURL is e.g. "http://cardstream.sandbox/", and
// "/sandbox/cardstream" for "https://pay.example/sandbox/cardstream/"). The
// host is ignored. Use it as the Transport of the cardstream.Config's
// HTTPClient.
func (s *Sandbox) Transport(mount string) http.RoundTripper {
	mount = strings.TrimSuffix(mount, "/")
	if mount == "" {
		return HandlerTransport(s)
	}
	return HandlerTransport(http.StripPrefix(mount, s))
}

// HandlerTransport returns an http.RoundTripper that serves every request
// with h in memory. It honours the request context: if it ends before h
// returns, RoundTrip returns the context's error.
func HandlerTransport(h http.Handler) http.RoundTripper {
	return handlerTransport{h: h}
}

type handlerTransport struct {
	h http.Handler
}

// RoundTrip implements http.RoundTripper.
func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	body, err := drain(req)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in := req.Clone(ctx)
	in.Body = io.NopCloser(bytes.NewReader(body))
	in.ContentLength = int64(len(body))
	in.RequestURI = req.URL.RequestURI()
	in.RemoteAddr = "127.0.0.1:0"
	if in.Host == "" {
		in.Host = req.URL.Host
	}
	rec, err := t.serve(in)
	if err != nil {
		return nil, err
	}
	return rec.response(req), nil
}

// serve runs the handler, giving up when the request context ends first.
func (t handlerTransport) serve(in *http.Request) (*recorder, error) {
	rec := &recorder{header: http.Header{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				rec.panicked = fmt.Sprint(p)
			}
		}()
		t.h.ServeHTTP(rec, in)
	}()
	select {
	case <-done:
	case <-in.Context().Done():
		return nil, in.Context().Err()
	}
	if rec.panicked != "" {
		return nil, fmt.Errorf("sandbox transport: handler panic: %s", rec.panicked)
	}
	return rec, nil
}

// maxPresize bounds the buffer drain allocates before reading.
const maxPresize = 64 << 10

// drain reads and closes the request body, as a RoundTripper must. A body
// of the declared ContentLength (up to maxPresize) is read into one buffer
// allocated up front.
func drain(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	size := bytes.MinRead // ReadFrom wants this much room to detect EOF
	if req.ContentLength > 0 {
		size += int(min(req.ContentLength, maxPresize))
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	if _, err := buf.ReadFrom(req.Body); err != nil {
		return nil, fmt.Errorf("sandbox transport: read request body: %w", err)
	}
	return buf.Bytes(), nil
}

// recorder is a minimal in-memory http.ResponseWriter.
type recorder struct {
	header   http.Header
	status   int
	body     bytes.Buffer
	panicked string
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

// response returns what the handler wrote. The handler has returned, so
// its header map and body buffer are handed over rather than copied.
func (r *recorder) response(req *http.Request) *http.Response {
	status := r.status
	if status == 0 {
		status = http.StatusOK
	}
	return &http.Response{
		Status:        strconv.Itoa(status) + " " + http.StatusText(status),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        r.header,
		Body:          io.NopCloser(&r.body),
		ContentLength: int64(r.body.Len()),
		Request:       req,
	}
}
