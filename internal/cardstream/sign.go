package cardstream

import (
	"bytes"
	"cmp"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// SignatureField is the name of the field that carries the signature.
const SignatureField = "signature"

// URLEncode encodes s exactly like PHP urlencode: A-Z a-z 0-9 - _ . pass
// through, space becomes '+', every other byte becomes %XX with uppercase
// hex. Go's url.QueryEscape differs only in leaving '~' alone (§3.5).
func URLEncode(s string) string {
	return string(appendURLEncoded(make([]byte, 0, encodedLen(s)), s))
}

// phpSafeBytes[c] reports whether PHP urlencode passes c through
// unchanged. A table is faster than the comparisons on the hot path.
var phpSafeBytes = func() (t [256]bool) {
	for c := range t {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
	}
	return t
}()

func phpSafe(c byte) bool { return phpSafeBytes[c] }

// encodedLen returns len(URLEncode(s)).
func encodedLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if c := s[i]; !phpSafe(c) && c != ' ' {
			n += 2
		}
	}
	return n
}

// appendURLEncoded appends URLEncode(s) to b.
func appendURLEncoded(b []byte, s string) []byte {
	const upperHex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case phpSafe(c):
			b = append(b, c)
		case c == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', upperHex[c>>4], upperHex[c&0xf])
		}
	}
	return b
}

// Canonical returns the string that is hashed for a signature (§3.2 steps
// 1–4): the fields without any signature, stably sorted by root name in byte
// order, PHP-urlencoded, joined with '&', line endings normalised to %0A.
func Canonical(fields Fields) string {
	return string(foldLineEndings(signingOrder(fields).appendEncoded(nil)))
}

// signingOrder returns a copy of fields without any signature, stably
// sorted by root name in byte order (§3.2 steps 1–2).
func signingOrder(fields Fields) Fields {
	f := make(Fields, 0, len(fields))
	for _, fl := range fields {
		if Root(fl.Name) != SignatureField {
			f = append(f, fl)
		}
	}
	slices.SortStableFunc(f, func(a, b Field) int { return compareRoots(a.Name, b.Name) })
	return f
}

// compareRoots is strings.Compare(Root(a), Root(b)), without looking for
// the '[' of either name first: it stops at the first difference.
func compareRoots(a, b string) int {
	for i := 0; ; i++ {
		endA, endB := i == len(a) || a[i] == '[', i == len(b) || b[i] == '['
		switch {
		case endA && endB:
			return 0
		case endA:
			return -1
		case endB:
			return 1
		case a[i] != b[i]:
			return cmp.Compare(a[i], b[i])
		}
	}
}

// foldLineEndings normalises the encoded line breaks in enc as §3.2 step 4
// does with the regexp (?i)%0D%0A|%0A%0D|%0D: in one left-to-right pass,
// each match becomes %0A. It works in place, as the result is never
// longer, and returns the shortened enc.
func foldLineEndings(enc []byte) []byte {
	if !bytes.Contains(enc, []byte("%0D")) && !bytes.Contains(enc, []byte("%0d")) {
		return enc // no carriage return, the usual case
	}
	out := enc[:0]
	for rest := enc; len(rest) > 0; {
		i := bytes.IndexByte(rest, '%') // every match starts with '%'
		if i < 0 {
			return append(out, rest...)
		}
		out, rest = append(out, rest[:i]...), rest[i:]
		switch {
		case hasPrefixFold(rest, "%0D%0A"), hasPrefixFold(rest, "%0A%0D"):
			out, rest = append(out, "%0A"...), rest[6:]
		case hasPrefixFold(rest, "%0D"):
			out, rest = append(out, "%0A"...), rest[3:]
		default:
			out, rest = append(out, '%'), rest[1:]
		}
	}
	return out
}

// hasPrefixFold reports whether b begins with prefix, ignoring ASCII case.
func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix))
}

// signature returns the lowercase hex SHA-512 of the canonical string of
// fields followed by secret. It is not an HMAC: the secret is a plain
// suffix (§3.2 steps 5–6). Both are written into one buffer, sized once.
func signature(fields Fields, secret string) [2 * sha512.Size]byte {
	f := signingOrder(fields)
	b := foldLineEndings(f.appendEncoded(make([]byte, 0, f.encodedLen()+len(secret))))
	sum := sha512.Sum512(append(b, secret...))
	var out [2 * sha512.Size]byte
	hex.Encode(out[:], sum[:])
	return out
}

// Sign returns the full signature of fields: 128 lowercase hex characters.
// Any signature field already present is ignored.
func Sign(fields Fields, secret string) string {
	sig := signature(fields, secret)
	return string(sig[:])
}

// SignPartial returns a partial signature "<hex>|name1,name2,…" over the
// top-level fields named in names (§3.2 step 7). The kept fields and the
// suffix follow the order of fields, not of names. A nil names signs every
// field and lists them all, like the PHP SDK's hostedRequest.
func SignPartial(fields Fields, secret string, names []string) string {
	var kept Fields
	var listed []string
	for _, fl := range fields {
		root := Root(fl.Name)
		if root == SignatureField || (names != nil && !slices.Contains(names, root)) {
			continue
		}
		kept = append(kept, fl)
		if !slices.Contains(listed, root) {
			listed = append(listed, root)
		}
	}
	sig := signature(kept, secret)
	return string(sig[:]) + "|" + strings.Join(listed, ",")
}

// Verify checks the signature field of a received message (§3.3) and
// returns the fields the signature covers, without the signature itself.
// For a full signature that is every other field; for a partial signature
// "<hex>|a,b" only the listed fields. Callers must use only the returned
// fields. The error wraps ErrNoSecret, ErrNoSignature or ErrBadSignature,
// all of which match ErrVerification. An empty secret always fails: this
// package never accepts an unsigned message.
func Verify(fields Fields, secret string) (Fields, error) {
	got, present := fields.Lookup(SignatureField)
	switch {
	case secret == "" && present:
		return nil, ErrNoSecret
	case secret == "":
		return nil, fmt.Errorf("%w (and the message is unsigned)", ErrNoSecret)
	case !present || got == "":
		return nil, ErrNoSignature
	}
	signed, err := signedSubset(fields, got)
	if err != nil {
		return nil, err
	}
	hexPart, _, _ := strings.Cut(got, "|")
	hexPart = strings.ToLower(hexPart)
	want := signature(signed, secret)
	// Compare in constant time; the copy into an array of the expected
	// size saves allocating a []byte for the received hex.
	var recv [len(want)]byte
	if len(hexPart) != len(recv) || subtle.ConstantTimeCompare(append(recv[:0], hexPart...), want[:]) != 1 {
		return nil, ErrBadSignature
	}
	return signed, nil
}

// signedSubset returns the fields a signature value covers, in their
// order: every field but the signature, or for a partial signature only
// the listed ones. It is nil when there are none.
func signedSubset(fields Fields, sig string) (Fields, error) {
	_, list, partial := strings.Cut(sig, "|")
	var names []string
	if partial {
		names = strings.Split(list, ",")
		if list == "" || slices.Contains(names, "") {
			return nil, fmt.Errorf("%w: empty name in partial signature list", ErrBadSignature)
		}
	}
	out := make(Fields, 0, len(fields))
	for _, fl := range fields {
		root := Root(fl.Name)
		if root != SignatureField && (!partial || slices.Contains(names, root)) {
			out = append(out, fl)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// SignedRequest returns a copy of fields with a full signature appended as
// the last field (replacing any earlier signature).
func SignedRequest(fields Fields, secret string) Fields {
	out := make(Fields, 0, len(fields)+1)
	for _, fl := range fields {
		if Root(fl.Name) != SignatureField {
			out = append(out, fl)
		}
	}
	return append(out, Field{Name: SignatureField, Value: Sign(out, secret)})
}
