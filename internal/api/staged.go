package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// A staged handler is a write that calls the card gateway. It cannot hold a
// transaction across the call, so it runs in steps: prepare (a transaction
// that validates against current state and records that the call is about to
// happen), the gateway call, then commit (a transaction that records the
// outcome and, in the same transaction, the response kept for idempotent
// replays).
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

	// claimed is set once the key's claim is committed. The claim is made
	// in the request's first transaction, prepare's or commit's, so that it
	// costs no transaction of its own: a gateway call that moves money comes
	// after prepare, and one before it must be safe to repeat (peek).
	claimed bool
}

// answeredError ends a staged request whose idempotency key belongs to an
// earlier request: serveStaged replays that one's response or refuses.
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

// claimIn claims the request's key, if it has one and it is not yet
// claimed, inside tx: prepare's transaction, before a gateway call.
func (st *stage) claimIn(ctx context.Context, tx *store.Tx) error {
	if st.claim == nil || st.claimed {
		return nil
	}
	c := st.claim
	return unlessTaken(tx.ClaimIdempotent(ctx, c.key, c.method, c.path, c.fingerprint, idempotencyLease))
}

// peek checks the request's key through the read pool, before a gateway
// call that is safe to repeat (a card verification, which moves no money):
// a key already used is answered from its first request, and a new one is
// claimed only by the transaction that records the outcome. Two requests
// racing with one new key may then both verify the card; only one's outcome
// is kept, and the other replays it or is told to retry.
func (st *stage) peek(ctx context.Context) error {
	if st.claim == nil || st.claimed {
		return nil
	}
	c := st.claim
	return unlessTaken(st.s.db.PeekIdempotent(ctx, c.key, c.method, c.path, c.fingerprint))
}

// prepare runs fn in its own transaction, with the key's claim. Nothing is
// stored for idempotency yet: if the request fails, the key is released.
func (st *stage) prepare(ctx context.Context, fn func(tx *store.Tx) error) error {
	err := st.s.db.Tx(ctx, func(tx *store.Tx) error {
		if err := st.claimIn(ctx, tx); err != nil {
			return err
		}
		return fn(tx)
	})
	if err == nil {
		st.claimed = st.claim != nil
	}
	return err
}

// commit runs fn in the final transaction. fn returns the response object,
// or a *pay.Error that is answered, and replayed, while fn's writes are kept
// (a card decline recorded on the payment intent). Any other error rolls fn
// back. A key that no prepare claimed is written here once, with the
// response; if it turns out to be taken, the transaction is run again with
// the key looked up, which replays, refuses or takes over an expired key.
func (st *stage) commit(ctx context.Context, fn func(tx *store.Tx) (any, error)) error {
	if st.claim == nil || st.claimed {
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
// with FinishIdempotent when prepare claimed the key, with
// RecordIdempotent(rec) when it is written only now.
func (st *stage) finish(ctx context.Context, tx *store.Tx, fn func(tx *store.Tx) (any, error), rec *store.IdemRecord) error {
	obj, err := fn(tx)
	status := http.StatusOK
	if e, ok := pay.AsError(err); ok {
		status, obj, err = e.Status, newErrorBody(e), nil
	}
	if err != nil {
		return err
	}
	body, err := st.s.render(ctx, tx, st.scope, obj, st.expand)
	if err != nil {
		return err
	}
	if c := st.claim; c != nil {
		if rec != nil {
			err = tx.RecordIdempotent(ctx, rec, c.key, c.method, c.path, c.fingerprint, status, body)
		} else {
			err = tx.FinishIdempotent(ctx, c.key, status, body)
		}
		if err != nil {
			return err
		}
	}
	st.status, st.body = status, body
	return nil
}

// staged adapts a stagedHandler to http.Handler.
func (s *Server) staged(h stagedHandler) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error { return s.serveStaged(w, r, h) })
}

func (s *Server) serveStaged(w http.ResponseWriter, r *http.Request, h stagedHandler) error {
	p, fn, err := parse(s, r, h)
	if err != nil {
		return err
	}
	ctx := r.Context()
	st := &stage{s: s, scope: keyFrom(ctx).Scope(), expand: p.expand}
	if st.claim, err = s.idempotencyClaim(w, r, p.values); err != nil {
		return err
	}
	if st.claim != nil {
		ctx = withClaim(ctx, st.claim)
	}
	// The gateway call and the recording of its outcome must finish even if
	// the client goes away: money may already have moved.
	ctx = context.WithoutCancel(ctx)
	if err := fn(ctx, st); err != nil {
		var answered *answeredError
		if errors.As(err, &answered) {
			// peek reads through the read pool: replay nothing that a power
			// loss could still undo (see store.AwaitDurable).
			if err := s.db.AwaitDurable(ctx); err != nil {
				return err
			}
			_, err := answerIdempotent(w, answered.rec)
			return err
		}
		if st.claimed && st.body == nil {
			s.releaseClaim(r, st.claim)
		}
		return err
	}
	writeBody(w, st.status, st.body)
	return nil
}
