package sandbox_test

import (
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/cardstream/sandbox"
)

// The helpers below are written directly from §3 of the protocol document
// and share no code with package cardstream, so the sandbox and the
// package cannot agree on a shared mistake.

// phpEncode is PHP urlencode: A-Z a-z 0-9 - _ . pass, space is '+', every
// other byte is %XX in uppercase hex.
func phpEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// normaliseEOL replaces %0D%0A, %0A%0D and a lone %0D (any case) with %0A
// in one left-to-right pass.
func normaliseEOL(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		rest := strings.ToUpper(s[i:min(i+6, len(s))])
		switch {
		case strings.HasPrefix(rest, "%0D%0A"), strings.HasPrefix(rest, "%0A%0D"):
			b.WriteString("%0A")
			i += 6
		case strings.HasPrefix(rest, "%0D"):
			b.WriteString("%0A")
			i += 3
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}

type pair struct{ k, v string }

// independentSign hashes the pairs (without any signature) as §3.2 says.
func independentSign(pairs []pair, secret string) string {
	var kept []pair
	for _, p := range pairs {
		if p.k != "signature" {
			kept = append(kept, p)
		}
	}
	root := func(k string) string { return strings.SplitN(k, "[", 2)[0] }
	sort.SliceStable(kept, func(i, j int) bool { return root(kept[i].k) < root(kept[j].k) })
	parts := make([]string, len(kept))
	for i, p := range kept {
		parts[i] = phpEncode(p.k) + "=" + phpEncode(p.v)
	}
	sum := sha512.Sum512([]byte(normaliseEOL(strings.Join(parts, "&")) + secret))
	return hex.EncodeToString(sum[:])
}

// independentParse splits a body into ordered pairs with net/url decoding.
func independentParse(tb testing.TB, body string) []pair {
	tb.Helper()
	var out []pair
	for _, part := range strings.Split(body, "&") {
		k, v, _ := strings.Cut(part, "=")
		dk, err1 := url.QueryUnescape(k)
		dv, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			tb.Fatalf("undecodable pair %q", part)
		}
		out = append(out, pair{dk, dv})
	}
	return out
}

func TestIndependentSignerAgainstSandbox(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	pairs := []pair{
		{"merchantID", "100001"}, {"action", "SALE"}, {"type", "2"}, {"amount", "1001"},
		{"currencyCode", "826"}, {"countryCode", "826"}, {"cardNumber", visa}, {"cardExpiryMonth", "12"},
		{"cardExpiryYear", "28"}, {"cardCVV", visaCVV}, {"transactionUnique", "indep~1"},
		{"orderRef", "Order #7 & co ~*'()! café"}, {"customerAddress", "Flat 6\r\nPrimrose Rise\r347 Lavender Road\n\rNN"},
		{"merchantData[order]", "7"}, {"merchantData[note]", "50% off"},
	}
	var body []string
	for _, p := range pairs {
		body = append(body, phpEncode(p.k)+"="+phpEncode(p.v))
	}
	body = append(body, "signature="+independentSign(pairs, cardstream.TestSecret))
	status, resp := b.post(t, "/direct/", strings.Join(body, "&"))
	got := independentParse(t, resp)
	fields := map[string]string{}
	for _, p := range got {
		fields[p.k] = p.v
	}
	if status != 200 || fields["responseCode"] != "0" || fields["xref"] == "" {
		t.Fatalf("sandbox answer %d: %v", status, fields)
	}
	if want := independentSign(got, cardstream.TestSecret); fields["signature"] != want {
		t.Errorf("response signature %s, independent verifier computed %s", fields["signature"], want)
	}
	if fields["orderRef"] != "Order #7 & co ~*'()! café" || fields["merchantData[note]"] != "50% off" {
		t.Errorf("echoed fields changed: %v", fields)
	}
	// The package's signer agrees with the independent one on the same input.
	var f cardstream.Fields
	for _, p := range pairs {
		f = append(f, cardstream.Field{Name: p.k, Value: p.v})
	}
	if cardstream.Sign(f, cardstream.TestSecret) != independentSign(pairs, cardstream.TestSecret) {
		t.Errorf("cardstream.Sign disagrees with the independent signer")
	}
	// And a request it mis-signs (no EOL normalisation) is refused.
	bad := append([]string(nil), body[:len(body)-1]...)
	bad = append(bad, "signature="+independentSign(pairs, "wrong"))
	if _, resp := b.post(t, "/direct/", strings.Join(bad, "&")); !strings.Contains(resp, "responseCode=65539") {
		t.Errorf("wrongly signed request accepted: %s", resp)
	}
}
