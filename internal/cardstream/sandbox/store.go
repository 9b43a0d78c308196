package sandbox

import (
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
	month  int
	year   int // two digits
}

// txn is one stored transaction.
type txn struct {
	xref       string
	id         string
	merchantID string
	action     string
	typ        string
	state      cs.State
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
	// stored are the request fields the gateway keeps (not custom ones);
	// result the response fields it produced.
	stored cs.Fields
	result cs.Fields
	// code and message are the transaction's own response (for QUERY).
	code    int
	message string
	// threeDS holds a pending challenge's reference.
	threeDS *challenge
}

// store is the sandbox's state, guarded by mu.
type store struct {
	mu          sync.Mutex
	seq         int64
	limit       int
	settleAfter time.Duration
	txns        map[string]*txn
	// order lists xrefs oldest first, for eviction at limit.
	order []string
	// watch holds transactions the clock may change: approved with a
	// capture delay, and captured ones when settleAfter is set.
	watch      map[string]*txn
	dups       map[string]time.Time
	sessions   map[string]*session
	challenges map[string]*challenge
	// expired is when expire last swept; lookups check expiry themselves,
	// so a sweep a second is enough and keeps requests O(1).
	expired time.Time
}

func newStore(limit int, settleAfter time.Duration) *store {
	return &store{
		seq:         1000000,
		limit:       limit,
		settleAfter: settleAfter,
		txns:        map[string]*txn{},
		watch:       map[string]*txn{},
		dups:        map[string]time.Time{},
		sessions:    map[string]*session{},
		challenges:  map[string]*challenge{},
	}
}

// nextID returns a new transactionID. Callers hold mu.
func (st *store) nextID() string {
	st.seq++
	return strconv.FormatInt(st.seq, 10)
}

// add stores t, forgetting the oldest transactions beyond the limit.
// Callers hold mu.
func (st *store) add(t *txn) {
	st.txns[t.xref] = t
	st.order = append(st.order, t.xref)
	for len(st.order) > st.limit {
		old := st.order[0]
		st.order = st.order[1:]
		if o := st.txns[old]; o != nil && o.threeDS != nil {
			delete(st.challenges, o.threeDS.ref)
		}
		delete(st.txns, old)
		delete(st.watch, old)
	}
	st.track(t)
}

// track puts t on the clock's watch list when time can change it.
// Callers hold mu.
func (st *store) track(t *txn) {
	if st.clockDriven(t) {
		st.watch[t.xref] = t
	}
}

func (st *store) clockDriven(t *txn) bool {
	switch t.state {
	case cs.StateApproved:
		return t.hasDelay && t.captureDelay > 0
	case cs.StateCaptured:
		return st.settleAfter > 0
	}
	return false
}

// full reports whether no more sessions or challenges may be opened.
func (st *store) full() bool {
	return len(st.sessions)+len(st.challenges) >= st.limit
}

// lookup returns the live transaction xref of merchantID.
func (st *store) lookup(xref, merchantID string, now time.Time) (*txn, bool) {
	t, ok := st.txns[xref]
	if !ok || t.merchantID != merchantID || now.Sub(t.created) > xrefLifetime {
		return nil, false
	}
	return t, true
}

// duplicate records key until expiry and reports whether an earlier
// request with the same key is still inside its window. Callers hold mu.
func (st *store) duplicate(key string, now time.Time, window time.Duration) bool {
	if until, ok := st.dups[key]; ok && now.Before(until) {
		return true
	}
	if window > 0 {
		st.dups[key] = now.Add(window)
	}
	return false
}

// advance applies everything the clock has made due: delayed captures, the
// settle-after schedule and expiries. Callers hold mu.
func (st *store) advance(now time.Time) {
	for xref, t := range st.watch {
		if t.state == cs.StateApproved && !now.Before(t.created.Add(time.Duration(t.captureDelay)*24*time.Hour)) {
			t.state, t.captured, t.capturedAt = cs.StateCaptured, t.amount, now
		}
		if t.state == cs.StateCaptured && st.settleAfter > 0 && !now.Before(t.capturedAt.Add(st.settleAfter)) {
			t.settle()
		}
		if !st.clockDriven(t) {
			delete(st.watch, xref)
		}
	}
	if now.Sub(st.expired) >= time.Second || now.Before(st.expired) {
		st.expire(now)
		st.expired = now
	}
}

// expire forgets duplicate keys, sessions and challenges past their time.
// A transaction whose challenge expired ends as finished.
func (st *store) expire(now time.Time) {
	for key, until := range st.dups {
		if !now.Before(until) {
			delete(st.dups, key)
		}
	}
	for id, sess := range st.sessions {
		if now.Sub(sess.created) > sessionLifetime {
			delete(st.sessions, id)
		}
	}
	for ref, ch := range st.challenges {
		if now.Sub(ch.created) > challengeLifetime {
			delete(st.challenges, ref)
			if t := st.txns[ch.xref]; t != nil && t.state == cs.StateReceived {
				t.state, t.threeDS = cs.StateFinished, nil
			}
		}
	}
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
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
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
