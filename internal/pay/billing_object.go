package pay

import "strconv"

// This file holds the Stripe object shapes of the billing catalogue
// (products and prices) at APIVersion; see object.go for the conventions.

type marketingFeatureJSON struct {
	Name string `json:"name"`
}

// productJSON is the product object. Calmony Pay has services only, so
// package_dimensions, shippable and tax_code are always null.
type productJSON struct {
	ID                  string                 `json:"id"`
	Object              string                 `json:"object"`
	Active              bool                   `json:"active"`
	Created             int64                  `json:"created"`
	DefaultPrice        nullString             `json:"default_price"`
	Description         nullString             `json:"description"`
	Images              []string               `json:"images"`
	Livemode            bool                   `json:"livemode"`
	MarketingFeatures   []marketingFeatureJSON `json:"marketing_features"`
	Metadata            map[string]string      `json:"metadata"`
	Name                string                 `json:"name"`
	PackageDimensions   any                    `json:"package_dimensions"`
	Shippable           any                    `json:"shippable"`
	StatementDescriptor nullString             `json:"statement_descriptor"`
	TaxCode             any                    `json:"tax_code"`
	Type                string                 `json:"type"`
	UnitLabel           nullString             `json:"unit_label"`
	Updated             int64                  `json:"updated"`
	URL                 nullString             `json:"url"`
}

// ProductView renders a product as the API and its events show it.
func ProductView(p *Product) any {
	v := productJSON{ID: p.ID, Object: "product", Active: p.Active, Created: p.Created, DefaultPrice: nullString(p.DefaultPrice),
		Description: nullString(p.Description), Images: p.Images, Livemode: p.Scope.Livemode,
		MarketingFeatures: make([]marketingFeatureJSON, 0, len(p.MarketingFeatures)), Metadata: nonNil(p.Metadata), Name: p.Name,
		StatementDescriptor: nullString(p.StatementDescriptor), Type: "service", UnitLabel: nullString(p.UnitLabel), Updated: p.Updated,
		URL: nullString(p.URL)}
	if v.Images == nil {
		v.Images = []string{}
	}
	for _, f := range p.MarketingFeatures {
		v.MarketingFeatures = append(v.MarketingFeatures, marketingFeatureJSON{Name: f})
	}
	return v
}

type recurringJSON struct {
	Interval        string `json:"interval"`
	IntervalCount   int64  `json:"interval_count"`
	Meter           any    `json:"meter"`
	TrialPeriodDays *int64 `json:"trial_period_days"`
	UsageType       string `json:"usage_type"`
}

// priceJSON is the price object. Calmony Pay's prices are per unit, in one
// currency, with a whole number of minor units: billing_scheme is always
// per_unit, custom_unit_amount, tiers_mode and transform_quantity null, and
// unit_amount_decimal is unit_amount as a string, as Stripe writes it.
type priceJSON struct {
	ID                string            `json:"id"`
	Object            string            `json:"object"`
	Active            bool              `json:"active"`
	BillingScheme     string            `json:"billing_scheme"`
	Created           int64             `json:"created"`
	Currency          string            `json:"currency"`
	CustomUnitAmount  any               `json:"custom_unit_amount"`
	Livemode          bool              `json:"livemode"`
	LookupKey         nullString        `json:"lookup_key"`
	Metadata          map[string]string `json:"metadata"`
	Nickname          nullString        `json:"nickname"`
	Product           string            `json:"product"`
	Recurring         *recurringJSON    `json:"recurring"`
	TaxBehavior       string            `json:"tax_behavior"`
	TiersMode         any               `json:"tiers_mode"`
	TransformQuantity any               `json:"transform_quantity"`
	Type              string            `json:"type"`
	UnitAmount        int64             `json:"unit_amount"`
	UnitAmountDecimal string            `json:"unit_amount_decimal"`
}

// PriceView renders a price as the API and its events show it.
func PriceView(p *Price) any {
	v := priceJSON{ID: p.ID, Object: "price", Active: p.Active, BillingScheme: "per_unit", Created: p.Created, Currency: p.Currency,
		Livemode: p.Scope.Livemode, LookupKey: nullString(p.LookupKey), Metadata: nonNil(p.Metadata), Nickname: nullString(p.Nickname),
		Product: p.Product, TaxBehavior: p.TaxBehavior, Type: p.Type(), UnitAmount: p.UnitAmount,
		UnitAmountDecimal: strconv.FormatInt(p.UnitAmount, 10)}
	if r := p.Recurring; r != nil {
		v.Recurring = &recurringJSON{Interval: r.Interval, IntervalCount: r.IntervalCount, UsageType: "licensed"}
		if r.TrialPeriodDays > 0 {
			days := r.TrialPeriodDays
			v.Recurring.TrialPeriodDays = &days
		}
	}
	return v
}
