package payments

import (
	"context"
	"errors"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// Write runs an operation that calls no gateway: fn's writes, the
// rendering of its answer and the keeping of that answer under the call's
// key, in one transaction, so that a crash leaves all or nothing. fn may
// run more than once, so it must not change what it captured. It gets the
// context with the call's idempotency key, for the events it writes.
func (s *Service) Write(ctx context.Context, call Call, fn func(ctx context.Context, tx *store.Tx) (any, error)) (*Answer, error) {
	c := call.Key
	if c != nil {
		ctx = pay.NewContextWithIdempotencyKey(ctx, c.Key.Key)
	}
	// One commit per call, the key's row written once, and a call that
	// fails leaves nothing behind. The first attempt assumes the key is new
	// (almost always true) and does not look it up: keeping the answer then
	// fails if it is not. Only after such a failure, or any other error, is
	// the call run again with the key looked up first, which replays or
	// refuses as the key's earlier use demands.
	var (
		answer Answer
		known  *store.IdemRecord // an earlier call's outcome for the key
		lookup bool
	)
	run := func(tx *store.Tx) error {
		rec := store.NewIdemRecord()
		if c != nil && lookup {
			var err error
			rec, err = tx.LookupIdempotent(ctx, c.Key, c.Method, c.Path, c.Fingerprint)
			if err != nil || rec.Outcome != store.IdemStarted {
				known = rec
				return err
			}
		}
		obj, err := fn(ctx, tx)
		var kept *keptError
		if errors.As(err, &kept) {
			obj, err = nil, kept.e // answered, and fn's writes kept
		} else if err != nil {
			return err
		}
		status, body, err := s.render(ctx, tx, call.Scope, obj, err, call.Expand)
		if err != nil {
			return err
		}
		answer = Answer{Object: obj, Status: status, Body: body}
		if kept != nil {
			answer.Err = kept.e
		}
		if c != nil {
			return tx.RecordIdempotent(ctx, rec, c.Key, c.Method, c.Path, c.Fingerprint, status, body)
		}
		return nil
	}
	err := s.db.Tx(ctx, run)
	if err != nil && c != nil && !errors.Is(err, store.ErrOverloaded) && ctx.Err() == nil {
		// A concurrent call with the same key may keep its answer first
		// (PostgreSQL) and roll this one back once more.
		lookup = true
		for range 2 {
			if err = s.db.Tx(ctx, run); !errors.Is(err, store.ErrIdempotencyRace) {
				break
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if known != nil {
		return earlier(known)
	}
	return &answer, nil
}

// KeepError, returned by a Write's fn, answers e while keeping fn's
// writes (a card decline recorded on an invoice): the transaction commits,
// and e is the answer kept under the key (Answer.Err).
func KeepError(e *pay.Error) error { return &keptError{e} }

type keptError struct{ e *pay.Error }

func (k *keptError) Error() string { return k.e.Error() }
