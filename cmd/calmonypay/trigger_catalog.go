package main

import (
	"context"
	"net/http"
	"net/url"

	"github.com/calmony/calmonypay/internal/pay"
)

// catalogFixtures produce the product and price events with a test product
// and its monthly default price.
func catalogFixtures() map[pay.EventType]fixture {
	created := func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
		_, _, err := triggerProduct(ctx, c, say, true)
		return err
	}
	return map[pay.EventType]fixture{
		pay.EventProductCreated: created,
		pay.EventPriceCreated:   created,
		pay.EventProductUpdated: func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
			id, _, err := triggerProduct(ctx, c, say, false)
			if err != nil {
				return err
			}
			return triggerUpdate(ctx, c, say, "product", "/v1/products/", id)
		},
		pay.EventProductDeleted: func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
			id, _, err := triggerProduct(ctx, c, say, false)
			if err != nil {
				return err
			}
			if err := c.do(ctx, http.MethodDelete, "/v1/products/"+id, nil, nil); err != nil {
				return err
			}
			say("deleted product %s", id)
			return nil
		},
		pay.EventPriceUpdated: func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
			_, price, err := triggerProduct(ctx, c, say, true)
			if err != nil {
				return err
			}
			return triggerUpdate(ctx, c, say, "price", "/v1/prices/", price)
		},
	}
}

// triggerProduct creates a test product, with a default price of £10 a
// month if withPrice, and returns their IDs.
func triggerProduct(ctx context.Context, c *apiClient, say func(string, ...any), withPrice bool) (product, price string, err error) {
	var prod struct {
		ID           string `json:"id"`
		DefaultPrice string `json:"default_price"`
	}
	params := url.Values{"name": {"Triggered Product"}, "description": {"created by calmonypay trigger"}}
	if withPrice {
		params.Set("default_price_data[currency]", "gbp")
		params.Set("default_price_data[unit_amount]", "1000")
		params.Set("default_price_data[recurring][interval]", "month")
	}
	if err := c.do(ctx, http.MethodPost, "/v1/products", params, &prod); err != nil {
		return "", "", err
	}
	if withPrice {
		say("created product %s with price %s", prod.ID, prod.DefaultPrice)
	} else {
		say("created product %s", prod.ID)
	}
	return prod.ID, prod.DefaultPrice, nil
}
