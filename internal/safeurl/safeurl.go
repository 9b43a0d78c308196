// Package safeurl decides whether Calmony Pay may send a request to, or
// redirect a browser to, a URL a merchant gave it (SEC-10, OWASP API7
// server-side request forgery). Webhook endpoint URLs and hosted checkout's
// success and cancel URLs are checked with Check when they are saved;
// outbound requests then go through NewClient, whose dialer checks the
// address each connection really goes to, so a name that resolves (or is
// re-pointed, "DNS rebinding") to an internal address is refused too.
//
// The rules: an absolute URL; https only (Options.AllowLocalhost and
// Options.AllowPrivate, for development, also allow http to the hosts they
// allow); no user name or password; a host that is a fully qualified public
// DNS name or a public IP address.
// Refused hosts include localhost and *.localhost, single-label names and
// private-use suffixes (.local, .internal, .home.arpa, …), IPv4 and IPv6
// addresses that are loopback, private (RFC 1918, fc00::/7), link-local
// (169.254.0.0/16 with the cloud metadata address, fe80::/10), shared
// address space (100.64.0.0/10), multicast, unspecified, broadcast,
// documentation, benchmarking or otherwise reserved, IPv4-mapped IPv6
// addresses of those (::ffff:127.0.0.1), and IPv4 addresses written in
// any form but dotted decimal (2130706433, 0177.0.0.1, 0x7f.1, 127.1),
// which some resolvers read as addresses.
package safeurl

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
)

// Options relax the rules for development.
type Options struct {
	// AllowLocalhost permits URLs whose host is localhost, a *.localhost
	// name or a loopback address (127.0.0.0/8, ::1), over http or https,
	// and lets the dialer connect to loopback addresses. Never set it for
	// live-mode traffic or in production.
	AllowLocalhost bool
	// AllowPrivate permits what AllowLocalhost does and private networks
	// besides: single-label names and private-use suffixes (app,
	// host.docker.internal) and private addresses (RFC 1918, fc00::/7),
	// over http or https, and lets the dialer connect to loopback and
	// private addresses. Link-local (the cloud metadata address),
	// unspecified, multicast and reserved addresses stay refused. Never set
	// it for live-mode traffic or in production.
	AllowPrivate bool
}

// local reports whether opts allow loopback hosts.
func (o Options) local() bool { return o.AllowLocalhost || o.AllowPrivate }

// Error explains why a URL or address is refused. Its message is safe to
// show to API clients: it never repeats the URL.
type Error struct {
	Reason string
}

func (e *Error) Error() string { return e.Reason }

func refuse(reason string) error { return &Error{Reason: reason} }

// MaxLength is the longest URL Check accepts.
const MaxLength = 2048

// Check parses raw and returns it if Calmony Pay may send requests (or
// browsers) to it under opts, or an *Error saying why not.
func Check(raw string, opts Options) (*url.URL, error) {
	if raw == "" {
		return nil, refuse("The URL is empty.")
	}
	if len(raw) > MaxLength {
		return nil, refuse("The URL is longer than " + strconv.Itoa(MaxLength) + " characters.")
	}
	// Browsers read a backslash as a slash and drop tabs and newlines, so
	// such URLs may mean different hosts to different parsers.
	if strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == '\\' || r == 0x7f || unicode.IsSpace(r) }) {
		return nil, refuse("The URL must not contain spaces, control characters or backslashes.")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || !u.IsAbs() || u.Host == "" {
		return nil, refuse("The URL must be absolute, with a scheme and a host.")
	}
	if u.User != nil {
		return nil, refuse("The URL must not contain a user name or password.")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, refuse("The URL's port is not valid.")
		}
	}
	local, err := checkHost(u.Hostname(), opts)
	if err != nil {
		return nil, err
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && local:
	case u.Scheme == "http" && opts.AllowPrivate:
		return nil, refuse("The URL must use https (http is allowed only for localhost and private hosts).")
	case u.Scheme == "http" && opts.AllowLocalhost:
		return nil, refuse("The URL must use https (http is allowed only for localhost).")
	default:
		return nil, refuse("The URL must use https.")
	}
	return u, nil
}

// checkHost checks a URL's host name and reports whether it is local: a
// localhost name or loopback address (allowed with AllowLocalhost or
// AllowPrivate), or a private name or address (allowed with AllowPrivate).
func checkHost(host string, opts Options) (local bool, err error) {
	host = strings.ToLower(host)
	// "example.com." is example.com and "localhost." is localhost: one
	// trailing dot only marks the name as fully qualified.
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return false, refuse("The URL has no host.")
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		return checkLiteral(addr, opts)
	}
	if endsInNumber(host) {
		addr, ok := parseLegacyIPv4(host)
		if !ok {
			return false, refuse("The URL's host is not a valid name or address.")
		}
		if addr.String() != host {
			return false, refuse("The URL's host is an IP address written in a non-standard form.")
		}
		return checkLiteral(addr, opts)
	}
	if err := checkName(host); err != nil {
		return false, err
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		if !opts.local() {
			return false, refuse("The URL must not point to localhost.")
		}
		return true, nil
	}
	if opts.AllowPrivate {
		// Private names resolve to whatever the network says: the dialer
		// judges the address.
		return !strings.Contains(host, ".") || privateSuffix(host) != "", nil
	}
	if !strings.Contains(host, ".") {
		return false, refuse("The URL's host must be a fully qualified domain name.")
	}
	if suffix := privateSuffix(host); suffix != "" {
		return false, refuse("The URL's host must be a public domain name, not a private one (" + suffix + ").")
	}
	return false, nil
}

// privateSuffix returns the private-use suffix host ends in, or "".
func privateSuffix(host string) string {
	for _, suffix := range []string{".local", ".localdomain", ".internal", ".lan", ".home", ".corp", ".arpa"} {
		if strings.HasSuffix(host, suffix) {
			return suffix
		}
	}
	return ""
}

func checkLiteral(addr netip.Addr, opts Options) (local bool, err error) {
	switch {
	case addr.Zone() != "":
		return false, refuse("The URL's host must not be a scoped IPv6 address.")
	case Public(addr):
		return false, nil
	case Allowed(addr, opts):
		return true, nil
	case addr.Unmap().IsLoopback():
		return false, refuse("The URL must not point to a loopback address.")
	}
	return false, refuse("The URL must not point to a private, link-local or reserved address.")
}

// checkName checks DNS name syntax: ASCII letters, digits, hyphens (and
// underscores, which some DNS names have), labels of 1 to 63 characters.
func checkName(host string) error {
	if len(host) > 253 {
		return refuse("The URL's host name is too long.")
	}
	for label := range strings.SplitSeq(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return refuse("The URL's host is not a valid name or address.")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if c >= 0x80 {
				return refuse("The URL's host must be ASCII: write international names in their xn-- (punycode) form.")
			}
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return refuse("The URL's host is not a valid name or address.")
			}
		}
	}
	return nil
}

// endsInNumber reports whether host's last label is a number (decimal, or
// 0x hex), which makes the whole host an IPv4 address to URL parsers that
// follow the WHATWG URL standard (browsers) and to inet_aton resolvers.
func endsInNumber(host string) bool {
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	if h, ok := strings.CutPrefix(last, "0x"); ok {
		return strings.Trim(h, "0123456789abcdef") == ""
	}
	return strings.Trim(last, "0123456789") == ""
}

// parseLegacyIPv4 parses the IPv4 forms inet_aton and the WHATWG URL parser
// accept: one to four parts, each decimal, 0x hex or 0-prefixed octal, the
// last part filling the remaining bytes (127.1, 2130706433, 0x7f.0.0.1).
func parseLegacyIPv4(host string) (netip.Addr, bool) {
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		base := 10
		switch {
		case strings.HasPrefix(p, "0x"):
			p, base = p[2:], 16
			if p == "" {
				p = "0"
			}
		case len(p) > 1 && p[0] == '0':
			p, base = p[1:], 8
		}
		n, err := strconv.ParseUint(p, base, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		nums[i] = n
	}
	var v uint64
	for i, n := range nums[:len(nums)-1] {
		if n > 255 {
			return netip.Addr{}, false
		}
		v |= n << (8 * (3 - i))
	}
	last := nums[len(nums)-1]
	if last >= 1<<(8*(5-len(nums))) {
		return netip.Addr{}, false
	}
	v |= last
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// Public reports whether addr is a globally routable unicast address:
// not loopback, private, link-local, shared (CGNAT), multicast,
// unspecified, broadcast, documentation or otherwise reserved. IPv4-mapped
// IPv6 addresses are judged as the IPv4 address they carry.
func Public(addr netip.Addr) bool {
	addr = addr.Unmap()
	if !addr.IsValid() || addr.Zone() != "" {
		return false
	}
	if addr.Is4() {
		for _, p := range [...]struct {
			ip   [4]byte
			bits int
		}{
			{[4]byte{0, 0, 0, 0}, 8},       // "this network", unspecified
			{[4]byte{10, 0, 0, 0}, 8},      // private
			{[4]byte{100, 64, 0, 0}, 10},   // shared address space (CGNAT)
			{[4]byte{127, 0, 0, 0}, 8},     // loopback
			{[4]byte{169, 254, 0, 0}, 16},  // link-local, cloud metadata
			{[4]byte{172, 16, 0, 0}, 12},   // private
			{[4]byte{192, 0, 0, 0}, 24},    // IETF protocol assignments
			{[4]byte{192, 0, 2, 0}, 24},    // documentation
			{[4]byte{192, 31, 196, 0}, 24}, // AS112
			{[4]byte{192, 52, 193, 0}, 24}, // AMT
			{[4]byte{192, 88, 99, 0}, 24},  // 6to4 relay anycast
			{[4]byte{192, 168, 0, 0}, 16},  // private
			{[4]byte{192, 175, 48, 0}, 24}, // AS112
			{[4]byte{198, 18, 0, 0}, 15},   // benchmarking
			{[4]byte{198, 51, 100, 0}, 24}, // documentation
			{[4]byte{203, 0, 113, 0}, 24},  // documentation
			{[4]byte{224, 0, 0, 0}, 4},     // multicast
			{[4]byte{240, 0, 0, 0}, 4},     // reserved, broadcast
		} {
			if netip.PrefixFrom(netip.AddrFrom4(p.ip), p.bits).Contains(addr) {
				return false
			}
		}
		return true
	}
	// Only 2000::/3 is allocated as global unicast: this leaves out ::,
	// ::1, IPv4-compatible and NAT64 forms, fc00::/7, fe80::/10 and ff00::/8.
	if !netip.MustParsePrefix("2000::/3").Contains(addr) {
		return false
	}
	for _, p := range []string{
		"2001::/23",     // IETF protocol assignments, Teredo
		"2001:db8::/32", // documentation
		"2002::/16",     // 6to4, which embeds any IPv4 address
		"3fff::/20",     // documentation
	} {
		if netip.MustParsePrefix(p).Contains(addr) {
			return false
		}
	}
	return true
}

// Allowed reports whether a connection to addr is permitted under opts: a
// public address, a loopback one when AllowLocalhost or AllowPrivate is
// set, or a private one (RFC 1918, fc00::/7) when AllowPrivate is set,
// except AWS's IPv6 instance metadata address (fd00:ec2::254).
func Allowed(addr netip.Addr, opts Options) bool {
	if Public(addr) {
		return true
	}
	a := addr.Unmap()
	switch {
	case a.Zone() != "":
		return false
	case a.IsLoopback():
		return opts.local()
	case a.IsPrivate():
		return opts.AllowPrivate && a != netip.AddrFrom16([16]byte{0: 0xfd, 2: 0x0e, 3: 0xc2, 14: 0x02, 15: 0x54})
	}
	return false
}

// Control is a net.Dialer Control hook: it runs after name resolution, for
// each address a connection is about to be made to, and refuses addresses
// that are not Allowed. It checks what the connection really reaches, so
// DNS answers cannot lead a request to an internal address.
func Control(opts Options) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		switch network {
		case "tcp", "tcp4", "tcp6":
		default:
			return refuse("Connections must use TCP.")
		}
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return refuse("The address is not valid.")
		}
		addr, err := netip.ParseAddr(host)
		if err != nil || !Allowed(addr, opts) {
			return refuse("The URL's host resolves to a private, loopback or reserved address.")
		}
		return nil
	}
}

// Transport returns an HTTP transport whose connections are checked by
// Control. It uses no proxy (a proxy would make the check see the proxy's
// address instead of the target's) and requires TLS 1.2 or later.
func Transport(opts Options) *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: Control(opts)}
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    5 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
	}
}

// NewClient returns an HTTP client for requests to merchant-given URLs: each
// request's URL is checked with Check, each connection with Control,
// redirects are returned to the caller rather than followed, and a request
// takes at most timeout in all (0: no limit besides the transport's).
func NewClient(opts Options, timeout time.Duration) *http.Client {
	return &http.Client{
		Transport:     &checkedTransport{opts: opts, next: Transport(opts)},
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// checkedTransport checks each request's URL before sending it.
type checkedTransport struct {
	opts Options
	next http.RoundTripper
}

func (t *checkedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if _, err := Check(r.URL.String(), t.opts); err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, err
	}
	return t.next.RoundTrip(r)
}

// CloseIdleConnections closes the underlying transport's idle connections.
func (t *checkedTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
