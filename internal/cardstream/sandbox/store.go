package sandbox

import (
	"container/heap"
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	cs "github.com/calmony/calmonypay/internal/cardstream"
)

// Errors returned by Settle.
var (
	// ErrUnknownXRef means no transaction has that xref.
	ErrUnknownXRef = errors.New("sandbox: unknown xref")
	// ErrNotSettleable means the transaction is not captured (for example
	// still approved awaiting capture, or already settled or cancelled).
	ErrNotSettleable = errors.New("sandbox: transaction is not awaiting settlement")
)

// xrefLifetime is how long an xref and its data are kept (§8.3).
const xrefLifetime = 13 * 31 * 24 * time.Hour

// card is stored card data. The CVV is never stored.
type card struct {
	number string
	month  uint8
	year   uint8 // two digits
}

// txn is one stored transaction. It keeps only what later requests read
// (xref sales, QUERY, CAPTURE, CANCEL, REFUND_SALE, settlement and 3-D
// Secure), in typed fields, and none of its strings point into a request
// body: under load the sandbox holds up to Options.MaxTransactions of them.
type txn struct {
	xref       string
	merchantID string
	// id is the transactionID.
	id     int64
	action string
	typ    string
	state  cs.State
	// created and capturedAt drive the xref lifetime, delayed capture and
	// the settle-after schedule.
	created    time.Time
	capturedAt time.Time
	// amount is the authorised amount; captured what will (or did) settle.
	amount   int64
	captured int64
	refunded int64
	currency string
	country  string
	card     card
	// captureDelay is in days; -1 means manual capture only.
	captureDelay int
	hasDelay     bool
	// code and message are the transaction's own response (for QUERY).
	code    int
	message string
	// stored are the request fields the gateway keeps (not custom ones),
	// packed by packFields.
	stored string
	// answer rebuilds the response fields the transaction produced.
	answer answer
	// threeDS holds a pending challenge's reference.
	threeDS *challenge
	// use is t's place in store.order.
	use *list.Element
}

// store is the sandbox's state, guarded by mu.
type store struct {
	mu          sync.Mutex
	seq         int64
	limit       int
	settleAfter time.Duration
	txns        map[string]*txn
	// order holds the transactions least recently used first, for eviction
	// at limit. A use is a request naming the xref, so a card token stays
	// known as long as it is charged at least once every limit
	// transactions.
	order *list.List
	// due holds the clock's pending changes to transactions: delayed
	// captures, and settlements when settleAfter is set.
	due dueHeap
	// dups maps duplicate keys to the end of their window, in Unix
	// nanoseconds (8 bytes, where a time.Time takes 24); dupOrder holds them
	// oldest first, so expiry stops at the first live one.
	dups     map[dupKey]int64
	dupOrder queue[dupEntry]
	// sessions and challenges are open hosted payment pages and 3-D
	// Secure challenges, bounded in total and per client.
	sessions   *openTable[*session]
	challenges *openTable[*challenge]
	// expired is when expire last swept; lookups check expiry themselves,
	// so a sweep a second is enough and keeps requests O(1).
	expired time.Time
}

func newStore(limit, perClient int, settleAfter time.Duration) *store {
	st := &store{
		seq:         1000000,
		limit:       limit,
		settleAfter: settleAfter,
		txns:        map[string]*txn{},
		order:       list.New(),
		dups:        map[dupKey]int64{},
		sessions:    newOpenTable[*session](limit, perClient, sessionLifetime, nil),
	}
	// A transaction whose challenge expired or was evicted ends as finished.
	st.challenges = newOpenTable(limit, perClient, challengeLifetime, func(ch *challenge) {
		if t := st.txns[ch.xref]; t != nil && t.threeDS == ch && t.state == cs.StateReceived {
			t.state, t.threeDS = cs.StateFinished, nil
		}
	})
	return st
}

// nextID returns a new transactionID. Callers hold mu.
func (st *store) nextID() int64 {
	st.seq++
	return st.seq
}

// add stores t, forgetting the least recently used transactions beyond
// the limit. Callers hold mu.
func (st *store) add(t *txn) {
	st.txns[t.xref] = t
	t.use = st.order.PushBack(t)
	for st.order.Len() > st.limit {
		old := st.order.Remove(st.order.Front()).(*txn)
		if old.threeDS != nil {
			st.challenges.remove(old.threeDS.ref)
		}
		delete(st.txns, old.xref)
	}
	st.track(t)
}

// track schedules the clock's next change to t, if time can change it.
// An entry made stale by a later change is skipped when it falls due.
// Callers hold mu.
func (st *store) track(t *txn) {
	if at, ok := st.nextChange(t); ok {
		heap.Push(&st.due, dueChange{at: at, t: t})
	}
}

// nextChange returns when the clock next changes t: the end of its
// capture delay, or its settlement settleAfter after capture.
func (st *store) nextChange(t *txn) (time.Time, bool) {
	switch {
	case t.state == cs.StateApproved && t.hasDelay && t.captureDelay > 0:
		return t.created.Add(time.Duration(t.captureDelay) * 24 * time.Hour), true
	case t.state == cs.StateCaptured && st.settleAfter > 0:
		return t.capturedAt.Add(st.settleAfter), true
	}
	return time.Time{}, false
}

// lookup returns the live transaction xref of merchantID, and counts as a
// use of it. Callers hold mu.
func (st *store) lookup(xref, merchantID string, now time.Time) (*txn, bool) {
	t, ok := st.txns[xref]
	if !ok || t.merchantID != merchantID || now.Sub(t.created) > xrefLifetime {
		return nil, false
	}
	st.order.MoveToBack(t.use)
	return t, true
}

// dupKey identifies requests that are duplicates of each other (§9.7): a
// SHA-256 of the fields that decide it, cut to 128 bits. Keeping the hash
// rather than the fields saves about 100 bytes per transaction; a false
// duplicate would need a 128-bit collision.
type dupKey [16]byte

func newDupKey(parts ...string) dupKey {
	size := 0
	for _, p := range parts {
		size += binary.MaxVarintLen64 + len(p)
	}
	b := make([]byte, 0, size)
	for _, p := range parts {
		// Length-prefixed, so the parts cannot run into each other.
		b = append(binary.AppendUvarint(b, uint64(len(p))), p...)
	}
	sum := sha256.Sum256(b)
	return dupKey(sum[:16])
}

// dupEntry is one duplicate key in the order it was recorded; until is in
// Unix nanoseconds.
type dupEntry struct {
	key   dupKey
	until int64
}

// duplicate records key until expiry and reports whether an earlier
// request with the same key is still inside its window. At most limit keys
// are kept, like transactions: beyond that the oldest is forgotten early.
// Callers hold mu.
func (st *store) duplicate(key dupKey, now time.Time, window time.Duration) bool {
	if until, ok := st.dups[key]; ok && now.UnixNano() < until {
		return true
	}
	if window > 0 {
		until := now.Add(window).UnixNano()
		st.dups[key] = until
		st.dupOrder.push(dupEntry{key: key, until: until})
		if st.dupOrder.len() > st.limit {
			st.forgetDup(st.dupOrder.pop())
		}
	}
	return false
}

// forgetDup deletes e's key unless it was recorded again since.
func (st *store) forgetDup(e dupEntry) {
	if until, ok := st.dups[e.key]; ok && until == e.until {
		delete(st.dups, e.key)
	}
}

// advance applies everything the clock has made due: delayed captures, the
// settle-after schedule and expiries. Callers hold mu.
func (st *store) advance(now time.Time) {
	for st.due.Len() > 0 && !now.Before(st.due[0].at) {
		t := heap.Pop(&st.due).(dueChange).t
		at, ok := st.nextChange(t)
		if !ok || now.Before(at) || st.txns[t.xref] != t {
			continue // changed or forgotten since; a later change is queued itself
		}
		if t.state == cs.StateApproved {
			t.state, t.captured, t.capturedAt = cs.StateCaptured, t.amount, now
			st.track(t)
			continue
		}
		t.settle()
	}
	if now.Sub(st.expired) >= time.Second || now.Before(st.expired) {
		st.expire(now)
		st.expired = now
	}
}

// expire forgets duplicate keys, sessions and challenges past their time.
// Each is recorded in time order, so each sweep stops at the first live
// one (a duplicate key with a shorter window than one before it waits for
// that one, at most the longest window: lookups compare the time
// themselves).
func (st *store) expire(now time.Time) {
	for e, ok := st.dupOrder.peek(); ok && now.UnixNano() >= e.until; e, ok = st.dupOrder.peek() {
		st.forgetDup(st.dupOrder.pop())
	}
	st.sessions.expire(now)
	st.challenges.expire(now)
}

// settle moves a captured transaction to accepted, or rejected when the
// captured amount is in a test range that fails settlement (§11.2).
func (t *txn) settle() {
	t.state = cs.StateAccepted
	if t.action == "SALE" && settlementRejected(t.captured) {
		t.state = cs.StateRejected
	}
}

// Settle settles one captured transaction now and returns its new state
// (accepted or rejected).
func (s *Sandbox) Settle(xref string) (cs.State, error) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.advance(s.now())
	t, ok := s.st.txns[xref]
	if !ok {
		return "", fmt.Errorf("settle %s: %w", xref, ErrUnknownXRef)
	}
	if t.state != cs.StateCaptured {
		return t.state, fmt.Errorf("settle %s in state %s: %w", xref, t.state, ErrNotSettleable)
	}
	t.settle()
	return t.state, nil
}

// SettleAll settles every captured transaction and returns how many.
func (s *Sandbox) SettleAll() int {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.advance(s.now())
	n := 0
	for _, t := range s.st.txns {
		if t.state == cs.StateCaptured {
			t.settle()
			n++
		}
	}
	return n
}

// State returns the current state of a transaction, for tests and tools.
func (s *Sandbox) State(xref string) (cs.State, bool) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.st.advance(s.now())
	t, ok := s.st.txns[xref]
	if !ok {
		return "", false
	}
	return t.state, true
}

// handleSettle serves POST sandbox/settle. With xref=… it settles that
// transaction (404 unknown, 409 not captured); without, everything
// captured. The answer is form-encoded: xref and state, or settled=N.
func (s *Sandbox) handleSettle(w http.ResponseWriter, r *http.Request) {
	f, err := cs.ReadBody(r)
	if err != nil {
		http.Error(w, "unparsable body", http.StatusBadRequest)
		return
	}
	setHeaders(w, "application/x-www-form-urlencoded; charset=UTF-8", apiCSP)
	xref := f.Get("xref")
	if xref == "" {
		n := s.SettleAll()
		fmt.Fprint(w, cs.Fields{{Name: "settled", Value: strconv.Itoa(n)}}.Encode())
		return
	}
	state, err := s.Settle(xref)
	switch {
	case errors.Is(err, ErrUnknownXRef):
		w.WriteHeader(http.StatusNotFound)
	case err != nil:
		w.WriteHeader(http.StatusConflict)
	}
	fmt.Fprint(w, cs.Fields{{Name: "xref", Value: xref}, {Name: "state", Value: string(state)}}.Encode())
}
