package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/calmony/calmonypay/internal/apidocs"
	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
)

// TestDocsMatchRoutes checks the API reference against the route table:
// every route is documented once, and every documented route is served.
func TestDocsMatchRoutes(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	routes := srv.API.V1Patterns()
	documented := map[string]int{}
	for _, res := range apidocs.Resources() {
		for _, e := range res.Endpoints {
			documented[e.Pattern()]++
		}
	}
	for _, pat := range routes {
		if documented[pat] == 0 {
			t.Errorf("route %q has no entry in the API reference (internal/apidocs)", pat)
		}
	}
	for pat, n := range documented {
		if !slices.Contains(routes, pat) {
			t.Errorf("the API reference documents %q, which the route table does not serve", pat)
		}
		if n > 1 {
			t.Errorf("the API reference documents %q %d times", pat, n)
		}
	}
}

// TestDocsParamsAccepted sends each endpoint's curl example, and each
// documented parameter with its example value (added to the curl
// example), through the route's parsing step: none may be refused,
// whether as unknown, unsupported or invalid. The example path must also
// reach the documented route, not another pattern.
func TestDocsParamsAccepted(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	mux := http.NewServeMux()
	for _, pat := range srv.API.V1Patterns() {
		mux.Handle(pat, http.NotFoundHandler())
	}
	for _, res := range apidocs.Resources() {
		for _, e := range res.Endpoints {
			probe := func(what, body string) {
				t.Helper()
				r := docsRequest(e, body)
				if _, pat := mux.Handler(r); pat != e.Pattern() {
					t.Errorf("%s: %s %s reaches route %q", e.Pattern(), r.Method, r.URL.Path, pat)
					return
				}
				found, err := srv.API.ParseStep(e.Pattern(), srv.Project, r)
				if !found {
					return // TestDocsMatchRoutes reports it
				}
				if err != nil {
					t.Errorf("%s: %s (%s) refused: %v", e.Pattern(), what, body, err)
				}
			}
			probe("the curl example", e.Example)
			for _, p := range e.Params {
				if p.Example == "" && p.Name != "page" {
					t.Errorf("%s: parameter %s has no example value", e.Pattern(), p.Name)
				}
				base := e.Example
				if p.Alone {
					base = p.AloneWith
				}
				probe("parameter "+p.Name, withParam(base, p.Name, p.Example))
				for _, v := range p.Values {
					probe("parameter "+p.Name+" = "+v, withParam(base, p.Name, v))
				}
			}
		}
	}
}

// docsRequest is e's request with body as its form body, or as its query
// string for GET and DELETE, on the example path.
func docsRequest(e apidocs.Endpoint, body string) *http.Request {
	path := apidocs.PathIDs(e.Path)
	enc := apidocs.Encode(body)
	if e.Method == http.MethodGet || e.Method == http.MethodDelete {
		return httptest.NewRequest(e.Method, path+"?"+enc, nil)
	}
	r := httptest.NewRequest(e.Method, path, strings.NewReader(enc))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// withParam is body with name=value, replacing any value body gives name.
func withParam(body, name, value string) string {
	var kept []string
	for _, kv := range apidocs.Pairs(body) {
		if kv[0] != name {
			kept = append(kept, kv[0]+"="+kv[1])
		}
	}
	return strings.Join(append(kept, name+"="+value), "&")
}

// TestDocsPage fetches the reference as a browser would: public, HTML, no
// scripts allowed, an anchor for every endpoint and resource, curl examples
// against the server's own URL, every event type and the test cards.
func TestDocsPage(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	res, err := http.Get(srv.URL + "/docs")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET /docs = %d, want 200", res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q, want text/html; charset=utf-8", ct)
	}
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy = %q: want default-src 'none' and no scripts", csp)
	}
	page := string(body)
	if strings.Contains(strings.ToLower(page), "<script") || strings.Contains(page, " style=") {
		t.Error("the page has a script or an inline style, which its CSP refuses")
	}
	want := []string{`href="/docs/docs.css"`, "curl " + srv.URL + "/v1/customers \\\n  -u $KEY:", "4242424242424242", "pm_card_chargeDeclinedInsufficientFunds"}
	for _, res := range apidocs.Resources() {
		want = append(want, `id="`+res.ID+`"`, `href="#`+res.ID+`"`)
		for _, e := range res.Endpoints {
			want = append(want, `id="`+e.Anchor()+`"`)
		}
	}
	for _, c := range payments.TestCards() {
		want = append(want, "<code>"+c.Number+"</code>")
	}
	for _, typ := range pay.EventTypes() {
		want = append(want, "<code>"+typ.String()+"</code>")
	}
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("GET /docs lacks %q", w)
		}
	}
	ids := map[string]bool{}
	for _, part := range strings.Split(page, ` id="`)[1:] {
		id, _, _ := strings.Cut(part, `"`)
		if ids[id] {
			t.Errorf("anchor %q is used twice", id)
		}
		ids[id] = true
	}

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	slash, err := noFollow.Get(srv.URL + "/docs/")
	if err != nil {
		t.Fatal(err)
	}
	slash.Body.Close()
	if slash.StatusCode != http.StatusMovedPermanently || slash.Header.Get("Location") != "/docs" {
		t.Errorf("GET /docs/ = %d to %q, want 301 to /docs", slash.StatusCode, slash.Header.Get("Location"))
	}

	css, err := http.Get(srv.URL + "/docs/docs.css")
	if err != nil {
		t.Fatal(err)
	}
	css.Body.Close()
	if css.StatusCode != 200 || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") {
		t.Errorf("GET /docs/docs.css = %d %q, want 200 text/css", css.StatusCode, css.Header.Get("Content-Type"))
	}
}
