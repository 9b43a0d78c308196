package sandbox_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/cardstream/sandbox"
)

// FuzzDirect checks that no body makes the Direct API fail: every answer
// is a 200 with a form-encoded response code, and never echoes card data.
func FuzzDirect(f *testing.F) {
	signed := cardstream.SignedRequest(fieldsOf("merchantID", "100001", "action", "SALE", "type", "2", "amount", "1001",
		"currencyCode", "826", "countryCode", "826", "cardNumber", visa, "cardExpiryMonth", "12", "cardExpiryYear", "28",
		"cardCVV", visaCVV), cardstream.TestSecret)
	for _, seed := range []string{"", "merchantID=100001", signed.Encode(), "merchantID=100001&threeDSRef=x&signature=" +
		strings.Repeat("a", 128), "a[b][c]=1&a[]=2&%ZZ"} {
		f.Add(seed)
	}
	sb, err := sandbox.New(sandbox.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/direct/", strings.NewReader(body))
		sb.ServeHTTP(rec, req)
		resp, err := cardstream.ParseBody(rec.Body.String())
		if rec.Code != http.StatusOK || err != nil || resp.Get("responseCode") == "" {
			t.Fatalf("POST %q = %d %q", body, rec.Code, rec.Body.String())
		}
		if resp.Has("cardNumber") || resp.Has("cardCVV") {
			t.Fatalf("response echoes card data: %q", rec.Body.String())
		}
	})
}
