package sandbox

import (
	"container/list"
	"time"
)

// openTable holds short-lived state that requests open: hosted payment
// sessions and 3-D Secure challenges. It is bounded in total and per
// client, and it never refuses an entry: one beyond its client's bound
// replaces that client's oldest, and one beyond the total bound the oldest
// of all. However many requests one client makes it holds at most
// perClient places, so crowding out everyone else takes limit/perClient
// clients, and nobody is ever locked out. Callers hold the store's lock.
type openTable[T any] struct {
	limit, perClient int
	lifetime         time.Duration
	byID             map[string]*openEntry[T]
	// all holds every entry oldest first; clients the same per client.
	all     list.List
	clients map[string]*list.List
	// drop is told of each entry that expires or is evicted (not of
	// those removed).
	drop func(T)
}

type openEntry[T any] struct {
	id, client string
	created    time.Time
	value      T
	all, own   *list.Element
}

func newOpenTable[T any](limit, perClient int, lifetime time.Duration, drop func(T)) *openTable[T] {
	return &openTable[T]{limit: limit, perClient: min(perClient, limit), lifetime: lifetime,
		byID: map[string]*openEntry[T]{}, clients: map[string]*list.List{}, drop: drop}
}

// add stores value under id for client, evicting as described above.
func (t *openTable[T]) add(id, client string, now time.Time, value T) {
	own := t.clients[client]
	switch {
	case own != nil && own.Len() >= t.perClient:
		t.evict(own.Front().Value.(*openEntry[T]))
	case t.all.Len() >= t.limit:
		t.evict(t.all.Front().Value.(*openEntry[T]))
	}
	if own = t.clients[client]; own == nil {
		own = list.New()
		t.clients[client] = own
	}
	e := &openEntry[T]{id: id, client: client, created: now, value: value}
	e.all, e.own = t.all.PushBack(e), own.PushBack(e)
	t.byID[id] = e
}

// get returns the live entry id.
func (t *openTable[T]) get(id string, now time.Time) (T, bool) {
	e, ok := t.byID[id]
	if !ok || now.Sub(e.created) > t.lifetime {
		var zero T
		return zero, false
	}
	return e.value, true
}

// find returns the first live entry match accepts.
func (t *openTable[T]) find(now time.Time, match func(T) bool) (T, bool) {
	for el := t.all.Front(); el != nil; el = el.Next() {
		if e := el.Value.(*openEntry[T]); now.Sub(e.created) <= t.lifetime && match(e.value) {
			return e.value, true
		}
	}
	var zero T
	return zero, false
}

// remove forgets id, if present, without telling drop.
func (t *openTable[T]) remove(id string) {
	if e, ok := t.byID[id]; ok {
		t.unlink(e)
	}
}

// expire evicts the entries past their lifetime. They were added in time
// order, so it stops at the first live one (get checks the time itself).
func (t *openTable[T]) expire(now time.Time) {
	for el := t.all.Front(); el != nil; el = t.all.Front() {
		e := el.Value.(*openEntry[T])
		if now.Sub(e.created) <= t.lifetime {
			return
		}
		t.evict(e)
	}
}

func (t *openTable[T]) evict(e *openEntry[T]) {
	t.unlink(e)
	if t.drop != nil {
		t.drop(e.value)
	}
}

func (t *openTable[T]) unlink(e *openEntry[T]) {
	delete(t.byID, e.id)
	t.all.Remove(e.all)
	own := t.clients[e.client]
	if own.Remove(e.own); own.Len() == 0 {
		delete(t.clients, e.client)
	}
}
