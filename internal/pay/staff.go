package pay

import (
	"net/mail"
	"strings"
)

// ID prefixes of the dashboard's records.
const (
	PrefixUser         = "usr_"
	PrefixStaffSession = "ses_"
	PrefixAudit        = "aud_"
)

// Role is what a member may do in a project's dashboard.
type Role string

// The roles, from most to least powerful.
const (
	// RoleAdmin may do everything, including refunds, cancellations, team
	// and settings changes.
	RoleAdmin Role = "admin"
	// RoleDeveloper may manage API keys, webhook endpoints and read events,
	// but not move money or change the team.
	RoleDeveloper Role = "developer"
	// RoleViewer may only read.
	RoleViewer Role = "viewer"
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleAdmin, RoleDeveloper, RoleViewer}

// Valid reports whether r is one of [Roles].
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleDeveloper || r == RoleViewer }

// User is a person who may sign in to the dashboard. There are no
// passwords: people sign in through OpenID Connect or a one-time link.
type User struct {
	ID      string
	Email   string // lower-cased
	Name    string
	Created int64
	// OIDCIssuer and OIDCSubject bind the user to an identity provider's
	// account, from the first OIDC sign-in on; empty until then.
	OIDCIssuer, OIDCSubject string
}

// Member is a user's place in a project.
type Member struct {
	ProjectID string
	User      User
	Role      Role
	Created   int64
}

// StaffSession is a signed-in dashboard session. The cookie carries a random
// token; only its hash (TokenHash, [HashKey]) is stored.
type StaffSession struct {
	ID        string
	TokenHash string
	UserID    string
	// ProjectID and Livemode are the project and mode the person is
	// looking at.
	ProjectID string
	Livemode  bool
	Created   int64
	// ExpiresAt is absolute: the session ends then however much it is used.
	ExpiresAt int64
	// IdleUntil moves forward while the session is used; the session ends
	// at the earlier of the two.
	IdleUntil int64
}

// Live reports whether the session may be used at unix time now.
func (s *StaffSession) Live(now int64) bool { return now < s.ExpiresAt && now < s.IdleUntil }

// Sign-in token purposes.
const (
	// TokenSignIn signs a person in to a project once (calmonypay dashboard
	// link, the first serve's banner).
	TokenSignIn = "link"
	// TokenInvite makes a person a member of a project with a role.
	TokenInvite = "invite"
)

// SignInToken is a single-use link's record, by the hash of its token.
type SignInToken struct {
	TokenHash string
	Purpose   string // TokenSignIn or TokenInvite
	Email     string
	ProjectID string
	Role      Role // the invite's role; empty for a sign-in link
	CreatedBy string
	Created   int64
	ExpiresAt int64
	UsedAt    int64 // 0 until spent
}

// AuditEntry is one line of a project's append-only audit log.
type AuditEntry struct {
	ID         string
	ProjectID  string
	Livemode   bool
	Created    int64
	ActorID    string // the user; empty for the system or an unknown person
	ActorEmail string
	// Action names what was done, as "noun.verb": "session.signed_in",
	// "api_key.rolled", "refund.created", …
	Action string
	// Target is the ID of the object acted on, if any.
	Target string
	Detail map[string]string
	IP     string
}

// NormalizeEmail lower-cases an address and checks its shape; ok is false
// for anything but a bare address (no display name).
func NormalizeEmail(s string) (email string, ok bool) {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", false
	}
	return strings.ToLower(s), true
}

// EmailDomain returns the part of a normalised address after the @.
func EmailDomain(email string) string {
	_, domain, _ := strings.Cut(email, "@")
	return domain
}
