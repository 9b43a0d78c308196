package api

import (
	"context"
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
	claim  *claim
	expand []string
	status int
	body   []byte
}

// prepare runs fn in its own transaction. Nothing is stored for idempotency
// yet: if the request fails here, the key is released.
func (st *stage) prepare(ctx context.Context, fn func(tx *store.Tx) error) error {
	return st.s.db.Tx(ctx, fn)
}

// commit runs fn in the final transaction. fn returns the response object,
// or a *pay.Error that is answered, and replayed, while fn's writes are kept
// (a card decline recorded on the payment intent). Any other error rolls fn
// back.
func (st *stage) commit(ctx context.Context, fn func(tx *store.Tx) (any, error)) error {
	return st.s.db.Tx(ctx, func(tx *store.Tx) error {
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
		if st.claim != nil {
			if err := tx.FinishIdempotent(ctx, st.claim.key, status, body); err != nil {
				return err
			}
		}
		st.status, st.body = status, body
		return nil
	})
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
	claim, done, err := s.claimIdempotencyKey(w, r, p.values)
	if err != nil || done {
		return err
	}
	if claim != nil {
		st.claim, ctx = claim, withClaim(ctx, claim)
	}
	// The gateway call and the recording of its outcome must finish even if
	// the client goes away: money may already have moved.
	ctx = context.WithoutCancel(ctx)
	if err := fn(ctx, st); err != nil {
		if claim != nil && st.body == nil {
			s.releaseClaim(r, claim)
		}
		return err
	}
	writeBody(w, st.status, st.body)
	return nil
}
