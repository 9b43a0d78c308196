package pay

// ID prefixes of the billing catalogue.
const (
	PrefixProduct = "prod_"
	PrefixPrice   = "price_"
)

// Product is something a merchant sells: the catalogue entry prices are
// attached to. Products are always of Stripe's type "service". An empty
// string means the field is not set.
type Product struct {
	ID      string
	Scope   Scope
	Created int64
	Updated int64

	Name        string
	Active      bool
	Description string
	// DefaultPrice is the ID of one of the product's own prices, or "".
	DefaultPrice        string
	Images              []string // URLs, at most MaxProductImages
	MarketingFeatures   []string // feature names, at most MaxMarketingFeatures
	Metadata            map[string]string
	StatementDescriptor string
	UnitLabel           string
	URL                 string
}

// Stripe's limits on a product's lists.
const (
	MaxProductImages     = 8
	MaxMarketingFeatures = 15
)

// ProductUpdate is a create or update of a product: a non-nil field is
// set, a nil one left as it is.
type ProductUpdate struct {
	Name, Description, StatementDescriptor, UnitLabel, URL, DefaultPrice *string

	Active            *bool
	Images            *[]string // non-nil: replaces the list (empty: clears it)
	MarketingFeatures *[]string // non-nil: replaces the list (empty: clears it)
	Metadata          MetadataUpdate
}

// Apply sets the sent fields on p. It checks nothing: whether the default
// price is one of the product's own is checked against the store.
func (u ProductUpdate) Apply(p *Product) {
	set(&p.Name, u.Name)
	set(&p.Description, u.Description)
	set(&p.StatementDescriptor, u.StatementDescriptor)
	set(&p.UnitLabel, u.UnitLabel)
	set(&p.URL, u.URL)
	set(&p.DefaultPrice, u.DefaultPrice)
	if u.Active != nil {
		p.Active = *u.Active
	}
	if u.Images != nil {
		p.Images = *u.Images
	}
	if u.MarketingFeatures != nil {
		p.MarketingFeatures = *u.MarketingFeatures
	}
	p.Metadata = u.Metadata.Apply(p.Metadata)
}

// Recurring intervals, as Stripe names them.
const (
	IntervalDay   = "day"
	IntervalWeek  = "week"
	IntervalMonth = "month"
	IntervalYear  = "year"
)

// Intervals lists the recurring intervals a price may have.
var Intervals = []string{IntervalDay, IntervalWeek, IntervalMonth, IntervalYear}

// MaxIntervalCount is the largest interval_count a price may have with
// interval: a billing period is at most one year long (365 days, 52 weeks,
// 12 months or 1 year). It is 0 for an unknown interval.
func MaxIntervalCount(interval string) int64 {
	switch interval {
	case IntervalDay:
		return 365
	case IntervalWeek:
		return 52
	case IntervalMonth:
		return 12
	case IntervalYear:
		return 1
	}
	return 0
}

// MaxTrialPeriodDays is the longest default trial a recurring price may
// offer, as Stripe allows.
const MaxTrialPeriodDays = 730

// Recurring is how often a recurring price bills. Its usage type is always
// Stripe's "licensed" (billed per quantity, not metered).
type Recurring struct {
	Interval        string // one of Intervals
	IntervalCount   int64  // 1 to MaxIntervalCount(Interval)
	TrialPeriodDays int64  // 0: none
}

// Tax behaviours a price may have.
var TaxBehaviors = []string{"exclusive", "inclusive", "unspecified"}

// TaxBehaviorUnspecified is a price's tax behaviour until one is chosen;
// once it is inclusive or exclusive it cannot change.
const TaxBehaviorUnspecified = "unspecified"

// Price is what a product costs and how often: a one-time price, or a
// recurring one when Recurring is set. Its amount, currency and recurrence
// never change once it is created; a new price replaces it.
type Price struct {
	ID      string
	Scope   Scope
	Created int64

	Product     string
	Active      bool
	Currency    string
	UnitAmount  int64 // minor units per unit, at least 0
	Recurring   *Recurring
	LookupKey   string // unique among the scope's active prices, or ""
	Nickname    string
	TaxBehavior string // one of TaxBehaviors
	Metadata    map[string]string
}

// Price types.
const (
	PriceOneTime   = "one_time"
	PriceRecurring = "recurring"
)

// Type is one_time or recurring.
func (p *Price) Type() string {
	if p.Recurring != nil {
		return PriceRecurring
	}
	return PriceOneTime
}

// MaxUnitAmount is the largest unit amount a price may have, in minor
// units, the same cap as a payment's amount.
const MaxUnitAmount = 99999999

// PriceUpdate is an update of a price: a non-nil field is set, a nil one
// left as it is. Only these fields of a price can change.
type PriceUpdate struct {
	Active                           *bool
	LookupKey, Nickname, TaxBehavior *string
	Metadata                         MetadataUpdate
}

// Apply sets the sent fields on p. It checks nothing.
func (u PriceUpdate) Apply(p *Price) {
	if u.Active != nil {
		p.Active = *u.Active
	}
	set(&p.LookupKey, u.LookupKey)
	set(&p.Nickname, u.Nickname)
	set(&p.TaxBehavior, u.TaxBehavior)
	p.Metadata = u.Metadata.Apply(p.Metadata)
}
