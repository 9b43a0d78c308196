package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/form"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// Limits on the catalogue's parameters, in characters or items.
const (
	maxProductName     = 250
	maxProductText     = 5000 // description
	maxUnitLabel       = 12
	maxURL             = 2048 // url and each image
	maxFeatureName     = 80
	maxCustomProductID = 100
	maxProductListIDs  = 100 // the ids[] filter
	maxPriceLookupKeys = 10  // the lookup_keys[] filter
	maxLookupKey       = 200
	maxPriceNickname   = 250
)

// reader wraps a sub-object's reader so that the helpers written for a
// request's parameters (readText, readMetadata, …) read it too.
func reader(r *form.Reader) *params { return &params{Reader: r} }

// refuseUnsupported refuses parameters Stripe has that Calmony Pay does not
// offer, saying so instead of calling them unknown.
func refuseUnsupported(p *params, names ...string) {
	for _, name := range names {
		if p.Has(name) {
			p.Ignore(name)
			p.Fail(name, "parameter_invalid", name+" is not supported.")
		}
	}
}

// readURL reads an optional absolute http or https URL; "" unsets it.
func readURL(p *params, name string) *string {
	v := readText(p, name, maxURL)
	if v != nil && *v != "" && !plausibleURL(*v) {
		p.Fail(name, "url_invalid", "Not a valid URL: it must be an absolute http or https URL.")
	}
	return v
}

func plausibleURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && !strings.ContainsAny(s, " \t\r\n")
}

// readProductChange reads a product create or update, or a price's
// product_data (which has fewer parameters: the form reader refuses the
// others).
func readProductChange(p *params, productData bool) pay.ProductUpdate {
	var ch pay.ProductUpdate
	if ch.Name = readText(p, "name", maxProductName); ch.Name != nil && *ch.Name == "" {
		p.Fail("name", "parameter_invalid_empty", "A product's name cannot be empty.")
	}
	ch.Active = p.OptBool("active")
	ch.StatementDescriptor = readDescriptor(p, "statement_descriptor")
	ch.UnitLabel = readText(p, "unit_label", maxUnitLabel)
	ch.Metadata = readMetadata(p)
	refuseUnsupported(p, "tax_code")
	if productData {
		return ch
	}
	ch.Description = readText(p, "description", maxProductText)
	ch.URL = readURL(p, "url")
	ch.Images = readImages(p)
	ch.MarketingFeatures = readMarketingFeatures(p)
	refuseUnsupported(p, "package_dimensions", "shippable")
	return ch
}

// readImages reads images[], up to pay.MaxProductImages URLs; "images="
// clears them.
func readImages(p *params) *[]string {
	if p.Unset("images") {
		return &[]string{}
	}
	images, ok := p.StringSlice("images")
	if !ok {
		return nil
	}
	if len(images) > pay.MaxProductImages {
		p.Fail("images", "parameter_invalid", "A product can have at most "+strconv.Itoa(pay.MaxProductImages)+" images.")
	}
	for i, img := range images {
		if utf8.RuneCountInString(img) > maxURL || !plausibleURL(img) {
			p.Fail("images["+strconv.Itoa(i)+"]", "url_invalid", "Not a valid URL: each image must be an absolute http or https URL.")
		}
	}
	return &images
}

// readMarketingFeatures reads marketing_features[][name], up to
// pay.MaxMarketingFeatures; "marketing_features=" clears them.
func readMarketingFeatures(p *params) *[]string {
	if p.Unset("marketing_features") {
		return &[]string{}
	}
	items, ok := p.Slice("marketing_features")
	if !ok {
		return nil
	}
	if len(items) > pay.MaxMarketingFeatures {
		p.Fail("marketing_features", "parameter_invalid", "A product can have at most "+strconv.Itoa(pay.MaxMarketingFeatures)+" marketing features.")
	}
	names := make([]string, 0, len(items))
	for _, it := range items {
		name := it.RequireString("name")
		if utf8.RuneCountInString(name) > maxFeatureName {
			it.Fail("name", "parameter_invalid_string_too_long", "This value must be at most "+strconv.Itoa(maxFeatureName)+" characters.")
		}
		names = append(names, name)
	}
	return &names
}

// readProductID reads a product ID the merchant chose: letters, digits, _
// and -, as Stripe's IDs are written.
func readProductID(p *params) string {
	id, _ := p.String("id")
	if id == "" {
		return ""
	}
	bad := func(r rune) bool {
		return r != '_' && r != '-' && (r < '0' || r > '9') && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z')
	}
	if len(id) > maxCustomProductID || strings.ContainsFunc(id, bad) {
		p.Fail("id", "parameter_invalid", "A product ID may have up to "+strconv.Itoa(maxCustomProductID)+" letters, digits, _ and -.")
	}
	return id
}

// readProductParams reads a new product's parameters, for a product or a
// price's product_data.
func readProductParams(p *params, productData bool) billing.ProductParams {
	pp := billing.ProductParams{ID: readProductID(p), Product: readProductChange(p, productData)}
	if pp.Product.Name == nil {
		p.Missing("name")
	}
	return pp
}

func (s *Server) createProduct(r *http.Request, p *params) (opFunc, error) {
	pp := readProductParams(p, false)
	if v, ok := p.String("type"); ok && v != "service" {
		p.Fail("type", "parameter_invalid", "Only products of type service are supported.")
	}
	if sub, ok := p.Sub("default_price_data"); ok {
		d := readPriceData(reader(sub), false)
		pp.DefaultPriceData = &d
	}
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.CreateProduct(ctx, call, pp)
	}, nil
}

func (s *Server) updateProduct(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	ch := readProductChange(p, false)
	ch.DefaultPrice = p.OptString("default_price")
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.UpdateProduct(ctx, call, id, ch)
	}, nil
}

func (s *Server) deleteProduct(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.billing.DeleteProduct(ctx, call, id)
	}, nil
}

func (s *Server) listProducts(r *http.Request, p *params) (readFunc, error) {
	page := readPage(p)
	var f store.ProductFilter
	f.Active = p.OptBool("active")
	if ids, ok := p.StringSlice("ids"); ok {
		if len(ids) > maxProductListIDs {
			p.Fail("ids", "parameter_invalid", "You may pass at most "+strconv.Itoa(maxProductListIDs)+" ids.")
		}
		f.IDs = ids
	}
	if u := readText(p, "url", maxURL); u != nil {
		f.URL = *u
	}
	// Every product is a service: none is shippable, none is a good.
	if shippable := p.OptBool("shippable"); shippable != nil && *shippable {
		f.None = true
	}
	if typ, ok := p.String("type"); ok {
		switch typ {
		case "service":
		case "good":
			f.None = true
		default:
			p.Fail("type", "parameter_invalid", "type must be service or good.")
		}
	}
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		l, err := s.db.FindProducts(ctx, scope, f, page)
		if err != nil {
			return nil, err
		}
		return newList("product", "/v1/products", l, pay.ProductView), nil
	}, nil
}
