package billing_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

func boolp(b bool) *bool { return &b }

// ok returns a check that fails the test unless the operation answered a
// domain object of type T: ok[T](t, what)(svc.Op(…)).
func ok[T any](t *testing.T, what string) func(a *payments.Answer, err error) T {
	return func(a *payments.Answer, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		v, isT := a.Object.(T)
		if !isT {
			t.Fatalf("%s answered %T, want %T", what, a.Object, v)
		}
		return v
	}
}

// refused fails the test unless err is a 4xx *pay.Error naming param.
func refused(t *testing.T, what string, err error, status int, param string) *pay.Error {
	t.Helper()
	e, isPay := pay.AsError(err)
	if !isPay {
		t.Fatalf("%s: err = %v, want a *pay.Error", what, err)
	}
	if e.Status != status || e.Param != param {
		t.Errorf("%s: %d %s (%s), want %d naming %q", what, e.Status, e.Param, e.Message, status, param)
	}
	return e
}

// eventLog returns the scope's events, oldest first, as "type object_id".
func (e *env) eventLog(t *testing.T) []string {
	t.Helper()
	l, err := e.db.FindEvents(context.Background(), e.scope, store.EventFilter{}, pay.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range l.Data {
		out = append(out, ev.Type+" "+ev.ObjectID)
	}
	slices.Reverse(out)
	return out
}

// previous returns an event's previous_attributes.
func (e *env) previous(t *testing.T, typ, id string) map[string]any {
	t.Helper()
	l, err := e.db.FindEvents(context.Background(), e.scope, store.EventFilter{Types: []string{typ}, ObjectID: id}, pay.Page{Limit: 1})
	if err != nil || len(l.Data) == 0 {
		t.Fatalf("no %s event of %s: %v", typ, id, err)
	}
	var d struct {
		Previous map[string]any `json:"previous_attributes"`
	}
	if err := json.Unmarshal(l.Data[0].Data, &d); err != nil {
		t.Fatal(err)
	}
	return d.Previous
}

func monthly(amount int64) billing.PriceData {
	return billing.PriceData{Currency: "gbp", UnitAmount: amount, Recurring: &pay.Recurring{Interval: pay.IntervalMonth, IntervalCount: 1}}
}

func TestProductLifecycle(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		d := monthly(1500)
		a, err := e.svc.CreateProduct(ctx, e.plain(), billing.ProductParams{
			Product:          pay.ProductUpdate{Name: str("Gold"), Images: &[]string{"https://example.com/gold.png"}},
			DefaultPriceData: &d})
		prod := ok[*pay.Product](t, "CreateProduct")(a, err)
		if !prod.Active || prod.DefaultPrice == "" || prod.Created == 0 || prod.Updated != prod.Created {
			t.Errorf("created product = %+v", prod)
		}
		price, err := db.FindPrice(ctx, e.scope, prod.DefaultPrice)
		if err != nil {
			t.Fatalf("default price %s: %v", prod.DefaultPrice, err)
		}
		want := &pay.Price{ID: price.ID, Scope: e.scope, Created: price.Created, Product: prod.ID, Active: true, Currency: "gbp",
			UnitAmount: 1500, Recurring: &pay.Recurring{Interval: "month", IntervalCount: 1}, TaxBehavior: "unspecified"}
		if diff := cmp.Diff(want, price); diff != "" {
			t.Errorf("default price (-want +got):\n%s", diff)
		}

		second := ok[*pay.Price](t, "CreatePrice")(e.svc.CreatePrice(ctx, e.plain(), billing.PriceParams{PriceData: monthly(2500), Product: prod.ID}))
		a, err = e.svc.UpdateProduct(ctx, e.plain(), prod.ID, pay.ProductUpdate{Name: str("Gold plan"), DefaultPrice: &second.ID})
		updated := ok[*pay.Product](t, "UpdateProduct")(a, err)
		if updated.Name != "Gold plan" || updated.DefaultPrice != second.ID {
			t.Errorf("updated product = %+v", updated)
		}
		prev := e.previous(t, "product.updated", prod.ID)
		if prev["name"] != "Gold" || prev["default_price"] != price.ID {
			t.Errorf("product.updated previous_attributes = %v", prev)
		}

		// An update that changes nothing writes nothing.
		before := len(e.eventLog(t))
		ok[*pay.Product](t, "UpdateProduct (no change)")(e.svc.UpdateProduct(ctx, e.plain(), prod.ID, pay.ProductUpdate{Name: str("Gold plan")}))
		if n := len(e.eventLog(t)); n != before {
			t.Errorf("an update that changed nothing wrote %d events", n-before)
		}

		_, err = e.svc.DeleteProduct(ctx, e.plain(), prod.ID)
		refused(t, "DeleteProduct with prices", err, 400, "id")

		bare := ok[*pay.Product](t, "CreateProduct")(e.svc.CreateProduct(ctx, e.plain(), billing.ProductParams{Product: pay.ProductUpdate{Name: str("Bare")}}))
		a, err = e.svc.DeleteProduct(ctx, e.plain(), bare.ID)
		if del := ok[pay.DeletedObject](t, "DeleteProduct")(a, err); del != (pay.DeletedObject{ID: bare.ID, Object: "product", Deleted: true}) {
			t.Errorf("DeleteProduct answered %+v", del)
		}
		if _, err := db.FindProduct(ctx, e.scope, bare.ID); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("FindProduct after delete: %v, want not found", err)
		}
		_, err = e.svc.CreatePrice(ctx, e.plain(), billing.PriceParams{PriceData: monthly(100), Product: bare.ID})
		refused(t, "CreatePrice for a deleted product", err, 404, "product")

		wantEvents := []string{
			"product.created " + prod.ID, "price.created " + price.ID, "price.created " + second.ID, "product.updated " + prod.ID,
			"product.created " + bare.ID, "product.deleted " + bare.ID,
		}
		if diff := cmp.Diff(wantEvents, e.eventLog(t)); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}

// A product whose default price is refused is not written either: the
// whole create is one transaction.
func TestCreateProductIsAtomic(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		d := monthly(1500)
		d.Currency = "eur" // not enabled: projects charge in gbp by default
		_, err := e.svc.CreateProduct(ctx, e.plain(), billing.ProductParams{Product: pay.ProductUpdate{Name: str("Euro")}, DefaultPriceData: &d})
		refused(t, "CreateProduct with a eur default price", err, 400, "default_price_data[currency]")
		_, err = e.svc.CreatePrice(ctx, e.plain(), billing.PriceParams{PriceData: d,
			ProductData: &billing.ProductParams{Product: pay.ProductUpdate{Name: str("Euro")}}})
		refused(t, "CreatePrice in eur with product_data", err, 400, "currency")
		l, err := db.FindProducts(ctx, e.scope, store.ProductFilter{}, pay.Page{Limit: 10})
		if err != nil || len(l.Data) != 0 {
			t.Errorf("products after refused creates: %d, %v; want none", len(l.Data), err)
		}
		if ev := e.eventLog(t); len(ev) != 0 {
			t.Errorf("events after refused creates: %v", ev)
		}
	})
}

func TestCustomProductIDs(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		params := billing.ProductParams{ID: "gold-plan", Product: pay.ProductUpdate{Name: str("Gold")}}
		if p := ok[*pay.Product](t, "CreateProduct(id)")(e.svc.CreateProduct(ctx, e.plain(), params)); p.ID != "gold-plan" {
			t.Errorf("ID = %q, want the chosen one", p.ID)
		}
		_, err := e.svc.CreateProduct(ctx, e.plain(), params)
		if refused(t, "second CreateProduct(id)", err, 400, "id").Code != "resource_already_exists" {
			t.Errorf("code = %q", err)
		}
		_, err = e.svc.CreatePrice(ctx, e.plain(), billing.PriceParams{PriceData: monthly(100), ProductData: &params})
		refused(t, "CreatePrice with product_data[id] taken", err, 400, "product_data[id]")

		// The ID is the scope's own: another project, and live mode, may use it.
		other := newEnv(t, db)
		ok[*pay.Product](t, "another project's CreateProduct(id)")(other.svc.CreateProduct(ctx, other.plain(), params))
		live := payments.Plain(pay.Scope{ProjectID: e.scope.ProjectID, Livemode: true})
		ok[*pay.Product](t, "live CreateProduct(id)")(e.svc.CreateProduct(ctx, live, params))
	})
}

func TestLookupKeys(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		prod := ok[*pay.Product](t, "CreateProduct")(e.svc.CreateProduct(ctx, e.plain(), billing.ProductParams{Product: pay.ProductUpdate{Name: str("Plan")}}))
		newPrice := func(transfer bool) (*payments.Answer, error) {
			return e.svc.CreatePrice(ctx, e.plain(), billing.PriceParams{PriceData: monthly(100), Product: prod.ID, LookupKey: "standard",
				TransferLookupKey: transfer})
		}
		first := ok[*pay.Price](t, "CreatePrice(lookup_key)")(newPrice(false))
		_, err := newPrice(false)
		refused(t, "a second active price with the key", err, 400, "lookup_key")

		second := ok[*pay.Price](t, "CreatePrice(transfer_lookup_key)")(newPrice(true))
		if got, _ := db.FindPrice(ctx, e.scope, first.ID); got.LookupKey != "" {
			t.Errorf("the first price kept lookup key %q after the transfer", got.LookupKey)
		}
		if prev := e.previous(t, "price.updated", first.ID); prev["lookup_key"] != "standard" {
			t.Errorf("price.updated of the first price: previous_attributes %v", prev)
		}

		// Only active prices hold a key: an archived one's is free, and
		// reactivating it then clashes.
		ok[*pay.Price](t, "archive")(e.svc.UpdatePrice(ctx, e.plain(), second.ID, billing.PriceUpdateParams{Price: pay.PriceUpdate{Active: boolp(false)}}))
		third := ok[*pay.Price](t, "CreatePrice(key of an archived price)")(newPrice(false))
		_, err = e.svc.UpdatePrice(ctx, e.plain(), second.ID, billing.PriceUpdateParams{Price: pay.PriceUpdate{Active: boolp(true)}})
		refused(t, "reactivating a price whose key is taken", err, 400, "lookup_key")
		_, err = e.svc.UpdatePrice(ctx, e.plain(), first.ID, billing.PriceUpdateParams{Price: pay.PriceUpdate{LookupKey: str("standard")}})
		refused(t, "updating a price to a taken key", err, 400, "lookup_key")
		moved := ok[*pay.Price](t, "UpdatePrice(transfer)")(e.svc.UpdatePrice(ctx, e.plain(), first.ID,
			billing.PriceUpdateParams{Price: pay.PriceUpdate{LookupKey: str("standard")}, TransferLookupKey: true}))
		if moved.LookupKey != "standard" {
			t.Errorf("transferred price = %+v", moved)
		}
		if got, _ := db.FindPrice(ctx, e.scope, third.ID); got.LookupKey != "" {
			t.Errorf("the third price kept lookup key %q after the transfer", got.LookupKey)
		}
		l, err := db.FindPrices(ctx, e.scope, store.PriceFilter{LookupKeys: []string{"standard"}, Active: boolp(true)}, pay.Page{Limit: 10})
		if err != nil || len(l.Data) != 1 || l.Data[0].ID != first.ID {
			t.Errorf("active prices with the key: %v, %v; want only %s", l.Data, err, first.ID)
		}
	})
}

func TestPriceUpdateRules(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		d := monthly(900)
		prod := ok[*pay.Product](t, "CreateProduct")(e.svc.CreateProduct(ctx, e.plain(), billing.ProductParams{
			Product: pay.ProductUpdate{Name: str("Plan")}, DefaultPriceData: &d}))
		update := func(id string, u pay.PriceUpdate) (*payments.Answer, error) {
			return e.svc.UpdatePrice(ctx, e.plain(), id, billing.PriceUpdateParams{Price: u})
		}
		_, err := update(prod.DefaultPrice, pay.PriceUpdate{Active: boolp(false)})
		refused(t, "archiving the default price", err, 400, "active")

		p := ok[*pay.Price](t, "UpdatePrice(tax_behavior)")(update(prod.DefaultPrice, pay.PriceUpdate{TaxBehavior: str("inclusive"), Nickname: str("Monthly")}))
		if p.TaxBehavior != "inclusive" || p.Nickname != "Monthly" {
			t.Errorf("updated price = %+v", p)
		}
		_, err = update(prod.DefaultPrice, pay.PriceUpdate{TaxBehavior: str("exclusive")})
		refused(t, "changing a chosen tax behaviour", err, 400, "tax_behavior")
		ok[*pay.Price](t, "UpdatePrice(same tax behaviour)")(update(prod.DefaultPrice, pay.PriceUpdate{TaxBehavior: str("inclusive")}))

		// An archived product's prices stay, and it may get new ones.
		ok[*pay.Product](t, "archive the product")(e.svc.UpdateProduct(ctx, e.plain(), prod.ID, pay.ProductUpdate{Active: boolp(false)}))
		ok[*pay.Price](t, "CreatePrice for an archived product")(e.svc.CreatePrice(ctx, e.plain(), billing.PriceParams{PriceData: monthly(100), Product: prod.ID}))

		// A default price must be an active price of the product itself.
		other := ok[*pay.Product](t, "CreateProduct")(e.svc.CreateProduct(ctx, e.plain(), billing.ProductParams{Product: pay.ProductUpdate{Name: str("Other")}}))
		_, err = e.svc.UpdateProduct(ctx, e.plain(), other.ID, pay.ProductUpdate{DefaultPrice: &prod.DefaultPrice})
		refused(t, "another product's price as default", err, 400, "default_price")
		_, err = e.svc.UpdateProduct(ctx, e.plain(), other.ID, pay.ProductUpdate{DefaultPrice: str("price_missing")})
		refused(t, "a missing price as default", err, 404, "default_price")
		_, err = e.svc.UpdatePrice(ctx, e.plain(), "price_missing", billing.PriceUpdateParams{})
		refused(t, "UpdatePrice of a missing price", err, 404, "id")

		// Another scope's objects do not exist.
		live := payments.Plain(pay.Scope{ProjectID: e.scope.ProjectID, Livemode: true})
		_, err = e.svc.UpdateProduct(ctx, live, prod.ID, pay.ProductUpdate{Name: str("x")})
		refused(t, "live UpdateProduct of a test product", err, 404, "id")
		_, err = e.svc.CreatePrice(ctx, live, billing.PriceParams{PriceData: monthly(100), Product: prod.ID})
		refused(t, "live CreatePrice for a test product", err, 404, "product")
	})
}
