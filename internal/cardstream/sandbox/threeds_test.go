package sandbox_test

import (
	"context"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/cardstream/sandbox"
)

// ecomSale is a 3-D Secure SALE on the 3-D Secure test account, with a
// card that has no method step.
func ecomSale(month int, amount int64) cardstream.SaleRequest {
	return cardstream.SaleRequest{
		Amount: amount, Type: cardstream.TypeECOM, Card: card(visa, visaCVV, month),
		Agreement: cardstream.AgreementCardOnFile,
		ThreeDS:   &cardstream.ThreeDSOptions{RedirectURL: "https://shop.example/3ds?order=1", RemoteAddress: "10.10.10.10"},
	}
}

func TestThreeDSByExpiryMonth(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	c := b.clientFor(t, sandbox.ThreeDSMerchantID, cardstream.TestSecret)
	for _, tt := range []struct {
		month  int
		code   int
		letter string
	}{
		{1, 0, "Y"}, {2, 65803, "N"}, {3, 0, "U"}, {4, 0, "A"}, {5, 65802, ""}, {6, 65803, "R"},
		{7, 0, "E"}, {8, 0, "E"}, {9, 0, "E"}, {10, 0, "I"}, {11, 0, "U"}, {12, 65802, ""},
	} {
		res, err := c.Sale(context.Background(), ecomSale(tt.month, 1001))
		if err != nil || res.ResponseCode != tt.code || res.ThreeDSAuthenticated != tt.letter {
			t.Errorf("month %02d: Sale = %+v, %v; want %d with %q", tt.month, res, err, tt.code, tt.letter)
			continue
		}
		if tt.code == 65802 && (res.ThreeDS == nil || res.ThreeDS.Ref == "" ||
			!strings.HasPrefix(res.ThreeDS.URL, b.srv.URL+"/acs/") || res.ThreeDS.Request.Get("creq") == "" ||
			res.State != cardstream.StateReceived || res.Outcome != cardstream.OutcomeThreeDSRequired) {
			t.Errorf("month %02d: challenge = %+v", tt.month, res.ThreeDS)
		}
	}
}

func TestThreeDSSCAAmounts(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	c := b.clientFor(t, sandbox.ThreeDSMerchantID, cardstream.TestSecret)
	for _, tt := range []struct {
		month int
		code  int
	}{{1, 0}, {4, 0}, {3, 65}, {10, 65}} {
		res, err := c.Sale(context.Background(), ecomSale(tt.month, 20000))
		if err != nil || res.ResponseCode != tt.code {
			t.Errorf("month %02d amount 20000: Sale = %+v, %v; want %d", tt.month, res, err, tt.code)
		}
	}
	// The 3-D Secure account refuses ECOM without a threeDSRedirectURL.
	req := ecomSale(1, 1001)
	req.ThreeDS = nil
	if res, err := c.Sale(context.Background(), req); err != nil || res.ResponseCode != 66304 {
		t.Errorf("Sale without threeDSRedirectURL = %+v, %v; want 66304", res, err)
	}
}

// acsChoice opens the ACS page like a browser and returns the cres value of
// the button for letter, checking where the page posts.
func acsChoice(tb testing.TB, b *testBundle, ch *cardstream.ThreeDSChallenge, letter string) string {
	tb.Helper()
	status, page := b.post(tb, strings.TrimPrefix(ch.URL, b.srv.URL), (cardstream.Fields{{Name: "creq", Value: ch.Request.Get("creq")}}).Encode())
	if status != http.StatusOK || !strings.Contains(page, `action="https://shop.example/3ds?order=1"`) {
		tb.Fatalf("ACS page %d: %s", status, page)
	}
	m := regexp.MustCompile(`name="cres" value="([^"]*:` + letter + `)"`).FindStringSubmatch(page)
	if m == nil {
		tb.Fatalf("ACS page has no %s button: %s", letter, page)
	}
	return html.UnescapeString(m[1])
}

func TestThreeDSChallengeContinuation(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	c := b.clientFor(t, sandbox.ThreeDSMerchantID, cardstream.TestSecret)
	ctx := context.Background()
	for _, tt := range []struct {
		letter string
		code   int
		state  cardstream.State
	}{{"Y", 0, cardstream.StateCaptured}, {"A", 0, cardstream.StateCaptured}, {"N", 65803, cardstream.StateDeclined}} {
		first, err := c.Sale(ctx, ecomSale(12, 1001))
		if err != nil || first.ThreeDS == nil {
			t.Fatalf("Sale = %+v, %v; want a challenge", first, err)
		}
		cres := acsChoice(t, b, first.ThreeDS, tt.letter)
		res, err := c.ContinueThreeDS(ctx, cardstream.ThreeDSContinueRequest{Ref: first.ThreeDS.Ref,
			Response: cardstream.Fields{{Name: "cres", Value: cres}}, Expect: cardstream.Expectation{Amount: 1001, CurrencyCode: "826"}})
		if err != nil || res.ResponseCode != tt.code || res.State != tt.state || res.XRef != first.XRef {
			t.Errorf("%s: ContinueThreeDS = %+v, %v; want %d %s on the same xref", tt.letter, res, err, tt.code, tt.state)
			continue
		}
		if tt.code == 0 && res.ThreeDSAuthenticated != tt.letter {
			t.Errorf("%s: threeDSAuthenticated = %q", tt.letter, res.ThreeDSAuthenticated)
		}
		again, err := c.ContinueThreeDS(ctx, cardstream.ThreeDSContinueRequest{Ref: first.ThreeDS.Ref,
			Response: cardstream.Fields{{Name: "cres", Value: cres}}})
		if err != nil || again.ResponseCode != 66848 {
			t.Errorf("%s: replayed continuation = %+v, %v; want 66848", tt.letter, again, err)
		}
	}
}

func TestThreeDSContinuationErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	c := b.clientFor(t, sandbox.ThreeDSMerchantID, cardstream.TestSecret)
	first, err := c.Sale(context.Background(), ecomSale(5, 1001))
	if err != nil || first.ThreeDS == nil {
		t.Fatalf("Sale = %+v, %v", first, err)
	}
	creq := first.ThreeDS.Request.Get("creq")
	for _, tt := range []struct {
		name   string
		fields cardstream.Fields
		code   string
	}{
		{"unknown ref", fieldsOf("merchantID", "100856", "threeDSRef", "nope", "threeDSResponse[cres]", creq+":Y"), "66848"},
		{"no response", fieldsOf("merchantID", "100856", "threeDSRef", first.ThreeDS.Ref), "66599"},
		{"amount changed", fieldsOf("merchantID", "100856", "threeDSRef", first.ThreeDS.Ref, "amount", "1002",
			"threeDSResponse[cres]", creq+":Y"), "65542"},
		{"garbled cres", fieldsOf("merchantID", "100856", "threeDSRef", first.ThreeDS.Ref, "threeDSResponse[cres]", "x:Y"), "65793"},
		{"other merchant", fieldsOf("merchantID", "100001", "threeDSRef", first.ThreeDS.Ref, "threeDSResponse[cres]", creq+":Y"), "66848"},
		{"valid", fieldsOf("merchantID", "100856", "threeDSRef", first.ThreeDS.Ref, "threeDSResponse[cres]", creq+":Y"), "0"},
	} {
		if got := b.direct(t, tt.fields, cardstream.TestSecret).Get("responseCode"); got != tt.code {
			t.Errorf("%s: responseCode %s, want %s", tt.name, got, tt.code)
		}
	}
	if status, _ := b.post(t, "/acs/", "creq=unknown"); status != http.StatusNotFound {
		t.Errorf("ACS with an unknown creq = %d, want 404", status)
	}
}

func TestThreeDSAltSecretAndOptionalMerchants(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{Merchants: map[string]string{"123456": "s3cret:with:colons"}})
	alt := b.clientFor(t, sandbox.ThreeDSMerchantID, "Threeds2Test60System")
	if res, err := alt.Sale(context.Background(), ecomSale(1, 1001)); err != nil || !res.Approved() {
		t.Errorf("100856 with the alternative secret: %+v, %v", res, err)
	}
	own := b.clientFor(t, "123456", "s3cret:with:colons")
	mustSale(t, own, cardstream.SaleRequest{Amount: 1001, Card: card(visa, visaCVV, 12)})
}
