package pay

import (
	"fmt"
	"math/big"
	"time"
)

// Prorate returns the part of full (a whole period's amount, in minor
// units) that remaining seconds of a period of length seconds are worth:
// full × remaining / length, computed exactly and rounded to the nearest
// minor unit, a half away from zero. Rounding the credit and the debit of
// the same amount alike makes them cancel exactly. It is 0 when length is
// not positive.
func Prorate(full, remaining, length int64) int64 {
	if length <= 0 || remaining <= 0 || full == 0 {
		return 0
	}
	remaining = min(remaining, length)
	// full × remaining may exceed int64 (1,000,000 seats of a 99,999,999
	// price over a year of seconds), so multiply in big integers.
	n := new(big.Int).Mul(big.NewInt(full), big.NewInt(remaining))
	neg := n.Sign() < 0
	n.Abs(n)
	n.Mul(n, big.NewInt(2))
	n.Add(n, big.NewInt(length))
	n.Quo(n, big.NewInt(2*length))
	if neg {
		n.Neg(n)
	}
	return n.Int64()
}

// PeriodLength is the length in seconds of the billing period a
// subscription's prorations are measured against: its current period's,
// except for a first period shortened by a future billing_cycle_anchor,
// which is measured against a whole interval (it was charged as that
// fraction of a whole one).
func (s *Subscription) PeriodLength() int64 {
	start, end := s.CurrentPeriodStart, s.CurrentPeriodEnd
	if rec := s.Recurring(); rec != nil && s.BillingCycleAnchor >= end && s.TrialEnd < end {
		start = min(start, AddIntervals(end, rec.Interval, rec.IntervalCount, -1))
	}
	return end - start
}

// Recurring returns the interval the subscription bills on: its items'
// (which all share one), or nil if it has none.
func (s *Subscription) Recurring() *Recurring {
	for _, it := range s.Items {
		if it.Price != nil && it.Price.Recurring != nil {
			return it.Price.Recurring
		}
	}
	return nil
}

// SameInterval reports whether a and b bill on the same interval.
func SameInterval(a, b *Recurring) bool {
	return a != nil && b != nil && a.Interval == b.Interval && a.IntervalCount == b.IntervalCount
}

// ProrationDescription is the description Stripe gives a proration:
// "Unused time on 2 × Gold after 15 Jan 2026" for a credit, "Remaining time
// on Gold after 15 Jan 2026" for a debit of one unit.
func ProrationDescription(credit bool, quantity int64, product string, at int64) string {
	what := product
	if quantity != 1 {
		what = fmt.Sprintf("%d × %s", quantity, product)
	}
	kind := "Remaining"
	if credit {
		kind = "Unused"
	}
	return fmt.Sprintf("%s time on %s after %s", kind, what, time.Unix(at, 0).UTC().Format("02 Jan 2006"))
}

// CancellationFeedbacks are the values cancellation_details[feedback] may
// take.
var CancellationFeedbacks = []string{"customer_service", "low_quality", "missing_features", "other", "switched_service",
	"too_complex", "too_expensive", "unused"}

// CancellationRequested is the cancellation reason of a subscription the
// merchant canceled or scheduled to cancel.
const CancellationRequested = "cancellation_requested"
