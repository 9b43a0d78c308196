package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// intervalAliases are the original Calmony product's interval names
// (interval=monthly|annual), accepted for the recurring interval they stand
// for, every one interval long.
var intervalAliases = map[string]string{"monthly": pay.IntervalMonth, "annual": pay.IntervalYear}

// readCurrency reads a required currency as Stripe takes it: a three-letter
// ISO code, in any case, answered in lowercase. Whether the project may
// charge in it is billing's to check.
func readCurrency(p *params) string {
	c := strings.ToLower(p.RequireString("currency"))
	if c != "" && (len(c) != 3 || strings.ContainsFunc(c, func(r rune) bool { return r < 'a' || r > 'z' })) {
		p.Fail("currency", "parameter_invalid", "currency must be a three-letter ISO currency code, such as gbp.")
	}
	return c
}

// readUnitAmount reads unit_amount or unit_amount_decimal (exactly one),
// in minor units. unit_amount_decimal must be a whole number of them:
// amounts are integers of minor units throughout Calmony Pay.
func readUnitAmount(p *params) int64 {
	amount, hasAmount := p.Int64("unit_amount")
	dec, hasDec := p.String("unit_amount_decimal")
	switch {
	case hasAmount && hasDec:
		p.Fail("unit_amount_decimal", "parameter_invalid", "Pass only one of unit_amount and unit_amount_decimal.")
	case hasDec:
		n, ok := wholeDecimal(dec)
		if !ok {
			p.Fail("unit_amount_decimal", "parameter_invalid",
				"unit_amount_decimal must be a whole number of the currency's smallest unit, such as 1500: fractions of it are not supported.")
		}
		amount, hasAmount = n, ok
	case !p.Has("unit_amount"):
		p.Missing("unit_amount")
	}
	if hasAmount && (amount < 0 || amount > pay.MaxUnitAmount) {
		p.Fail("unit_amount", "parameter_invalid_integer", "unit_amount must be between 0 and "+strconv.Itoa(pay.MaxUnitAmount)+", in the currency's smallest unit.")
	}
	return amount
}

// wholeDecimal parses a decimal string (up to 12 decimal places, as
// Stripe's) that is a whole number: "1500", "1500.00".
func wholeDecimal(s string) (int64, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 12 || strings.Trim(frac, "0") != "" || whole == "" || len(whole) > 12 ||
		strings.ContainsFunc(whole, func(r rune) bool { return r < '0' || r > '9' }) {
		return 0, false
	}
	n, err := strconv.ParseInt(whole, 10, 64)
	return n, err == nil
}

// readRecurring reads a recurring object; trial says whether it may have
// trial_period_days (a price's may, default_price_data's may not).
func readRecurring(p *params, trial bool) *pay.Recurring {
	r := &pay.Recurring{IntervalCount: 1}
	raw := p.RequireString("interval")
	alias, isAlias := intervalAliases[raw]
	switch {
	case isAlias:
		r.Interval = alias
	case oneOf(raw, pay.Intervals) || raw == "":
		r.Interval = raw // "" is missing, recorded already
	default:
		p.Fail("interval", "parameter_invalid", "interval must be one of day, week, month or year (or monthly or annual).")
	}
	if n, ok := p.Int64("interval_count"); ok {
		max := pay.MaxIntervalCount(r.Interval)
		switch {
		case isAlias && n != 1:
			p.Fail("interval_count", "parameter_invalid", "interval=monthly and interval=annual are one month and one year: use interval=month or year with interval_count.")
		case max > 0 && (n < 1 || n > max):
			p.Fail("interval_count", "parameter_invalid_integer",
				"interval_count must be between 1 and "+strconv.FormatInt(max, 10)+" with interval="+r.Interval+": a billing period is at most one year.")
		}
		r.IntervalCount = n
	}
	if trial {
		if n, ok := p.Int64("trial_period_days"); ok {
			if n < 0 || n > pay.MaxTrialPeriodDays {
				p.Fail("trial_period_days", "parameter_invalid_integer", "trial_period_days must be between 0 and "+strconv.Itoa(pay.MaxTrialPeriodDays)+".")
			}
			r.TrialPeriodDays = n
		}
		if u, ok := p.String("usage_type"); ok && u != "licensed" {
			p.Fail("usage_type", "parameter_invalid", "Metered prices are not supported: usage_type must be licensed.")
		}
		refuseUnsupported(p, "meter")
	}
	return r
}

// readTaxBehavior reads an optional tax_behavior.
func readTaxBehavior(p *params) *string {
	v := p.OptString("tax_behavior")
	if v != nil && !oneOf(*v, pay.TaxBehaviors) {
		p.Fail("tax_behavior", "parameter_invalid", "tax_behavior must be exclusive, inclusive or unspecified.")
	}
	return v
}

// readPriceData reads a new price's terms: a price's own parameters (top)
// or a product's default_price_data.
func readPriceData(p *params, top bool) billing.PriceData {
	// What is not supported first: a tiered or custom-amount price has no
	// unit_amount, which would be reported missing instead.
	refuseUnsupported(p, "custom_unit_amount", "currency_options")
	if top {
		if v, ok := p.String("billing_scheme"); ok && v != "per_unit" {
			p.Fail("billing_scheme", "parameter_invalid", "Only billing_scheme=per_unit is supported: tiered prices are not.")
		}
		refuseUnsupported(p, "tiers", "tiers_mode", "transform_quantity")
	}
	d := billing.PriceData{Currency: readCurrency(p), UnitAmount: readUnitAmount(p), Metadata: readMetadata(p)}
	if v := readTaxBehavior(p); v != nil {
		d.TaxBehavior = *v
	}
	if sub, ok := p.Sub("recurring"); ok {
		d.Recurring = readRecurring(reader(sub), top)
	}
	if !top {
		return d
	}
	if raw, ok := p.String("interval"); ok {
		alias, isAlias := intervalAliases[raw]
		switch {
		case d.Recurring != nil:
			p.Fail("interval", "parameter_invalid", "Pass either interval or recurring[interval], not both.")
		case !isAlias:
			p.Fail("interval", "parameter_invalid", "Invalid interval value. Expected one of: monthly, annual (or use recurring[interval]).")
		default:
			d.Recurring = &pay.Recurring{Interval: alias, IntervalCount: 1}
		}
	}
	return d
}

// readLookupKey reads an optional lookup_key; "" unsets it.
func readLookupKey(p *params) *string { return readText(p, "lookup_key", maxLookupKey) }

func (s *Server) createPrice(r *http.Request, p *params) (opFunc, error) {
	pp := billing.PriceParams{PriceData: readPriceData(p, true), Active: p.OptBool("active")}
	pp.Product, _ = p.String("product")
	if sub, ok := p.Sub("product_data"); ok {
		if pp.Product != "" {
			p.Fail("product_data", "parameter_invalid", "Pass either product or product_data, not both.")
		}
		prod := readProductParams(reader(sub), true)
		pp.ProductData = &prod
	} else if pp.Product == "" {
		p.Missing("product")
	}
	if v := readLookupKey(p); v != nil {
		pp.LookupKey = *v
	}
	if v := readText(p, "nickname", maxPriceNickname); v != nil {
		pp.Nickname = *v
	}
	pp.TransferLookupKey, _ = p.Bool("transfer_lookup_key")
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.CreatePrice(ctx, call, pp)
	}, nil
}

// immutablePriceParams are a price's creation parameters that an update
// cannot change.
var immutablePriceParams = []string{"billing_scheme", "currency", "custom_unit_amount", "interval", "product", "product_data",
	"recurring", "tiers", "tiers_mode", "transform_quantity", "unit_amount", "unit_amount_decimal"}

func (s *Server) updatePrice(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	for _, name := range immutablePriceParams {
		if p.Has(name) {
			p.Ignore(name)
			p.Fail(name, "parameter_unknown", "Received unknown parameter: "+name+". A price's amount, currency, product and recurrence cannot be changed: "+
				"create a new price (and archive this one with active=false).")
		}
	}
	refuseUnsupported(p, "currency_options")
	var u billing.PriceUpdateParams
	u.Price.Active = p.OptBool("active")
	u.Price.LookupKey = readLookupKey(p)
	u.Price.Nickname = readText(p, "nickname", maxPriceNickname)
	if u.Price.TaxBehavior = readTaxBehavior(p); u.Price.TaxBehavior != nil && *u.Price.TaxBehavior == "" {
		p.Fail("tax_behavior", "parameter_invalid_empty", "tax_behavior cannot be unset.")
	}
	u.Price.Metadata = readMetadata(p)
	u.TransferLookupKey, _ = p.Bool("transfer_lookup_key")
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.UpdatePrice(ctx, call, id, u)
	}, nil
}

func (s *Server) listPrices(r *http.Request, p *params) (readFunc, error) {
	page := readPage(p)
	var f store.PriceFilter
	f.Active = p.OptBool("active")
	if c, ok := p.String("currency"); ok {
		f.Currency = strings.ToLower(c)
	}
	f.Product, _ = p.String("product")
	if t, ok := p.String("type"); ok {
		if t != pay.PriceOneTime && t != pay.PriceRecurring {
			p.Fail("type", "parameter_invalid", "type must be one_time or recurring.")
		}
		f.Type = t
	}
	if keys, ok := p.StringSlice("lookup_keys"); ok {
		if len(keys) > maxPriceLookupKeys {
			p.Fail("lookup_keys", "parameter_invalid", "You may pass at most "+strconv.Itoa(maxPriceLookupKeys)+" lookup_keys.")
		}
		f.LookupKeys = keys
	}
	if sub, ok := p.Sub("recurring"); ok {
		if iv, ok := sub.String("interval"); ok {
			if !oneOf(iv, pay.Intervals) {
				sub.Fail("interval", "parameter_invalid", "interval must be one of day, week, month or year.")
			}
			f.Interval = iv
		}
		if u, ok := sub.String("usage_type"); ok {
			switch u {
			case "licensed": // every recurring price
				f.None = f.None || f.Type == pay.PriceOneTime
				f.Type = pay.PriceRecurring
			case "metered":
				f.None = true // there are no metered prices
			default:
				sub.Fail("usage_type", "parameter_invalid", "usage_type must be licensed or metered.")
			}
		}
	}
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		l, err := s.db.FindPrices(ctx, scope, f, page)
		if err != nil {
			return nil, err
		}
		return newList("price", "/v1/prices", l, pay.PriceView), nil
	}, nil
}
