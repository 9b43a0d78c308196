package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/secret"
)

const webhookEndpointColumns = `id, project_id, livemode, created, url, description, enabled_events, metadata, api_version,
	status, disabled_reason, disabled_at, failing_since`

// webhookSecretAAD binds a sealed signing secret to its endpoint. The current
// and the rolled (previous) secret share it, so rolling moves sealed bytes
// from one column to the other without opening them.
func webhookSecretAAD(id string) []byte { return []byte("webhook_endpoint/" + id + "/secret") }

func (db *DB) scanWebhookEndpoint(row interface{ Scan(...any) error }) (*pay.WebhookEndpoint, error) {
	var (
		ep           pay.WebhookEndpoint
		events, meta string
	)
	err := row.Scan(&ep.ID, &ep.Scope.ProjectID, &ep.Scope.Livemode, &ep.Created, &ep.URL, &ep.Description, &events, &meta,
		&ep.APIVersion, &ep.Status, &ep.DisabledReason, &ep.DisabledAt, &ep.FailingSince)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(events), &ep.EnabledEvents); err != nil {
		return nil, fmt.Errorf("webhook endpoint %s enabled_events: %w", ep.ID, err)
	}
	if err := json.Unmarshal([]byte(meta), &ep.Metadata); err != nil {
		return nil, fmt.Errorf("webhook endpoint %s metadata: %w", ep.ID, err)
	}
	return &ep, nil
}

func eventsJSON(types []string) string {
	if types == nil {
		types = []string{}
	}
	b, _ := json.Marshal(types) // a slice of strings always marshals
	return string(b)
}

// CreateWebhookEndpoint inserts an endpoint, filling in its ID and creation
// time. Its signing secret is stored sealed with the webhook key and is never
// returned by the store again except to sign deliveries.
func (tx *Tx) CreateWebhookEndpoint(ctx context.Context, ep *pay.WebhookEndpoint, signingSecret string) error {
	ep.ID = pay.NewID(pay.PrefixWebhookEndpoint)
	ep.Created = tx.unix()
	if ep.Status == "" {
		ep.Status = pay.WebhookEnabled
	}
	sealed := tx.db.whKeys.Seal([]byte(signingSecret), webhookSecretAAD(ep.ID))
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO webhook_endpoints (`+webhookEndpointColumns+`, secret)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		ep.ID, ep.Scope.ProjectID, ep.Scope.Livemode, ep.Created, ep.URL, ep.Description, eventsJSON(ep.EnabledEvents),
		metadataJSON(ep.Metadata), ep.APIVersion, ep.Status, ep.DisabledReason, ep.DisabledAt, ep.FailingSince, sealed)
	if err != nil {
		return fmt.Errorf("create webhook endpoint: %w", err)
	}
	return nil
}

// CountWebhookEndpoints returns how many endpoints the scope has.
func (tx *Tx) CountWebhookEndpoints(ctx context.Context, scope pay.Scope) (int, error) {
	var n int
	err := tx.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_endpoints WHERE project_id = $1 AND livemode = $2`,
		scope.ProjectID, scope.Livemode).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count webhook endpoints: %w", err)
	}
	return n, nil
}

// FindWebhookEndpoint returns an endpoint of the scope, for reading.
func (db *DB) FindWebhookEndpoint(ctx context.Context, scope pay.Scope, id string) (*pay.WebhookEndpoint, error) {
	return db.findWebhookEndpoint(ctx, db.read, scope, id, "")
}

// FindWebhookEndpoint returns an endpoint within the transaction, locking its
// row on PostgreSQL so concurrent updates serialise.
func (tx *Tx) FindWebhookEndpoint(ctx context.Context, scope pay.Scope, id string) (*pay.WebhookEndpoint, error) {
	return tx.db.findWebhookEndpoint(ctx, tx.tx, scope, id, tx.db.forUpdate())
}

func (db *DB) findWebhookEndpoint(ctx context.Context, q querier, scope pay.Scope, id, suffix string) (*pay.WebhookEndpoint, error) {
	ep, err := db.scanWebhookEndpoint(q.QueryRowContext(ctx, `SELECT `+webhookEndpointColumns+` FROM webhook_endpoints
		`+whereID+suffix, id, scope.ProjectID, scope.Livemode))
	if err != nil {
		return nil, notFound(err, "find webhook endpoint "+id)
	}
	return ep, nil
}

// FindWebhookEndpoints lists the scope's endpoints, newest first.
func (db *DB) FindWebhookEndpoints(ctx context.Context, scope pay.Scope, page pay.Page) (pay.List[*pay.WebhookEndpoint], error) {
	return list(ctx, db.read, listSpec{
		kind: "webhook_endpoint", table: "webhook_endpoints", columns: webhookEndpointColumns, scope: scope, page: page,
	}, func(rows *sql.Rows) (*pay.WebhookEndpoint, error) { return db.scanWebhookEndpoint(rows) })
}

// UpdateWebhookEndpoint writes the endpoint's URL, description, events,
// metadata and status over the stored one. Disabling it cancels the
// deliveries still waiting for it: events are not sent to disabled endpoints.
func (tx *Tx) UpdateWebhookEndpoint(ctx context.Context, ep *pay.WebhookEndpoint) error {
	err := tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE webhook_endpoints SET url = $4, description = $5, enabled_events = $6,
		metadata = $7, status = $8, disabled_reason = $9, disabled_at = $10, failing_since = $11
		`+whereID,
		ep.ID, ep.Scope.ProjectID, ep.Scope.Livemode, ep.URL, ep.Description, eventsJSON(ep.EnabledEvents), metadataJSON(ep.Metadata),
		ep.Status, ep.DisabledReason, ep.DisabledAt, ep.FailingSince))
	if err != nil {
		return fmt.Errorf("update webhook endpoint %s: %w", ep.ID, err)
	}
	if ep.Status != pay.WebhookEnabled {
		return tx.cancelDeliveries(ctx, ep.ID)
	}
	return nil
}

// DeleteWebhookEndpoint deletes an endpoint and cancels its waiting
// deliveries. Its past delivery attempts stay listed under their events.
func (tx *Tx) DeleteWebhookEndpoint(ctx context.Context, scope pay.Scope, id string) error {
	err := tx.expectOne(tx.tx.ExecContext(ctx, `DELETE FROM webhook_endpoints `+whereID,
		id, scope.ProjectID, scope.Livemode))
	if err != nil {
		return fmt.Errorf("delete webhook endpoint %s: %w", id, err)
	}
	return tx.cancelDeliveries(ctx, id)
}

// RollWebhookSecret replaces an endpoint's signing secret. The old secret
// keeps signing deliveries, beside the new one, until unix time
// previousExpires; 0 (or a time already past) drops it at once. Only one old
// secret is kept: rolling again replaces it.
func (tx *Tx) RollWebhookSecret(ctx context.Context, scope pay.Scope, id, signingSecret string, previousExpires int64) error {
	keep := previousExpires > tx.unix()
	if !keep {
		previousExpires = 0
	}
	sealed := tx.db.whKeys.Seal([]byte(signingSecret), webhookSecretAAD(id))
	err := tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE webhook_endpoints
		SET previous_secret = CASE WHEN $4 THEN secret ELSE NULL END, previous_secret_expires = $5, secret = $6
		`+whereID, id, scope.ProjectID, scope.Livemode, keep, previousExpires, sealed))
	if err != nil {
		return fmt.Errorf("roll webhook secret %s: %w", id, err)
	}
	return nil
}

// openWebhookSecrets opens an endpoint's signing secrets for signing at unix
// time now: the current one first, then the rolled one while it is valid.
func (db *DB) openWebhookSecrets(id string, current, previous []byte, previousExpires, now int64) ([]secret.Value, error) {
	cur, err := db.whKeys.Open(current, webhookSecretAAD(id))
	if err != nil {
		return nil, fmt.Errorf("webhook endpoint %s secret: %w", id, err)
	}
	out := []secret.Value{cur}
	if previous != nil && previousExpires > now {
		prev, err := db.whKeys.Open(previous, webhookSecretAAD(id))
		if err != nil {
			return nil, fmt.Errorf("webhook endpoint %s previous secret: %w", id, err)
		}
		out = append(out, prev)
	}
	return out, nil
}
