package pay

// taxRateJSON is the tax rate object as Stripe's API version
// 2026-03-25.dahlia shows it.
type taxRateJSON struct {
	ID                  string            `json:"id"`
	Object              string            `json:"object"`
	Active              bool              `json:"active"`
	Country             nullString        `json:"country"`
	Created             int64             `json:"created"`
	Description         nullString        `json:"description"`
	DisplayName         string            `json:"display_name"`
	EffectivePercentage Percent           `json:"effective_percentage"`
	FlatAmount          any               `json:"flat_amount"`
	Inclusive           bool              `json:"inclusive"`
	Jurisdiction        nullString        `json:"jurisdiction"`
	JurisdictionLevel   nullString        `json:"jurisdiction_level"`
	Livemode            bool              `json:"livemode"`
	Metadata            map[string]string `json:"metadata"`
	Percentage          Percent           `json:"percentage"`
	RateType            string            `json:"rate_type"`
	State               nullString        `json:"state"`
	TaxType             nullString        `json:"tax_type"`
}

// TaxRateView renders a tax rate as the API and its events show it. A
// manual rate's effective percentage is its percentage (Stripe Tax's
// reductions for non-taxable jurisdictions do not apply), and it has no
// flat amount.
func TaxRateView(t *TaxRate) any {
	return taxRateJSON{
		ID: t.ID, Object: "tax_rate", Active: t.Active, Country: nullString(t.Country), Created: t.Created,
		Description: nullString(t.Description), DisplayName: t.DisplayName, EffectivePercentage: t.Percentage,
		Inclusive: t.Inclusive, Jurisdiction: nullString(t.Jurisdiction), JurisdictionLevel: nullString(t.JurisdictionLevel),
		Livemode: t.Scope.Livemode, Metadata: nonNil(t.Metadata), Percentage: t.Percentage, RateType: "percentage",
		State: nullString(t.State), TaxType: nullString(t.TaxType),
	}
}
