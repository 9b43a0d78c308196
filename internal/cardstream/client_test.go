package cardstream

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeGateway answers Direct requests with reply(request, attempt).
type fakeGateway struct {
	srv      *httptest.Server
	attempts atomic.Int32
}

func newFakeGateway(tb testing.TB, reply func(w http.ResponseWriter, req Fields, attempt int)) *fakeGateway {
	tb.Helper()
	g := &fakeGateway{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(g.attempts.Add(1))
		req, err := ReadBody(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if _, err := Verify(req, TestSecret); err != nil {
			http.Error(w, "request not signed: "+err.Error(), http.StatusBadRequest)
			return
		}
		reply(w, req, n)
	}))
	tb.Cleanup(g.srv.Close)
	return g
}

// approve echoes req like the gateway and signs it.
func approve(req Fields, extra ...Field) string {
	out := Fields{}
	for _, f := range req {
		if f.Name != "cardNumber" && f.Name != "cardCVV" && f.Name != SignatureField {
			out = append(out, f)
		}
	}
	out.Set("responseCode", "0")
	out.Set("responseMessage", "AUTHCODE:123456")
	out.Set("xref", "26031512ABCDEFGHJKLMNPQ")
	out.Set("state", "captured")
	for _, f := range extra {
		out.Set(f.Name, f.Value)
	}
	return SignedRequest(out, TestSecret).Encode()
}

func newTestClient(tb testing.TB, url string, mod func(*Config)) *Client {
	tb.Helper()
	cfg := Config{MerchantID: TestMerchantID, Secret: TestSecret, GatewayURL: url,
		SleepFunc: func(context.Context, time.Duration) error { return nil }, Timeout: 2 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return c
}

func saleReq() SaleRequest {
	return SaleRequest{Amount: 1001, Card: &Card{Number: "4929 4212 3460 0821", ExpiryMonth: 12, ExpiryYear: 2028, CVV: "356"},
		TransactionUnique: "t-1"}
}

func TestClientSendsSignedRequestsAndChecksEcho(t *testing.T) {
	t.Parallel()
	var got Fields
	g := newFakeGateway(t, func(w http.ResponseWriter, req Fields, _ int) {
		got = req
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(approve(req)))
	})
	c := newTestClient(t, g.srv.URL, nil)
	res, err := c.Sale(context.Background(), saleReq())
	if err != nil || !res.Approved() || res.XRef == "" || res.Amount != 1001 {
		t.Fatalf("Sale = %+v, %v", res, err)
	}
	for name, want := range map[string]string{"merchantID": "100001", "action": "SALE", "type": "2", "amount": "1001",
		"currencyCode": "826", "countryCode": "826", "cardNumber": "4929421234600821", "cardExpiryMonth": "12",
		"cardExpiryYear": "28", "cardCVV": "356", "transactionUnique": "t-1", "duplicateDelay": "300"} {
		if got.Get(name) != want {
			t.Errorf("request %s = %q, want %q", name, got.Get(name), want)
		}
	}
}

func TestClientResponseFailures(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		reply func(req Fields) string
		want  error
	}{
		{"amount changed", func(req Fields) string { return approve(req, Field{"amount", "1"}) }, ErrMismatch},
		{"merchant changed", func(req Fields) string { return approve(req, Field{"merchantID", "100002"}) }, ErrMismatch},
		{"unique changed", func(req Fields) string { return approve(req, Field{"transactionUnique", "x"}) }, ErrMismatch},
		{"unsigned", func(req Fields) string { return "responseCode=0&amount=1001" }, ErrNoSignature},
		{"tampered", func(req Fields) string { return strings.Replace(approve(req), "responseCode=0", "responseCode=5", 1) }, ErrBadSignature},
		{"html", func(Fields) string { return "<html><body>maintenance</body></html>" }, ErrUnparsable},
		{"no responseCode", func(req Fields) string {
			f, _ := ParseBody(approve(req))
			f.Del("responseCode")
			return SignedRequest(f, TestSecret).Encode()
		}, ErrUnparsable},
		{"decimal amountReceived", func(req Fields) string { return approve(req, Field{"amountReceived", "10.01"}) }, ErrUnparsable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newFakeGateway(t, func(w http.ResponseWriter, req Fields, _ int) { w.Write([]byte(tt.reply(req))) })
			c := newTestClient(t, g.srv.URL, nil)
			res, err := c.Sale(context.Background(), saleReq())
			if !errors.Is(err, tt.want) || res != nil {
				t.Errorf("Sale = %v, %v; want %v", res, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "4929") {
				t.Errorf("error mentions the card number: %v", err)
			}
		})
	}
}

func TestClientRetries(t *testing.T) {
	t.Parallel()
	flaky := func(failures int) func(w http.ResponseWriter, req Fields, attempt int) {
		return func(w http.ResponseWriter, req Fields, attempt int) {
			if attempt <= failures {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.Write([]byte(approve(req)))
		}
	}
	t.Run("sale retried after 503", func(t *testing.T) {
		t.Parallel()
		g := newFakeGateway(t, flaky(2))
		var slept []time.Duration
		c := newTestClient(t, g.srv.URL, func(cfg *Config) {
			cfg.SleepFunc = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
		})
		if res, err := c.Sale(context.Background(), saleReq()); err != nil || !res.Approved() {
			t.Fatalf("Sale = %v, %v", res, err)
		}
		if g.attempts.Load() != 3 || len(slept) != 2 || slept[1] != 2*slept[0] {
			t.Errorf("attempts %d, backoff %v; want 3 attempts with doubling backoff", g.attempts.Load(), slept)
		}
	})
	t.Run("attempts bounded", func(t *testing.T) {
		t.Parallel()
		g := newFakeGateway(t, flaky(10))
		c := newTestClient(t, g.srv.URL, nil)
		_, err := c.Sale(context.Background(), saleReq())
		var te *TransportError
		if !errors.As(err, &te) || te.StatusCode != 503 || te.Attempts != 3 || !errors.Is(err, ErrTransport) {
			t.Errorf("Sale = %v, want a TransportError after 3 attempts", err)
		}
	})
	t.Run("capture never retried", func(t *testing.T) {
		t.Parallel()
		g := newFakeGateway(t, flaky(1))
		c := newTestClient(t, g.srv.URL, nil)
		if _, err := c.Capture(context.Background(), CaptureRequest{XRef: "x", Amount: 5}); !errors.Is(err, ErrTransport) || g.attempts.Load() != 1 {
			t.Errorf("Capture = %v after %d attempts, want one failed attempt", err, g.attempts.Load())
		}
	})
	t.Run("4xx not retried", func(t *testing.T) {
		t.Parallel()
		g := newFakeGateway(t, func(w http.ResponseWriter, _ Fields, _ int) { w.WriteHeader(http.StatusForbidden) })
		c := newTestClient(t, g.srv.URL, nil)
		if _, err := c.Query(context.Background(), QueryRequest{XRef: "x"}); !errors.Is(err, ErrTransport) || g.attempts.Load() != 1 {
			t.Errorf("Query = %v after %d attempts", err, g.attempts.Load())
		}
	})
	t.Run("no retry once duplicateDelay passed", func(t *testing.T) {
		t.Parallel()
		g := newFakeGateway(t, flaky(1))
		now := time.Unix(0, 0)
		c := newTestClient(t, g.srv.URL, func(cfg *Config) {
			cfg.DuplicateDelay = time.Second
			cfg.NowFunc = func() time.Time { now = now.Add(2 * time.Second); return now }
		})
		if _, err := c.Sale(context.Background(), saleReq()); !errors.Is(err, ErrTransport) || g.attempts.Load() != 1 {
			t.Errorf("Sale = %v after %d attempts, want no retry", err, g.attempts.Load())
		}
	})
}

func TestClientTimeouts(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	g := newFakeGateway(t, func(w http.ResponseWriter, req Fields, _ int) {
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server closes
	c := newTestClient(t, g.srv.URL, func(cfg *Config) { cfg.Timeout = 50 * time.Millisecond })
	_, err := c.Query(context.Background(), QueryRequest{XRef: "x"})
	var te *TransportError
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &te) || te.Attempts != 3 {
		t.Errorf("Query = %v, want ErrTimeout after 3 attempts", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	c1 := newTestClient(t, g.srv.URL, nil)
	if _, err := c1.Sale(ctx, saleReq()); !errors.Is(err, ErrTimeout) || !errors.As(err, &te) || te.Attempts != 1 {
		t.Errorf("Sale with a short context = %v, want one timed-out attempt", err)
	}
}

func TestClientValidationNeverLeaksCard(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, "http://127.0.0.1:1/", nil)
	const pan = "4929421234600821"
	for _, req := range []SaleRequest{
		{Amount: 1001, Card: &Card{Number: pan, ExpiryMonth: 13, ExpiryYear: 28, CVV: "356"}},
		{Amount: 1001, Card: &Card{Number: pan + "x", ExpiryMonth: 1, ExpiryYear: 28, CVV: "356"}},
		{Amount: 1001, Card: &Card{Number: pan, ExpiryMonth: 1, ExpiryYear: 28, CVV: "35"}},
		{Amount: 0, Card: &Card{Number: pan, ExpiryMonth: 1, ExpiryYear: 28, CVV: "356"}},
		{Amount: 1001, Card: &Card{Number: pan, ExpiryMonth: 1, ExpiryYear: 28, CVV: "356"}, XRef: "x"},
		{Amount: 1001, XRef: "x", CVV: "3a6"},
		{Amount: 1001, Card: &Card{Number: pan, ExpiryMonth: 1, ExpiryYear: 28, CVV: "356"}, CaptureDelay: 31},
	} {
		_, err := c.Sale(context.Background(), req)
		if !errors.Is(err, ErrInvalidRequest) || strings.Contains(err.Error(), pan) || strings.Contains(err.Error(), "356") {
			t.Errorf("Sale(invalid) = %v, want ErrInvalidRequest without card data", err)
		}
	}
	// A transport failure carries no card data either.
	_, err := c.Sale(context.Background(), saleReq())
	if !errors.Is(err, ErrTransport) || strings.Contains(err.Error(), "4929") {
		t.Errorf("Sale to a closed port = %v", err)
	}
	card := Card{Number: pan, ExpiryMonth: 1, ExpiryYear: 2028, CVV: "356"}
	for _, s := range []string{card.String(), card.GoString(), card.LogValue().String()} {
		if strings.Contains(s, pan) || strings.Contains(s, "356") || !strings.Contains(s, "0821") {
			t.Errorf("card formatted as %q", s)
		}
	}
}

func TestRefundRefusesUnknownStates(t *testing.T) {
	t.Parallel()
	g := newFakeGateway(t, func(w http.ResponseWriter, req Fields, _ int) {
		w.Write([]byte(approve(req, Field{"state", "tendered"}, Field{"amount", "1001"})))
	})
	c := newTestClient(t, g.srv.URL, nil)
	if _, err := c.Refund(context.Background(), RefundRequest{XRef: "26031512ABCDEFGHJKLMNPQ"}); !errors.Is(err, ErrNotRefundable) {
		t.Errorf("Refund(tendered) = %v, want ErrNotRefundable", err)
	}
}

func TestClientDoAndThreeDSFields(t *testing.T) {
	t.Parallel()
	var got Fields
	g := newFakeGateway(t, func(w http.ResponseWriter, req Fields, _ int) {
		got = req
		w.Write([]byte(approve(req)))
	})
	c := newTestClient(t, g.srv.URL, nil)
	ctx := context.Background()
	if _, err := c.Do(ctx, Fields{{"action", "PREAUTH"}, {"amount", "101"}, {"merchantID", "forged"}, {"signature", "x"}}); err != nil {
		t.Fatalf("Do = %v", err)
	}
	if got.Get("merchantID") != TestMerchantID || got.Get("action") != "PREAUTH" {
		t.Errorf("Do sent %v", got)
	}
	if _, err := c.Do(ctx, Fields{{"amount", "1"}}); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("Do without action = %v", err)
	}
	req := saleReq()
	req.Type = TypeECOM
	req.ThreeDS = &ThreeDSOptions{RedirectURL: "https://shop.example/3ds", RemoteAddress: "10.0.0.1",
		Device: Fields{{"deviceChannel", "browser"}, {"threeDSOptions[x]", "1"}}}
	if _, err := c.Sale(ctx, req); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"type": "1", "threeDSRedirectURL": "https://shop.example/3ds",
		"remoteAddress": "10.0.0.1", "deviceChannel": "browser", "threeDSOptions[x]": "1"} {
		if got.Get(name) != want {
			t.Errorf("3DS sale %s = %q, want %q", name, got.Get(name), want)
		}
	}
	req.ThreeDS = &ThreeDSOptions{}
	if _, err := c.Sale(ctx, req); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("Sale with 3DS but no redirect = %v", err)
	}
	if _, err := c.ContinueThreeDS(ctx, ThreeDSContinueRequest{Ref: "r",
		Response: Fields{{"cres", "abc"}, {"nested[k]", "v"}}}); err != nil {
		t.Fatal(err)
	}
	if got.Get("threeDSRef") != "r" || got.Get("threeDSResponse[cres]") != "abc" || got.Get("threeDSResponse[nested][k]") != "v" {
		t.Errorf("continuation sent %v", got)
	}
}
