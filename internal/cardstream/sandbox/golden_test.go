package sandbox_test

import (
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/cardstream/sandbox"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// conversation replays Direct requests against a sandbox with a fixed clock
// and random source, so every answer (xrefs and signatures included) is
// reproducible, and records request names and raw answers.
type conversation struct {
	tb  testing.TB
	b   *testBundle
	out strings.Builder
	// xrefs are the answers' xrefs by step name.
	xrefs map[string]string
}

// send signs fields for merchant 100001 or 100856 and records the answer
// under name. "$step" values are replaced by that step's xref.
func (cv *conversation) send(name string, fields cardstream.Fields) cardstream.Fields {
	cv.tb.Helper()
	for i, f := range fields {
		if ref, ok := strings.CutPrefix(f.Value, "$"); ok {
			fields[i].Value = cv.xrefs[ref]
		}
	}
	_, body := cv.b.post(cv.tb, "/direct/", cardstream.SignedRequest(fields, cardstream.TestSecret).Encode())
	resp, err := cardstream.ParseBody(body)
	if err != nil {
		cv.tb.Fatalf("%s: ParseBody: %v", name, err)
	}
	cv.xrefs[name] = resp.Get("xref")
	cv.out.WriteString(name + "\n" + body + "\n\n")
	return resp
}

// newSale is a SALE's fields for merchant with the visa test card expiring
// in month, plus extra name/value pairs.
func newSale(merchant, typ, amount, month string, extra ...string) cardstream.Fields {
	f := fieldsOf("merchantID", merchant, "action", "SALE", "type", typ, "amount", amount, "currencyCode", "826",
		"countryCode", "826", "cardNumber", visa, "cardExpiryMonth", month, "cardExpiryYear", "28", "cardCVV", visaCVV)
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	return f
}

func query(xref string) cardstream.Fields {
	return fieldsOf("merchantID", "100001", "action", "QUERY", "xref", xref)
}

// TestGoldenConversation pins the sandbox's exact answers to a scripted
// conversation covering every stored-transaction path: tokenising, xref
// cloning, QUERY of every kind of transaction, CAPTURE, CANCEL, settlement
// and REFUND_SALE, declines, AVS/CV2 results, duplicates and 3-D Secure.
// Run with -update after an intended change of the wire behaviour.
func TestGoldenConversation(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{Rand: rand.NewChaCha8([32]byte{}), BaseURL: "https://gateway.example/"})
	cv := &conversation{tb: t, b: b, xrefs: map[string]string{}}
	cv.send("verify", fieldsOf("merchantID", "100001", "action", "VERIFY", "type", "2", "amount", "0",
		"currencyCode", "826", "countryCode", "826", "cardNumber", "4929 4212-3460 0821", "cardExpiryMonth", "12",
		"cardExpiryYear", "2028", "cardCVV", visaCVV, "transactionUnique", "pm_1", "orderRef", "pm_1",
		"rtAgreementType", "cardonfile", "cv2CheckPref", "matched", "customerName", "Zoë", "customerPostcode", "NN17 8YG",
		"customerAddress", "Flat 6 Primrose Rise, 347 Lavender Road", "merchantData[order]", "7", "merchantData[note]", "50% off",
		"items[0][description]", "Tea", "items[0][amount]", "1001", "remoteAddress", "192.0.2.1", "custom", "not stored"))
	cv.send("query verify", query("$verify"))
	saleByXRef := fieldsOf("merchantID", "100001", "action", "SALE", "type", "1", "amount", "1001", "xref", "$verify",
		"rtAgreementType", "cardonfile", "initiator", "consumer", "transactionUnique", "pi_1-1", "orderRef", "pi_1",
		"duplicateDelay", "300")
	cv.send("sale by xref", saleByXRef.Clone())
	cv.send("duplicate sale by xref", saleByXRef.Clone())
	cv.send("mit cloning all but the name", fieldsOf("merchantID", "100001", "action", "SALE", "type", "9",
		"amount", "1500", "xref", "$verify", "rtAgreementType", "recurring", "cloneFields", "!customerName,!amount",
		"transactionUnique", "sub_1"))
	cv.send("query sale by xref", query("$sale by xref"))

	cv.send("auth only", newSale("100001", "2", "1001", "12", "captureDelay", "never", "customerAddress", "1 Nowhere",
		"customerPostcode", "ZZ1 1ZZ", "orderDate", "2026-03-15"))
	cv.send("capture part", fieldsOf("merchantID", "100001", "action", "CAPTURE", "xref", "$auth only", "amount", "800"))
	cv.send("capture too much", fieldsOf("merchantID", "100001", "action", "CAPTURE", "xref", "$auth only", "amount", "2000"))
	cv.send("query capture", query("$auth only"))
	cv.send("cancel", fieldsOf("merchantID", "100001", "action", "CANCEL", "xref", "$auth only"))
	cv.send("cancel again", fieldsOf("merchantID", "100001", "action", "CANCEL", "xref", "$auth only"))

	cv.send("delayed", newSale("100001", "2", "2600", "12", "captureDelay", "2", "transactionUnique", "d1"))
	b.clock.Advance(49 * time.Hour)
	cv.send("query delayed after the delay", query("$delayed"))
	if _, err := b.sb.Settle(cv.xrefs["sale by xref"]); err != nil {
		t.Fatalf("Settle: %v", err)
	}
	cv.send("refund part", fieldsOf("merchantID", "100001", "action", "REFUND_SALE", "xref", "$sale by xref",
		"amount", "300", "transactionUnique", "re_1"))
	cv.send("refund mismatch", fieldsOf("merchantID", "100001", "action", "REFUND_SALE", "xref", "$sale by xref",
		"currencyCode", "978"))
	cv.send("query refund", query("$refund part"))
	cv.send("query refunded sale", query("$sale by xref"))
	b.sb.SettleAll()
	cv.send("query settled refund", query("$refund part"))

	cv.send("declined", newSale("100001", "2", "10000", "12"))
	cv.send("query declined", query("$declined"))
	cv.send("cv2 refused", newSale("100001", "2", "1001", "12", "cardCVV", "000", "cv2CheckPref", "matched"))
	cv.send("query cv2 refused", query("$cv2 refused"))
	cv.send("unknown card", newSale("100001", "2", "1001", "12", "cardNumber", "4111111111111111"))
	cv.send("query unknown card", query("$unknown card"))
	cv.send("preauth", newSale("100001", "2", "1001", "12", "action", "PREAUTH"))
	cv.send("query preauth", query("$preauth"))

	redirect := []string{"threeDSRedirectURL", "https://shop.example/3ds"}
	ch := cv.send("3ds challenge", newSale("100856", "1", "1001", "12", redirect...))
	cv.send("query 3ds challenge", fieldsOf("merchantID", "100856", "action", "QUERY", "xref", "$3ds challenge"))
	cv.send("3ds continue", fieldsOf("merchantID", "100856", "threeDSRef", ch.Get("threeDSRef"),
		"threeDSResponse[cres]", ch.Get("threeDSRequest[creq]")+":Y"))
	cv.send("query 3ds continued", fieldsOf("merchantID", "100856", "action", "QUERY", "xref", "$3ds challenge"))
	pending := cv.send("3ds challenge left open", newSale("100856", "1", "1002", "12", redirect...))
	cv.send("3ds frictionless", newSale("100856", "1", "1001", "01", redirect...))
	cv.send("query 3ds frictionless", fieldsOf("merchantID", "100856", "action", "QUERY", "xref", "$3ds frictionless"))
	cv.send("3ds refused", newSale("100856", "1", "1001", "02", redirect...))
	cv.send("query 3ds refused", fieldsOf("merchantID", "100856", "action", "QUERY", "xref", "$3ds refused"))
	cv.send("3ds external result", newSale("100001", "1", "20000", "12", "threeDSRequired", "Y",
		"threeDSAuthenticated", "A"))
	b.clock.Advance(2 * time.Hour)
	cv.send("query expired challenge", fieldsOf("merchantID", "100856", "action", "QUERY", "xref", pending.Get("xref")))
	compareGolden(t, "conversation.golden", cv.out.String())
}

// compareGolden compares got with testdata/name, or rewrites it with
// -update.
func compareGolden(tb testing.TB, name, got string) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if got != string(want) {
		gotLines, wantLines := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gotLines), len(wantLines)) {
			if gotLines[i] != wantLines[i] {
				tb.Fatalf("%s differs at line %d:\n got %s\nwant %s", path, i+1, gotLines[i], wantLines[i])
			}
		}
		tb.Fatalf("%s differs in length: got %d lines, want %d", path, len(gotLines), len(wantLines))
	}
}
