package main

import (
	"context"
	"net/http"
	"net/url"

	"github.com/calmony/calmonypay/internal/pay"
)

// taxRateFixtures produce the tax rate events with a test UK VAT rate.
func taxRateFixtures() map[pay.EventType]fixture {
	return map[pay.EventType]fixture{
		pay.EventTaxRateCreated: func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
			_, err := triggerTaxRate(ctx, c, say)
			return err
		},
		pay.EventTaxRateUpdated: func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
			id, err := triggerTaxRate(ctx, c, say)
			if err != nil {
				return err
			}
			return triggerUpdate(ctx, c, say, "tax rate", "/v1/tax_rates/", id)
		},
	}
}

// triggerTaxRate creates a test tax rate (UK VAT, 20 %, exclusive) and
// returns its ID.
func triggerTaxRate(ctx context.Context, c *apiClient, say func(string, ...any)) (string, error) {
	var txr struct {
		ID string `json:"id"`
	}
	params := url.Values{"display_name": {"VAT"}, "percentage": {"20"}, "inclusive": {"false"}, "country": {"GB"},
		"tax_type": {"vat"}, "description": {"created by calmonypay trigger"}}
	if err := c.do(ctx, http.MethodPost, "/v1/tax_rates", params, &txr); err != nil {
		return "", err
	}
	say("created tax rate %s", txr.ID)
	return txr.ID, nil
}
