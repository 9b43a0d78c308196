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

// ComputeNextActionAt sets NextActionAt from the subscription's state: the
// earliest of its period end (or trial end), cancel_at and, while
// incomplete, the expiry; 0 once it has ended.
func (s *Subscription) ComputeNextActionAt() {
	if s.Ended() {
		s.NextActionAt = 0
		return
	}
	next := s.CurrentPeriodEnd
	if s.Status == SubscriptionTrialing && s.TrialEnd != 0 {
		next = min(next, s.TrialEnd)
	}
	if s.CancelAt != 0 {
		next = min(next, s.CancelAt)
	}
	if s.Status == SubscriptionIncomplete {
		next = min(next, s.Created+IncompleteExpiry)
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
