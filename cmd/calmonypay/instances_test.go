package main

import (
	"regexp"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/store/storetest"
)

// TestServeInstancesRefuseRevokedKey: two serve instances on one
// PostgreSQL database refuse a key revoked by `calmonypay keys revoke`
// (a third process, as far as they can tell) at once, well before the key
// cache's one-second expiry would: each instance has just used the key,
// so only the change's notification can make it refuse the key sooner.
func TestServeInstancesRefuseRevokedKey(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	te.env["CALMONY_DATABASE"] = storetest.DSN(t, true)
	te.migrate()
	var bases []string
	for range 2 {
		base, _, stop := te.serve()
		defer stop()
		bases = append(bases, base)
	}
	idRE := regexp.MustCompile(`key_[0-9A-Za-z]+`)
	for round := range 3 {
		code, out, errOut := te.cmd("keys", "create", "--mode", "test")
		key := keyRE.FindString(lastLine(out))
		if code != 0 || key == "" {
			t.Fatalf("keys create = %d %q %s", code, out, errOut)
		}
		_, list, _ := te.cmd("keys", "list")
		id := idRE.FindString(lineWith(list, key[len(key)-4:]))
		if id == "" {
			t.Fatalf("key %s…%s not in the list:\n%s", key[:8], key[len(key)-4:], list)
		}
		for _, base := range bases {
			if status, _ := request(t, "GET", base+"/v1/customers", key, nil); status != 200 {
				t.Fatalf("round %d: the new key on %s: %d", round, base, status)
			}
		}
		warmed := time.Now() // each instance has cached the key
		if code, _, errOut := te.cmd("keys", "revoke", id); code != 0 {
			t.Fatalf("keys revoke: %s", errOut)
		}
		revoked := time.Since(warmed)
		for _, base := range bases {
			for {
				status, _ := request(t, "GET", base+"/v1/customers", key, nil)
				if status == 401 {
					break
				}
				if status != 200 {
					t.Fatalf("round %d: %s answered %d", round, base, status)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		took := time.Since(warmed)
		t.Logf("round %d: revoked %v after the key was cached, refused by both instances %v after", round, revoked, took)
		if revoked > 300*time.Millisecond {
			t.Logf("round %d: keys revoke took %v: the round shows nothing", round, revoked)
			continue
		}
		if took > 600*time.Millisecond {
			t.Errorf("round %d: the revoked key was refused by both instances only %v after they cached it (the cache's expiry, not the notification?)", round, took)
		}
	}
}
