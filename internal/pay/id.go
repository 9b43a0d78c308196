package pay

import (
	"crypto/rand"
	"strings"
	"sync"
	"time"
)

// ID prefixes, as Stripe uses them.
const (
	PrefixCustomer = "cus_"
	PrefixEvent    = "evt_"
	PrefixProject  = "proj_"
	PrefixAPIKey   = "key_"
	PrefixRequest  = "req_"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// RandomString returns n characters drawn uniformly from [0-9A-Za-z] with crypto/rand.
// 22 characters carry more than 128 bits.
func RandomString(n int) string {
	var b strings.Builder
	b.Grow(n)
	buf := make([]byte, n+n/2+8)
	for b.Len() < n {
		rand.Read(buf)
		for _, c := range buf {
			// 248 = 4*62: rejecting larger bytes keeps the distribution uniform.
			if c < 248 && b.Len() < n {
				b.WriteByte(base62[c%62])
			}
		}
	}
	return b.String()
}

// NewID returns prefix followed by 24 base62 characters: 8 that encode the
// current time in milliseconds, 3 that count the IDs made in the same
// millisecond, and 13 random ones (about 77 bits). IDs made later by this
// process sort later, even within a millisecond (a create's and a payment's
// events, say), so lists ordered by (created, id) keep creation order within
// a second, as Stripe's do. Across processes sharing a database, IDs made in
// the same millisecond sort at random.
func NewID(prefix string) string {
	ms, n := idClock.next()
	var b [11]byte
	for i := 10; i >= 8; i-- {
		b[i] = base62[n%62]
		n /= 62
	}
	for i := 7; i >= 0; i-- {
		b[i] = base62[ms%62]
		ms /= 62
	}
	return prefix + string(b[:]) + RandomString(13)
}

// idClock hands out (millisecond, count) pairs that only increase.
var idClock idCounter

// idsPerMilli is how many IDs the 3 counting characters tell apart.
const idsPerMilli = 62 * 62 * 62

type idCounter struct {
	mu    sync.Mutex
	ms, n int64
}

// next returns the current millisecond and how many IDs it handed out in it
// before. A clock that steps back, or more than idsPerMilli IDs in one
// millisecond, moves on from the last millisecond handed out instead.
func (c *idCounter) next() (ms, n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch now := time.Now().UnixMilli(); {
	case now > c.ms:
		c.ms, c.n = now, 0
	case c.n+1 < idsPerMilli:
		c.n++
	default:
		c.ms, c.n = c.ms+1, 0
	}
	return c.ms, c.n
}

// HasPrefix reports whether id starts with prefix and has a non-empty tail of
// base62 characters of a sane length. It lets handlers reject malformed IDs
// without a database round trip.
func HasPrefix(id, prefix string) bool {
	tail, ok := strings.CutPrefix(id, prefix)
	if !ok || len(tail) == 0 || len(tail) > 64 {
		return false
	}
	for i := 0; i < len(tail); i++ {
		if strings.IndexByte(base62, tail[i]) < 0 {
			return false
		}
	}
	return true
}
