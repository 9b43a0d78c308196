package api

import (
	"context"
	"encoding/base64"
	"errors"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/calmony/calmonypay/internal/middleware"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

type keyContextKey struct{}

// keyFrom returns the API key that authenticated the request.
func keyFrom(ctx context.Context) *pay.APIKey {
	k, _ := ctx.Value(keyContextKey{}).(*pay.APIKey)
	return k
}

func requestID(r *http.Request) string { return middleware.RequestIDFrom(r.Context()) }

// errAuth is the one answer for every authentication failure, so a caller
// learns nothing about why a key was refused, and the key is never echoed.
var errAuth = &pay.Error{Status: http.StatusUnauthorized, Type: "authentication_error", Code: "api_key_invalid",
	Message: "Invalid or missing API key. Send a secret key as 'Authorization: Bearer sk_test_…' or as the HTTP Basic user name."}

// authenticate resolves the request's secret key (Bearer, or HTTP Basic with
// the key as user name) to its record and puts it in the context.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, err := s.auth.lookup(r.Context(), presentedKey(r))
		if err != nil {
			if !errors.Is(err, errAuth) {
				s.writeError(w, r, err)
				return
			}
			s.log.InfoContext(r.Context(), "authentication failed", "request_id", requestID(r), "remote", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", `Basic realm="Calmony Pay"`)
			s.writeError(w, r, errAuth)
			return
		}
		if r.Header.Get("Stripe-Account") != "" {
			s.writeError(w, r, pay.InvalidRequest("header_unsupported", "Stripe-Account", "Connected accounts are not supported: remove the Stripe-Account header."))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyContextKey{}, key)))
	})
}

// presentedKey returns the key from the Authorization header, or "".
func presentedKey(r *http.Request) string {
	h := r.Header.Get("Authorization")
	scheme, rest, _ := strings.Cut(h, " ")
	switch strings.ToLower(scheme) {
	case "bearer":
		return strings.TrimSpace(rest)
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
		if err != nil {
			return ""
		}
		user, _, _ := strings.Cut(string(raw), ":")
		return user
	}
	return ""
}

// keyCacheTTL bounds how long a looked-up key is trusted without asking the
// database again: a revoked key stops working within this time even if the
// change's notification never comes (see keyCache.drop).
const keyCacheTTL = time.Second

// keyCache remembers key lookups (found or not) for ttl, so the hot path
// does not hash-and-query on every request.
type keyCache struct {
	db  *store.DB
	now func() time.Time
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cachedKey
	gen uint64 // bumped by drop: a lookup that started before keeps nothing
}

type cachedKey struct {
	key     *pay.APIKey // nil: no such key
	fetched time.Time
}

func newKeyCache(db *store.DB, now func() time.Time, ttl time.Duration) *keyCache {
	return &keyCache{db: db, now: now, ttl: ttl, m: map[string]cachedKey{}}
}

// drop forgets the keys of a project (every key if project is empty), and
// every key found unknown, since it may just have been created.
func (c *keyCache) drop(project string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if project == "" {
		clear(c.m)
		return
	}
	maps.DeleteFunc(c.m, func(_ string, e cachedKey) bool { return e.key == nil || e.key.ProjectID == project })
}

// lookup returns the active key record for a presented key, or errAuth.
func (c *keyCache) lookup(ctx context.Context, presented string) (*pay.APIKey, error) {
	if _, ok := pay.ParseSecretKey(presented); !ok {
		return nil, errAuth
	}
	hash := pay.HashKey(presented)
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[hash]
	gen := c.gen
	c.mu.Unlock()
	if !ok || now.Sub(e.fetched) >= c.ttl || now.Before(e.fetched) {
		k, err := c.db.FindAPIKeyByHash(ctx, hash)
		if err != nil && !errors.Is(err, pay.ErrNotFound) {
			return nil, err
		}
		e = cachedKey{key: k, fetched: now}
		c.mu.Lock()
		if len(c.m) >= 10000 {
			clear(c.m) // bounded: a flood of made-up keys cannot grow memory
		}
		if c.gen == gen { // else a change committed meanwhile: k may predate it
			c.m[hash] = e
		}
		c.mu.Unlock()
	}
	if e.key == nil || !e.key.Active(now.Unix()) {
		return nil, errAuth
	}
	return e.key, nil
}
