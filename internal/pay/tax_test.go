package pay

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestParsePercent(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want Percent
		err  error
	}{
		{"20", 200000, nil},
		{"17.5", 175000, nil},
		{"17.5000", 175000, nil}, // as stripe-go sends it
		{"17.50000000", 175000, nil},
		{"0.0001", 1, nil},
		{"100", MaxPercent, nil},
		{"100.0000", MaxPercent, nil},
		{"0", 0, nil},
		{"-0", 0, nil},
		{"007.5", 75000, nil},
		{".5", 5000, nil},
		{"5.", 50000, nil},
		{"100.0001", 0, ErrPercentRange},
		{"100.00001", 0, ErrPercentPrecision},
		{"1.23456", 0, ErrPercentPrecision},
		{"-1", 0, ErrPercentRange},
		{"-0.0001", 0, ErrPercentRange},
		{"1000", 0, ErrPercentRange},
		{"99999999999999999999999", 0, ErrPercentRange},
		{"", 0, ErrPercentSyntax},
		{".", 0, ErrPercentSyntax},
		{"-", 0, ErrPercentSyntax},
		{"1e2", 0, ErrPercentSyntax},
		{"+5", 0, ErrPercentSyntax},
		{" 5", 0, ErrPercentSyntax},
		{"1,5", 0, ErrPercentSyntax},
		{"1.2.3", 0, ErrPercentSyntax},
		{"NaN", 0, ErrPercentSyntax},
		{"Infinity", 0, ErrPercentSyntax},
		{"٣", 0, ErrPercentSyntax},
	} {
		got, err := ParsePercent(tt.in)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("ParsePercent(%q) = %d, %v, want %d, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// A percentage is written as the shortest exact decimal, which parses back
// to itself and decodes as a float64 to the decimal's nearest double.
func TestPercentRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		p    Percent
		text string
		f    float64
	}{
		{200000, "20", 20},
		{175000, "17.5", 17.5},
		{50000, "5", 5},
		{0, "0", 0},
		{1, "0.0001", 0.0001},
		{MaxPercent, "100", 100},
		{99999, "9.9999", 9.9999},
		{123450, "12.345", 12.345},
		{10, "0.001", 0.001},
	} {
		b, err := json.Marshal(tt.p)
		if err != nil || string(b) != tt.text || tt.p.String() != tt.text {
			t.Errorf("Percent(%d) marshals as %s (%v), String %q, want %s", tt.p, b, err, tt.p.String(), tt.text)
		}
		var f float64
		if err := json.Unmarshal(b, &f); err != nil || f != tt.f {
			t.Errorf("Percent(%d) decodes as %v (%v), want %v", tt.p, f, err, tt.f)
		}
		if back, err := ParsePercent(tt.text); err != nil || back != tt.p {
			t.Errorf("ParsePercent(%q) = %d, %v, want %d", tt.text, back, err, tt.p)
		}
	}
	for p := Percent(0); p <= MaxPercent; p += 997 {
		if back, err := ParsePercent(p.String()); err != nil || back != p {
			t.Fatalf("ParsePercent(%q) = %d, %v, want %d", p.String(), back, err, p)
		}
	}
}

func vat(id string, percent string, inclusive bool) *TaxRate {
	p, err := ParsePercent(percent)
	if err != nil {
		panic(err)
	}
	return &TaxRate{ID: id, DisplayName: "VAT", Percentage: p, Inclusive: inclusive}
}

// UK VAT on one line: the standard (20 %), reduced (5 %) and zero rates,
// inclusive and exclusive, and several rates at once.
func TestComputeLineTaxUKVAT(t *testing.T) {
	t.Parallel()
	std, stdIncl := vat("txr_std", "20", false), vat("txr_std_incl", "20", true)
	reduced, reducedIncl := vat("txr_red", "5", false), vat("txr_red_incl", "5", true)
	zero := vat("txr_zero", "0", false)
	for _, tt := range []struct {
		name   string
		amount int64
		rates  []*TaxRate
		want   LineTaxes
	}{
		{"£10.00 + 20 %", 1000, []*TaxRate{std},
			LineTaxes{Taxes: []TaxAmount{{"txr_std", false, 200, 1000}}, Taxable: 1000, Exclusive: 200}},
		{"£9.99 + 20 % adds £2.00 (199.8p)", 999, []*TaxRate{std},
			LineTaxes{Taxes: []TaxAmount{{"txr_std", false, 200, 999}}, Taxable: 999, Exclusive: 200}},
		{"£12.00 incl. 20 % contains £2.00", 1200, []*TaxRate{stdIncl},
			LineTaxes{Taxes: []TaxAmount{{"txr_std_incl", true, 200, 1000}}, Taxable: 1000, Inclusive: 200}},
		{"£1.00 incl. 20 % contains 17p (16.67p)", 100, []*TaxRate{stdIncl},
			LineTaxes{Taxes: []TaxAmount{{"txr_std_incl", true, 17, 83}}, Taxable: 83, Inclusive: 17}},
		{"£40.00 + 5 % (domestic fuel)", 4000, []*TaxRate{reduced},
			LineTaxes{Taxes: []TaxAmount{{"txr_red", false, 200, 4000}}, Taxable: 4000, Exclusive: 200}},
		{"£10.50 incl. 5 % contains 50p", 1050, []*TaxRate{reducedIncl},
			LineTaxes{Taxes: []TaxAmount{{"txr_red_incl", true, 50, 1000}}, Taxable: 1000, Inclusive: 50}},
		{"10p + 5 %: 0.5p rounds up", 10, []*TaxRate{reduced},
			LineTaxes{Taxes: []TaxAmount{{"txr_red", false, 1, 10}}, Taxable: 10, Exclusive: 1}},
		{"a 10p credit + 5 %: -0.5p rounds away from zero", -10, []*TaxRate{reduced},
			LineTaxes{Taxes: []TaxAmount{{"txr_red", false, -1, -10}}, Taxable: -10, Exclusive: -1}},
		{"9p + 5 %: 0.45p rounds down", 9, []*TaxRate{reduced},
			LineTaxes{Taxes: []TaxAmount{{"txr_red", false, 0, 9}}, Taxable: 9, Exclusive: 0}},
		{"a £12.00 credit incl. 20 %", -1200, []*TaxRate{stdIncl},
			LineTaxes{Taxes: []TaxAmount{{"txr_std_incl", true, -200, -1000}}, Taxable: -1000, Inclusive: -200}},
		{"zero-rated £25.00", 2500, []*TaxRate{zero},
			LineTaxes{Taxes: []TaxAmount{{"txr_zero", false, 0, 2500}}, Taxable: 2500}},
		{"no rates", 2500, nil, LineTaxes{Taxes: []TaxAmount{}, Taxable: 2500}},
		{"two exclusive rates, each on the net amount", 999, []*TaxRate{std, reduced},
			LineTaxes{Taxes: []TaxAmount{{"txr_std", false, 200, 999}, {"txr_red", false, 50, 999}}, Taxable: 999, Exclusive: 250}},
		{"two inclusive rates share the amount", 1250, []*TaxRate{stdIncl, reducedIncl},
			LineTaxes{Taxes: []TaxAmount{{"txr_std_incl", true, 200, 1000}, {"txr_red_incl", true, 50, 1000}}, Taxable: 1000, Inclusive: 250}},
		{"inclusive 20 % and exclusive 5 % on the net", 1200, []*TaxRate{reduced, stdIncl},
			LineTaxes{Taxes: []TaxAmount{{"txr_red", false, 50, 1000}, {"txr_std_incl", true, 200, 1000}}, Taxable: 1000, Inclusive: 200, Exclusive: 50}},
		{"with zero rate alongside", 1000, []*TaxRate{zero, std},
			LineTaxes{Taxes: []TaxAmount{{"txr_zero", false, 0, 1000}, {"txr_std", false, 200, 1000}}, Taxable: 1000, Exclusive: 200}},
	} {
		got := ComputeLineTax(tt.amount, tt.rates)
		if !equalLineTax(got, tt.want) {
			t.Errorf("%s: ComputeLineTax(%d) = %+v, want %+v", tt.name, tt.amount, got, tt.want)
		}
	}
}

func equalLineTax(a, b LineTaxes) bool {
	return slices.Equal(a.Taxes, b.Taxes) && a.Taxable == b.Taxable && a.Inclusive == b.Inclusive && a.Exclusive == b.Exclusive
}

// ComputeLineTax agrees with exact rational arithmetic rounded half away
// from zero, for random lines, rates and amounts up to int64's limits.
func TestComputeLineTaxExact(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(18, 2026))
	roundHalfAway := func(r *big.Rat) int64 {
		num, den := new(big.Int).Abs(r.Num()), r.Denom()
		q, m := new(big.Int).QuoRem(num, den, new(big.Int))
		if new(big.Int).Lsh(m, 1).Cmp(den) >= 0 {
			q.Add(q, big.NewInt(1))
		}
		if r.Sign() < 0 {
			q.Neg(q)
		}
		return q.Int64()
	}
	amounts := []int64{0, 1, -1, 5, 99, 999, 1200, math.MaxInt64, math.MinInt64 + 1, math.MinInt64}
	for range 2000 {
		amounts = append(amounts, rng.Int64N(2_000_000_000)-1_000_000_000)
	}
	for i, amount := range amounts {
		var rates []*TaxRate
		for j := range rng.IntN(4) {
			p := Percent(rng.Int64N(int64(MaxPercent) + 1))
			if j == 0 && i%7 == 0 {
				p = MaxPercent
			}
			rates = append(rates, &TaxRate{Percentage: p, Inclusive: rng.IntN(2) == 0})
		}
		if math.Abs(float64(amount)) > 1e15 && len(rates) > 0 {
			rates = rates[:1] // several huge inclusive taxes could not be summed in int64
		}
		got := ComputeLineTax(amount, rates)
		var incl int64
		for _, r := range rates {
			if r.Inclusive {
				incl += int64(r.Percentage)
			}
		}
		var wantIncl int64
		for k, r := range rates {
			if r.Inclusive {
				want := roundHalfAway(new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(amount), big.NewInt(int64(r.Percentage))),
					big.NewInt(int64(100*PercentUnit)+incl)))
				wantIncl += want
				if got.Taxes[k].Amount != want {
					t.Fatalf("ComputeLineTax(%d, %+v): inclusive tax %d = %d, want %d", amount, rates, k, got.Taxes[k].Amount, want)
				}
			}
		}
		if got.Inclusive != wantIncl || got.Taxable != amount-wantIncl {
			t.Fatalf("ComputeLineTax(%d, %+v) = %+v: inclusive %d and taxable %d do not add up", amount, rates, got, got.Inclusive, got.Taxable)
		}
		for k, r := range rates {
			if r.Inclusive {
				continue
			}
			want := roundHalfAway(new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(got.Taxable), big.NewInt(int64(r.Percentage))),
				big.NewInt(int64(100*PercentUnit))))
			if got.Taxes[k].Amount != want || got.Taxes[k].TaxableAmount != got.Taxable {
				t.Fatalf("ComputeLineTax(%d, %+v): exclusive tax %d = %+v, want %d on %d", amount, rates, k, got.Taxes[k], want, got.Taxable)
			}
		}
	}
}

func TestTaxRateCheck(t *testing.T) {
	t.Parallel()
	valid := func() *TaxRate {
		return &TaxRate{DisplayName: "VAT", Percentage: 200000, Country: "GB", State: "ENG", TaxType: "vat", JurisdictionLevel: "country",
			Jurisdiction: "UK", Description: "Standard rate"}
	}
	if err := valid().Check(); err != nil {
		t.Fatalf("a valid rate: %v", err)
	}
	many := map[string]string{}
	for i := range MaxMetadataKeys + 1 {
		many[strings.Repeat("k", i+1)] = "v"
	}
	for _, tt := range []struct {
		param  string
		change func(*TaxRate)
	}{
		{"display_name", func(r *TaxRate) { r.DisplayName = "" }},
		{"display_name", func(r *TaxRate) { r.DisplayName = strings.Repeat("é", 51) }},
		{"description", func(r *TaxRate) { r.Description = strings.Repeat("x", 5001) }},
		{"jurisdiction", func(r *TaxRate) { r.Jurisdiction = strings.Repeat("x", 51) }},
		{"percentage", func(r *TaxRate) { r.Percentage = -1 }},
		{"percentage", func(r *TaxRate) { r.Percentage = MaxPercent + 1 }},
		{"country", func(r *TaxRate) { r.Country = "UK" }},
		{"country", func(r *TaxRate) { r.Country = "gb" }},
		{"state", func(r *TaxRate) { r.State = "ENGL" }},
		{"state", func(r *TaxRate) { r.State = "GB-ENG" }},
		{"tax_type", func(r *TaxRate) { r.TaxType = "VAT" }},
		{"jurisdiction_level", func(r *TaxRate) { r.JurisdictionLevel = "planet" }},
		{"metadata", func(r *TaxRate) { r.Metadata = many }},
	} {
		r := valid()
		tt.change(r)
		e, ok := AsError(r.Check())
		if !ok || e.Status != 400 || e.Param != tt.param || e.Message == "" {
			t.Errorf("Check of %+v = %v, want a 400 naming %s", r, e, tt.param)
		}
	}
	if e, _ := AsError((&TaxRate{DisplayName: "VAT", Country: "UK"}).Check()); e == nil || !strings.Contains(e.Message, "GB") {
		t.Errorf("country UK: %v, want a message pointing at GB", e)
	}
}

func TestIsCountry(t *testing.T) {
	t.Parallel()
	codes := strings.Fields(countryCodes)
	if len(codes) != 250 || !slices.IsSorted(codes) || len(slices.Compact(slices.Clone(codes))) != 250 {
		t.Errorf("countryCodes has %d codes (sorted %v), want the 249 assigned and XK, sorted, once each", len(codes), slices.IsSorted(codes))
	}
	for _, c := range codes {
		if !IsCountry(c) {
			t.Errorf("IsCountry(%q) = false", c)
		}
	}
	for _, c := range []string{"", "G", "gb", "Gb", "UK", "EU", "GBR", "B ", " G", "BA ", "AA", "ZZ", "D"} {
		if IsCountry(c) {
			t.Errorf("IsCountry(%q) = true", c)
		}
	}
}

func TestTaxRateView(t *testing.T) {
	t.Parallel()
	r := &TaxRate{ID: "txr_1", Scope: Scope{Livemode: true}, Created: 1700000000, Active: true, DisplayName: "VAT",
		Percentage: 175000, Inclusive: true}
	b, err := json.Marshal(View(r, ""))
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"id":"txr_1","object":"tax_rate","active":true,"country":null,"created":1700000000,"description":null,` +
		`"display_name":"VAT","effective_percentage":17.5,"flat_amount":null,"inclusive":true,"jurisdiction":null,` +
		`"jurisdiction_level":null,"livemode":true,"metadata":{},"percentage":17.5,"rate_type":"percentage","state":null,"tax_type":null}`
	if string(b) != want {
		t.Errorf("TaxRateView =\n%s\nwant\n%s", b, want)
	}
}
