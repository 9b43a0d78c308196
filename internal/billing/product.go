package billing

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// ProductParams are a new product's parameters.
type ProductParams struct {
	// ID is the ID the merchant chose (Stripe's id parameter), or "" for a
	// new prod_ ID. It must be new within the project and mode.
	ID      string
	Product pay.ProductUpdate
	// DefaultPriceData, if set, creates a price of the product, in the same
	// transaction, and makes it the product's default price.
	DefaultPriceData *PriceData
}

// CreateProduct creates a product, and its default price if p asks for one,
// with their events.
func (s *Service) CreateProduct(ctx context.Context, call payments.Call, p ProductParams) (*payments.Answer, error) {
	return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		var price *pay.Price
		if d := p.DefaultPriceData; d != nil {
			var err error
			if price, err = s.newPrice(call.Scope, *d, "default_price_data["); err != nil {
				return nil, err
			}
			price.ID = pay.NewID(pay.PrefixPrice)
		}
		prod, err := s.createProduct(ctx, tx, call.Scope, p, "id", price)
		if err != nil {
			return nil, err
		}
		if price != nil {
			if err := s.insertPrice(ctx, tx, price, false); err != nil {
				return nil, err
			}
		}
		return prod, nil
	})
}

// createProduct checks and inserts a product and emits product.created;
// idParam names the parameter of a chosen ID. If price is not nil (its ID
// already chosen), the product's default price is price, which the caller
// inserts next.
func (s *Service) createProduct(ctx context.Context, tx *store.Tx, scope pay.Scope, p ProductParams, idParam string, price *pay.Price) (*pay.Product, error) {
	prod := &pay.Product{Scope: scope, ID: p.ID, Active: true}
	p.Product.Apply(prod)
	if err := pay.CheckMetadata(prod.Metadata); err != nil {
		return nil, err
	}
	if prod.ID != "" {
		if _, err := tx.FindProduct(ctx, scope, prod.ID); err == nil {
			return nil, productExists(idParam)
		} else if !errors.Is(err, pay.ErrNotFound) {
			return nil, err
		}
	}
	if price != nil {
		prod.DefaultPrice = price.ID
	}
	if err := tx.CreateProduct(ctx, prod); errors.Is(err, pay.ErrConflict) {
		return nil, productExists(idParam) // created concurrently
	} else if err != nil {
		return nil, err
	}
	if price != nil {
		price.Product = prod.ID
	}
	return prod, payments.Emit(ctx, tx, scope, pay.EventProductCreated, prod.ID, pay.ProductView(prod), nil)
}

func productExists(param string) error {
	return &pay.Error{Status: http.StatusBadRequest, Type: pay.ErrorTypeInvalidRequest, Code: "resource_already_exists", Param: param,
		Message: "A product with this ID already exists."}
}

// UpdateProduct changes a product. A default price must be an active price
// of the product.
func (s *Service) UpdateProduct(ctx context.Context, call payments.Call, id string, ch pay.ProductUpdate) (*payments.Answer, error) {
	return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		prod, err := tx.FindProduct(ctx, call.Scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "product", id, "id")
		}
		before := pay.ProductView(prod)
		ch.Apply(prod)
		if err := pay.CheckMetadata(prod.Metadata); err != nil {
			return nil, err
		}
		if ch.DefaultPrice != nil && *ch.DefaultPrice != "" {
			if err := checkDefaultPrice(ctx, tx, prod); err != nil {
				return nil, err
			}
		}
		if same(before, pay.ProductView(prod)) {
			return prod, nil // nothing changed: no write, no event
		}
		prod.Updated = tx.Now.Unix()
		if err := tx.UpdateProduct(ctx, prod); err != nil {
			return nil, err
		}
		return prod, payments.EmitUpdate(ctx, tx, call.Scope, pay.EventProductUpdated, prod.ID, before, pay.ProductView(prod))
	})
}

// checkDefaultPrice requires a product's default price to be one of its
// own active prices. The product is locked, so the price need not be: an
// archive of it waits for the product's lock and then sees it is the
// default.
func checkDefaultPrice(ctx context.Context, tx *store.Tx, prod *pay.Product) error {
	price, err := tx.PeekPrice(ctx, prod.Scope, prod.DefaultPrice)
	if err != nil {
		return pay.NotFoundAs(err, "price", prod.DefaultPrice, "default_price")
	}
	if price.Product != prod.ID {
		return pay.InvalidParam("default_price", "The price %s belongs to another product: a default price must be one of the product's own prices.", price.ID)
	}
	if !price.Active {
		return pay.InvalidParam("default_price", "The price %s is inactive: a default price must be active.", price.ID)
	}
	return nil
}

// same reports whether two views render alike.
func same(a, b any) bool {
	x, errX := json.Marshal(a)
	y, errY := json.Marshal(b)
	return errX == nil && errY == nil && string(x) == string(y)
}

// DeleteProduct deletes a product that has no prices, as Stripe allows; a
// product with prices can only be archived (active=false).
func (s *Service) DeleteProduct(ctx context.Context, call payments.Call, id string) (*payments.Answer, error) {
	return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		scope := call.Scope
		if _, err := tx.FindProduct(ctx, scope, id); err != nil {
			return nil, pay.NotFoundAs(err, "product", id, "id")
		}
		has, err := tx.ProductHasPrices(ctx, scope, id)
		if err != nil {
			return nil, err
		}
		if has {
			return nil, &pay.Error{Status: http.StatusBadRequest, Type: pay.ErrorTypeInvalidRequest, Param: "id",
				Message: "This product cannot be deleted because it has one or more user-created prices."}
		}
		if err := tx.DeleteProduct(ctx, scope, id); err != nil {
			return nil, pay.NotFoundAs(err, "product", id, "id")
		}
		v := pay.DeletedObject{ID: id, Object: "product", Deleted: true}
		return v, payments.Emit(ctx, tx, scope, pay.EventProductDeleted, id, v, nil)
	})
}
