package cardstream

import "testing"

// benchFields is a typical Direct SALE request as the payments code sends
// it: about twenty fields, some needing escapes.
func benchFields() Fields {
	return Fields{
		{"merchantID", "100856"}, {"action", "SALE"}, {"type", "1"}, {"currencyCode", "826"}, {"countryCode", "826"},
		{"amount", "1000"}, {"transactionUnique", "pi_3QxYzAbCdEfGhIjKlMnOpQrS-1"}, {"orderRef", "Order #42 & co / test"},
		{"cardNumber", "4929421234600821"}, {"cardExpiryMonth", "12"}, {"cardExpiryYear", "28"}, {"cardCVV", "356"},
		{"customerName", "Zoë O'Brien"}, {"customerEmail", "a+b@example.com"}, {"customerAddress", "16 Test Street\r\nTest Town"},
		{"customerPostCode", "TE15 5ST"}, {"duplicateDelay", "0"}, {"threeDSRequired", "N"},
		{"remoteAddress", "127.0.0.1"}, {"merchantData", "calmony"},
	}
}

func BenchmarkSign(b *testing.B) {
	f := benchFields()
	b.ReportAllocs()
	for b.Loop() {
		Sign(f, "Circle4Take40Idea")
	}
}

func BenchmarkVerify(b *testing.B) {
	f := SignedRequest(benchFields(), "Circle4Take40Idea")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(f, "Circle4Take40Idea"); err != nil {
			b.Fatal(err)
		}
	}
}

// benchResponse is a typical signed Direct SALE response: about forty
// fields, the request echoed without card data plus the gateway's.
func benchResponse() Fields {
	f := benchFields()
	f.Del("cardNumber")
	f.Del("cardCVV")
	f = append(f, Fields{
		{"responseCode", "0"}, {"responseMessage", "AUTHCODE:123456"}, {"responseStatus", "0"},
		{"xref", "26112619ABCDEFGHJKLMNPQ"}, {"transactionID", "1234567"}, {"state", "captured"},
		{"cardNumberMask", "492942******0821"}, {"cardTypeCode", "VC"}, {"cardType", "Visa Credit"},
		{"cardSchemeCode", "VC"}, {"cardScheme", "Visa"}, {"cardIssuer", "Unknown"},
		{"cardIssuerCountry", "United Kingdom"}, {"cardIssuerCountryCode", "GBR"},
		{"authorisationCode", "123456"}, {"amountReceived", "1000"}, {"currencyExponent", "2"},
		{"vcsResponseCode", "0"}, {"vcsResponseMessage", "Success - no velocity check rules applied"},
		{"avscv2ResponseCode", "222200"}, {"avscv2ResponseMessage", "ALL MATCH"}, {"cv2Check", "matched"},
		{"timestamp", "2026-11-26 19:45:41"},
	}...)
	return SignedRequest(f, "Circle4Take40Idea")
}

func BenchmarkParseBody(b *testing.B) {
	body := benchResponse().Encode()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseBody(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	f := benchResponse()
	b.ReportAllocs()
	for b.Loop() {
		_ = f.Encode()
	}
}
