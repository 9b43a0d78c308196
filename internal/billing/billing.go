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
}

// Service runs the billing operations. Create it with New.
type Service struct {
	db       *store.DB
	payments *payments.Service
	log      *slog.Logger
	now      func() time.Time
	// clockKick wakes RunClocks after an advance (kickClocks).
	clockKick chan struct{}
}

// New returns a Service for cfg. It does no I/O.
func New(cfg Config) *Service {
	s := &Service{db: cfg.DB, payments: cfg.Payments, log: cmp.Or(cfg.Logger, slog.Default()), now: cfg.Now,
		clockKick: make(chan struct{}, 1)}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}
