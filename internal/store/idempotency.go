package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/calmony/calmonypay/internal/pay"
)

// IdempotencyTTL is how long a key's first response is kept and replayed.
const IdempotencyTTL = 24 * time.Hour

// Idempotency outcomes of ClaimIdempotent and LookupIdempotent.
const (
	IdemStarted  = iota // the caller owns the key and must run the request
	IdemReplay          // the first request finished: replay Status and Response
	IdemMismatch        // the key was used with other parameters or another route
	IdemInFlight        // another request with the key is still running
	// IdemBound: the first request recorded a gateway op (OpID) and has not
	// stored its response. It is never run again: its outcome is the op's,
	// and whoever settles the op stores the response.
	IdemBound
)

// IdemKey names one idempotency key.
type IdemKey struct {
	Scope pay.Scope
	Key   string
}

// IdemRecord is what ClaimIdempotent or LookupIdempotent found.
type IdemRecord struct {
	Outcome  int
	Status   int
	Response []byte
	OpID     string // IdemBound: the first request's gateway op
	exists   bool   // LookupIdempotent: the key has a row that RecordIdempotent replaces
	// ownerCreated is, when exists, the row's creation time if its owner died
	// before finishing, or 0 if the key expired.
	ownerCreated int64
}

func idemAAD(k IdemKey) []byte {
	return fmt.Appendf(nil, "idempotency/%s/%t/%s", k.Scope.ProjectID, k.Scope.Livemode, k.Key)
}

// ClaimIdempotent claims an idempotency key, inside the caller's
// transaction, for a request identified by method, path and a fingerprint of
// its parameters, before the request calls the gateway (staged writes), and
// binds it to the gateway op opID that the transaction records. The claim
// commits with the transaction; FinishOpIdempotent stores the response later.
// A bound key is never claimed again (IdemBound): the request's first
// execution is resumed through its op, never repeated. A claim with no op
// ("") is a lease: if its owner dies, the key may be claimed again once
// lease has passed, since nothing of it was committed.
func (tx *Tx) ClaimIdempotent(ctx context.Context, k IdemKey, method, path, fingerprint, opID string, lease time.Duration) (*IdemRecord, error) {
	var rec *IdemRecord
	err := func() error {
		now := tx.unix()
		until := now + int64(lease/time.Second)
		// Insert first: on PostgreSQL a concurrent claim of the same key waits
		// here for the other transaction, instead of failing on the unique key.
		res, err := tx.tx.ExecContext(ctx, `INSERT INTO idempotency_keys (project_id, livemode, key, method, path, fingerprint, status, created, locked_until, op_id)
			VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9) ON CONFLICT DO NOTHING`, k.Scope.ProjectID, k.Scope.Livemode, k.Key, method, path, fingerprint, now, until, opID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			rec = &IdemRecord{Outcome: IdemStarted}
			return err
		}
		if rec, err = tx.db.lookupIdempotent(ctx, tx.tx, tx.db.forUpdate(), now, k, method, path, fingerprint); err != nil || rec.Outcome != IdemStarted {
			return err
		}
		if !rec.exists {
			return errors.New("the key's row vanished after a conflict")
		}
		// An expired key is new again; a dead owner's claim is taken over
		// with its creation time.
		return tx.reclaim(ctx, k, method, path, fingerprint, opID, cmp.Or(rec.ownerCreated, now), until)
	}()
	if err != nil {
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	return rec, nil
}

// ErrIdempotencyRace means that, between LookupIdempotent and
// RecordIdempotent, a concurrent request stored a response for the same key
// (only on PostgreSQL: SQLite's writer runs one closure at a time). The
// caller's transaction must roll back and the request run again: it then
// finds that response and replays it.
var ErrIdempotencyRace = errors.New("store: concurrent request with the same idempotency key")

// NewIdemRecord is RecordIdempotent's record for a key that was not looked
// up and is taken to be new: if it is not, RecordIdempotent fails with
// ErrIdempotencyRace and changes nothing.
func NewIdemRecord() *IdemRecord { return &IdemRecord{Outcome: IdemStarted} }

// LookupIdempotent reads what a key holds, for a request that does all its
// work in one transaction and stores its response with RecordIdempotent at
// the end. Outcome IdemStarted means the request is to run: the key is new,
// expired, or held by a dead owner. Unlike ClaimIdempotent it writes
// nothing: the key's row is written once, with the response.
func (tx *Tx) LookupIdempotent(ctx context.Context, k IdemKey, method, path, fingerprint string) (*IdemRecord, error) {
	return tx.db.lookupIdempotent(ctx, tx.tx, tx.db.forUpdate(), tx.unix(), k, method, path, fingerprint)
}

// PeekIdempotent is LookupIdempotent outside any transaction, through the
// read pool: a request whose first step is safe to repeat (a card
// verification) checks its key with it before that step, and claims the
// key only in the transaction that stores its outcome.
func (db *DB) PeekIdempotent(ctx context.Context, k IdemKey, method, path, fingerprint string) (*IdemRecord, error) {
	return db.lookupIdempotent(ctx, db.read, "", db.now().Unix(), k, method, path, fingerprint)
}

func (db *DB) lookupIdempotent(ctx context.Context, q querier, suffix string, now int64, k IdemKey, method, path, fingerprint string) (*IdemRecord, error) {
	var (
		m, p, fp, op string
		status       int
		sealed       []byte
		created, exp int64
	)
	err := q.QueryRowContext(ctx, `SELECT method, path, fingerprint, status, response, created, locked_until, op_id FROM idempotency_keys
		WHERE project_id = $1 AND livemode = $2 AND key = $3`+suffix, k.Scope.ProjectID, k.Scope.Livemode, k.Key).
		Scan(&m, &p, &fp, &status, &sealed, &created, &exp, &op)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return &IdemRecord{Outcome: IdemStarted}, nil
	case err != nil:
		return nil, fmt.Errorf("look up idempotency key: %w", err)
	case created+int64(IdempotencyTTL/time.Second) <= now:
		return &IdemRecord{Outcome: IdemStarted, exists: true}, nil
	case m != method || p != path || fp != fingerprint:
		return &IdemRecord{Outcome: IdemMismatch}, nil
	case status != 0:
		body, err := db.keys.Open(sealed, idemAAD(k))
		if err != nil {
			return nil, fmt.Errorf("idempotency response: %w", err)
		}
		return &IdemRecord{Outcome: IdemReplay, Status: status, Response: body}, nil
	case op != "":
		return &IdemRecord{Outcome: IdemBound, OpID: op}, nil
	case exp > now:
		return &IdemRecord{Outcome: IdemInFlight}, nil
	default:
		// A claim's owner died before committing anything with it.
		return &IdemRecord{Outcome: IdemStarted, exists: true, ownerCreated: created}, nil
	}
}

// RecordIdempotent stores the response of a request that LookupIdempotent
// let run (rec), in the request's own transaction: the key's row is written
// once, with the response, and kept if and only if the request's writes are.
// It returns ErrIdempotencyRace if a concurrent request got there first (on
// PostgreSQL, DB.Tx returns it).
func (tx *Tx) RecordIdempotent(ctx context.Context, rec *IdemRecord, k IdemKey, method, path, fingerprint string, status int, response []byte) error {
	now := tx.unix()
	sealed := tx.db.keys.Seal(response, idemAAD(k))
	args := []any{k.Scope.ProjectID, k.Scope.Livemode, k.Key, method, path, fingerprint, status, sealed, now}
	if rec.exists {
		// The update reads only idempotency_keys, so inserts waiting in the
		// transaction (deferred.go) come along.
		q, a := tx.tx.fused(`UPDATE idempotency_keys SET method = $4, path = $5, fingerprint = $6, status = $7, response = $8, created = $9, locked_until = $9, op_id = ''
			WHERE project_id = $1 AND livemode = $2 AND key = $3`, args)
		if _, err := tx.tx.ExecContext(ctx, q, a...); err != nil {
			return fmt.Errorf("record idempotent response: %w", err)
		}
		return nil
	}
	const insert = `INSERT INTO idempotency_keys (project_id, livemode, key, method, path, fingerprint, status, response, created, locked_until)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`
	if tx.db.dialect == Postgres {
		// The row waits for the next statement, usually COMMIT (deferred.go).
		// If a concurrent request has stored the key meanwhile, the insert
		// fails with a unique violation, and with it the transaction, which
		// DB.Tx reports as ErrIdempotencyRace.
		return tx.tx.execLater(ctx, insert, args...)
	}
	res, err := tx.tx.ExecContext(ctx, insert+` ON CONFLICT DO NOTHING`, args...)
	if err != nil {
		return fmt.Errorf("record idempotent response: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("record idempotent response: %w", err)
	} else if n == 0 {
		return ErrIdempotencyRace
	}
	return nil
}

func (tx *Tx) reclaim(ctx context.Context, k IdemKey, method, path, fingerprint, opID string, created, lockedUntil int64) error {
	_, err := tx.tx.ExecContext(ctx, `UPDATE idempotency_keys SET method = $4, path = $5, fingerprint = $6, status = 0, response = NULL, created = $7,
		locked_until = $8, op_id = $9 WHERE project_id = $1 AND livemode = $2 AND key = $3`,
		k.Scope.ProjectID, k.Scope.Livemode, k.Key, method, path, fingerprint, created, lockedUntil, opID)
	return err
}

// FinishOpIdempotent stores the response of the request that recorded op,
// under its key, by whoever settles the op (the request itself, the
// reconciler or an operator), in the transaction that records the outcome.
// A key no longer bound to op (finished already, or expired and reused) is
// left alone.
func (tx *Tx) FinishOpIdempotent(ctx context.Context, op *pay.GatewayOp, status int, response []byte) error {
	if op.IdempotencyKey == "" {
		return nil
	}
	k := IdemKey{Scope: op.Scope, Key: op.IdempotencyKey}
	// It reads only idempotency_keys: waiting inserts (deferred.go) come along.
	q, a := tx.tx.fused(`UPDATE idempotency_keys SET status = $4, response = $5
		WHERE project_id = $1 AND livemode = $2 AND key = $3 AND status = 0 AND op_id = $6`,
		[]any{k.Scope.ProjectID, k.Scope.Livemode, k.Key, status, tx.db.keys.Seal(response, idemAAD(k)), op.ID})
	if _, err := tx.tx.ExecContext(ctx, q, a...); err != nil {
		return fmt.Errorf("finish idempotent request of %s: %w", op.ID, err)
	}
	return nil
}

// PruneIdempotent deletes keys older than IdempotencyTTL and reports how many.
func (db *DB) PruneIdempotent(ctx context.Context) (int64, error) {
	var n int64
	err := db.Tx(ctx, func(tx *Tx) error {
		res, err := tx.tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created <= $1`, tx.unix()-int64(IdempotencyTTL/time.Second))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// isIdempotencyRace reports whether err is PostgreSQL's unique violation of
// an idempotency key: a concurrent request stored the key first.
func isIdempotencyRace(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "idempotency_keys_pkey"
}
