package payments

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// An operation that calls the card gateway cannot hold a transaction
// across the call, so it runs in steps: prepare (a transaction that
// validates against current state, records the call about to be made as a
// gateway op and binds the call's idempotency key to it), the gateway call,
// then settle (a transaction that records the outcome and, in the same
// transaction, the answer kept for idempotent replays).
//
// Once prepare has committed, the first execution is never run again: a
// retry with its key finds the op and waits for its outcome, which whoever
// settles the op (this call, the reconciler after a crash, an operator)
// records together with the key's answer. While the call waits on the
// gateway it renews its lease on the op, so the reconciler leaves the op
// alone.
type steps struct {
	s     *Service
	call  Call
	scope pay.Scope
	// answer is the answer once set, Object being the domain object.
	answer Answer

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

// answeredError ends an operation whose idempotency key belongs to an
// earlier call: run replays that one's answer, waits for its gateway op,
// or refuses.
type answeredError struct{ rec *store.IdemRecord }

func (e *answeredError) Error() string { return "idempotency key already used" }

// unlessTaken returns err, or an *answeredError if rec says the key belongs
// to an earlier call.
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
	// written; the call answers with that outcome.
	errSettledElsewhere = errors.New("gateway op settled already")
)

// ErrCrashed ends an operation at a crash point (Config.Crash). The caller
// should stop as a crashed process would: an HTTP handler drops the
// connection.
var ErrCrashed = errors.New("simulated crash")

// finishOp records an op's outcome: FinishGatewayOp with state and note,
// mapping an op already settled by someone else to errSettledElsewhere.
func finishOp(ctx context.Context, tx *store.Tx, op *pay.GatewayOp, state, note string) error {
	err := tx.FinishGatewayOp(ctx, op.ID, state, note)
	if errors.Is(err, pay.ErrNotFound) {
		return errSettledElsewhere
	}
	return err
}

// claimIn claims the call's key, if it has one, inside prepare's tx, bound
// to the op about to be recorded (st.opID). The claim costs no transaction
// of its own: the gateway call that moves money comes after prepare, and
// one before it must be safe to repeat (peek).
func (st *steps) claimIn(ctx context.Context, tx *store.Tx) error {
	c := st.call.Key
	if c == nil {
		return nil
	}
	return unlessTaken(tx.ClaimIdempotent(ctx, c.Key, c.Method, c.Path, c.Fingerprint, st.opID, idempotencyLease))
}

// idempotencyLease is how long a claimed key that no gateway op is bound to
// stays "in flight" if its owner dies without finishing; a retry after that
// runs the call again, which is safe because such a claim means nothing of
// it was committed. A key bound to an op is never run again.
const idempotencyLease = time.Minute

// peek checks the call's key through the read pool, before a gateway call
// that is safe to repeat (a card verification, which moves no money): a
// key already used is answered from its first call, and a new one is
// claimed only by the transaction that records the outcome. Two calls
// racing with one new key may then both verify the card; only one's
// outcome is kept, and the other replays it or is told to retry.
func (st *steps) peek(ctx context.Context) error {
	c := st.call.Key
	if c == nil {
		return nil
	}
	return unlessTaken(st.s.db.PeekIdempotent(ctx, c.Key, c.Method, c.Path, c.Fingerprint))
}

// newOp starts the gateway op a prepare records: with the ID the key's
// claim names, owned by this call, with the call's key and expand list.
func (st *steps) newOp(scope pay.Scope, kind, objectID, unique string) *pay.GatewayOp {
	op := &pay.GatewayOp{ID: st.opID, Scope: scope, Kind: kind, ObjectID: objectID, TransactionUnique: unique,
		Owner: newOwner(), Expand: st.call.Expand}
	if c := st.call.Key; c != nil {
		op.IdempotencyKey = c.Key.Key
	}
	return op
}

// prepare runs fn in its own transaction, after the key's claim. fn must
// record the gateway op with recordOp. Once it has committed the call is
// bound to the op: it renews its lease on the op until it settles, and a
// failure from here on never frees the key.
func (st *steps) prepare(ctx context.Context, fn func(tx *store.Tx) error) error {
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
			return errors.New("prepare recorded no gateway op")
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
func (st *steps) recordOp(ctx context.Context, tx *store.Tx, op *pay.GatewayOp, req any, pending any) error {
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
// final transaction, and the answer under the call's key. fn returns the
// answer's object, or a *pay.Error that is answered, and kept, while fn's
// writes are kept (a card decline recorded on the payment intent), or one
// of the sentinels above. Any other error rolls fn back and is tried
// again; if it persists, the op is left to the reconciler and the call
// answers with the pending object: the money may have moved, so it neither
// fails nor frees the key.
func (st *steps) settle(ctx context.Context, fn func(tx *store.Tx) (any, error)) error {
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

// commit runs fn in the only transaction of an operation that records no
// gateway op, and keeps its answer under the key. See settle for fn. The
// key is written here once, with the answer; if it turns out to be taken,
// the transaction is run again with the key looked up, which replays,
// refuses or takes over an expired key.
func (st *steps) commit(ctx context.Context, fn func(tx *store.Tx) (any, error)) error {
	c := st.call.Key
	if c == nil {
		return st.s.db.Tx(ctx, func(tx *store.Tx) error { return st.finish(ctx, tx, fn, nil) })
	}
	err := st.s.db.Tx(ctx, func(tx *store.Tx) error { return st.finish(ctx, tx, fn, store.NewIdemRecord()) })
	if !errors.Is(err, store.ErrIdempotencyRace) {
		return err
	}
	return st.s.db.Tx(ctx, func(tx *store.Tx) error {
		rec, err := tx.LookupIdempotent(ctx, c.Key, c.Method, c.Path, c.Fingerprint)
		if err := unlessTaken(rec, err); err != nil {
			return err
		}
		return st.finish(ctx, tx, fn, rec)
	})
}

// finish runs fn and renders its answer, and keeps it under the key:
// through the op for a call bound to one, else with RecordIdempotent(rec),
// the key being written only now.
func (st *steps) finish(ctx context.Context, tx *store.Tx, fn func(tx *store.Tx) (any, error), rec *store.IdemRecord) error {
	obj, err := fn(tx)
	if errors.Is(err, errNoOutcome) {
		// Hand an op still pending to the reconciler at once; a parked op is
		// not pending any more and is left as it is.
		if err := tx.ReleaseGatewayOp(ctx, st.op.ID, st.op.Owner, "outcome unknown: left to the reconciler", 0); err != nil {
			return err
		}
		return st.setAnswer(ctx, tx, obj, nil)
	}
	if err := st.setAnswer(ctx, tx, obj, err); err != nil {
		return err
	}
	a := &st.answer
	switch c := st.call.Key; {
	case c == nil:
		return nil
	case st.op != nil:
		return tx.FinishOpIdempotent(ctx, st.op, a.Status, a.Body)
	default:
		return tx.RecordIdempotent(ctx, rec, c.Key, c.Method, c.Path, c.Fingerprint, a.Status, a.Body)
	}
}

// setAnswer renders obj, or the *pay.Error err, as the call's answer,
// reading through f. Any other error is returned.
func (st *steps) setAnswer(ctx context.Context, f Finder, obj any, err error) error {
	status, body, err2 := st.s.render(ctx, f, st.scope, obj, err, st.call.Expand)
	if err2 != nil {
		return err2
	}
	st.answer = Answer{Object: obj, Status: status, Body: body}
	if e, ok := pay.AsError(err); ok {
		st.answer.Object, st.answer.Err = nil, e
	}
	return nil
}

// answerPending sets the answer to the object prepare left pending, as it
// is now: the outcome is unknown, the key stays bound to the op.
func (st *steps) answerPending(ctx context.Context) error {
	a, err := st.pendingAnswer(ctx)
	if err != nil {
		return err
	}
	st.answer = a
	return nil
}

// pendingAnswer renders the object prepare left pending, as it is now. It
// changes nothing in st, so it may run while the operation goes on.
func (st *steps) pendingAnswer(ctx context.Context) (Answer, error) {
	obj, err := st.s.opObject(ctx, st.op)
	if err != nil {
		obj = st.pending // the database is failing: answer what prepare wrote
	}
	status, body, err := st.s.render(ctx, st.s.db, st.scope, obj, nil, st.call.Expand)
	if err != nil {
		return Answer{}, err
	}
	// Read through the read pool: show nothing a power loss could undo.
	return Answer{Object: obj, Status: status, Body: body}, st.s.db.AwaitDurable(ctx)
}

// answerSettled sets the answer of a call whose op another actor settled:
// the answer it kept under the key, or the object as it is now.
func (st *steps) answerSettled(ctx context.Context) error {
	if c := st.call.Key; c != nil {
		rec, err := st.s.db.PeekIdempotent(ctx, c.Key, c.Method, c.Path, c.Fingerprint)
		if err != nil {
			return err
		}
		if rec.Outcome == store.IdemReplay {
			st.answer = Answer{Status: rec.Status, Body: rec.Response}
			return st.s.db.AwaitDurable(ctx) // read through the read pool
		}
	}
	return st.answerPending(ctx)
}

// opObject reads the object an op is for, as it is now.
func (s *Service) opObject(ctx context.Context, op *pay.GatewayOp) (any, error) {
	if op.Kind == "refund" {
		return s.db.FindRefund(ctx, op.Scope, op.ObjectID)
	}
	if strings.HasPrefix(op.ObjectID, pay.PrefixSetupIntent) {
		return s.db.FindSetupIntent(ctx, op.Scope, op.ObjectID)
	}
	return s.db.FindPaymentIntent(ctx, op.Scope, op.ObjectID)
}

// run runs an operation made of steps. The gateway call and the recording
// of its outcome must finish even if the caller goes away (its context is
// cancelled): money may already have moved. They run on their own, and an
// operation still waiting on the gateway after answerWithin is answered
// with the object as it is (processing) while they go on.
func (s *Service) run(ctx context.Context, call Call, fn func(ctx context.Context, st *steps) error) (*Answer, error) {
	st := &steps{s: s, call: call, scope: call.Scope, prepared: make(chan struct{}), stopRenewing: func() {}}
	if call.Key != nil {
		ctx = pay.NewContextWithIdempotencyKey(ctx, call.Key.Key.Key)
	}
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
	var err error
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
					"request_id", pay.RequestIDFromContext(ctx), "op", st.op.ID)
				a, err := st.pendingAnswer(ctx)
				return &a, err
			}
		}
	}
	if errors.Is(err, ErrCrashed) {
		return nil, err
	}
	if err != nil {
		var answered *answeredError
		if errors.As(err, &answered) {
			return s.answerEarlier(ctx, st, answered.rec)
		}
		if st.op == nil {
			return nil, err // nothing was committed: the key is free
		}
		// Prepared: the key stays bound and the op is the reconciler's.
		s.log.ErrorContext(ctx, "operation failed after its gateway op was recorded", "request_id", pay.RequestIDFromContext(ctx), "op", st.op.ID, "err", err)
		if err := st.answerPending(ctx); err != nil {
			return nil, err
		}
	}
	return &st.answer, nil
}

// answerEarlier answers a call whose key an earlier call used: it replays
// that one's answer, or refuses; if the earlier call is bound to a gateway
// op whose outcome is not recorded yet, it waits a little for it, then
// answers with the object as it is (an op parked for an operator) or
// refuses (still in progress).
func (s *Service) answerEarlier(ctx context.Context, st *steps, rec *store.IdemRecord) (*Answer, error) {
	c := st.call.Key
	deadline := time.Now().Add(boundWait)
	for rec.Outcome == store.IdemBound {
		op, _, err := s.db.FindGatewayOp(ctx, rec.OpID)
		if err != nil {
			return nil, err
		}
		if op.State == pay.OpPending && time.Now().Before(deadline) {
			time.Sleep(boundPoll)
			continue
		}
		// A settled op's answer was kept under the key with its outcome.
		if rec, err = s.db.PeekIdempotent(ctx, c.Key, c.Method, c.Path, c.Fingerprint); err != nil {
			return nil, err
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
		a, err := st.pendingAnswer(ctx)
		return &a, err
	}
	// The key was read through the read pool: replay nothing that a power
	// loss could still undo (see store.AwaitDurable).
	if err := s.db.AwaitDurable(ctx); err != nil {
		return nil, err
	}
	return earlier(rec)
}

// earlier answers a call whose key was not claimed because of an earlier
// call with the same key: with that one's answer (Replayed), or the
// refusal. A key still free (started) answers nil, nil.
func earlier(rec *store.IdemRecord) (*Answer, error) {
	switch rec.Outcome {
	case store.IdemReplay:
		return &Answer{Status: rec.Status, Body: rec.Response, Replayed: true}, nil
	case store.IdemMismatch:
		return nil, &pay.Error{Status: http.StatusBadRequest, Type: pay.ErrorTypeIdempotency,
			Message: "Keys for idempotent requests can only be used with the same parameters they were first used with. Use a new key for a different request."}
	case store.IdemInFlight, store.IdemBound:
		return nil, &pay.Error{Status: http.StatusConflict, Type: pay.ErrorTypeInvalidRequest, Code: "idempotency_key_in_use", ShouldRetry: true,
			Message: "There is currently another in-progress request using this Idempotency-Key. Retry after it has completed."}
	}
	return nil, nil
}

// How long a retry waits for its first call's gateway op to settle before
// it is refused, and how often it looks.
const (
	boundWait = 3 * time.Second
	boundPoll = 100 * time.Millisecond
)

// crashAt ends the operation as a crash of the process would at point, if
// Config.Crash asks for it.
func (s *Service) crashAt(point string) error {
	if s.crash != nil && s.crash(point) {
		return ErrCrashed
	}
	return nil
}
