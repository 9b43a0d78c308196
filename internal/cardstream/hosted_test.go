package cardstream

import (
	"bytes"
	"context"
	"errors"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestHostedBuildsSignedFields(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, "https://gateway.example/", nil)
	form, err := c.Hosted(HostedRequest{Amount: 1001, OrderRef: "o-1", TransactionUnique: "u-1",
		RedirectURL: "https://shop.example/return", CallbackURL: "https://shop.example/cb", FormResponsive: true,
		AllowCancel: true, Customer: Customer{Name: "Zoë", Email: "z@example.com"},
		Extra: Fields{{"merchantData[order]", "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if form.URL != "https://gateway.example/hosted/" {
		t.Errorf("URL = %s", form.URL)
	}
	if _, err := Verify(form.Fields, TestSecret); err != nil {
		t.Errorf("hosted fields do not verify: %v", err)
	}
	want := "merchantID=100001 action=SALE type=1 amount=1001 currencyCode=826 countryCode=826 transactionUnique=u-1 " +
		"duplicateDelay=300 orderRef=o-1 redirectURL=https://shop.example/return callbackURL=https://shop.example/cb " +
		"formResponsive=Y formAllowCancel=Y customerName=Zoë customerEmail=z@example.com merchantData[order]=1"
	if got := strings.TrimSuffix(form.Fields.String(), " signature="+form.Fields.Get("signature")); got != want {
		t.Errorf("fields =\n%s\nwant\n%s", got, want)
	}
	for _, bad := range []HostedRequest{
		{Amount: 1001, RedirectURL: "/relative"},
		{Amount: 1001, RedirectURL: "javascript:alert(1)"},
		{Amount: 1001, RedirectURL: "https://s.example/", CallbackURL: "ftp://x/"},
		{Action: "VERIFY", Amount: 5, RedirectURL: "https://s.example/"},
		{Action: "REFUND_SALE", Amount: 5, RedirectURL: "https://s.example/"},
		{Amount: 0, RedirectURL: "https://s.example/"},
		{Amount: 1, RedirectURL: "https://s.example/", Extra: Fields{{"merchantID", "2"}}},
		{Amount: 1, RedirectURL: "https://s.example/", Extra: Fields{{"amount", "2"}}},
	} {
		if _, err := c.Hosted(bad); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("Hosted(%+v) = %v, want ErrInvalidRequest", bad, err)
		}
	}
}

func TestHostedFormRendering(t *testing.T) {
	t.Parallel()
	tricky := "</script><script>alert(1)</script> \"q\" 'a' & +\r\nline\ttab\n\rend £"
	form := &HostedForm{URL: "https://gateway.example/hosted/?a=1&b=2", Fields: Fields{
		{"orderRef", tricky}, {"we\"ird", "x"},
	}}
	var buf bytes.Buffer
	if err := form.Render(&buf, "abc123"); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		`action="https://gateway.example/hosted/?a=1&amp;b=2"`,
		`<script nonce="abc123">`,
		`<button type="submit">Continue to payment</button>`,
		`&#13;&#10;line&#9;tab&#10;&#13;end`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	if strings.Count(page, "<script") != 1 || strings.Contains(page, "<script>alert") {
		t.Errorf("page has injected markup:\n%s", page)
	}
	m := regexp.MustCompile(`name="orderRef" value="([^"]*)"`).FindStringSubmatch(page)
	if m == nil || html.UnescapeString(m[1]) != tricky {
		t.Errorf("orderRef does not round-trip through HTML: %q", m)
	}
	buf.Reset()
	if err := (&HostedForm{URL: "javascript:alert(1)"}).Render(&buf, ""); err != nil || strings.Contains(buf.String(), "javascript:") ||
		strings.Contains(buf.String(), "nonce=") {
		t.Errorf("unsafe URL or empty nonce rendered: %s", buf.String())
	}
}

func callbackRequest(body string) *http.Request {
	return httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/cb?responseCode=0", strings.NewReader(body))
}

func TestParseCallback(t *testing.T) {
	t.Parallel()
	good := SignedRequest(Fields{{"merchantID", "100001"}, {"responseCode", "0"}, {"amount", "1001"},
		{"xref", "x1"}, {"transactionUnique", "u-1"}}, TestSecret)
	other := SignedRequest(Fields{{"merchantID", "100002"}, {"responseCode", "0"}}, TestSecret)
	c := newTestClient(t, "https://gateway.example/", nil)
	res, err := c.ParseCallback(callbackRequest(good.Encode()))
	if err != nil || !res.Approved() || res.Match(Expectation{Amount: 1001, TransactionUnique: "u-1", XRef: "x1"}) != nil {
		t.Fatalf("ParseCallback = %+v, %v", res, err)
	}
	var mm *MismatchError
	if err := res.Match(Expectation{Amount: 1000}); !errors.As(err, &mm) || mm.Field != "amount" {
		t.Errorf("Match(wrong amount) = %v", err)
	}
	noSecret := &Client{cfg: c.cfg}
	noSecret.cfg.Secret = ""
	for _, tt := range []struct {
		name string
		c    *Client
		body string
		want error
	}{
		{"unsigned", c, "merchantID=100001&responseCode=0", ErrNoSignature},
		{"tampered", c, strings.Replace(good.Encode(), "amount=1001", "amount=1", 1), ErrBadSignature},
		{"no secret", noSecret, good.Encode(), ErrNoSecret},
		{"empty", c, "", ErrUnparsable},
		{"other merchant", c, other.Encode(), ErrMismatch},
		{"too many fields", c, strings.Repeat("a[]=1&", MaxFields+1), ErrUnparsable},
	} {
		if _, err := tt.c.ParseCallback(callbackRequest(tt.body)); !errors.Is(err, tt.want) {
			t.Errorf("%s: ParseCallback = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		code    int
		checks  Checks
		outcome Outcome
		decline string
		retry   bool
	}{
		{0, Checks{}, OutcomeApproved, "", false},
		{85, Checks{}, OutcomeApproved, "", false},
		{1, Checks{}, OutcomeReferred, "call_issuer", false},
		{4, Checks{}, OutcomeDeclined, "pickup_card", false},
		{5, Checks{}, OutcomeDeclined, "do_not_honor", false},
		{5, Checks{CV2: CheckNotMatched}, OutcomeDeclined, "incorrect_cvc", false},
		{5, Checks{Postcode: CheckNotMatched}, OutcomeDeclined, "incorrect_zip", false},
		{5, Checks{VelocityCode: "5"}, OutcomeDeclined, "card_velocity_exceeded", false},
		{41, Checks{}, OutcomeDeclined, "lost_card", false},
		{43, Checks{}, OutcomeDeclined, "stolen_card", false},
		{51, Checks{}, OutcomeDeclined, "insufficient_funds", false},
		{54, Checks{}, OutcomeDeclined, "expired_card", false},
		{65, Checks{}, OutcomeThreeDSRequired, "authentication_required", false},
		{91, Checks{}, OutcomeDeclined, "issuer_not_available", true},
		{999, Checks{}, OutcomeDeclined, "generic_decline", false},
		{65539, Checks{}, OutcomeInvalidCredentials, "", false},
		{65554, Checks{}, OutcomeDuplicate, "duplicate_transaction", false},
		{65576, Checks{}, OutcomeCancelled, "", false},
		{65802, Checks{}, OutcomeThreeDSRequired, "authentication_required", false},
		{65803, Checks{}, OutcomeDeclined, "authentication_required", false},
		{65541, Checks{}, OutcomeInvalidRequest, "", false},
		{66087, Checks{}, OutcomeInvalidRequest, "", false},
		{66343, Checks{}, OutcomeInvalidRequest, "", false},
		{65565, Checks{}, OutcomeGatewayError, "", true},
		{65550, Checks{}, OutcomeGatewayError, "", true},
		{70000, Checks{}, OutcomeGatewayError, "", false},
	} {
		got := Classify(tt.code, tt.checks)
		if got.Outcome != tt.outcome || got.DeclineCode != tt.decline || got.Retryable != tt.retry {
			t.Errorf("Classify(%d, %+v) = %+v, want %v %q %t", tt.code, tt.checks, got, tt.outcome, tt.decline, tt.retry)
		}
	}
	res := &Result{Action: "SALE", ResponseCode: 51, Outcome: OutcomeDeclined, DeclineCode: "insufficient_funds"}
	var re *ResponseError
	if err := res.Err(); !errors.Is(err, ErrDeclined) || !errors.As(err, &re) || re.DeclineCode != "insufficient_funds" {
		t.Errorf("Result.Err = %v", err)
	}
}
