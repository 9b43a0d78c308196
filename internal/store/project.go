package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/calmony/calmonypay/internal/pay"
)

var errNotFound = pay.ErrNotFound

// CreateProject inserts a project, filling in its ID and creation time.
func (tx *Tx) CreateProject(ctx context.Context, p *pay.Project) error {
	if p.ID == "" {
		p.ID = pay.NewID(pay.PrefixProject)
	}
	p.Created = tx.unix()
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO projects (id, name, created) VALUES ($1, $2, $3)`, p.ID, p.Name, p.Created)
	if err != nil {
		return fmt.Errorf("create project: %w", err)
	}
	return tx.changed(ctx, ChangeProject, p.ID)
}

const projectColumns = `id, name, created, currencies, business, dunning`

func scanProject(row interface{ Scan(...any) error }) (pay.Project, error) {
	var (
		p                             pay.Project
		currencies, business, dunning string
	)
	if err := row.Scan(&p.ID, &p.Name, &p.Created, &currencies, &business, &dunning); err != nil {
		return p, err
	}
	if currencies != "" {
		p.Currencies = strings.Split(currencies, ",")
	}
	if business != "" {
		if err := json.Unmarshal([]byte(business), &p.Business); err != nil {
			return p, fmt.Errorf("project %s: business details: %w", p.ID, err)
		}
	}
	p.Dunning = pay.DefaultDunning()
	if dunning != "" {
		if err := json.Unmarshal([]byte(dunning), &p.Dunning); err != nil {
			return p, fmt.Errorf("project %s: dunning schedule: %w", p.ID, err)
		}
	}
	return p, nil
}

// FindProjects returns every project, oldest first.
func (db *DB) FindProjects(ctx context.Context) ([]pay.Project, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+projectColumns+` FROM projects ORDER BY created, id`)
	if err != nil {
		return nil, fmt.Errorf("find projects: %w", err)
	}
	defer rows.Close()
	var out []pay.Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, fmt.Errorf("find projects: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// FindProject returns one project.
func (db *DB) FindProject(ctx context.Context, id string) (*pay.Project, error) {
	p, err := scanProject(db.read.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM projects WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "find project "+id)
	}
	return &p, nil
}

// FindProject returns one project within the transaction.
func (tx *Tx) FindProject(ctx context.Context, id string) (*pay.Project, error) {
	p, err := scanProject(tx.tx.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM projects WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "find project "+id)
	}
	return &p, nil
}

// SetProjectBusiness replaces the details a project's invoices print (the
// zero Business removes them). The caller validates them.
func (tx *Tx) SetProjectBusiness(ctx context.Context, id string, b pay.Business) error {
	var v string
	if !b.IsZero() {
		j, err := json.Marshal(b)
		if err != nil {
			return fmt.Errorf("set project business: %w", err)
		}
		v = string(j)
	}
	return tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE projects SET business = $2 WHERE id = $1`, id, v))
}

// SetProjectDunning replaces a project's dunning schedule. The caller
// checks it (pay.Dunning.Check).
func (tx *Tx) SetProjectDunning(ctx context.Context, id string, d pay.Dunning) error {
	j, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("set project dunning: %w", err)
	}
	return tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE projects SET dunning = $2 WHERE id = $1`, id, string(j)))
}

// SetProjectCurrencies replaces the currencies a project may charge in.
func (tx *Tx) SetProjectCurrencies(ctx context.Context, id string, currencies []string) error {
	if err := tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE projects SET currencies = $2 WHERE id = $1`, id, strings.Join(currencies, ","))); err != nil {
		return err
	}
	return tx.changed(ctx, ChangeProject, id)
}

const keyColumns = `id, project_id, livemode, hash, hint, created, expires_at, revoked_at`

func scanKey(row interface{ Scan(...any) error }) (*pay.APIKey, error) {
	var k pay.APIKey
	err := row.Scan(&k.ID, &k.ProjectID, &k.Livemode, &k.Hash, &k.Hint, &k.Created, &k.ExpiresAt, &k.RevokedAt)
	return &k, err
}

// CreateAPIKey inserts a key record, filling in its ID and creation time.
func (tx *Tx) CreateAPIKey(ctx context.Context, k *pay.APIKey) error {
	k.ID = pay.NewID(pay.PrefixAPIKey)
	k.Created = tx.unix()
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO api_keys (`+keyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		k.ID, k.ProjectID, k.Livemode, k.Hash, k.Hint, k.Created, k.ExpiresAt, k.RevokedAt)
	if err != nil {
		return fmt.Errorf("create api key: %w", err)
	}
	// Instances may have cached the key's hash as unknown.
	return tx.changed(ctx, ChangeKeys, k.ProjectID)
}

// FindAPIKeyByHash returns the key record with the given hash, revoked or not.
func (db *DB) FindAPIKeyByHash(ctx context.Context, hash string) (*pay.APIKey, error) {
	k, err := scanKey(db.read.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE hash = $1`, hash))
	if err != nil {
		return nil, notFound(err, "find api key")
	}
	return k, nil
}

// FindAPIKey returns a key record by ID.
func (tx *Tx) FindAPIKey(ctx context.Context, id string) (*pay.APIKey, error) {
	k, err := scanKey(tx.tx.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "find api key "+id)
	}
	return k, nil
}

// FindAPIKeys lists a project's keys (every project's if projectID is empty), oldest first.
func (db *DB) FindAPIKeys(ctx context.Context, projectID string) ([]*pay.APIKey, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE $1 = '' OR project_id = $1 ORDER BY created, id`, projectID)
	if err != nil {
		return nil, fmt.Errorf("find api keys: %w", err)
	}
	defer rows.Close()
	var out []*pay.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("find api keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// HasLiveKeys reports whether any unrevoked live-mode key exists.
func (db *DB) HasLiveKeys(ctx context.Context) (bool, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_keys WHERE livemode = $1 AND revoked_at = 0`, true).Scan(&n)
	return n > 0, err
}

// RevokeAPIKey revokes a key now.
func (tx *Tx) RevokeAPIKey(ctx context.Context, id string) error {
	return tx.changeKey(ctx, `UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at = 0 RETURNING project_id`, id, tx.unix())
}

// ExpireAPIKey makes a key stop working at unix time at (used when rolling).
func (tx *Tx) ExpireAPIKey(ctx context.Context, id string, at int64) error {
	return tx.changeKey(ctx, `UPDATE api_keys SET expires_at = $2 WHERE id = $1 AND revoked_at = 0 RETURNING project_id`, id, at)
}

// changeKey runs update, which changes one key and returns its project, and
// records the change (ErrNotFound if no key changed).
func (tx *Tx) changeKey(ctx context.Context, update string, args ...any) error {
	var project string
	if err := tx.tx.QueryRowContext(ctx, update, args...).Scan(&project); err != nil {
		return notFound(err, "change api key")
	}
	return tx.changed(ctx, ChangeKeys, project)
}

// expectOne turns an update that touched no row into ErrNotFound.
func (tx *Tx) expectOne(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return errNotFound
	}
	return nil
}

// AddOrigin adds an origin (already normalised) to a project's CORS allowlist.
// Adding one already there is not an error.
func (tx *Tx) AddOrigin(ctx context.Context, projectID, origin string) error {
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO project_origins (project_id, origin, created) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, projectID, origin, tx.unix())
	if err != nil {
		return fmt.Errorf("add origin: %w", err)
	}
	return tx.changed(ctx, ChangeOrigins, projectID)
}

// RemoveOrigin removes an origin from a project's allowlist.
func (tx *Tx) RemoveOrigin(ctx context.Context, projectID, origin string) error {
	if err := tx.expectOne(tx.tx.ExecContext(ctx, `DELETE FROM project_origins WHERE project_id = $1 AND origin = $2`, projectID, origin)); err != nil {
		return err
	}
	return tx.changed(ctx, ChangeOrigins, projectID)
}

// FindOrigins returns the allowlisted origins by project ID (all projects if
// projectID is empty).
func (db *DB) FindOrigins(ctx context.Context, projectID string) (map[string][]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT project_id, origin FROM project_origins WHERE $1 = '' OR project_id = $1 ORDER BY project_id, origin`, projectID)
	if err != nil {
		return nil, fmt.Errorf("find origins: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var p, o string
		if err := rows.Scan(&p, &o); err != nil {
			return nil, fmt.Errorf("find origins: %w", err)
		}
		out[p] = append(out[p], o)
	}
	return out, rows.Err()
}

// RenameProject changes a project's name.
func (tx *Tx) RenameProject(ctx context.Context, id, name string) error {
	return tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE projects SET name = $2 WHERE id = $1`, id, name))
}
