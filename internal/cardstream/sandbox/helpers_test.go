package sandbox_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/cardstream/sandbox"
)

// fakeClock is an injectable clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testBundle is one isolated sandbox behind a real HTTP server.
type testBundle struct {
	sb     *sandbox.Sandbox
	clock  *fakeClock
	srv    *httptest.Server
	client *cardstream.Client
}

// setup starts a sandbox (with opts, whose Clock is replaced) on an
// httptest server and a client for test merchant 100001.
func setup(tb testing.TB, opts sandbox.Options) *testBundle {
	tb.Helper()
	clock := &fakeClock{now: time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)}
	opts.Clock = clock.Now
	sb, err := sandbox.New(opts)
	if err != nil {
		tb.Fatalf("sandbox.New: %v", err)
	}
	srv := httptest.NewServer(sb)
	tb.Cleanup(srv.Close)
	b := &testBundle{sb: sb, clock: clock, srv: srv}
	b.client = b.clientFor(tb, cardstream.TestMerchantID, cardstream.TestSecret)
	return b
}

func (b *testBundle) clientFor(tb testing.TB, merchantID, secret string) *cardstream.Client {
	tb.Helper()
	c, err := cardstream.New(cardstream.Config{
		MerchantID: merchantID, Secret: secret, GatewayURL: b.srv.URL + "/", HTTPClient: b.srv.Client(),
		NowFunc: b.clock.Now,
	})
	if err != nil {
		tb.Fatalf("cardstream.New: %v", err)
	}
	return c
}

// card returns a test card expiring in month of 2028.
func card(number, cvv string, month int) *cardstream.Card {
	return &cardstream.Card{Number: number, ExpiryMonth: month, ExpiryYear: 2028, CVV: cvv}
}

const (
	visa     = "4929421234600821"
	visaCVV  = "356"
	threeDS  = "4012001037141112"
	threeCVV = "083"
)

// post sends a raw form body to the sandbox path and returns the status
// and body.
func (b *testBundle) post(tb testing.TB, path, body string) (int, string) {
	tb.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, b.srv.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.srv.Client().Do(req)
	if err != nil {
		tb.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, string(data)
}

// direct posts fields (signed with secret unless it is empty) to direct/
// and returns the parsed response.
func (b *testBundle) direct(tb testing.TB, fields cardstream.Fields, secret string) cardstream.Fields {
	tb.Helper()
	if secret != "" {
		fields = cardstream.SignedRequest(fields, secret)
	}
	status, body := b.post(tb, "/direct/", fields.Encode())
	if status != http.StatusOK {
		tb.Fatalf("direct status %d: %s", status, body)
	}
	f, err := cardstream.ParseBody(body)
	if err != nil {
		tb.Fatalf("ParseBody(response): %v", err)
	}
	return f
}

// mustSale runs an approved sale or fails the test.
func mustSale(tb testing.TB, c *cardstream.Client, req cardstream.SaleRequest) *cardstream.Result {
	tb.Helper()
	res, err := c.Sale(context.Background(), req)
	if err != nil {
		tb.Fatalf("Sale: %v", err)
	}
	if !res.Approved() {
		tb.Fatalf("Sale = %d %s, want approved", res.ResponseCode, res.ResponseMessage)
	}
	return res
}

func fieldsOf(pairs ...string) cardstream.Fields {
	var f cardstream.Fields
	for i := 0; i+1 < len(pairs); i += 2 {
		f = append(f, cardstream.Field{Name: pairs[i], Value: pairs[i+1]})
	}
	return f
}
