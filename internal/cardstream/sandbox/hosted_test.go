package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/cardstream/sandbox"
)

// shop records the callbacks a merchant server receives.
type shop struct {
	srv       *httptest.Server
	mu        sync.Mutex
	callbacks []string
}

func newShop(tb testing.TB) *shop {
	tb.Helper()
	s := &shop{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /callback", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.callbacks = append(s.callbacks, string(body))
		s.mu.Unlock()
	})
	s.srv = httptest.NewServer(mux)
	tb.Cleanup(s.srv.Close)
	return s
}

func (s *shop) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.callbacks...)
}

// mounted serves the sandbox under /sandbox/cardstream/ like `serve` will.
func mounted(tb testing.TB, b *testBundle) (*httptest.Server, *cardstream.Client) {
	tb.Helper()
	mux := http.NewServeMux()
	mux.Handle("/sandbox/cardstream/", http.StripPrefix("/sandbox/cardstream", b.sb))
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	c, err := cardstream.New(cardstream.Config{MerchantID: cardstream.TestMerchantID, Secret: cardstream.TestSecret,
		GatewayURL: srv.URL + "/sandbox/cardstream"})
	if err != nil {
		tb.Fatal(err)
	}
	return srv, c
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)

// hiddenFields returns a page's hidden inputs as a browser would submit
// them.
func hiddenFields(page string) cardstream.Fields {
	var f cardstream.Fields
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		f = append(f, cardstream.Field{Name: html.UnescapeString(m[1]), Value: html.UnescapeString(m[2])})
	}
	return f
}

func postForm(tb testing.TB, url string, f cardstream.Fields) (*http.Response, string) {
	tb.Helper()
	resp, err := http.Post(url, "application/x-www-form-urlencoded", strings.NewReader(f.Encode()))
	if err != nil {
		tb.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// startHosted renders the merchant's auto-post page, submits its hidden
// fields to the sandbox and returns the card form page.
func startHosted(tb testing.TB, c *cardstream.Client, req cardstream.HostedRequest) (*http.Response, string) {
	tb.Helper()
	form, err := c.Hosted(req)
	if err != nil {
		tb.Fatalf("Hosted: %v", err)
	}
	var page bytes.Buffer
	if err := form.Render(&page, "n0nce"); err != nil {
		tb.Fatal(err)
	}
	return postForm(tb, form.URL, hiddenFields(page.String()))
}

// checkCSP checks a page's policy: its nonce, and that it may not be framed.
func checkCSP(tb testing.TB, resp *http.Response, page string) {
	tb.Helper()
	csp := resp.Header.Get("Content-Security-Policy")
	m := regexp.MustCompile(`script-src 'nonce-([0-9a-f]+)'`).FindStringSubmatch(csp)
	if m == nil || !strings.Contains(csp, "default-src 'none'") || !strings.Contains(page, `nonce="`+m[1]+`"`) {
		tb.Errorf("CSP %q does not match the page's nonce", csp)
	}
	checkNotFramable(tb, resp)
}

func checkNotFramable(tb testing.TB, resp *http.Response) {
	tb.Helper()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") ||
		resp.Header.Get("X-Frame-Options") != "DENY" {
		tb.Errorf("page may be framed: CSP %q, X-Frame-Options %q", csp, resp.Header.Get("X-Frame-Options"))
	}
}

func session(tb testing.TB, page string) string {
	tb.Helper()
	m := regexp.MustCompile(`name="session" value="([0-9a-f]+)"`).FindStringSubmatch(page)
	if m == nil {
		tb.Fatalf("no session in card form: %s", page)
	}
	return m[1]
}

func hostedRequest(shopURL string) cardstream.HostedRequest {
	return cardstream.HostedRequest{
		Amount: 1001, OrderRef: "Order <42> & \"co\"\r\nline two", TransactionUnique: "hpp-1",
		RedirectURL: shopURL + "/return?order=42", CallbackURL: shopURL + "/callback",
		Customer: cardstream.Customer{Name: "Zoë", Address: "Flat 6 Primrose Rise, 347 Lavender Road", Postcode: "NN17 8YG"},
	}
}

func TestHostedPayEndToEnd(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	sh := newShop(t)
	srv, c := mounted(t, b)
	resp, page := startHosted(t, c, hostedRequest(sh.srv.URL))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `action="submit"`) ||
		!strings.Contains(page, `value="pay"`) || !strings.Contains(page, `value="cancel"`) {
		t.Fatalf("card form %d: %s", resp.StatusCode, page)
	}
	checkCSP(t, resp, page)
	if strings.Contains(page, "<42>") || !strings.Contains(page, "Order &lt;42&gt;") {
		t.Errorf("card form does not escape the order reference")
	}
	submit := srv.URL + "/sandbox/cardstream/hosted/submit"
	sess := session(t, page)
	// A bad card number shows the form again with the problem.
	resp, page = postForm(t, submit, fieldsOf("session", sess, "op", "pay", "cardNumber", "1234",
		"cardExpiryMonth", "12", "cardExpiryYear", "28", "cardCVV", "356"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "INVALID cardNumber") {
		t.Fatalf("retry form %d: %s", resp.StatusCode, page)
	}
	resp, page = postForm(t, submit, fieldsOf("session", sess, "op", "pay", "cardNumber", visa,
		"cardExpiryMonth", "12", "cardExpiryYear", "28", "cardCVV", visaCVV,
		"customerAddress", "Flat 6 Primrose Rise, 347 Lavender Road", "customerPostcode", "NN17 8YG"))
	checkCSP(t, resp, page)
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "form-action 'self' https: http:") ||
		!strings.Contains(page, `action="`+sh.srv.URL+`/return?order=42"`) || !strings.Contains(page, "<button") {
		t.Fatalf("redirect page: %s", page)
	}
	redirect := hiddenFields(page)
	res := parseCallback(t, c, redirect)
	if !res.Approved() || res.XRef == "" || res.State != cardstream.StateCaptured || res.Checks.Postcode != cardstream.CheckMatched {
		t.Errorf("redirect result = %+v", res)
	}
	if err := res.Match(cardstream.Expectation{Amount: 1001, CurrencyCode: "826", TransactionUnique: "hpp-1",
		OrderRef: "Order <42> & \"co\"\r\nline two"}); err != nil {
		t.Errorf("redirect Match: %v", err)
	}
	if redirect.Has("cardNumber") || redirect.Has("cardCVV") || strings.Contains(page, visa) {
		t.Errorf("redirect leaks card data")
	}
	cbs := sh.received()
	if len(cbs) != 1 {
		t.Fatalf("callbacks = %d, want 1", len(cbs))
	}
	cb, err := cardstream.ParseBody(cbs[0])
	if err != nil || cb.Encode() != redirect.Encode() {
		t.Errorf("callback differs from redirect:\n%v\n%v (%v)", cb, redirect, err)
	}
	if resp, _ := postForm(t, submit, fieldsOf("session", sess, "op", "pay")); resp.StatusCode != http.StatusGone {
		t.Errorf("replayed submit = %d, want 410", resp.StatusCode)
	}
}

func parseCallback(tb testing.TB, c *cardstream.Client, f cardstream.Fields) *cardstream.Result {
	tb.Helper()
	r := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "/return?responseCode=0", strings.NewReader(f.Encode()))
	res, err := c.ParseCallback(r)
	if err != nil {
		tb.Fatalf("ParseCallback: %v", err)
	}
	return res
}

func TestHostedCancel(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	sh := newShop(t)
	_, page := startHosted(t, b.client, hostedRequest(sh.srv.URL))
	_, page = postForm(t, b.srv.URL+"/hosted/submit", fieldsOf("session", session(t, page), "op", "cancel"))
	res := parseCallback(t, b.client, hiddenFields(page))
	if res.ResponseCode != cardstream.CodeCancelled || res.Outcome != cardstream.OutcomeCancelled || res.XRef != "" {
		t.Errorf("cancel result = %+v, want 65576", res)
	}
	if cbs := sh.received(); len(cbs) != 1 || !strings.Contains(cbs[0], "responseCode=65576") {
		t.Errorf("cancel callbacks = %q", cbs)
	}
}

func TestHostedDeclineVerifyAndErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	sh := newShop(t)
	pay := func(req cardstream.HostedRequest, month string) *cardstream.Result {
		_, page := startHosted(t, b.client, req)
		_, page = postForm(t, b.srv.URL+"/hosted/modal/submit", fieldsOf("session", session(t, page), "op", "pay",
			"cardNumber", visa, "cardExpiryMonth", month, "cardExpiryYear", "28", "cardCVV", visaCVV))
		return parseCallback(t, b.client, hiddenFields(page))
	}
	declined := hostedRequest(sh.srv.URL)
	declined.Amount = 10000
	if res := pay(declined, "12"); res.ResponseCode != 5 || res.DeclineCode != "do_not_honor" {
		t.Errorf("hosted decline = %+v", res)
	}
	verify := hostedRequest(sh.srv.URL)
	verify.Action, verify.Amount, verify.CallbackURL = "VERIFY", 0, ""
	if res := pay(verify, "01"); !res.Approved() || res.State != cardstream.StateVerified || res.ThreeDSAuthenticated != "Y" {
		t.Errorf("hosted VERIFY = %+v", res)
	}
	if res := pay(hostedRequest(sh.srv.URL), "02"); res.ResponseCode != cardstream.Code3DSResultNotAccepted {
		t.Errorf("hosted SALE failing 3-D Secure = %+v, want 65803", res)
	}
	sca := hostedRequest(sh.srv.URL)
	sca.Amount = 20000
	if res := pay(sca, "12"); !res.Approved() || res.ThreeDSAuthenticated != "Y" {
		t.Errorf("hosted SCA amount with a challenge card = %+v, want authenticated approval", res)
	}
	bad := hostedRequest(sh.srv.URL)
	bad.Amount = 30000
	_, page := startHosted(t, b.client, bad) // refused before the card form
	if res := parseCallback(t, b.client, hiddenFields(page)); res.ResponseCode != 66312 {
		t.Errorf("hosted invalid amount = %+v", res)
	}
	form, _ := b.client.Hosted(hostedRequest(sh.srv.URL))
	form.Fields.Set("amount", "1")
	if resp, page := postForm(t, form.URL, form.Fields); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "65539") {
		t.Errorf("tampered hosted request = %d %s, want a 65539 error page", resp.StatusCode, page)
	}
	form.Fields.Del("signature")
	if resp, page := postForm(t, form.URL, form.Fields); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "66087") {
		t.Errorf("unsigned hosted request = %d %s, want a 66087 error page", resp.StatusCode, page)
	}
	noRedirect := cardstream.SignedRequest(fieldsOf("merchantID", "100001", "action", "SALE", "amount", "1001"), cardstream.TestSecret)
	if resp, page := postForm(t, form.URL, noRedirect); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "66074") {
		t.Errorf("hosted request without redirectURL = %d %s, want 66074", resp.StatusCode, page)
	}
	if got := len(sh.received()); got != 4 {
		t.Errorf("callbacks = %d, want 4 (VERIFY had no callbackURL)", got)
	}
}

// A link cannot start a payment or send the browser on: only a POST of the
// signed request does, as at the gateway. A GET carrying a signed request
// with an invalid amount (which a POST answers by posting the browser to
// redirectURL) is refused without a page that goes anywhere.
func TestHostedOnlyFromPOST(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	req := hostedRequest("https://elsewhere.example")
	req.Amount = 30000
	form, err := b.client.Hosted(req)
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{form.URL, b.srv.URL + "/hosted/modal/", b.srv.URL + "/acs/"} {
		resp, err := http.Get(target + "?" + form.Fields.Encode())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || strings.Contains(string(body), "elsewhere.example") {
			t.Errorf("GET %s = %d %s, want 405 going nowhere", target, resp.StatusCode, body)
		}
	}
	if resp, page := postForm(t, form.URL, form.Fields); resp.StatusCode != http.StatusOK || !strings.Contains(page, "https://elsewhere.example") {
		t.Errorf("POST of the same request = %d, want the signed redirect back", resp.StatusCode)
	}
}

func TestHostedPartialSignature(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	form, err := b.client.Hosted(hostedRequest("https://shop.example"))
	if err != nil {
		t.Fatal(err)
	}
	// A partial signature (PHP SDK style) lets the browser add fields.
	f := form.Fields.Clone()
	f.Del("signature")
	f = append(f, cardstream.Field{Name: "signature", Value: cardstream.SignPartial(f, cardstream.TestSecret, nil)},
		cardstream.Field{Name: "x", Value: "12"}, cardstream.Field{Name: "y", Value: "7"})
	if resp, page := postForm(t, form.URL, f); resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="session"`) {
		t.Errorf("partially signed hosted request = %d", resp.StatusCode)
	}
}

// Every page refuses to be framed: the card form, the redirect page, error
// pages, the ACS; and the index describes the sandbox.
func TestPagesNeverFramed(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	sh := newShop(t)
	resp, page := startHosted(t, b.client, hostedRequest(sh.srv.URL))
	checkCSP(t, resp, page)
	resp, page = postForm(t, b.srv.URL+"/hosted/submit", fieldsOf("session", session(t, page), "op", "cancel"))
	checkCSP(t, resp, page)
	resp, _ = postForm(t, b.srv.URL+"/hosted/submit", fieldsOf("session", "gone"))
	checkNotFramable(t, resp)
	c := b.clientFor(t, sandbox.ThreeDSMerchantID, cardstream.TestSecret)
	res, err := c.Sale(context.Background(), ecomSale(12, 1001))
	if err != nil || res.ThreeDS == nil {
		t.Fatalf("Sale = %+v, %v", res, err)
	}
	resp, page = postForm(t, res.ThreeDS.URL, fieldsOf("creq", res.ThreeDS.Request.Get("creq")))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "3-D Secure test ACS") {
		t.Fatalf("ACS = %d %s", resp.StatusCode, page)
	}
	checkCSP(t, resp, page)

	resp, err = http.Get(b.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	var index struct{ Object, Hosted string }
	err = json.NewDecoder(resp.Body).Decode(&index)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || index.Object != "cardstream_sandbox" || index.Hosted != b.srv.URL+"/hosted/" {
		t.Errorf("index = %d %+v, %v", resp.StatusCode, index, err)
	}
	checkNotFramable(t, resp)
}

// TestPagesWithoutDirectAPI: Pages serves the hosted page and describes
// itself without the Direct API, which it does not serve.
func TestPagesWithoutDirectAPI(t *testing.T) {
	t.Parallel()
	sb, err := sandbox.New(sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb.Pages())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	var index map[string]any
	json.NewDecoder(resp.Body).Decode(&index)
	resp.Body.Close()
	if index["hosted"] != srv.URL+"/hosted/" || index["direct"] != nil {
		t.Errorf("index = %v, want the hosted page and no Direct API", index)
	}
	resp, err = http.PostForm(srv.URL+"/direct/", map[string][]string{"merchantID": {"100001"}, "action": {"QUERY"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST /direct/ on the pages = %d, want 404", resp.StatusCode)
	}
}

// TestHostedStandIns: with Options.StandIn, the hosted page takes numbers
// other than the published cards (Stripe's, in Calmony Pay, typed with
// spaces as shoppers do): charged as their stand-in, with its own CVV and
// no address, the typed number masked in the result; a declining one is
// declined. Without it they are not test cards.
func TestHostedStandIns(t *testing.T) {
	t.Parallel()
	standIn := func(number string) (string, bool, bool) {
		switch number {
		case "4242424242424242":
			return visa, false, true
		case "4000000000000002":
			return visa, true, true
		}
		return "", false, false
	}
	for _, tt := range []struct {
		name, number string
		standIn      func(string) (string, bool, bool)
		code         string
		mask         string
	}{
		{"approved", "4242 4242 4242 4242", standIn, "0", "424242******4242"},
		{"declined", "4000 0000 0000 0002", standIn, "5", "400000******0002"},
		{"without stand-ins", "4242 4242 4242 4242", nil, "5", "424242******4242"},
		{"a published card", visa, standIn, "0", visa[:6] + "******" + visa[12:]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, sandbox.Options{StandIn: tt.standIn})
			sh := newShop(t)
			srv, c := mounted(t, b)
			req := hostedRequest(sh.srv.URL)
			req.Customer = cardstream.Customer{}
			_, page := startHosted(t, c, req)
			cvv := "123"
			if tt.number == visa {
				cvv = visaCVV
			}
			_, page = postForm(t, srv.URL+"/sandbox/cardstream/hosted/submit", fieldsOf("session", session(t, page), "op", "pay",
				"cardNumber", tt.number, "cardExpiryMonth", "12", "cardExpiryYear", "28", "cardCVV", cvv))
			res := hiddenFields(page)
			parseCallback(t, c, res) // signed
			if res.Get("responseCode") != tt.code || res.Get("cardNumberMask") != tt.mask {
				t.Errorf("responseCode %s, mask %s; want %s, %s (%s)", res.Get("responseCode"), res.Get("cardNumberMask"), tt.code, tt.mask,
					res.Get("responseMessage"))
			}
		})
	}
}
