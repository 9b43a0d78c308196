package pay

import (
	"errors"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// PrefixTaxRate is the tax rate ID prefix, as Stripe uses it.
const PrefixTaxRate = "txr_"

// Percent is a percentage held exactly, in ten-thousandths of a percent:
// 20 % is 200000, 17.5 % is 175000, 0.0001 % is 1. Stripe's tax rates
// have at most four decimal places, so no float is ever needed (a float
// would make 17.5 % of an amount depend on binary rounding).
type Percent int64

// PercentUnit is one percent in Percent's units.
const PercentUnit Percent = 10000

// percentDecimals is how many decimal places a Percent holds.
const percentDecimals = 4

// MaxPercent is the largest percentage a tax rate may have: 100 %.
const MaxPercent = 100 * PercentUnit

// Why ParsePercent refuses a value.
var (
	ErrPercentSyntax    = errors.New("must be a decimal number such as 20 or 17.5")
	ErrPercentRange     = errors.New("must be between 0 and 100")
	ErrPercentPrecision = errors.New("may have at most 4 decimal places")
)

// ParsePercent reads a decimal percentage ("20", "17.5", "17.5000",
// "0.0001") exactly. Digits past the fourth decimal place must be zeros
// (stripe-go always sends four places). Signs other than a leading "-",
// exponents and anything else but digits and one point are refused.
func ParsePercent(s string) (Percent, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || !allDigits(whole) || !allDigits(frac) {
		return 0, ErrPercentSyntax
	}
	if len(frac) > percentDecimals {
		if strings.Trim(frac[percentDecimals:], "0") != "" {
			return 0, ErrPercentPrecision
		}
		frac = frac[:percentDecimals]
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 3 { // at least 1000 %
		return 0, ErrPercentRange
	}
	w, _ := strconv.ParseInt("0"+whole, 10, 64)
	f, _ := strconv.ParseInt(frac+strings.Repeat("0", percentDecimals-len(frac)), 10, 64)
	p := Percent(w)*PercentUnit + Percent(f)
	if neg && p != 0 || p > MaxPercent {
		return 0, ErrPercentRange
	}
	return p, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String writes p as the shortest decimal that is exactly p: "20", "17.5",
// "0.0001".
func (p Percent) String() string {
	sign := ""
	if p < 0 {
		sign, p = "-", -p
	}
	s := strconv.FormatInt(int64(p/PercentUnit), 10)
	if frac := p % PercentUnit; frac != 0 {
		s += "." + strings.TrimRight(strconv.FormatInt(int64(frac+PercentUnit), 10)[1:], "0")
	}
	return sign + s
}

// UnmarshalJSON reads what MarshalJSON writes, exactly.
func (p *Percent) UnmarshalJSON(b []byte) error {
	v, err := ParsePercent(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// MarshalJSON writes p as a JSON number with no more digits than it has
// (20, 17.5), which a float64 decoder reads back as the nearest double.
func (p Percent) MarshalJSON() ([]byte, error) { return []byte(p.String()), nil }

// TaxRate is a merchant's tax rate, such as UK VAT at 20 %: a percentage
// that invoices and checkout sessions apply to amounts. Its percentage and
// whether it is inclusive never change once created (documents already
// computed with it must stay right); a rate no longer charged is archived
// (Active false), never deleted. Empty strings are unset fields.
type TaxRate struct {
	ID      string
	Scope   Scope
	Created int64

	Active      bool
	DisplayName string // shown to customers, e.g. "VAT"
	Description string // for the merchant only
	Percentage  Percent
	// Inclusive: the tax is contained in the amounts it applies to (UK
	// consumer prices); otherwise it is added on top.
	Inclusive         bool
	Country           string // ISO 3166-1 alpha-2, upper case
	State             string // ISO 3166-2 subdivision, without the country
	Jurisdiction      string // a label for tax reporting
	JurisdictionLevel string // one of JurisdictionLevels
	TaxType           string // one of TaxTypes
	Metadata          map[string]string
}

// TaxTypes are the tax types a tax rate may have, as Stripe lists them.
var TaxTypes = []string{"amusement_tax", "communications_tax", "gst", "hst", "igst", "jct", "lease_tax", "pst", "qst",
	"retail_delivery_fee", "rst", "sales_tax", "service_tax", "vat"}

// JurisdictionLevels are the jurisdiction levels a tax rate may have.
var JurisdictionLevels = []string{"city", "country", "county", "district", "multiple", "state"}

// Tax rates' text limits, as Stripe's.
const (
	MaxTaxRateDisplayName  = 50
	MaxTaxRateJurisdiction = 50
	MaxTaxRateDescription  = 5000
)

// TaxRateUpdate is a change to a tax rate's mutable fields: a non-nil field
// is set ("" unsets an optional one), a nil one left as it is. Percentage
// and Inclusive are not here: they are fixed at creation.
type TaxRateUpdate struct {
	Active                                            *bool
	DisplayName, Description, Country, State, TaxType *string
	Jurisdiction, JurisdictionLevel                   *string
	Metadata                                          MetadataUpdate
}

// Apply sets the sent fields on t. It checks nothing: Check does, on the
// result.
func (u TaxRateUpdate) Apply(t *TaxRate) {
	if u.Active != nil {
		t.Active = *u.Active
	}
	set(&t.DisplayName, u.DisplayName)
	set(&t.Description, u.Description)
	set(&t.Country, u.Country)
	set(&t.State, u.State)
	set(&t.Jurisdiction, u.Jurisdiction)
	set(&t.JurisdictionLevel, u.JurisdictionLevel)
	set(&t.TaxType, u.TaxType)
	t.Metadata = u.Metadata.Apply(t.Metadata)
}

// Check returns the first field of t that a tax rate may not have, as a
// parameter_invalid error naming its parameter.
func (t *TaxRate) Check() error {
	switch {
	case t.DisplayName == "":
		return InvalidRequest("parameter_invalid_empty", "display_name", "display_name cannot be empty.")
	case utf8.RuneCountInString(t.DisplayName) > MaxTaxRateDisplayName:
		return InvalidRequest("parameter_invalid_string_too_long", "display_name", "display_name must be at most %d characters.", MaxTaxRateDisplayName)
	case utf8.RuneCountInString(t.Description) > MaxTaxRateDescription:
		return InvalidRequest("parameter_invalid_string_too_long", "description", "description must be at most %d characters.", MaxTaxRateDescription)
	case utf8.RuneCountInString(t.Jurisdiction) > MaxTaxRateJurisdiction:
		return InvalidRequest("parameter_invalid_string_too_long", "jurisdiction", "jurisdiction must be at most %d characters.", MaxTaxRateJurisdiction)
	case t.Percentage < 0 || t.Percentage > MaxPercent:
		return InvalidParam("percentage", "percentage %s.", ErrPercentRange)
	case t.Country != "" && !IsCountry(t.Country):
		return InvalidParam("country", "%s", CountryProblem(t.Country))
	case t.State != "" && !IsSubdivision(t.State):
		return InvalidParam("state", "state must be an ISO 3166-2 subdivision code without the country prefix (1 to 3 letters or digits, such as NY or ENG).")
	case t.TaxType != "" && !slices.Contains(TaxTypes, t.TaxType):
		return InvalidParam("tax_type", "tax_type must be one of %s.", strings.Join(TaxTypes, ", "))
	case t.JurisdictionLevel != "" && !slices.Contains(JurisdictionLevels, t.JurisdictionLevel):
		return InvalidParam("jurisdiction_level", "jurisdiction_level must be one of %s.", strings.Join(JurisdictionLevels, ", "))
	}
	return CheckMetadata(t.Metadata)
}

// IsSubdivision reports whether s has the form of an ISO 3166-2
// subdivision code without its country prefix: 1 to 3 upper-case letters or
// digits.
func IsSubdivision(s string) bool {
	if len(s) < 1 || len(s) > 3 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// TaxAmount is the tax one rate puts on a line.
type TaxAmount struct {
	TaxRate   string // the rate's ID
	Inclusive bool
	// Amount is the tax in minor units.
	Amount int64
	// TaxableAmount is what the tax is charged on: the line's amount net of
	// its inclusive taxes.
	TaxableAmount int64
}

// LineTaxes are the taxes on one line of an invoice or checkout session.
type LineTaxes struct {
	Taxes []TaxAmount // one per rate, in the rates' order
	// Taxable is the line's amount net of its inclusive taxes, which every
	// rate is charged on.
	Taxable int64
	// Inclusive is the tax contained in the line's amount; Exclusive the
	// tax added on top of it.
	Inclusive, Exclusive int64
}

// ComputeLineTax computes the tax each rate puts on a line of amount minor
// units (negative for a credit), as Stripe does for manual tax rates:
//
//   - Inclusive rates are contained in the amount. Together they take
//     amount × ΣP / (100 + ΣP), where ΣP is the sum of the inclusive
//     percentages, and each takes its share: amount × P / (100 + ΣP).
//     £12.00 at 20 % inclusive contains £2.00 of VAT on £10.00 net.
//   - The taxable amount is the amount less the inclusive taxes.
//   - Exclusive rates are added on top: taxable × P / 100 each. £9.99 at
//     20 % exclusive adds £2.00 (199.8p rounded).
//
// Each rate's tax on each line is rounded to the minor unit on its own,
// half away from zero (0.5p rounds to 1p, -0.5p to -1p), from the exact
// product: no float is involved. HMRC accepts rounding VAT per line to the
// nearest penny, and per-line, per-rate rounding is what lets invoice
// totals be sums of their lines' rounded amounts.
func ComputeLineTax(amount int64, rates []*TaxRate) LineTaxes {
	var inclusiveSum Percent
	for _, r := range rates {
		if r.Inclusive {
			inclusiveSum += r.Percentage
		}
	}
	out := LineTaxes{Taxes: make([]TaxAmount, len(rates))}
	for i, r := range rates {
		out.Taxes[i] = TaxAmount{TaxRate: r.ID, Inclusive: r.Inclusive}
		if r.Inclusive {
			out.Taxes[i].Amount = mulDivRound(amount, int64(r.Percentage), int64(100*PercentUnit+inclusiveSum))
			out.Inclusive += out.Taxes[i].Amount
		}
	}
	out.Taxable = amount - out.Inclusive
	for i, r := range rates {
		out.Taxes[i].TaxableAmount = out.Taxable
		if !r.Inclusive {
			out.Taxes[i].Amount = mulDivRound(out.Taxable, int64(r.Percentage), int64(100*PercentUnit))
			out.Exclusive += out.Taxes[i].Amount
		}
	}
	return out
}

// mulDivRound returns a × b / d rounded half away from zero, computed
// exactly in 128 bits. b and d are positive and b ≤ d, so the result is
// never larger than a.
func mulDivRound(a, b, d int64) int64 {
	neg := a < 0
	ua := uint64(a)
	if neg {
		ua = -ua
	}
	hi, lo := bits.Mul64(ua, uint64(b))
	q, r := bits.Div64(hi, lo, uint64(d)) // hi < d since b ≤ d
	if r >= uint64(d)-r {                 // r ≥ d/2, without overflow
		q++
	}
	if neg {
		return -int64(q)
	}
	return int64(q)
}
