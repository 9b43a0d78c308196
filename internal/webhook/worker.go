// Package webhook delivers events to webhook endpoints: a worker pool that
// claims due deliveries from the store's durable queue (filled in the same
// transaction as each event), POSTs them signed, records each attempt, and
// retries failures with backoff for three days, after which a still-failing
// endpoint is disabled. It also prunes events past their retention period.
//
// Delivery is at least once: a delivery is settled only after its attempt
// is recorded, and one claimed by a worker that dies is claimed again once
// its lease expires. Receivers deduplicate on the event ID.
package webhook

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/calmony/calmonypay/internal/safeurl"
	"github.com/calmony/calmonypay/internal/store"
	sign "github.com/calmony/calmonypay/webhook"
)

// Config configures a Worker. Zero fields take the documented defaults.
type Config struct {
	DB     *store.DB
	Logger *slog.Logger // defaults to slog.Default()
	// Now is the clock that schedules retries and stamps signatures.
	// Defaults to time.Now.
	Now func() time.Time
	// Concurrency bounds deliveries in flight. Defaults to 16.
	Concurrency int
	// PerEndpoint bounds one endpoint's deliveries in flight, so a slow
	// receiver cannot take every slot. Defaults to a quarter of
	// Concurrency, at least 1.
	PerEndpoint int
	// Timeout bounds one attempt: connecting, sending, and reading the
	// answer. Defaults to 10 seconds.
	Timeout time.Duration
	// Lease is how long a claimed delivery is reserved for this worker; if
	// it dies, another takes the delivery after that. Defaults to Timeout
	// plus 5 seconds.
	Lease time.Duration
	// PollInterval is how often the queue is checked for due deliveries.
	// Defaults to 250 ms.
	PollInterval time.Duration
	// Retry schedules retries. Its zero value is DefaultRetryPolicy.
	Retry RetryPolicy
	// DisableAfter disables an endpoint whose deliveries have failed, with
	// no success, for this long. Defaults to Retry's window (3 days).
	DisableAfter time.Duration
	// AllowPrivateURLs lets test-mode endpoints receive on loopback and
	// private-network addresses (safeurl.Options.AllowPrivate): an
	// operator's explicit choice for development, never in production.
	// Live-mode endpoints never may.
	AllowPrivateURLs bool
	// EventRetention, when positive, deletes events (with their deliveries
	// and attempts) older than this, once at start and then every
	// PruneInterval (default 24 hours).
	EventRetention time.Duration
	PruneInterval  time.Duration
	// RandFunc returns numbers in [0, 1) to place retry jitter. Defaults to
	// math/rand/v2.Float64.
	RandFunc func() float64
}

// Worker delivers webhooks. Create it with New and start it with Run.
type Worker struct {
	cfg     Config
	log     *slog.Logger
	strict  *http.Client // live mode, and test mode without AllowPrivateURLs
	private *http.Client // test mode with AllowPrivateURLs, else nil

	mu       sync.Mutex
	inFlight map[string]int // by endpoint
	free     chan struct{}  // a slot was freed
}

// New returns a Worker for cfg.
func New(cfg Config) (*Worker, error) {
	if cfg.DB == nil {
		return nil, errors.New("webhook: Config.DB is required")
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Concurrency = cmp.Or(cfg.Concurrency, 16)
	cfg.PerEndpoint = cmp.Or(cfg.PerEndpoint, max(1, cfg.Concurrency/4))
	cfg.Timeout = cmp.Or(cfg.Timeout, 10*time.Second)
	cfg.Lease = cmp.Or(cfg.Lease, cfg.Timeout+5*time.Second)
	cfg.PollInterval = cmp.Or(cfg.PollInterval, 250*time.Millisecond)
	cfg.Retry = cfg.Retry.withDefaults()
	cfg.DisableAfter = cmp.Or(cfg.DisableAfter, cfg.Retry.Window)
	cfg.PruneInterval = cmp.Or(cfg.PruneInterval, 24*time.Hour)
	if cfg.RandFunc == nil {
		cfg.RandFunc = rand.Float64
	}
	if cfg.Lease < cfg.Timeout {
		return nil, errors.New("webhook: Config.Lease must be longer than Timeout")
	}
	w := &Worker{
		cfg:      cfg,
		log:      cfg.Logger,
		strict:   safeurl.NewClient(safeurl.Options{}, cfg.Timeout),
		inFlight: map[string]int{},
		free:     make(chan struct{}, 1),
	}
	if cfg.AllowPrivateURLs {
		w.private = safeurl.NewClient(safeurl.Options{AllowPrivate: true}, cfg.Timeout)
	}
	return w, nil
}

// Run delivers until ctx is canceled, then stops claiming, lets the
// deliveries in flight finish (each within Timeout) and returns.
func (w *Worker) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	if w.cfg.EventRetention > 0 {
		wg.Go(func() { w.pruneLoop(ctx) })
	}
	defer wg.Wait()
	poll := time.NewTicker(w.cfg.PollInterval)
	defer poll.Stop()
	// Deliveries in flight finish after ctx ends: their answers must be
	// recorded, or they would be sent again.
	work := context.WithoutCancel(ctx)
	for {
		claimed, err := w.claim(ctx)
		if err != nil && ctx.Err() == nil {
			w.log.Error("claim webhook deliveries", "err", err)
		}
		for _, d := range claimed {
			wg.Go(func() {
				defer w.done(d.EndpointID)
				w.deliver(work, d)
			})
		}
		// With every slot taken, wait for one to free; otherwise the queue
		// had nothing more due: wait for the next poll.
		select {
		case <-ctx.Done():
			return nil
		case <-w.free:
		case <-poll.C:
		}
	}
}

// claim takes as many due deliveries as there are free slots.
func (w *Worker) claim(ctx context.Context) ([]*store.Delivery, error) {
	w.mu.Lock()
	inFlight := map[string]int{}
	total := 0
	for ep, n := range w.inFlight {
		inFlight[ep] = n
		total += n
	}
	w.mu.Unlock()
	limit := w.cfg.Concurrency - total
	if limit <= 0 || ctx.Err() != nil {
		return nil, nil
	}
	ds, err := w.cfg.DB.ClaimDeliveries(ctx, store.ClaimOptions{Now: w.cfg.Now(), Lease: w.cfg.Lease, Limit: limit,
		PerEndpoint: w.cfg.PerEndpoint, InFlight: inFlight})
	w.mu.Lock()
	for _, d := range ds {
		w.inFlight[d.EndpointID]++
	}
	w.mu.Unlock()
	return ds, err
}

// done frees a delivery's slot.
func (w *Worker) done(endpointID string) {
	w.mu.Lock()
	if w.inFlight[endpointID]--; w.inFlight[endpointID] <= 0 {
		delete(w.inFlight, endpointID)
	}
	w.mu.Unlock()
	select {
	case w.free <- struct{}{}:
	default:
	}
}

// deliver makes one attempt and records it.
func (w *Worker) deliver(ctx context.Context, d *store.Delivery) {
	started := w.cfg.Now()
	res := w.attempt(ctx, d, started)
	res.Started = started
	if !res.Succeeded {
		res.NextRetry, _ = w.cfg.Retry.Next(d.Attempt, d.WindowStart, started, w.cfg.RandFunc())
	}
	// The answer must be recorded even while shutting down.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	out, err := w.cfg.DB.FinishDelivery(rctx, d, res, w.cfg.DisableAfter)
	if err != nil {
		// The lease will expire and the event be delivered again.
		w.log.Error("record webhook delivery", "event", d.Event.ID, "endpoint", d.EndpointID, "err", err)
		return
	}
	if out.EndpointDisabled {
		w.log.Warn("webhook endpoint disabled: its deliveries failed for the whole retry window",
			"endpoint", d.EndpointID, "project", d.Event.Scope.ProjectID, "livemode", d.Event.Scope.Livemode, "window", w.cfg.DisableAfter)
	}
	if !res.Succeeded && res.NextRetry.IsZero() {
		w.log.Warn("webhook delivery given up", "event", d.Event.ID, "endpoint", d.EndpointID, "attempts", d.Attempt)
	}
}

// userAgent identifies deliveries to receivers.
const userAgent = "CalmonyPay/1.0 (+webhooks)"

// maxExcerpt is how much of an answer's body an attempt reads; what it keeps
// is the printable text of those bytes.
const maxExcerpt = 256

// attempt POSTs the event once. It never follows redirects, reads at most
// maxExcerpt bytes of the answer and gives up after Timeout. Of the answer
// it records the status and a printable excerpt; of a failed connection, a
// generic description: never raw bytes or error text that the other end
// chose, such as a service's banner.
func (w *Worker) attempt(ctx context.Context, d *store.Delivery, now time.Time) store.AttemptResult {
	var res store.AttemptResult
	if d.Broken != "" {
		res.Error = d.Broken
		return res
	}
	body, err := json.Marshal(d.Event.View())
	if err != nil {
		res.Error = "encode event: " + err.Error()
		return res
	}
	secrets := make([]string, len(d.Secrets))
	for i, s := range d.Secrets {
		secrets[i] = string(s)
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		res.Error = "invalid URL"
		return res
	}
	sig := sign.Sign(body, now, secrets...)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(sign.SignatureHeader, sig)
	req.Header.Set(sign.StripeSignatureHeader, sig)
	client := w.strict
	if w.private != nil && !d.Event.Scope.Livemode {
		client = w.private
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		res.Duration = time.Since(start)
		res.Error = describe(err, w.cfg.Timeout)
		return res
	}
	defer resp.Body.Close()
	buf, err := io.ReadAll(io.LimitReader(resp.Body, maxExcerpt))
	res.Duration = time.Since(start)
	res.StatusCode = resp.StatusCode
	res.ResponseBody = excerpt(buf)
	res.Succeeded = resp.StatusCode >= 200 && resp.StatusCode < 300
	if err != nil && res.Succeeded {
		// A 2xx whose body broke off still counts: the receiver accepted it.
		err = nil
	}
	switch {
	case err != nil:
		res.Error = "read response: " + describe(err, w.cfg.Timeout)
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		res.Error = fmt.Sprintf("redirect (%d) not followed: the endpoint URL must answer directly", resp.StatusCode)
	case !res.Succeeded:
		res.Error = fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	return res
}

// describe turns a transport error into a generic description for the
// merchant: what kind of failure it was, never the error's own text, which
// may quote what the other end sent (a non-HTTP service's banner, say).
func describe(err error, timeout time.Duration) string {
	var (
		blocked *safeurl.Error
		netErr  net.Error
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		alert   tls.AlertError
		record  tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &blocked):
		return "blocked: " + blocked.Reason
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("timed out after %s", timeout)
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "host not found"
	case errors.As(err, &dnsErr):
		return "DNS lookup failed"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.As(err, &certErr):
		return "TLS error: the certificate is not trusted or not valid for this host"
	case errors.As(err, &alert) || errors.As(err, &record):
		return "TLS error: the handshake failed"
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before a complete answer"
	}
	// net/http has no types for these: their text is only matched, never kept.
	switch msg := err.Error(); {
	case strings.Contains(msg, "malformed HTTP"):
		return "the answer was not HTTP"
	case strings.Contains(msg, "server gave HTTP response to HTTPS client"):
		return "TLS error: the server answered without TLS"
	}
	return "connection failed"
}

// excerpt returns the printable text in b: each run of white space becomes
// one space, and control characters, other unprintable runes and bytes
// that are not UTF-8 are left out.
func excerpt(b []byte) string {
	var sb strings.Builder
	space := false
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		switch {
		case unicode.IsSpace(r):
			space = sb.Len() > 0
		case r == utf8.RuneError && size == 1, !unicode.IsPrint(r):
		default:
			if space {
				sb.WriteByte(' ')
				space = false
			}
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// pruneLoop deletes events past their retention, at start and then every
// PruneInterval.
func (w *Worker) pruneLoop(ctx context.Context) {
	t := time.NewTicker(w.cfg.PruneInterval)
	defer t.Stop()
	for {
		before := w.cfg.Now().Add(-w.cfg.EventRetention).Unix()
		if n, err := w.cfg.DB.PruneEvents(ctx, before); err != nil && ctx.Err() == nil {
			w.log.Error("prune events", "err", err)
		} else if n > 0 {
			w.log.Info("pruned events past their retention", "count", n, "retention", w.cfg.EventRetention)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
