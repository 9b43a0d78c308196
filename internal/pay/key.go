package pay

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Project is a merchant's account: every object belongs to one.
type Project struct {
	ID      string
	Name    string
	Created int64
	// Currencies the project may charge in (lowercase ISO 4217); "gbp" by default.
	Currencies []string
	// Business is the merchant's details its invoices print; zero until set.
	Business Business
	// Dunning is the retry schedule of its failed invoice payments
	// (DefaultDunning until set).
	Dunning Dunning
}

// APIKey is a secret key's record. The key itself is shown once and only its
// SHA-256 hash is stored.
type APIKey struct {
	ID        string
	ProjectID string
	Livemode  bool
	Hash      string
	Hint      string // e.g. "sk_test_…Ab3d", safe to show and log
	Created   int64
	ExpiresAt int64 // 0: never
	RevokedAt int64 // 0: not revoked
}

// Scope is the scope of objects the key acts on.
func (k *APIKey) Scope() Scope { return Scope{ProjectID: k.ProjectID, Livemode: k.Livemode} }

// Active reports whether the key may be used at unix time now.
func (k *APIKey) Active(now int64) bool {
	return k.RevokedAt == 0 && (k.ExpiresAt == 0 || now < k.ExpiresAt)
}

// Secret-key prefixes.
const (
	SecretKeyTestPrefix = "sk_test_"
	SecretKeyLivePrefix = "sk_live_"
)

// secretKeyLen is the number of random base62 characters in a key: 32 of
// them carry about 190 bits.
const secretKeyLen = 32

// NewSecretKey returns a new secret key and its record (without ID or project).
func NewSecretKey(livemode bool) (string, APIKey) {
	prefix := SecretKeyTestPrefix
	if livemode {
		prefix = SecretKeyLivePrefix
	}
	key := prefix + RandomString(secretKeyLen)
	return key, APIKey{Livemode: livemode, Hash: HashKey(key), Hint: prefix + "…" + key[len(key)-4:]}
}

// HashKey is the stored form of a secret key.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// ParseSecretKey checks a presented key's shape and returns its mode. It
// rejects malformed keys without a database lookup.
func ParseSecretKey(key string) (livemode, ok bool) {
	var tail string
	switch {
	case strings.HasPrefix(key, SecretKeyTestPrefix):
		tail = key[len(SecretKeyTestPrefix):]
	case strings.HasPrefix(key, SecretKeyLivePrefix):
		tail, livemode = key[len(SecretKeyLivePrefix):], true
	default:
		return false, false
	}
	if len(tail) != secretKeyLen {
		return false, false
	}
	for i := 0; i < len(tail); i++ {
		if strings.IndexByte(base62, tail[i]) < 0 {
			return false, false
		}
	}
	return livemode, true
}
