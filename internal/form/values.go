package form

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Values is a decoded parameter tree. Leaves are strings (an empty string
// means "unset"), objects are map[string]any, arrays are []any (JSON arrays
// and "[]" appends), and a form body's numeric keys (a[0], metadata[7]) are
// Indexed, which readers take as an array or a map.
type Values map[string]any

// Canonical returns a deterministic serialization of v for comparing
// parameter sets, as idempotency keys require: object keys are sorted, so
// the order the fields were sent in does not matter, while values and
// array order do. Different trees always serialize differently, and a JSON
// body and the equivalent form body serialize the same. The format is
// JSON-like but not JSON; only hash or compare it.
func (v Values) Canonical() []byte {
	return appendCanonical(nil, map[string]any(v))
}

// appendCanonical appends the canonical form of x to b.
func appendCanonical(b []byte, x any) []byte {
	switch x := x.(type) {
	case string:
		return strconv.AppendQuote(b, x)
	case map[string]any:
		b = append(b, '{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, k)
			b = append(b, ':')
			b = appendCanonical(b, x[k])
		}
		return append(b, '}')
	case Values:
		return appendCanonical(b, map[string]any(x))
	case Indexed:
		if x.dense() { // items[0][price]=p reads as the JSON array it equals
			return appendCanonical(b, x.array())
		}
		// Keyed, not compacted: metadata[5]=x and metadata[0]=x differ.
		return appendCanonical(append(b, '#'), map[string]any(x))
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCanonical(b, e)
		}
		return append(b, ']')
	default:
		// Not produced by the decoders; tagged so it cannot pass for a string.
		return strconv.AppendQuote(append(b, '!'), fmt.Sprintf("%T:%v", x, x))
	}
}

// Encode serializes v as a form body with indexed bracket keys and sorted
// object keys (items[0][price]=x&metadata[k]=v), brackets unescaped as the
// Stripe SDKs send them. ParseQuery(Encode(v)) has the Canonical form of v
// for every tree ParseQuery returns. Empty objects and arrays have no form
// encoding and are left out; keys containing brackets, which only a JSON
// body can carry, do not survive the round trip.
func Encode(v Values) string {
	var b strings.Builder
	for _, k := range sortedKeys(v) {
		encodeValue(&b, url.QueryEscape(k), v[k])
	}
	return b.String()
}

// encodeValue writes x under the already-escaped key prefix.
func encodeValue(b *strings.Builder, prefix string, x any) {
	switch x := x.(type) {
	case string:
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(prefix)
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(x))
	case map[string]any:
		for _, k := range sortedKeys(x) {
			encodeValue(b, prefix+"["+url.QueryEscape(k)+"]", x[k])
		}
	case []any:
		for i, e := range x {
			encodeValue(b, prefix+"["+strconv.Itoa(i)+"]", e)
		}
	case Indexed:
		for _, k := range sortedKeys(x) {
			encodeValue(b, prefix+"["+k+"]", x[k])
		}
	}
}

// sortedKeys returns the keys of m in increasing order.
func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
