// Package secret holds Calmony Pay's at-rest cryptography: AES-256-GCM
// sealing of personal data and keyed blind indexes for lookups over encrypted
// values. Every key is derived from one 32-byte master key with HKDF, so an
// operator manages a single secret (CALMONY_ENCRYPTION_KEY).
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// KeySize is the size of a master key in bytes.
const KeySize = 32

// version is the first byte of every sealed value, so keys or algorithms can
// be rotated later without guessing what an old value is.
const version byte = 1

// ErrOpen means a sealed value failed authentication: wrong key, or tampered.
var ErrOpen = errors.New("secret: cannot open sealed value")

// Keyring seals and indexes values under keys derived from one master key.
// It may also hold older master keys, which only open: a key is rotated by
// starting with the new one and the old ones (reads open either), then
// sealing every stored value again under the new one.
type Keyring struct {
	aeads   []cipher.AEAD // the current master key's first
	checks  []string      // the check value of each master key, in the same order
	derived [][]byte      // the index keys each master key derives, in the same order
	index   []byte
	mac     []byte
}

// ParseKey decodes a master key given as 64 hex characters or as standard
// base64 of 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	return nil, fmt.Errorf("secret: key must be %d bytes as hex (64 characters) or base64", KeySize)
}

// ErrWeakKey means a master key is plainly not random: all zeros, one byte
// repeated, a short pattern or a word.
var ErrWeakKey = errors.New("secret: the key is not random (too few distinct bytes): generate one with `openssl rand -hex 32`")

// CheckStrength refuses a master key that is plainly not random. Of 32
// random bytes, about 30 are distinct (fewer than 16 has a probability
// below one in a trillion); zeros, repeats, patterns and text have far fewer.
func CheckStrength(key []byte) error {
	var seen [256]bool
	distinct := 0
	for _, b := range key {
		if !seen[b] {
			seen[b] = true
			distinct++
		}
	}
	if distinct < 16 {
		return ErrWeakKey
	}
	return nil
}

// NewKey returns a fresh random master key, hex encoded.
func NewKey() string {
	b := make([]byte, KeySize)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// New derives a Keyring from a master key and, for opening only, older
// ones. Its blind-index and MAC keys are derived from master until
// SetIndexKeys replaces them with the ones a database already uses.
func New(master []byte, old ...[]byte) (*Keyring, error) {
	k := &Keyring{}
	for _, m := range append([][]byte{master}, old...) {
		if len(m) != KeySize {
			return nil, fmt.Errorf("secret: master key is %d bytes, want %d", len(m), KeySize)
		}
		block, err := aes.NewCipher(derive(m, "aes-256-gcm v1"))
		if err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		check := hmac.New(sha256.New, derive(m, "key-check v1"))
		check.Write([]byte("calmonypay"))
		k.aeads, k.checks = append(k.aeads, aead), append(k.checks, hex.EncodeToString(check.Sum(nil))[:16])
		k.derived = append(k.derived, append(derive(m, "blind-index v1"), derive(m, "request-mac v1")...))
	}
	return k, k.SetIndexKeys(k.derived[0])
}

func derive(master []byte, label string) []byte {
	k, err := hkdf.Key(sha256.New, master, nil, "calmonypay "+label, KeySize)
	if err != nil {
		panic(err) // only fails for absurd lengths
	}
	return k
}

// Checks returns the check value of each master key, the current one's
// first: a short digest that tells keys apart without revealing them.
func (k *Keyring) Checks() []string { return k.checks }

// IndexKeys returns the blind-index and MAC keys, for a database to keep
// (sealed) so that indexes and fingerprints survive a rotation of the master key.
func (k *Keyring) IndexKeys() []byte { return append(slices.Clone(k.index), k.mac...) }

// DerivedIndexKeys returns the index keys that master key i (0: the
// current one) derives, as IndexKeys does.
func (k *Keyring) DerivedIndexKeys(i int) []byte { return slices.Clone(k.derived[i]) }

// SetIndexKeys puts back index keys from IndexKeys.
func (k *Keyring) SetIndexKeys(b []byte) error {
	if len(b) != 2*KeySize {
		return errors.New("secret: index keys are 64 bytes")
	}
	b = slices.Clone(b)
	k.index, k.mac = b[:KeySize:KeySize], b[KeySize:]
	return nil
}

// Seal encrypts plaintext under the current master key. aad binds the
// value to its place (for example the row ID and column), so a sealed value
// copied elsewhere does not open.
func (k *Keyring) Seal(plaintext, aad []byte) []byte {
	aead := k.aeads[0]
	out := make([]byte, 1, 1+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = version
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plaintext, aad)
}

// Open decrypts a value made by Seal with the same aad, under any of the
// keyring's master keys.
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	pt, _, err := k.OpenWhich(sealed, aad)
	return pt, err
}

// OpenWhich is Open that also says which master key sealed the value: 0 is
// the current one; another is an older one, under which the value should
// be sealed again.
func (k *Keyring) OpenWhich(sealed, aad []byte) (plaintext []byte, key int, err error) {
	for i, aead := range k.aeads {
		n := aead.NonceSize()
		if len(sealed) < 1+n+aead.Overhead() || sealed[0] != version {
			return nil, -1, ErrOpen
		}
		if pt, err := aead.Open(nil, sealed[1:1+n], sealed[1+n:], aad); err == nil {
			return pt, i, nil
		}
	}
	return nil, -1, ErrOpen
}

// BlindIndex returns a keyed, deterministic digest of value within a scope
// (for example a project ID), hex encoded. Equal inputs give equal digests, so
// it supports equality lookups without storing the plaintext.
func (k *Keyring) BlindIndex(scope, value string) string {
	m := hmac.New(sha256.New, k.index)
	m.Write([]byte(scope))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// MAC returns a keyed digest of data. Idempotency fingerprints use it, so a
// fingerprint over a body holding a card number is not a plain hash of it.
func (k *Keyring) MAC(data []byte) string {
	m := hmac.New(sha256.New, k.mac)
	m.Write(data)
	return hex.EncodeToString(m.Sum(nil))
}

// Value is secret bytes that never print: fmt and slog show [REDACTED].
type Value []byte

// String hides the value.
func (Value) String() string { return "[REDACTED]" }

// GoString hides the value from %#v.
func (Value) GoString() string { return "[REDACTED]" }

// LogValue hides the value from slog.
func (Value) LogValue() slog.Value { return slog.StringValue("[REDACTED]") }
