// Package billing is the recurring-billing operations layer: products,
// prices and tax rates now; subscriptions, invoices, the billing scheduler
// and test clocks to come (issue 18). Like payments it decides and writes,
// and emits the events of what it writes (payments.Emit); it charges cards
// only through payments.Service, never through the API.
package billing

import (
	"cmp"
	"log/slog"
	"time"

	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// Config configures a Service.
type Config struct {
	DB *store.DB
	// Payments charges cards and keeps answers under idempotency keys.
	Payments *payments.Service
	Logger   *slog.Logger
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// Crash, for tests, ends an operation as a crash of the process would
	// at each point for which it returns true (payments.ErrCrashed):
	// "attempt-recorded" (an invoice's payment attempt is committed, its
	// charge not yet made).
	Crash func(point string) bool
}

// Service runs the billing operations. Create it with New.
type Service struct {
	db       *store.DB
	payments *payments.Service
	log      *slog.Logger
	now      func() time.Time
	// clockKick wakes RunClocks after an advance (kickClocks).
	clockKick chan struct{}
	crash     func(point string) bool
}

// New returns a Service for cfg. It does no I/O.
func New(cfg Config) *Service {
	s := &Service{db: cfg.DB, payments: cfg.Payments, log: cmp.Or(cfg.Logger, slog.Default()), now: cfg.Now,
		clockKick: make(chan struct{}, 1), crash: cfg.Crash}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// crashAt ends the operation as a crash would at point, if Config.Crash
// asks for it.
func (s *Service) crashAt(point string) error {
	if s.crash != nil && s.crash(point) {
		return payments.ErrCrashed
	}
	return nil
}
