package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
)

const opColumns = `id, project_id, livemode, created, updated, kind, object_id, transaction_unique, state, note, attempts,
	owner, lease_until, idempotency_key, expand`

func scanOp(row interface{ Scan(...any) error }, more ...any) (*pay.GatewayOp, error) {
	var (
		op     pay.GatewayOp
		expand string
	)
	err := row.Scan(append([]any{&op.ID, &op.Scope.ProjectID, &op.Scope.Livemode, &op.Created, &op.Updated, &op.Kind, &op.ObjectID,
		&op.TransactionUnique, &op.State, &op.Note, &op.Attempts, &op.Owner, &op.LeaseUntil, &op.IdempotencyKey, &expand}, more...)...)
	if expand != "" {
		op.Expand = strings.Split(expand, " ")
	}
	return &op, err
}

// CreateGatewayOp records a gateway call about to be made, owned by
// op.Owner for lease. request is the call's parameters (no card data),
// sealed, so a recovery can resend it. op.ID may be preset (the request's
// idempotency key is bound to it in the same transaction).
func (tx *Tx) CreateGatewayOp(ctx context.Context, op *pay.GatewayOp, request []byte, lease time.Duration) error {
	if op.ID == "" {
		op.ID = pay.NewID(pay.PrefixGatewayOp)
	}
	op.Created, op.Updated, op.State, op.Attempts = tx.unix(), tx.unix(), pay.OpPending, 1
	op.LeaseUntil = tx.unix() + leaseSeconds(lease)
	err := tx.tx.execLater(ctx, `INSERT INTO gateway_ops (`+opColumns+`, request)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		op.ID, op.Scope.ProjectID, op.Scope.Livemode, op.Created, op.Updated, op.Kind, op.ObjectID, op.TransactionUnique, op.State, op.Note,
		op.Attempts, op.Owner, op.LeaseUntil, op.IdempotencyKey, strings.Join(op.Expand, " "),
		tx.db.sealOptional(string(request), sealAAD("op", op.ID, "request")))
	if err != nil {
		return fmt.Errorf("create gateway op: %w", err)
	}
	return nil
}

// leaseSeconds rounds a lease up to whole seconds, the unit of lease_until.
func leaseSeconds(d time.Duration) int64 { return int64((d + time.Second - 1) / time.Second) }

// RenewGatewayOp extends owner's lease on a pending op. It fails with
// ErrNotFound if the op is settled or another owner has taken it over.
func (db *DB) RenewGatewayOp(ctx context.Context, id, owner string, lease time.Duration) error {
	return db.Tx(ctx, func(tx *Tx) error {
		return tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE gateway_ops SET lease_until = $3 `+whereOpPending+` AND owner = $2`,
			id, owner, tx.unix()+leaseSeconds(lease)))
	})
}

// AcquireGatewayOp makes owner the owner of a pending op whose lease has
// lapsed, for lease, and counts an attempt. It reports false if the op is
// settled or someone else holds it.
func (db *DB) AcquireGatewayOp(ctx context.Context, id, owner string, lease time.Duration) (bool, error) {
	err := db.Tx(ctx, func(tx *Tx) error {
		return tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE gateway_ops SET owner = $2, lease_until = $3, attempts = attempts + 1, updated = $4
			`+whereOpPending+` AND lease_until <= $4`, id, owner, tx.unix()+leaseSeconds(lease), tx.unix()))
	})
	if errors.Is(err, pay.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// ReleaseGatewayOp gives up owner's lease on an op whose outcome is still
// unknown: it goes to the reconciler after wait (0: at its next round),
// with a note of why. An op that is no longer pending, or no longer
// owner's, is left as it is.
func (tx *Tx) ReleaseGatewayOp(ctx context.Context, id, owner, note string, wait time.Duration) error {
	_, err := tx.tx.ExecContext(ctx, `UPDATE gateway_ops SET lease_until = $3, note = $4, updated = $5 `+whereOpPending+` AND owner = $2`,
		id, owner, tx.unix()+leaseSeconds(wait), note, tx.unix())
	if err != nil {
		return fmt.Errorf("release gateway op %s: %w", id, err)
	}
	return nil
}

// whereOpPending and whereOpAttention select one op by ID in a state. As with
// whereID, only the ID may be an index condition: on a small table the
// (state, updated) index looked as cheap, and would read every op in the state.
const (
	whereOpPending   = `WHERE id = $1 AND (state = 'pending') IS TRUE`
	whereOpAttention = `WHERE id = $1 AND (state = 'attention') IS TRUE`
)

// FinishGatewayOp sets an op's state (done or attention) with a note. It
// fails with ErrNotFound if the op is no longer pending, so two recoveries
// of one op cannot both apply their result.
func (tx *Tx) FinishGatewayOp(ctx context.Context, id, state, note string) error {
	return tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE gateway_ops SET state = $2, note = $3, updated = $4 `+whereOpPending,
		id, state, note, tx.unix()))
}

// FindGatewayOp returns an op and its sealed request.
func (db *DB) FindGatewayOp(ctx context.Context, id string) (*pay.GatewayOp, []byte, error) {
	var sealed []byte
	op, err := scanOp(db.read.QueryRowContext(ctx, `SELECT `+opColumns+`, request FROM gateway_ops WHERE id = $1`, id), &sealed)
	if err != nil {
		return nil, nil, notFound(err, "find gateway op "+id)
	}
	req, err := db.openString(sealed, sealAAD("op", op.ID, "request"))
	if err != nil {
		return nil, nil, fmt.Errorf("gateway op %s request: %w", id, err)
	}
	return op, []byte(req), nil
}

// FindStaleGatewayOps returns pending ops whose lease had lapsed at unix
// time now, longest lapsed first.
func (db *DB) FindStaleGatewayOps(ctx context.Context, now int64, limit int) ([]*pay.GatewayOp, error) {
	return db.findOps(ctx, `SELECT `+opColumns+` FROM gateway_ops WHERE state = 'pending' AND lease_until <= $1 ORDER BY lease_until LIMIT $2`, now, limit)
}

// FindGatewayOps returns the ops in a state (all if state is ""), newest first.
func (db *DB) FindGatewayOps(ctx context.Context, state string, limit int) ([]*pay.GatewayOp, error) {
	return db.findOps(ctx, `SELECT `+opColumns+` FROM gateway_ops WHERE $1 = '' OR state = $1 ORDER BY created DESC LIMIT $2`, state, limit)
}

func (db *DB) findOps(ctx context.Context, q string, args ...any) ([]*pay.GatewayOp, error) {
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find gateway ops: %w", err)
	}
	defer rows.Close()
	var out []*pay.GatewayOp
	for rows.Next() {
		op, err := scanOp(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, op)
	}
	return out, rows.Err()
}

// ReopenGatewayOp puts an op parked for an operator back to pending, so it
// can be settled in the same transaction.
func (tx *Tx) ReopenGatewayOp(ctx context.Context, id string) error {
	return tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE gateway_ops SET state = 'pending', updated = $2, owner = '', lease_until = 0 `+whereOpAttention, id, tx.unix()))
}
