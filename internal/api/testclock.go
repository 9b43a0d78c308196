package api

import (
	"context"
	"net/http"

	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
)

// maxFrozenTime is the latest frozen_time accepted: the last second of
// the year 9999, as far as timestamps go.
const maxFrozenTime = 253402300799

// testHelper refuses a test helper route to a live-mode key.
func testHelper(r *http.Request) error {
	return pay.CheckTestMode(keyFrom(r.Context()).Scope(), "")
}

// readFrozenTime reads the required frozen_time, a unix time.
func readFrozenTime(p *params) int64 {
	t := p.RequireInt64("frozen_time")
	if t < 0 || t > maxFrozenTime {
		p.Fail("frozen_time", "parameter_invalid_integer", "frozen_time must be a unix time in seconds, from 0 to 253402300799.")
	}
	return t
}

func (s *Server) createTestClock(r *http.Request, p *params) (opFunc, error) {
	if err := testHelper(r); err != nil {
		return nil, err
	}
	tp := billing.TestClockParams{FrozenTime: readFrozenTime(p)}
	if name := readText(p, "name", pay.MaxTestClockNameLen); name != nil {
		tp.Name = *name
	}
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.CreateTestClock(ctx, call, tp)
	}, nil
}

func (s *Server) retrieveTestClock(r *http.Request, p *params) (readFunc, error) {
	if err := testHelper(r); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		c, err := s.db.FindTestClock(ctx, scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "test clock", id, "id")
		}
		return c, nil
	}, nil
}

func (s *Server) listTestClocks(r *http.Request, p *params) (readFunc, error) {
	if err := testHelper(r); err != nil {
		return nil, err
	}
	page := readCursor(p)
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		l, err := s.db.FindTestClocks(ctx, scope, page)
		if err != nil {
			return nil, err
		}
		return newList(pay.TestClockObject, "/v1/test_helpers/test_clocks", l, pay.TestClockView), nil
	}, nil
}

func (s *Server) advanceTestClock(r *http.Request, p *params) (opFunc, error) {
	if err := testHelper(r); err != nil {
		return nil, err
	}
	id, target := r.PathValue("id"), readFrozenTime(p)
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.AdvanceTestClock(ctx, call, id, target)
	}, nil
}

func (s *Server) deleteTestClock(r *http.Request, p *params) (opFunc, error) {
	if err := testHelper(r); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.DeleteTestClock(ctx, call, id)
	}, nil
}
