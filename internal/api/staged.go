package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// A staged handler is a write that calls the card gateway. It cannot hold a
// transaction across the call, so it runs in steps: prepare (a transaction
// that validates against current state, records the call about to be made
// as a gateway op and binds the request's idempotency key to it), the
// gateway call, then settle (a transaction that records the outcome and, in
// the same transaction, the response kept for idempotent replays).
//
// Once prepare has committed, the request's first execution is never run
// again: a retry with its key finds the op and waits for its outcome, which
// whoever settles the op (this request, the reconciler after a crash, an
// operator) records together with the key's response. While the request
// waits on the gateway it renews its lease on the op, so the reconciler
// leaves the op alone.
type (
	stagedHandler func(r *http.Request, p *params) (stagedFunc, error)
	stagedFunc    func(ctx context.Context, st *stage) error
)

// stage carries one staged request.
type stage struct {
	s      *Server
	scope  pay.Scope
	claim  *claim // the request's idempotency key, or nil
	expand []string
	status int
	body   []byte

	// op is the gateway op prepare recorded, with the ID opID chosen before
	// it so that the key's claim can name it, and pending the object to
	// answer with while its outcome is unknown (the intent processing, the
	// refund pending).
	opID         string
	op           *pay.GatewayOp
	pending      any
	prepared     chan struct{} // closed once prepare has committed
	stopRenewing func()
}

// answeredError ends a staged request whose idempotency key belongs to an
// earlier request: serveStaged replays that one's response, waits for its
// gateway op, or refuses.
type answeredError struct{ rec *store.IdemRecord }

func (e *answeredError) Error() string { return "idempotency key already used" }

// unlessTaken returns err, or an *answeredError if rec says the key belongs
// to an earlier request.
func unlessTaken(rec *store.IdemRecord, err error) error {
	if err == nil && rec.Outcome != store.IdemStarted {
		return &answeredError{rec}
	}
	return err
}

// Sentinels a settle function returns with the object to answer.
var (
	// errNoOutcome: the outcome is still unknown (the op stays pending for
	// the reconciler) or needs an operator (the op is parked). What the
	// settle function wrote is committed; the object is answered but not
	// stored under the key, which stays bound to the op.
	errNoOutcome = errors.New("gateway outcome not known yet")
	// errSettledElsewhere: another actor (the reconciler, another
	// instance, a late answer) recorded the op's outcome first. Nothing is
	// written; the request answers with that outcome.
	errSettledElsewhere = errors.New("gateway op settled already")
	// errCrashed ends a request at a crash point (Config.Crash).
	errCrashed = errors.New("simulated crash")
)

// finishOp records an op's outcome: FinishGatewayOp with state and note,
// mapping an op already settled by someone else to errSettledElsewhere.
func finishOp(ctx context.Context, tx *store.Tx, op *pay.GatewayOp, state, note string) error {
	err := tx.FinishGatewayOp(ctx, op.ID, state, note)
	if errors.Is(err, pay.ErrNotFound) {
		return errSettledElsewhere
	}
	return err
}

// claimIn claims the request's key, if it has one, inside prepare's tx,
// bound to the op about to be recorded (st.opID). The claim costs no
// transaction of its own: the gateway call that moves money comes after
// prepare, and one before it must be safe to repeat (peek).
func (st *stage) claimIn(ctx context.Context, tx *store.Tx) error {
	if st.claim == nil {
		return nil
	}
	c := st.claim
	return unlessTaken(tx.ClaimIdempotent(ctx, c.key, c.method, c.path, c.fingerprint, st.opID, idempotencyLease))
}

// peek checks the request's key through the read pool, before a gateway
// call that is safe to repeat (a card verification, which moves no money):
// a key already used is answered from its first request, and a new one is
// claimed only by the transaction that records the outcome. Two requests
// racing with one new key may then both verify the card; only one's outcome
// is kept, and the other replays it or is told to retry.
func (st *stage) peek(ctx context.Context) error {
	if st.claim == nil {
		return nil
	}
	c := st.claim
	return unlessTaken(st.s.db.PeekIdempotent(ctx, c.key, c.method, c.path, c.fingerprint))
}

// newOp starts the gateway op a prepare records: with the ID the key's
// claim names, owned by this request, with the request's key and expand
// list.
func (st *stage) newOp(scope pay.Scope, kind, objectID, unique string) *pay.GatewayOp {
	op := &pay.GatewayOp{ID: st.opID, Scope: scope, Kind: kind, ObjectID: objectID, TransactionUnique: unique,
		Owner: newOwner(), Expand: st.expand}
	if st.claim != nil {
		op.IdempotencyKey = st.claim.key.Key
	}
	return op
}

// prepare runs fn in its own transaction, after the key's claim. fn must
// record the gateway op with recordOp. Once it has committed the request is
// bound to the op: it renews its lease on the op until it settles, and a
// failure from here on never frees the key.
func (st *stage) prepare(ctx context.Context, fn func(tx *store.Tx) error) error {
	err := st.s.db.Tx(ctx, func(tx *store.Tx) error {
		st.op, st.pending = nil, nil
		st.opID = pay.NewID(pay.PrefixGatewayOp)
		if err := st.claimIn(ctx, tx); err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			return err
		}
		if st.op == nil {
			return errors.New("staged prepare recorded no gateway op")
		}
		return nil
	})
	if err != nil {
		st.op, st.pending = nil, nil // rolled back
		return err
	}
	st.stopRenewing = st.s.holdLease(st.op)
	close(st.prepared)
	return st.s.crashAt("prepared")
}

// recordOp records the gateway op that prepare's fn is about to call,
// with req, what a resend needs (never card data), and pending, the object
// to answer while its outcome is unknown. op comes from newOp.
func (st *stage) recordOp(ctx context.Context, tx *store.Tx, op *pay.GatewayOp, req any, pending any) error {
	raw, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if err := tx.CreateGatewayOp(ctx, op, raw, opLease); err != nil {
		return err
	}
	st.op, st.pending = op, pending
	return nil
}

// settle records the outcome of prepare's gateway call with fn, in the
// final transaction, and the response under the request's key. fn returns
// the response object, or a *pay.Error that is answered, and stored, while
// fn's writes are kept (a card decline recorded on the payment intent), or
// one of the sentinels above. Any other error rolls fn back and is tried
// again; if it persists, the op is left to the reconciler and the request
// answers with the pending object: the money may have moved, so it neither
// fails nor frees the key.
func (st *stage) settle(ctx context.Context, fn func(tx *store.Tx) (any, error)) error {
	st.stopRenewing()
	if err := st.s.crashAt("called"); err != nil {
		return err
	}
	var err error
	for attempt := range settleAttempts {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
		}
		err = st.s.db.Tx(ctx, func(tx *store.Tx) error { return st.finish(ctx, tx, fn, nil) })
		if err == nil || errors.Is(err, errSettledElsewhere) {
			break
		}
	}
	switch {
	case errors.Is(err, errSettledElsewhere):
		err = st.answerSettled(ctx)
	case err != nil:
		st.s.log.ErrorContext(ctx, "recording a gateway outcome failed; the reconciler will settle the op", "op", st.op.ID, "err", err)
		err = st.answerPending(ctx)
	}
	if err != nil {
		return err
	}
	return st.s.crashAt("settled")
}

const settleAttempts = 3

// commit runs fn in the only transaction of a request that records no
// gateway op, and stores its response under the key. See settle for fn.
// The key is written here once, with the response; if it turns out to be
// taken, the transaction is run again with the key looked up, which
// replays, refuses or takes over an expired key.
func (st *stage) commit(ctx context.Context, fn func(tx *store.Tx) (any, error)) error {
	if st.claim == nil {
		return st.s.db.Tx(ctx, func(tx *store.Tx) error { return st.finish(ctx, tx, fn, nil) })
	}
	err := st.s.db.Tx(ctx, func(tx *store.Tx) error { return st.finish(ctx, tx, fn, store.NewIdemRecord()) })
	if !errors.Is(err, store.ErrIdempotencyRace) {
		return err
	}
	return st.s.db.Tx(ctx, func(tx *store.Tx) error {
		c := st.claim
		rec, err := tx.LookupIdempotent(ctx, c.key, c.method, c.path, c.fingerprint)
		if err := unlessTaken(rec, err); err != nil {
			return err
		}
		return st.finish(ctx, tx, fn, rec)
	})
}

// finish runs fn and renders its response, and stores it under the key:
// through the op for a request bound to one, else with
// RecordIdempotent(rec), the key being written only now.
func (st *stage) finish(ctx context.Context, tx *store.Tx, fn func(tx *store.Tx) (any, error), rec *store.IdemRecord) error {
	obj, err := fn(tx)
	if errors.Is(err, errNoOutcome) {
		// Hand an op still pending to the reconciler at once; a parked op is
		// not pending any more and is left as it is.
		if err := tx.ReleaseGatewayOp(ctx, st.op.ID, st.op.Owner, "outcome unknown: left to the reconciler", 0); err != nil {
			return err
		}
		body, err := st.s.render(ctx, tx, st.scope, obj, st.expand)
		st.status, st.body = http.StatusOK, body
		return err
	}
	status, body, err := st.s.respond(ctx, tx, st.scope, obj, err, st.expand)
	if err != nil {
		return err
	}
	switch c := st.claim; {
	case c == nil:
	case st.op != nil:
		err = tx.FinishOpIdempotent(ctx, st.op, status, body)
	default:
		err = tx.RecordIdempotent(ctx, rec, c.key, c.method, c.path, c.fingerprint, status, body)
	}
	if err != nil {
		return err
	}
	st.status, st.body = status, body
	return nil
}

// respond renders a settle function's result: the object, or the
// *pay.Error it answered with (a decline, shown unexpanded), with the
// status to send.
func (s *Server) respond(ctx context.Context, q finder, scope pay.Scope, obj any, err error, expand []string) (int, []byte, error) {
	if e, ok := pay.AsError(err); ok {
		body, err := json.Marshal(newErrorBody(e))
		return e.Status, body, err
	}
	if err != nil {
		return 0, nil, err
	}
	body, err := s.render(ctx, q, scope, obj, expand)
	return http.StatusOK, body, err
}

// answerPending sets the answer to the object prepare left pending, as it
// is now: the outcome is unknown, the key stays bound to the op.
func (st *stage) answerPending(ctx context.Context) error {
	body, err := st.pendingBody(ctx)
	if err != nil {
		return err
	}
	st.status, st.body = http.StatusOK, body
	return nil
}

// pendingBody renders the object prepare left pending, as it is now. It
// changes nothing in st, so it may run while the request goes on.
func (st *stage) pendingBody(ctx context.Context) ([]byte, error) {
	obj, err := st.s.opObject(ctx, st.op)
	if err != nil {
		obj = st.pending // the database is failing: answer what prepare wrote
	}
	body, err := st.s.render(ctx, st.s.db, st.scope, obj, st.expand)
	if err != nil {
		return nil, err
	}
	// Read through the read pool: show nothing a power loss could undo.
	return body, st.s.db.AwaitDurable(ctx)
}

// answerSettled sets the answer of a request whose op another actor
// settled: the response it stored under the key, or the object as it is now.
func (st *stage) answerSettled(ctx context.Context) error {
	if c := st.claim; c != nil {
		rec, err := st.s.db.PeekIdempotent(ctx, c.key, c.method, c.path, c.fingerprint)
		if err != nil {
			return err
		}
		if rec.Outcome == store.IdemReplay {
			st.status, st.body = rec.Status, rec.Response
			return st.s.db.AwaitDurable(ctx) // read through the read pool
		}
	}
	return st.answerPending(ctx)
}

// opObject reads the object an op is for, as it is now.
func (s *Server) opObject(ctx context.Context, op *pay.GatewayOp) (any, error) {
	if op.Kind == "refund" {
		re, err := s.db.FindRefund(ctx, op.Scope, op.ObjectID)
		if err != nil {
			return nil, err
		}
		return pay.RefundView(re), nil
	}
	pi, err := s.db.FindPaymentIntent(ctx, op.Scope, op.ObjectID)
	if err != nil {
		return nil, err
	}
	return pay.PaymentIntentView(pi), nil
}

// staged adapts a stagedHandler whose answer is an object of type typ to
// http.Handler.
func (s *Server) staged(typ string, h stagedHandler) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error { return s.serveStaged(w, r, typ, h) })
}

func (s *Server) serveStaged(w http.ResponseWriter, r *http.Request, typ string, h stagedHandler) error {
	p, fn, err := parse(s, r, h)
	if err != nil {
		return err
	}
	return s.runStaged(w, r, typ, p, fn)
}

// runStaged runs a parsed staged request (see stagedHandler).
func (s *Server) runStaged(w http.ResponseWriter, r *http.Request, typ string, p *params, fn stagedFunc) error {
	// An expand[] path the answer cannot take is refused now: after the
	// gateway call it could only fail a payment that has been made.
	if err := checkExpand(typ, p.expand); err != nil {
		return err
	}
	ctx := r.Context()
	st := &stage{s: s, scope: keyFrom(ctx).Scope(), expand: p.expand, prepared: make(chan struct{}), stopRenewing: func() {}}
	var err error
	if st.claim, err = s.idempotencyClaim(w, r, p.values); err != nil {
		return err
	}
	if st.claim != nil {
		ctx = pay.NewContextWithIdempotencyKey(ctx, st.claim.key.Key)
	}
	// The gateway call and the recording of its outcome must finish even if
	// the client goes away: money may already have moved. They run on their
	// own, and a request still waiting on the gateway after answerWithin is
	// answered with the payment as it is (processing) while they go on.
	ctx = context.WithoutCancel(ctx)
	done := make(chan error, 1)
	s.inflight.Add(1)
	go func() {
		defer s.inflight.Done()
		defer func() { st.stopRenewing() }()
		done <- fn(ctx, st)
	}()
	slow := time.NewTimer(s.answerWithin)
	defer slow.Stop()
	select {
	case err = <-done:
	case <-slow.C:
		select {
		case err = <-done:
		case <-st.prepared:
			select {
			case err = <-done:
			default:
				s.log.WarnContext(ctx, "gateway is slow: answering with the payment as it is; its outcome will be recorded when it comes",
					"request_id", requestID(r), "op", st.op.ID)
				body, err := st.pendingBody(ctx)
				if err != nil {
					return err
				}
				writeBody(w, http.StatusOK, body)
				return nil
			}
		}
	}
	if errors.Is(err, errCrashed) {
		panic(http.ErrAbortHandler) // the client sees the connection drop, as in a crash
	}
	if err != nil {
		var answered *answeredError
		if errors.As(err, &answered) {
			return s.answerEarlier(ctx, w, st, answered.rec)
		}
		if st.op == nil {
			return err // nothing was committed: the key is free
		}
		// Prepared: the key stays bound and the op is the reconciler's.
		s.log.ErrorContext(ctx, "staged request failed after its gateway op was recorded", "request_id", requestID(r), "op", st.op.ID, "err", err)
		if err := st.answerPending(ctx); err != nil {
			return err
		}
	}
	writeBody(w, st.status, st.body)
	return nil
}

// answerEarlier answers a request whose key an earlier request used: it
// replays that one's response, or refuses; if the earlier request is bound
// to a gateway op whose outcome is not recorded yet, it waits a little for
// it, then answers with the object as it is (an op parked for an operator)
// or 409 (still in progress).
func (s *Server) answerEarlier(ctx context.Context, w http.ResponseWriter, st *stage, rec *store.IdemRecord) error {
	c := st.claim
	deadline := time.Now().Add(boundWait)
	for rec.Outcome == store.IdemBound {
		op, _, err := s.db.FindGatewayOp(ctx, rec.OpID)
		if err != nil {
			return err
		}
		if op.State == pay.OpPending && time.Now().Before(deadline) {
			time.Sleep(boundPoll)
			continue
		}
		// A settled op's response was stored under the key with its outcome.
		if rec, err = s.db.PeekIdempotent(ctx, c.key, c.method, c.path, c.fingerprint); err != nil {
			return err
		}
		if rec.Outcome != store.IdemBound {
			break
		}
		if op.State == pay.OpPending {
			rec = &store.IdemRecord{Outcome: store.IdemInFlight}
			break
		}
		// Parked for an operator: the object as it is.
		st.op = op
		if err := st.answerPending(ctx); err != nil {
			return err
		}
		writeBody(w, st.status, st.body)
		return nil
	}
	// The key was read through the read pool: replay nothing that a power
	// loss could still undo (see store.AwaitDurable).
	if err := s.db.AwaitDurable(ctx); err != nil {
		return err
	}
	_, err := answerIdempotent(w, rec)
	return err
}

// How long a retry waits for its first request's gateway op to settle
// before it answers 409, and how often it looks.
const (
	boundWait = 3 * time.Second
	boundPoll = 100 * time.Millisecond
)

// crashAt ends the request as a crash of the process would at point, if
// Config.Crash asks for it.
func (s *Server) crashAt(point string) error {
	if s.crash != nil && s.crash(point) {
		return errCrashed
	}
	return nil
}
