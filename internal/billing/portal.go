package billing

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/safeurl"
	"github.com/calmony/calmonypay/internal/store"
)

// The customer portal: Stripe's billing_portal configurations and
// sessions. A session gives one customer of one project and mode access to
// the portal pages (package hosted) for pay.PortalSessionTTL through an
// address carrying a random token, of which the store keeps only the hash.
// What the customer does there runs through the same operations as the
// API (UpdateSubscription, CancelSubscription, payments.UpdateCustomer,
// the checkout callback for a new card), with the same events.

// PortalConfigUpdate is a configuration's create or update: nil fields are
// not sent. IsDefault is Calmony Pay's (Stripe sets the default in its
// Dashboard): true makes the configuration the default of its project and
// mode.
type PortalConfigUpdate struct {
	Active, IsDefault                             *bool
	Name, DefaultReturnURL                        *string
	Headline, PrivacyPolicyURL, TermsOfServiceURL *string

	CustomerUpdateEnabled      *bool
	CustomerUpdateAllowed      *[]string
	InvoiceHistoryEnabled      *bool
	PaymentMethodUpdateEnabled *bool

	CancelEnabled       *bool
	CancelMode          *string
	CancelProration     *string
	CancelReasonEnabled *bool
	CancelReasonOptions *[]string

	UpdateEnabled   *bool
	UpdateAllowed   *[]string
	UpdateProration *string
	UpdateProducts  *[]pay.PortalProduct

	Metadata pay.MetadataUpdate
}

func setPtr[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// apply sets the sent fields on c (all but IsDefault, which the operation
// handles).
func (u PortalConfigUpdate) apply(c *pay.PortalConfiguration) {
	setPtr(&c.Active, u.Active)
	setPtr(&c.Name, u.Name)
	setPtr(&c.DefaultReturnURL, u.DefaultReturnURL)
	setPtr(&c.Business.Headline, u.Headline)
	setPtr(&c.Business.PrivacyPolicyURL, u.PrivacyPolicyURL)
	setPtr(&c.Business.TermsOfServiceURL, u.TermsOfServiceURL)
	f := &c.Features
	setPtr(&f.CustomerUpdate.Enabled, u.CustomerUpdateEnabled)
	setPtr(&f.CustomerUpdate.AllowedUpdates, u.CustomerUpdateAllowed)
	setPtr(&f.InvoiceHistory.Enabled, u.InvoiceHistoryEnabled)
	setPtr(&f.PaymentMethodUpdate.Enabled, u.PaymentMethodUpdateEnabled)
	setPtr(&f.SubscriptionCancel.Enabled, u.CancelEnabled)
	setPtr(&f.SubscriptionCancel.Mode, u.CancelMode)
	setPtr(&f.SubscriptionCancel.ProrationBehavior, u.CancelProration)
	setPtr(&f.SubscriptionCancel.ReasonEnabled, u.CancelReasonEnabled)
	setPtr(&f.SubscriptionCancel.ReasonOptions, u.CancelReasonOptions)
	setPtr(&f.SubscriptionUpdate.Enabled, u.UpdateEnabled)
	setPtr(&f.SubscriptionUpdate.DefaultAllowedUpdates, u.UpdateAllowed)
	setPtr(&f.SubscriptionUpdate.ProrationBehavior, u.UpdateProration)
	setPtr(&f.SubscriptionUpdate.Products, u.UpdateProducts)
	c.Metadata = u.Metadata.Apply(c.Metadata)
}

// newPortalConfiguration is a configuration with Stripe's defaults for
// what a create does not send: every feature off, cancellation at the
// period's end without prorations, updates without prorations.
func newPortalConfiguration(scope pay.Scope) *pay.PortalConfiguration {
	c := &pay.PortalConfiguration{Scope: scope, Active: true}
	f := &c.Features
	f.CustomerUpdate.AllowedUpdates = []string{}
	f.SubscriptionCancel.Mode, f.SubscriptionCancel.ProrationBehavior = pay.PortalCancelAtPeriodEnd, NoProrations
	f.SubscriptionCancel.ReasonOptions = []string{}
	f.SubscriptionUpdate.ProrationBehavior, f.SubscriptionUpdate.DefaultAllowedUpdates = NoProrations, []string{}
	f.SubscriptionUpdate.Products = []pay.PortalProduct{}
	return c
}

// checkPortalConfig checks a configuration against the scope's products
// and prices: each listed product exists, and each of its prices is an
// active recurring price of it.
func checkPortalConfig(ctx context.Context, tx *store.Tx, c *pay.PortalConfiguration) error {
	if err := pay.CheckMetadata(c.Metadata); err != nil {
		return err
	}
	su := &c.Features.SubscriptionUpdate
	if su.Enabled && slices.Contains(su.DefaultAllowedUpdates, "price") && len(su.Products) == 0 {
		return pay.InvalidParam("features[subscription_update][products]",
			"features[subscription_update][products] must list the products and prices customers may switch between.")
	}
	for i, p := range su.Products {
		param := fmt.Sprintf("features[subscription_update][products][%d]", i)
		if _, err := tx.FindProduct(ctx, c.Scope, p.Product); err != nil {
			return pay.NotFoundAs(err, "product", p.Product, param+"[product]")
		}
		for j, id := range p.Prices {
			pparam := fmt.Sprintf("%s[prices][%d]", param, j)
			pr, err := tx.FindPrice(ctx, c.Scope, id)
			if err != nil {
				return pay.NotFoundAs(err, "price", id, pparam)
			}
			if pr.Product != p.Product || pr.Recurring == nil || !pr.Active {
				return pay.InvalidParam(pparam, "The price %s must be an active recurring price of the product %s.", id, p.Product)
			}
		}
	}
	return nil
}

// CreatePortalConfiguration creates a configuration with
// billing_portal.configuration.created. The scope's first configuration
// becomes its default (as the one made in Stripe's Dashboard is), as does
// one created with IsDefault.
func (s *Service) CreatePortalConfiguration(ctx context.Context, call payments.Call, u PortalConfigUpdate) (*payments.Answer, error) {
	return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		c := newPortalConfiguration(call.Scope)
		u.apply(c)
		if err := checkPortalConfig(ctx, tx, c); err != nil {
			return nil, err
		}
		_, err := tx.FindPortalDefault(ctx, call.Scope)
		switch {
		case errors.Is(err, pay.ErrNotFound):
			c.IsDefault = true
		case err != nil:
			return nil, err
		case u.IsDefault != nil && *u.IsDefault:
			if err := tx.ClearPortalDefault(ctx, call.Scope); err != nil {
				return nil, err
			}
			c.IsDefault = true
		}
		if err := tx.CreatePortalConfiguration(ctx, c); err != nil {
			return nil, err
		}
		return c, payments.Emit(ctx, tx, call.Scope, pay.EventBillingPortalConfigurationCreated, c.ID, pay.PortalConfigurationView(c), nil)
	})
}

// UpdatePortalConfiguration changes a configuration, with
// billing_portal.configuration.updated (no change, no event). The default
// configuration cannot be deactivated, nor stop being the default except by
// making another the default.
func (s *Service) UpdatePortalConfiguration(ctx context.Context, call payments.Call, id string, u PortalConfigUpdate) (*payments.Answer, error) {
	return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		c, err := tx.FindPortalConfiguration(ctx, call.Scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "billing portal configuration", id, "id")
		}
		before := pay.PortalConfigurationView(c)
		u.apply(c)
		switch {
		case u.IsDefault != nil && !*u.IsDefault && c.IsDefault:
			return nil, pay.InvalidParam("is_default", "This is the default configuration: make another configuration the default instead.")
		case u.IsDefault != nil && *u.IsDefault && !c.IsDefault:
			if err := tx.ClearPortalDefault(ctx, call.Scope); err != nil {
				return nil, err
			}
			c.IsDefault = true
		}
		if c.IsDefault && !c.Active {
			return nil, pay.InvalidParam("active", "The default configuration cannot be deactivated.")
		}
		if err := checkPortalConfig(ctx, tx, c); err != nil {
			return nil, err
		}
		if err := tx.UpdatePortalConfiguration(ctx, c); err != nil {
			return nil, err
		}
		return c, payments.EmitUpdate(ctx, tx, call.Scope, pay.EventBillingPortalConfigurationUpdated, c.ID, before, pay.PortalConfigurationView(c))
	})
}

// PortalSessionParams are a new portal session's parameters (POST
// /v1/billing_portal/sessions). ReturnURL must already have passed
// SEC-10's checks (safeurl), as the API and the command check it.
type PortalSessionParams struct {
	Customer      string
	ReturnURL     string // "": the configuration's default_return_url
	Configuration string // "": the default configuration
	Locale        string
}

// CreatePortalSession creates a portal session for a customer, with
// billing_portal.session.created, and answers the *pay.PortalSession with
// its token (its url). Without a configuration, the scope's default is
// used; a scope with none gets one (pay.DefaultPortalFeatures), so that a
// merchant's existing "Manage billing" button works unchanged. This is
// also the operation behind the dashboard's "copy portal link" and
// `calmonypay portal link`: call it with payments.Plain(scope) and read
// the URL with PortalSessionURL.
func (s *Service) CreatePortalSession(ctx context.Context, call payments.Call, p PortalSessionParams) (*payments.Answer, error) {
	return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		c, err := tx.FindCustomer(ctx, call.Scope, p.Customer)
		if err == nil && c.Deleted {
			err = pay.ErrNotFound
		}
		if err != nil {
			return nil, pay.NotFoundAs(err, "customer", p.Customer, "customer")
		}
		cfg, err := s.sessionConfiguration(ctx, tx, call.Scope, p.Configuration)
		if err != nil {
			return nil, err
		}
		token := pay.NewPortalToken()
		ps := &pay.PortalSession{Scope: call.Scope, ExpiresAt: tx.Now.Unix() + pay.PortalSessionTTL, Customer: c.ID, Configuration: cfg.ID,
			ReturnURL: p.ReturnURL, Locale: p.Locale, TokenHash: pay.PortalTokenHash(token)}
		if ps.ReturnURL == "" {
			ps.ReturnURL = cfg.DefaultReturnURL
		}
		if err := tx.CreatePortalSession(ctx, ps); err != nil {
			return nil, err
		}
		// The event shows no url: it is kept and delivered where the token
		// must not be.
		if err := payments.Emit(ctx, tx, call.Scope, pay.EventBillingPortalSessionCreated, ps.ID,
			pay.PortalSessionView(ps, s.payments.PublicURL()), nil); err != nil {
			return nil, err
		}
		ps.Token = token
		return ps, nil
	})
}

// PortalSessionURL is the address of the portal session an answer of
// CreatePortalSession holds, or "" (a replay, or an error).
func (s *Service) PortalSessionURL(a *payments.Answer) string {
	if ps, ok := a.Object.(*pay.PortalSession); ok && ps.Token != "" {
		return pay.PortalURL(s.payments.PublicURL(), ps.Token)
	}
	return ""
}

// PortalLink makes a portal session for a customer and returns it with
// its URL: CreatePortalSession with no idempotency key, for the
// dashboard's "copy portal link" button and support tools. p.ReturnURL, if
// set, must pass SEC-10's rules (safeurl, no localhost): a bad one is a
// 400 url_invalid naming return_url.
func (s *Service) PortalLink(ctx context.Context, scope pay.Scope, p PortalSessionParams) (*pay.PortalSession, string, error) {
	if p.ReturnURL != "" {
		if _, err := safeurl.Check(p.ReturnURL, safeurl.Options{}); err != nil {
			return nil, "", pay.InvalidRequest("url_invalid", "return_url", "return_url must be an absolute https URL to a public host: %v", err)
		}
	}
	a, err := s.CreatePortalSession(ctx, payments.Plain(scope), p)
	if err != nil {
		return nil, "", err
	}
	ps, _ := a.Object.(*pay.PortalSession)
	return ps, s.PortalSessionURL(a), nil
}

// sessionConfiguration is the configuration a new session uses: id's, which
// must be active, or the scope's default, made if there is none.
func (s *Service) sessionConfiguration(ctx context.Context, tx *store.Tx, scope pay.Scope, id string) (*pay.PortalConfiguration, error) {
	if id != "" {
		cfg, err := tx.FindPortalConfiguration(ctx, scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "billing portal configuration", id, "configuration")
		}
		if !cfg.Active {
			return nil, pay.InvalidParam("configuration", "The configuration %s is not active: activate it, or use another.", id)
		}
		return cfg, nil
	}
	cfg, err := tx.FindPortalDefault(ctx, scope)
	if !errors.Is(err, pay.ErrNotFound) {
		return cfg, err
	}
	cfg = &pay.PortalConfiguration{Scope: scope, Active: true, IsDefault: true, Features: pay.DefaultPortalFeatures()}
	if err := tx.CreatePortalConfiguration(ctx, cfg); err != nil {
		return nil, err
	}
	return cfg, payments.Emit(ctx, tx, scope, pay.EventBillingPortalConfigurationCreated, cfg.ID, pay.PortalConfigurationView(cfg), nil)
}

// RevokePortalSessions ends at once every portal session of a customer
// that still works, and returns how many it ended. Their pages then show
// only that the link expired, with the return link.
func (s *Service) RevokePortalSessions(ctx context.Context, scope pay.Scope, customer string) (int64, error) {
	var n int64
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.FindCustomer(ctx, scope, customer); err != nil {
			return pay.NotFoundAs(err, "customer", customer, "customer")
		}
		var err error
		n, err = tx.RevokePortalSessions(ctx, scope, customer, tx.Now.Unix())
		return err
	})
	return n, err
}

// CustomerCardReplaced makes pm the default payment method of the
// customer's subscriptions that have not ended
// (payments.InvoiceHooks), with customer.subscription.updated for each
// that changes, in the transaction that saved the card.
func (s *Service) CustomerCardReplaced(ctx context.Context, tx *store.Tx, scope pay.Scope, customer, pm string) error {
	ids, err := tx.LiveSubscriptionIDs(ctx, scope, customer)
	if err != nil {
		return err
	}
	for _, id := range ids {
		sub, err := tx.FindSubscription(ctx, scope, id)
		if err != nil {
			return err
		}
		if sub.DefaultPaymentMethod == pm {
			continue
		}
		before := pay.SubscriptionView(sub)
		sub.DefaultPaymentMethod = pm
		if err := s.saveSubscription(ctx, tx, sub, before); err != nil {
			return err
		}
	}
	return nil
}
