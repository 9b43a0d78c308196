package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/calmony/calmonypay/internal/api/apitest"
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
