package sandbox_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
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
}

// Open sessions are bounded per client and in total, and a new one is never
// refused: beyond its client's bound it replaces that client's oldest,
// beyond the total the oldest of all. Ten thousand requests from one client
// cannot lock anyone else out.
func TestOpenSessionsBoundedPerClient(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{MaxTransactions: 4, MaxOpenPerClient: 2,
		Client: func(r *http.Request) string { return r.Header.Get("X-Client") }})
	sh := newShop(t)
	open := func(client string) string {
		t.Helper()
		form, err := b.client.Hosted(hostedRequest(sh.srv.URL))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, form.URL, strings.NewReader(form.Fields.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Client", client)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		page, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("open session for %s = %d %s", client, resp.StatusCode, page)
		}
		return session(t, string(page))
	}
	usable := func(sess string) bool {
		t.Helper()
		resp, _ := postForm(t, b.srv.URL+"/hosted/submit", fieldsOf("session", sess, "op", "pay"))
		return resp.StatusCode == http.StatusOK // the form again: the card is missing
	}
	shopper := open("shopper")
	var flood []string
	for range 100 {
		flood = append(flood, open("flood"))
	}
	if !usable(shopper) {
		t.Error("a flood from another client closed the shopper's session")
	}
	if usable(flood[0]) || !usable(flood[98]) || !usable(flood[99]) {
		t.Error("the flooding client keeps more than its 2 sessions, or not its newest")
	}
	// Beyond the total bound, the oldest of all goes: the shopper's.
	second, third := open("second"), open("third")
	if usable(shopper) || !usable(second) || !usable(third) || !usable(flood[99]) {
		t.Error("beyond the total bound, the oldest session was not the one replaced")
	}
	b.clock.Advance(2 * time.Hour)
	if usable(third) {
		t.Error("a session outlived its hour")
	}
}

// A callback answered with a redirect is not followed: the sandbox posts
// only where the signed request (and CallbackAllowFunc) said.
func TestCallbackFollowsNoRedirect(t *testing.T) {
	t.Parallel()
	var followed atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("POST /callback", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/elsewhere", func(http.ResponseWriter, *http.Request) { followed.Store(true) })
	shopSrv := httptest.NewServer(mux)
	t.Cleanup(shopSrv.Close)
	// Even a given client that follows redirects does not.
	b := setup(t, sandbox.Options{CallbackClient: &http.Client{}})
	_, page := startHosted(t, b.client, hostedRequest(shopSrv.URL))
	postForm(t, b.srv.URL+"/hosted/submit", fieldsOf("session", session(t, page), "op", "cancel"))
	if followed.Load() {
		t.Error("the sandbox followed the callback's redirect")
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
