package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/calmony/calmonypay/internal/config"
	"github.com/calmony/calmonypay/webhook"
)

// listenForwardTimeout bounds one forward to the app; it is shorter than the
// server's attempt timeout, so the server records the app's answer.
const listenForwardTimeout = 9 * time.Second

// listenMaxBody bounds a delivery listen accepts.
const listenMaxBody = 8 << 20

// listenCommand is `calmonypay listen`, like `stripe listen`: it registers a
// temporary test-mode webhook endpoint that points at itself, prints each
// event the server delivers, forwards it (body and signature unchanged) to
// --forward-to, answers the server with the app's status so retries behave
// as in production, and deletes the endpoint on exit. The app verifies the
// deliveries with the signing secret listen prints.
//
// The server must be able to reach listen's address (by default a loopback
// port), so it suits a server on the same machine in development or test
// mode; production servers refuse loopback endpoints.
func listenCommand(ctx context.Context, args []string, e *env) error {
	fs := newFlagSet("listen", e)
	forward := fs.String("forward-to", "", "URL of your app's webhook handler, e.g. http://localhost:3000/webhook (required)")
	events := fs.String("events", "*", "comma-separated event types to receive, or * for all")
	addr := fs.String("listen-addr", "127.0.0.1:0", "address listen receives deliveries on; the server must reach it")
	key, base := bindAPIClient(fs, e)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: listen takes no arguments", errUsage)
	}
	target, err := url.Parse(*forward)
	if *forward == "" || err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" {
		return fmt.Errorf("%w: --forward-to must be an http(s) URL, such as http://localhost:3000/webhook", errUsage)
	}
	c, err := newAPIClient(*key, *base)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	defer ln.Close()

	params := url.Values{
		"url":                         {"http://" + ln.Addr().String() + "/"},
		"description":                 {"calmonypay listen (temporary, deleted on exit)"},
		"metadata[calmonypay_listen]": {"true"},
	}
	for i, t := range strings.Split(*events, ",") {
		params.Set(fmt.Sprintf("enabled_events[%d]", i), strings.TrimSpace(t))
	}
	var ep struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	if err := c.do(ctx, http.MethodPost, "/v1/webhook_endpoints", params, &ep); err != nil {
		return fmt.Errorf("register a webhook endpoint: %w", err)
	}
	defer func() {
		// The command's context is over by now: clean up on a fresh one.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := c.do(dctx, http.MethodDelete, "/v1/webhook_endpoints/"+ep.ID, nil, nil); err != nil && !isAPIError(err, http.StatusNotFound) {
			fmt.Fprintf(e.stderr, "calmonypay listen: could not delete webhook endpoint %s: %v\n", ep.ID, err)
			return
		}
		fmt.Fprintf(e.stdout, "Deleted webhook endpoint %s.\n", ep.ID)
	}()

	out := &lockedWriter{w: e.stdout}
	fmt.Fprintf(out, "Ready! Your webhook signing secret is %s (^C to quit)\n", ep.Secret)
	fmt.Fprintf(out, "Forwarding %s events to %s (endpoint %s)\n", *events, *forward, ep.ID)
	f := &forwarder{secret: ep.Secret, target: target.String(), out: out,
		client: &http.Client{Timeout: listenForwardTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	hs := newHTTPServer(f, newLogger(e, &config.Config{Env: config.Development}))
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), listenForwardTimeout+time.Second)
	defer cancel()
	hs.Shutdown(sctx)
	return nil
}

// forwarder receives deliveries from the server and forwards them.
type forwarder struct {
	secret string
	target string
	client *http.Client
	out    *lockedWriter
}

func (f *forwarder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, listenMaxBody))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	var evt struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	json.Unmarshal(body, &evt)
	sig := r.Header.Get(webhook.SignatureHeader)
	if err := webhook.Verify(body, sig, f.secret, 0); err != nil {
		// Not from our server, or not for this endpoint: do not pass it on.
		f.out.printf("%s   !! rejected a delivery with a bad signature (%v)\n", stamp(), err)
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	f.out.printf("%s  --> %s [%s]\n", stamp(), evt.Type, evt.ID)
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, f.target, bytes.NewReader(body))
	if err != nil {
		http.Error(w, "bad forward URL", http.StatusInternalServerError)
		return
	}
	for _, h := range []string{"Content-Type", "User-Agent", webhook.SignatureHeader, webhook.StripeSignatureHeader} {
		req.Header.Set(h, r.Header.Get(h))
	}
	resp, err := f.client.Do(req)
	if err != nil {
		f.out.printf("%s  <-- [ERR] POST %s [%s]: %v\n", stamp(), f.target, evt.ID, unwrapURLError(err))
		http.Error(w, "forward failed", http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	f.out.printf("%s  <-- [%d] POST %s [%s]\n", stamp(), resp.StatusCode, f.target, evt.ID)
	// The server records the app's answer and retries as it would in production.
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(resp.StatusCode)
	w.Write(answer)
}

func stamp() string { return time.Now().Format("2006-01-02 15:04:05") }

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// lockedWriter serialises lines written by concurrent deliveries.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) printf(format string, args ...any) { fmt.Fprintf(l, format, args...) }
