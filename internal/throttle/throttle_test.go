package throttle

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func request(remote string, xff ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/checkout/cs_test_x", nil)
	r.RemoteAddr = remote
	for _, v := range xff {
		r.Header.Add("X-Forwarded-For", v)
	}
	return r
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	trusted, err := ParseProxies("10.0.0.0/8, 192.0.2.7 ,::1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"no proxy", "203.0.113.9:5555", nil, "203.0.113.9"},
		{"an untrusted peer's X-Forwarded-For is ignored", "203.0.113.9:5555", []string{"198.51.100.1"}, "203.0.113.9"},
		{"a trusted proxy says who", "10.1.2.3:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"what the client wrote left of it is not believed", "10.1.2.3:80", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		{"a chain of trusted proxies", "10.1.2.3:80", []string{"1.1.1.1, 198.51.100.1", "192.0.2.7, 10.9.9.9"}, "198.51.100.1"},
		{"everything trusted: the leftmost", "10.1.2.3:80", []string{"10.4.4.4"}, "10.4.4.4"},
		{"garbage ends the walk at its writer", "10.1.2.3:80", []string{"1.1.1.1, not-an-ip, 10.9.9.9"}, "10.9.9.9"},
		{"a trusted proxy without the header", "10.1.2.3:80", nil, "10.1.2.3"},
		{"IPv4-mapped IPv6 is IPv4", "[::ffff:203.0.113.9]:5555", nil, "203.0.113.9"},
		{"IPv6 proxy", "[::1]:80", []string{"2001:db8::1"}, "2001:db8::1"},
	} {
		if got := ClientIP(request(tt.remote, tt.xff...), trusted); got.String() != tt.want {
			t.Errorf("%s: ClientIP = %s, want %s", tt.name, got, tt.want)
		}
	}
	if got := ClientIP(request("not an address"), nil); got.IsValid() {
		t.Errorf("unparsable peer: %s", got)
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.1:80"} {
		if _, err := ParseProxies(bad); err == nil {
			t.Errorf("ParseProxies(%q) accepted", bad)
		}
	}
}

func TestKeyGroupsIPv6By64(t *testing.T) {
	t.Parallel()
	a, b := netip.MustParseAddr("2001:db8:1:2::1"), netip.MustParseAddr("2001:db8:1:2:ffff::9")
	c := netip.MustParseAddr("2001:db8:1:3::1")
	if Key(a) != Key(b) || Key(a) == Key(c) {
		t.Errorf("keys %s %s %s", Key(a), Key(b), Key(c))
	}
	if v4 := netip.MustParseAddr("203.0.113.9"); Key(v4) != netip.PrefixFrom(v4, 32) {
		t.Errorf("IPv4 key %s", Key(v4))
	}
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	l := New(Config{PerSecond: 2, Now: func() time.Time { return now }}) // burst 10
	h := l.Limit(TooManyText)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	serve := func(remote string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, request(remote))
		return rec
	}
	for i := range 10 {
		if rec := serve("203.0.113.9:1"); rec.Code != http.StatusOK {
			t.Fatalf("request %d of the burst: %d", i, rec.Code)
		}
	}
	rec := serve("203.0.113.9:2")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" {
		t.Errorf("beyond the burst: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if rec := serve("198.51.100.1:1"); rec.Code != http.StatusOK {
		t.Errorf("another client: %d", rec.Code)
	}
	now = now.Add(time.Second)
	for i := range 2 {
		if rec := serve("203.0.113.9:1"); rec.Code != http.StatusOK {
			t.Errorf("after a second, request %d: %d", i, rec.Code)
		}
	}
	if rec := serve("203.0.113.9:1"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("beyond the rate: %d", rec.Code)
	}
	var none *Limiter
	if New(Config{}) != nil || !none.Allow(request("203.0.113.9:1")) {
		t.Error("a zero rate limits")
	}
}

// The clients tracked stay bounded whatever the number of addresses, idle
// clients are forgotten, and forgetting never makes anyone stricter.
func TestLimiterMemoryBounded(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	l := New(Config{PerSecond: 1, Burst: 1, Now: func() time.Time { return now }})
	next := netip.MustParseAddr("10.0.0.0")
	for range maxClients + 100 {
		next = next.Next()
		if !l.Allow(request(netip.AddrPortFrom(next, 1).String())) {
			t.Fatal("a new client was refused")
		}
	}
	if n := len(l.clients); n > maxClients {
		t.Errorf("%d clients tracked, want at most %d", n, maxClients)
	}
	now = now.Add(sweepEvery)
	l.Allow(request("203.0.113.9:1"))
	if n := len(l.clients); n != 1 {
		t.Errorf("%d clients tracked after everyone idled for a minute, want 1", n)
	}
}
