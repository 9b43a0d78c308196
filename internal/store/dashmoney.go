package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/calmony/calmonypay/internal/pay"
)

// This file holds the dashboard's reads of one payment's history: the
// events and gateway operations of a payment intent and of its charges and
// refunds, for its timeline.

// inList writes "col IN ($n, …)" for ids into q.
func inList(q *query, col string, ids []string) {
	args := make([]string, len(ids))
	for i, id := range ids {
		args[i] = q.arg(id)
	}
	fmt.Fprintf(q, `%s IN (%s)`, col, strings.Join(args, ", "))
}

// eventsOfQuery selects the scope's newest limit events about objectIDs.
// Only object_id may be an index condition (events_object): the scope is a
// filter on the rows found, as in whereID, or the planner takes events_list
// for its two equalities and reads every event of the project (SQLite
// without statistics does; TestLookupsByObjectUseTheirIndexes holds this).
func eventsOfQuery(scope pay.Scope, objectIDs []string, limit int) *query {
	q := &query{}
	fmt.Fprintf(q, `SELECT %s FROM events WHERE `, eventColumns)
	inList(q, "object_id", objectIDs)
	fmt.Fprintf(q, ` AND (project_id = %s AND livemode = %s) IS TRUE`, q.arg(scope.ProjectID), q.arg(scope.Livemode))
	fmt.Fprintf(q, ` ORDER BY created DESC, id DESC LIMIT %s`, q.arg(limit))
	return q
}

// FindEventsOf returns the scope's events about any of objectIDs, oldest
// first, at most limit of them (the newest limit when there are more).
func (db *DB) FindEventsOf(ctx context.Context, scope pay.Scope, objectIDs []string, limit int) ([]*pay.Event, error) {
	if len(objectIDs) == 0 {
		return nil, nil
	}
	q := eventsOfQuery(scope, objectIDs, limit)
	rows, err := db.read.QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("find events of objects: %w", err)
	}
	defer rows.Close()
	var out []*pay.Event
	for rows.Next() {
		e, err := db.scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("find events of objects: %w", err)
		}
		out = append(out, e)
	}
	slices.Reverse(out)
	return out, rows.Err()
}

// FindGatewayOpsOf returns the scope's gateway operations for any of
// objectIDs (payment intents and refunds), oldest first, at most limit of
// them (the newest limit when there are more).
func (db *DB) FindGatewayOpsOf(ctx context.Context, scope pay.Scope, objectIDs []string, limit int) ([]*pay.GatewayOp, error) {
	if len(objectIDs) == 0 {
		return nil, nil
	}
	q := &query{}
	fmt.Fprintf(q, `SELECT %s FROM gateway_ops WHERE `, opColumns)
	inList(q, "object_id", objectIDs)
	fmt.Fprintf(q, ` AND project_id = %s AND livemode = %s ORDER BY created DESC, id DESC LIMIT %s`,
		q.arg(scope.ProjectID), q.arg(scope.Livemode), q.arg(limit))
	ops, err := db.findOps(ctx, q.String(), q.args...)
	if err != nil {
		return nil, err
	}
	slices.Reverse(ops)
	return ops, nil
}
