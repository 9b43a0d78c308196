package api_test

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/stripe/stripe-go/v85"

	"github.com/calmony/calmonypay/internal/apitest"
)

// TestSDKCatalog drives /v1/products and /v1/prices with stripe-go v85
// against a real server, on SQLite and on PostgreSQL.
func TestSDKCatalog(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		for _, tc := range []struct {
			name string
			run  func(*testing.T, *apitest.Server)
		}{
			{"ProductCreateRetrieveExpand", testCatalogProduct},
			{"PriceCreateRetrieveExpand", testCatalogPrice},
			{"Update", testCatalogUpdate},
			{"ListFilters", testCatalogLists},
			{"Search", testCatalogSearch},
			{"Delete", testCatalogDelete},
			{"IntervalAlias", testCatalogIntervalAlias},
			{"BadInput", testCatalogBadInput},
			{"OtherProjectAndMode", testCatalogIsolation},
			{"Idempotency", testCatalogIdempotency},
			{"Events", testCatalogEvents},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.run(t, srv)
			})
		}
	})
}

// newProduct creates a product with a monthly default price of amount pence.
func newProduct(t *testing.T, sc *stripe.Client, name string, amount int64) *stripe.Product {
	t.Helper()
	p, err := sc.V1Products.Create(t.Context(), &stripe.ProductCreateParams{Name: stripe.String(name),
		DefaultPriceData: &stripe.ProductCreateDefaultPriceDataParams{Currency: stripe.String("gbp"), UnitAmount: stripe.Int64(amount),
			Recurring: &stripe.ProductCreateDefaultPriceDataRecurringParams{Interval: stripe.String("month")}}})
	if err != nil {
		t.Fatalf("create product %s: %v", name, err)
	}
	return p
}

func testCatalogProduct(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	sc := sdkClient(srv.URL, srv.Key)
	params := &stripe.ProductCreateParams{
		Name: stripe.String("Gold plan"), Description: stripe.String("Everything, monthly"),
		Images:              []*string{stripe.String("https://example.com/gold.png")},
		MarketingFeatures:   []*stripe.ProductCreateMarketingFeatureParams{{Name: stripe.String("Unlimited seats")}},
		StatementDescriptor: stripe.String("CALMONY GOLD"), UnitLabel: stripe.String("seat"), URL: stripe.String("https://example.com/gold"),
		DefaultPriceData: &stripe.ProductCreateDefaultPriceDataParams{Currency: stripe.String("gbp"), UnitAmount: stripe.Int64(1500),
			TaxBehavior: stripe.String("exclusive"),
			Recurring:   &stripe.ProductCreateDefaultPriceDataRecurringParams{Interval: stripe.String("month"), IntervalCount: stripe.Int64(3)}},
	}
	params.AddMetadata("tier", "gold")
	params.AddExpand("default_price")
	p, err := sc.V1Products.Create(ctx, params)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if !strings.HasPrefix(p.ID, "prod_") || p.Object != "product" || !p.Active || p.Type != stripe.ProductTypeService || p.Livemode ||
		p.Created == 0 || p.Updated != p.Created {
		t.Errorf("created product = %+v", p)
	}
	want := []any{"Gold plan", "Everything, monthly", []string{"https://example.com/gold.png"}, "Unlimited seats", "CALMONY GOLD", "seat",
		"https://example.com/gold", map[string]string{"tier": "gold"}}
	got := []any{p.Name, p.Description, p.Images, p.MarketingFeatures[0].Name, p.StatementDescriptor, p.UnitLabel, p.URL, p.Metadata}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("product fields (-want +got):\n%s", diff)
	}
	dp := p.DefaultPrice
	if dp == nil || !strings.HasPrefix(dp.ID, "price_") || dp.Product == nil || dp.Product.ID != p.ID || dp.UnitAmount != 1500 ||
		dp.UnitAmountDecimal != 1500 || dp.Currency != "gbp" || dp.Type != stripe.PriceTypeRecurring || dp.TaxBehavior != "exclusive" ||
		dp.Recurring == nil || dp.Recurring.Interval != "month" || dp.Recurring.IntervalCount != 3 || dp.Recurring.UsageType != "licensed" {
		t.Errorf("expanded default price = %+v", dp)
	}

	// Retrieved unexpanded, default_price is the ID; every field Stripe
	// has is there, the ones Calmony Pay does not use as null.
	got2, err := sc.V1Products.Retrieve(ctx, p.ID, nil)
	if err != nil || got2.DefaultPrice == nil || got2.DefaultPrice.ID != dp.ID || got2.DefaultPrice.UnitAmount != 0 {
		t.Errorf("Retrieve = %+v, %v; want default_price %s unexpanded", got2, err, dp.ID)
	}
	a := do(t, srv, call{method: "GET", path: "/v1/products/" + p.ID})
	for _, k := range []string{"package_dimensions", "shippable", "tax_code"} {
		if v, ok := a.body[k]; !ok || v != nil {
			t.Errorf("product %s = %v (present %v), want null", k, v, ok)
		}
	}
	a = do(t, srv, call{method: "GET", path: "/v1/prices/" + dp.ID})
	for k, want := range map[string]any{"unit_amount_decimal": "1500", "custom_unit_amount": nil, "tiers_mode": nil, "transform_quantity": nil,
		"billing_scheme": "per_unit", "lookup_key": nil, "nickname": nil} {
		if v, ok := a.body[k]; !ok || v != want {
			t.Errorf("price %s = %#v (present %v), want %#v", k, v, ok, want)
		}
	}
	if r, _ := a.body["recurring"].(map[string]any); r == nil || r["meter"] != nil || r["trial_period_days"] != nil {
		t.Errorf("price recurring = %v, want meter and trial_period_days null", a.body["recurring"])
	}
}

func testCatalogPrice(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	sc := sdkClient(srv.URL, srv.Key)
	prod := newProduct(t, sc, "Widget", 100)
	params := &stripe.PriceCreateParams{Currency: stripe.String("GBP"), UnitAmountDecimal: stripe.Float64(2500), Product: stripe.String(prod.ID),
		Nickname: stripe.String("Yearly"), LookupKey: stripe.String("widget-yearly-" + sdkUnique()),
		Recurring: &stripe.PriceCreateRecurringParams{Interval: stripe.String("year"), TrialPeriodDays: stripe.Int64(14)}}
	params.AddExpand("product")
	params.AddMetadata("k", "v")
	p, err := sc.V1Prices.Create(ctx, params)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if p.Product == nil || p.Product.Name != "Widget" || p.Currency != "gbp" || p.UnitAmount != 2500 || p.Nickname != "Yearly" ||
		p.LookupKey != *params.LookupKey || p.Recurring.Interval != "year" || p.Recurring.IntervalCount != 1 || p.Recurring.TrialPeriodDays != 14 ||
		p.TaxBehavior != "unspecified" || p.BillingScheme != "per_unit" || !p.Active || p.Metadata["k"] != "v" {
		t.Errorf("created price = %+v (product %+v)", p, p.Product)
	}

	// A one-time price, with a new product made with it.
	one, err := sc.V1Prices.Create(ctx, &stripe.PriceCreateParams{Currency: stripe.String("gbp"), UnitAmount: stripe.Int64(0),
		ProductData: &stripe.PriceCreateProductDataParams{Name: stripe.String("Free sample"), UnitLabel: stripe.String("box")}})
	if err != nil {
		t.Fatalf("Create with product_data: %v", err)
	}
	if one.Type != stripe.PriceTypeOneTime || one.Recurring != nil || one.UnitAmount != 0 || one.Product == nil {
		t.Fatalf("one-time price = %+v", one)
	}
	rp := &stripe.PriceRetrieveParams{}
	rp.AddExpand("product")
	got, err := sc.V1Prices.Retrieve(ctx, one.ID, rp)
	if err != nil || got.Product.Name != "Free sample" || got.Product.UnitLabel != "box" || got.Product.DefaultPrice != nil {
		t.Errorf("Retrieve(expand product) = %+v, %v", got, err)
	}
}

func testCatalogUpdate(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	sc := sdkClient(srv.URL, srv.Key)
	prod, err := sc.V1Products.Create(ctx, &stripe.ProductCreateParams{Name: stripe.String("Draft"), Description: stripe.String("old"),
		URL: stripe.String("https://example.com/draft")})
	if err != nil {
		t.Fatal(err)
	}
	up := &stripe.ProductUpdateParams{Name: stripe.String("Final"), Active: stripe.Bool(false)}
	up.AddUnsetField(stripe.ProductUpdateParamsUnsetFieldDescription)
	up.AddUnsetField(stripe.ProductUpdateParamsUnsetFieldURL)
	up.AddMetadata("k", "v")
	p, err := sc.V1Products.Update(ctx, prod.ID, up)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if p.Name != "Final" || p.Active || p.Description != "" || p.URL != "" || p.Metadata["k"] != "v" || p.Updated < prod.Updated {
		t.Errorf("updated product = %+v", p)
	}

	price, err := sc.V1Prices.Create(ctx, &stripe.PriceCreateParams{Currency: stripe.String("gbp"), UnitAmount: stripe.Int64(700), Product: stripe.String(prod.ID)})
	if err != nil {
		t.Fatalf("a price of an archived product: %v", err)
	}
	p, err = sc.V1Products.Update(ctx, prod.ID, &stripe.ProductUpdateParams{DefaultPrice: stripe.String(price.ID)})
	if err != nil || p.DefaultPrice == nil || p.DefaultPrice.ID != price.ID {
		t.Errorf("Update(default_price) = %+v, %v", p, err)
	}
	pu := &stripe.PriceUpdateParams{Nickname: stripe.String("Launch"), TaxBehavior: stripe.String("inclusive")}
	pu.AddMetadata("campaign", "spring")
	pr, err := sc.V1Prices.Update(ctx, price.ID, pu)
	if err != nil || pr.Nickname != "Launch" || pr.TaxBehavior != "inclusive" || pr.Metadata["campaign"] != "spring" || pr.UnitAmount != 700 {
		t.Errorf("price Update = %+v, %v", pr, err)
	}
	_, err = sc.V1Prices.Update(ctx, price.ID, &stripe.PriceUpdateParams{TaxBehavior: stripe.String("exclusive")})
	sdkCheckError(t, "changing a chosen tax_behavior", err, sdkWant{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "parameter_invalid", Param: "tax_behavior"})
	_, err = sc.V1Prices.Update(ctx, price.ID, &stripe.PriceUpdateParams{Active: stripe.Bool(false)})
	sdkCheckError(t, "archiving the default price", err, sdkWant{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: "parameter_invalid", Param: "active"})

	// A price's terms are fixed: the SDK has no such parameters, so send them raw.
	for _, param := range []string{"unit_amount", "currency", "recurring[interval]", "product"} {
		body := url.Values{param: {"1"}}
		a := do(t, srv, call{method: "POST", path: "/v1/prices/" + price.ID, body: body.Encode()})
		name, _, _ := strings.Cut(param, "[")
		wantError(t, a, 400, "invalid_request_error", "parameter_unknown", name)
		if !strings.Contains(a.err("message"), "cannot be changed") {
			t.Errorf("update of %s: message %q does not say it cannot be changed", param, a.err("message"))
		}
	}
}

func testCatalogLists(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	_, key := apitest.NewProject(t, srv.DB) // a project of its own: only these objects
	sc := sdkClient(srv.URL, key)
	a := newProduct(t, sc, "A", 100)
	b := newProduct(t, sc, "B", 200)
	c, err := sc.V1Products.Create(ctx, &stripe.ProductCreateParams{Name: stripe.String("C"), Active: stripe.Bool(false), URL: stripe.String("https://example.com/c")})
	if err != nil {
		t.Fatal(err)
	}
	once, err := sc.V1Prices.Create(ctx, &stripe.PriceCreateParams{Currency: stripe.String("gbp"), UnitAmount: stripe.Int64(50), Product: stripe.String(b.ID),
		LookupKey: stripe.String("b-once")})
	if err != nil {
		t.Fatal(err)
	}
	products := func(p *stripe.ProductListParams) []string {
		t.Helper()
		p.Limit = stripe.Int64(1) // the SDK pages: filters must hold on every page
		var ids []string
		for x, err := range sc.V1Products.List(ctx, p).All(ctx) {
			if err != nil {
				t.Fatalf("List products: %v", err)
			}
			ids = append(ids, x.ID)
		}
		return ids
	}
	prices := func(p *stripe.PriceListParams) []string {
		t.Helper()
		p.Limit = stripe.Int64(1)
		var ids []string
		for x, err := range sc.V1Prices.List(ctx, p).All(ctx) {
			if err != nil {
				t.Fatalf("List prices: %v", err)
			}
			ids = append(ids, x.ID)
		}
		return ids
	}
	for _, tc := range []struct {
		name      string
		got, want []string
	}{
		{"all products, newest first", products(&stripe.ProductListParams{}), []string{c.ID, b.ID, a.ID}},
		{"active", products(&stripe.ProductListParams{Active: stripe.Bool(true)}), []string{b.ID, a.ID}},
		{"inactive", products(&stripe.ProductListParams{Active: stripe.Bool(false)}), []string{c.ID}},
		{"ids", products(&stripe.ProductListParams{IDs: []*string{stripe.String(a.ID), stripe.String(c.ID)}}), []string{c.ID, a.ID}},
		{"url", products(&stripe.ProductListParams{URL: stripe.String("https://example.com/c")}), []string{c.ID}},
		{"shippable", products(&stripe.ProductListParams{Shippable: stripe.Bool(true)}), nil},
		{"all prices", prices(&stripe.PriceListParams{}), []string{once.ID, b.DefaultPrice.ID, a.DefaultPrice.ID}},
		{"product", prices(&stripe.PriceListParams{Product: stripe.String(b.ID)}), []string{once.ID, b.DefaultPrice.ID}},
		{"type one_time", prices(&stripe.PriceListParams{Type: stripe.String("one_time")}), []string{once.ID}},
		{"recurring interval", prices(&stripe.PriceListParams{Recurring: &stripe.PriceListRecurringParams{Interval: stripe.String("month")}}),
			[]string{b.DefaultPrice.ID, a.DefaultPrice.ID}},
		{"lookup_keys", prices(&stripe.PriceListParams{LookupKeys: []*string{stripe.String("b-once"), stripe.String("nope")}}), []string{once.ID}},
		{"currency", prices(&stripe.PriceListParams{Currency: stripe.String("eur")}), nil},
	} {
		if diff := gocmp.Diff(tc.want, tc.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}

	// expand[]=data.product in a list.
	lp := &stripe.PriceListParams{Product: stripe.String(a.ID)}
	lp.AddExpand("data.product")
	for x, err := range sc.V1Prices.List(ctx, lp).All(ctx) {
		if err != nil || x.Product == nil || x.Product.Name != "A" {
			t.Errorf("List(expand data.product) = %+v, %v", x, err)
		}
	}
}

func testCatalogSearch(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	_, key := apitest.NewProject(t, srv.DB)
	sc := sdkClient(srv.URL, key)
	a := newProduct(t, sc, "Alpha", 100)
	pb := &stripe.ProductCreateParams{Name: stripe.String("Beta"), Active: stripe.Bool(false)}
	pb.AddMetadata("team", "red")
	b, err := sc.V1Products.Create(ctx, pb)
	if err != nil {
		t.Fatal(err)
	}
	once, err := sc.V1Prices.Create(ctx, &stripe.PriceCreateParams{Currency: stripe.String("gbp"), UnitAmount: stripe.Int64(5), Product: stripe.String(b.ID),
		LookupKey: stripe.String("beta-once")})
	if err != nil {
		t.Fatal(err)
	}
	searchProducts := func(q string) []string {
		t.Helper()
		var ids []string
		for x, err := range sc.V1Products.Search(ctx, &stripe.ProductSearchParams{SearchParams: stripe.SearchParams{Query: q, Limit: stripe.Int64(1)}}).All(ctx) {
			if err != nil {
				t.Fatalf("Search(%s): %v", q, err)
			}
			ids = append(ids, x.ID)
		}
		return ids
	}
	searchPrices := func(q string) []string {
		t.Helper()
		var ids []string
		for x, err := range sc.V1Prices.Search(ctx, &stripe.PriceSearchParams{SearchParams: stripe.SearchParams{Query: q}}).All(ctx) {
			if err != nil {
				t.Fatalf("Search(%s): %v", q, err)
			}
			ids = append(ids, x.ID)
		}
		return ids
	}
	for _, tc := range []struct {
		query     string
		got, want []string
	}{
		{"name:'Alpha'", searchProducts("name:'Alpha'"), []string{a.ID}},
		{"active:'true'", searchProducts("active:'true'"), []string{a.ID}},
		{"-active:'true'", searchProducts("-active:'true'"), []string{b.ID}},
		{"metadata['team']:'red' OR name:'Alpha'", searchProducts("metadata['team']:'red' OR name:'Alpha'"), []string{b.ID, a.ID}},
		{"prices of beta", searchPrices("product:'" + b.ID + "'"), []string{once.ID}},
		{"type:'recurring'", searchPrices("type:'recurring'"), []string{a.DefaultPrice.ID}},
		{"lookup_key", searchPrices("lookup_key:'beta-once' AND active:'true'"), []string{once.ID}},
	} {
		if diff := gocmp.Diff(tc.want, tc.got); diff != "" {
			t.Errorf("search %s (-want +got):\n%s", tc.query, diff)
		}
	}
	a2 := do(t, srv, call{method: "GET", path: "/v1/products/search?query=" + url.QueryEscape("active:'maybe'"), key: key})
	wantError(t, a2, 400, "invalid_request_error", "parameter_invalid", "query")
}

func testCatalogDelete(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	sc := sdkClient(srv.URL, srv.Key)
	priced := newProduct(t, sc, "Priced", 100)
	_, err := sc.V1Products.Delete(ctx, priced.ID, nil)
	se := sdkCheckError(t, "Delete with prices", err, sdkWant{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Param: "id"})
	if se.Msg != "This product cannot be deleted because it has one or more user-created prices." {
		t.Errorf("Delete with prices: message %q", se.Msg)
	}
	bare, err := sc.V1Products.Create(ctx, &stripe.ProductCreateParams{Name: stripe.String("Bare")})
	if err != nil {
		t.Fatal(err)
	}
	del, err := sc.V1Products.Delete(ctx, bare.ID, nil)
	if err != nil || !del.Deleted || del.ID != bare.ID {
		t.Fatalf("Delete = %+v, %v", del, err)
	}
	missing := sdkWant{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: stripe.ErrorCodeResourceMissing, Param: "id"}
	_, err = sc.V1Products.Retrieve(ctx, bare.ID, nil)
	sdkCheckError(t, "Retrieve after Delete", err, missing)
	_, err = sc.V1Products.Delete(ctx, bare.ID, nil)
	sdkCheckError(t, "second Delete", err, missing)
	_, err = sc.V1Prices.Create(ctx, &stripe.PriceCreateParams{Currency: stripe.String("gbp"), UnitAmount: stripe.Int64(1), Product: stripe.String(bare.ID)})
	sdkCheckError(t, "a price of a deleted product", err, sdkWant{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: stripe.ErrorCodeResourceMissing, Param: "product"})
}

// The original Calmony product's interval names, which the SDK has no field
// for: interval=monthly|annual at the top level or in recurring.
func testCatalogIntervalAlias(t *testing.T, srv *apitest.Server) {
	prod := newProduct(t, sdkClient(srv.URL, srv.Key), "Alias", 100)
	for _, tc := range []struct {
		body     url.Values
		interval string
		status   int
		param    string
	}{
		{url.Values{"interval": {"monthly"}}, "month", 200, ""},
		{url.Values{"interval": {"annual"}}, "year", 200, ""},
		{url.Values{"recurring[interval]": {"monthly"}}, "month", 200, ""},
		{url.Values{"recurring[interval]": {"annual"}, "recurring[interval_count]": {"1"}}, "year", 200, ""},
		{url.Values{"interval": {"weekly"}}, "", 400, "interval"},
		{url.Values{"interval": {"month"}}, "", 400, "interval"},
		{url.Values{"interval": {"monthly"}, "recurring[interval]": {"month"}}, "", 400, "interval"},
		{url.Values{"recurring[interval]": {"monthly"}, "recurring[interval_count]": {"2"}}, "", 400, "recurring[interval_count]"},
	} {
		body := tc.body
		body.Set("currency", "gbp")
		body.Set("unit_amount", "999")
		body.Set("product", prod.ID)
		a := do(t, srv, call{method: "POST", path: "/v1/prices", body: body.Encode()})
		if tc.status != 200 {
			wantError(t, a, tc.status, "invalid_request_error", "parameter_invalid", tc.param)
			continue
		}
		var p stripe.Price
		if err := json.Unmarshal([]byte(a.raw), &p); err != nil || a.status != 200 {
			t.Fatalf("%s: %d %s", body.Encode(), a.status, a.raw)
		}
		if p.Type != "recurring" || p.Recurring == nil || string(p.Recurring.Interval) != tc.interval || p.Recurring.IntervalCount != 1 {
			t.Errorf("%s: recurring = %+v, want %s/1", body.Encode(), p.Recurring, tc.interval)
		}
	}
}

func testCatalogBadInput(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	sc := sdkClient(srv.URL, srv.Key)
	prod := newProduct(t, sc, "Bad input", 100)
	key := "taken-" + sdkUnique()
	if _, err := sc.V1Prices.Create(ctx, &stripe.PriceCreateParams{Currency: stripe.String("gbp"), UnitAmount: stripe.Int64(1),
		Product: stripe.String(prod.ID), LookupKey: stripe.String(key)}); err != nil {
		t.Fatal(err)
	}
	price := func(mod func(p *stripe.PriceCreateParams)) func() error {
		return func() error {
			p := &stripe.PriceCreateParams{Currency: stripe.String("gbp"), UnitAmount: stripe.Int64(100), Product: stripe.String(prod.ID)}
			mod(p)
			_, err := sc.V1Prices.Create(ctx, p)
			return err
		}
	}
	month := func(n int64) *stripe.PriceCreateRecurringParams {
		return &stripe.PriceCreateRecurringParams{Interval: stripe.String("month"), IntervalCount: stripe.Int64(n)}
	}
	for _, tc := range []struct {
		name, code, param string
		call              func() error
	}{
		{"missing name", "parameter_missing", "name", func() error {
			_, err := sc.V1Products.Create(ctx, &stripe.ProductCreateParams{Description: stripe.String("no name")})
			return err
		}},
		{"type good", "parameter_invalid", "type", func() error {
			_, err := sc.V1Products.Create(ctx, &stripe.ProductCreateParams{Name: stripe.String("x"), Type: stripe.String("good")})
			return err
		}},
		{"bad image", "url_invalid", "images[0]", func() error {
			_, err := sc.V1Products.Create(ctx, &stripe.ProductCreateParams{Name: stripe.String("x"), Images: []*string{stripe.String("not a url")}})
			return err
		}},
		{"bad custom id", "parameter_invalid", "id", func() error {
			_, err := sc.V1Products.Create(ctx, &stripe.ProductCreateParams{Name: stripe.String("x"), ID: stripe.String("no spaces allowed")})
			return err
		}},
		{"default price in a disabled currency", "parameter_invalid", "default_price_data[currency]", func() error {
			_, err := sc.V1Products.Create(ctx, &stripe.ProductCreateParams{Name: stripe.String("x"),
				DefaultPriceData: &stripe.ProductCreateDefaultPriceDataParams{Currency: stripe.String("eur"), UnitAmount: stripe.Int64(1)}})
			return err
		}},
		{"another product's price as default", "parameter_invalid", "default_price", func() error {
			other := newProduct(t, sc, "Other", 5)
			_, err := sc.V1Products.Update(ctx, other.ID, &stripe.ProductUpdateParams{DefaultPrice: stripe.String(prod.DefaultPrice.ID)})
			return err
		}},
		{"negative unit_amount", "parameter_invalid_integer", "unit_amount", price(func(p *stripe.PriceCreateParams) { p.UnitAmount = stripe.Int64(-1) })},
		{"fractional unit_amount_decimal", "parameter_invalid", "unit_amount_decimal", price(func(p *stripe.PriceCreateParams) {
			p.UnitAmount, p.UnitAmountDecimal = nil, stripe.Float64(12.5)
		})},
		{"missing unit_amount", "parameter_missing", "unit_amount", price(func(p *stripe.PriceCreateParams) { p.UnitAmount = nil })},
		{"missing currency", "parameter_missing", "currency", price(func(p *stripe.PriceCreateParams) { p.Currency = nil })},
		{"missing product", "parameter_missing", "product", price(func(p *stripe.PriceCreateParams) { p.Product = nil })},
		{"bad interval", "parameter_invalid", "recurring[interval]", price(func(p *stripe.PriceCreateParams) {
			p.Recurring = &stripe.PriceCreateRecurringParams{Interval: stripe.String("fortnight")}
		})},
		{"13 months", "parameter_invalid_integer", "recurring[interval_count]", price(func(p *stripe.PriceCreateParams) { p.Recurring = month(13) })},
		{"0 months", "parameter_invalid_integer", "recurring[interval_count]", price(func(p *stripe.PriceCreateParams) { p.Recurring = month(0) })},
		{"53 weeks", "parameter_invalid_integer", "recurring[interval_count]", price(func(p *stripe.PriceCreateParams) {
			p.Recurring = &stripe.PriceCreateRecurringParams{Interval: stripe.String("week"), IntervalCount: stripe.Int64(53)}
		})},
		{"metered", "parameter_invalid", "recurring[usage_type]", price(func(p *stripe.PriceCreateParams) {
			p.Recurring = &stripe.PriceCreateRecurringParams{Interval: stripe.String("month"), UsageType: stripe.String("metered")}
		})},
		{"tiered", "parameter_invalid", "billing_scheme", price(func(p *stripe.PriceCreateParams) { p.BillingScheme = stripe.String("tiered") })},
		{"custom_unit_amount", "parameter_invalid", "custom_unit_amount", price(func(p *stripe.PriceCreateParams) {
			p.UnitAmount, p.CustomUnitAmount = nil, &stripe.PriceCreateCustomUnitAmountParams{Enabled: stripe.Bool(true)}
		})},
		{"currency not enabled", "parameter_invalid", "currency", price(func(p *stripe.PriceCreateParams) { p.Currency = stripe.String("eur") })},
		{"not a currency", "parameter_invalid", "currency", price(func(p *stripe.PriceCreateParams) { p.Currency = stripe.String("pounds") })},
		{"product and product_data", "parameter_invalid", "product_data", price(func(p *stripe.PriceCreateParams) {
			p.ProductData = &stripe.PriceCreateProductDataParams{Name: stripe.String("x")}
		})},
		{"lookup_key clash", "parameter_invalid", "lookup_key", price(func(p *stripe.PriceCreateParams) { p.LookupKey = stripe.String(key) })},
		{"bad tax_behavior", "parameter_invalid", "tax_behavior", price(func(p *stripe.PriceCreateParams) { p.TaxBehavior = stripe.String("sometimes") })},
	} {
		err := tc.call()
		se := sdkCheckError(t, tc.name, err, sdkWant{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: stripe.ErrorCode(tc.code), Param: tc.param})
		if se != nil && strings.Contains(se.Msg, "unexpected") {
			t.Errorf("%s: message %q", tc.name, se.Msg)
		}
	}
	// Nothing refused was written: the product still has its two prices.
	n := 0
	for _, err := range sc.V1Prices.List(ctx, &stripe.PriceListParams{Product: stripe.String(prod.ID)}).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 {
		t.Errorf("prices of the product after refused creates: %d, want 2", n)
	}
}

func testCatalogIsolation(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	owner := sdkClient(srv.URL, srv.Key)
	prod := newProduct(t, owner, "Mine", 100)
	_, otherKey := apitest.NewProject(t, srv.DB)
	for _, tc := range []struct{ name, key string }{
		{"other project's test key", otherKey},
		{"same project's live key", apitest.NewKey(t, srv.DB, srv.Project, true)},
	} {
		sc := sdkClient(srv.URL, tc.key)
		missing := sdkWant{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: stripe.ErrorCodeResourceMissing, Param: "id"}
		_, err := sc.V1Products.Retrieve(ctx, prod.ID, nil)
		sdkCheckError(t, tc.name+": Retrieve product", err, missing)
		_, err = sc.V1Products.Update(ctx, prod.ID, &stripe.ProductUpdateParams{Name: stripe.String("Mallory")})
		sdkCheckError(t, tc.name+": Update product", err, missing)
		_, err = sc.V1Products.Delete(ctx, prod.ID, nil)
		sdkCheckError(t, tc.name+": Delete product", err, missing)
		_, err = sc.V1Prices.Retrieve(ctx, prod.DefaultPrice.ID, nil)
		sdkCheckError(t, tc.name+": Retrieve price", err, missing)
		_, err = sc.V1Prices.Update(ctx, prod.DefaultPrice.ID, &stripe.PriceUpdateParams{Active: stripe.Bool(false)})
		sdkCheckError(t, tc.name+": Update price", err, missing)
		_, err = sc.V1Prices.Create(ctx, &stripe.PriceCreateParams{Currency: stripe.String("gbp"), UnitAmount: stripe.Int64(1), Product: stripe.String(prod.ID)})
		missing.Param = "product"
		sdkCheckError(t, tc.name+": Create price", err, missing)
		for x, err := range sc.V1Products.List(ctx, &stripe.ProductListParams{IDs: []*string{stripe.String(prod.ID)}}).All(ctx) {
			t.Errorf("%s: List(ids) shows %v, %v", tc.name, x, err)
		}
		for x, err := range sc.V1Prices.List(ctx, &stripe.PriceListParams{Product: stripe.String(prod.ID)}).All(ctx) {
			t.Errorf("%s: List(product) shows %v, %v", tc.name, x, err)
		}
	}
	if got, err := owner.V1Products.Retrieve(ctx, prod.ID, nil); err != nil || got.Name != "Mine" {
		t.Errorf("owner's product after the other keys' attempts: %+v, %v", got, err)
	}
}

func testCatalogIdempotency(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	sc := sdkClient(srv.URL, srv.Key)
	name := "Idem " + sdkUnique()
	key := "catalog-" + sdkUnique()
	create := func() (*stripe.Product, error) {
		p := &stripe.ProductCreateParams{Name: stripe.String(name), DefaultPriceData: &stripe.ProductCreateDefaultPriceDataParams{
			Currency: stripe.String("gbp"), UnitAmount: stripe.Int64(300)}}
		p.SetIdempotencyKey(key)
		return sc.V1Products.Create(ctx, p)
	}
	first, err := create()
	if err != nil {
		t.Fatal(err)
	}
	second, err := create()
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != second.ID || first.DefaultPrice.ID != second.DefaultPrice.ID || second.LastResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replayed create = %s/%s (replayed %q), want %s/%s", second.ID, second.DefaultPrice.ID,
			second.LastResponse.Header.Get("Idempotent-Replayed"), first.ID, first.DefaultPrice.ID)
	}
	n := 0
	for x, err := range sc.V1Products.Search(ctx, &stripe.ProductSearchParams{SearchParams: stripe.SearchParams{Query: "name:'" + name + "'"}}).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if x.ID != first.ID {
			t.Errorf("a second product %s", x.ID)
		}
		n++
	}
	if n != 1 {
		t.Errorf("products named %q: %d, want 1", name, n)
	}
	var events []string
	for e, err := range sc.V1Events.List(ctx, &stripe.EventListParams{Types: []*string{stripe.String("product.created"), stripe.String("price.created")}}).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Request != nil && e.Request.IdempotencyKey == key {
			events = append(events, string(e.Type))
		}
	}
	slices.Sort(events)
	if diff := gocmp.Diff([]string{"price.created", "product.created"}, events); diff != "" {
		t.Errorf("events of the keyed create (-want +got):\n%s", diff)
	}
}

func testCatalogEvents(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	_, key := apitest.NewProject(t, srv.DB)
	sc := sdkClient(srv.URL, key)
	prod := newProduct(t, sc, "Evented", 100)
	if _, err := sc.V1Products.Update(ctx, prod.ID, &stripe.ProductUpdateParams{Name: stripe.String("Evented 2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.V1Prices.Update(ctx, prod.DefaultPrice.ID, &stripe.PriceUpdateParams{Nickname: stripe.String("n")}); err != nil {
		t.Fatal(err)
	}
	bare, err := sc.V1Products.Create(ctx, &stripe.ProductCreateParams{Name: stripe.String("Gone")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.V1Products.Delete(ctx, bare.ID, nil); err != nil {
		t.Fatal(err)
	}
	var got []string
	for e, err := range sc.V1Events.List(ctx, nil).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(e.Type))
		switch e.Type {
		case "product.updated":
			var p stripe.Product
			if err := json.Unmarshal(e.Data.Raw, &p); err != nil || p.Name != "Evented 2" || e.Data.PreviousAttributes["name"] != "Evented" {
				t.Errorf("product.updated = %+v, previous %v, %v", p, e.Data.PreviousAttributes, err)
			}
		case "price.updated":
			var p stripe.Price
			if err := json.Unmarshal(e.Data.Raw, &p); err != nil || p.Nickname != "n" || p.UnitAmount != 100 {
				t.Errorf("price.updated = %+v, %v", p, err)
			}
		case "product.deleted":
			var p stripe.Product
			if err := json.Unmarshal(e.Data.Raw, &p); err != nil || !p.Deleted || p.ID != bare.ID {
				t.Errorf("product.deleted = %+v, %v", p, err)
			}
		}
	}
	slices.Reverse(got)
	want := []string{"product.created", "price.created", "product.updated", "price.updated", "product.created", "product.deleted"}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("events, oldest first (-want +got):\n%s", diff)
	}
}

// emitCatalogEvents emits every product and price event type (for
// TestEveryEmittedEventIsSubscribable).
func emitCatalogEvents(t *testing.T, sc *stripe.Client) {
	t.Helper()
	ctx := context.Background()
	prod := newProduct(t, sc, "Every event", 100)
	if _, err := sc.V1Products.Update(ctx, prod.ID, &stripe.ProductUpdateParams{Name: stripe.String("Every event, updated")}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.V1Prices.Update(ctx, prod.DefaultPrice.ID, &stripe.PriceUpdateParams{Nickname: stripe.String("updated")}); err != nil {
		t.Fatal(err)
	}
	bare, err := sc.V1Products.Create(ctx, &stripe.ProductCreateParams{Name: stripe.String("Deleted")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.V1Products.Delete(ctx, bare.ID, nil); err != nil {
		t.Fatal(err)
	}
}
