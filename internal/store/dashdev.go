package store

import (
	"context"
	"database/sql"
	"encoding/json"
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
// time, with only the lines of one action ("api_key.created") or of the
// actions of one noun ("api_key.") when action ends with a dot; every line
// when action is empty.
func (db *DB) FindAuditByAction(ctx context.Context, projectID, action string, page pay.Page) (pay.List[*pay.AuditEntry], error) {
	if action == "" {
		return db.FindAudit(ctx, projectID, page)
	}
	return list(ctx, db.read, listSpec{
		kind: "audit entry", table: "audit_log", columns: auditColumns, page: page, anyMode: true,
		scope: pay.Scope{ProjectID: projectID},
		where: func(q *query) {
			if strings.HasSuffix(action, ".") {
				fmt.Fprintf(q, ` AND substr(action, 1, %d) = %s`, len(action), q.arg(action))
			} else {
				fmt.Fprintf(q, ` AND action = %s`, q.arg(action))
			}
		},
	}, func(rows *sql.Rows) (*pay.AuditEntry, error) {
		var (
			e      pay.AuditEntry
			detail string
		)
		if err := rows.Scan(&e.ID, &e.ProjectID, &e.Livemode, &e.Created, &e.ActorID, &e.ActorEmail, &e.Action, &e.Target, &detail, &e.IP); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
			return nil, fmt.Errorf("audit entry %s: %w", e.ID, err)
		}
		return &e, nil
	})
}

// FindProjectSignInDomains returns the e-mail domains whose verified
// addresses may sign in to a project without an invitation.
func (db *DB) FindProjectSignInDomains(ctx context.Context, projectID string) ([]string, error) {
	var domains string
	if err := db.read.QueryRowContext(ctx, `SELECT signin_domains FROM projects WHERE id = $1`, projectID).Scan(&domains); err != nil {
		return nil, notFound(err, "find sign-in domains of "+projectID)
	}
	out := []string{}
	for d := range strings.SplitSeq(domains, ",") {
		if d != "" {
			out = append(out, d)
		}
	}
	return out, nil
}

// SetMemberRole changes the role of a member of a project. A user who is
// not a member is pay.ErrNotFound; demoting the project's last admin is
// refused (pay.ErrConflict). Like RemoveMember it takes the project's row
// lock, so two admins demoting each other at once cannot leave it with
// none.
func (tx *Tx) SetMemberRole(ctx context.Context, projectID, userID string, role pay.Role) error {
	var locked string
	if err := tx.tx.QueryRowContext(ctx, `SELECT id FROM projects WHERE id = $1`+tx.db.forUpdate(), projectID).Scan(&locked); err != nil {
		return notFound(err, "set member role")
	}
	var current string
	err := tx.tx.QueryRowContext(ctx, `SELECT role FROM memberships WHERE project_id = $1 AND user_id = $2`, projectID, userID).Scan(&current)
	if err != nil {
		return notFound(err, "set member role")
	}
	if pay.Role(current) == pay.RoleAdmin && role != pay.RoleAdmin {
		var admins int
		if err := tx.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM memberships WHERE project_id = $1 AND role = $2 AND user_id <> $3`,
			projectID, string(pay.RoleAdmin), userID).Scan(&admins); err != nil {
			return fmt.Errorf("set member role: %w", err)
		}
		if admins == 0 {
			return fmt.Errorf("demote the last admin: %w", pay.ErrConflict)
		}
	}
	_, err = tx.tx.ExecContext(ctx, `UPDATE memberships SET role = $3 WHERE project_id = $1 AND user_id = $2`, projectID, userID, string(role))
	if err != nil {
		return fmt.Errorf("set member role: %w", err)
	}
	return nil
}
