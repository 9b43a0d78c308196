package sandbox_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/cardstream/sandbox"
)

func authOnly(tb testing.TB, c *cardstream.Client, amount int64) *cardstream.Result {
	tb.Helper()
	res := mustSale(tb, c, cardstream.SaleRequest{Amount: amount, Card: card(visa, visaCVV, 12), CaptureDelay: -1})
	if res.State != cardstream.StateApproved {
		tb.Fatalf("auth-only sale state %s, want approved", res.State)
	}
	return res
}

func TestCaptureRules(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	ctx := context.Background()
	auth := authOnly(t, b.client, 1001)
	for _, tt := range []struct {
		name   string
		amount int64
		code   int
		state  cardstream.State
		amt    int64
	}{
		{"above the authorised amount", 1002, 66312, "", 0},
		{"partial capture", 800, 0, cardstream.StateCaptured, 800},
		{"lower again before settlement", 600, 0, cardstream.StateCaptured, 600},
		{"raise back up to the authorised amount", 1001, 0, cardstream.StateCaptured, 1001},
	} {
		res, err := b.client.Capture(ctx, cardstream.CaptureRequest{XRef: auth.XRef, Amount: tt.amount})
		if err != nil || res.ResponseCode != tt.code || (tt.code == 0 && (res.State != tt.state || res.Amount != tt.amt)) {
			t.Errorf("%s: Capture = %+v, %v; want %d %s %d", tt.name, res, err, tt.code, tt.state, tt.amt)
		}
	}
	if _, err := b.sb.Settle(auth.XRef); err != nil {
		t.Fatalf("Settle: %v", err)
	}
	for _, op := range []func() (*cardstream.Result, error){
		func() (*cardstream.Result, error) {
			return b.client.Capture(ctx, cardstream.CaptureRequest{XRef: auth.XRef, Amount: 500})
		},
		func() (*cardstream.Result, error) {
			return b.client.Cancel(ctx, cardstream.CancelRequest{XRef: auth.XRef})
		},
	} {
		if res, err := op(); err != nil || res.ResponseCode != cardstream.CodeActionNotAllowed || res.State != cardstream.StateAccepted {
			t.Errorf("management after settlement = %+v, %v; want 65541 in state accepted", res, err)
		}
	}
	declined, _ := b.client.Sale(ctx, cardstream.SaleRequest{Amount: 10000, Card: card(visa, visaCVV, 12), CaptureDelay: -1})
	if res, err := b.client.Capture(ctx, cardstream.CaptureRequest{XRef: declined.XRef}); err != nil || res.ResponseCode != 65541 {
		t.Errorf("Capture(declined) = %+v, %v; want 65541", res, err)
	}
}

func TestCancelRules(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	ctx := context.Background()
	for _, tt := range []struct {
		name  string
		delay int
	}{{"approved", -1}, {"captured", 0}} {
		sale := mustSale(t, b.client, cardstream.SaleRequest{Amount: 1001, Card: card(visa, visaCVV, 12), CaptureDelay: tt.delay})
		res, err := b.client.Cancel(ctx, cardstream.CancelRequest{XRef: sale.XRef})
		if err != nil || !res.Approved() || res.State != cardstream.StateCanceled || res.Action != "CANCEL:SALE" {
			t.Errorf("Cancel(%s) = %+v, %v; want canceled", tt.name, res, err)
		}
		again, err := b.client.Cancel(ctx, cardstream.CancelRequest{XRef: sale.XRef})
		if err != nil || again.ResponseCode != 65541 {
			t.Errorf("second Cancel(%s) = %+v, %v; want 65541", tt.name, again, err)
		}
		if _, err := b.sb.Settle(sale.XRef); !errors.Is(err, sandbox.ErrNotSettleable) {
			t.Errorf("Settle(canceled) = %v, want ErrNotSettleable", err)
		}
	}
	preauth := b.direct(t, fieldsOf("merchantID", "100001", "action", "PREAUTH", "type", "2", "amount", "1001",
		"currencyCode", "826", "countryCode", "826", "cardNumber", visa, "cardExpiryMonth", "12", "cardExpiryYear", "28",
		"cardCVV", visaCVV), cardstream.TestSecret)
	if preauth.Get("state") != "reversed" {
		t.Errorf("PREAUTH state %s, want reversed", preauth.Get("state"))
	}
	if res, err := b.client.Capture(ctx, cardstream.CaptureRequest{XRef: preauth.Get("xref")}); err != nil || res.ResponseCode != 65541 {
		t.Errorf("Capture(PREAUTH) = %+v, %v; want 65541", res, err)
	}
}

func TestRefundStrategy(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	ctx := context.Background()
	sale := mustSale(t, b.client, cardstream.SaleRequest{Amount: 1001, Card: card(visa, visaCVV, 12)})

	// Before settlement REFUND_SALE is refused and Refund re-captures lower.
	if res, err := b.client.RefundSale(ctx, cardstream.RefundSaleRequest{XRef: sale.XRef, Amount: 100}); err != nil || res.ResponseCode != 65541 {
		t.Errorf("RefundSale before settlement = %+v, %v; want 65541", res, err)
	}
	part, err := b.client.Refund(ctx, cardstream.RefundRequest{XRef: sale.XRef, Amount: 300})
	if err != nil || part.Method != cardstream.RefundRecaptured || part.Amount != 701 || part.Err() != nil {
		t.Fatalf("partial Refund = %+v, %v; want a capture of 701", part, err)
	}
	part2, err := b.client.Refund(ctx, cardstream.RefundRequest{XRef: sale.XRef, Amount: 200})
	if err != nil || part2.Method != cardstream.RefundRecaptured || part2.Amount != 501 {
		t.Fatalf("second partial Refund = %+v, %v; want a capture of 501", part2, err)
	}
	if _, err := b.client.Refund(ctx, cardstream.RefundRequest{XRef: sale.XRef, Amount: 600}); !errors.Is(err, cardstream.ErrNotRefundable) {
		t.Errorf("Refund above what is left = %v, want ErrNotRefundable", err)
	}

	// After settlement: REFUND_SALE, partial then the rest.
	if state, err := b.sb.Settle(sale.XRef); err != nil || state != cardstream.StateAccepted {
		t.Fatalf("Settle = %s, %v", state, err)
	}
	r1, err := b.client.Refund(ctx, cardstream.RefundRequest{XRef: sale.XRef, Amount: 101})
	if err != nil || r1.Method != cardstream.RefundRefunded || r1.AmountRefunded != 101 || r1.XRef == sale.XRef {
		t.Fatalf("Refund after settlement = %+v, %v; want REFUND_SALE of 101 with a new xref", r1, err)
	}
	r2, err := b.client.Refund(ctx, cardstream.RefundRequest{XRef: sale.XRef})
	if err != nil || r2.Refunded != 400 || r2.Err() != nil {
		t.Fatalf("full remaining Refund = %+v, %v; want 400", r2, err)
	}
	q, err := b.client.Query(ctx, cardstream.QueryRequest{XRef: sale.XRef})
	if err != nil || q.AmountRefunded != 501 || q.State != cardstream.StateAccepted || q.Action != "QUERY:SALE" {
		t.Errorf("Query = %+v, %v; want accepted with 501 refunded", q, err)
	}
	if _, err := b.client.Refund(ctx, cardstream.RefundRequest{XRef: sale.XRef}); !errors.Is(err, cardstream.ErrNotRefundable) {
		t.Errorf("Refund of a fully refunded sale = %v, want ErrNotRefundable", err)
	}
	if res, err := b.client.RefundSale(ctx, cardstream.RefundSaleRequest{XRef: sale.XRef, Amount: 1}); err != nil || res.ResponseCode != 66312 {
		t.Errorf("RefundSale beyond the sale = %+v, %v; want 66312", res, err)
	}
}

func TestRefundFullBeforeSettlementCancels(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	sale := mustSale(t, b.client, cardstream.SaleRequest{Amount: 1001, Card: card(visa, visaCVV, 12)})
	res, err := b.client.Refund(context.Background(), cardstream.RefundRequest{XRef: sale.XRef})
	if err != nil || res.Method != cardstream.RefundCancelled || res.State != cardstream.StateCanceled || res.Refunded != 1001 {
		t.Fatalf("full Refund = %+v, %v; want a cancel", res, err)
	}
	if _, err := b.client.Refund(context.Background(), cardstream.RefundRequest{XRef: sale.XRef}); !errors.Is(err, cardstream.ErrNotRefundable) {
		t.Errorf("Refund(canceled) = %v, want ErrNotRefundable", err)
	}
}

func TestSettlementOutcomesAndSchedules(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{SettleAfter: time.Hour})
	ctx := context.Background()
	good := mustSale(t, b.client, cardstream.SaleRequest{Amount: 1001, Card: card(visa, visaCVV, 12)})
	bad := mustSale(t, b.client, cardstream.SaleRequest{Amount: 2600, Card: card(visa, visaCVV, 12)})
	delayed := mustSale(t, b.client, cardstream.SaleRequest{Amount: 1001, Card: card(visa, visaCVV, 12), CaptureDelay: 1})
	manual := authOnly(t, b.client, 1001)

	b.clock.Advance(59 * time.Minute)
	if st, _ := b.sb.State(good.XRef); st != cardstream.StateCaptured {
		t.Errorf("state before SettleAfter = %s, want captured", st)
	}
	b.clock.Advance(2 * time.Minute)
	for xref, want := range map[string]cardstream.State{good.XRef: cardstream.StateAccepted, bad.XRef: cardstream.StateRejected,
		delayed.XRef: cardstream.StateApproved, manual.XRef: cardstream.StateApproved} {
		if q, err := b.client.Query(ctx, cardstream.QueryRequest{XRef: xref}); err != nil || q.State != want {
			t.Errorf("state after SettleAfter = %v, %v; want %s", q, err, want)
		}
	}
	if res, err := b.client.Refund(ctx, cardstream.RefundRequest{XRef: bad.XRef}); !errors.Is(err, cardstream.ErrNotRefundable) {
		t.Errorf("Refund(rejected) = %+v, %v; want ErrNotRefundable", res, err)
	}
	b.clock.Advance(24 * time.Hour) // the capture delay passes, then SettleAfter
	if st, _ := b.sb.State(delayed.XRef); st != cardstream.StateCaptured {
		t.Errorf("delayed capture state = %s, want captured", st)
	}
	b.clock.Advance(time.Hour)
	if st, _ := b.sb.State(delayed.XRef); st != cardstream.StateAccepted {
		t.Errorf("delayed capture after SettleAfter = %s, want accepted", st)
	}
	if st, _ := b.sb.State(manual.XRef); st != cardstream.StateApproved {
		t.Errorf("manual capture state = %s, want approved", st)
	}
}

func TestSettleEndpointAndMethods(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	one := mustSale(t, b.client, cardstream.SaleRequest{Amount: 1001, Card: card(visa, visaCVV, 12)})
	two := mustSale(t, b.client, cardstream.SaleRequest{Amount: 1001, Card: card(visa, visaCVV, 12)})
	three := mustSale(t, b.client, cardstream.SaleRequest{Amount: 1001, Card: card(visa, visaCVV, 12)})
	manual := authOnly(t, b.client, 1001)
	for _, tt := range []struct {
		body   string
		status int
		want   string
	}{
		{"xref=" + one.XRef, http.StatusOK, "xref=" + one.XRef + "&state=accepted"},
		{"xref=" + one.XRef, http.StatusConflict, "xref=" + one.XRef + "&state=accepted"},
		{"xref=" + manual.XRef, http.StatusConflict, "xref=" + manual.XRef + "&state=approved"},
		{"xref=nope", http.StatusNotFound, "xref=nope&state="},
		{"", http.StatusOK, "settled=2"},
	} {
		if status, body := b.post(t, "/sandbox/settle", tt.body); status != tt.status || body != tt.want {
			t.Errorf("POST sandbox/settle %q = %d %q, want %d %q", tt.body, status, body, tt.status, tt.want)
		}
	}
	for _, xref := range []string{two.XRef, three.XRef} {
		if st, _ := b.sb.State(xref); st != cardstream.StateAccepted {
			t.Errorf("state after settle-all = %s", st)
		}
	}
	if n := b.sb.SettleAll(); n != 0 {
		t.Errorf("SettleAll with nothing captured = %d", n)
	}
	if _, err := b.sb.Settle("nope"); !errors.Is(err, sandbox.ErrUnknownXRef) {
		t.Errorf("Settle(unknown) = %v", err)
	}
}
