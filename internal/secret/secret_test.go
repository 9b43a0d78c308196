package secret

import (
	"bytes"
	"errors"
	"testing"
)

func testKeyring(t *testing.T) *Keyring {
	t.Helper()
	master, err := ParseKey(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	k, err := New(master)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	k := testKeyring(t)
	sealed := k.Seal([]byte("jenny@example.com"), []byte("cus_1/pii"))
	if bytes.Contains(sealed, []byte("jenny")) {
		t.Fatal("sealed value contains the plaintext")
	}
	got, err := k.Open(sealed, []byte("cus_1/pii"))
	if err != nil || string(got) != "jenny@example.com" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := k.Open(sealed, []byte("cus_2/pii")); !errors.Is(err, ErrOpen) {
		t.Errorf("Open with other aad = %v, want ErrOpen", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := k.Open(sealed, []byte("cus_1/pii")); !errors.Is(err, ErrOpen) {
		t.Errorf("Open tampered = %v, want ErrOpen", err)
	}
	if _, err := testKeyring(t).Open(k.Seal([]byte("x"), nil), nil); !errors.Is(err, ErrOpen) {
		t.Errorf("Open with other key = %v, want ErrOpen", err)
	}
	if _, err := k.Open([]byte{1, 2}, nil); !errors.Is(err, ErrOpen) {
		t.Errorf("Open short = %v, want ErrOpen", err)
	}
}

func TestBlindIndex(t *testing.T) {
	t.Parallel()
	k := testKeyring(t)
	a := k.BlindIndex("proj_1", "a@example.com")
	if a != k.BlindIndex("proj_1", "a@example.com") {
		t.Error("blind index is not deterministic")
	}
	if a == k.BlindIndex("proj_2", "a@example.com") || a == k.BlindIndex("proj_1", "b@example.com") {
		t.Error("blind index collides across scope or value")
	}
	if a == testKeyring(t).BlindIndex("proj_1", "a@example.com") {
		t.Error("blind index does not depend on the key")
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{NewKey(), true},
		{"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", true},
		{"", false},
		{"abcd", false},
		{"zz" + NewKey()[2:], false},
	} {
		if _, err := ParseKey(tt.in); (err == nil) != tt.ok {
			t.Errorf("ParseKey(%q) err = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func TestCheckStrength(t *testing.T) {
	for name, hexKey := range map[string]string{
		"zeros":   "0000000000000000000000000000000000000000000000000000000000000000",
		"repeat":  "abababababababababababababababababababababababababababababababab",
		"pattern": "0123456701234567012345670123456701234567012345670123456701234567",
		"word":    "70617373776f726470617373776f726470617373776f726470617373776f7264", // "password" x4
	} {
		key, err := ParseKey(hexKey)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckStrength(key); !errors.Is(err, ErrWeakKey) {
			t.Errorf("%s: CheckStrength = %v, want ErrWeakKey", name, err)
		}
	}
	for range 1000 {
		key, _ := ParseKey(NewKey())
		if err := CheckStrength(key); err != nil {
			t.Fatalf("a random key was refused: %v", err)
		}
	}
}

// TestRotation: a keyring with an old key opens what the old key sealed and
// says so, seals only under the new key, and keeps index keys it is given.
func TestRotation(t *testing.T) {
	oldKey, _ := ParseKey(NewKey())
	newKey, _ := ParseKey(NewKey())
	before, _ := New(oldKey)
	sealed := before.Seal([]byte("jenny@example.com"), []byte("customer/cus_1/pii"))

	during, err := New(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	pt, which, err := during.OpenWhich(sealed, []byte("customer/cus_1/pii"))
	if err != nil || which != 1 || string(pt) != "jenny@example.com" {
		t.Fatalf("old value: %q key %d %v", pt, which, err)
	}
	resealed := during.Seal(pt, []byte("customer/cus_1/pii"))
	if _, which, err := during.OpenWhich(resealed, []byte("customer/cus_1/pii")); err != nil || which != 0 {
		t.Errorf("resealed value: key %d %v", which, err)
	}
	if _, err := before.Open(resealed, []byte("customer/cus_1/pii")); !errors.Is(err, ErrOpen) {
		t.Errorf("the old key alone opened a value sealed under the new one: %v", err)
	}
	if c := during.Checks(); len(c) != 2 || c[0] != mustNew(t, newKey).Checks()[0] || c[1] != before.Checks()[0] || c[0] == c[1] {
		t.Errorf("checks = %v", c)
	}
	// Indexes stay the database's through a rotation.
	if !bytes.Equal(during.DerivedIndexKeys(1), before.IndexKeys()) {
		t.Error("the old key's derived index keys differ from its own keyring's")
	}
	if err := during.SetIndexKeys(before.IndexKeys()); err != nil {
		t.Fatal(err)
	}
	if during.BlindIndex("p", "jenny@example.com") != before.BlindIndex("p", "jenny@example.com") || during.MAC([]byte("x")) != before.MAC([]byte("x")) {
		t.Error("index keys were not kept")
	}
}

func mustNew(t *testing.T, master []byte) *Keyring {
	t.Helper()
	k, err := New(master)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
