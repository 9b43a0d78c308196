package store

import (
	"context"
	"fmt"

	"github.com/calmony/calmonypay/internal/pay"
)

// The dashboard's sign-in flows' reads (part A of issue 20): single-use
// links looked at before they are spent, a person's pending invitations,
// and the project a sign-in attempt is recorded against.

// FindSignInToken returns the single-use link with the hash and purpose,
// spent or not (the caller decides with UsedAt and ExpiresAt).
func (db *DB) FindSignInToken(ctx context.Context, tokenHash, purpose string) (*pay.SignInToken, error) {
	t, err := scanToken(db.read.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM signin_tokens WHERE token_hash = $1 AND purpose = $2`,
		tokenHash, purpose))
	if err != nil {
		return nil, notFound(err, "find sign-in link")
	}
	return t, nil
}

// FindInvitesByEmail lists the invitations of a (normalised) address not
// yet accepted and not expired at unix time now, in every project, newest
// first.
func (tx *Tx) FindInvitesByEmail(ctx context.Context, email string, now int64) ([]*pay.SignInToken, error) {
	rows, err := tx.tx.QueryContext(ctx, `SELECT `+tokenColumns+` FROM signin_tokens
		WHERE email = $1 AND purpose = $2 AND used_at = 0 AND expires_at > $3 ORDER BY created DESC, token_hash`, email, pay.TokenInvite, now)
	if err != nil {
		return nil, fmt.Errorf("find invites by email: %w", err)
	}
	defer rows.Close()
	var out []*pay.SignInToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("find invites by email: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// FirstProjectID returns the oldest project's ID (pay.ErrNotFound when
// there is none).
func (db *DB) FirstProjectID(ctx context.Context) (string, error) {
	var id string
	if err := db.read.QueryRowContext(ctx, `SELECT id FROM projects ORDER BY created, id LIMIT 1`).Scan(&id); err != nil {
		return "", notFound(err, "first project")
	}
	return id, nil
}

// FindMemberRole returns a user's role in a project, in tx
// (pay.ErrNotFound for none).
func (tx *Tx) FindMemberRole(ctx context.Context, projectID, userID string) (pay.Role, error) {
	var role string
	err := tx.tx.QueryRowContext(ctx, `SELECT role FROM memberships WHERE project_id = $1 AND user_id = $2`, projectID, userID).Scan(&role)
	if err != nil {
		return "", notFound(err, "find member role")
	}
	return pay.Role(role), nil
}

// FindUserProjects lists the projects a user belongs to, in tx, in the
// order the user joined them.
func (tx *Tx) FindUserProjects(ctx context.Context, userID string) ([]string, error) {
	rows, err := tx.tx.QueryContext(ctx, `SELECT project_id FROM memberships WHERE user_id = $1 ORDER BY created, project_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("find user's projects: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("find user's projects: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
