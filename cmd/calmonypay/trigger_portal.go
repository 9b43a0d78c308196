package main

import (
	"context"
	"net/http"
	"net/url"

	"github.com/calmony/calmonypay/internal/pay"
)

// portalFixtures produce the customer portal's events: a configuration,
// changed, and a session for a test customer (its url is not shown: the
// event carries none).
func portalFixtures() map[pay.EventType]fixture {
	return map[pay.EventType]fixture{
		pay.EventBillingPortalConfigurationCreated: func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
			_, err := triggerPortalConfiguration(ctx, c, say)
			return err
		},
		pay.EventBillingPortalConfigurationUpdated: func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
			id, err := triggerPortalConfiguration(ctx, c, say)
			if err != nil {
				return err
			}
			if err := c.do(ctx, http.MethodPost, "/v1/billing_portal/configurations/"+id, url.Values{"name": {"Triggered (updated)"}}, nil); err != nil {
				return err
			}
			say("updated billing portal configuration %s", id)
			return nil
		},
		pay.EventBillingPortalSessionCreated: func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
			cus, err := triggerCustomer(ctx, c, say)
			if err != nil {
				return err
			}
			var bps struct {
				ID string `json:"id"`
			}
			if err := c.do(ctx, http.MethodPost, "/v1/billing_portal/sessions", url.Values{"customer": {cus}}, &bps); err != nil {
				return err
			}
			say("created billing portal session %s", bps.ID)
			return nil
		},
	}
}

// triggerPortalConfiguration creates a test portal configuration (invoice
// history only) and returns its ID.
func triggerPortalConfiguration(ctx context.Context, c *apiClient, say func(string, ...any)) (string, error) {
	var cfg struct {
		ID string `json:"id"`
	}
	params := url.Values{"name": {"Triggered"}, "features[invoice_history][enabled]": {"true"}}
	if err := c.do(ctx, http.MethodPost, "/v1/billing_portal/configurations", params, &cfg); err != nil {
		return "", err
	}
	say("created billing portal configuration %s", cfg.ID)
	return cfg.ID, nil
}
