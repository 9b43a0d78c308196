package sandbox

import (
	"encoding/binary"

	cs "github.com/calmony/calmonypay/internal/cardstream"
)

// A stored transaction keeps its request fields (the ones the gateway
// stores, §2) packed into one string rather than as a cs.Fields: one
// allocation instead of two strings and a slice entry per field, and no
// pointers into the request body it was parsed from (which a substring
// would keep alive whole, card number, CVV and signature included).
//
// The encoding is exact for any name and value, so QUERY answers are the
// same bytes as before: each field is its name, written as one byte (the
// index in commonNames plus one) or as 0, a uvarint length and the bytes,
// followed by the value's uvarint length and bytes. The wire's own form
// encoding was not used because reparsing it is not exact (PHP-style
// parsing merges records and caps the field count).

// commonNames are the stored names most requests carry; they pack into a
// single byte. The order is part of the encoding of live transactions
// only, so it may change between builds.
func commonNames() [24]string {
	return [...]string{
		"type", "amount", "currencyCode", "countryCode", "transactionUnique", "orderRef", "orderDate",
		"merchantData", "rtAgreementType", "initiator", "captureDelay", "avscv2CheckRequired", "cv2CheckPref",
		"addressCheckPref", "postcodeCheckPref", "threeDSCheckPref", "remoteAddress", "redirectURL",
		"callbackURL", "authorisationCode", "customerName", "customerAddress", "customerPostcode", "customerEmail",
	}
}

// packFields encodes f as described above.
func packFields(f cs.Fields) string {
	size := 0
	for _, fl := range f {
		size += len(fl.Name) + len(fl.Value) + 4
	}
	b := make([]byte, 0, size)
	names := commonNames()
	for _, fl := range f {
		code := 0
		for i, name := range names {
			if name == fl.Name {
				code = i + 1
				break
			}
		}
		b = append(b, byte(code))
		if code == 0 {
			b = appendString(b, fl.Name)
		}
		b = appendString(b, fl.Value)
	}
	return string(b)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// unpackFields decodes a packFields string into a slice with room for
// extra more fields. The names and values share the packed string's memory.
func unpackFields(p string, extra int) cs.Fields {
	f := make(cs.Fields, 0, packedLen(p)+extra)
	names := commonNames()
	for len(p) > 0 {
		var fl cs.Field
		code := int(p[0])
		p = p[1:]
		if code == 0 {
			fl.Name, p = cutString(p)
		} else {
			fl.Name = names[code-1]
		}
		fl.Value, p = cutString(p)
		f = append(f, fl)
	}
	return f
}

// packedLen returns the number of fields in a packFields string.
func packedLen(p string) int {
	n := 0
	for ; len(p) > 0; n++ {
		code := p[0]
		p = p[1:]
		if code == 0 {
			_, p = cutString(p)
		}
		_, p = cutString(p)
	}
	return n
}

// cutString reads one length-prefixed string from p and returns it and
// the rest. p is always packFields output, so the length is valid.
func cutString(p string) (s, rest string) {
	n, w := binary.Uvarint([]byte(p[:min(len(p), binary.MaxVarintLen64)]))
	p = p[w:]
	return p[:n], p[n:]
}
