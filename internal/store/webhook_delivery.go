package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/secret"
)

// Delivery states.
const (
	deliveryPending   = "pending"   // waiting for its next attempt, or being attempted (isPending in SQL)
	deliverySucceeded = "succeeded" // a 2xx answer
	deliveryFailed    = "failed"    // retries given up
	deliveryCanceled  = "canceled"  // the endpoint was disabled or deleted
)

// isPending selects pending deliveries. It is SQL text, not a parameter, so
// that both databases can use the partial indexes on pending rows.
const isPending = `state = '` + deliveryPending + `'`

// endpointsJSON is an SQL expression for the enabled webhook endpoints of a
// scope, with the placeholders given for project_id and livemode, as one
// JSON array of {"id", "enabled_events"} objects. As one value it can come
// back from the event's own insert (RETURNING), which saves a statement on
// both databases.
func (db *DB) endpointsJSON(project, livemode string) string {
	where := ` FROM webhook_endpoints WHERE project_id = ` + project + ` AND livemode = ` + livemode + ` AND status = '` + string(pay.WebhookEnabled) + `'`
	if db.dialect == Postgres {
		return `(SELECT COALESCE(json_agg(json_build_object('id', id, 'enabled_events', enabled_events::json)), '[]')` + where + `)`
	}
	return `(SELECT json_group_array(json_object('id', id, 'enabled_events', json(enabled_events)))` + where + `)`
}

// subscribedEndpoints returns the IDs of the scope's enabled endpoints that
// want events of type typ.
func (tx *Tx) subscribedEndpoints(ctx context.Context, scope pay.Scope, typ string) ([]string, error) {
	var list string
	if err := tx.tx.QueryRowContext(ctx, `SELECT `+tx.db.endpointsJSON("$1", "$2"), scope.ProjectID, scope.Livemode).Scan(&list); err != nil {
		return nil, fmt.Errorf("find webhook endpoints: %w", err)
	}
	return subscribed(list, typ)
}

// subscribed returns the IDs of the endpoints in list (endpointsJSON) that
// want events of type typ.
func subscribed(list, typ string) ([]string, error) {
	var eps []struct {
		ID            string   `json:"id"`
		EnabledEvents []string `json:"enabled_events"`
	}
	if err := json.Unmarshal([]byte(list), &eps); err != nil {
		return nil, fmt.Errorf("webhook endpoints: %w", err)
	}
	var ids []string
	for _, ep := range eps {
		if (&pay.WebhookEndpoint{EnabledEvents: ep.EnabledEvents}).Wants(typ) {
			ids = append(ids, ep.ID)
		}
	}
	return ids, nil
}

// enqueueDeliveries queues the event for the endpoints that subscribe to it
// (subscribed), in the event's own transaction, and returns how many it
// queued.
func (tx *Tx) enqueueDeliveries(ctx context.Context, e *pay.Event, ids []string) (int, error) {
	for _, id := range ids {
		_, err := tx.tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (event_id, endpoint_id, project_id, livemode, state, window_start, next_attempt)
			VALUES ($1, $2, $3, $4, $5, $6, $6)`, e.ID, id, e.Scope.ProjectID, e.Scope.Livemode, deliveryPending, tx.unix())
		if err != nil {
			return 0, fmt.Errorf("enqueue delivery of %s to %s: %w", e.ID, id, err)
		}
	}
	return len(ids), nil
}

// cancelDeliveries cancels an endpoint's waiting deliveries.
func (tx *Tx) cancelDeliveries(ctx context.Context, endpointID string) error {
	_, err := tx.tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = $2, lease_token = '' WHERE endpoint_id = $1 AND `+isPending,
		endpointID, deliveryCanceled)
	if err != nil {
		return fmt.Errorf("cancel deliveries to %s: %w", endpointID, err)
	}
	return nil
}

// fillPendingWebhooks sets each event's PendingWebhooks: the deliveries of it
// still waiting or being attempted.
func (db *DB) fillPendingWebhooks(ctx context.Context, q querier, events ...*pay.Event) error {
	if len(events) == 0 {
		return nil
	}
	qb := &query{}
	byID := map[string]*pay.Event{}
	ph := make([]string, len(events))
	for i, e := range events {
		e.PendingWebhooks = 0
		byID[e.ID] = e
		ph[i] = qb.arg(e.ID)
	}
	fmt.Fprintf(qb, `SELECT event_id, COUNT(*) FROM webhook_deliveries WHERE `+isPending+` AND event_id IN (%s) GROUP BY event_id`,
		strings.Join(ph, ", "))
	rows, err := q.QueryContext(ctx, qb.String(), qb.args...)
	if err != nil {
		return fmt.Errorf("count pending webhooks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id string
			n  int
		)
		if err := rows.Scan(&id, &n); err != nil {
			return fmt.Errorf("count pending webhooks: %w", err)
		}
		byID[id].PendingWebhooks = n
	}
	return rows.Err()
}

// Delivery is a claimed delivery: one event to send to one endpoint, with
// what signing it needs. Its secrets are decrypted in memory only for the
// attempt and never print.
type Delivery struct {
	Event      *pay.Event // PendingWebhooks counts this delivery too
	EndpointID string
	URL        string
	Secrets    []secret.Value // the current signing secret, then a rolled one still valid
	// Attempt is this attempt's number, from 1.
	Attempt int
	// WindowStart is when the delivery's retry window began: the event's
	// creation, or its last manual retry.
	WindowStart time.Time
	// Broken, when set, says why the delivery cannot be sent: the attempt
	// fails with it without a request.
	Broken     string
	leaseToken string
}

// ClaimOptions tune ClaimDeliveries.
type ClaimOptions struct {
	Now   time.Time     // deliveries due at Now are claimed
	Lease time.Duration // how long the claim excludes other workers
	Limit int           // at most this many
	// PerEndpoint caps one endpoint's deliveries in flight in this worker,
	// counting InFlight, so a slow or hanging receiver cannot take every
	// slot. 0: no cap.
	PerEndpoint int
	InFlight    map[string]int // this worker's deliveries in flight, by endpoint
}

// ClaimDeliveries leases up to o.Limit deliveries that are due, so that no
// other worker (in this process or another sharing the database) attempts
// them until o.Now+o.Lease. Endpoints take turns: the oldest due deliveries
// of each endpoint come first, at most o.PerEndpoint of one endpoint. On
// PostgreSQL rows are locked with FOR UPDATE SKIP LOCKED, so concurrent
// workers take different rows; on SQLite the single writer serialises
// claims. A delivery whose endpoint was deleted or disabled meanwhile is
// canceled instead of returned. A worker that dies before finishing a
// delivery loses its lease when it expires, and the delivery is claimed
// again: delivery is at least once.
func (db *DB) ClaimDeliveries(ctx context.Context, o ClaimOptions) ([]*Delivery, error) {
	if o.Limit <= 0 {
		return nil, nil
	}
	at := o.Now.Unix()
	keys, err := db.dueDeliveries(ctx, o, at)
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	token := pay.RandomString(22)
	var claimed []claimedRow
	err = db.Tx(ctx, func(tx *Tx) error {
		var err error
		if claimed, err = tx.claim(ctx, keys, at, at+int64(o.Lease/time.Second), token); err != nil {
			return err
		}
		return tx.loadClaimed(ctx, claimed)
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	var out []*Delivery
	for i := range claimed {
		c := &claimed[i]
		if c.gone {
			continue
		}
		d, err := db.openClaimed(c, token, at)
		if err != nil {
			// It will not open later either (the key was changed?): the
			// attempt fails, so retries, and in the end disabling, follow
			// their course instead of the lease expiring forever.
			db.log.Error("webhook delivery cannot be prepared", "event", c.eventID, "endpoint", c.endpointID, "err", err)
			d = &Delivery{Event: c.event, EndpointID: c.endpointID, URL: c.url, Attempt: c.attempts + 1,
				WindowStart: time.Unix(c.windowStart, 0), leaseToken: token,
				Broken: "the event or the endpoint's signing secret cannot be decrypted: check CALMONY_ENCRYPTION_KEY and CALMONY_WEBHOOK_ENCRYPTION_KEY"}
		}
		out = append(out, d)
	}
	return out, nil
}

// deliveryKey names one delivery.
type deliveryKey struct{ eventID, endpointID string }

// dueDeliveries picks, without locking, which due deliveries to try to
// claim: the oldest due first, within the per-endpoint cap. When the oldest
// belong to endpoints at their cap (a receiver that hangs with a backlog),
// it looks again past those endpoints, so others are not queued behind
// them. It reads through the read pool, so on SQLite it does not hold up
// the writer.
func (db *DB) dueDeliveries(ctx context.Context, o ClaimOptions, at int64) ([]deliveryKey, error) {
	taken := map[string]int{}
	full := func(ep string) bool { return o.PerEndpoint > 0 && o.InFlight[ep]+taken[ep] >= o.PerEndpoint }
	var (
		keys    []deliveryKey
		skipped []string // endpoints at their cap
	)
	for _, ep := range sortedKeys(o.InFlight) {
		if full(ep) {
			skipped = append(skipped, ep)
		}
	}
	scan := 2*o.Limit + 4
	for round := 0; round < 4 && len(keys) < o.Limit; round++ {
		q := &query{}
		fmt.Fprintf(q, `SELECT event_id, endpoint_id FROM webhook_deliveries WHERE `+isPending+` AND next_attempt <= %s AND locked_until <= %s`,
			q.arg(at), q.arg(at))
		if len(skipped) > 0 {
			ph := make([]string, len(skipped))
			for i, ep := range skipped {
				ph[i] = q.arg(ep)
			}
			fmt.Fprintf(q, ` AND endpoint_id NOT IN (%s)`, strings.Join(ph, ", "))
		}
		fmt.Fprintf(q, ` ORDER BY next_attempt LIMIT %s`, q.arg(scan))
		n, capped, err := db.pickDue(ctx, q, o.Limit, scan, &keys, taken, full)
		if err != nil {
			return nil, fmt.Errorf("find due deliveries: %w", err)
		}
		if n < scan || len(capped) == 0 {
			break // nothing more is due, or nothing was passed over
		}
		skipped = append(skipped, capped...)
	}
	return keys, nil
}

// pickDue reads candidate rows into keys, up to limit, skipping endpoints
// that are full. It returns how many rows it read and which endpoints it
// passed over for being full.
func (db *DB) pickDue(ctx context.Context, q *query, limit, scan int, keys *[]deliveryKey, taken map[string]int, full func(string) bool) (int, []string, error) {
	rows, err := db.read.QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	n := 0
	var capped []string
	for rows.Next() {
		n++
		var k deliveryKey
		if err := rows.Scan(&k.eventID, &k.endpointID); err != nil {
			return n, nil, err
		}
		switch {
		case len(*keys) >= limit:
			return scan, nil, nil // enough: no need to look further
		case full(k.endpointID):
			if !slices.Contains(capped, k.endpointID) {
				capped = append(capped, k.endpointID)
			}
		default:
			taken[k.endpointID]++
			*keys = append(*keys, k)
		}
	}
	return n, capped, rows.Err()
}

func sortedKeys(m map[string]int) []string {
	return slices.Sorted(maps.Keys(m))
}

// claimedRow is a claimed delivery as read inside the claiming transaction.
type claimedRow struct {
	eventID, endpointID string
	attempts            int
	windowStart         int64
	event               *pay.Event
	eventData           []byte
	url                 string
	secret, previous    []byte
	previousExpires     int64
	gone                bool // the endpoint no longer takes deliveries: canceled
}

// claim leases the given deliveries that are still due and unleased.
func (tx *Tx) claim(ctx context.Context, keys []deliveryKey, at, until int64, token string) ([]claimedRow, error) {
	q := &query{}
	fmt.Fprintf(q, `UPDATE webhook_deliveries SET locked_until = %s, lease_token = %s WHERE (event_id, endpoint_id) IN (
		SELECT event_id, endpoint_id FROM webhook_deliveries WHERE (event_id, endpoint_id) IN (VALUES `, q.arg(until), q.arg(token))
	for i, k := range keys {
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(q, "(%s, %s)", q.arg(k.eventID), q.arg(k.endpointID))
	}
	fmt.Fprintf(q, `) AND `+isPending+` AND next_attempt <= %s AND locked_until <= %s`, q.arg(at), q.arg(at))
	if tx.db.dialect == Postgres {
		q.WriteString(` FOR UPDATE SKIP LOCKED`)
	}
	q.WriteString(`) RETURNING event_id, endpoint_id, attempts, window_start`)
	rows, err := tx.tx.QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []claimedRow
	for rows.Next() {
		var c claimedRow
		if err := rows.Scan(&c.eventID, &c.endpointID, &c.attempts, &c.windowStart); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// loadClaimed reads each claimed delivery's event and endpoint, and cancels
// those whose endpoint is gone or disabled.
func (tx *Tx) loadClaimed(ctx context.Context, claimed []claimedRow) error {
	for i := range claimed {
		c := &claimed[i]
		var status string
		err := tx.tx.QueryRowContext(ctx, `SELECT url, status, secret, previous_secret, previous_secret_expires FROM webhook_endpoints WHERE id = $1`,
			c.endpointID).Scan(&c.url, &status, &c.secret, &c.previous, &c.previousExpires)
		if errors.Is(err, sql.ErrNoRows) || err == nil && status != pay.WebhookEnabled {
			c.gone = true
			if _, err := tx.tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = $3, lease_token = '' WHERE event_id = $1 AND endpoint_id = $2`,
				c.eventID, c.endpointID, deliveryCanceled); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		e := &pay.Event{}
		err = tx.tx.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events WHERE id = $1`, c.eventID).Scan(
			&e.ID, &e.Scope.ProjectID, &e.Scope.Livemode, &e.Type, &e.Created, &e.ObjectID, &c.eventData, &e.RequestID, &e.IdempotencyKey, &e.APIVersion)
		if err != nil {
			return fmt.Errorf("event %s: %w", c.eventID, err)
		}
		c.event = e
		if err := tx.db.fillPendingWebhooks(ctx, tx.tx, e); err != nil {
			return err
		}
	}
	return nil
}

// openClaimed decrypts a claimed delivery's event data and secrets.
func (db *DB) openClaimed(c *claimedRow, token string, now int64) (*Delivery, error) {
	data, err := db.keys.Open(c.eventData, eventAAD(c.eventID))
	if err != nil {
		return nil, fmt.Errorf("event %s data: %w", c.eventID, err)
	}
	c.event.Data = data
	secrets, err := db.openWebhookSecrets(c.endpointID, c.secret, c.previous, c.previousExpires, now)
	if err != nil {
		return nil, err
	}
	return &Delivery{Event: c.event, EndpointID: c.endpointID, URL: c.url, Secrets: secrets, Attempt: c.attempts + 1,
		WindowStart: time.Unix(c.windowStart, 0), leaseToken: token}, nil
}

// AttemptResult is the outcome of one delivery attempt.
type AttemptResult struct {
	Started      time.Time
	Duration     time.Duration
	StatusCode   int    // 0: no HTTP answer
	ResponseBody string // already truncated
	Error        string
	Succeeded    bool
	// NextRetry is when to try again after a failure; zero gives up.
	NextRetry time.Time
}

// FinishOutcome reports what FinishDelivery did beyond recording the attempt.
type FinishOutcome struct {
	// EndpointDisabled: the endpoint had been failing for disableAfter and
	// was disabled.
	EndpointDisabled bool
}

// FinishDelivery records an attempt and moves the delivery on: done after a
// success, scheduled at r.NextRetry after a failure, or failed for good. An
// endpoint whose deliveries have failed without a success for disableAfter
// is disabled, with reason delivery_failures, and its waiting deliveries
// are canceled. If the worker's lease was lost meanwhile (a manual retry
// re-armed the delivery), the attempt is still recorded but the delivery's
// schedule is left to the newer claim.
func (db *DB) FinishDelivery(ctx context.Context, d *Delivery, r AttemptResult, disableAfter time.Duration) (FinishOutcome, error) {
	var out FinishOutcome
	at := r.Started.Unix()
	state, next, nextRetry := deliverySucceeded, int64(0), int64(0)
	if !r.Succeeded {
		state = deliveryFailed
		if !r.NextRetry.IsZero() {
			state, next, nextRetry = deliveryPending, r.NextRetry.Unix(), r.NextRetry.Unix()
		}
	}
	e := d.Event
	err := db.Tx(ctx, func(tx *Tx) error {
		out = FinishOutcome{}
		_, err := tx.tx.ExecContext(ctx, `INSERT INTO webhook_attempts (id, project_id, livemode, created, event_id, endpoint_id, url, attempt,
			succeeded, status_code, duration_ms, response_body, error, next_retry) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			pay.NewID(pay.PrefixDeliveryAttempt), e.Scope.ProjectID, e.Scope.Livemode, at, e.ID, d.EndpointID, d.URL, d.Attempt,
			r.Succeeded, r.StatusCode, r.Duration.Milliseconds(), r.ResponseBody, r.Error, nextRetry)
		if err != nil {
			return fmt.Errorf("record attempt: %w", err)
		}
		if _, err := tx.tx.ExecContext(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1 WHERE event_id = $1 AND endpoint_id = $2`,
			e.ID, d.EndpointID); err != nil {
			return err
		}
		if _, err := tx.tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = $4, next_attempt = $5, locked_until = 0, lease_token = ''
			WHERE event_id = $1 AND endpoint_id = $2 AND lease_token = $3`, e.ID, d.EndpointID, d.leaseToken, state, next); err != nil {
			return err
		}
		if r.Succeeded {
			_, err := tx.tx.ExecContext(ctx, `UPDATE webhook_endpoints SET failing_since = 0 WHERE id = $1 AND failing_since <> 0`, d.EndpointID)
			return err
		}
		disabled, err := tx.noteFailure(ctx, d.EndpointID, at, int64(disableAfter/time.Second))
		out.EndpointDisabled = disabled
		return err
	})
	if err != nil {
		return out, fmt.Errorf("finish delivery of %s to %s: %w", e.ID, d.EndpointID, err)
	}
	return out, nil
}

// noteFailure marks an endpoint failing since at (unless it already was) and
// disables it once it has been failing for disableAfter seconds.
func (tx *Tx) noteFailure(ctx context.Context, endpointID string, at, disableAfter int64) (bool, error) {
	if _, err := tx.tx.ExecContext(ctx, `UPDATE webhook_endpoints SET failing_since = $2 WHERE id = $1 AND failing_since = 0`, endpointID, at); err != nil {
		return false, err
	}
	var (
		since  int64
		status string
	)
	err := tx.tx.QueryRowContext(ctx, `SELECT failing_since, status FROM webhook_endpoints WHERE id = $1`, endpointID).Scan(&since, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil // deleted meanwhile
	} else if err != nil {
		return false, err
	}
	if status != pay.WebhookEnabled || at-since < disableAfter {
		return false, nil
	}
	if _, err := tx.tx.ExecContext(ctx, `UPDATE webhook_endpoints SET status = $2, disabled_reason = $3, disabled_at = $4 WHERE id = $1`,
		endpointID, pay.WebhookDisabled, pay.DisabledDeliveryFailures, at); err != nil {
		return false, err
	}
	return true, tx.cancelDeliveries(ctx, endpointID)
}

// ReleaseDelivery gives a claimed delivery back without an attempt (the
// worker is stopping), so another worker may take it at once.
func (db *DB) ReleaseDelivery(ctx context.Context, d *Delivery) error {
	return db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.tx.ExecContext(ctx, `UPDATE webhook_deliveries SET locked_until = 0, lease_token = '' WHERE event_id = $1 AND endpoint_id = $2 AND lease_token = $3`,
			d.Event.ID, d.EndpointID, d.leaseToken)
		return err
	})
}

// RetryEvent queues an event again, now, for one endpoint (endpointID) or
// for every enabled endpoint of the scope that subscribes to its type
// (endpointID ""), whatever became of earlier deliveries, and returns the
// event with its new pending count. Each retry starts a new retry window.
// It returns pay.ErrNotFound for an unknown event or endpoint, and
// ErrEndpointDisabled for a disabled endpoint.
func (tx *Tx) RetryEvent(ctx context.Context, scope pay.Scope, eventID, endpointID string) (*pay.Event, int, error) {
	e, err := tx.db.scanEvent(tx.tx.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events `+whereID,
		eventID, scope.ProjectID, scope.Livemode))
	if err != nil {
		return nil, 0, notFound(err, "find event "+eventID)
	}
	var ids []string
	if endpointID != "" {
		ep, err := tx.FindWebhookEndpoint(ctx, scope, endpointID)
		if err != nil {
			return nil, 0, err
		}
		if ep.Status != pay.WebhookEnabled {
			return nil, 0, ErrEndpointDisabled
		}
		ids = []string{ep.ID}
	} else if ids, err = tx.subscribedEndpoints(ctx, scope, e.Type); err != nil {
		return nil, 0, err
	}
	for _, id := range ids {
		// A delivery in flight keeps its lease, but loses its token: its
		// outcome no longer settles the row, which is sent again after.
		_, err := tx.tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (event_id, endpoint_id, project_id, livemode, state, window_start, next_attempt)
			VALUES ($1, $2, $3, $4, $5, $6, $6)
			ON CONFLICT (event_id, endpoint_id) DO UPDATE SET state = $5, window_start = $6, next_attempt = $6, lease_token = ''`,
			e.ID, id, scope.ProjectID, scope.Livemode, deliveryPending, tx.unix())
		if err != nil {
			return nil, 0, fmt.Errorf("retry %s to %s: %w", e.ID, id, err)
		}
	}
	if err := tx.db.fillPendingWebhooks(ctx, tx.tx, e); err != nil {
		return nil, 0, err
	}
	return e, len(ids), nil
}

// ErrEndpointDisabled means a delivery was asked of a disabled endpoint.
var ErrEndpointDisabled = errors.New("store: webhook endpoint is disabled")

const attemptColumns = `id, project_id, livemode, created, event_id, endpoint_id, url, attempt, succeeded, status_code, duration_ms,
	response_body, error, next_retry`

func scanAttempt(row interface{ Scan(...any) error }) (*pay.DeliveryAttempt, error) {
	var a pay.DeliveryAttempt
	err := row.Scan(&a.ID, &a.Scope.ProjectID, &a.Scope.Livemode, &a.Created, &a.EventID, &a.EndpointID, &a.URL, &a.Attempt,
		&a.Succeeded, &a.StatusCode, &a.DurationMS, &a.ResponseBody, &a.Error, &a.NextRetry)
	return &a, err
}

// FindDeliveryAttempts lists an event's delivery attempts, newest first,
// optionally for one endpoint only.
func (db *DB) FindDeliveryAttempts(ctx context.Context, scope pay.Scope, eventID, endpointID string, page pay.Page) (pay.List[*pay.DeliveryAttempt], error) {
	return list(ctx, db.read, listSpec{
		kind: "webhook_delivery_attempt", table: "webhook_attempts", columns: attemptColumns, scope: scope, page: page,
		where: func(q *query) {
			fmt.Fprintf(q, ` AND event_id = %s`, q.arg(eventID))
			if endpointID != "" {
				fmt.Fprintf(q, ` AND endpoint_id = %s`, q.arg(endpointID))
			}
		},
	}, func(rows *sql.Rows) (*pay.DeliveryAttempt, error) { return scanAttempt(rows) })
}

// pruneBatch bounds the events one pruning transaction deletes, so pruning a
// long backlog never holds the writer for long.
const pruneBatch = 500

// PruneEvents deletes events created before unix time before, with their
// deliveries and delivery attempts, and reports how many events it deleted.
// It goes scope by scope, through each scope's events in creation order.
func (db *DB) PruneEvents(ctx context.Context, before int64) (int64, error) {
	projects, err := db.FindProjects(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	var total int64
	for _, p := range projects {
		for _, livemode := range []bool{false, true} {
			scope := pay.Scope{ProjectID: p.ID, Livemode: livemode}
			for {
				var n int
				err := db.Tx(ctx, func(tx *Tx) error {
					var err error
					n, err = tx.pruneEventBatch(ctx, scope, before)
					return err
				})
				if err != nil {
					return total, fmt.Errorf("prune events: %w", err)
				}
				total += int64(n)
				if n < pruneBatch {
					break
				}
			}
		}
	}
	return total, nil
}

func (tx *Tx) pruneEventBatch(ctx context.Context, scope pay.Scope, before int64) (int, error) {
	rows, err := tx.tx.QueryContext(ctx, `SELECT id FROM events WHERE project_id = $1 AND livemode = $2 AND created < $3 ORDER BY created LIMIT $4`,
		scope.ProjectID, scope.Livemode, before, pruneBatch)
	if err != nil {
		return 0, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return 0, err
	}
	for _, table := range []string{"webhook_attempts", "webhook_deliveries", "events"} {
		q := &query{}
		ph := make([]string, len(ids))
		for i, id := range ids {
			ph[i] = q.arg(id)
		}
		col := "event_id"
		if table == "events" {
			col = "id"
		}
		fmt.Fprintf(q, `DELETE FROM %s WHERE %s IN (%s)`, table, col, strings.Join(ph, ", "))
		if _, err := tx.tx.ExecContext(ctx, q.String(), q.args...); err != nil {
			return 0, fmt.Errorf("prune %s: %w", table, err)
		}
	}
	return len(ids), nil
}
