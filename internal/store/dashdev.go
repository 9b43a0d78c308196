package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/calmony/calmonypay/internal/pay"
)

// The dashboard's developer and admin pages' reads and team writes.

// FindEndpointAttempts lists the delivery attempts to one webhook endpoint
// of the scope, newest first.
func (db *DB) FindEndpointAttempts(ctx context.Context, scope pay.Scope, endpointID string, page pay.Page) (pay.List[*pay.DeliveryAttempt], error) {
	return list(ctx, db.read, listSpec{
		kind: "webhook_delivery_attempt", table: "webhook_attempts", columns: attemptColumns, scope: scope, page: page,
		where: func(q *query) { fmt.Fprintf(q, ` AND endpoint_id = %s`, q.arg(endpointID)) },
	}, func(rows *sql.Rows) (*pay.DeliveryAttempt, error) { return scanAttempt(rows) })
}

// FindAuditByAction lists a project's audit log, newest first, a page at a
// time (both modes), with only the lines of one action ("api_key.created")
// or of the actions of one noun ("api_key.") when action ends with a dot;
// every line when action is empty.
func (db *DB) FindAuditByAction(ctx context.Context, projectID, action string, page pay.Page) (pay.List[*pay.AuditEntry], error) {
	spec := listSpec{kind: "audit entry", table: "audit_log", columns: auditColumns, page: page, anyMode: true,
		scope: pay.Scope{ProjectID: projectID}}
	if action != "" {
		spec.where = func(q *query) {
			if strings.HasSuffix(action, ".") {
				fmt.Fprintf(q, ` AND substr(action, 1, %d) = %s`, len(action), q.arg(action))
			} else {
				fmt.Fprintf(q, ` AND action = %s`, q.arg(action))
			}
		}
	}
	return list(ctx, db.read, spec, scanAuditEntry)
}

// FindProjectSignInDomains returns the e-mail domains whose verified
// addresses may sign in to a project without an invitation.
func (db *DB) FindProjectSignInDomains(ctx context.Context, projectID string) ([]string, error) {
	var domains string
	if err := db.read.QueryRowContext(ctx, `SELECT signin_domains FROM projects WHERE id = $1`, projectID).Scan(&domains); err != nil {
		return nil, notFound(err, "find sign-in domains of "+projectID)
	}
	return splitDomains(domains), nil
}

// SetMemberRole changes the role of a member of a project. A user who is
// not a member is pay.ErrNotFound; demoting the project's last admin is
// refused (pay.ErrConflict). Like RemoveMember it takes the project's row
// lock, so two admins demoting each other at once cannot leave it with
// none.
func (tx *Tx) SetMemberRole(ctx context.Context, projectID, userID string, role pay.Role) error {
	admins, err := tx.lockTeam(ctx, projectID, userID)
	if err != nil {
		return fmt.Errorf("set member role: %w", err)
	}
	var current string
	err = tx.tx.QueryRowContext(ctx, `SELECT role FROM memberships WHERE project_id = $1 AND user_id = $2`, projectID, userID).Scan(&current)
	if err != nil {
		return notFound(err, "set member role")
	}
	if pay.Role(current) == pay.RoleAdmin && role != pay.RoleAdmin && admins == 0 {
		return fmt.Errorf("demote the last admin: %w", pay.ErrConflict)
	}
	_, err = tx.tx.ExecContext(ctx, `UPDATE memberships SET role = $3 WHERE project_id = $1 AND user_id = $2`, projectID, userID, string(role))
	if err != nil {
		return fmt.Errorf("set member role: %w", err)
	}
	return nil
}
