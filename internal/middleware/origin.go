package middleware

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ErrInvalidOrigin is wrapped by every error [ParseOrigin] returns.
var ErrInvalidOrigin = errors.New("invalid origin")

const (
	// maxOriginLength bounds the input: scheme, a 253-byte host and a port
	// fit well within it.
	maxOriginLength = 300
	maxHostLength   = 253
	maxLabelLength  = 63
)

// ParseOrigin parses s as a web origin and returns its normal form,
// "scheme://host" or "scheme://host:port":
//
//   - the scheme is http or https, the scheme and host are lowercased;
//   - the default port (https 443, http 80) is dropped, and other ports must
//     be written in plain decimal, 1–65535;
//   - the host is an ASCII DNS name (IDNs in their xn-- form), a dotted
//     decimal IPv4 address or a bracketed IPv6 address;
//   - user info, path (even a lone "/"), query and fragment are rejected, as
//     are "null", "*", wildcards, empty labels (so no trailing dot), spaces,
//     control and non-ASCII characters, and hosts a browser would rewrite
//     (such as "0x7f.1" or IPv4-mapped IPv6), so the normal form is what a
//     browser sends.
//
// It is used both when a merchant registers an origin and on the Origin
// header of a request. Browsers always send an origin in normal form, so
// request handling accepts an Origin header only if it equals its own
// normal form, and then compares that string exactly: no prefix, suffix or
// wildcard matching, so https://shop.example.com.evil.net and
// https://evilshop.example.com never match https://shop.example.com.
//
// Every error wraps [ErrInvalidOrigin].
func ParseOrigin(s string) (string, error) {
	if err := checkOriginChars(s); err != nil {
		return "", invalidOrigin(s, err.Error())
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return "", invalidOrigin(s, "want scheme://host[:port]")
	}
	scheme = strings.ToLower(scheme)
	if scheme != "http" && scheme != "https" {
		return "", invalidOrigin(s, "scheme must be http or https")
	}
	// An origin has no path, query or fragment: say so rather than blame
	// the host for the trailing slash of a pasted URL.
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		if rest[i:] == "/" {
			return "", invalidOrigin(s, "an origin has no path: remove the trailing slash")
		}
		part := map[byte]string{'/': "path", '?': "query", '#': "fragment"}[rest[i]]
		return "", invalidOrigin(s, "an origin is scheme://host[:port], with no "+part)
	}
	host, port, err := splitOriginHostPort(rest)
	if err != nil {
		return "", invalidOrigin(s, err.Error())
	}
	if host, err = normaliseHost(host); err != nil {
		return "", invalidOrigin(s, err.Error())
	}
	if port, err = normalisePort(scheme, port); err != nil {
		return "", invalidOrigin(s, err.Error())
	}
	if port != "" {
		return scheme + "://" + host + ":" + port, nil
	}
	return scheme + "://" + host, nil
}

// invalidOrigin returns an error wrapping ErrInvalidOrigin. The input is
// quoted with %q so that it is safe to log.
func invalidOrigin(s, reason string) error {
	return fmt.Errorf("%w %q: %s", ErrInvalidOrigin, s, reason)
}

// checkOriginChars rejects empty or overlong input and any byte outside
// printable ASCII.
func checkOriginChars(s string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case len(s) > maxOriginLength:
		return errors.New("too long")
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return errors.New("only printable ASCII characters are allowed")
		}
	}
	return nil
}

// splitOriginHostPort splits "host", "host:port", "[v6]" or "[v6]:port".
// A colon must be followed by a port.
func splitOriginHostPort(hostport string) (host, port string, err error) {
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return "", "", errors.New("unterminated IPv6 literal")
		}
		host, after := hostport[:end+1], hostport[end+1:]
		if after == "" {
			return host, "", nil
		}
		if after[0] != ':' || len(after) == 1 {
			return "", "", errors.New("unexpected characters after host")
		}
		return host, after[1:], nil
	}
	host, port, hasPort := strings.Cut(hostport, ":")
	if hasPort && port == "" {
		return "", "", errors.New("empty port")
	}
	return host, port, nil
}

// normaliseHost validates host and returns it in lowercase (DNS name or
// IPv4) or in RFC 5952 form (bracketed IPv6).
func normaliseHost(host string) (string, error) {
	if strings.HasPrefix(host, "[") {
		return normaliseIPv6(host)
	}
	host = strings.ToLower(host)
	if host == "" || len(host) > maxHostLength {
		return "", errors.New("host must be 1 to 253 characters")
	}
	labels := strings.Split(host, ".")
	for _, l := range labels {
		if err := checkLabel(l); err != nil {
			return "", err
		}
	}
	if isNumericLabel(labels[len(labels)-1]) {
		// Browsers parse a host ending in a number as IPv4 and rewrite it.
		if a, err := netip.ParseAddr(host); err != nil || !a.Is4() || a.String() != host {
			return "", errors.New("host must be a DNS name or a dotted decimal IPv4 address")
		}
	}
	return host, nil
}

// normaliseIPv6 validates "[addr]" and returns it in RFC 5952 form. Zones
// and IPv4-mapped addresses (which browsers print differently) are refused.
func normaliseIPv6(host string) (string, error) {
	a, err := netip.ParseAddr(host[1 : len(host)-1])
	if err != nil || !a.Is6() || a.Is4In6() || a.Zone() != "" {
		return "", errors.New("invalid IPv6 address")
	}
	return "[" + a.String() + "]", nil
}

// checkLabel checks one lowercase DNS label: 1 to 63 letters, digits,
// hyphens or underscores.
func checkLabel(l string) error {
	if l == "" || len(l) > maxLabelLength {
		return errors.New("host labels must be 1 to 63 characters")
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !isLowerAlnum(c) && c != '-' && c != '_' {
			return errors.New("host may contain only letters, digits, '-', '_' and '.'")
		}
	}
	return nil
}

// isNumericLabel reports whether l is a decimal or 0x-hexadecimal number,
// which makes the WHATWG URL parser treat the host as IPv4.
func isNumericLabel(l string) bool {
	digits := l
	isHex := strings.HasPrefix(l, "0x")
	if isHex {
		digits = l[2:]
	}
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if !('0' <= c && c <= '9') && !(isHex && 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// normalisePort validates a port and drops the scheme's default one.
func normalisePort(scheme, port string) (string, error) {
	if port == "" {
		return "", nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || port[0] == '0' || port[0] == '+' || port[0] == '-' {
		return "", errors.New("port must be a decimal number from 1 to 65535 without leading zeros")
	}
	if (scheme == "https" && n == 443) || (scheme == "http" && n == 80) {
		return "", nil
	}
	return port, nil
}

// isLowerAlnum reports whether c is an ASCII lowercase letter or a digit.
func isLowerAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
}
