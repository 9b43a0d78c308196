package api_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	stripe "github.com/stripe/stripe-go/v85"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/payments"
)

var (
	formActionRE  = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
	hiddenInputRE = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// browser follows forms the way a person's browser would, without cookies
// or redirects of its own.
type browser struct {
	t      *testing.T
	client *http.Client
}

func newBrowser(t *testing.T) *browser {
	return &browser{t: t, client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page fetches a URL (GET, or POST of form) and returns status, headers and body.
func (b *browser) page(method, target string, form url.Values) (int, http.Header, string) {
	b.t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	if method == "POST" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

// form returns the page's form action (resolved against base) and hidden fields.
func (b *browser) form(base, body string) (string, url.Values) {
	b.t.Helper()
	m := formActionRE.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no form on page:\n%s", body)
	}
	u, _ := url.Parse(base)
	action, err := u.Parse(html.UnescapeString(m[1]))
	if err != nil {
		b.t.Fatal(err)
	}
	v := url.Values{}
	for _, f := range hiddenInputRE.FindAllStringSubmatch(body, -1) {
		v.Add(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	return action.String(), v
}

// pay goes through a session's hosted page with a card; op is "pay" or
// "cancel". It returns where the shopper lands and the signed result the
// gateway sent through the browser.
func (b *browser) pay(sessionURL, number, cvv, op string) (string, url.Values) {
	b.t.Helper()
	status, hdr, _, result := b.attempt(sessionURL, number, cvv, op)
	if status != http.StatusSeeOther {
		b.t.Fatalf("callback redirect: status %d", status)
	}
	return hdr.Get("Location"), result
}

// attempt is pay returning the callback's answer to the browser as it is.
func (b *browser) attempt(sessionURL, number, cvv, op string) (int, http.Header, string, url.Values) {
	b.t.Helper()
	status, hdr, body := b.page("GET", sessionURL, nil)
	if status != 200 || !strings.Contains(hdr.Get("Content-Security-Policy"), "script-src 'nonce-") {
		b.t.Fatalf("checkout page: %d %v\n%s", status, hdr, body)
	}
	action, fields := b.form(sessionURL, body)
	_, _, body = b.page("POST", action, fields)
	cardAction, card := b.form(action, body)
	card.Set("cardNumber", number)
	card.Set("cardExpiryMonth", "12")
	card.Set("cardExpiryYear", fmt.Sprint(time.Now().Year()%100+2))
	card.Set("cardCVV", cvv)
	card.Set("op", op)
	_, _, body = b.page("POST", cardAction, card)
	back, result := b.form(cardAction, body)
	status, hdr, body = b.page("POST", back, result)
	return status, hdr, body, result
}

func newSession(t *testing.T, sc *stripe.Client, amount int64, extra func(*stripe.CheckoutSessionCreateParams)) *stripe.CheckoutSession {
	t.Helper()
	p := &stripe.CheckoutSessionCreateParams{Mode: stripe.String("payment"),
		SuccessURL: stripe.String("https://shop.example.com/thanks?session={CHECKOUT_SESSION_ID}"),
		CancelURL:  stripe.String("https://shop.example.com/cart"),
		LineItems: []*stripe.CheckoutSessionCreateLineItemParams{{Quantity: stripe.Int64(1),
			PriceData: &stripe.CheckoutSessionCreateLineItemPriceDataParams{Currency: stripe.String("gbp"), UnitAmount: stripe.Int64(amount),
				ProductData: &stripe.CheckoutSessionCreateLineItemPriceDataProductDataParams{Name: stripe.String("T-shirt")}}}}}
	if extra != nil {
		extra(p)
	}
	cs, err := sc.V1CheckoutSessions.Create(context.Background(), p)
	if err != nil {
		t.Fatalf("create session: %v", err)
	}
	return cs
}

func TestCheckoutEndToEnd(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		cus, _ := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{Email: stripe.String("shopper@example.com")})
		cs := newSession(t, sc, 1250, func(p *stripe.CheckoutSessionCreateParams) {
			p.Customer = stripe.String(cus.ID)
			p.ClientReferenceID = stripe.String("order-77")
			p.Metadata = map[string]string{"order": "77"}
		})
		if cs.Status != "open" || cs.PaymentStatus != "unpaid" || cs.AmountTotal != 1250 || cs.URL == "" || cs.Currency != "gbp" {
			t.Fatalf("new session = %+v", cs)
		}
		b := newBrowser(t)
		// A declined card keeps the session open and sends the shopper back to the cart.
		where, _ := b.pay(cs.URL, "4929421234600821", "000", "pay")
		if where != "https://shop.example.com/cart" {
			t.Errorf("declined payment landed on %q", where)
		}
		if got, _ := sc.V1CheckoutSessions.Retrieve(ctx, cs.ID, nil); got.Status != "open" || got.PaymentStatus != "unpaid" {
			t.Errorf("after a decline: %s/%s", got.Status, got.PaymentStatus)
		}
		// Cancel on the gateway's page (65576) likewise.
		if where, _ := b.pay(cs.URL, "", "", "cancel"); where != "https://shop.example.com/cart" {
			t.Errorf("cancelled payment landed on %q", where)
		}
		where, result := b.pay(cs.URL, "4929421234600821", "356", "pay")
		if where != "https://shop.example.com/thanks?session="+cs.ID {
			t.Fatalf("paid: landed on %q", where)
		}
		params := &stripe.CheckoutSessionRetrieveParams{}
		params.AddExpand("payment_intent")
		params.AddExpand("line_items")
		got, err := sc.V1CheckoutSessions.Retrieve(ctx, cs.ID, params)
		if err != nil || got.Status != "complete" || got.PaymentStatus != "paid" || got.PaymentIntent == nil ||
			got.PaymentIntent.Status != stripe.PaymentIntentStatusSucceeded || got.PaymentIntent.Amount != 1250 || got.URL != "" {
			t.Fatalf("paid session = %+v, %v", got, err)
		}
		if got.LineItems == nil || len(got.LineItems.Data) != 1 || got.LineItems.Data[0].Description != "T-shirt" {
			t.Errorf("line items = %+v", got.LineItems)
		}
		pm, _ := sc.V1PaymentMethods.Retrieve(ctx, got.PaymentIntent.PaymentMethod.ID, nil)
		if pm.Customer == nil || pm.Customer.ID != cus.ID || pm.Card.Last4 != "0821" || pm.Card.Brand != "visa" {
			t.Errorf("payment method = %+v", pm)
		}
		// The same signed result again changes nothing and lands in the same place.
		status, hdr, _ := b.page("POST", srv.URL+"/v1/checkout/sessions/callback?session_id="+cs.ID, result)
		if status != http.StatusSeeOther || hdr.Get("Location") != where {
			t.Errorf("replayed result: %d %s", status, hdr.Get("Location"))
		}
		if n := countCharges(t, sc, got.PaymentIntent.ID); n != 1 {
			t.Errorf("%d charges, want 1", n)
		}
		types := map[string]int{}
		for ev, err := range sc.V1Events.List(ctx, &stripe.EventListParams{}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			types[string(ev.Type)]++
		}
		if types["checkout.session.completed"] != 1 || types["payment_intent.succeeded"] != 1 {
			t.Errorf("events = %v", types)
		}
		// The page of a paid session says so instead of taking another payment.
		if status, _, _ := b.page("GET", srv.URL+"/checkout/"+cs.ID, nil); status != http.StatusGone {
			t.Errorf("page of a paid session: %d", status)
		}
	})
}

// TestCheckoutWithoutCancelURL: cancel_url is optional, as in Stripe. A
// shopper whose payment does not go through is shown a page of ours saying
// no money was taken, with a link back to the checkout page; the session's
// payment_intent_data reaches the payment intent.
func TestCheckoutWithoutCancelURL(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		sc := payClient(t, srv, "")
		cs := newSession(t, sc, 1250, func(p *stripe.CheckoutSessionCreateParams) {
			p.CancelURL = nil
			p.PaymentIntentData = &stripe.CheckoutSessionCreatePaymentIntentDataParams{StatementDescriptor: stripe.String("CALMONY TEES")}
		})
		if cs.CancelURL != "" {
			t.Errorf("cancel_url = %q, want none", cs.CancelURL)
		}
		b := newBrowser(t)
		for _, card := range []struct{ cvv, op string }{{"000", "pay"}, {"", "cancel"}} {
			status, _, body, _ := b.attempt(cs.URL, "4929421234600821", card.cvv, card.op)
			if status != http.StatusOK || !strings.Contains(body, "no money was taken") || !strings.Contains(body, `href="`+cs.URL+`"`) {
				t.Errorf("%s with cvv %q and no cancel_url: %d\n%s", card.op, card.cvv, status, body)
			}
		}
		if where, _ := b.pay(cs.URL, "4929421234600821", "356", "pay"); where != "https://shop.example.com/thanks?session="+cs.ID {
			t.Fatalf("paid: landed on %q", where)
		}
		params := &stripe.CheckoutSessionRetrieveParams{}
		params.AddExpand("payment_intent")
		got, err := sc.V1CheckoutSessions.Retrieve(context.Background(), cs.ID, params)
		if err != nil || got.PaymentStatus != "paid" || got.PaymentIntent.StatementDescriptor != "CALMONY TEES" {
			t.Fatalf("paid session = %+v, %v", got, err)
		}
	})
}

// viewAttempt views a session's checkout page, as a shopper would, and
// returns the transactionUnique of the attempt it started.
func viewAttempt(t testing.TB, sessionURL string) string {
	t.Helper()
	resp, err := http.Get(sessionURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, f := range hiddenInputRE.FindAllStringSubmatch(string(body), -1) {
		if f[1] == "transactionUnique" {
			return html.UnescapeString(f[2])
		}
	}
	t.Fatalf("checkout page %d without a transactionUnique:\n%s", resp.StatusCode, body)
	return ""
}

// signedResult is a gateway result for a session's attempt, signed with the
// test account's published secret (as the sandbox would sign it).
func signedResult(cs *stripe.CheckoutSession, unique string, amount int64, code int, secret string) url.Values {
	f := cardstream.Fields{
		{Name: "merchantID", Value: cardstream.TestMerchantID}, {Name: "action", Value: "SALE"}, {Name: "type", Value: "1"},
		{Name: "amount", Value: fmt.Sprint(amount)}, {Name: "currencyCode", Value: "826"}, {Name: "countryCode", Value: "826"},
		{Name: "transactionUnique", Value: unique}, {Name: "orderRef", Value: cs.ID},
		{Name: "responseCode", Value: fmt.Sprint(code)}, {Name: "responseMessage", Value: "AUTHCODE:123456"},
		{Name: "xref", Value: "26112612ABCDEFGHJKLMNPQ"}, {Name: "transactionID", Value: "1001"}, {Name: "state", Value: "captured"},
		{Name: "amountReceived", Value: fmt.Sprint(amount)}, {Name: "cardNumberMask", Value: "492942******0821"}, {Name: "cardType", Value: "Visa Credit"},
	}
	v := url.Values{}
	for _, x := range f {
		v.Set(x.Name, x.Value)
	}
	if secret != "" {
		v.Set("signature", cardstream.Sign(f, secret))
	}
	return v
}

func TestCheckoutForgedCallbacks(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	sc := payClient(t, srv, "")
	ctx := context.Background()
	cs := newSession(t, sc, 1000, nil)
	other := newSession(t, sc, 1000, nil)
	b := newBrowser(t)
	attempt, otherAttempt := viewAttempt(t, cs.URL), viewAttempt(t, other.URL)
	callback := srv.URL + "/v1/checkout/sessions/callback?session_id=" + cs.ID
	good := signedResult(cs, attempt, 1000, 0, cardstream.TestSecret)
	tamper := func(edit func(v url.Values)) url.Values {
		v := url.Values{}
		for k, vs := range good {
			v[k] = append([]string(nil), vs...)
		}
		edit(v)
		return v
	}
	for _, tt := range []struct {
		name string
		body string
	}{
		{"unsigned", signedResult(cs, attempt, 1000, 0, "").Encode()},
		{"empty signature", tamper(func(v url.Values) { v.Set("signature", "") }).Encode()},
		{"wrong key", signedResult(cs, attempt, 1000, 0, "not-the-secret").Encode()},
		{"amount changed by a penny", tamper(func(v url.Values) { v.Set("amount", "999"); v.Set("amountReceived", "999") }).Encode()},
		{"declined made approved", signedResult(cs, attempt, 1000, 5, cardstream.TestSecret).Encode() + "&responseCode=0"},
		{"duplicated field", good.Encode() + "&amount=1"},
		{"truncated", good.Encode()[:len(good.Encode())/2]},
		{"another session's result", signedResult(other, otherAttempt, 1000, 0, cardstream.TestSecret).Encode()},
		{"another session's attempt", signedResult(cs, otherAttempt, 1000, 0, cardstream.TestSecret).Encode()},
		{"an attempt number", signedResult(cs, cs.ID+"-1", 1000, 0, cardstream.TestSecret).Encode()},
		{"an attempt with a forged MAC", signedResult(cs, attempt[:len(attempt)-1]+string(attempt[len(attempt)-1]^1), 1000, 0, cardstream.TestSecret).Encode()},
		{"an attempt with its MAC cut", signedResult(cs, attempt[:len(attempt)-8], 1000, 0, cardstream.TestSecret).Encode()},
		{"amount off by a penny, re-signed", signedResult(cs, attempt, 1001, 0, cardstream.TestSecret).Encode()},
		{"garbage", "%%%&&&=\x00\xff"},
		{"oversized", "a=" + strings.Repeat("x", 70<<10)},
	} {
		for _, s2s := range []bool{false, true} {
			target := callback
			if s2s {
				target += "&channel=callback"
			}
			status, hdr, _ := b.page("POST", target, mustParse(tt.body))
			if tt.name == "garbage" || tt.name == "oversized" {
				status, hdr = rawPost(t, target, tt.body)
			}
			if status >= 500 {
				t.Errorf("%s (s2s=%v): status %d", tt.name, s2s, status)
			}
			if !s2s && (status != http.StatusSeeOther || hdr.Get("Location") != "https://shop.example.com/cart") {
				t.Errorf("%s: browser got %d to %q, want 303 to the cancel URL", tt.name, status, hdr.Get("Location"))
			}
			if s2s && status != http.StatusBadRequest {
				t.Errorf("%s (s2s): status %d, want 400", tt.name, status)
			}
		}
	}
	for _, id := range []string{cs.ID, other.ID} {
		if got, _ := sc.V1CheckoutSessions.Retrieve(ctx, id, nil); got.PaymentStatus != "unpaid" || got.Status != "open" {
			t.Errorf("session %s after forgeries: %s/%s", id, got.Status, got.PaymentStatus)
		}
	}
	// Unknown sessions are refused without a 500.
	if status, _ := rawPost(t, srv.URL+"/v1/checkout/sessions/callback?session_id=cs_test_nope", good.Encode()); status != http.StatusBadRequest {
		t.Errorf("unknown session: %d", status)
	}
	// And the genuine result is accepted.
	status, hdr, _ := b.page("POST", callback, good)
	if status != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "https://shop.example.com/thanks") {
		t.Errorf("genuine result: %d %s", status, hdr.Get("Location"))
	}
}

func mustParse(body string) url.Values {
	v, _ := url.ParseQuery(body)
	return v
}

// rawPost posts a form body and never follows a redirect (tests must not
// reach the shop's URLs, which are not on this machine).
func rawPost(t *testing.T, target, body string) (int, http.Header) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Post(target, "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

func TestCheckoutNoSignatureKeyIs500(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	live := apitest.NewKey(t, srv.DB, srv.Project, true)
	sc := payClient(t, srv, live)
	cs := newSession(t, sc, 1000, nil)
	if !cs.Livemode {
		t.Fatal("not a live session")
	}
	// No live Cardstream account is configured: the callback can't be verified.
	status, _ := rawPost(t, srv.URL+"/v1/checkout/sessions/callback?session_id="+cs.ID, signedResult(cs, cs.ID+"-1", 1000, 0, cardstream.TestSecret).Encode())
	if status != http.StatusInternalServerError {
		t.Errorf("callback without a signature key: %d, want 500", status)
	}
	if got, _ := sc.V1CheckoutSessions.Retrieve(context.Background(), cs.ID, nil); got.PaymentStatus != "unpaid" {
		t.Error("session paid without verification")
	}
}

func TestCheckoutBypassOnlyWhenExplicit(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{SkipCallbackSignature: true})
	sc := payClient(t, srv, "")
	cs := newSession(t, sc, 1000, nil)
	status, _ := rawPost(t, srv.URL+"/v1/checkout/sessions/callback?session_id="+cs.ID, signedResult(cs, viewAttempt(t, cs.URL), 1000, 0, "").Encode())
	if status != http.StatusSeeOther {
		t.Fatalf("unsigned callback with the bypass: %d", status)
	}
	if got, _ := sc.V1CheckoutSessions.Retrieve(context.Background(), cs.ID, nil); got.PaymentStatus != "paid" {
		t.Error("bypass did not accept the unsigned result")
	}
}

// TestCheckoutBypassNeverReachesLiveSessions: with the test-mode bypass
// configured, an unsigned result for a live session is still refused, and
// nothing is paid or emitted.
func TestCheckoutBypassNeverReachesLiveSessions(t *testing.T) {
	t.Parallel()
	base := apitest.Start(t, apitest.Options{}) // for its sandbox gateway, standing in for a live account
	gw := base.Payments.Gateways().Test
	srv := apitest.Start(t, apitest.Options{SkipCallbackSignature: true, Gateways: &payments.Gateways{Test: gw, Live: gw}})
	live := payClient(t, srv, apitest.NewKey(t, srv.DB, srv.Project, true))
	cs := newSession(t, live, 1000, nil)
	if !cs.Livemode {
		t.Fatal("the session is not live")
	}
	status, header := rawPost(t, srv.URL+"/v1/checkout/sessions/callback?session_id="+cs.ID, signedResult(cs, viewAttempt(t, cs.URL), 1000, 0, "").Encode())
	if status != http.StatusSeeOther || header.Get("Location") != "https://shop.example.com/cart" {
		t.Errorf("unsigned callback for a live session: %d to %q, want 303 to the cancel URL", status, header.Get("Location"))
	}
	ctx := context.Background()
	if got, _ := live.V1CheckoutSessions.Retrieve(ctx, cs.ID, nil); got.PaymentStatus != "unpaid" {
		t.Error("the bypass marked a live session paid")
	}
	if n := count(t, live.V1Events.List(ctx, &stripe.EventListParams{Type: stripe.String("checkout.session.completed")}).All(ctx)); n != 0 {
		t.Errorf("%d live checkout.session.completed events", n)
	}
}

func TestCheckoutURLsAndExpiry(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	sc := payClient(t, srv, "")
	ctx := context.Background()
	for _, bad := range []string{"http://shop.example.com/ok", "https://localhost/ok", "https://app.localhost/ok", "https://127.0.0.1/ok",
		"https://[::1]/ok", "https://[::ffff:127.0.0.1]/ok", "https://2130706433/ok", "https://0177.0.0.1/ok", "https://0x7f.1/ok",
		"https://10.0.0.1/ok", "https://192.168.1.1/ok", "https://172.16.0.1/ok", "https://169.254.169.254/latest", "https://100.64.0.1/ok",
		"https://0.0.0.0/ok", "https://[fe80::1]/ok", "https://user:pass@shop.example.com/ok", "/relative", "javascript:alert(1)"} {
		_, err := sc.V1CheckoutSessions.Create(ctx, &stripe.CheckoutSessionCreateParams{Mode: stripe.String("payment"),
			SuccessURL: stripe.String(bad), CancelURL: stripe.String("https://shop.example.com/cart"),
			LineItems: []*stripe.CheckoutSessionCreateLineItemParams{{Quantity: stripe.Int64(1), PriceData: &stripe.CheckoutSessionCreateLineItemPriceDataParams{
				Currency: stripe.String("gbp"), UnitAmount: stripe.Int64(500), ProductData: &stripe.CheckoutSessionCreateLineItemPriceDataProductDataParams{Name: stripe.String("x")}}}}})
		if se := stripeErr(t, err); se.Code != stripe.ErrorCodeURLInvalid || se.Param != "success_url" {
			t.Errorf("success_url %q: %s %s", bad, se.Code, se.Param)
		}
	}
	cs := newSession(t, sc, 1000, nil)
	attempt := viewAttempt(t, cs.URL)
	got, err := sc.V1CheckoutSessions.Expire(ctx, cs.ID, nil)
	if err != nil || got.Status != "expired" || got.URL != "" {
		t.Fatalf("expire: %+v %v", got, err)
	}
	if _, err := sc.V1CheckoutSessions.Expire(ctx, cs.ID, nil); err == nil {
		t.Error("expired twice")
	}
	// A payment arriving after expiry is still recorded, and flagged.
	status, hdr := rawPost(t, srv.URL+"/v1/checkout/sessions/callback?session_id="+cs.ID, signedResult(cs, attempt, 1000, 0, cardstream.TestSecret).Encode())
	if status != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "https://shop.example.com/thanks") {
		t.Errorf("late callback: %d to %s", status, hdr.Get("Location"))
	}
	if a := do(t, srv, call{method: "GET", path: "/v1/checkout/sessions/" + cs.ID}); a.body["payment_status"] != "paid" || a.body["paid_after_expiry"] != true {
		t.Errorf("late payment: %s", a.raw)
	}
}

func TestCheckoutSweeperAndBadInput(t *testing.T) {
	t.Parallel()
	var offset time.Duration
	now := func() time.Time { return time.Now().Add(offset) }
	srv := apitest.Start(t, apitest.Options{Now: now})
	sc := payClient(t, srv, "")
	ctx := context.Background()
	cs := newSession(t, sc, 1000, func(p *stripe.CheckoutSessionCreateParams) { p.AddExtra("expires_in", "300") })
	if cs.ExpiresAt-cs.Created != 300 {
		t.Errorf("expires_in=300 gave a lifetime of %d s", cs.ExpiresAt-cs.Created)
	}
	offset = 6 * time.Minute
	if n, err := srv.Payments.ExpireCheckoutSessions(ctx); err != nil || n != 1 {
		t.Fatalf("sweeper expired %d, %v", n, err)
	}
	got, _ := sc.V1CheckoutSessions.Retrieve(ctx, cs.ID, nil)
	if got.Status != "expired" {
		t.Errorf("after the sweeper: %s", got.Status)
	}
	found := false
	for ev, err := range sc.V1Events.List(ctx, &stripe.EventListParams{Type: stripe.String("checkout.session.expired")}).All(ctx) {
		found = err == nil && ev.Data.Object["id"] == cs.ID
	}
	if !found {
		t.Error("no checkout.session.expired event")
	}
	for _, tt := range []struct {
		name, body, param string
	}{
		{"no line items", "mode=payment&success_url=https://a.example.com/&cancel_url=https://a.example.com/", "line_items"},
		{"no success url", "mode=payment&cancel_url=https://a.example.com/&" + item("gbp", "500", "1"), "success_url"},
		{"bad quantity", "mode=payment&success_url=https://a.example.com/&cancel_url=https://a.example.com/&" + item("gbp", "500", "0"), "line_items[0][quantity]"},
		{"subscription mode", "mode=subscription&success_url=https://a.example.com/&cancel_url=https://a.example.com/&" + item("gbp", "500", "1"), "mode"},
		{"currency not enabled", "mode=payment&success_url=https://a.example.com/&cancel_url=https://a.example.com/&" + item("usd", "500", "1"), "line_items[0][price_data][currency]"},
		{"expires_in too short", "mode=payment&expires_in=60&success_url=https://a.example.com/&cancel_url=https://a.example.com/&" + item("gbp", "500", "1"), "expires_in"},
		{"unknown customer", "mode=payment&customer=cus_nope&success_url=https://a.example.com/&cancel_url=https://a.example.com/&" + item("gbp", "500", "1"), "customer"},
		{"bad cancel url", "mode=payment&success_url=https://a.example.com/&cancel_url=http://10.1.2.3/&" + item("gbp", "500", "1"), "cancel_url"},
	} {
		a := do(t, srv, call{method: "POST", path: "/v1/checkout/sessions", body: tt.body})
		if a.status < 400 || a.status >= 500 || a.err("param") != tt.param {
			t.Errorf("%s: %d %s", tt.name, a.status, a.raw)
		}
	}
}

func item(currency, amount, quantity string) string {
	return "line_items[0][price_data][currency]=" + currency + "&line_items[0][price_data][unit_amount]=" + amount +
		"&line_items[0][price_data][product_data][name]=Thing&line_items[0][quantity]=" + quantity
}

func FuzzCheckoutCallback(f *testing.F) {
	srv := apitest.Start(f, apitest.Options{ClientRateLimit: -1}) // fuzzing is a flood
	sc := stripe.NewClient(srv.Key, stripe.WithBackends(stripe.NewBackendsWithConfig(&stripe.BackendConfig{URL: stripe.String(srv.URL),
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}})))
	cs, err := sc.V1CheckoutSessions.Create(context.Background(), &stripe.CheckoutSessionCreateParams{Mode: stripe.String("payment"),
		SuccessURL: stripe.String("https://shop.example.com/ok"), CancelURL: stripe.String("https://shop.example.com/cart"),
		LineItems: []*stripe.CheckoutSessionCreateLineItemParams{{Quantity: stripe.Int64(1), PriceData: &stripe.CheckoutSessionCreateLineItemPriceDataParams{
			Currency: stripe.String("gbp"), UnitAmount: stripe.Int64(1000), ProductData: &stripe.CheckoutSessionCreateLineItemPriceDataProductDataParams{Name: stripe.String("x")}}}}})
	if err != nil {
		f.Fatal(err)
	}
	attempt := viewAttempt(f, cs.URL)
	genuine := signedResult(cs, attempt, 1000, 0, cardstream.TestSecret)
	genuine.Set("signature", genuine.Get("signature")[:10])
	f.Add(genuine.Encode())
	f.Add(signedResult(cs, attempt, 1000, 0, "").Encode())
	f.Add("responseCode=0&signature=00")
	f.Add("a[b][c]=1&a[]=2&%zz")
	f.Fuzz(func(t *testing.T, body string) {
		for _, target := range []string{"", "&channel=callback"} {
			if status, _ := rawPost(t, srv.URL+"/v1/checkout/sessions/callback?session_id="+cs.ID+target, body); status >= 500 {
				t.Fatalf("status %d for body %q", status, body)
			}
		}
		got, err := sc.V1CheckoutSessions.Retrieve(context.Background(), cs.ID, nil)
		if err != nil || got.PaymentStatus != "unpaid" {
			t.Fatalf("session paid by a fuzzed body %q", body)
		}
	})
}

// A page view writes nothing: each has an attempt of its own, known by its
// MAC, and an attempt is recorded only when its result arrives (once, though
// the browser and the gateway both bring it).
func TestCheckoutPageViewWritesNothing(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		sc := payClient(t, srv, "")
		ctx := context.Background()
		cs := newSession(t, sc, 1000, nil)
		seen := map[string]bool{}
		for range 4 {
			seen[viewAttempt(t, cs.URL)] = true
		}
		stored, err := srv.DB.FindCheckoutSessionByID(ctx, cs.ID)
		if err != nil || stored.Attempt != 0 || stored.LastAttempt != nil || len(seen) != 4 {
			t.Fatalf("after 4 views: %d distinct attempts, session %+v, %v", len(seen), stored, err)
		}
		callback := srv.URL + "/v1/checkout/sessions/callback?session_id=" + cs.ID
		declined := signedResult(cs, viewAttempt(t, cs.URL), 1000, 5, cardstream.TestSecret).Encode()
		rawPost(t, callback, declined)
		rawPost(t, callback+"&channel=callback", declined)
		if stored, _ = srv.DB.FindCheckoutSessionByID(ctx, cs.ID); stored.Attempt != 1 || stored.LastAttempt == nil || stored.LastAttempt.ResponseCode != 5 {
			t.Errorf("after a declined result, twice: attempt %d, last %+v", stored.Attempt, stored.LastAttempt)
		}
		if where, _ := newBrowser(t).pay(cs.URL, "4929421234600821", "356", "pay"); !strings.HasPrefix(where, "https://shop.example.com/thanks") {
			t.Fatalf("paid: landed on %q", where)
		}
		if stored, _ = srv.DB.FindCheckoutSessionByID(ctx, cs.ID); stored.Attempt != 2 || stored.PaymentStatus != "paid" {
			t.Errorf("after the payment: attempt %d, %s", stored.Attempt, stored.PaymentStatus)
		}
	})
}

// Browsers reach the sandbox on an origin of its own, never the API's: the
// checkout page posts there, its pages may not be framed, its root says what
// it is, and it calls back only to the API's callback.
func TestCheckoutSandboxOwnOrigin(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	sc := payClient(t, srv, "")
	cs := newSession(t, sc, 1000, nil)
	b := newBrowser(t)
	status, hdr, body := b.page("GET", cs.URL, nil)
	action, fields := b.form(cs.URL, body)
	if status != http.StatusOK || action != srv.SandboxURL+"/hosted/" || !strings.Contains(hdr.Get("Content-Security-Policy"), "form-action "+srv.SandboxURL+";") {
		t.Fatalf("checkout page %d posts to %s (CSP %q), want the sandbox's origin %s", status, action, hdr.Get("Content-Security-Policy"), srv.SandboxURL)
	}
	for _, path := range []string{"/sandbox/cardstream/", "/sandbox/cardstream/hosted/", "/hosted/"} {
		if status, _, _ := b.page("POST", srv.URL+path, fields); status != http.StatusNotFound {
			t.Errorf("the API answers POST %s with %d, want 404", path, status)
		}
	}
	status, hdr, body = b.page("POST", action, fields)
	if status != http.StatusOK || !strings.Contains(body, "Pay £10.00") || hdr.Get("X-Frame-Options") != "DENY" ||
		!strings.Contains(hdr.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("sandbox card form: %d, may it be framed? %v", status, hdr)
	}
	if status, hdr, body := b.page("GET", srv.SandboxURL+"/", nil); status != http.StatusOK || !strings.Contains(body, `"cardstream_sandbox"`) ||
		hdr.Get("X-Frame-Options") != "DENY" {
		t.Errorf("sandbox root: %d %s", status, body)
	}

	// Anyone may sign for the test account, but the sandbox calls back only
	// to the API's callback.
	var called atomic.Bool
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called.Store(true) }))
	defer elsewhere.Close()
	gw, _ := cardstream.New(cardstream.Config{MerchantID: cardstream.TestMerchantID, Secret: cardstream.TestSecret, GatewayURL: srv.SandboxURL + "/"})
	form, err := gw.Hosted(cardstream.HostedRequest{Amount: 1000, TransactionUnique: "x", OrderRef: "x",
		RedirectURL: elsewhere.URL + "/back", CallbackURL: elsewhere.URL + "/v1/checkout/sessions/callback"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, body = b.page("POST", form.URL, valuesOf(form.Fields))
	cardAction, card := b.form(form.URL, body)
	card.Set("op", "cancel")
	b.page("POST", cardAction, card)
	if called.Load() {
		t.Error("the sandbox called back to a URL that is not the API's callback")
	}
}

func valuesOf(f cardstream.Fields) url.Values {
	v := url.Values{}
	for _, x := range f {
		v.Add(x.Name, x.Value)
	}
	return v
}

// Each client of the routes that know no key is limited, by its address:
// a shopper never meets the limit (TestCheckoutEndToEnd runs under the
// default one), a flood does, with a 429 that says when to retry, and an
// X-Forwarded-For nobody trusts changes nothing.
func TestCheckoutThrottledPerClient(t *testing.T) {
	t.Parallel()
	eachStoreWith(t, apitest.Options{ClientRateLimit: 1}, func(t *testing.T, srv *apitest.Server) { // bursts of 5
		sc := payClient(t, srv, "")
		cs := newSession(t, sc, 1000, nil)
		callback := srv.URL + "/v1/checkout/sessions/callback?session_id=" + cs.ID + "&channel=callback"
		for _, route := range []struct {
			name, method, url string
			page              bool
		}{
			{"checkout page", "GET", cs.URL, true},
			{"callback", "POST", callback, false},
			{"sandbox", "GET", srv.SandboxURL + "/", false},
		} {
			var last *http.Response
			for i := range 6 {
				req, _ := http.NewRequest(route.method, route.url, strings.NewReader("responseCode=0"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if i < 5 && resp.StatusCode == http.StatusTooManyRequests {
					t.Errorf("%s: request %d of a burst of 5 refused", route.name, i+1)
				}
				last = resp
			}
			if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") != "1" ||
				route.page != strings.HasPrefix(last.Header.Get("Content-Type"), "text/html") {
				t.Errorf("%s: 6th request in a second: %d, Retry-After %q, %s", route.name, last.StatusCode,
					last.Header.Get("Retry-After"), last.Header.Get("Content-Type"))
			}
		}
	})
}

// TestCheckoutPaidTwice: two tabs of one session both pay. The second
// payment is recorded once, on a payment intent of its own flagged for the
// merchant, though both its copies (the gateway's and the browser's)
// arrive, and again later.
func TestCheckoutPaidTwice(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	sc := payClient(t, srv, "")
	cs := newSession(t, sc, 1250, nil)
	b := newBrowser(t)
	var tabs [2]struct {
		action string
		fields url.Values
	}
	for i := range tabs { // both tabs open before either pays
		_, _, body := b.page("GET", cs.URL, nil)
		tabs[i].action, tabs[i].fields = b.form(cs.URL, body)
	}
	var results []url.Values
	for _, tab := range tabs {
		_, _, body := b.page("POST", tab.action, tab.fields)
		cardAction, card := b.form(tab.action, body)
		card.Set("cardNumber", "4929421234600821")
		card.Set("cardExpiryMonth", "12")
		card.Set("cardExpiryYear", fmt.Sprint(time.Now().Year()%100+2))
		card.Set("cardCVV", "356")
		card.Set("op", "pay")
		_, _, body = b.page("POST", cardAction, card)
		back, result := b.form(cardAction, body)
		if status, hdr, _ := b.page("POST", back, result); status != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "https://shop.example.com/thanks") {
			t.Fatalf("callback: %d %s", status, hdr.Get("Location"))
		}
		results = append(results, result)
	}
	// Later replays of the second result change nothing.
	b.page("POST", srv.URL+"/v1/checkout/sessions/callback?session_id="+cs.ID, results[1])
	if n := countIntents(t, sc); n != 2 {
		t.Errorf("%d payment intents, want 2 (the session's and the duplicate)", n)
	}
	dups := 0
	for pi, err := range sc.V1PaymentIntents.List(context.Background(), &stripe.PaymentIntentListParams{}).All(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if pi.Metadata["calmony_duplicate_payment_of"] == cs.ID {
			dups++
		}
	}
	if dups != 1 {
		t.Errorf("%d payment intents flagged as duplicates, want 1", dups)
	}
}
