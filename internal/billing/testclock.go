package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// TestClockParams are a new test clock's parameters.
type TestClockParams struct {
	FrozenTime int64  // unix seconds
	Name       string // "" for none
}

// CreateTestClock creates a test clock, ready at p.FrozenTime (test mode
// only).
func (s *Service) CreateTestClock(ctx context.Context, call payments.Call, p TestClockParams) (*payments.Answer, error) {
	if err := pay.CheckTestMode(call.Scope, ""); err != nil {
		return nil, err
	}
	return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		c := &pay.TestClock{Scope: call.Scope, Name: p.Name, FrozenTime: p.FrozenTime, Status: pay.TestClockReady}
		if err := tx.CreateTestClock(ctx, c); err != nil {
			return nil, err
		}
		return c, payments.Emit(ctx, tx, call.Scope, pay.EventTestClockCreated, c.ID, pay.TestClockView(c), nil)
	})
}

// AdvanceTestClock starts moving a test clock to frozenTime: it records
// the target, sets the clock advancing and emits
// test_helpers.test_clock.advancing, in one transaction, and answers. The
// clock loop (RunClocks, AdvanceClocks) finishes the advance, at once if
// this Service's loop is running.
func (s *Service) AdvanceTestClock(ctx context.Context, call payments.Call, id string, frozenTime int64) (*payments.Answer, error) {
	if err := pay.CheckTestMode(call.Scope, ""); err != nil {
		return nil, err
	}
	a, err := s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		c, err := tx.FindTestClock(ctx, call.Scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "test clock", id, "id")
		}
		limit, err := s.advanceLimit(ctx, tx, c)
		if err != nil {
			return nil, err
		}
		if err := c.CheckAdvance(frozenTime, limit); err != nil {
			return nil, err
		}
		c.Status, c.TargetFrozenTime = pay.TestClockAdvancing, frozenTime
		if err := tx.UpdateTestClock(ctx, c); err != nil {
			return nil, err
		}
		return c, payments.Emit(ctx, tx, call.Scope, pay.EventTestClockAdvancing, c.ID, pay.TestClockView(c), nil)
	})
	if err == nil && !a.Replayed {
		s.kickClocks()
	}
	return a, err
}

// advanceLimit is the furthest clock c may advance to in one step: two
// years. (Stripe allows two intervals of the shortest subscription among
// the clock's customers; here every renewal in a longer advance runs, in
// order, so there is no need to refuse it.)
func (s *Service) advanceLimit(ctx context.Context, tx *store.Tx, c *pay.TestClock) (int64, error) {
	return pay.MaxTestClockAdvance(c.FrozenTime), nil
}

// DeleteTestClock deletes a test clock and, as Stripe does, its customers
// (each as a customer DELETE would, with its events), and emits
// test_helpers.test_clock.deleted carrying the clock as it was. It answers
// the deleted object.
func (s *Service) DeleteTestClock(ctx context.Context, call payments.Call, id string) (*payments.Answer, error) {
	if err := pay.CheckTestMode(call.Scope, ""); err != nil {
		return nil, err
	}
	return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		scope := call.Scope
		c, err := tx.FindTestClock(ctx, scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "test clock", id, "id")
		}
		customers, err := tx.FindTestClockCustomers(ctx, scope, id)
		if err != nil {
			return nil, err
		}
		for _, cus := range customers {
			if _, err := payments.DeleteCustomerTx(ctx, tx, scope, cus); err != nil {
				return nil, err
			}
		}
		if err := tx.DeleteTestClock(ctx, scope, id); err != nil {
			return nil, err
		}
		if err := payments.Emit(ctx, tx, scope, pay.EventTestClockDeleted, id, pay.TestClockView(c), nil); err != nil {
			return nil, err
		}
		return pay.DeletedObject{ID: id, Object: pay.TestClockObject, Deleted: true}, nil
	})
}

// advanceBatch is how many advancing clocks one AdvanceClocks run takes on.
const advanceBatch = 100

// AdvanceClocks finishes the advances of the clocks that are advancing, in
// every project: for each, the work due on its customers up to the target
// runs (runDue), then one transaction moves its frozen time to the target,
// makes it ready and emits test_helpers.test_clock.ready. Several instances
// may run it at once on one database: a clock's advance is finished, and
// its ready event written, once.
func (s *Service) AdvanceClocks(ctx context.Context) error {
	clocks, err := s.db.FindAdvancingTestClocks(ctx, advanceBatch)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range clocks {
		if err := s.finishAdvance(ctx, c); err != nil {
			errs = append(errs, fmt.Errorf("advance test clock %s: %w", c.ID, err))
		}
	}
	return errors.Join(errs...)
}

// finishAdvance finishes advancing c to its target, as AdvanceClocks does.
func (s *Service) finishAdvance(ctx context.Context, c *pay.TestClock) error {
	target := c.TargetFrozenTime
	if err := s.runDue(ctx, c, target); err != nil {
		return err // the clock stays advancing; the next run tries again
	}
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		// Only if it is still advancing to the same target: another
		// instance may have finished it, or it was deleted, meanwhile.
		done, err := tx.FinishTestClockAdvance(ctx, c.ID, target)
		if err != nil || !done {
			return err
		}
		ready := *c
		ready.FrozenTime, ready.Status, ready.TargetFrozenTime = target, pay.TestClockReady, 0
		return payments.Emit(ctx, tx, c.Scope, pay.EventTestClockReady, c.ID, pay.TestClockView(&ready), nil)
	})
}

// kickClocks wakes this Service's clock loop, if it is waiting.
func (s *Service) kickClocks() {
	select {
	case s.clockKick <- struct{}{}:
	default: // a run is already due
	}
}

// RunClocks runs AdvanceClocks now, every interval and right after each
// advance this Service accepts, until ctx ends. serve runs it under its
// loop group.
func (s *Service) RunClocks(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		switch err := s.AdvanceClocks(ctx); {
		case err == nil, ctx.Err() != nil:
		case errors.Is(err, errWorkElsewhere):
			s.log.DebugContext(ctx, "test clock advance waits for work claimed elsewhere", "err", err)
		default:
			s.log.ErrorContext(ctx, "advancing test clocks failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.clockKick:
		}
	}
}

// ClockReader reads test clocks: *store.DB (the read pool) or *store.Tx
// (within a transaction, the row locked on PostgreSQL).
type ClockReader interface {
	FindTestClock(ctx context.Context, scope pay.Scope, id string) (*pay.TestClock, error)
}

// ClockNow is "now" for the objects of test clock clockID of scope: its
// frozen time, read through r; the real time when clockID is "".
func (s *Service) ClockNow(ctx context.Context, r ClockReader, scope pay.Scope, clockID string) (time.Time, error) {
	if clockID == "" {
		return s.now(), nil
	}
	c, err := r.FindTestClock(ctx, scope, clockID)
	if err != nil {
		return time.Time{}, fmt.Errorf("the time of test clock %s: %w", clockID, err)
	}
	return c.Now(), nil
}

// clockTime is "now" in unix seconds for the objects of test clock clockID
// of scope (ClockNow), unless at, a time the scheduler runs a step at, is
// set.
func (s *Service) clockTime(ctx context.Context, r ClockReader, scope pay.Scope, clockID string, at int64) (int64, error) {
	if at != 0 {
		return at, nil
	}
	t, err := s.ClockNow(ctx, r, scope, clockID)
	return t.Unix(), err
}

// CustomerNow is "now" for customer c's billing: its test clock's time if
// it has one, else the real time.
func (s *Service) CustomerNow(ctx context.Context, r ClockReader, c *pay.Customer) (time.Time, error) {
	return s.ClockNow(ctx, r, c.Scope, c.TestClock)
}
