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
type Keyring struct {
	aead  cipher.AEAD
	index []byte
	mac   []byte
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

// New derives a Keyring from a master key.
func New(master []byte) (*Keyring, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("secret: master key is %d bytes, want %d", len(master), KeySize)
	}
	derive := func(label string) []byte {
		k, err := hkdf.Key(sha256.New, master, nil, "calmonypay "+label, KeySize)
		if err != nil {
			panic(err) // only fails for absurd lengths
		}
		return k
	}
	block, err := aes.NewCipher(derive("aes-256-gcm v1"))
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return &Keyring{aead: aead, index: derive("blind-index v1"), mac: derive("request-mac v1")}, nil
}

// Seal encrypts plaintext. aad binds the value to its place (for example the
// row ID and column), so a sealed value copied elsewhere does not open.
func (k *Keyring) Seal(plaintext, aad []byte) []byte {
	out := make([]byte, 1, 1+k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	out[0] = version
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce)
	out = append(out, nonce...)
	return k.aead.Seal(out, nonce, plaintext, aad)
}

// Open decrypts a value made by Seal with the same aad.
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < 1+n+k.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	pt, err := k.aead.Open(nil, sealed[1:1+n], sealed[1+n:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
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
