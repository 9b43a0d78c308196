package sandbox_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"testing"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/cardstream/sandbox"
)

// maxBytesPerTransaction bounds the heap one stored transaction may keep:
// the transaction (xref, card, amounts, state, packed request fields), its
// duplicate key and its places in the maps and queues. It is about 650
// bytes; it was 2,800 when the sandbox kept each request and response as
// field lists pointing into the request body.
const maxBytesPerTransaction = 800

// TestStoredTransactionFootprint measures the heap kept per transaction
// after the server's payment.flow: tokenise a card (VERIFY), then charge it
// by xref (SALE), both through the in-memory transport as serve wires it.
// It is not parallel on purpose: other tests running alongside would
// disturb the heap numbers.
func TestStoredTransactionFootprint(t *testing.T) {
	const flows = 1000
	perTxn := heapPerTransaction(t, flows)
	t.Logf("%.0f bytes of heap per stored transaction", perTxn)
	if perTxn > maxBytesPerTransaction {
		t.Errorf("stored transaction keeps %.0f bytes, want at most %d", perTxn, maxBytesPerTransaction)
	}
}

// BenchmarkStoredTransaction reports the heap kept per stored transaction
// (bytes/txn) over b.N payment flows of two transactions each. Run it with
// enough flows for map growth to average out, e.g. -benchtime=5000x.
func BenchmarkStoredTransaction(b *testing.B) {
	b.ReportMetric(heapPerTransaction(b, b.N), "bytes/txn")
}

// heapPerTransaction runs flows payment flows against a fresh sandbox and
// returns the live heap growth divided by the transactions stored.
func heapPerTransaction(tb testing.TB, flows int) float64 {
	tb.Helper()
	// Room for every transaction: nothing may be evicted while measuring.
	sb, err := sandbox.New(sandbox.Options{MaxTransactions: 2*flows + 2})
	if err != nil {
		tb.Fatal(err)
	}
	c, err := cardstream.New(cardstream.Config{MerchantID: cardstream.TestMerchantID, Secret: cardstream.TestSecret,
		GatewayURL: "https://pay.example/sandbox/cardstream/",
		HTTPClient: &http.Client{Transport: sb.Transport("/sandbox/cardstream")}})
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	paymentFlow(tb, ctx, c, -1) // warm up lazily built state
	before := liveHeap()
	for i := range flows {
		paymentFlow(tb, ctx, c, i)
	}
	after := liveHeap()
	runtime.KeepAlive(sb)
	return float64(after-before) / float64(2*flows)
}

// paymentFlow is what the API does for payment.flow: a VERIFY with the
// card (the payment method), then an ECOM card-on-file SALE by its xref
// (the payment intent's confirmation).
func paymentFlow(tb testing.TB, ctx context.Context, c *cardstream.Client, i int) {
	tb.Helper()
	pm, pi := fmt.Sprintf("pm_%024d", i), fmt.Sprintf("pi_%024d", i)
	v, err := c.Verify(ctx, cardstream.VerifyRequest{Card: *card(visa, visaCVV, 12), TransactionUnique: pm, OrderRef: pm,
		Checks: cardstream.CheckPrefs{CV2: cardstream.StrictCV2CheckPref}})
	if err != nil || !v.Approved() {
		tb.Fatalf("Verify = %+v, %v", v, err)
	}
	mustSale(tb, c, cardstream.SaleRequest{Amount: 1001, XRef: v.XRef, Type: cardstream.TypeECOM,
		Agreement: cardstream.AgreementCardOnFile, Initiator: "consumer", TransactionUnique: pi + "-1", OrderRef: pi})
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
