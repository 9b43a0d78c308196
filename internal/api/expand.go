package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
)

// finder is what expansion reads through: the read pool for reads, the
// write's own transaction for writes (so a write's answer shows its own
// changes).
type finder = payments.Finder

// expandField is a field expand[] may name, and the object type it expands
// into ("" when that type cannot be expanded further).
type expandField struct {
	path   string // fields inside plain sub-objects are written with dots
	target string
}

// expandable lists, per object type, the fields expand[] may name.
var expandable = map[string][]expandField{
	"customer":         {{"default_source", ""}, {"invoice_settings.default_payment_method", "payment_method"}, {"test_clock", pay.TestClockObject}},
	"payment_method":   {{"customer", "customer"}},
	"payment_intent":   {{"customer", "customer"}, {"payment_method", "payment_method"}, {"latest_charge", "charge"}},
	"setup_intent":     {{"customer", "customer"}, {"payment_method", "payment_method"}, {"latest_attempt", ""}, {"mandate", ""}},
	"charge":           {{"customer", "customer"}, {"payment_intent", "payment_intent"}, {"balance_transaction", ""}},
	"refund":           {{"charge", "charge"}, {"payment_intent", "payment_intent"}, {"balance_transaction", ""}},
	"checkout.session": {{"customer", "customer"}, {"payment_intent", "payment_intent"}},
	"product":          {{"default_price", "price"}, {"tax_code", ""}},
	"price":            {{"product", "product"}},
	"invoiceitem":      {{"customer", "customer"}, {"test_clock", pay.TestClockObject}},
	"invoice": {{"customer", "customer"}, {"default_payment_method", "payment_method"}, {"test_clock", pay.TestClockObject},
		{"confirmation_secret", ""}},
	"subscription": {{"customer", "customer"}, {"default_payment_method", "payment_method"}, {"latest_invoice", "invoice"},
		{"test_clock", pay.TestClockObject}},
	pay.PortalSessionObject:       {{"configuration", pay.PortalConfigurationObject}},
	pay.PortalConfigurationObject: {},
	"line_item":                   {},
	"subscription_item":           {},
}

// includable are the fields, named by object type and path, that Stripe
// leaves null unless expand[] names them ("includable" fields): each
// function returns the field's value for object m.
var includable = map[string]func(ctx context.Context, f finder, scope pay.Scope, m map[string]any) (any, error){
	// An invoice's confirmation_secret: the client secret of the payment
	// intent its customer confirms (default_incomplete subscriptions).
	"invoice.confirmation_secret": func(ctx context.Context, f finder, scope pay.Scope, m map[string]any) (any, error) {
		id, _ := m["id"].(string)
		inv, err := f.FindInvoice(ctx, scope, id)
		if err != nil || inv.ConfirmationSecret == "" {
			return nil, err
		}
		return map[string]any{"client_secret": inv.ConfirmationSecret, "type": "payment_intent"}, nil
	},
}

// loader fetches an expandable object, as a domain object that pay.View
// renders.
type loader func(ctx context.Context, f finder, scope pay.Scope, id string) (any, error)

// loaders fetch an expandable object by its ID prefix.
var loaders = map[string]loader{
	pay.PrefixCustomer: func(ctx context.Context, f finder, scope pay.Scope, id string) (any, error) {
		return f.FindCustomer(ctx, scope, id)
	},
	pay.PrefixPaymentMethod: func(ctx context.Context, f finder, scope pay.Scope, id string) (any, error) {
		return f.FindPaymentMethod(ctx, scope, id)
	},
	pay.PrefixPaymentIntent: func(ctx context.Context, f finder, scope pay.Scope, id string) (any, error) {
		return f.FindPaymentIntent(ctx, scope, id)
	},
	pay.PrefixCharge: func(ctx context.Context, f finder, scope pay.Scope, id string) (any, error) {
		return f.FindCharge(ctx, scope, id)
	},
	pay.PrefixTestClock: func(ctx context.Context, f finder, scope pay.Scope, id string) (any, error) {
		return f.FindTestClock(ctx, scope, id)
	},
	pay.PrefixInvoice: func(ctx context.Context, f finder, scope pay.Scope, id string) (any, error) {
		return f.FindInvoice(ctx, scope, id)
	},
	pay.PrefixPrice: func(ctx context.Context, f finder, scope pay.Scope, id string) (any, error) {
		return f.FindPrice(ctx, scope, id)
	},
	pay.PrefixPortalConfiguration: func(ctx context.Context, f finder, scope pay.Scope, id string) (any, error) {
		return f.FindPortalConfiguration(ctx, scope, id)
	},
}

// typeLoaders fetch an expandable object by its type, for the types whose
// IDs a merchant may choose (a product's need not start with prod_): they
// are used before loaders.
var typeLoaders = map[string]loader{
	"product": func(ctx context.Context, f finder, scope pay.Scope, id string) (any, error) {
		return f.FindProduct(ctx, scope, id)
	},
}

// maxExpandDepth is Stripe's limit on nested expansion.
const maxExpandDepth = 4

// Renderer renders the answers of writes as the API shows them (for
// payments.Config.Render): domain objects as their Stripe objects, with
// checkout sessions' pages on publicURL and expand[] applied, and errors in
// Stripe's envelope.
func Renderer(publicURL string) payments.Render {
	return func(ctx context.Context, f payments.Finder, scope pay.Scope, obj any, err error, expand []string) (int, []byte, error) {
		if e, ok := pay.AsError(err); ok {
			body, err := json.Marshal(pay.ErrorEnvelope(e))
			return e.Status, body, err
		}
		if err != nil {
			return 0, nil, err
		}
		body, err := render(ctx, f, scope, obj, expand, publicURL)
		return http.StatusOK, body, err
	}
}

// render marshals a response object, a domain object (pay.View) or a
// view, expanding the paths asked for.
func render(ctx context.Context, f finder, scope pay.Scope, obj any, expand []string, publicURL string) ([]byte, error) {
	obj = pay.View(obj, publicURL)
	if len(expand) == 0 {
		return json.Marshal(obj)
	}
	m, err := pay.ToMap(obj)
	if err != nil {
		return nil, err
	}
	typ, _ := m["object"].(string)
	switch l := obj.(type) {
	case pay.ListObject:
		typ = "list:" + l.Kind
	case searchView:
		typ = "list:" + l.kind
	}
	if err := checkExpand(typ, expand); err != nil {
		return nil, err
	}
	x := expansion{f: f, scope: scope, publicURL: publicURL}
	for _, path := range expand {
		if err := x.in(ctx, m, strings.Split(path, "."), path); err != nil {
			return nil, err
		}
	}
	return json.Marshal(m)
}

// checkExpand checks expand[] paths against the registry for an object of
// type typ ("list:" and the items' type for a list), whatever its data.
func checkExpand(typ string, expand []string) error {
	for _, path := range expand {
		parts := strings.Split(path, ".")
		if len(parts) > maxExpandDepth+1 { // +1 for a list's "data." prefix
			return pay.InvalidParam("expand", "You cannot expand more than %d levels of a property: %s.", maxExpandDepth, pay.Clip(path, 100))
		}
		if !canExpand(typ, parts) {
			return cannotExpand(path)
		}
	}
	return nil
}

func cannotExpand(path string) error {
	return pay.InvalidParam("expand", "This property cannot be expanded (%s).", pay.Clip(path, 100))
}

// expansion reads the objects expand[] paths name, through f in scope, and
// renders them (pay.View, pages on publicURL).
type expansion struct {
	f         finder
	scope     pay.Scope
	publicURL string
}

// in expands parts within object m; path is the whole expand[] value.
func (x expansion) in(ctx context.Context, m map[string]any, parts []string, path string) error {
	if m["object"] == "list" || m["object"] == "search_result" {
		if parts[0] != "data" || len(parts) < 2 {
			return cannotExpand(path)
		}
		items, _ := m["data"].([]any)
		for _, it := range items {
			if obj, ok := it.(map[string]any); ok {
				if err := x.in(ctx, obj, parts[1:], path); err != nil {
					return err
				}
			}
		}
		return nil
	}
	typ, _ := m["object"].(string)
	field, n, target := matchField(expandable[typ], parts)
	if n == 0 {
		return cannotExpand(path)
	}
	parent := m
	for _, p := range field[:n-1] {
		sub, ok := parent[p].(map[string]any)
		if !ok {
			return nil // the sub-object is null: nothing to expand
		}
		parent = sub
	}
	leaf := field[n-1]
	if include := includable[typ+"."+strings.Join(field, ".")]; include != nil && parent[leaf] == nil {
		v, err := include(ctx, x.f, x.scope, m)
		if err != nil {
			return err
		}
		parent[leaf] = v
		return nil
	}
	switch v := parent[leaf].(type) {
	case string:
		obj, err := x.load(ctx, v, target)
		if err != nil || obj == nil {
			return err
		}
		parent[leaf] = obj
		if len(parts) > n {
			return x.in(ctx, obj, parts[n:], path)
		}
	case map[string]any: // already expanded by an earlier path
		if len(parts) > n {
			return x.in(ctx, v, parts[n:], path)
		}
	}
	return nil
}

// canExpand checks an expand[] path against the registry, whatever the data.
// A list's type is "list:" and its items' type.
func canExpand(typ string, parts []string) bool {
	if item, ok := strings.CutPrefix(typ, "list:"); ok {
		return len(parts) > 1 && parts[0] == "data" && canExpand(item, parts[1:])
	}
	field, n, target := matchField(expandable[typ], parts)
	if field == nil {
		return false
	}
	return len(parts) == n || (target != "" && canExpand(target, parts[n:]))
}

// matchField finds the registered field that parts starts with.
func matchField(fields []expandField, parts []string) ([]string, int, string) {
	for _, f := range fields {
		fp := strings.Split(f.path, ".")
		if len(fp) <= len(parts) && strings.Join(parts[:len(fp)], ".") == f.path {
			return fp, len(fp), f.target
		}
	}
	return nil, 0, ""
}

// load fetches an object of type target by ID for expansion. An object
// that no longer exists stays an ID, as it was.
func (x expansion) load(ctx context.Context, id, target string) (map[string]any, error) {
	fn, ok := typeLoaders[target]
	if !ok {
		prefix, _, cut := strings.Cut(id, "_")
		if fn, ok = loaders[prefix+"_"]; !cut || !ok {
			return nil, nil
		}
	}
	obj, err := fn(ctx, x.f, x.scope, id)
	if errors.Is(err, pay.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return pay.ToMap(pay.View(obj, x.publicURL))
}
