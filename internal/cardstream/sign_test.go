package cardstream

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// kv builds Fields from alternating names and values.
func kv(tb testing.TB, pairs ...string) Fields {
	tb.Helper()
	if len(pairs)%2 != 0 {
		tb.Fatalf("kv: odd number of arguments")
	}
	var f Fields
	for i := 0; i < len(pairs); i += 2 {
		f = append(f, Field{Name: pairs[i], Value: pairs[i+1]})
	}
	return f
}

func p1(t *testing.T) Fields {
	return kv(t, "merchantID", "100001", "action", "SALE", "type", "1", "currencyCode", "826",
		"countryCode", "826", "amount", "2691", "transactionUnique", "55f025addd3c2",
		"orderRef", "Signature Test", "cardNumber", "4929 4212 3460 0821", "cardExpiryDate", "1213")
}

func p4(t *testing.T, action, amount string) Fields {
	return kv(t, "merchantID", "155928", "action", action, "type", "1", "currencyCode", "826",
		"countryCode", "826", "amount", amount, "orderRef", "Test purchase",
		"redirectURL", "https://checkout.handpoint.io/", "customerAddress", "Merevale Avenue Leicester",
		"customerPostCode", "LE10 2BU", "duplicateDelay", "0")
}

func v1(t *testing.T) Fields {
	return kv(t, "merchantID", "100001", "action", "SALE", "type", "1", "amount", "1001",
		"currencyCode", "826", "countryCode", "826", "transactionUnique", "ord-42-a1b2c3",
		"orderRef", "Order #42 & co / test~*'()!", "customerName", "Zoë O'Brien",
		"customerEmail", "a+b@example.com", "redirectURL", "https://shop.example/return?o=42&x=y",
		"merchantData", `{"order":42,"note":"50% off; café"}`)
}

func v3(t *testing.T) Fields {
	return kv(t, "merchantID", "100001", "action", "SALE", "type", "1", "amount", "1001",
		"currencyCode", "826", "countryCode", "826", "transactionUnique", "ord-44",
		"orderRef", "Partial test", "redirectURL", "https://shop.example/return", "submitButtonLabel", "Pay now")
}

func TestSignPublishedVectors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		fields Fields
		secret string
		want   string
	}{
		{"P1", p1(t), "DontTellAnyone", "da0acd2c404945365d0e7ae74ad32d57c561e9b942f6bdb7e3dda49a08fcddf74fe6af6b23b8481b8dc8895c12fc21c72c69d60f137fdf574720363e33d94097"},
		{"P2", kv(t, "merchantID", "100001", "action", "SALE", "type", "1", "currencyCode", "826",
			"countryCode", "826", "amount", "680", "transactionUnique", "5de65b552499e",
			"orderRef", "Test Transaction", "cardNumber", "4929 4212 3460 0821", "cardCVV", "356",
			"cardExpiryDate", "1219", "threeDSRequired", "N", "avscv2CheckRequired", "N", "duplicateDelay", "0"),
			TestSecret, "06b01e06c8fc761943d676d5f3aa2e9264758fed72e7bcb058a2a35cf23e8e45403099537bb0363054d6bc8ea951ce1ad86e582dbf0b435855b9c97507fcf844"},
		{"P3", kv(t, "merchantID", "100001", "action", "SALE", "type", "1", "currencyCode", "826",
			"countryCode", "826", "amount", "680", "transactionUnique", "5de651c7c5379",
			"orderRef", "Test Transaction", "redirectURL", "https://myshop.com"),
			TestSecret, "ba12b0766a3412782448f154be15e8f61eea390387b1b23d4688c82c9f28f81df593de5890426546cca365943cc7b5c4897c9721b663a0e17680e1e796f1ad55"},
		{"P4", p4(t, "SALE", "1001"), "3obzOxdqw6e1u", "1c91239e521d247bf10e61bbe30c96e7e3382623bc14650c93a9e96d6a30096d4e866f8b8df83d538bdae651ae6a41eb303be6e6a5281226dfc605995c3bedc0"},
		{"P7", kv(t, "merchantID", "100001", "action", "SALE", "type", "1", "currencyCode", "826",
			"countryCode", "826", "amount", "680", "transactionUnique", "5de63a42507ac",
			"orderRef", "Test Transaction", "cardNumber", "492942******0821", "cardExpiryDate", "1219", "duplicateDelay", "0"),
			TestSecret, "0384bbf6ca0fc153e1e27a0cfc51f3b1cd1c2cff7a49aa4e9439bba38262183e9ac7d156f218eba1ef8d04f9e6a7fa6fbc9c2b3ab990c70e06dc7c6923e5b27b"},
		{"V1", v1(t), TestSecret, "5c61bb11ea062dfb46241e2d20cf889269a118083c90a8aa542a22345783846d0ae5f7d21e84f7acf72bf95329bcdb096e689f6ac8e54bac4210d1c50d39a170"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Sign(tt.fields, tt.secret); got != tt.want {
				t.Errorf("Sign = %s, want %s", got, tt.want)
			}
			signed := append(tt.fields.Clone(), Field{Name: SignatureField, Value: tt.want})
			if _, err := Verify(signed, tt.secret); err != nil {
				t.Errorf("Verify = %v, want nil", err)
			}
		})
	}
}

func TestSignPrefixVectors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		fields Fields
		secret string
		prefix string
	}{
		{"P4 VERIFY", p4(t, "VERIFY", "0"), "3obzOxdqw6e1u", "3b1f8276"},
		{"P4 PREAUTH", p4(t, "PREAUTH", "101"), "3obzOxdqw6e1u", "a7cfa871"},
		{"P5 plain", kv(t, "a", "one", "b", "two"), "pass", "86cdc"},
		{"P5 literal %0D", kv(t, "a", "one", "b", "New lines! %0D %0D%0A"), "pass", "cf50d"},
		{"P5 symbols", kv(t, "a", "one", "b", `strange "'?& symbols `), "pass", "7c952"},
		{"P5 pound", kv(t, "a", "one", "b", "a £ sign"), "pass", "13637"},
		{"P5 stars", kv(t, "a", "one", "b", "aa ** stars"), "pass", "47a2b1"},
		{"P5 newline", kv(t, "a", "one", "b", "newline \n characater"), "pass", "19582"},
		{"P5 nested", kv(t, "a[aa]", "12", "a[bb]", "13", "a1", "0", "aa", "1", "aZ", "2"), "pass", "4aeaa"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Sign(tt.fields, tt.secret); !strings.HasPrefix(got, tt.prefix) {
				t.Errorf("Sign = %s, want prefix %s", got, tt.prefix)
			}
		})
	}
}

func TestCanonicalProjectVectors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		fields    Fields
		canonical string
		want      string
	}{
		{"V1", v1(t),
			"action=SALE&amount=1001&countryCode=826&currencyCode=826&customerEmail=a%2Bb%40example.com&customerName=Zo%C3%AB+O%27Brien&merchantData=%7B%22order%22%3A42%2C%22note%22%3A%2250%25+off%3B+caf%C3%A9%22%7D&merchantID=100001&orderRef=Order+%2342+%26+co+%2F+test%7E%2A%27%28%29%21&redirectURL=https%3A%2F%2Fshop.example%2Freturn%3Fo%3D42%26x%3Dy&transactionUnique=ord-42-a1b2c3&type=1",
			"5c61bb11ea062dfb46241e2d20cf889269a118083c90a8aa542a22345783846d0ae5f7d21e84f7acf72bf95329bcdb096e689f6ac8e54bac4210d1c50d39a170"},
		{"V2", kv(t, "merchantID", "100001", "action", "SALE", "type", "1", "amount", "1001",
			"currencyCode", "826", "countryCode", "826", "transactionUnique", "ord-43",
			"customerAddress", "Flat 6\r\nPrimrose Rise\r347 Lavender Road\nNorthampton\n\rUK", "customerPostCode", "NN17 8YG"),
			"action=SALE&amount=1001&countryCode=826&currencyCode=826&customerAddress=Flat+6%0APrimrose+Rise%0A347+Lavender+Road%0ANorthampton%0AUK&customerPostCode=NN17+8YG&merchantID=100001&transactionUnique=ord-43&type=1",
			"0124ac6831ba4852d73c388b18f5a88b7214cf585f2cb010b6cfc5998fa121719e09f480d11cc90ad1d8b2081268f8f172c024b87d3656aa3ee5ae49b8093b9f"},
		{"V4", kv(t, "merchantID", "100001", "action", "SALE", "type", "1", "amount", "470",
			"currencyCode", "826", "countryCode", "826",
			"items[0][description]", "Newspaper", "items[0][quantity]", "1", "items[0][amount]", "110",
			"items[1][description]", "Chocolate bar", "items[1][quantity]", "3", "items[1][amount]", "249",
			"threeDSOptions[zeta]", "1", "threeDSOptions[alpha]", "2"),
			"action=SALE&amount=470&countryCode=826&currencyCode=826&items%5B0%5D%5Bdescription%5D=Newspaper&items%5B0%5D%5Bquantity%5D=1&items%5B0%5D%5Bamount%5D=110&items%5B1%5D%5Bdescription%5D=Chocolate+bar&items%5B1%5D%5Bquantity%5D=3&items%5B1%5D%5Bamount%5D=249&merchantID=100001&threeDSOptions%5Bzeta%5D=1&threeDSOptions%5Balpha%5D=2&type=1",
			"f8129ad7793ec6fdda1a6ddee308a575fc30b13a79900a3ffa708102650979be9385245939f794e345a2429512b35ab79176567bd2b27e3ba931ffa0c8627905"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Canonical(tt.fields); got != tt.canonical {
				t.Errorf("Canonical =\n%s\nwant\n%s", got, tt.canonical)
			}
			if got := Sign(tt.fields, TestSecret); got != tt.want {
				t.Errorf("Sign = %s, want %s", got, tt.want)
			}
			// The wire body must keep the original bytes (only the hash input
			// is normalised).
			parsed, err := ParseBody(tt.fields.Encode())
			if err != nil || parsed.String() != tt.fields.String() {
				t.Errorf("ParseBody(Encode()) = %v, %v; want the original fields", parsed, err)
			}
		})
	}
}

func TestSignPartialV3(t *testing.T) {
	t.Parallel()
	const (
		subset = "a039a26365199dc4077dd922a6e4d40f03aa32b1d55863458d25749d63736ac55ed7507455e07f7b5468cc4244e45aab50b716c170b801561fc42339f8e60da2|merchantID,action,amount,currencyCode,transactionUnique,orderRef"
		all    = "efe9aebb6edc69a18371ce4b1a51e3356bfc2b523ff38906e69153c41051967701d5378e99fc4f0f110b0af8102764bdf897eb6211725f9bf5bff43b62021d43|merchantID,action,type,amount,currencyCode,countryCode,transactionUnique,orderRef,redirectURL,submitButtonLabel"
	)
	f := v3(t)
	names := []string{"merchantID", "amount", "currencyCode", "orderRef", "transactionUnique", "action"}
	if got := SignPartial(f, TestSecret, names); got != subset {
		t.Errorf("SignPartial(subset) = %s, want %s", got, subset)
	}
	if got := Canonical(kv(t, "merchantID", "100001", "action", "SALE", "amount", "1001", "currencyCode", "826",
		"transactionUnique", "ord-44", "orderRef", "Partial test")); got != "action=SALE&amount=1001&currencyCode=826&merchantID=100001&orderRef=Partial+test&transactionUnique=ord-44" {
		t.Errorf("Canonical(V3 subset) = %s", got)
	}
	if got := SignPartial(f, TestSecret, nil); got != all {
		t.Errorf("SignPartial(all) = %s, want %s", got, all)
	}
	// A partially signed message verifies, and only the listed fields are
	// returned; an unlisted field may change without breaking it.
	msg := append(f.Clone(), Field{Name: SignatureField, Value: subset})
	msg.Set("submitButtonLabel", "changed")
	signed, err := Verify(msg, TestSecret)
	if err != nil {
		t.Fatalf("Verify(partial) = %v", err)
	}
	if signed.Has("submitButtonLabel") || signed.Has("type") || len(signed) != 6 {
		t.Errorf("Verify(partial) returned %v, want only the 6 listed fields", signed)
	}
	msg.Set("amount", "1002")
	if _, err := Verify(msg, TestSecret); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Verify(partial, listed field changed) = %v, want ErrBadSignature", err)
	}
}

func TestVerifyP6RealResponse(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/p6_response.txt")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseBody(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("ParseBody = %v", err)
	}
	if len(f) != 79 {
		t.Fatalf("parsed %d fields, want 78 plus the signature", len(f))
	}
	signed, err := Verify(f, "pass")
	if err != nil {
		t.Fatalf("Verify(P6) = %v", err)
	}
	res, err := NewResult(signed)
	if err != nil || res.ResponseCode != Code3DSAuthRequired || res.ThreeDS == nil ||
		res.ThreeDS.Request.Get("threeDSMethodData") == "" || res.Outcome != OutcomeThreeDSRequired {
		t.Errorf("NewResult(P6) = %+v, %v; want a 65802 challenge", res, err)
	}
	f.Del("__wafRequestID")
	if _, err := Verify(f, "pass"); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Verify(P6 without __wafRequestID) = %v, want ErrBadSignature", err)
	}
}

func TestVerifyFailures(t *testing.T) {
	t.Parallel()
	good := SignedRequest(p1(t), "DontTellAnyone")
	tampered := good.Clone()
	tampered.Set("amount", "2692")
	badList := good.Clone()
	badList.Set(SignatureField, Sign(p1(t), "DontTellAnyone")+"|")
	for _, tt := range []struct {
		name   string
		fields Fields
		secret string
		want   error
	}{
		{"no secret, signed", good, "", ErrNoSecret},
		{"no secret, unsigned", p1(t), "", ErrNoSecret},
		{"no signature", p1(t), "DontTellAnyone", ErrNoSignature},
		{"empty signature", append(p1(t), Field{Name: SignatureField}), "DontTellAnyone", ErrNoSignature},
		{"tampered", tampered, "DontTellAnyone", ErrBadSignature},
		{"wrong secret", good, "pass", ErrBadSignature},
		{"empty partial list", badList, "DontTellAnyone", ErrBadSignature},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Verify(tt.fields, tt.secret)
			if !errors.Is(err, tt.want) || !errors.Is(err, ErrVerification) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
	upper := good.Clone()
	upper.Set(SignatureField, strings.ToUpper(good.Get(SignatureField)))
	if _, err := Verify(upper, "DontTellAnyone"); err != nil {
		t.Errorf("Verify(uppercase hex) = %v, want nil", err)
	}
}

func TestURLEncodeMatchesPHP(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"a b", "a+b"},
		{"~", "%7E"},
		{"*'()!", "%2A%27%28%29%21"},
		{"-_.", "-_."},
		{"£", "%C2%A3"},
		{"a[b]", "a%5Bb%5D"},
		{"\r\n", "%0D%0A"},
	} {
		if got := URLEncode(tt.in); got != tt.want {
			t.Errorf("URLEncode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
