package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/cardstream/sandbox"
)

func TestInMemoryTransport(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	for _, tt := range []struct {
		mount, gateway string
	}{
		{"", "http://cardstream.sandbox/"},
		{"/sandbox/cardstream", "https://pay.example/sandbox/cardstream/"},
		{"/sandbox/cardstream/", "https://pay.example/sandbox/cardstream"},
	} {
		c, err := cardstream.New(cardstream.Config{MerchantID: cardstream.TestMerchantID, Secret: cardstream.TestSecret,
			GatewayURL: tt.gateway, HTTPClient: &http.Client{Transport: b.sb.Transport(tt.mount)}})
		if err != nil {
			t.Fatal(err)
		}
		sale := mustSale(t, c, cardstream.SaleRequest{Amount: 1001, Card: card(visa, visaCVV, 12)})
		// The same sandbox over real HTTP sees the transaction.
		if q, err := b.client.Query(context.Background(), cardstream.QueryRequest{XRef: sale.XRef}); err != nil || !q.Approved() {
			t.Errorf("mount %q: Query over HTTP = %+v, %v", tt.mount, q, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, _ := cardstream.New(cardstream.Config{MerchantID: cardstream.TestMerchantID, Secret: cardstream.TestSecret,
		GatewayURL: "http://x/", HTTPClient: &http.Client{Transport: b.sb.Transport("")}})
	if _, err := c.Query(ctx, cardstream.QueryRequest{XRef: "x"}); !errors.Is(err, context.Canceled) || !errors.Is(err, cardstream.ErrTransport) {
		t.Errorf("Query with a cancelled context = %v", err)
	}
	resp, err := (&http.Client{Transport: b.sb.Transport("/sandbox")}).Get("http://x/elsewhere")
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET outside the mount = %v, %v; want 404", resp, err)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	c, _ := cardstream.New(cardstream.Config{MerchantID: cardstream.TestMerchantID, Secret: cardstream.TestSecret,
		GatewayURL: "http://cardstream.sandbox/", HTTPClient: &http.Client{Transport: b.sb.Transport("")}})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 16 {
		wg.Go(func() {
			ctx := context.Background()
			sale, err := c.Sale(ctx, cardstream.SaleRequest{Amount: 1001, Card: card(visa, visaCVV, 12),
				TransactionUnique: fmt.Sprint("conc-", i)})
			if err != nil || !sale.Approved() {
				errs <- fmt.Errorf("sale %d: %v %v", i, sale, err)
				return
			}
			b.sb.SettleAll()
			if _, err := c.Refund(ctx, cardstream.RefundRequest{XRef: sale.XRef, Amount: 1}); err != nil {
				errs <- fmt.Errorf("refund %d: %w", i, err)
			}
			b.clock.Advance(1)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestMerchantFlags(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in, id, secret string
		ok             bool
	}{
		{"123456:abc", "123456", "abc", true},
		{"123456:a:b", "123456", "a:b", true},
		{"123456", "", "", false},
		{"abc:def", "", "", false},
		{"123456:", "", "", false},
		{":secret", "", "", false},
	} {
		id, secret, err := sandbox.ParseMerchantFlag(tt.in)
		if (err == nil) != tt.ok || id != tt.id || secret != tt.secret {
			t.Errorf("ParseMerchantFlag(%q) = %q, %q, %v", tt.in, id, secret, err)
		}
	}
	m := sandbox.MerchantFlags{}
	if err := m.Set("42:topsecret"); err != nil || m["42"] != "topsecret" || m.String() != "42:[REDACTED]" {
		t.Errorf("MerchantFlags = %v (%s), %v", map[string]string(m), m.String(), err)
	}
	if _, err := sandbox.New(sandbox.Options{Merchants: map[string]string{"42": ""}}); err == nil {
		t.Errorf("New with an empty secret succeeded")
	}
}
