package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/calmony/calmonypay/internal/pay"
)

// The customer portal's configurations and sessions (migration 0024).

const portalConfigColumns = `id, project_id, livemode, created, updated, active, is_default, name, default_return_url, business_profile,
	features, metadata`

func scanPortalConfig(row interface{ Scan(...any) error }) (*pay.PortalConfiguration, error) {
	var (
		c                            pay.PortalConfiguration
		business, features, metadata string
	)
	err := row.Scan(&c.ID, &c.Scope.ProjectID, &c.Scope.Livemode, &c.Created, &c.Updated, &c.Active, &c.IsDefault, &c.Name,
		&c.DefaultReturnURL, &business, &features, &metadata)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		raw string
		dst any
	}{{business, &c.Business}, {features, &c.Features}, {metadata, &c.Metadata}} {
		if err := json.Unmarshal([]byte(f.raw), f.dst); err != nil {
			return nil, fmt.Errorf("portal configuration %s: %w", c.ID, err)
		}
	}
	return &c, nil
}

func portalConfigArgs(c *pay.PortalConfiguration) []any {
	business, _ := json.Marshal(c.Business)
	features, _ := json.Marshal(c.Features)
	return []any{c.ID, c.Scope.ProjectID, c.Scope.Livemode, c.Created, c.Updated, c.Active, c.IsDefault, c.Name, c.DefaultReturnURL,
		string(business), string(features), metadataJSON(c.Metadata)}
}

// CreatePortalConfiguration inserts a configuration, filling in its ID and
// times. A default one must be the scope's only default (ClearPortalDefault
// first).
func (tx *Tx) CreatePortalConfiguration(ctx context.Context, c *pay.PortalConfiguration) error {
	c.ID = pay.NewID(pay.PrefixPortalConfiguration)
	c.Created, c.Updated = tx.unix(), tx.unix()
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO billing_portal_configurations (`+portalConfigColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, portalConfigArgs(c)...)
	if err != nil {
		return fmt.Errorf("create portal configuration: %w", err)
	}
	return nil
}

// UpdatePortalConfiguration writes a configuration's mutable fields and
// sets its updated time.
func (tx *Tx) UpdatePortalConfiguration(ctx context.Context, c *pay.PortalConfiguration) error {
	c.Updated = tx.unix()
	a := portalConfigArgs(c)
	err := tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE billing_portal_configurations SET updated = $4, active = $5, is_default = $6, name = $7,
		default_return_url = $8, business_profile = $9, features = $10, metadata = $11 `+whereID,
		c.ID, c.Scope.ProjectID, c.Scope.Livemode, a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11]))
	if err != nil {
		return fmt.Errorf("update portal configuration %s: %w", c.ID, err)
	}
	return nil
}

// FindPortalDefault returns the scope's default configuration, locked on
// PostgreSQL, or pay.ErrNotFound.
func (tx *Tx) FindPortalDefault(ctx context.Context, scope pay.Scope) (*pay.PortalConfiguration, error) {
	c, err := scanPortalConfig(tx.tx.QueryRowContext(ctx, `SELECT `+portalConfigColumns+` FROM billing_portal_configurations
		WHERE project_id = $1 AND livemode = $2 AND is_default`+tx.db.forUpdate(), scope.ProjectID, scope.Livemode))
	if err != nil {
		return nil, notFound(err, "find default portal configuration")
	}
	return c, nil
}

// FindPortalConfiguration returns a configuration of the scope.
func (db *DB) FindPortalConfiguration(ctx context.Context, scope pay.Scope, id string) (*pay.PortalConfiguration, error) {
	return findPortalConfig(ctx, db.read, scope, id, "")
}

// FindPortalConfiguration returns a configuration of the scope, locked on
// PostgreSQL.
func (tx *Tx) FindPortalConfiguration(ctx context.Context, scope pay.Scope, id string) (*pay.PortalConfiguration, error) {
	return findPortalConfig(ctx, tx.tx, scope, id, tx.db.forUpdate())
}

func findPortalConfig(ctx context.Context, q querier, scope pay.Scope, id, suffix string) (*pay.PortalConfiguration, error) {
	c, err := scanPortalConfig(q.QueryRowContext(ctx, `SELECT `+portalConfigColumns+` FROM billing_portal_configurations `+whereID+suffix,
		id, scope.ProjectID, scope.Livemode))
	if err != nil {
		return nil, notFound(err, "find portal configuration "+id)
	}
	return c, nil
}

// PortalConfigurationFilter narrows FindPortalConfigurations; nil fields
// do not filter.
type PortalConfigurationFilter struct {
	Active, IsDefault *bool
}

// FindPortalConfigurations lists the scope's configurations, newest first.
func (db *DB) FindPortalConfigurations(ctx context.Context, scope pay.Scope, f PortalConfigurationFilter, page pay.Page) (pay.List[*pay.PortalConfiguration], error) {
	return list(ctx, db.read, listSpec{
		kind: "billing_portal.configuration", table: "billing_portal_configurations", columns: portalConfigColumns, scope: scope, page: page,
		where: func(q *query) {
			if f.Active != nil {
				fmt.Fprintf(q, ` AND active = %s`, q.arg(*f.Active))
			}
			if f.IsDefault != nil {
				fmt.Fprintf(q, ` AND is_default = %s`, q.arg(*f.IsDefault))
			}
		},
	}, func(rows *sql.Rows) (*pay.PortalConfiguration, error) { return scanPortalConfig(rows) })
}

// ClearPortalDefault makes the scope's default configuration, if any, not
// the default.
func (tx *Tx) ClearPortalDefault(ctx context.Context, scope pay.Scope) error {
	_, err := tx.tx.ExecContext(ctx, `UPDATE billing_portal_configurations SET is_default = FALSE, updated = $3
		WHERE project_id = $1 AND livemode = $2 AND is_default`, scope.ProjectID, scope.Livemode, tx.unix())
	return err
}

const portalSessionColumns = `id, project_id, livemode, created, expires_at, revoked_at, token_hash, customer_id, configuration_id, return_url, locale`

func scanPortalSession(row interface{ Scan(...any) error }) (*pay.PortalSession, error) {
	var s pay.PortalSession
	err := row.Scan(&s.ID, &s.Scope.ProjectID, &s.Scope.Livemode, &s.Created, &s.ExpiresAt, &s.RevokedAt, &s.TokenHash, &s.Customer,
		&s.Configuration, &s.ReturnURL, &s.Locale)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// CreatePortalSession inserts a session, filling in its ID and creation
// time; it keeps s.TokenHash, never s.Token.
func (tx *Tx) CreatePortalSession(ctx context.Context, s *pay.PortalSession) error {
	s.ID = pay.NewID(pay.PrefixPortalSession)
	s.Created = tx.unix()
	err := tx.tx.execLater(ctx, `INSERT INTO billing_portal_sessions (`+portalSessionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		s.ID, s.Scope.ProjectID, s.Scope.Livemode, s.Created, s.ExpiresAt, s.RevokedAt, s.TokenHash, s.Customer, s.Configuration,
		s.ReturnURL, s.Locale)
	if err != nil {
		return fmt.Errorf("create portal session: %w", err)
	}
	return nil
}

// FindPortalSessionByToken returns the session whose token hashes to hash
// (pay.PortalTokenHash), whatever its scope: the address is the
// credential. Expired and revoked sessions are returned too; the caller
// checks pay.PortalSession.Usable.
func (db *DB) FindPortalSessionByToken(ctx context.Context, hash string) (*pay.PortalSession, error) {
	s, err := scanPortalSession(db.read.QueryRowContext(ctx, `SELECT `+portalSessionColumns+` FROM billing_portal_sessions WHERE token_hash = $1`, hash))
	if err != nil {
		return nil, notFound(err, "find portal session")
	}
	return s, nil
}

// FindPortalSession returns a session by ID within the transaction.
func (tx *Tx) FindPortalSession(ctx context.Context, id string) (*pay.PortalSession, error) {
	s, err := scanPortalSession(tx.tx.QueryRowContext(ctx, `SELECT `+portalSessionColumns+` FROM billing_portal_sessions WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "find portal session "+id)
	}
	return s, nil
}

// RevokePortalSessions revokes the customer's sessions that still work at
// unix time now, and returns how many.
func (tx *Tx) RevokePortalSessions(ctx context.Context, scope pay.Scope, customer string, now int64) (int64, error) {
	res, err := tx.tx.ExecContext(ctx, `UPDATE billing_portal_sessions SET revoked_at = $4
		WHERE project_id = $1 AND livemode = $2 AND customer_id = $3 AND revoked_at = 0 AND expires_at > $4`,
		scope.ProjectID, scope.Livemode, customer, now)
	if err != nil {
		return 0, fmt.Errorf("revoke portal sessions of %s: %w", customer, err)
	}
	return res.RowsAffected()
}

// CustomerScope returns the project and mode of customer id, for commands
// that are given a customer alone.
func (db *DB) CustomerScope(ctx context.Context, id string) (pay.Scope, error) {
	var s pay.Scope
	if err := db.read.QueryRowContext(ctx, `SELECT project_id, livemode FROM customers WHERE id = $1`, id).Scan(&s.ProjectID, &s.Livemode); err != nil {
		return s, notFound(err, "find customer "+id)
	}
	return s, nil
}
