package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/calmony/calmonypay/internal/pay"
)

// The dashboard's people, memberships, sessions, single-use links and audit
// log (migration 0022).

const userColumns = `id, email, name, created, oidc_issuer, oidc_subject`

func scanUser(row interface{ Scan(...any) error }) (*pay.User, error) {
	var u pay.User
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Created, &u.OIDCIssuer, &u.OIDCSubject)
	return &u, err
}

// CreateUser inserts a user, filling in its ID and creation time. An e-mail
// address already taken is pay.ErrConflict.
func (tx *Tx) CreateUser(ctx context.Context, u *pay.User) error {
	u.ID, u.Created = pay.NewID(pay.PrefixUser), tx.unix()
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		u.ID, u.Email, u.Name, u.Created, u.OIDCIssuer, u.OIDCSubject)
	if err != nil {
		return conflict(err, "create user")
	}
	return nil
}

// EnsureUser returns the user with the (normalised) address, creating it
// if there is none.
func (tx *Tx) EnsureUser(ctx context.Context, email, name string) (*pay.User, error) {
	u, err := tx.FindUserByEmail(ctx, email)
	if !errors.Is(err, pay.ErrNotFound) {
		return u, err
	}
	u = &pay.User{Email: email, Name: name}
	return u, tx.CreateUser(ctx, u)
}

// FindUser returns a user by ID.
func (db *DB) FindUser(ctx context.Context, id string) (*pay.User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "find user "+id)
	}
	return u, nil
}

// FindUserByEmail returns the user with a (normalised) address.
func (tx *Tx) FindUserByEmail(ctx context.Context, email string) (*pay.User, error) {
	u, err := scanUser(tx.tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`, email))
	if err != nil {
		return nil, notFound(err, "find user by email")
	}
	return u, nil
}

// FindUserByOIDC returns the user bound to an identity provider's account.
func (tx *Tx) FindUserByOIDC(ctx context.Context, issuer, subject string) (*pay.User, error) {
	u, err := scanUser(tx.tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE oidc_issuer = $1 AND oidc_subject = $2 AND oidc_subject <> ''`, issuer, subject))
	if err != nil {
		return nil, notFound(err, "find user by oidc subject")
	}
	return u, nil
}

// BindUserOIDC binds a user to an identity provider's account (and keeps
// the name it gives). An account bound to another user is pay.ErrConflict.
func (tx *Tx) BindUserOIDC(ctx context.Context, id, issuer, subject, name string) error {
	res, err := tx.tx.ExecContext(ctx, `UPDATE users SET oidc_issuer = $2, oidc_subject = $3, name = CASE WHEN $4 = '' THEN name ELSE $4 END WHERE id = $1`,
		id, issuer, subject, name)
	if err != nil {
		return conflict(err, "bind user "+id)
	}
	return tx.expectOne(res, nil)
}

const memberColumns = `m.project_id, m.role, m.created, u.id, u.email, u.name, u.created, u.oidc_issuer, u.oidc_subject`

func scanMember(row interface{ Scan(...any) error }) (*pay.Member, error) {
	var m pay.Member
	err := row.Scan(&m.ProjectID, &m.Role, &m.Created, &m.User.ID, &m.User.Email, &m.User.Name, &m.User.Created,
		&m.User.OIDCIssuer, &m.User.OIDCSubject)
	return &m, err
}

// SetMember makes a user a member of a project with a role, or changes the
// role of a member.
func (tx *Tx) SetMember(ctx context.Context, projectID, userID string, role pay.Role) error {
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO memberships (project_id, user_id, role, created) VALUES ($1, $2, $3, $4)
		ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role`, projectID, userID, string(role), tx.unix())
	if err != nil {
		return fmt.Errorf("set member: %w", err)
	}
	return nil
}

// lockTeam takes the project row's lock for a change of its team, so two
// admins removing or demoting each other at once cannot leave it with none,
// and counts the project's admins other than userID.
func (tx *Tx) lockTeam(ctx context.Context, projectID, userID string) (otherAdmins int, err error) {
	var locked string
	if err := tx.tx.QueryRowContext(ctx, `SELECT id FROM projects WHERE id = $1`+tx.db.forUpdate(), projectID).Scan(&locked); err != nil {
		return 0, notFound(err, "lock team of "+projectID)
	}
	err = tx.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM memberships WHERE project_id = $1 AND role = $2 AND user_id <> $3`,
		projectID, string(pay.RoleAdmin), userID).Scan(&otherAdmins)
	if err != nil {
		return 0, fmt.Errorf("count admins: %w", err)
	}
	return otherAdmins, nil
}

// RemoveMember takes a user out of a project and ends the user's sessions
// on it. It refuses (pay.ErrConflict) to remove the project's last admin.
func (tx *Tx) RemoveMember(ctx context.Context, projectID, userID string) error {
	admins, err := tx.lockTeam(ctx, projectID, userID)
	if err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	m, err := scanMember(tx.tx.QueryRowContext(ctx, `SELECT `+memberColumns+` FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.project_id = $1 AND m.user_id = $2`, projectID, userID))
	if err != nil {
		return notFound(err, "remove member")
	}
	if m.Role == pay.RoleAdmin && admins == 0 {
		return fmt.Errorf("remove the last admin: %w", pay.ErrConflict)
	}
	if _, err := tx.tx.ExecContext(ctx, `DELETE FROM memberships WHERE project_id = $1 AND user_id = $2`, projectID, userID); err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	if _, err := tx.tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE project_id = $1 AND user_id = $2`, projectID, userID); err != nil {
		return fmt.Errorf("remove member's sessions: %w", err)
	}
	return nil
}

// FindMember returns a user's membership of a project.
func (db *DB) FindMember(ctx context.Context, projectID, userID string) (*pay.Member, error) {
	m, err := scanMember(db.read.QueryRowContext(ctx, `SELECT `+memberColumns+` FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.project_id = $1 AND m.user_id = $2`, projectID, userID))
	if err != nil {
		return nil, notFound(err, "find member")
	}
	return m, nil
}

// FindMembers lists a project's members, in the order they joined.
func (db *DB) FindMembers(ctx context.Context, projectID string) ([]*pay.Member, error) {
	return db.members(ctx, `WHERE m.project_id = $1 ORDER BY m.created, u.email`, projectID)
}

// FindMemberships lists the projects a user belongs to, in the order the
// user joined them.
func (db *DB) FindMemberships(ctx context.Context, userID string) ([]*pay.Member, error) {
	return db.members(ctx, `WHERE m.user_id = $1 ORDER BY m.created, m.project_id`, userID)
}

func (db *DB) members(ctx context.Context, where string, arg string) ([]*pay.Member, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+memberColumns+` FROM memberships m JOIN users u ON u.id = m.user_id `+where, arg)
	if err != nil {
		return nil, fmt.Errorf("find members: %w", err)
	}
	defer rows.Close()
	var out []*pay.Member
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, fmt.Errorf("find members: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

const sessionColumns = `s.id, s.token_hash, s.user_id, s.project_id, s.livemode, s.created, s.expires_at, s.idle_until`

// CreateStaffSession inserts a session, filling in its ID and creation time.
func (tx *Tx) CreateStaffSession(ctx context.Context, s *pay.StaffSession) error {
	s.ID, s.Created = pay.NewID(pay.PrefixStaffSession), tx.unix()
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO staff_sessions (id, token_hash, user_id, project_id, livemode, created, expires_at, idle_until)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, s.ID, s.TokenHash, s.UserID, s.ProjectID, s.Livemode, s.Created, s.ExpiresAt, s.IdleUntil)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SignedIn is a session with its user and the user's role in the session's
// project.
type SignedIn struct {
	Session pay.StaffSession
	User    pay.User
	// Role is empty when the user is no longer a member of the project.
	Role pay.Role
}

// FindStaffSession returns the session whose token has the hash, with its
// user and role, in one query. Expired sessions are returned too: the
// caller decides with pay.StaffSession.Live.
func (db *DB) FindStaffSession(ctx context.Context, tokenHash string) (*SignedIn, error) {
	var (
		si   SignedIn
		s    = &si.Session
		u    = &si.User
		role sql.NullString
	)
	err := db.read.QueryRowContext(ctx, `SELECT `+sessionColumns+`, u.id, u.email, u.name, u.created, u.oidc_issuer, u.oidc_subject, m.role
		FROM staff_sessions s JOIN users u ON u.id = s.user_id
		LEFT JOIN memberships m ON m.project_id = s.project_id AND m.user_id = s.user_id
		WHERE s.token_hash = $1`, tokenHash).Scan(&s.ID, &s.TokenHash, &s.UserID, &s.ProjectID, &s.Livemode, &s.Created, &s.ExpiresAt, &s.IdleUntil,
		&u.ID, &u.Email, &u.Name, &u.Created, &u.OIDCIssuer, &u.OIDCSubject, &role)
	if err != nil {
		return nil, notFound(err, "find session")
	}
	si.Role = pay.Role(role.String)
	return &si, nil
}

// TouchStaffSession moves a session's idle deadline forward (never past its
// absolute expiry).
func (tx *Tx) TouchStaffSession(ctx context.Context, id string, idleUntil int64) error {
	_, err := tx.tx.ExecContext(ctx, `UPDATE staff_sessions SET idle_until = CASE WHEN $2 < expires_at THEN $2 ELSE expires_at END WHERE id = $1`, id, idleUntil)
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// SetStaffSessionScope switches a session to another project or mode.
func (tx *Tx) SetStaffSessionScope(ctx context.Context, id, projectID string, livemode bool) error {
	return tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE staff_sessions SET project_id = $2, livemode = $3 WHERE id = $1`, id, projectID, livemode))
}

// DeleteStaffSession ends one session.
func (tx *Tx) DeleteStaffSession(ctx context.Context, id string) error {
	_, err := tx.tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteUserStaffSessions ends every session of a user ("sign out
// everywhere") and returns how many there were.
func (tx *Tx) DeleteUserStaffSessions(ctx context.Context, userID string) (int64, error) {
	res, err := tx.tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE user_id = $1`, userID)
	if err != nil {
		return 0, fmt.Errorf("delete user's sessions: %w", err)
	}
	return res.RowsAffected()
}

// DeleteExpiredStaffSessions removes sessions that ended before unix time
// now, and spent or expired sign-in links older than a day.
func (tx *Tx) DeleteExpiredStaffSessions(ctx context.Context, now int64) error {
	if _, err := tx.tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE expires_at <= $1 OR idle_until <= $1`, now); err != nil {
		return fmt.Errorf("delete expired sessions: %w", err)
	}
	if _, err := tx.tx.ExecContext(ctx, `DELETE FROM signin_tokens WHERE expires_at <= $1`, now-24*60*60); err != nil {
		return fmt.Errorf("delete expired sign-in links: %w", err)
	}
	return nil
}

const tokenColumns = `token_hash, purpose, email, project_id, role, created_by, created, expires_at, used_at`

func scanToken(row interface{ Scan(...any) error }) (*pay.SignInToken, error) {
	var t pay.SignInToken
	err := row.Scan(&t.TokenHash, &t.Purpose, &t.Email, &t.ProjectID, &t.Role, &t.CreatedBy, &t.Created, &t.ExpiresAt, &t.UsedAt)
	return &t, err
}

// CreateSignInToken records a single-use link, filling in its creation time.
func (tx *Tx) CreateSignInToken(ctx context.Context, t *pay.SignInToken) error {
	t.Created = tx.unix()
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO signin_tokens (`+tokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		t.TokenHash, t.Purpose, t.Email, t.ProjectID, string(t.Role), t.CreatedBy, t.Created, t.ExpiresAt, t.UsedAt)
	if err != nil {
		return fmt.Errorf("create sign-in link: %w", err)
	}
	return nil
}

// Why a single-use link cannot be spent.
var (
	ErrTokenUnknown = errors.New("unknown link")
	ErrTokenUsed    = errors.New("link already used")
	ErrTokenExpired = errors.New("link expired")
)

// SpendSignInToken marks the link with the hash and purpose used, once: of
// two requests spending it at once, one gets the link and the other
// ErrTokenUsed. An unknown link is ErrTokenUnknown, an expired one
// ErrTokenExpired.
func (tx *Tx) SpendSignInToken(ctx context.Context, tokenHash, purpose string) (*pay.SignInToken, error) {
	now := tx.unix()
	t, err := scanToken(tx.tx.QueryRowContext(ctx, `UPDATE signin_tokens SET used_at = $3
		WHERE token_hash = $1 AND purpose = $2 AND used_at = 0 AND expires_at > $3 RETURNING `+tokenColumns, tokenHash, purpose, now))
	if err == nil {
		return t, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("spend sign-in link: %w", err)
	}
	t, err = scanToken(tx.tx.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM signin_tokens WHERE token_hash = $1 AND purpose = $2`, tokenHash, purpose))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, ErrTokenUnknown
	case err != nil:
		return nil, fmt.Errorf("spend sign-in link: %w", err)
	case t.UsedAt != 0:
		return nil, ErrTokenUsed
	default:
		return nil, ErrTokenExpired
	}
}

// FindPendingInvites lists a project's invitations not yet accepted and not
// expired at unix time now, newest first.
func (db *DB) FindPendingInvites(ctx context.Context, projectID string, now int64) ([]*pay.SignInToken, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+tokenColumns+` FROM signin_tokens
		WHERE project_id = $1 AND purpose = $2 AND used_at = 0 AND expires_at > $3 ORDER BY created DESC`, projectID, pay.TokenInvite, now)
	if err != nil {
		return nil, fmt.Errorf("find invites: %w", err)
	}
	defer rows.Close()
	var out []*pay.SignInToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("find invites: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// SetProjectSignInDomains sets the e-mail domains whose verified addresses
// may sign in to a project through OIDC without an invitation.
func (tx *Tx) SetProjectSignInDomains(ctx context.Context, id string, domains []string) error {
	return tx.expectOne(tx.tx.ExecContext(ctx, `UPDATE projects SET signin_domains = $2 WHERE id = $1`, id, strings.Join(domains, ",")))
}

// splitDomains reads projects.signin_domains: comma-separated, "" for none.
func splitDomains(s string) []string {
	out := []string{}
	for d := range strings.SplitSeq(s, ",") {
		if d != "" {
			out = append(out, d)
		}
	}
	return out
}

// FindProjectsBySignInDomain lists the projects that let verified addresses
// of a domain sign in.
func (db *DB) FindProjectsBySignInDomain(ctx context.Context, domain string) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, signin_domains FROM projects WHERE signin_domains <> '' ORDER BY created, id`)
	if err != nil {
		return nil, fmt.Errorf("find projects by sign-in domain: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, domains string
		if err := rows.Scan(&id, &domains); err != nil {
			return nil, fmt.Errorf("find projects by sign-in domain: %w", err)
		}
		if slices.Contains(splitDomains(domains), domain) {
			out = append(out, id)
		}
	}
	return out, rows.Err()
}

const auditColumns = `id, project_id, livemode, created, actor_id, actor_email, action, target, detail, ip`

// AppendAudit adds a line to a project's audit log, filling in its ID and
// time.
func (tx *Tx) AppendAudit(ctx context.Context, e *pay.AuditEntry) error {
	return tx.appendAudit(ctx, e, pay.NewID(pay.PrefixAudit), "")
}

// AppendAuditOnce adds a line to a project's audit log unless a line of
// the same once (an action's idempotency key, say) is there already: an
// action retried after a crash between its change and its audit line is
// written down once.
func (tx *Tx) AppendAuditOnce(ctx context.Context, e *pay.AuditEntry, once string) error {
	sum := sha256.Sum256([]byte(e.ProjectID + "\x00" + once))
	return tx.appendAudit(ctx, e, pay.PrefixAudit+hex.EncodeToString(sum[:12]), ` ON CONFLICT (id) DO NOTHING`)
}

func (tx *Tx) appendAudit(ctx context.Context, e *pay.AuditEntry, id, suffix string) error {
	e.ID, e.Created = id, tx.unix()
	detail := "{}"
	if len(e.Detail) > 0 {
		b, _ := json.Marshal(e.Detail) // a map of strings always marshals
		detail = string(b)
	}
	err := tx.tx.execLater(ctx, `INSERT INTO audit_log (`+auditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`+suffix,
		e.ID, e.ProjectID, e.Livemode, e.Created, e.ActorID, e.ActorEmail, e.Action, e.Target, detail, e.IP)
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	return nil
}

// FindAudit lists a project's audit log, newest first, a page at a time
// (both modes: sign-ins and team changes belong to neither).
func (db *DB) FindAudit(ctx context.Context, projectID string, page pay.Page) (pay.List[*pay.AuditEntry], error) {
	return db.FindAuditByAction(ctx, projectID, "", page)
}

func scanAuditEntry(rows *sql.Rows) (*pay.AuditEntry, error) {
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
}
