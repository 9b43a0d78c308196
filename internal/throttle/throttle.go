// Package throttle limits the requests of each client of the routes that
// know no API key (hosted checkout pages, the gateway's callback, the
// Cardstream sandbox), in bounded memory, and says who the client is.
//
// A client is the address a request came from: its connection's peer,
// unless that peer is a reverse proxy the operator named as trusted, in
// which case the proxies' X-Forwarded-For says. Nothing a client sends is
// believed otherwise, so X-Forwarded-For from anyone else cannot dodge a
// limit or spend someone else's.
package throttle

import (
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/calmony/calmonypay/internal/middleware"
)

// ParseProxies parses a comma-separated list of IP addresses and CIDR
// prefixes (the --trusted-proxies setting). An empty list trusts nobody.
func ParseProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is neither an IP address nor a CIDR prefix", item)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// ClientIP returns the address r came from: its connection's peer, or, when
// the peer is one of the trusted proxies, the rightmost X-Forwarded-For
// entry that is not itself a trusted proxy (each proxy appends the address
// it was reached from, so entries left of that are the client's to write).
// An entry that does not parse ends the walk at the proxy that wrote it.
// The zero Addr means the peer address itself did not parse.
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	client := ap.Addr().Unmap()
	if !isTrusted(client, trusted) {
		return client
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return client
		}
		if client = a.Unmap(); !isTrusted(client, trusted) {
			return client
		}
	}
	return client
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Key groups addresses into clients: an IPv4 address alone, an IPv6
// address with its /64, which one subscriber is usually given whole.
func Key(a netip.Addr) netip.Prefix {
	bits := a.BitLen()
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// Client returns a function naming the client of a request (its Key, as
// text), for per-client state kept elsewhere (the sandbox's open sessions).
func Client(trusted []netip.Prefix) func(*http.Request) string {
	return func(r *http.Request) string { return Key(ClientIP(r, trusted)).String() }
}

// Config sets a Limiter.
type Config struct {
	// PerSecond is each client's sustained rate; 0 or less turns the
	// limit off.
	PerSecond float64
	// Burst is how many requests a client may make at once. Defaults to
	// five seconds' worth.
	Burst int
	// Trusted are the reverse proxies whose X-Forwarded-For is believed.
	Trusted []netip.Prefix
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// Name names the limiter in the metrics of the requests it refuses
	// (middleware.NoteRateLimited). Defaults to "client".
	Name string
}

// maxClients bounds the clients a Limiter tracks at once: about 2.5 MB.
const maxClients = 1 << 14

// sweepEvery is how often a Limiter forgets idle clients.
const sweepEvery = time.Minute

// Limiter gives each client a token bucket. Memory is bounded: a client
// whose bucket has filled up again is forgotten (a fresh bucket is the
// same), at least once a minute, and beyond maxClients clients at once a
// random one is, which only ever makes the limit more lenient. A nil
// *Limiter allows everything.
type Limiter struct {
	limit      rate.Limit
	burst      int
	retryAfter string
	trusted    []netip.Prefix
	now        func() time.Time
	name       string

	mu      sync.Mutex
	clients map[netip.Prefix]*rate.Limiter
	swept   time.Time
}

// New returns a Limiter, or nil (no limit) when c.PerSecond is not positive.
func New(c Config) *Limiter {
	if c.PerSecond <= 0 {
		return nil
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	burst := c.Burst
	if burst <= 0 {
		burst = max(1, int(math.Ceil(5*c.PerSecond)))
	}
	if c.Name == "" {
		c.Name = "client"
	}
	return &Limiter{limit: rate.Limit(c.PerSecond), burst: burst, trusted: c.Trusted, now: c.Now, name: c.Name,
		retryAfter: strconv.Itoa(max(1, int(math.Ceil(1/c.PerSecond)))),
		clients:    map[netip.Prefix]*rate.Limiter{}, swept: c.Now()}
}

// Allow reports whether r's client is within its rate, and spends one of
// its tokens if so.
func (l *Limiter) Allow(r *http.Request) bool {
	if l == nil {
		return true
	}
	key := Key(ClientIP(r, l.trusted))
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.clients[key]
	if !ok {
		l.makeRoom(now)
		b = rate.NewLimiter(l.limit, l.burst)
		l.clients[key] = b
	}
	return b.AllowN(now, 1)
}

// makeRoom forgets idle clients once a minute, and more often while the
// table is full; if it is still full, it forgets one at random. Callers
// hold mu.
func (l *Limiter) makeRoom(now time.Time) {
	full := len(l.clients) >= maxClients
	if now.Sub(l.swept) >= sweepEvery || full && now.Sub(l.swept) >= time.Second {
		l.swept = now
		for k, b := range l.clients {
			if b.TokensAt(now) >= float64(l.burst) {
				delete(l.clients, k)
			}
		}
	}
	if len(l.clients) >= maxClients {
		for k := range l.clients { // map order is random
			delete(l.clients, k)
			return
		}
	}
}

// Limit is middleware that answers a request beyond its client's rate with
// tooMany, after setting Retry-After, instead of serving it.
func (l *Limiter) Limit(tooMany http.HandlerFunc) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if l == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !l.Allow(r) {
				middleware.NoteRateLimited(r.Context(), l.name)
				w.Header().Set("Retry-After", l.retryAfter)
				tooMany(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// TooManyText is a plain 429 answer for Limit, for clients that are not
// browsers or pages that are not the shopper's (the caller set
// Retry-After).
func TooManyText(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, "Too many requests: retry after a moment.", http.StatusTooManyRequests)
}
