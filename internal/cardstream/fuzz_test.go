package cardstream

import (
	"bytes"
	"errors"
	"net/url"
	"regexp"
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

// FuzzParseFlat checks that ParseBody's fast path for bodies without '['
// in their names gives exactly what the general parser gives.
func FuzzParseFlat(f *testing.F) {
	for _, seed := range flatPathBodies() {
		f.Add(seed)
	}
	f.Fuzz(checkFlatMatchesTree)
}

// FuzzURLEncode checks the encoder against its definition: Go's
// url.QueryEscape with '~' escaped too (§3.5).
func FuzzURLEncode(f *testing.F) {
	for _, seed := range []string{"", "a b", "~*'()!-_.", "£ é \x00\xff", "\r\n%0D", "a[b]=c&d"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := strings.ReplaceAll(url.QueryEscape(s), "~", "%7E")
		if got := URLEncode(s); got != want {
			t.Fatalf("URLEncode(%q) = %q, want %q", s, got, want)
		}
		if n := encodedLen(s); n != len(want) {
			t.Fatalf("encodedLen(%q) = %d, want %d", s, n, len(want))
		}
	})
}

// FuzzFoldLineEndings checks foldLineEndings against the regexp §3.2 step 4
// describes, on any input, not only encoder output.
func FuzzFoldLineEndings(f *testing.F) {
	for _, seed := range []string{"", "%0D", "%0d%0a", "%0A%0D%0A", "%0D%0D%0A", "a%0Ab%0Dc%0D%0Ad%0A%0De", "%%0D0A", "%0D%0", "%0a%0d"} {
		f.Add(seed)
	}
	lineEndings := regexp.MustCompile(`(?i)%0D%0A|%0A%0D|%0D`)
	f.Fuzz(func(t *testing.T, s string) {
		want := lineEndings.ReplaceAllString(s, "%0A")
		if got := string(foldLineEndings([]byte(s))); got != want {
			t.Fatalf("foldLineEndings(%q) = %q, want %q", s, got, want)
		}
	})
}

func FuzzCompareRoots(f *testing.F) {
	for _, seed := range [][2]string{{"", ""}, {"a", "a[b]"}, {"a[", "a"}, {"ab", "a[b]"}, {"a[x]", "a[y]"}, {"[", ""}, {"\xff", "a"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if got, want := compareRoots(a, b), strings.Compare(Root(a), Root(b)); got != want {
			t.Fatalf("compareRoots(%q, %q) = %d, want %d", a, b, got, want)
		}
	})
}

// urldecodeReference is PHP urldecode as ParseBody decoded each string
// before decoder shared one buffer.
func urldecodeReference(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// FuzzDecoder checks that strings decoded into a decoder's shared buffer
// are right and stay right as more are decoded, also beyond the room the
// buffer was made with (body is not always where they come from).
func FuzzDecoder(f *testing.F) {
	f.Add("a+b%41%4", "%%41%ZZ+", "plain", "a=%41&b+c=d")
	f.Fuzz(func(t *testing.T, a, b, c, body string) {
		d := decoder{body: body}
		in := []string{a, b, c}
		var out []string
		for _, s := range in {
			out = append(out, d.decode(s))
		}
		for i, s := range in {
			if want := urldecodeReference(s); out[i] != want {
				t.Fatalf("decode(%q) = %q, want %q", s, out[i], want)
			}
		}
	})
}

func FuzzUnderscore(f *testing.F) {
	for _, seed := range []string{"", "a.b c", "a[b", "\xff.", "é", "\uFFFD", "\xef\xbf\xbd.", "plain"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, chars := range []string{" .", " .["} {
			want := strings.Map(func(r rune) rune {
				if strings.ContainsRune(chars, r) {
					return '_'
				}
				return r
			}, s)
			if got := underscore(s, chars); got != want {
				t.Fatalf("underscore(%q, %q) = %q, want %q", s, chars, got, want)
			}
		}
	})
}
