package pay

// The portal's objects as Stripe's API version 2026-03-25.dahlia shows
// them.

type portalBusinessView struct {
	Headline          nullString `json:"headline"`
	PrivacyPolicyURL  nullString `json:"privacy_policy_url"`
	TermsOfServiceURL nullString `json:"terms_of_service_url"`
}

type portalFeaturesView struct {
	CustomerUpdate struct {
		AllowedUpdates []string `json:"allowed_updates"`
		Enabled        bool     `json:"enabled"`
	} `json:"customer_update"`
	InvoiceHistory struct {
		Enabled bool `json:"enabled"`
	} `json:"invoice_history"`
	PaymentMethodUpdate struct {
		Enabled                    bool `json:"enabled"`
		PaymentMethodConfiguration any  `json:"payment_method_configuration"`
	} `json:"payment_method_update"`
	SubscriptionCancel struct {
		CancellationReason struct {
			Enabled bool     `json:"enabled"`
			Options []string `json:"options"`
		} `json:"cancellation_reason"`
		Enabled           bool   `json:"enabled"`
		Mode              string `json:"mode"`
		ProrationBehavior string `json:"proration_behavior"`
	} `json:"subscription_cancel"`
	SubscriptionUpdate struct {
		BillingCycleAnchor    string          `json:"billing_cycle_anchor"`
		DefaultAllowedUpdates []string        `json:"default_allowed_updates"`
		Enabled               bool            `json:"enabled"`
		Products              []PortalProduct `json:"products"`
		ProrationBehavior     string          `json:"proration_behavior"`
		ScheduleAtPeriodEnd   struct {
			Conditions []any `json:"conditions"`
		} `json:"schedule_at_period_end"`
		TrialUpdateBehavior string `json:"trial_update_behavior"`
	} `json:"subscription_update"`
}

type portalLoginPageView struct {
	Enabled bool `json:"enabled"`
	URL     any  `json:"url"`
}

type portalConfigurationJSON struct {
	ID               string              `json:"id"`
	Object           string              `json:"object"`
	Active           bool                `json:"active"`
	Application      any                 `json:"application"`
	BusinessProfile  portalBusinessView  `json:"business_profile"`
	Created          int64               `json:"created"`
	DefaultReturnURL nullString          `json:"default_return_url"`
	Features         portalFeaturesView  `json:"features"`
	IsDefault        bool                `json:"is_default"`
	Livemode         bool                `json:"livemode"`
	LoginPage        portalLoginPageView `json:"login_page"`
	Metadata         map[string]string   `json:"metadata"`
	Name             nullString          `json:"name"`
	Updated          int64               `json:"updated"`
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// PortalConfigurationView is a configuration's Stripe object.
func PortalConfigurationView(c *PortalConfiguration) any {
	v := portalConfigurationJSON{ID: c.ID, Object: PortalConfigurationObject, Active: c.Active, Created: c.Created,
		DefaultReturnURL: nullString(c.DefaultReturnURL), IsDefault: c.IsDefault, Livemode: c.Scope.Livemode,
		Metadata: nonNil(c.Metadata), Name: nullString(c.Name), Updated: c.Updated,
		BusinessProfile: portalBusinessView{Headline: nullString(c.Business.Headline), PrivacyPolicyURL: nullString(c.Business.PrivacyPolicyURL),
			TermsOfServiceURL: nullString(c.Business.TermsOfServiceURL)}}
	f, vf := &c.Features, &v.Features
	vf.CustomerUpdate.AllowedUpdates, vf.CustomerUpdate.Enabled = orEmpty(f.CustomerUpdate.AllowedUpdates), f.CustomerUpdate.Enabled
	vf.InvoiceHistory.Enabled = f.InvoiceHistory.Enabled
	vf.PaymentMethodUpdate.Enabled = f.PaymentMethodUpdate.Enabled
	sc := &vf.SubscriptionCancel
	sc.CancellationReason.Enabled, sc.CancellationReason.Options = f.SubscriptionCancel.ReasonEnabled, orEmpty(f.SubscriptionCancel.ReasonOptions)
	sc.Enabled, sc.Mode, sc.ProrationBehavior = f.SubscriptionCancel.Enabled, f.SubscriptionCancel.Mode, f.SubscriptionCancel.ProrationBehavior
	su := &vf.SubscriptionUpdate
	su.BillingCycleAnchor, su.DefaultAllowedUpdates, su.Enabled = "unchanged", orEmpty(f.SubscriptionUpdate.DefaultAllowedUpdates), f.SubscriptionUpdate.Enabled
	su.Products, su.ProrationBehavior = orEmpty(f.SubscriptionUpdate.Products), f.SubscriptionUpdate.ProrationBehavior
	su.ScheduleAtPeriodEnd.Conditions, su.TrialUpdateBehavior = []any{}, "end_trial"
	return v
}

type portalSessionJSON struct {
	ID              string     `json:"id"`
	Object          string     `json:"object"`
	Configuration   string     `json:"configuration"`
	Created         int64      `json:"created"`
	Customer        string     `json:"customer"`
	CustomerAccount any        `json:"customer_account"`
	Flow            any        `json:"flow"`
	Livemode        bool       `json:"livemode"`
	Locale          nullString `json:"locale"`
	OnBehalfOf      any        `json:"on_behalf_of"`
	ReturnURL       nullString `json:"return_url"`
	URL             nullString `json:"url"`
	// ExpiresAt is Calmony Pay's: when the address stops working.
	ExpiresAt int64 `json:"expires_at"`
}

// PortalSessionView is a session's Stripe object. url is shown only when
// the session's token is known (the answer to its creation, kept under its
// idempotency key encrypted): events and later reads show null, since the
// store keeps only the token's hash.
func PortalSessionView(s *PortalSession, publicURL string) any {
	v := portalSessionJSON{ID: s.ID, Object: PortalSessionObject, Configuration: s.Configuration, Created: s.Created, Customer: s.Customer,
		Livemode: s.Scope.Livemode, Locale: nullString(s.Locale), ReturnURL: nullString(s.ReturnURL), ExpiresAt: s.ExpiresAt}
	if s.Token != "" {
		v.URL = nullString(PortalURL(publicURL, s.Token))
	}
	return v
}
