package pay

import (
	"crypto/rand"
	"strings"
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
// current time in milliseconds, then 16 random ones (about 95 bits). IDs
// made later sort later, so lists ordered by (created, id) keep creation
// order within a second, as Stripe's do.
func NewID(prefix string) string {
	var b [8]byte
	ms := time.Now().UnixMilli()
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = base62[ms%62]
		ms /= 62
	}
	return prefix + string(b[:]) + RandomString(16)
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
