package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/safeurl"
)

// readLineItems reads line_items[n][price_data][currency|unit_amount|product_data[name|description]] and [quantity].
func readLineItems(p *params) ([]pay.LineItem, string) {
	subs, ok := p.Slice("line_items")
	if !ok {
		p.Missing("line_items")
		return nil, ""
	}
	if len(subs) == 0 || len(subs) > payments.MaxLineItems {
		p.Fail("line_items", "parameter_invalid", fmt.Sprintf("line_items must have between 1 and %d items.", payments.MaxLineItems))
		return nil, ""
	}
	var (
		items    []pay.LineItem
		currency string
	)
	for _, sub := range subs {
		li := pay.LineItem{ID: pay.NewID(pay.PrefixLineItem), Quantity: 1}
		if q := sub.OptInt64("quantity"); q != nil {
			if *q < 1 || *q > 999999 {
				sub.Fail("quantity", "parameter_invalid_integer", "quantity must be between 1 and 999999.")
			}
			li.Quantity = *q
		}
		if sub.Has("price") {
			sub.Fail("price", "parameter_invalid", "Prices are not supported yet: pass price_data.")
		}
		pd, ok := sub.Sub("price_data")
		if !ok {
			sub.Missing("price_data")
			continue
		}
		c := strings.ToLower(pd.RequireString("currency"))
		if currency == "" {
			currency = c
		} else if c != currency {
			pd.Fail("currency", "parameter_invalid", "All line items must have the same currency.")
		}
		if li.UnitAmount = pd.RequireInt64("unit_amount"); li.UnitAmount < 0 || li.UnitAmount > 99999999 {
			pd.Fail("unit_amount", "parameter_invalid_integer", "unit_amount must be between 0 and 99999999.")
		}
		prod, ok := pd.Sub("product_data")
		if !ok {
			pd.Missing("product_data")
			continue
		}
		if li.Name = prod.RequireString("name"); utf8.RuneCountInString(li.Name) > 250 {
			prod.Fail("name", "parameter_invalid_string_too_long", "name must be at most 250 characters.")
		}
		if d, ok := prod.String("description"); ok {
			li.Description = d
		}
		prod.Ignore("images", "metadata", "tax_code")
		items = append(items, li)
	}
	return items, currency
}

// checkURL applies SEC-10 to a success or cancel URL.
func (s *Server) checkURL(p *params, name string, required bool) string {
	raw, ok := p.String(name)
	if !ok || raw == "" {
		if required {
			p.Missing(name)
		}
		return ""
	}
	// {CHECKOUT_SESSION_ID} is replaced on redirect; check the URL without it.
	probe := strings.ReplaceAll(raw, "{CHECKOUT_SESSION_ID}", "cs_placeholder")
	if _, err := safeurl.Check(probe, safeurl.Options{AllowLocalhost: s.allowLocalhostURLs}); err != nil {
		p.Fail(name, "url_invalid", fmt.Sprintf("%s must be an absolute https URL to a public host: %v", name, err))
	}
	return raw
}

func (s *Server) createCheckoutSession(r *http.Request, p *params) (opFunc, error) {
	if mode := p.RequireString("mode"); mode != "" && mode != "payment" {
		p.Fail("mode", "parameter_invalid", "Only mode=payment is supported; setup and subscription modes arrive with billing.")
	}
	items, currency := readLineItems(p)
	success := s.checkURL(p, "success_url", true)
	cancel := s.checkURL(p, "cancel_url", false)
	customer, _ := p.String("customer")
	email := readText(p, "customer_email", 512)
	if email != nil && *email != "" && !plausibleEmail(*email) {
		p.Fail("customer_email", "email_invalid", "Invalid email address.")
	}
	if customer != "" && email != nil && *email != "" {
		p.Fail("customer_email", "parameter_invalid", "You may pass only one of customer and customer_email.")
	}
	ref := readText(p, "client_reference_id", 200)
	md := readMetadata(p)
	var piMD pay.MetadataUpdate
	var piDesc, piCapture, piDescriptor *string
	if sub, ok := p.Sub("payment_intent_data"); ok {
		pid := &params{Reader: sub}
		piMD = readMetadata(pid)
		piDesc = readText(pid, "description", 1000)
		piDescriptor = readDescriptor(pid, "statement_descriptor")
		if piCapture = sub.OptString("capture_method"); piCapture != nil && !oneOf(*piCapture, []string{"automatic", "automatic_async", "manual"}) {
			sub.Fail("capture_method", "parameter_invalid", "capture_method must be automatic, automatic_async or manual.")
		}
	}
	expiresAt, expiresIn := p.OptInt64("expires_at"), p.OptInt64("expires_in")
	readCheckoutPresentation(p)
	cp := payments.CheckoutParams{Currency: currency, LineItems: items, SuccessURL: success, CancelURL: cancel, Customer: customer,
		CustomerEmail: email, ClientReferenceID: ref, Metadata: md, ExpiresAt: expiresAt, ExpiresIn: expiresIn,
		PIMetadata: piMD, PIDescription: piDesc, PICaptureMethod: piCapture, PIStatementDescriptor: piDescriptor}
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.payments.CreateCheckoutSession(ctx, call, cp)
	}, nil
}

// readCheckoutPresentation reads how the session is to be presented. The
// hosted page takes cards only and cannot be embedded or collect a billing
// address, so asking for those is refused rather than silently served
// otherwise; the button label and language are accepted and left to the
// gateway's page.
func readCheckoutPresentation(p *params) {
	if v, ok := p.String("ui_mode"); ok && v != "hosted" {
		p.Fail("ui_mode", "parameter_invalid", "Only ui_mode=hosted is supported: checkout sessions are hosted payment pages, and embedded or custom checkout is not offered.")
	}
	readPaymentMethodTypes(p)
	if v, ok := p.String("submit_type"); ok && !oneOf(v, []string{"auto", "book", "donate", "pay", "subscribe"}) {
		p.Fail("submit_type", "parameter_invalid", "submit_type must be one of auto, book, donate, pay or subscribe.")
	}
	if v, ok := p.String("billing_address_collection"); ok && v != "auto" {
		p.Fail("billing_address_collection", "parameter_invalid", "Only billing_address_collection=auto is supported: the hosted page does not collect billing addresses.")
	}
	p.String("locale")
}

func (s *Server) retrieveCheckoutSession(r *http.Request, p *params) (readFunc, error) {
	id := r.PathValue("id")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		cs, err := s.db.FindCheckoutSession(ctx, scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "checkout.session", id, "id")
		}
		return s.withLineItems(cs, p), nil
	}, nil
}

// withLineItems renders a session, including its line items when expand[]
// asks for them (they are not an ID field, so the generic expander cannot).
func (s *Server) withLineItems(cs *pay.CheckoutSession, p *params) any {
	v := pay.CheckoutSessionView(cs, s.publicURL)
	if i := slices.Index(p.expand, "line_items"); i >= 0 {
		l := pay.LineItemList(cs)
		v.LineItems = &l
		p.expand = slices.Delete(p.expand, i, i+1)
	}
	return v
}

func (s *Server) listCheckoutSessions(r *http.Request, p *params) (readFunc, error) {
	page := readPage(p)
	pi, _ := p.String("payment_intent")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		l, err := s.db.FindCheckoutSessions(ctx, scope, pi, page)
		if err != nil {
			return nil, err
		}
		return newList("checkout.session", "/v1/checkout/sessions", l, func(cs *pay.CheckoutSession) any { return pay.CheckoutSessionView(cs, s.publicURL) }), nil
	}, nil
}

func (s *Server) listCheckoutLineItems(r *http.Request, p *params) (readFunc, error) {
	id := r.PathValue("id")
	page := readPage(p)
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		cs, err := s.db.FindCheckoutSession(ctx, scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "checkout.session", id, "id")
		}
		l := pay.LineItemList(cs)
		l.Data, l.HasMore = pageOf(l.Data, page)
		return l, nil
	}, nil
}

// pageOf pages an in-memory list of line items the way the store pages rows.
func pageOf(items []any, page pay.Page) ([]any, bool) {
	idOf := func(v any) string { return v.(pay.LineItemObject).ID }
	start, end := 0, len(items)
	if page.StartingAfter != "" {
		if i := slices.IndexFunc(items, func(v any) bool { return idOf(v) == page.StartingAfter }); i >= 0 {
			start = i + 1
		}
	}
	if page.EndingBefore != "" {
		if i := slices.IndexFunc(items, func(v any) bool { return idOf(v) == page.EndingBefore }); i >= 0 {
			end = i
			start = max(0, end-page.Limit)
		}
	}
	if end-start > page.Limit {
		return items[start : start+page.Limit], true
	}
	return items[start:end], false
}

func (s *Server) expireCheckoutSession(r *http.Request, p *params) (opFunc, error) {
	id := r.PathValue("id")
	return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
		return s.payments.ExpireCheckoutSession(ctx, call, id)
	}, nil
}
