package pay

import "time"

// Subscription statuses, as Stripe names them.
const (
	SubscriptionIncomplete        = "incomplete"
	SubscriptionIncompleteExpired = "incomplete_expired"
	SubscriptionTrialing          = "trialing"
	SubscriptionActive            = "active"
	SubscriptionPastDue           = "past_due"
	SubscriptionUnpaid            = "unpaid"
	SubscriptionCanceled          = "canceled"
	SubscriptionPaused            = "paused"
)

// SubscriptionStatuses lists every status, in Stripe's order.
var SubscriptionStatuses = []string{SubscriptionIncomplete, SubscriptionIncompleteExpired, SubscriptionTrialing,
	SubscriptionActive, SubscriptionPastDue, SubscriptionUnpaid, SubscriptionCanceled, SubscriptionPaused}

// PrefixSubscription and PrefixSubscriptionItem are Stripe's ID prefixes.
const (
	PrefixSubscription     = "sub_"
	PrefixSubscriptionItem = "si_"
)

// IncompleteExpiry is how long a subscription may stay incomplete before
// it expires (Stripe: 23 hours).
const IncompleteExpiry = 23 * 3600

// MaxSubscriptionItems is how many items a subscription may have.
const MaxSubscriptionItems = 20

// Subscription bills a customer for its items every period. All items
// share one period (Stripe's classic billing mode), kept on the
// subscription. Times are unix seconds, 0 when not set.
type Subscription struct {
	ID      string
	Scope   Scope
	Created int64

	Customer             string
	Status               string // SubscriptionActive, …
	Currency             string
	CollectionMethod     string // CollectCharge or CollectSend
	DaysUntilDue         int64  // send_invoice only
	DefaultPaymentMethod string
	DefaultTaxRates      []*TaxRate
	Description          string
	CancelAtPeriodEnd    bool
	CancelAt             int64
	CanceledAt           int64
	EndedAt              int64
	TrialStart           int64
	TrialEnd             int64
	BillingCycleAnchor   int64
	StartDate            int64
	CurrentPeriodStart   int64
	CurrentPeriodEnd     int64
	LatestInvoice        string
	Metadata             map[string]string
	TestClock            string
	// NextActionAt is when the scheduler next has work on it: the period's
	// end, the trial's end, cancel_at or the incomplete expiry; 0: never.
	NextActionAt int64

	// PauseCollection, when set, pauses collection: renewal invoices are
	// voided, kept as drafts or marked uncollectible as Behavior says,
	// until ResumesAt (0: until unpaused).
	PauseCollection *PauseCollection `json:",omitempty"`
	// TrialMissingPaymentMethod is what the trial's end does when there is
	// no payment method (trial_settings[end_behavior][missing_payment_method]):
	// TrialEndCreateInvoice ("" too), TrialEndCancel or TrialEndPause.
	TrialMissingPaymentMethod string `json:",omitempty"`
	// CancellationReason is cancellation_details.reason:
	// "cancellation_requested", "payment_failed" or "" (none).
	CancellationReason string `json:",omitempty"`
	// CancellationComment and CancellationFeedback are
	// cancellation_details.comment and .feedback, as the merchant set them
	// ("" : none); Feedback is one of CancellationFeedbacks.
	CancellationComment  string `json:",omitempty"`
	CancellationFeedback string `json:",omitempty"`

	// The scheduler's bookkeeping: whether trial_will_end was sent for the
	// current trial, and the period end that invoice.upcoming was last sent
	// for.
	TrialWillEndSent bool  `json:",omitempty"`
	UpcomingSentFor  int64 `json:",omitempty"`

	Items []*SubscriptionItem
}

// SubscriptionItem is one price billed by a subscription.
type SubscriptionItem struct {
	ID           string
	Subscription string
	Created      int64
	Price        *Price
	Quantity     int64
	TaxRates     []*TaxRate
	Metadata     map[string]string

	// CurrentPeriodStart and CurrentPeriodEnd are its subscription's
	// period, copied when the item is read, for the item's own object.
	CurrentPeriodStart int64
	CurrentPeriodEnd   int64
	// Deleted: the item was just removed (its answer is a deleted object).
	Deleted bool
}

// PauseCollection is a subscription's pause_collection.
type PauseCollection struct {
	Behavior  string // PauseKeepAsDraft, PauseMarkUncollectible or PauseVoid
	ResumesAt int64  // 0: none
}

// Behaviours of pause_collection.
const (
	PauseKeepAsDraft       = "keep_as_draft"
	PauseMarkUncollectible = "mark_uncollectible"
	PauseVoid              = "void"
)

// Trial end behaviours when the customer has no payment method.
const (
	TrialEndCreateInvoice = "create_invoice"
	TrialEndCancel        = "cancel"
	TrialEndPause         = "pause"
)

// Ended reports whether the subscription is over: canceled or expired.
func (s *Subscription) Ended() bool {
	return s.Status == SubscriptionCanceled || s.Status == SubscriptionIncompleteExpired
}

// Live reports whether the scheduler still has work on a subscription of
// this status.
func SubscriptionLive(status string) bool {
	return status != SubscriptionCanceled && status != SubscriptionIncompleteExpired
}

// Notice periods of the scheduler's advance events: trial_will_end three
// days before a trial ends, invoice.upcoming seven days before a renewal
// (Stripe's defaults).
const (
	TrialWillEndNotice = 3 * 86400
	UpcomingNotice     = 7 * 86400
)

// RenewsAt is when the subscription's next invoice is made: the trial's
// end while trialing, else the period's end; 0 when it makes none (ended,
// incomplete or paused).
func (s *Subscription) RenewsAt() int64 {
	switch s.Status {
	case SubscriptionTrialing:
		return s.TrialEnd
	case SubscriptionActive, SubscriptionPastDue, SubscriptionUnpaid:
		return s.CurrentPeriodEnd
	}
	return 0
}

// TrialWillEndAt is when customer.subscription.trial_will_end is due: three
// days before the trial ends (at its start if shorter), 0 if not trialing
// or already sent.
func (s *Subscription) TrialWillEndAt() int64 {
	if s.Status != SubscriptionTrialing || s.TrialWillEndSent || s.TrialEnd == 0 {
		return 0
	}
	return max(s.TrialEnd-TrialWillEndNotice, s.TrialStart)
}

// UpcomingAt is when invoice.upcoming is due for the next renewal: seven
// days before it, when the period is longer than that; 0 when not due (no
// renewal, sent already, or the subscription ends first).
func (s *Subscription) UpcomingAt() int64 {
	r := s.RenewsAt()
	if r == 0 || s.UpcomingSentFor == r || s.CancelAt != 0 && s.CancelAt <= r {
		return 0
	}
	start := s.CurrentPeriodStart
	if s.Status == SubscriptionTrialing {
		start = s.TrialStart
	}
	if at := r - UpcomingNotice; at > start {
		return at
	}
	return 0
}

// ComputeNextActionAt sets NextActionAt from the subscription's state: the
// earliest of its renewal (period or trial end), cancel_at, the end of a
// pause of collection, the trial_will_end and invoice.upcoming notices
// and, while incomplete, the expiry; 0 once it has ended.
func (s *Subscription) ComputeNextActionAt() {
	if s.Ended() {
		s.NextActionAt = 0
		return
	}
	next := int64(0)
	at := func(t int64) {
		if t != 0 && (next == 0 || t < next) {
			next = t
		}
	}
	at(s.RenewsAt())
	at(s.CancelAt)
	at(s.TrialWillEndAt())
	at(s.UpcomingAt())
	if s.PauseCollection != nil {
		at(s.PauseCollection.ResumesAt)
	}
	if s.Status == SubscriptionIncomplete {
		at(s.Created + IncompleteExpiry)
	}
	s.NextActionAt = next
}

// AddIntervals returns anchor moved n×count intervals forward, in UTC. A
// month or year lands on the anchor's day of the month, clamped to the
// month's last day: from 31 January, one month is 28 or 29 February and
// two months 31 March, as Stripe bills.
func AddIntervals(anchor int64, interval string, count, n int64) int64 {
	t := time.Unix(anchor, 0).UTC()
	switch interval {
	case IntervalDay:
		return t.AddDate(0, 0, int(count*n)).Unix()
	case IntervalWeek:
		return t.AddDate(0, 0, int(7*count*n)).Unix()
	case IntervalYear:
		count *= 12
	}
	months := int(t.Month()) - 1 + int(count*n)
	y, m := t.Year()+months/12, months%12
	if m < 0 {
		y, m = y-1, m+12
	}
	d := min(t.Day(), daysIn(y, time.Month(m+1)))
	return time.Date(y, time.Month(m+1), d, t.Hour(), t.Minute(), t.Second(), 0, time.UTC).Unix()
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// PeriodEndAfter returns the first of anchor + k intervals (k ≥ 1 when
// anchor ≤ start) that is after start: the end of the period that starts at
// start, for a subscription billed on anchor's cycle.
func PeriodEndAfter(anchor, start int64, interval string, count int64) int64 {
	if anchor > start {
		// A future anchor ends the first (shorter) period.
		return anchor
	}
	var n int64 = 1
	for {
		end := AddIntervals(anchor, interval, count, n)
		if end > start {
			return end
		}
		n++
	}
}
