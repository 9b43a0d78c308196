package safeurl_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/safeurl"
)

// Tests here never dial anything but loopback: addresses are judged by
// Check, Public and Control without connecting.

// privateOK lists the URLs and addresses of the tests' tables that
// AllowPrivate permits beyond what AllowLocalhost does.
var privateOK = map[string]bool{
	"https://intranet/":               true,
	"https://printer.local/":          true,
	"https://router.home.arpa/":       true,
	"https://1.0.0.127.in-addr.arpa/": true,
	"https://box.localdomain/":        true,
	// Names are judged by the address they resolve to, at dial time: this
	// one resolves to 169.254.169.254, which the dialer refuses.
	"https://metadata.google.internal/computeMetadata/v1/": true,
	"http://app:3000/webhook":                              true,
	"http://host.docker.internal:3000/":                    true,
	"https://10.0.0.1/":                                    true,
	"http://10.0.0.1:3000/":                                true,
	"https://172.16.0.1/":                                  true,
	"https://172.31.255.255/":                              true,
	"https://192.168.1.1/":                                 true,
	"https://[::ffff:10.0.0.1]/":                           true,
	"https://[fc00::1]/":                                   true,
	"https://[fd12:3456:789a::1]/":                         true,
	"10.0.0.5:443":                                         true,
	"[fd00::1]:443":                                        true,
	"[::ffff:10.0.0.1]:443":                                true,
}

func TestCheck(t *testing.T) {
	t.Parallel()
	strict := safeurl.Options{}
	dev := safeurl.Options{AllowLocalhost: true}
	private := safeurl.Options{AllowPrivate: true}
	for _, tt := range []struct {
		url         string
		okStrict    bool
		okLocalhost bool
	}{
		// Public https URLs pass under both.
		{"https://example.com/webhook", true, true},
		{"https://hooks.shop.example.co.uk:8443/a/b?c=d#frag", true, true},
		{"https://EXAMPLE.com./hook", true, true}, // case and one trailing dot
		{"HTTPS://example.com/", true, true},
		{"https://xn--bcher-kva.example/", true, true},
		{"https://8.8.8.8/hook", true, true},                // a public address
		{"https://[2606:4700:4700::1111]/hook", true, true}, // a public IPv6 address
		{"https://under_score.example.com/", true, true},

		// Scheme.
		{"http://example.com/webhook", false, false},
		{"ftp://example.com/", false, false},
		{"javascript:alert(1)", false, false},
		{"file:///etc/passwd", false, false},
		{"gopher://example.com/", false, false},

		// Not absolute, or malformed.
		{"", false, false},
		{"/webhook", false, false},
		{"example.com/webhook", false, false},
		{"//example.com/webhook", false, false},
		{"https://", false, false},
		{"https:///path", false, false},
		{"https://example.com:0/", false, false},
		{"https://example.com:99999/", false, false},
		{"https://example.com:abc/", false, false},
		{"https://exa mple.com/", false, false},
		{"https://example.com/\n", false, false},
		{"https://example.com\\@127.0.0.1/", false, false},
		{"https://example..com/", false, false},
		{"https://-example.com/", false, false},
		{"https://example.com../", false, false},
		{"https://bücher.example/", false, false},
		{"https://" + strings.Repeat("a", 64) + ".com/", false, false},
		{"https://example.com/" + strings.Repeat("a", safeurl.MaxLength), false, false},

		// User info.
		{"https://user:pass@example.com/", false, false},
		{"https://user@example.com/", false, false},
		{"https://example.com@127.0.0.1/", false, false},

		// localhost names.
		{"https://localhost/", false, true},
		{"http://localhost:3000/webhook", false, true},
		{"http://LOCALHOST./webhook", false, true},
		{"http://app.localhost:3000/", false, true},
		{"http://%6c%6fcalhost/", false, false}, // percent-encoded host: refused by the parser
		{"https://localhost.example.com/", true, true},

		// Internal names.
		{"https://intranet/", false, false},
		{"https://printer.local/", false, false},
		{"https://metadata.google.internal/computeMetadata/v1/", false, false},
		{"https://router.home.arpa/", false, false},
		{"https://1.0.0.127.in-addr.arpa/", false, false},
		{"https://box.localdomain/", false, false},
		{"http://app:3000/webhook", false, false},
		{"http://host.docker.internal:3000/", false, false},

		// Loopback, in every form.
		{"https://127.0.0.1/", false, true},
		{"http://127.0.0.1:8080/", false, true},
		{"http://127.0.0.1./", false, true},
		{"https://127.1.2.3/", false, true},
		{"https://[::1]/", false, true},
		{"http://[::1]:3000/", false, true},
		{"https://[::ffff:127.0.0.1]/", false, true},
		{"https://[0:0:0:0:0:ffff:7f00:1]/", false, true},
		{"https://2130706433/", false, false},   // decimal
		{"https://0177.0.0.1/", false, false},   // octal
		{"https://0x7f.1/", false, false},       // hex, short
		{"https://0x7f000001/", false, false},   // hex
		{"https://127.1/", false, false},        // short
		{"https://127.0.1/", false, false},      // short
		{"https://017700000001/", false, false}, // octal, whole
		{"https://0/", false, false},
		{"https://0x/", false, false},
		{"https://256.0.0.1/", false, false},
		{"https://1.2.3.4.5/", false, false},

		// Private, link-local, shared, reserved (IPv4).
		{"https://10.0.0.1/", false, false},
		{"http://10.0.0.1:3000/", false, false},
		{"https://172.16.0.1/", false, false},
		{"https://172.31.255.255/", false, false},
		{"https://192.168.1.1/", false, false},
		{"https://169.254.169.254/latest/meta-data/", false, false},
		{"https://100.64.0.1/", false, false},
		{"https://100.100.100.200/", false, false}, // Alibaba metadata, in 100.64/10
		{"https://0.0.0.0/", false, false},
		{"https://255.255.255.255/", false, false},
		{"https://224.0.0.1/", false, false},
		{"https://239.255.255.250/", false, false},
		{"https://240.0.0.1/", false, false},
		{"https://192.0.2.1/", false, false},
		{"https://198.18.0.1/", false, false},
		{"https://198.51.100.7/", false, false},
		{"https://203.0.113.9/", false, false},
		{"https://192.0.0.170/", false, false},
		{"https://[::ffff:10.0.0.1]/", false, false},
		{"https://[::ffff:169.254.169.254]/", false, false},
		{"https://[::ffff:a9fe:a9fe]/", false, false},
		{"https://0xa9fea9fe/", false, false},          // 169.254.169.254 in hex
		{"https://2852039166/", false, false},          // 169.254.169.254 in decimal
		{"https://0251.0376.0251.0376/", false, false}, // 169.254.169.254 in octal
		{"https://10.1/", false, false},

		// Private, link-local and reserved (IPv6).
		{"https://[::]/", false, false},
		{"https://[fc00::1]/", false, false},
		{"https://[fd12:3456:789a::1]/", false, false},
		{"https://[fe80::1]/", false, false},
		{"https://[fe80::1%25eth0]/", false, false},
		{"https://[ff02::1]/", false, false},
		{"https://[fec0::1]/", false, false},
		{"https://[64:ff9b::a00:1]/", false, false}, // NAT64 of 10.0.0.1
		{"https://[2002:7f00:1::1]/", false, false}, // 6to4 of 127.0.0.1
		{"https://[2001:db8::1]/", false, false},
		{"https://[2001::1]/", false, false}, // Teredo
		{"https://[::127.0.0.1]/", false, false},
		{"https://[100::1]/", false, false},
		{"https://[fd00:ec2::254]/", false, false}, // AWS instance metadata, in fc00::/7

		// http is for localhost (and private hosts) only, even with the allowance.
		{"http://8.8.8.8/", false, false},
		{"http://[2606:4700:4700::1111]/", false, false},
		{"http://example.com/", false, false},
	} {
		for _, mode := range []struct {
			name string
			opts safeurl.Options
			want bool
		}{{"strict", strict, tt.okStrict}, {"localhost", dev, tt.okLocalhost}, {"private", private, tt.okLocalhost || privateOK[tt.url]}} {
			u, err := safeurl.Check(tt.url, mode.opts)
			if got := err == nil; got != mode.want {
				t.Errorf("Check(%q, %s) = %v, %v; want ok=%v", tt.url, mode.name, u, err, mode.want)
				continue
			}
			if err != nil {
				var se *safeurl.Error
				if !errors.As(err, &se) || se.Reason == "" {
					t.Errorf("Check(%q) error %v is not a *safeurl.Error", tt.url, err)
				}
				if tt.url != "" && strings.Contains(err.Error(), tt.url) {
					t.Errorf("Check(%q) error repeats the URL: %v", tt.url, err)
				}
			}
		}
	}
}

func TestPublic(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		addr string
		want bool
	}{
		{"1.1.1.1", true},
		{"8.8.8.8", true},
		{"100.63.255.255", true},
		{"100.128.0.0", true},
		{"172.15.255.255", true},
		{"172.32.0.0", true},
		{"192.169.0.1", true},
		{"223.255.255.255", true},
		{"2606:4700:4700::1111", true},
		{"2a00:1450:4009:81f::200e", true},
		{"::ffff:8.8.8.8", true},
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"10.255.255.255", false},
		{"100.64.0.0", false},
		{"100.127.255.255", false},
		{"127.0.0.1", false},
		{"127.255.255.254", false},
		{"169.254.0.1", false},
		{"172.16.0.0", false},
		{"192.168.255.255", false},
		{"224.0.0.251", false},
		{"255.255.255.255", false},
		{"::", false},
		{"::1", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:192.168.0.1", false},
		{"fc00::", false},
		{"fdff:ffff::1", false},
		{"fe80::abcd", false},
		{"febf::1", false},
		{"ff0e::1", false},
		{"64:ff9b::8.8.8.8", false},
		{"2001:db8::", false},
		{"2002::1", false},
		{"4000::1", false},
	} {
		if got := safeurl.Public(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("Public(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}

func TestControl(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		network, address string
		strict, local    bool
	}{
		{"tcp", "93.184.216.34:443", true, true},
		{"tcp6", "[2606:4700:4700::1111]:443", true, true},
		{"tcp4", "127.0.0.1:8080", false, true},
		{"tcp6", "[::1]:8080", false, true},
		{"tcp6", "[::ffff:127.0.0.1]:80", false, true},
		{"tcp4", "10.0.0.5:443", false, false},
		{"tcp4", "169.254.169.254:80", false, false},
		{"tcp4", "100.64.1.1:443", false, false},
		{"tcp6", "[fe80::1%eth0]:443", false, false},
		{"tcp6", "[fd00::1]:443", false, false},
		{"tcp6", "[::ffff:10.0.0.1]:443", false, false},
		{"tcp6", "[fd00:ec2::254]:80", false, false},
		{"tcp4", "0.0.0.0:443", false, false},
		{"tcp6", "[::]:443", false, false},
		{"udp", "8.8.8.8:53", false, false},
		{"tcp", "not-an-address", false, false},
		{"tcp", "example.com:443", false, false},
	} {
		for _, mode := range []struct {
			opts safeurl.Options
			want bool
		}{{safeurl.Options{}, tt.strict}, {safeurl.Options{AllowLocalhost: true}, tt.local}, {safeurl.Options{AllowPrivate: true}, tt.local || privateOK[tt.address]}} {
			err := safeurl.Control(mode.opts)(tt.network, tt.address, nil)
			if got := err == nil; got != mode.want {
				t.Errorf("Control(%+v)(%s, %s) = %v, want ok=%v", mode.opts, tt.network, tt.address, err, mode.want)
			}
		}
	}
}

// The dialer itself refuses loopback, even for a name (localhost) that the
// URL check never saw: this is what stops DNS rebinding.
func TestTransportChecksResolvedAddress(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	port := srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]

	strict := &http.Client{Transport: safeurl.Transport(safeurl.Options{}), Timeout: 5 * time.Second}
	for _, u := range []string{srv.URL, "http://localhost:" + port} {
		_, err := strict.Get(u)
		var se *safeurl.Error
		if !errors.As(err, &se) {
			t.Errorf("strict transport GET %s: err = %v, want a *safeurl.Error from the dialer", u, err)
		}
	}
	dev := &http.Client{Transport: safeurl.Transport(safeurl.Options{AllowLocalhost: true}), Timeout: 5 * time.Second}
	resp, err := dev.Get("http://localhost:" + port)
	if err != nil {
		t.Fatalf("transport with AllowLocalhost: %v", err)
	}
	resp.Body.Close()
}

func TestClientChecksURLAndDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the redirect was followed")
	}))
	defer target.Close()
	redirector := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusFound))
	defer redirector.Close()

	dev := safeurl.NewClient(safeurl.Options{AllowLocalhost: true}, 5*time.Second)
	resp, err := dev.Get(redirector.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("status = %d, want the 302 itself", resp.StatusCode)
	}
	strict := safeurl.NewClient(safeurl.Options{}, 5*time.Second)
	_, err = strict.Post(redirector.URL, "application/json", strings.NewReader("{}"))
	var se *safeurl.Error
	if !errors.As(err, &se) {
		t.Errorf("strict client POST to loopback: err = %v, want a *safeurl.Error", err)
	}
}
