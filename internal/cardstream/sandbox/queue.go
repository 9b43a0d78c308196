package sandbox

import (
	"time"
)

// queue is a first-in, first-out list. The sandbox records duplicate keys
// in time order, so the oldest, the first to expire or to be evicted, is
// always at the front: expiry never scans.
type queue[T any] struct {
	items []T
	head  int
}

func (q *queue[T]) len() int { return len(q.items) - q.head }

func (q *queue[T]) push(v T) { q.items = append(q.items, v) }

// peek returns the oldest item, if any.
func (q *queue[T]) peek() (T, bool) {
	if q.len() == 0 {
		var zero T
		return zero, false
	}
	return q.items[q.head], true
}

// pop removes and returns the oldest item; the queue must not be empty.
func (q *queue[T]) pop() T {
	v := q.items[q.head]
	var zero T
	q.items[q.head] = zero // let the collector have it
	q.head++
	// Move the live items down once half the array is spent, so memory is
	// reused and the cost stays constant per item.
	if q.head > len(q.items)/2 {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return v
}

// dueChange is a change the clock makes to t at at.
type dueChange struct {
	at time.Time
	t  *txn
}

// dueHeap orders pending clock changes earliest first (container/heap).
// Capture delays differ, so these are not in creation order.
type dueHeap []dueChange

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(dueChange)) }

func (h *dueHeap) Pop() any {
	old := *h
	v := old[len(old)-1]
	old[len(old)-1] = dueChange{}
	*h = old[:len(old)-1]
	return v
}
