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
	// Within one millisecond too: 10,000 IDs in a row, each after the last.
	prev = NewID(PrefixEvent)
	for i := 0; i < 10000; i++ {
		id := NewID(PrefixEvent)
		if id <= prev {
			t.Fatalf("NewID = %q after %q: want a later-sorting ID", id, prev)
		}
		prev = id
	}
}

func TestIDClockNeverStepsBack(t *testing.T) {
	t.Parallel()
	future := time.Now().Add(time.Hour).UnixMilli() // as if the clock had stepped back an hour
	c := idCounter{ms: future, n: idsPerMilli - 2}
	if ms, n := c.next(); ms != future || n != idsPerMilli-1 {
		t.Errorf("next = %d, %d; want %d, %d", ms, n, future, idsPerMilli-1)
	}
	if ms, n := c.next(); ms != future+1 || n != 0 { // the count is used up: the next millisecond
		t.Errorf("next = %d, %d; want %d, 0", ms, n, future+1)
	}
}
