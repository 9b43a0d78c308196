package dashboard_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/calmony/calmonypay/internal/apitest"
)

// v1OK calls the server's /v1 API with its test key (form-encoded, as
// Stripe's clients do) and decodes the answer; a non-200 fails the test.
func v1OK(t *testing.T, srv *apitest.Server, method, path string, form url.Values) map[string]any {
	t.Helper()
	return v1Key(t, srv.URL, srv.Key, method, path, form)
}

func v1Key(t *testing.T, base, key, method, path string, form url.Values) map[string]any {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(key, "")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, b)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return out
}

// shop makes a customer with a default card through /v1.
func shop(t *testing.T, srv *apitest.Server, key, email, name string) string {
	t.Helper()
	cus := v1Key(t, srv.URL, key, "POST", "/v1/customers", url.Values{"email": {email}, "name": {name}})["id"].(string)
	pm := v1Key(t, srv.URL, key, "POST", "/v1/payment_methods/pm_card_visa/attach", url.Values{"customer": {cus}})["id"].(string)
	v1Key(t, srv.URL, key, "POST", "/v1/customers/"+cus, url.Values{"invoice_settings[default_payment_method]": {pm}})
	return cus
}

// pay1 makes a succeeded card payment of amount pence through /v1 (of
// customer cus, if not "") and returns its ID.
func pay1(t *testing.T, srv *apitest.Server, key, cus string, amount string) string {
	t.Helper()
	f := url.Values{"amount": {amount}, "currency": {"gbp"}, "payment_method": {"pm_card_visa"}, "confirm": {"true"}}
	if cus != "" {
		f.Set("customer", cus)
		// The customer's card (attached) is not pm_card_visa itself.
		f.Del("payment_method")
		f.Set("payment_method", defaultCard(t, srv, key, cus))
	}
	pi := v1Key(t, srv.URL, key, "POST", "/v1/payment_intents", f)
	if pi["status"] != "succeeded" {
		t.Fatalf("payment: %v", pi)
	}
	return pi["id"].(string)
}

func defaultCard(t *testing.T, srv *apitest.Server, key, cus string) string {
	t.Helper()
	c := v1Key(t, srv.URL, key, "GET", "/v1/customers/"+cus, nil)
	return c["invoice_settings"].(map[string]any)["default_payment_method"].(string)
}

// subscribe starts a monthly £10 subscription of customer cus through /v1.
func subscribe(t *testing.T, srv *apitest.Server, cus string) string {
	t.Helper()
	prod := v1OK(t, srv, "POST", "/v1/products", url.Values{"name": {"Gold plan"}})["id"].(string)
	price := v1OK(t, srv, "POST", "/v1/prices", url.Values{"product": {prod}, "unit_amount": {"1000"}, "currency": {"gbp"},
		"recurring[interval]": {"month"}})["id"].(string)
	sub := v1OK(t, srv, "POST", "/v1/subscriptions", url.Values{"customer": {cus}, "items[0][price]": {price}})
	if sub["status"] != "active" {
		t.Fatalf("subscription: %v", sub)
	}
	return sub["id"].(string)
}
