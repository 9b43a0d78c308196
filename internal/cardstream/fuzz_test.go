package cardstream

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// fieldsFromFuzz turns a fuzz string into fields: lines are fields,
// "name=value" with '\x1f' standing in for newlines in values.
func fieldsFromFuzz(spec string) Fields {
	var f Fields
	for line := range strings.SplitSeq(spec, "\n") {
		name, value, _ := strings.Cut(line, "=")
		if Root(name) == SignatureField {
			name = "x" + name
		}
		f = append(f, Field{Name: name, Value: strings.ReplaceAll(value, "\x1f", "\n")})
	}
	return f
}

func FuzzSignVerify(f *testing.F) {
	f.Add("merchantID=100001\naction=SALE\namount=1001\norderRef=Order #42 & co ~*'()!", "Circle4Take40Idea", uint16(3), uint16(2), byte(1))
	f.Add("a[aa]=12\na[bb]=13\na1=0\naa=1\naZ=2", "pass", uint16(0), uint16(0), byte(0x20))
	f.Add("customerAddress=Flat 6\r\x1fPrimrose\rRise", "s", uint16(0), uint16(6), byte('\r'^'\n'))
	f.Add("b=New lines! %0D %0D%0A\n=\n[x]=y", "", uint16(1), uint16(1), byte(0xff))
	f.Fuzz(func(t *testing.T, spec, secret string, which, pos uint16, flip byte) {
		if secret == "" {
			secret = "k"
		}
		fields := fieldsFromFuzz(spec)
		msg := SignedRequest(fields, secret)
		signed, err := Verify(msg, secret)
		if err != nil {
			t.Fatalf("Verify(Sign(f)) = %v", err)
		}
		if len(signed) != len(fields) {
			t.Fatalf("Verify returned %d fields, want %d", len(signed), len(fields))
		}
		partial := append(fields.Clone(), Field{Name: SignatureField, Value: SignPartial(fields, secret, nil)})
		if _, err := Verify(partial, secret); err != nil && listable(fields) {
			t.Fatalf("Verify(SignPartial(f, nil)) = %v", err)
		}
		checkTamper(t, fields, secret, which, pos, flip)
	})
}

// checkTamper flips bits of one value byte. Verification must then fail,
// unless the flip only swapped CR and LF, which the canonical form folds
// together on purpose (§3.2 step 4).
func checkTamper(t *testing.T, fields Fields, secret string, which, pos uint16, flip byte) {
	t.Helper()
	if flip == 0 || len(fields) == 0 {
		return
	}
	i := int(which) % len(fields)
	v := []byte(fields[i].Value)
	if len(v) == 0 {
		return
	}
	p := int(pos) % len(v)
	orig := v[p]
	v[p] ^= flip
	msg := SignedRequest(fields, secret)
	msg[i].Value = string(v)
	_, err := Verify(msg, secret)
	sameCanonical := Canonical(msg) == Canonical(fields)
	switch {
	case sameCanonical && err != nil:
		t.Fatalf("tamper left canonical form unchanged but Verify = %v", err)
	case sameCanonical && !(isEOL(orig) && isEOL(v[p])):
		t.Fatalf("tamper %q→%q did not change the canonical form", orig, v[p])
	case !sameCanonical && !errors.Is(err, ErrBadSignature):
		t.Fatalf("tampered value verified: Verify = %v", err)
	}
}

// listable reports whether every root name can appear in a partial
// signature's comma-separated list.
func listable(f Fields) bool {
	for _, fl := range f {
		if r := Root(fl.Name); r == "" || strings.ContainsAny(r, ",|") {
			return false
		}
	}
	return true
}

func isEOL(b byte) bool { return b == '\r' || b == '\n' }

func FuzzParseBody(f *testing.F) {
	for _, seed := range []string{
		"a=1&b=2", "a[x]=1&a[]=2&a[x][y]=3", "a[b.c=1&%5B=2", "a[-9223372036854775808]=1&a[]=2",
		"a[9223372036854775807]=1&a[]=2&a[]=3", "++a+b.c[d e][]=%ZZ%00&=&&", "x" + strings.Repeat("[", 70) + "=1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got, err := ParseBody(body)
		if err != nil {
			if !errors.Is(err, ErrUnparsable) {
				t.Fatalf("ParseBody error %v does not wrap ErrUnparsable", err)
			}
			return
		}
		again, err := ParseBody(got.Encode())
		if err != nil {
			t.Fatalf("ParseBody(Encode(parsed)) = %v", err)
		}
		if !equalFields(got, again) {
			t.Fatalf("re-parse changed fields:\n%q\n%q", got, again)
		}
	})
}

func equalFields(a, b Fields) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !bytes.Equal([]byte(a[i].Value), []byte(b[i].Value)) {
			return false
		}
	}
	return true
}
