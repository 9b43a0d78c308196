// Package apidocs is the public API reference served at /docs: every /v1
// endpoint with its parameters and a curl example, and the general rules
// (authentication, idempotency, errors, pagination, webhooks, test cards).
//
// The endpoints are one table (Resources, in reference.go); the general
// sections are the page's template. Package api checks the table against
// its route table: every route is documented, every documented route is
// served, and every documented parameter, sent with its example value, is
// read by the route without error (api's apidocs_test.go).
package apidocs

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/url"
	"strings"
)

// Resource is one group of endpoints, such as Customers.
type Resource struct {
	// ID is the resource's anchor on the page ("customers").
	ID   string
	Name string
	// About is one or two sentences on the object and its ID prefix.
	About     string
	Endpoints []Endpoint
}

// Endpoint is one route: a method and a path as the server's ServeMux
// pattern spells them ("POST /v1/customers/{id}").
type Endpoint struct {
	Method string
	Path   string
	// Summary is a one-line description.
	Summary string
	Params  []Param
	// Example is the form body (or query string, for GET and DELETE) of
	// the endpoint's curl example: name=value pairs joined by "&", values
	// not encoded. The test sends it, with the path's IDs from PathIDs.
	Example string
}

// Param is one request parameter.
type Param struct {
	// Name is the parameter as sent in a form body: "email",
	// "address[line1]", "items[0][price]", "expand[]".
	Name string
	// Type is how the value is read: string, integer, boolean, enum,
	// timestamp, object or array of strings.
	Type     string
	Required bool
	About    string
	// Example is a value the endpoint accepts; the test sends it.
	Example string
	// Values are an enum's values, all accepted: the page lists them and
	// the test sends each.
	Values []string
	// Alone, when set, makes the test send the parameter with AloneWith
	// instead of the endpoint's Example, for a parameter that excludes one
	// the example sends (charge instead of payment_intent on a refund).
	Alone     bool
	AloneWith string
}

// Pattern is e's ServeMux pattern, "POST /v1/customers/{id}".
func (e Endpoint) Pattern() string { return e.Method + " " + e.Path }

// Anchor is e's anchor on the page: "post-customers-id".
func (e Endpoint) Anchor() string {
	s := strings.ToLower(e.Method) + strings.TrimPrefix(e.Path, "/v1")
	return strings.NewReplacer("/", "-", "{", "", "}", "", "_", "-").Replace(s)
}

// Pairs returns the name=value pairs of a body written as in
// Endpoint.Example ("a=1&b[c]=2"), in order.
func Pairs(body string) [][2]string {
	var out [][2]string
	for _, kv := range strings.Split(body, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, [2]string{k, v})
	}
	return out
}

// Encode returns the pairs of body as a URL-encoded form.
func Encode(body string) string {
	var b strings.Builder
	for i, kv := range Pairs(body) {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[0]) + "=" + url.QueryEscape(kv[1]))
	}
	return b.String()
}

// PathIDs are the example IDs that fill the path parameters of the
// examples, by the resource the path names.
func PathIDs(path string) string {
	for _, p := range []struct{ prefix, id string }{
		{"/v1/customers/", "cus_NffrFeUfNV2Hib"},
		{"/v1/payment_methods/", "pm_1Q0PsIJvEtkwdCNY"},
		{"/v1/payment_intents/", "pi_3MtwBwLkdIwHu7ix"},
		{"/v1/setup_intents/", "seti_1Mm8s8LkdIwHu7ix"},
		{"/v1/charges/", "ch_3MmlLrLkdIwHu7ix"},
		{"/v1/refunds/", "re_1Nispe2eZvKYlo2C"},
		{"/v1/checkout/sessions/", "cs_test_a11YYufWQzNY"},
		{"/v1/tax_rates/", "txr_1MzS4RLkdIwHu7ix"},
		{"/v1/products/", "prod_NWjs8kKbJWmuuc"},
		{"/v1/prices/", "price_1MoBy5LkdIwHu7ix"},
		{"/v1/invoiceitems/", "ii_1MtGUtLkdIwHu7ix"},
		{"/v1/subscriptions/", "sub_1MowQVLkdIwHu7ix"},
		{"/v1/subscription_items/", "si_NcLYdDxLHxlFo7"},
		{"/v1/invoices/", "in_1MtHbELkdIwHu7ix"},
		{"/v1/events/", "evt_1NG8Du2eZvKYlo2C"},
		{"/v1/billing_portal/configurations/", "bpc_1MwpL4LkdIwHu7ix"},
		{"/v1/webhook_endpoints/", "we_1Mr5jULkdIwHu7ix"},
		{"/v1/test_helpers/test_clocks/", "clock_1Mr3I2LkdIwHu7ix"},
	} {
		if strings.HasPrefix(path, p.prefix) {
			path = strings.Replace(path, "{id}", p.id, 1)
			path = strings.Replace(path, "{customer}", p.id, 1)
		}
	}
	return path
}

// Curl returns e's curl example against the server at baseURL, one
// option a line, as a shell reads it.
func (e Endpoint) Curl(baseURL string) string {
	var b strings.Builder
	b.WriteString("curl ")
	// -G sends the data as the query string, which GET and DELETE read;
	// without data, curl would send a POST as a GET.
	if e.Method != "GET" && (e.Method != "POST" || e.Example == "") {
		b.WriteString("-X " + e.Method + " ")
	}
	if (e.Method == "GET" || e.Method == "DELETE") && e.Example != "" {
		b.WriteString("-G ")
	}
	b.WriteString(baseURL + PathIDs(e.Path) + " \\\n  -u $KEY:")
	for _, kv := range Pairs(e.Example) {
		b.WriteString(" \\\n  " + curlData(kv[0], kv[1]))
	}
	return b.String()
}

// curlData is one -d option for name=value: --data-urlencode when curl
// would send the value altered or ambiguous, and quoted for the shell when
// it has to be.
func curlData(name, value string) string {
	opt := "-d"
	if strings.IndexFunc(value, unsafeIn(",-./:@_~")) >= 0 {
		opt = "--data-urlencode"
	}
	arg := name + "=" + value
	if strings.IndexFunc(arg, unsafeIn(",-./:=@_~")) >= 0 {
		arg = "'" + strings.ReplaceAll(arg, "'", `'\''`) + "'"
	}
	return opt + " " + arg
}

// unsafeIn returns a func reporting the runes that are neither ASCII
// letters or digits nor in safe.
func unsafeIn(safe string) func(rune) bool {
	return func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune(safe, r))
	}
}

// TestCard is one of the Stripe test cards test mode takes (from package
// payments' table).
type TestCard struct {
	Number        string
	PaymentMethod string // "" when Stripe has no test ID for it
	Brand         string
	Funding       string
	Country       string
	// Outcome is what a charge of it does ("succeeds", "declined:
	// insufficient_funds", "3-D Secure challenge", …).
	Outcome string
}

// Page is what the reference page shows besides the endpoint table.
type Page struct {
	// BaseURL is the server's public URL, without a trailing slash.
	BaseURL    string
	APIVersion string
	EventTypes []string
	TestCards  []TestCard
	// StylesheetPath is where the page's stylesheet is served.
	StylesheetPath string
}

//go:embed assets
var assets embed.FS

// Stylesheet returns the page's stylesheet.
func Stylesheet() []byte {
	b, err := assets.ReadFile("assets/docs.css")
	if err != nil {
		panic(err) // embedded: cannot happen
	}
	return b
}

// Render renders the reference page for p.
func Render(p Page) ([]byte, error) {
	t, err := template.New("docs.html").Funcs(template.FuncMap{
		"curl": func(e Endpoint) string { return e.Curl(p.BaseURL) },
	}).ParseFS(assets, "assets/docs.html")
	if err != nil {
		return nil, fmt.Errorf("apidocs: parse template: %w", err)
	}
	var buf bytes.Buffer
	data := struct {
		Page
		Resources []Resource
	}{p, Resources()}
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("apidocs: render: %w", err)
	}
	return buf.Bytes(), nil
}
