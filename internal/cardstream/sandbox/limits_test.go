package sandbox_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/cardstream/sandbox"
)

func TestMaxTransactionsForgetsOldest(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{MaxTransactions: 2})
	first := mustSale(t, b.client, cardstream.SaleRequest{Amount: 1001, Card: card(visa, visaCVV, 12)})
	mustSale(t, b.client, cardstream.SaleRequest{Amount: 1002, Card: card(visa, visaCVV, 12)})
	mustSale(t, b.client, cardstream.SaleRequest{Amount: 1003, Card: card(visa, visaCVV, 12)})
	if _, ok := b.sb.State(first.XRef); ok {
		t.Errorf("oldest transaction still stored beyond the limit")
	}
	sh := newShop(t)
	startHosted(t, b.client, hostedRequest(sh.srv.URL))
	startHosted(t, b.client, hostedRequest(sh.srv.URL))
	if resp, page := startHosted(t, b.client, hostedRequest(sh.srv.URL)); resp.StatusCode != http.StatusServiceUnavailable ||
		!strings.Contains(page, "65565") {
		t.Errorf("third open session = %d, want 503 with 65565", resp.StatusCode)
	}
	b.clock.Advance(2 * time.Hour) // sessions expire and free their slots
	if resp, _ := startHosted(t, b.client, hostedRequest(sh.srv.URL)); resp.StatusCode != http.StatusOK {
		t.Errorf("session after expiry = %d, want 200", resp.StatusCode)
	}
}

func TestCallbackAllowFunc(t *testing.T) {
	t.Parallel()
	sh := newShop(t)
	shopHost, _ := url.Parse(sh.srv.URL)
	b := setup(t, sandbox.Options{CallbackAllowFunc: func(u *url.URL) bool { return u.Path == "/callback" && u.Host == shopHost.Host }})
	req := hostedRequest(sh.srv.URL)
	req.CallbackURL = sh.srv.URL + "/elsewhere"
	_, page := startHosted(t, b.client, req)
	_, page = postForm(t, b.srv.URL+"/hosted/submit", fieldsOf("session", session(t, page), "op", "cancel"))
	if res := parseCallback(t, b.client, hiddenFields(page)); res.ResponseCode != cardstream.CodeCancelled {
		t.Errorf("redirect = %+v, want 65576", res)
	}
	_, page = startHosted(t, b.client, hostedRequest(sh.srv.URL))
	postForm(t, b.srv.URL+"/hosted/submit", fieldsOf("session", session(t, page), "op", "cancel"))
	if got := len(sh.received()); got != 1 {
		t.Errorf("callbacks = %d, want only the allowed one", got)
	}
}

func TestExpiredChallengeFinishes(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	c := b.clientFor(t, sandbox.ThreeDSMerchantID, cardstream.TestSecret)
	first, err := c.Sale(context.Background(), ecomSale(12, 1001))
	if err != nil || first.ThreeDS == nil {
		t.Fatalf("Sale = %+v, %v", first, err)
	}
	b.clock.Advance(2 * time.Hour)
	if st, _ := b.sb.State(first.XRef); st != cardstream.StateFinished {
		t.Errorf("state after the challenge expired = %s, want finished", st)
	}
	res, err := c.ContinueThreeDS(context.Background(), cardstream.ThreeDSContinueRequest{Ref: first.ThreeDS.Ref,
		Response: cardstream.Fields{{Name: "cres", Value: first.ThreeDS.Request.Get("creq") + ":Y"}}})
	if err != nil || res.ResponseCode != 66848 {
		t.Errorf("late continuation = %+v, %v; want 66848", res, err)
	}
}

func TestCardTokenKeptWhileUsed(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{MaxTransactions: 2})
	ctx := context.Background()
	token, err := b.client.Verify(ctx, cardstream.VerifyRequest{Card: *card(visa, visaCVV, 12)})
	if err != nil || !token.Approved() {
		t.Fatalf("Verify = %+v, %v", token, err)
	}
	// Each charge is a use of the token, so it outlives the limit.
	for i := range 4 {
		mustSale(t, b.client, cardstream.SaleRequest{Amount: 1001 + int64(i), XRef: token.XRef})
	}
	// Two transactions without it push it out.
	mustSale(t, b.client, cardstream.SaleRequest{Amount: 1001, Card: card(visa, visaCVV, 12)})
	mustSale(t, b.client, cardstream.SaleRequest{Amount: 1002, Card: card(visa, visaCVV, 12)})
	res, err := b.client.Sale(ctx, cardstream.SaleRequest{Amount: 1001, XRef: token.XRef})
	if err != nil || res.ResponseCode != 66341 {
		t.Errorf("Sale with a forgotten token = %+v, %v; want 66341", res, err)
	}
}

func TestDuplicateKeysBoundedByLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{MaxTransactions: 2})
	ctx := context.Background()
	first := cardstream.SaleRequest{Amount: 1001, Card: card(visa, visaCVV, 12), TransactionUnique: "order-1"}
	mustSale(t, b.client, first)
	if res, err := b.client.Sale(ctx, first); err != nil || res.ResponseCode != cardstream.CodeDuplicate {
		t.Fatalf("repeat Sale = %+v, %v; want 65554", res, err)
	}
	for _, unique := range []string{"order-2", "order-3"} {
		mustSale(t, b.client, cardstream.SaleRequest{Amount: 1001, Card: card(visa, visaCVV, 12), TransactionUnique: unique})
	}
	// Only the two latest keys are kept: the first is no longer a duplicate.
	mustSale(t, b.client, first)
}
