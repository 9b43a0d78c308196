package billing

import (
	"cmp"
	"context"
	"errors"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// PriceData are the terms of a new price: what never changes once it
// exists, and its first tax behaviour and metadata.
type PriceData struct {
	Currency    string // lowercase
	UnitAmount  int64  // minor units, 0 to pay.MaxUnitAmount
	Recurring   *pay.Recurring
	TaxBehavior string // "" is unspecified
	Metadata    pay.MetadataUpdate
}

// PriceParams are a new price's parameters: its terms, and the product it
// belongs to, either an existing one (Product) or a new one made with it
// (ProductData).
type PriceParams struct {
	PriceData
	Product     string
	ProductData *ProductParams // without DefaultPriceData
	Active      *bool          // nil: active
	LookupKey   string
	Nickname    string
	// TransferLookupKey moves LookupKey from the active price that has it
	// to the new one, instead of refusing it.
	TransferLookupKey bool
}

// PriceUpdateParams are a price update's parameters.
type PriceUpdateParams struct {
	Price pay.PriceUpdate
	// TransferLookupKey: see PriceParams.
	TransferLookupKey bool
}

// newPrice checks d and returns the price it describes, active, with no
// ID or product yet; prefix is what its parameters' names begin with
// ("default_price_data[" within a product, "" for a price's own).
func (s *Service) newPrice(scope pay.Scope, d PriceData, prefix string) (*pay.Price, error) {
	param := func(name string) string {
		if prefix == "" {
			return name
		}
		return prefix + name + "]"
	}
	if !s.payments.CurrencyAllowed(scope, d.Currency) {
		return nil, pay.InvalidParam(param("currency"), "Currency %q is not enabled for this project.", pay.Clip(d.Currency, 10))
	}
	p := &pay.Price{Scope: scope, Active: true, Currency: d.Currency, UnitAmount: d.UnitAmount,
		TaxBehavior: cmp.Or(d.TaxBehavior, pay.TaxBehaviorUnspecified), Metadata: d.Metadata.Apply(nil)}
	if d.Recurring != nil {
		r := *d.Recurring
		p.Recurring = &r
	}
	if err := pay.CheckMetadata(p.Metadata); err != nil {
		if e, ok := pay.AsError(err); ok {
			e.Param = param("metadata")
		}
		return nil, err
	}
	return p, nil
}

// insertPrice writes a new price (its ID filled in unless chosen) and emits
// price.created; its lookup key, if it has one and is active, is taken from
// the price that has it if transfer is set, else refused.
func (s *Service) insertPrice(ctx context.Context, tx *store.Tx, p *pay.Price, transfer bool) error {
	if err := s.claimLookupKey(ctx, tx, p, transfer); err != nil {
		return err
	}
	if err := tx.CreatePrice(ctx, p); errors.Is(err, pay.ErrConflict) {
		return lookupKeyTaken("") // taken concurrently
	} else if err != nil {
		return err
	}
	return payments.Emit(ctx, tx, p.Scope, pay.EventPriceCreated, p.ID, pay.PriceView(p), nil)
}

// claimLookupKey makes p's lookup key free for it, if p is active and has
// one: the scope's active price that has it loses it if transfer is set
// (with its price.updated event); otherwise the key is refused.
func (s *Service) claimLookupKey(ctx context.Context, tx *store.Tx, p *pay.Price, transfer bool) error {
	if !p.Active || p.LookupKey == "" {
		return nil
	}
	holder, err := tx.FindPriceByLookupKey(ctx, p.Scope, p.LookupKey)
	switch {
	case errors.Is(err, pay.ErrNotFound) || err == nil && holder.ID == p.ID:
		return nil
	case err != nil:
		return err
	case !transfer:
		return lookupKeyTaken(holder.ID)
	}
	before := pay.PriceView(holder)
	holder.LookupKey = ""
	if err := tx.UpdatePrice(ctx, holder); err != nil {
		return err
	}
	return payments.EmitUpdate(ctx, tx, holder.Scope, pay.EventPriceUpdated, holder.ID, before, pay.PriceView(holder))
}

func lookupKeyTaken(holder string) error {
	if holder == "" {
		return pay.InvalidParam("lookup_key", "Another active price already uses this lookup key: pass transfer_lookup_key=true to move it to this price.")
	}
	return pay.InvalidParam("lookup_key", "The active price %s already uses this lookup key: pass transfer_lookup_key=true to move it to this price.", holder)
}

// CreatePrice creates a price of an existing product, or of a new one made
// from p.ProductData in the same transaction, with their events. A product
// may be inactive; a deleted one no longer exists.
func (s *Service) CreatePrice(ctx context.Context, call payments.Call, p PriceParams) (*payments.Answer, error) {
	return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		scope := call.Scope
		price, err := s.newPrice(scope, p.PriceData, "")
		if err != nil {
			return nil, err
		}
		if p.Active != nil {
			price.Active = *p.Active
		}
		price.LookupKey, price.Nickname = p.LookupKey, p.Nickname
		if p.ProductData != nil {
			prod, err := s.createProduct(ctx, tx, scope, *p.ProductData, "product_data[id]", nil)
			if err != nil {
				return nil, err
			}
			price.Product = prod.ID
		} else {
			// Locked, so that the product is not deleted meanwhile.
			if _, err := tx.FindProduct(ctx, scope, p.Product); err != nil {
				return nil, pay.NotFoundAs(err, "product", p.Product, "product")
			}
			price.Product = p.Product
		}
		if err := s.insertPrice(ctx, tx, price, p.TransferLookupKey); err != nil {
			return nil, err
		}
		return price, nil
	})
}

// UpdatePrice changes a price's active flag, lookup key, nickname, tax
// behaviour (only while unspecified, as Stripe) or metadata; its amount,
// currency and recurrence never change. A product's default price cannot
// be archived.
func (s *Service) UpdatePrice(ctx context.Context, call payments.Call, id string, u PriceUpdateParams) (*payments.Answer, error) {
	return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) {
		price, prod, err := lockPrice(ctx, tx, call.Scope, id)
		if err != nil {
			return nil, err
		}
		before := pay.PriceView(price)
		wasActive, oldKey, oldTax := price.Active, price.LookupKey, price.TaxBehavior
		u.Price.Apply(price)
		if err := pay.CheckMetadata(price.Metadata); err != nil {
			return nil, err
		}
		if oldTax != pay.TaxBehaviorUnspecified && price.TaxBehavior != oldTax {
			return nil, pay.InvalidParam("tax_behavior", "tax_behavior cannot be changed once it is inclusive or exclusive: create a new price instead.")
		}
		if wasActive && !price.Active && prod != nil && prod.DefaultPrice == price.ID {
			return nil, pay.InvalidParam("active", "This price cannot be archived because it is the default price of its product %s: set another default_price on the product first.", prod.ID)
		}
		if price.Active && (!wasActive || price.LookupKey != oldKey) {
			if err := s.claimLookupKey(ctx, tx, price, u.TransferLookupKey); err != nil {
				return nil, err
			}
		}
		if same(before, pay.PriceView(price)) {
			return price, nil // nothing changed: no write, no event
		}
		if err := tx.UpdatePrice(ctx, price); errors.Is(err, pay.ErrConflict) {
			return nil, lookupKeyTaken("")
		} else if err != nil {
			return nil, err
		}
		return price, payments.EmitUpdate(ctx, tx, call.Scope, pay.EventPriceUpdated, price.ID, before, pay.PriceView(price))
	})
}

// lockPrice locks a price and its product, product first (see
// store.Tx.PeekPrice), and returns both; the product is nil if it no
// longer exists.
func lockPrice(ctx context.Context, tx *store.Tx, scope pay.Scope, id string) (*pay.Price, *pay.Product, error) {
	peek, err := tx.PeekPrice(ctx, scope, id)
	if err != nil {
		return nil, nil, pay.NotFoundAs(err, "price", id, "id")
	}
	prod, err := tx.FindProduct(ctx, scope, peek.Product)
	if errors.Is(err, pay.ErrNotFound) {
		prod = nil
	} else if err != nil {
		return nil, nil, err
	}
	price, err := tx.FindPrice(ctx, scope, id)
	if err != nil {
		return nil, nil, pay.NotFoundAs(err, "price", id, "id")
	}
	return price, prod, nil
}
