package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// readTaxRateFields reads the tax rate fields a create and an update share.
// Country and state codes are taken in either case and kept in upper case.
func readTaxRateFields(p *params) pay.TaxRateUpdate {
	var u pay.TaxRateUpdate
	u.Active = p.OptBool("active")
	if u.DisplayName = readText(p, "display_name", pay.MaxTaxRateDisplayName); u.DisplayName != nil && *u.DisplayName == "" {
		p.Fail("display_name", "parameter_invalid_empty", "display_name cannot be empty: a tax rate needs a name to show customers.")
	}
	u.Description = readText(p, "description", pay.MaxTaxRateDescription)
	u.Jurisdiction = readText(p, "jurisdiction", pay.MaxTaxRateJurisdiction)
	if u.Country = upper(p.OptString("country")); u.Country != nil && *u.Country != "" && !pay.IsCountry(*u.Country) {
		p.Fail("country", "parameter_invalid", pay.CountryProblem(*u.Country))
	}
	if u.State = upper(p.OptString("state")); u.State != nil && *u.State != "" && !pay.IsSubdivision(*u.State) {
		p.Fail("state", "parameter_invalid", "state must be an ISO 3166-2 subdivision code without the country prefix (1 to 3 letters or digits, such as NY or ENG).")
	}
	if u.TaxType = p.OptString("tax_type"); u.TaxType != nil && *u.TaxType != "" && !oneOf(*u.TaxType, pay.TaxTypes) {
		p.Fail("tax_type", "parameter_invalid", "tax_type must be one of "+strings.Join(pay.TaxTypes, ", ")+".")
	}
	if u.JurisdictionLevel = p.OptString("jurisdiction_level"); u.JurisdictionLevel != nil && *u.JurisdictionLevel != "" &&
		!oneOf(*u.JurisdictionLevel, pay.JurisdictionLevels) {
		p.Fail("jurisdiction_level", "parameter_invalid", "jurisdiction_level must be one of "+strings.Join(pay.JurisdictionLevels, ", ")+".")
	}
	u.Metadata = readMetadata(p)
	return u
}

func upper(s *string) *string {
	if s == nil {
		return nil
	}
	u := strings.ToUpper(*s)
	return &u
}

// readPercentage reads the required percentage, a decimal with at most four
// places, exactly (never through a float).
func readPercentage(p *params) pay.Percent {
	s, ok := p.String("percentage")
	if !ok {
		if !p.Has("percentage") {
			p.Missing("percentage")
		}
		return 0
	}
	v, err := pay.ParsePercent(s)
	if err != nil {
		p.Fail("percentage", "parameter_invalid", "percentage "+err.Error()+".")
	}
	return v
}

func (s *Server) createTaxRate(r *http.Request, p *params) (opFunc, error) {
	var tp billing.TaxRateParams
	if !p.Has("display_name") {
		p.Missing("display_name")
	}
	tp.Percentage = readPercentage(p)
	if !p.Has("inclusive") {
		p.Missing("inclusive")
	}
	tp.Inclusive, _ = p.Bool("inclusive")
	tp.Fields = readTaxRateFields(p)
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.CreateTaxRate(ctx, call, tp)
	}, nil
}

func (s *Server) updateTaxRate(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	// Stripe's update has no such parameters: say why rather than only
	// that they are unknown.
	for _, fixed := range []string{"percentage", "inclusive"} {
		if p.Has(fixed) {
			p.Ignore(fixed)
			p.Fail(fixed, "parameter_unknown", fixed+" cannot be changed once a tax rate is created: create a new tax rate and archive this one with active=false.")
		}
	}
	ch := readTaxRateFields(p)
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.UpdateTaxRate(ctx, call, id, ch)
	}, nil
}

func (s *Server) listTaxRates(r *http.Request, p *params) (readFunc, error) {
	page := readPage(p)
	f := store.TaxRateFilter{Active: p.OptBool("active"), Inclusive: p.OptBool("inclusive")}
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		l, err := s.db.FindTaxRates(ctx, scope, f, page)
		if err != nil {
			return nil, err
		}
		return newList("tax_rate", "/v1/tax_rates", l, pay.TaxRateView), nil
	}, nil
}
