package pay

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Dunning is a project's retry schedule for failed invoice payments: what
// the billing scheduler does after a renewal's charge fails.
type Dunning struct {
	// Retries are the delays after the first failed attempt at which the
	// payment is tried again, each counted from the attempt before it.
	Retries []time.Duration `json:"retries"`
	// FinalAction is what becomes of the subscription once every retry
	// has failed: DunningCancel, DunningMarkUnpaid or DunningLeavePastDue.
	FinalAction string `json:"final_action"`
	// InvoiceAction is what becomes of the invoice then:
	// DunningLeaveOpen or DunningMarkUncollectible.
	InvoiceAction string `json:"invoice_action"`
}

// The final actions of a dunning schedule, as Stripe names them.
const (
	DunningCancel            = "cancel"
	DunningMarkUnpaid        = "mark_unpaid"
	DunningLeavePastDue      = "leave_past_due"
	DunningLeaveOpen         = "leave_open"
	DunningMarkUncollectible = "mark_uncollectible"
)

// MaxDunningRetries bounds a schedule's retries, as Stripe's custom
// schedules do; MaxDunningSpan bounds the time from the first failure to
// the last retry.
const (
	MaxDunningRetries = 8
	MaxDunningSpan    = 60 * 24 * time.Hour
)

// DefaultDunning is the original product's schedule: retries about an
// hour, a day and three days after the first failure, then the
// subscription is cancelled and its invoice left open.
func DefaultDunning() Dunning {
	return Dunning{Retries: []time.Duration{time.Hour, 24 * time.Hour, 72 * time.Hour},
		FinalAction: DunningCancel, InvoiceAction: DunningLeaveOpen}
}

// Check reports what is wrong with d, as a 400 naming the setting.
func (d Dunning) Check() error {
	if len(d.Retries) > MaxDunningRetries {
		return InvalidParam("retries", "A dunning schedule has at most %d retries.", MaxDunningRetries)
	}
	var span time.Duration
	for _, r := range d.Retries {
		if r < time.Minute {
			return InvalidParam("retries", "Each retry must come at least a minute after the attempt before it.")
		}
		span += r
	}
	if span > MaxDunningSpan {
		return InvalidParam("retries", "The retries must all fall within %d days of the first failure.", MaxDunningSpan/(24*time.Hour))
	}
	if !slices.Contains([]string{DunningCancel, DunningMarkUnpaid, DunningLeavePastDue}, d.FinalAction) {
		return InvalidParam("final_action", "final_action must be cancel, mark_unpaid or leave_past_due.")
	}
	if !slices.Contains([]string{DunningLeaveOpen, DunningMarkUncollectible}, d.InvoiceAction) {
		return InvalidParam("invoice_action", "invoice_action must be leave_open or mark_uncollectible.")
	}
	return nil
}

// NextAttempt returns when the payment is to be tried again after its
// failed attempt number attempt (1 for the first), counted from at, and
// false when the schedule has no retry left.
func (d Dunning) NextAttempt(attempt int, at time.Time) (time.Time, bool) {
	if attempt < 1 || attempt > len(d.Retries) {
		return time.Time{}, false
	}
	return at.Add(d.Retries[attempt-1]), true
}

// ParseRetries reads a schedule's retries written as comma-separated
// durations with units m, h or d: "1h,1d,3d".
func ParseRetries(s string) ([]time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return nil, nil
	}
	var out []time.Duration
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		var (
			unit time.Duration
			n    int64
		)
		if part != "" {
			unit = map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}[part[len(part)-1]]
			n, _ = strconv.ParseInt(part[:len(part)-1], 10, 32)
		}
		if unit == 0 || n < 1 || strconv.FormatInt(n, 10) != part[:len(part)-1] {
			return nil, InvalidParam("retries", "Write retries as durations such as 1h,1d,3d (units m, h, d): %q is not one.", Clip(part, 20))
		}
		out = append(out, time.Duration(n)*unit)
	}
	return out, nil
}

// FormatRetries writes retries as ParseRetries reads them.
func FormatRetries(rs []time.Duration) string {
	if len(rs) == 0 {
		return "none"
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		switch {
		case r%(24*time.Hour) == 0:
			parts[i] = fmt.Sprintf("%dd", r/(24*time.Hour))
		case r%time.Hour == 0:
			parts[i] = fmt.Sprintf("%dh", r/time.Hour)
		default:
			parts[i] = fmt.Sprintf("%dm", r/time.Minute)
		}
	}
	return strings.Join(parts, ",")
}
