package cardstream

import (
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// lineEndings matches the encoded line breaks that §3.2 step 4 folds into
// %0A, in one left-to-right pass.
var lineEndings = regexp.MustCompile(`(?i)%0D%0A|%0A%0D|%0D`)

// SignatureField is the name of the field that carries the signature.
const SignatureField = "signature"

// URLEncode encodes s exactly like PHP urlencode: A-Z a-z 0-9 - _ . pass
// through, space becomes '+', every other byte becomes %XX with uppercase
// hex. Go's url.QueryEscape differs only in leaving '~' alone (§3.5).
func URLEncode(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "~", "%7E")
}

// Canonical returns the string that is hashed for a signature (§3.2 steps
// 1–4): the fields without any signature, stably sorted by root name in byte
// order, PHP-urlencoded, joined with '&', line endings normalised to %0A.
func Canonical(fields Fields) string {
	f := make(Fields, 0, len(fields))
	for _, fl := range fields {
		if Root(fl.Name) != SignatureField {
			f = append(f, fl)
		}
	}
	slices.SortStableFunc(f, func(a, b Field) int {
		return strings.Compare(Root(a.Name), Root(b.Name))
	})
	enc := f.Encode()
	if !strings.Contains(enc, "%0D") && !strings.Contains(enc, "%0d") {
		return enc // no carriage return to fold (the usual case): skip the regexp
	}
	return lineEndings.ReplaceAllString(enc, "%0A")
}

// hash returns lowercase hex SHA-512 of canonical + secret. It is not an
// HMAC: the secret is a plain suffix (§3.2 steps 5–6).
func hash(canonical, secret string) string {
	sum := sha512.Sum512([]byte(canonical + secret))
	return hex.EncodeToString(sum[:])
}

// Sign returns the full signature of fields: 128 lowercase hex characters.
// Any signature field already present is ignored.
func Sign(fields Fields, secret string) string {
	return hash(Canonical(fields), secret)
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
	return hash(Canonical(kept), secret) + "|" + strings.Join(listed, ",")
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
	want := hash(Canonical(signed), secret)
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(hexPart)), []byte(want)) != 1 {
		return nil, ErrBadSignature
	}
	return signed, nil
}

// signedSubset returns the fields a signature value covers.
func signedSubset(fields Fields, sig string) (Fields, error) {
	var all Fields
	for _, fl := range fields {
		if Root(fl.Name) != SignatureField {
			all = append(all, fl)
		}
	}
	_, list, partial := strings.Cut(sig, "|")
	if !partial {
		return all, nil
	}
	names := strings.Split(list, ",")
	if list == "" || slices.Contains(names, "") {
		return nil, fmt.Errorf("%w: empty name in partial signature list", ErrBadSignature)
	}
	var out Fields
	for _, fl := range all {
		if slices.Contains(names, Root(fl.Name)) {
			out = append(out, fl)
		}
	}
	return out, nil
}

// SignedRequest returns a copy of fields with a full signature appended as
// the last field (replacing any earlier signature).
func SignedRequest(fields Fields, secret string) Fields {
	out := fields.Clone()
	out.DelRoot(SignatureField)
	return append(out, Field{Name: SignatureField, Value: Sign(out, secret)})
}
