package pay

import (
	"testing"
	"time"
)

func TestAddIntervals(t *testing.T) {
	at := func(y int, m time.Month, d int) int64 { return time.Date(y, m, d, 12, 30, 0, 0, time.UTC).Unix() }
	cases := []struct {
		name     string
		anchor   int64
		interval string
		count, n int64
		want     int64
	}{
		{"31 Jan + 1 month, leap", at(2024, 1, 31), IntervalMonth, 1, 1, at(2024, 2, 29)},
		{"31 Jan + 1 month", at(2025, 1, 31), IntervalMonth, 1, 1, at(2025, 2, 28)},
		{"31 Jan + 2 months back to the 31st", at(2025, 1, 31), IntervalMonth, 1, 2, at(2025, 3, 31)},
		{"31 Jan + 3 months", at(2025, 1, 31), IntervalMonth, 1, 3, at(2025, 4, 30)},
		{"30 Nov + 3 months crosses the year", at(2025, 11, 30), IntervalMonth, 1, 3, at(2026, 2, 28)},
		{"quarterly", at(2025, 1, 15), IntervalMonth, 3, 2, at(2025, 7, 15)},
		{"29 Feb + 1 year", at(2024, 2, 29), IntervalYear, 1, 1, at(2025, 2, 28)},
		{"29 Feb + 4 years", at(2024, 2, 29), IntervalYear, 1, 4, at(2028, 2, 29)},
		{"week", at(2025, 12, 29), IntervalWeek, 2, 1, at(2026, 1, 12)},
		{"day", at(2025, 12, 31), IntervalDay, 1, 1, at(2026, 1, 1)},
	}
	for _, c := range cases {
		if got := AddIntervals(c.anchor, c.interval, c.count, c.n); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, time.Unix(got, 0).UTC(), time.Unix(c.want, 0).UTC())
		}
	}
}

func TestPeriodEndAfter(t *testing.T) {
	at := func(y int, m time.Month, d int) int64 { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() }
	anchor := at(2025, 1, 31)
	if got := PeriodEndAfter(anchor, anchor, IntervalMonth, 1); got != at(2025, 2, 28) {
		t.Errorf("first period ends %s", time.Unix(got, 0).UTC())
	}
	if got := PeriodEndAfter(anchor, at(2025, 2, 28), IntervalMonth, 1); got != at(2025, 3, 31) {
		t.Errorf("second period ends %s", time.Unix(got, 0).UTC())
	}
	if got := PeriodEndAfter(at(2025, 2, 10), at(2025, 2, 1), IntervalMonth, 1); got != at(2025, 2, 10) {
		t.Errorf("a future anchor ends the first period: %s", time.Unix(got, 0).UTC())
	}
}

func TestComputeNextActionAt(t *testing.T) {
	s := &Subscription{Status: SubscriptionIncomplete, Created: 1000, CurrentPeriodEnd: 1000 + 30*86400}
	s.ComputeNextActionAt()
	if s.NextActionAt != 1000+IncompleteExpiry {
		t.Errorf("incomplete: %d", s.NextActionAt)
	}
	s.Status, s.CancelAt = SubscriptionActive, 5000
	s.ComputeNextActionAt()
	if s.NextActionAt != 5000 {
		t.Errorf("cancel_at: %d", s.NextActionAt)
	}
	s.Status = SubscriptionCanceled
	s.ComputeNextActionAt()
	if s.NextActionAt != 0 {
		t.Errorf("canceled: %d", s.NextActionAt)
	}
}
