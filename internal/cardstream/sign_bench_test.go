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
