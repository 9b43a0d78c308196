package middleware

import (
	"errors"
	"strings"
	"testing"
)

func TestParseOriginValid(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"https://shop.example.com", "https://shop.example.com"},
		{"https://SHOP.Example.COM", "https://shop.example.com"},
		{"HTTPS://shop.example.com", "https://shop.example.com"},
		{"https://shop.example.com:443", "https://shop.example.com"},
		{"http://shop.example.com:80", "http://shop.example.com"},
		{"https://shop.example.com:80", "https://shop.example.com:80"},
		{"http://shop.example.com:443", "http://shop.example.com:443"},
		{"https://shop.example.com:8443", "https://shop.example.com:8443"},
		{"http://localhost:3000", "http://localhost:3000"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"http://[::1]:3000", "http://[::1]:3000"},
		{"http://[0:0:0:0:0:0:0:1]", "http://[::1]"},
		{"https://xn--bcher-kva.example", "https://xn--bcher-kva.example"},
		{"https://my_shop.example.com", "https://my_shop.example.com"},
		{"https://123.example.com", "https://123.example.com"},
	} {
		got, err := ParseOrigin(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseOrigin(%q) = %q, %v, want %q, nil", tt.in, got, err, tt.want)
		}
	}
}

func TestParseOriginInvalid(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"",
		"null",
		"*",
		"https://*",
		"https://*.example.com",
		"shop.example.com",
		"//shop.example.com",
		"https:shop.example.com",
		"ftp://shop.example.com",
		"file://shop.example.com",
		"javascript://shop.example.com",
		"https://",
		"https://:443",
		"https://shop.example.com/",
		"https://shop.example.com/path",
		"https://shop.example.com?",
		"https://shop.example.com?q=1",
		"https://shop.example.com#",
		"https://shop.example.com#frag",
		"https://user@shop.example.com",
		"https://user:pass@shop.example.com",
		"https://shop.example.com@evil.net",
		"https://shop.example.com\\@evil.net",
		"https://shop.example.com.",
		"https://.shop.example.com",
		"https://shop..example.com",
		"https://shop.example.com:",
		"https://shop.example.com:0",
		"https://shop.example.com:0443",
		"https://shop.example.com:+443",
		"https://shop.example.com:65536",
		"https://shop.example.com:99999999999999999999",
		"https://shop.example.com:443:443",
		"https://shop.example.com:https",
		"https://shop example.com",
		" https://shop.example.com",
		"https://shop.example.com ",
		"https://shop.example.com\n",
		"https://shop.example.com\x00",
		"https://shöp.example.com",
		"https://shop.example.com\u3002evil.net",
		"https://ｓｈｏｐ.example.com",
		"https://shop%2eexample.com",
		"https://0x7f.0.0.1",
		"https://127.1",
		"https://2130706433",
		"https://127.000.000.001",
		"https://example.123",
		"https://example.0x1f",
		"http://[::1",
		"http://[::1]x",
		"http://[::ffff:127.0.0.1]",
		"http://[fe80::1%25eth0]",
		"http://[127.0.0.1]",
		"http://::1",
		"https://" + strings.Repeat("a", 64) + ".example.com",
		"https://" + strings.Repeat("a.", 150) + "com",
	} {
		got, err := ParseOrigin(in)
		if err == nil {
			t.Errorf("ParseOrigin(%q) = %q, nil, want error", in, got)
			continue
		}
		if !errors.Is(err, ErrInvalidOrigin) {
			t.Errorf("ParseOrigin(%q) error %v does not wrap ErrInvalidOrigin", in, err)
		}
	}
}

func TestParseOriginIdempotent(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"HTTPS://Shop.Example.com:443", "http://[0::1]:8080", "http://LOCALHOST"} {
		once, err := ParseOrigin(in)
		if err != nil {
			t.Fatalf("ParseOrigin(%q): %v", in, err)
		}
		twice, err := ParseOrigin(once)
		if err != nil || twice != once {
			t.Errorf("ParseOrigin(%q) = %q, %v, want %q, nil", once, twice, err, once)
		}
	}
}

func FuzzParseOrigin(f *testing.F) {
	for _, s := range []string{"https://shop.example.com", "http://[::1]:3000", "null", "https://a.b:443"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		norm, err := ParseOrigin(s)
		if err != nil {
			return
		}
		again, err := ParseOrigin(norm)
		if err != nil || again != norm {
			t.Errorf("ParseOrigin(%q) = %q, %v; not a fixed point of %q", norm, again, err, s)
		}
		scheme, hostport, _ := strings.Cut(norm, "://")
		if scheme != "http" && scheme != "https" || strings.ContainsAny(hostport, "/?#@*\\%") {
			t.Errorf("ParseOrigin(%q) = %q, want scheme://host[:port]", s, norm)
		}
	})
}

// TestParseOriginSaysWhatIsWrong: a pasted URL is refused for its path,
// query or fragment, not blamed on its host.
func TestParseOriginSaysWhatIsWrong(t *testing.T) {
	for in, want := range map[string]string{
		"https://shop.example.com/":      "remove the trailing slash",
		"https://shop.example.com/cart":  "with no path",
		"https://shop.example.com?a=1":   "with no query",
		"https://shop.example.com:8443#": "with no fragment",
	} {
		if _, err := ParseOrigin(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseOrigin(%q) = %v, want an error saying %q", in, err, want)
		}
	}
}
