package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/form"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/safeurl"
	"github.com/calmony/calmonypay/internal/store"
)

// The customer portal's API: Stripe's billing_portal sessions and
// configurations (billing/portal.go).

// portalProrations are the proration behaviours a configuration may name.
var portalProrations = []string{billing.NoProrations, billing.CreateProrations, billing.AlwaysInvoice}

func (s *Server) createPortalSession(r *http.Request, p *params) (opFunc, error) {
	var sp billing.PortalSessionParams
	sp.Customer = p.RequireString("customer")
	sp.ReturnURL = s.checkURL(p, "return_url", false)
	if v := p.OptString("configuration"); v != nil {
		if *v == "" {
			p.Fail("configuration", "parameter_invalid_empty", "configuration cannot be empty: leave it out to use the default configuration.")
		}
		sp.Configuration = *v
	}
	if v := readText(p, "locale", 20); v != nil && *v != "auto" {
		sp.Locale = *v
	}
	if p.Has("flow_data") {
		p.Ignore("flow_data")
		p.Fail("flow_data", "parameter_unknown", "flow_data (portal deep links) is not supported: the portal opens on its home page.")
	}
	for _, name := range []string{"on_behalf_of", "customer_account"} {
		if p.Has(name) {
			p.Ignore(name)
			p.Fail(name, "parameter_unknown", name+" is not supported (Calmony Pay has no connected accounts).")
		}
	}
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.CreatePortalSession(ctx, call, sp)
	}, nil
}

// readPortalConfig reads a configuration's create or update parameters.
func (s *Server) readPortalConfig(p *params) billing.PortalConfigUpdate {
	var u billing.PortalConfigUpdate
	u.Active = p.OptBool("active")
	u.IsDefault = p.OptBool("is_default")
	u.Name = readText(p, "name", pay.MaxPortalName)
	if v := s.checkURL(p, "default_return_url", false); v != "" || p.Has("default_return_url") {
		u.DefaultReturnURL = &v
	}
	if bp, ok := p.Sub("business_profile"); ok {
		u.Headline = readTextIn(bp, "headline", pay.MaxPortalHeadline)
		u.PrivacyPolicyURL = s.readPublicURL(bp, "privacy_policy_url")
		u.TermsOfServiceURL = s.readPublicURL(bp, "terms_of_service_url")
	}
	if lp, ok := p.Sub("login_page"); ok {
		if on := lp.OptBool("enabled"); on != nil && *on {
			lp.Fail("enabled", "parameter_invalid", "The hosted login page is not supported: share portal sessions' urls instead.")
		}
	}
	if f, ok := p.Sub("features"); ok {
		readPortalFeatures(f, &u)
	}
	u.Metadata = readMetadata(p)
	return u
}

// readTextIn is readText for a nested parameter.
func readTextIn(r *form.Reader, name string, max int) *string {
	v := r.OptString(name)
	if v != nil && len([]rune(*v)) > max {
		r.Fail(name, "parameter_invalid_string_too_long", fmt.Sprintf("This value must be at most %d characters.", max))
	}
	return v
}

// readPublicURL reads an optional link shown to customers: SEC-10's URL
// rules, as checkout's URLs ("" unsets it).
func (s *Server) readPublicURL(r *form.Reader, name string) *string {
	v := r.OptString(name)
	if v != nil && *v != "" {
		if _, err := safeurl.Check(*v, safeurl.Options{AllowLocalhost: s.allowLocalhostURLs}); err != nil {
			r.Fail(name, "url_invalid", fmt.Sprintf("%s must be an absolute https URL to a public host: %v", name, err))
		}
	}
	return v
}

// readEnum reads an optional value of a list.
func readEnum(r *form.Reader, name string, allowed []string) *string {
	v := r.OptString(name)
	if v != nil && !slices.Contains(allowed, *v) {
		r.Fail(name, "parameter_invalid", name+" must be one of "+strings.Join(allowed, ", ")+".")
	}
	return v
}

// readEnumList reads an optional list of values of a list; "name=" (an
// empty string) clears it.
func readEnumList(r *form.Reader, name string, allowed []string) *[]string {
	if r.Unset(name) {
		none := []string{}
		return &none
	}
	vs, ok := r.StringSlice(name)
	if !ok {
		return nil
	}
	for _, v := range vs {
		if !slices.Contains(allowed, v) {
			r.Fail(name, "parameter_invalid", fmt.Sprintf("%s may contain only %s; %q is not one.", name, strings.Join(allowed, ", "), pay.Clip(v, 40)))
			return nil
		}
	}
	vs = slices.Compact(slices.Sorted(slices.Values(vs)))
	return &vs
}

func readPortalFeatures(f *form.Reader, u *billing.PortalConfigUpdate) {
	if cu, ok := f.Sub("customer_update"); ok {
		u.CustomerUpdateEnabled = cu.OptBool("enabled")
		u.CustomerUpdateAllowed = readEnumList(cu, "allowed_updates", pay.PortalCustomerUpdates)
	}
	if ih, ok := f.Sub("invoice_history"); ok {
		u.InvoiceHistoryEnabled = ih.OptBool("enabled")
	}
	if pm, ok := f.Sub("payment_method_update"); ok {
		u.PaymentMethodUpdateEnabled = pm.OptBool("enabled")
		if pm.Has("payment_method_configuration") {
			pm.Ignore("payment_method_configuration")
			pm.Fail("payment_method_configuration", "parameter_unknown", "payment_method_configuration is not supported: the portal replaces cards.")
		}
	}
	if sc, ok := f.Sub("subscription_cancel"); ok {
		u.CancelEnabled = sc.OptBool("enabled")
		u.CancelMode = readEnum(sc, "mode", []string{pay.PortalCancelAtPeriodEnd, pay.PortalCancelImmediately})
		u.CancelProration = readEnum(sc, "proration_behavior", []string{billing.NoProrations, billing.CreateProrations})
		if cr, ok := sc.Sub("cancellation_reason"); ok {
			u.CancelReasonEnabled = cr.OptBool("enabled")
			u.CancelReasonOptions = readEnumList(cr, "options", pay.PortalCancellationReasons)
		}
	}
	if su, ok := f.Sub("subscription_update"); ok {
		readPortalSubscriptionUpdate(su, u)
	}
}

func readPortalSubscriptionUpdate(su *form.Reader, u *billing.PortalConfigUpdate) {
	u.UpdateEnabled = su.OptBool("enabled")
	u.UpdateAllowed = readEnumList(su, "default_allowed_updates", []string{"price"})
	u.UpdateProration = readEnum(su, "proration_behavior", portalProrations)
	// Only Stripe's defaults of these are served.
	readEnum(su, "billing_cycle_anchor", []string{"unchanged"})
	readEnum(su, "trial_update_behavior", []string{"end_trial"})
	if su.Has("schedule_at_period_end") {
		su.Ignore("schedule_at_period_end")
		su.Fail("schedule_at_period_end", "parameter_unknown", "schedule_at_period_end is not supported: switches apply at once.")
	}
	if su.Unset("products") {
		none := []pay.PortalProduct{}
		u.UpdateProducts = &none
		return
	}
	prods, ok := su.Slice("products")
	if !ok {
		return
	}
	if len(prods) > pay.MaxPortalProducts {
		su.Fail("products", "parameter_invalid", fmt.Sprintf("products may list at most %d products.", pay.MaxPortalProducts))
	}
	list := []pay.PortalProduct{}
	for _, pr := range prods {
		var pp pay.PortalProduct
		pp.Product = pr.RequireString("product")
		prices, ok := pr.StringSlice("prices")
		if !ok || len(prices) == 0 {
			pr.Missing("prices")
		}
		if len(prices) > pay.MaxPortalPricesPerProd {
			pr.Fail("prices", "parameter_invalid", fmt.Sprintf("prices may list at most %d prices.", pay.MaxPortalPricesPerProd))
		}
		if aq, ok := pr.Sub("adjustable_quantity"); ok {
			if on := aq.OptBool("enabled"); on != nil && *on {
				aq.Fail("enabled", "parameter_invalid", "Adjustable quantities are not supported: customers switch prices only.")
			}
			aq.Ignore("minimum", "maximum")
		}
		pp.Prices = slices.Compact(slices.Sorted(slices.Values(prices)))
		list = append(list, pp)
	}
	u.UpdateProducts = &list
}

func (s *Server) createPortalConfiguration(r *http.Request, p *params) (opFunc, error) {
	u := s.readPortalConfig(p)
	if u.Active != nil {
		p.Fail("active", "parameter_unknown", "active is set on update only: a new configuration is active.")
	}
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.CreatePortalConfiguration(ctx, call, u)
	}, nil
}

func (s *Server) updatePortalConfiguration(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	u := s.readPortalConfig(p)
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.UpdatePortalConfiguration(ctx, call, id, u)
	}, nil
}

func (s *Server) listPortalConfigurations(r *http.Request, p *params) (readFunc, error) {
	page := readPage(p)
	f := store.PortalConfigurationFilter{Active: p.OptBool("active"), IsDefault: p.OptBool("is_default")}
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		l, err := s.db.FindPortalConfigurations(ctx, scope, f, page)
		if err != nil {
			return nil, err
		}
		return newList(pay.PortalConfigurationObject, "/v1/billing_portal/configurations", l,
			func(c *pay.PortalConfiguration) any { return pay.PortalConfigurationView(c) }), nil
	}, nil
}
