package pay

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"slices"
)

// The customer portal (Stripe's billing_portal): configurations say what a
// portal lets a customer do; a session is one customer's access to the
// portal pages for a while, through an address carrying a random token.

// Portal ID prefixes, as Stripe's.
const (
	PrefixPortalConfiguration = "bpc_"
	PrefixPortalSession       = "bps_"
)

// Object names of the portal's objects.
const (
	PortalConfigurationObject = "billing_portal.configuration"
	PortalSessionObject       = "billing_portal.session"
)

// PortalPagePath is where a portal session's pages are: PortalPagePath +
// its token.
const PortalPagePath = "/portal/"

// Portal session lifetime: the original product's 24 hours (Stripe's
// sessions last about 5 minutes before the customer opens them, then for
// the browser session). See the README's Customer portal section.
const PortalSessionTTL = 24 * 60 * 60

// Limits of a configuration, as Stripe's.
const (
	MaxPortalProducts      = 10
	MaxPortalHeadline      = 60
	MaxPortalName          = 256
	MaxPortalPricesPerProd = 10
)

// Cancellation modes of the portal's subscription_cancel feature.
const (
	PortalCancelAtPeriodEnd = "at_period_end"
	PortalCancelImmediately = "immediately"
)

// PortalCancellationReasons are Stripe's cancellation reason options, which
// are also cancellation_details[feedback]'s values.
var PortalCancellationReasons = []string{"too_expensive", "missing_features", "switched_service", "unused", "customer_service",
	"too_complex", "low_quality", "other"}

// PortalCustomerUpdates are the customer fields the portal may let a
// customer change (features.customer_update.allowed_updates). Stripe also
// has shipping and tax_id, which are not served.
var PortalCustomerUpdates = []string{"email", "address", "name", "phone"}

// PortalBusinessProfile is a configuration's business_profile.
type PortalBusinessProfile struct {
	Headline          string `json:"headline,omitempty"`
	PrivacyPolicyURL  string `json:"privacy_policy_url,omitempty"`
	TermsOfServiceURL string `json:"terms_of_service_url,omitempty"`
}

// PortalProduct is one entry of subscription_update.products: the prices
// of a product a subscription may switch to.
type PortalProduct struct {
	Product string   `json:"product"`
	Prices  []string `json:"prices"`
}

// PortalFeatures are a configuration's features, as stored.
type PortalFeatures struct {
	CustomerUpdate struct {
		Enabled        bool     `json:"enabled"`
		AllowedUpdates []string `json:"allowed_updates"`
	} `json:"customer_update"`
	InvoiceHistory struct {
		Enabled bool `json:"enabled"`
	} `json:"invoice_history"`
	PaymentMethodUpdate struct {
		Enabled bool `json:"enabled"`
	} `json:"payment_method_update"`
	SubscriptionCancel struct {
		Enabled           bool     `json:"enabled"`
		Mode              string   `json:"mode"`
		ProrationBehavior string   `json:"proration_behavior"`
		ReasonEnabled     bool     `json:"reason_enabled"`
		ReasonOptions     []string `json:"reason_options"`
	} `json:"subscription_cancel"`
	SubscriptionUpdate struct {
		Enabled               bool            `json:"enabled"`
		DefaultAllowedUpdates []string        `json:"default_allowed_updates"`
		ProrationBehavior     string          `json:"proration_behavior"`
		Products              []PortalProduct `json:"products"`
	} `json:"subscription_update"`
}

// DefaultPortalFeatures are the features of the default configuration made
// for a project that has none when its first session is created: invoice
// history, card replacement, email and address updates, and cancellation
// at the period's end with a reason; no price switching (it needs a list
// of prices).
func DefaultPortalFeatures() PortalFeatures {
	var f PortalFeatures
	f.CustomerUpdate.Enabled, f.CustomerUpdate.AllowedUpdates = true, []string{"email", "address"}
	f.InvoiceHistory.Enabled = true
	f.PaymentMethodUpdate.Enabled = true
	f.SubscriptionCancel.Enabled, f.SubscriptionCancel.Mode, f.SubscriptionCancel.ProrationBehavior = true, PortalCancelAtPeriodEnd, "none"
	f.SubscriptionCancel.ReasonEnabled, f.SubscriptionCancel.ReasonOptions = true, slices.Clone(PortalCancellationReasons)
	f.SubscriptionUpdate.ProrationBehavior, f.SubscriptionUpdate.DefaultAllowedUpdates = "none", []string{}
	f.SubscriptionUpdate.Products = []PortalProduct{}
	return f
}

// AllowsCustomerUpdate reports whether the configuration lets the customer
// change field (email, address, …).
func (f *PortalFeatures) AllowsCustomerUpdate(field string) bool {
	return f.CustomerUpdate.Enabled && slices.Contains(f.CustomerUpdate.AllowedUpdates, field)
}

// CanSwitchPrices reports whether the configuration lets a customer switch
// a subscription's price.
func (f *PortalFeatures) CanSwitchPrices() bool {
	u := &f.SubscriptionUpdate
	return u.Enabled && slices.Contains(u.DefaultAllowedUpdates, "price") && len(u.Products) > 0
}

// AllowsPrice reports whether price is one the configuration lists for
// switching to.
func (f *PortalFeatures) AllowsPrice(price string) bool {
	for _, p := range f.SubscriptionUpdate.Products {
		if slices.Contains(p.Prices, price) {
			return true
		}
	}
	return false
}

// PortalConfiguration is a billing_portal.configuration.
type PortalConfiguration struct {
	ID               string
	Scope            Scope
	Created, Updated int64
	Active           bool
	IsDefault        bool
	Name             string
	DefaultReturnURL string
	Business         PortalBusinessProfile
	Features         PortalFeatures
	Metadata         map[string]string
}

// PortalSession is a billing_portal.session: one customer's access to the
// portal pages until ExpiresAt, unless revoked.
type PortalSession struct {
	ID            string
	Scope         Scope
	Created       int64
	ExpiresAt     int64
	RevokedAt     int64 // 0: not revoked
	Customer      string
	Configuration string
	ReturnURL     string
	Locale        string
	// TokenHash is PortalTokenHash of the token in the session's address.
	TokenHash string
	// Token is the token itself, known only to the operation that made the
	// session (the store keeps its hash alone): the view shows url only
	// when it is set.
	Token string
}

// Usable reports whether the session still opens the portal at unix time
// now.
func (s *PortalSession) Usable(now int64) bool { return s.RevokedAt == 0 && now < s.ExpiresAt }

// NewPortalToken draws a portal session's token: 256 random bits,
// base64url without padding (43 characters).
func NewPortalToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// PortalTokenHash is what the store keeps of a portal token (SHA-256,
// hex): a read of the database gives no working address.
func PortalTokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// PortalURL is the address of a portal session's pages, given its token.
func PortalURL(publicURL, token string) string { return publicURL + PortalPagePath + token }
