package store

import (
	"context"
	"fmt"

	"github.com/calmony/calmonypay/internal/pay"
)

const opColumns = `id, project_id, livemode, created, updated, kind, object_id, transaction_unique, state, note, attempts`

func scanOp(row interface{ Scan(...any) error }) (*pay.GatewayOp, error) {
	var op pay.GatewayOp
	err := row.Scan(&op.ID, &op.Scope.ProjectID, &op.Scope.Livemode, &op.Created, &op.Updated, &op.Kind, &op.ObjectID,
		&op.TransactionUnique, &op.State, &op.Note, &op.Attempts)
	return &op, err
}

// CreateGatewayOp records a gateway call about to be made. request is the
// call's parameters (no card data), sealed, so a recovery can resend it.
func (tx *Tx) CreateGatewayOp(ctx context.Context, op *pay.GatewayOp, request []byte) error {
	if op.ID == "" {
		op.ID = pay.NewID(pay.PrefixGatewayOp)
	}
	op.Created, op.Updated, op.State, op.Attempts = tx.unix(), tx.unix(), pay.OpPending, 1
	err := tx.tx.execLater(ctx, `INSERT INTO gateway_ops (`+opColumns+`, request) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		op.ID, op.Scope.ProjectID, op.Scope.Livemode, op.Created, op.Updated, op.Kind, op.ObjectID, op.TransactionUnique, op.State, op.Note,
		op.Attempts, tx.db.sealOptional(string(request), sealAAD("op", op.ID, "request")))
	if err != nil {
		return fmt.Errorf("create gateway op: %w", err)
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

// TouchGatewayOp records another attempt at a pending op.
func (tx *Tx) TouchGatewayOp(ctx context.Context, id, note string) error {
	return tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE gateway_ops SET attempts = attempts + 1, note = $2, updated = $3 `+whereOpPending,
		id, note, tx.unix()))
}

// FindGatewayOp returns an op and its sealed request.
func (db *DB) FindGatewayOp(ctx context.Context, id string) (*pay.GatewayOp, []byte, error) {
	var sealed []byte
	var op pay.GatewayOp
	err := db.read.QueryRowContext(ctx, `SELECT `+opColumns+`, request FROM gateway_ops WHERE id = $1`, id).Scan(&op.ID, &op.Scope.ProjectID,
		&op.Scope.Livemode, &op.Created, &op.Updated, &op.Kind, &op.ObjectID, &op.TransactionUnique, &op.State, &op.Note, &op.Attempts, &sealed)
	if err != nil {
		return nil, nil, notFound(err, "find gateway op "+id)
	}
	req, err := db.openString(sealed, sealAAD("op", op.ID, "request"))
	if err != nil {
		return nil, nil, fmt.Errorf("gateway op %s request: %w", id, err)
	}
	return &op, []byte(req), nil
}

// FindStaleGatewayOps returns pending ops not touched since before unix time
// `before`, oldest first.
func (db *DB) FindStaleGatewayOps(ctx context.Context, before int64, limit int) ([]*pay.GatewayOp, error) {
	return db.findOps(ctx, `SELECT `+opColumns+` FROM gateway_ops WHERE state = 'pending' AND updated < $1 ORDER BY updated LIMIT $2`, before, limit)
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
	return tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE gateway_ops SET state = 'pending', updated = $2 `+whereOpAttention, id, tx.unix()))
}
