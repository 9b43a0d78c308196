package api

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/calmony/calmonypay/internal/middleware"
	"github.com/calmony/calmonypay/internal/pay"
)

// limiter holds one token bucket per API key. Buckets live in a sync.Map so
// requests of different keys never contend on one lock; idle buckets are
// dropped once a minute, by the first request after that minute (so no
// goroutine of its own).
type limiter struct {
	perSecond int
	now       func() time.Time
	buckets   sync.Map     // key ID → *bucket
	swept     atomic.Int64 // unix seconds of the last sweep
}

type bucket struct {
	lim      *rate.Limiter
	lastUsed atomic.Int64 // unix seconds
}

func newLimiter(perSecond int, now func() time.Time) *limiter {
	l := &limiter{perSecond: perSecond, now: now}
	l.swept.Store(now().Unix())
	return l
}

func (l *limiter) allow(keyID string) bool {
	if l.perSecond <= 0 {
		return true
	}
	now := l.now()
	v, ok := l.buckets.Load(keyID)
	if !ok {
		v, _ = l.buckets.LoadOrStore(keyID, &bucket{lim: rate.NewLimiter(rate.Limit(l.perSecond), l.perSecond)})
	}
	b := v.(*bucket)
	b.lastUsed.Store(now.Unix())
	if last := l.swept.Load(); now.Unix()-last >= sweepEvery && l.swept.CompareAndSwap(last, now.Unix()) {
		l.sweep(now.Unix() - sweepEvery)
	}
	return b.lim.AllowN(now, 1)
}

// sweepEvery is how often, in seconds, idle buckets are dropped.
const sweepEvery = 60

// sweep drops the buckets last used before idle (unix seconds).
func (l *limiter) sweep(idle int64) {
	l.buckets.Range(func(k, v any) bool {
		if v.(*bucket).lastUsed.Load() < idle {
			l.buckets.Delete(k)
		}
		return true
	})
}

var errRateLimited = &pay.Error{Status: http.StatusTooManyRequests, Type: pay.ErrorTypeInvalidRequest, Code: "rate_limit",
	Message: "Too many requests hit the API too quickly. Retry after a second."}

// rateLimit refuses requests beyond the key's rate with 429 and Retry-After.
func (s *Server) rateLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.limiter.allow(keyFrom(r.Context()).ID) {
			middleware.NoteRateLimited(r.Context(), "api_key")
			w.Header().Set("Retry-After", "1")
			s.writeError(w, r, errRateLimited)
			return
		}
		next.ServeHTTP(w, r)
	})
}
