package pay

import (
	"testing"
	"time"
)

func TestNewIDsSortByCreation(t *testing.T) {
	t.Parallel()
	prev := NewID(PrefixCustomer)
	for i := 0; i < 50; i++ {
		time.Sleep(2 * time.Millisecond)
		id := NewID(PrefixCustomer)
		if id <= prev || !HasPrefix(id, PrefixCustomer) || len(id) != len(PrefixCustomer)+24 {
			t.Fatalf("NewID = %q after %q: want a later-sorting ID of the same shape", id, prev)
		}
		prev = id
	}
	seen := map[string]bool{}
	for i := 0; i < 10000; i++ {
		id := NewID(PrefixEvent)
		if seen[id] {
			t.Fatalf("duplicate ID %s", id)
		}
		seen[id] = true
	}
}
