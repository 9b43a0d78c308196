package api_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/calmony/calmonypay/internal/apitest"
)

// badInput is one malformed request and the 4xx error it must get.
type badInput struct {
	name        string
	c           call
	status      int
	code, param string
}

func checkBadInput(t *testing.T, srv *apitest.Server, cases []badInput) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, do(t, srv, tt.c), tt.status, "invalid_request_error", tt.code, tt.param)
		})
	}
}

// TestInvalidTextIsRefused sends NUL and invalid UTF-8 in every place a
// request carries text: path IDs, parameters in form and JSON bodies, list
// filters, cursors and headers. PostgreSQL used to answer 500 (SQLSTATE
// 22021) and SQLite to store the text altered.
func TestInvalidTextIsRefused(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		const invalid = "parameter_invalid_string"
		checkBadInput(t, srv, []badInput{
			{"NUL in an ID", call{method: "GET", path: "/v1/customers/cus_%00"}, 400, invalid, "id"},
			{"invalid UTF-8 in an ID", call{method: "GET", path: "/v1/payment_intents/pi_%FF"}, 400, invalid, "id"},
			{"NUL in an ID of an action", call{method: "POST", path: "/v1/payment_intents/pi_%00/cancel"}, 400, invalid, "id"},
			{"NUL in a nested route ID", call{method: "GET", path: "/v1/customers/cus_%00/payment_methods"}, 400, invalid, "customer"},
			{"NUL in a text parameter", call{method: "POST", path: "/v1/customers", body: "name=a%00b"}, 400, invalid, "name"},
			{"invalid UTF-8 in a text parameter", call{method: "POST", path: "/v1/customers", body: "description=%C3"}, 400, invalid, "description"},
			{"NUL in metadata", call{method: "POST", path: "/v1/customers", body: "metadata[k]=%00"}, 400, invalid, "metadata[k]"},
			{"NUL in a metadata key", call{method: "POST", path: "/v1/customers", body: "metadata[k%00]=v"}, 400, "parameters_malformed", "metadata[k\uFFFD]"},
			{"NUL in JSON", call{method: "POST", path: "/v1/customers", body: `{"name": "a\u0000"}`, contentType: "application/json"}, 400, invalid, "name"},
			{"invalid UTF-8 in JSON", call{method: "POST", path: "/v1/customers", body: "{\"name\": \"\xff\"}", contentType: "application/json"}, 400, invalid, "name"},
			{"lone surrogate in JSON", call{method: "POST", path: "/v1/customers", body: `{"email": "a\ud800@example.com"}`, contentType: "application/json"}, 400, invalid, "email"},
			{"NUL in a list filter", call{method: "GET", path: "/v1/customers?email=a%00@example.com"}, 400, invalid, "email"},
			{"invalid UTF-8 in a list filter", call{method: "GET", path: "/v1/charges?payment_intent=pi_%FF"}, 400, invalid, "payment_intent"},
			{"NUL in an event type filter", call{method: "GET", path: "/v1/events?type=%00"}, 400, invalid, "type"},
			{"NUL in a cursor", call{method: "GET", path: "/v1/payment_intents?starting_after=pi_%00"}, 400, invalid, "starting_after"},
			{"invalid UTF-8 in a cursor", call{method: "GET", path: "/v1/refunds?ending_before=re_%FF"}, 400, invalid, "ending_before"},
			{"NUL in expand", call{method: "GET", path: "/v1/customers?expand[]=%00"}, 400, invalid, "expand[]"},
			{"invalid UTF-8 in Idempotency-Key", call{method: "POST", path: "/v1/customers", body: "name=x",
				header: map[string]string{"Idempotency-Key": "key-\xff"}}, 400, invalid, "Idempotency-Key"},
			{"invalid UTF-8 in Stripe-Version", call{method: "GET", path: "/v1/customers",
				header: map[string]string{"Stripe-Version": "2026-03-25.\xff"}}, 400, invalid, "Stripe-Version"},
			{"invalid UTF-8 in the callback's session_id", call{method: "POST", path: "/v1/checkout/sessions/callback?session_id=cs_%FF",
				body: "responseCode=0", key: "-"}, 400, invalid, "session_id"},
		})
		// net/http refuses a NUL in a header before any handler runs; a
		// handler reached some other way still refuses it.
		req := httptest.NewRequest("POST", "/v1/customers", strings.NewReader("name=x"))
		req.Header.Set("Authorization", "Bearer "+srv.Key)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Idempotency-Key", "key\x00")
		rec := httptest.NewRecorder()
		srv.API.ServeHTTP(rec, req)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"param":"Idempotency-Key"`) {
			t.Errorf("NUL in Idempotency-Key: %d %s", rec.Code, rec.Body)
		}
		resp, err := http.Get(srv.URL + "/checkout/cs_test_%00")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("checkout page with a NUL in its ID: %d, want 400", resp.StatusCode)
		}
		// Nothing was written.
		if a := do(t, srv, call{method: "GET", path: "/v1/customers"}); len(a.body["data"].([]any)) != 0 {
			t.Errorf("customers written by refused requests: %s", a.raw)
		}
	})
}

// TestBadParametersAreRefused covers the parameters Stripe refuses that
// used to be accepted or misnamed: arrays as metadata, statement
// descriptors Stripe would refuse, payment method types and checkout
// presentation options the server does not have, and array indexes out
// of range.
func TestBadParametersAreRefused(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		const pi = "amount=1000&currency=gbp&"
		session := "mode=payment&success_url=https://a.example.com/&" + item("gbp", "500", "1") + "&"
		var cases []badInput
		for _, tt := range []struct{ name, value, code string }{
			{"a <", "Shop <b>", "parameter_invalid"},
			{"a quote", "Bob's shop", "parameter_invalid"},
			{"a double quote", `The "shop"`, "parameter_invalid"},
			{"a backslash", `Shop\1`, "parameter_invalid"},
			{"an asterisk", "SHOP*ORDER", "parameter_invalid"},
			{"only digits", "12345678", "parameter_invalid"},
			{"only punctuation", "---", "parameter_invalid"},
			{"non-Latin letters", "Магазин", "parameter_invalid"},
			{"a control character", "Shop%0Aname", "parameter_invalid"},
			{"23 characters", strings.Repeat("x", 23), "parameter_invalid_string_too_long"},
		} {
			v := url.QueryEscape(tt.value)
			if strings.Contains(tt.value, "%") {
				v = tt.value
			}
			cases = append(cases,
				badInput{"statement_descriptor with " + tt.name, call{method: "POST", path: "/v1/payment_intents", body: pi + "statement_descriptor=" + v},
					400, tt.code, "statement_descriptor"},
				badInput{"update's statement_descriptor with " + tt.name, call{method: "POST", path: "/v1/payment_intents/pi_nope", body: "statement_descriptor=" + v},
					400, tt.code, "statement_descriptor"},
				badInput{"capture's statement_descriptor_suffix with " + tt.name, call{method: "POST", path: "/v1/payment_intents/pi_nope/capture",
					body: "statement_descriptor_suffix=" + v}, 400, tt.code, "statement_descriptor_suffix"},
				badInput{"checkout's statement_descriptor with " + tt.name, call{method: "POST", path: "/v1/checkout/sessions",
					body: session + "payment_intent_data[statement_descriptor]=" + v}, 400, tt.code, "payment_intent_data[statement_descriptor]"},
			)
		}
		cases = append(cases, []badInput{
			{"metadata appended", call{method: "POST", path: "/v1/customers", body: "metadata[]=x"}, 400, "parameter_invalid_object", "metadata"},
			{"metadata as a JSON array", call{method: "POST", path: "/v1/customers", body: `{"metadata": ["x"]}`, contentType: "application/json"},
				400, "parameter_invalid_object", "metadata"},
			{"nested metadata appended", call{method: "POST", path: "/v1/checkout/sessions", body: session + "payment_intent_data[metadata][]=x"},
				400, "parameter_invalid_object", "payment_intent_data[metadata]"},
			{"unknown payment method type", call{method: "GET", path: "/v1/payment_methods?type=bogus"}, 400, "parameter_invalid", "type"},
			{"unsupported payment method type", call{method: "GET", path: "/v1/customers/cus_x/payment_methods?type=sepa_debit"}, 400, "parameter_invalid", "type"},
			{"line item index out of range", call{method: "POST", path: "/v1/checkout/sessions",
				body: "mode=payment&success_url=https://a.example.com/&line_items[99999999][quantity]=1"}, 400, "parameters_limit_exceeded", "line_items[99999999]"},
			{"sparse line item named as sent", call{method: "POST", path: "/v1/checkout/sessions",
				body: session + "line_items[7][quantity]=0"}, 400, "parameter_invalid_integer", "line_items[7][quantity]"},
			{"ui_mode embedded", call{method: "POST", path: "/v1/checkout/sessions", body: session + "ui_mode=embedded"}, 400, "parameter_invalid", "ui_mode"},
			{"ui_mode unknown", call{method: "POST", path: "/v1/checkout/sessions", body: session + "ui_mode=popup"}, 400, "parameter_invalid", "ui_mode"},
			{"checkout payment method types", call{method: "POST", path: "/v1/checkout/sessions", body: session + "payment_method_types[0]=card&payment_method_types[1]=klarna"},
				400, "parameter_invalid", "payment_method_types"},
			{"billing address required", call{method: "POST", path: "/v1/checkout/sessions", body: session + "billing_address_collection=required"},
				400, "parameter_invalid", "billing_address_collection"},
			{"submit_type unknown", call{method: "POST", path: "/v1/checkout/sessions", body: session + "submit_type=buy_now"}, 400, "parameter_invalid", "submit_type"},
			{"payment intent payment method types", call{method: "POST", path: "/v1/payment_intents", body: pi + "payment_method_types[]=card&payment_method_types[]=link"},
				400, "parameter_invalid", "payment_method_types"},
		}...)
		checkBadInput(t, srv, cases)

		// What Stripe accepts still works.
		a := do(t, srv, call{method: "POST", path: "/v1/payment_intents", body: pi + "statement_descriptor=" + url.QueryEscape("Café Crème 22 & Co.")})
		if a.status != 200 || a.body["statement_descriptor"] != "Café Crème 22 & Co." {
			t.Errorf("valid statement_descriptor: %d %s", a.status, a.raw)
		}
		a = do(t, srv, call{method: "POST", path: "/v1/customers", body: "metadata[0]=a&metadata[7]=b"})
		if md, _ := a.body["metadata"].(map[string]any); a.status != 200 || md["0"] != "a" || md["7"] != "b" {
			t.Errorf("numeric metadata keys: %d %s", a.status, a.raw)
		}
		if a := do(t, srv, call{method: "GET", path: "/v1/payment_methods?type=card"}); a.status != 200 {
			t.Errorf("type=card: %d %s", a.status, a.raw)
		}
		a = do(t, srv, call{method: "POST", path: "/v1/checkout/sessions", body: session + "ui_mode=hosted&submit_type=pay&billing_address_collection=auto&locale=en-GB&payment_method_types[0]=card"})
		if a.status != 200 || a.body["cancel_url"] != nil {
			t.Errorf("session without cancel_url: %d %s", a.status, a.raw)
		}
	})
}
