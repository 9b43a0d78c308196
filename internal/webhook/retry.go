package webhook

import (
	"cmp"
	"time"
)

// RetryPolicy schedules the attempts after a failed delivery: exponential
// backoff with jitter, for a limited window.
//
// With the defaults, retry n waits about First·2^(n−1) (1, 2, 4, 8, 16, 32
// minutes, then 1h04, 2h08, 4h16) capped at Max (8 hours), each wait moved
// at random by up to ±20%, so that deliveries failing together do not retry
// together. The last attempt is made when Window (3 days) after the first
// has passed; a failure then gives the delivery up. That is about 17
// attempts in all.
type RetryPolicy struct {
	First  time.Duration // wait after the first failure. Defaults to 1 minute.
	Max    time.Duration // longest wait. Defaults to 8 hours.
	Window time.Duration // retries stop this long after the window start. Defaults to 72 hours.
	// Jitter is the fraction by which a wait is moved at random, either way.
	// Defaults to 0.2; negative for none.
	Jitter float64
}

// DefaultRetryPolicy returns the policy serve uses.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{}.withDefaults()
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	p.First = cmp.Or(p.First, time.Minute)
	p.Max = cmp.Or(p.Max, 8*time.Hour)
	p.Window = cmp.Or(p.Window, 72*time.Hour)
	p.Jitter = cmp.Or(p.Jitter, 0.2)
	if p.Jitter < 0 {
		p.Jitter = 0
	}
	return p
}

// Wait returns the nominal wait after the failed attempt number attempt
// (1-based), before jitter.
func (p RetryPolicy) Wait(attempt int) time.Duration {
	p = p.withDefaults()
	d := p.First
	for i := 1; i < attempt && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// Next returns when to try again after attempt number attempt failed at now,
// for a delivery whose window began at windowStart, or false to give up.
// r is a random number in [0, 1) that places the jitter.
func (p RetryPolicy) Next(attempt int, windowStart, now time.Time, r float64) (time.Time, bool) {
	p = p.withDefaults()
	deadline := windowStart.Add(p.Window)
	if !now.Before(deadline) {
		return time.Time{}, false
	}
	wait := p.Wait(attempt)
	wait += time.Duration(float64(wait) * p.Jitter * (2*r - 1))
	next := now.Add(max(wait, time.Second))
	if next.After(deadline) {
		next = deadline // one last attempt when the window closes
	}
	return next, true
}
