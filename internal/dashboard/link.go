package dashboard

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// LinkOptions says whom a one-time sign-in link is for.
type LinkOptions struct {
	// PublicURL is the server's address; the link is PublicURL +
	// /api/auth/link?token=….
	PublicURL string
	ProjectID string
	// Email is the person's address. Empty: the project's first admin, or
	// admin@localhost while the project has no member.
	Email string
	// Role, if set, makes the person a member with that role (or changes
	// their role). Unset: a member keeps theirs, the first member of a
	// project becomes its admin, and anyone else is refused.
	Role pay.Role
	// CreatedBy says who made the link, for the audit log ("command line",
	// "serve").
	CreatedBy string
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// ErrNotMember refuses a link for a person who is not a member of the
// project when no role is given.
var ErrNotMember = errors.New("not a member of the project")

// SignInLink makes a one-time sign-in link, valid LinkLifetime, and returns
// its URL and the address it is for. It makes the person a member as
// LinkOptions.Role says, and audits the link's making (never its token).
// Break-glass access for whoever can run calmonypay on the server.
func SignInLink(ctx context.Context, db *store.DB, o LinkOptions) (link, email string, err error) {
	if o.Role != "" && !o.Role.Valid() {
		return "", "", fmt.Errorf("the role must be admin, developer or viewer, not %q", o.Role)
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	members, err := db.FindMembers(ctx, o.ProjectID)
	if err != nil {
		return "", "", err
	}
	email = o.Email
	if email == "" {
		email = "admin@localhost"
		for _, m := range members {
			if m.Role == pay.RoleAdmin {
				email = m.User.Email
				break
			}
		}
	}
	norm, ok := pay.NormalizeEmail(email)
	if !ok {
		return "", "", fmt.Errorf("%q is not an e-mail address", email)
	}
	email = norm
	role := o.Role
	var current pay.Role
	for _, m := range members {
		if m.User.Email == email {
			current = m.Role
		}
	}
	switch {
	case role == "" && current != "":
		role = current
	case role == "" && len(members) == 0:
		role = pay.RoleAdmin
	case role == "":
		return "", "", fmt.Errorf("%s is %w %s: give --role admin, developer or viewer to make them one", email, ErrNotMember, o.ProjectID)
	}
	token := pay.RandomString(tokenLen)
	err = db.Tx(ctx, func(tx *store.Tx) error {
		u, err := tx.EnsureUser(ctx, email, "")
		if err != nil {
			return err
		}
		if role != current {
			if err := tx.SetMember(ctx, o.ProjectID, u.ID, role); err != nil {
				return err
			}
			if err := tx.AppendAudit(ctx, &pay.AuditEntry{ProjectID: o.ProjectID, ActorEmail: o.CreatedBy, Action: "member.role_set",
				Target: u.ID, Detail: map[string]string{"email": email, "role": string(role), "by": o.CreatedBy}}); err != nil {
				return err
			}
		}
		if err := tx.CreateSignInToken(ctx, &pay.SignInToken{TokenHash: pay.HashKey(token), Purpose: pay.TokenSignIn, Email: email,
			ProjectID: o.ProjectID, CreatedBy: o.CreatedBy, ExpiresAt: now().Add(LinkLifetime).Unix()}); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, &pay.AuditEntry{ProjectID: o.ProjectID, ActorEmail: o.CreatedBy, Action: "signin_link.created",
			Target: u.ID, Detail: map[string]string{"email": email, "by": o.CreatedBy}})
	})
	if err != nil {
		return "", "", err
	}
	return strings.TrimRight(o.PublicURL, "/") + "/api/auth/link?token=" + token, email, nil
}
