package payments

import (
	"cmp"
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/calmony/calmonypay/internal/loop"
	"github.com/calmony/calmonypay/internal/secret"
	"github.com/calmony/calmonypay/internal/store"
)

// Config configures a Service.
type Config struct {
	DB       *store.DB
	Keys     *secret.Keyring
	Gateways Gateways
	Logger   *slog.Logger
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// PublicURL is the base URL browsers reach the server at, for hosted
	// checkout pages and the gateway's redirects and callbacks.
	PublicURL string
	// SkipCallbackSignature is the test-mode bypass of hosted payment
	// callback verification (CALMONY_ENV=test or REQUIRE_SIGNATURE=false).
	SkipCallbackSignature bool
	// Render renders an operation's answer as the response kept under an
	// idempotency key (the API's, with expand[] and its error envelope).
	// Defaults to the object's JSON (RenderJSON).
	Render Render
	// AnswerWithin is how long an operation that calls the gateway waits for
	// the outcome before answering with the object as it is (processing);
	// the outcome is still recorded when it comes (see Drain). Defaults to
	// 30s.
	AnswerWithin time.Duration
	// Crash, for tests, ends an operation that calls the gateway as a crash
	// of the process would (no further writes, its lease on the gateway op
	// left to lapse; the operation returns ErrCrashed) at each point for
	// which it returns true: "prepared" (the op is recorded, the gateway
	// not yet called), "called" (the gateway answered, nothing recorded)
	// and "settled" (the outcome recorded, nothing answered); and for a
	// hosted invoice payment refunded at once, "refund-recorded" (the
	// payment and its refund recorded, the refund not sent).
	Crash func(point string) bool
	// CacheExpiry bounds how long the project settings the operations
	// check (currencies) are used without reading them again. Defaults to
	// 1 s. While RefreshSettings runs, a committed change reloads them at
	// once (store.DB.OnChange, from other instances too on PostgreSQL);
	// tests lengthen it to show that.
	CacheExpiry time.Duration
}

// Service runs the payment operations: every write that moves money or
// emits an event. The API, the hosted pages, the CLI and the billing
// scheduler all call it. Create it with New.
type Service struct {
	db                    *store.DB
	keys                  *secret.Keyring
	gateways              Gateways
	log                   *slog.Logger
	now                   func() time.Time
	publicURL             string
	skipCallbackSignature bool
	render                Render
	answerWithin          time.Duration
	crash                 func(point string) bool
	currencies            *loop.Cached[map[string][]string]
	// invoices settle invoices paid on the hosted invoice page
	// (SetInvoiceHooks).
	invoices InvoiceHooks
	// inflight counts operations still running, including those that
	// answered before their gateway call ended (see Drain).
	inflight sync.WaitGroup
}

// New returns a Service for cfg. It does no I/O.
func New(cfg Config) *Service {
	s := &Service{
		db:                    cfg.DB,
		keys:                  cfg.Keys,
		gateways:              cfg.Gateways,
		log:                   cmp.Or(cfg.Logger, slog.Default()),
		now:                   cfg.Now,
		publicURL:             strings.TrimRight(cfg.PublicURL, "/"),
		skipCallbackSignature: cfg.SkipCallbackSignature,
		render:                cfg.Render,
		answerWithin:          cmp.Or(cfg.AnswerWithin, 30*time.Second),
		crash:                 cfg.Crash,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.render == nil {
		s.render = RenderJSON(s.publicURL)
	}
	s.currencies = loop.NewCached("project currencies", s.log, func(ctx context.Context) (map[string][]string, error) {
		ps, err := cfg.DB.FindProjects(ctx)
		m := map[string][]string{}
		for _, p := range ps {
			m[p.ID] = p.Currencies
		}
		return m, err
	}).WithRefresh(cfg.CacheExpiry)
	return s
}

// Gateways returns the card gateways the service charges through.
func (s *Service) Gateways() Gateways { return s.gateways }

// PublicURL is the base URL browsers reach the server at.
func (s *Service) PublicURL() string { return s.publicURL }

// RefreshSettings keeps the project settings the operations check (the
// currencies each project may charge in) fresh until ctx ends, reloading
// them as soon as a change to them commits.
func (s *Service) RefreshSettings(ctx context.Context) {
	defer s.db.OnChange(func(c store.Change) {
		if c.Kind == store.ChangeProject || c.Kind == store.ChangeAll {
			s.currencies.Reload()
		}
	})()
	s.currencies.Run(ctx)
}

// Drain waits until every operation that calls the gateway has recorded
// its outcome (some answer before that), or ctx ends: a process that stops
// earlier leaves their ops to the reconciler.
func (s *Service) Drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
