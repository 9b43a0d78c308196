package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/calmony/calmonypay/internal/pay"
)

const eventColumns = `id, project_id, livemode, type, created, object_id, data, request_id, idempotency_key, api_version`

func eventAAD(id string) []byte { return []byte("event/" + id + "/data") }

// CreateEvent appends an event, filling in its ID, creation time and API
// version. Its data is encrypted, since objects carry personal data. In the
// same transaction it queues the event's deliveries to the scope's webhook
// endpoints that subscribe to it, and sets PendingWebhooks to their number.
// The endpoints are read once per transaction, with its first event of the
// scope: a later event of the transaction goes to the same ones, as if an
// endpoint made meanwhile had been made just after it.
func (tx *Tx) CreateEvent(ctx context.Context, e *pay.Event) error {
	e.ID = pay.NewID(pay.PrefixEvent)
	e.Created = tx.unix()
	e.APIVersion = pay.APIVersion
	args := tx.db.eventRow(e)
	insert := insertSQL("events", eventColumns, len(args), 1)
	list, known := tx.endpoints[e.Scope]
	var err error
	if known {
		// The transaction's first event of the scope read its endpoints:
		// this insert waits (execLater) and, on PostgreSQL, travels with
		// the next statement.
		err = tx.tx.execLater(ctx, insert, args...)
	} else {
		// One statement: the insert returns the scope's webhook
		// endpoints. On PostgreSQL, inserts waiting in the transaction
		// (deferred.go) come along.
		q, a := tx.tx.fused(insert+` RETURNING `+tx.db.endpointsJSON("$2", "$3"), args)
		if err = tx.tx.QueryRowContext(ctx, q, a...).Scan(&list); err == nil {
			if tx.endpoints == nil {
				tx.endpoints = map[pay.Scope]string{}
			}
			tx.endpoints[e.Scope] = list
		}
	}
	var endpoints []string
	if err == nil {
		endpoints, err = subscribed(list, e.Type)
	}
	if err != nil {
		return fmt.Errorf("create event %s: %w", e.Type, err)
	}
	e.PendingWebhooks, err = tx.enqueueDeliveries(ctx, e, endpoints)
	return err
}

// eventRow returns the values of a new event's row (eventColumns), its
// data sealed.
func (db *DB) eventRow(e *pay.Event) []any {
	return []any{e.ID, e.Scope.ProjectID, e.Scope.Livemode, e.Type, e.Created, e.ObjectID, db.keys.Seal(e.Data, eventAAD(e.ID)), e.RequestID,
		e.IdempotencyKey, e.APIVersion}
}

func (db *DB) scanEvent(row interface{ Scan(...any) error }) (*pay.Event, error) {
	var (
		e      pay.Event
		sealed []byte
	)
	if err := row.Scan(&e.ID, &e.Scope.ProjectID, &e.Scope.Livemode, &e.Type, &e.Created, &e.ObjectID, &sealed, &e.RequestID, &e.IdempotencyKey, &e.APIVersion); err != nil {
		return nil, err
	}
	data, err := db.keys.Open(sealed, eventAAD(e.ID))
	if err != nil {
		return nil, fmt.Errorf("event %s data: %w", e.ID, err)
	}
	e.Data = data
	return &e, nil
}

// FindEvent returns one event of the scope.
func (db *DB) FindEvent(ctx context.Context, scope pay.Scope, id string) (*pay.Event, error) {
	e, err := db.scanEvent(db.read.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events `+whereID,
		id, scope.ProjectID, scope.Livemode))
	if err != nil {
		return nil, notFound(err, "find event "+id)
	}
	return e, db.fillPendingWebhooks(ctx, db.read, e)
}

// EventFilter narrows FindEvents.
type EventFilter struct {
	// Types are exact types, or prefixes ending in ".*" (e.g. "customer.*").
	Types    []string
	ObjectID string
}

// FindEvents lists the scope's events, newest first.
func (db *DB) FindEvents(ctx context.Context, scope pay.Scope, f EventFilter, page pay.Page) (pay.List[*pay.Event], error) {
	l, err := list(ctx, db.read, listSpec{
		kind: "event", table: "events", columns: eventColumns, scope: scope, page: page,
		where: func(q *query) {
			if f.ObjectID != "" {
				fmt.Fprintf(q, ` AND object_id = %s`, q.arg(f.ObjectID))
			}
			if len(f.Types) == 0 {
				return
			}
			var ors []string
			for _, t := range f.Types {
				if prefix, ok := strings.CutSuffix(t, "*"); ok {
					ors = append(ors, fmt.Sprintf(`substr(type, 1, %d) = %s`, len(prefix), q.arg(prefix)))
				} else {
					ors = append(ors, `type = `+q.arg(t))
				}
			}
			q.WriteString(` AND (` + strings.Join(ors, ` OR `) + `)`)
		},
	}, func(rows *sql.Rows) (*pay.Event, error) { return db.scanEvent(rows) })
	if err != nil {
		return l, err
	}
	return l, db.fillPendingWebhooks(ctx, db.read, l.Data...)
}
