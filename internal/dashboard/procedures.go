package dashboard

import (
	"context"
	"errors"
	"fmt"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// procedures lists every tRPC procedure by path. The README lists them with
// their inputs.
func (s *Server) procedures() map[string]procedure {
	m := map[string]procedure{
		"session.get":    query(pay.RoleViewer, s.sessionGet),
		"session.switch": mutation(pay.RoleViewer, s.sessionSwitch),

		// Developers and admins (part C): keys, webhooks, events, settings,
		// team, audit log.
		"keys.list":           query(pay.RoleViewer, s.keysList),
		"keys.create":         mutation(pay.RoleDeveloper, s.keysCreate),
		"keys.roll":           mutation(pay.RoleDeveloper, s.keysRoll),
		"keys.revoke":         mutation(pay.RoleDeveloper, s.keysRevoke),
		"webhooks.list":       query(pay.RoleViewer, s.webhooksList),
		"webhooks.deliveries": query(pay.RoleViewer, s.webhooksDeliveries),
		"webhooks.retry":      mutation(pay.RoleDeveloper, s.webhooksRetry),
		"webhooks.create":     mutation(pay.RoleDeveloper, s.webhooksCreate),
		"webhooks.update":     mutation(pay.RoleDeveloper, s.webhooksUpdate),
		"webhooks.delete":     mutation(pay.RoleDeveloper, s.webhooksDelete),
		"events.list":         query(pay.RoleViewer, s.eventsList),
		"events.get":          query(pay.RoleViewer, s.eventsGet),
		"settings.get":        query(pay.RoleViewer, s.settingsGet),
		"settings.update":     mutation(pay.RoleAdmin, s.settingsUpdate),
		"members.list":        query(pay.RoleViewer, s.membersList),
		"members.invite":      mutation(pay.RoleAdmin, s.membersInvite),
		"members.setRole":     mutation(pay.RoleAdmin, s.membersSetRole),
		"members.remove":      mutation(pay.RoleAdmin, s.membersRemove),
		"audit.list":          query(pay.RoleDeveloper, s.auditList),
		// Part A: sign-out.
		"session.signOut":           mutation(pay.RoleViewer, s.sessionSignOut),
		"session.signOutEverywhere": mutation(pay.RoleViewer, s.sessionSignOutEverywhere),
		"members.signOutEverywhere": mutation(pay.RoleAdmin, s.membersSignOutEverywhere),

		// Money (money.go): the overview, payments, customers, subscriptions, invoices.
		"overview.summary":     query(pay.RoleViewer, s.overviewSummary),
		"payments.list":        query(pay.RoleViewer, s.paymentsList),
		"payments.get":         query(pay.RoleViewer, s.paymentsGet),
		"payments.refund":      mutation(pay.RoleAdmin, s.paymentsRefund),
		"customers.list":       query(pay.RoleViewer, s.customersList),
		"customers.get":        query(pay.RoleViewer, s.customersGet),
		"customers.portalLink": mutation(pay.RoleAdmin, s.customersPortalLink),
		"subscriptions.list":   query(pay.RoleViewer, s.subscriptionsList),
		"subscriptions.cancel": mutation(pay.RoleAdmin, s.subscriptionsCancel),
		"invoices.list":        query(pay.RoleViewer, s.invoicesList),
	}
	return m
}

// sessionView is who is signed in, where.
type sessionView struct {
	User     userView      `json:"user"`
	Project  string        `json:"project"`
	Livemode bool          `json:"livemode"`
	Role     pay.Role      `json:"role"`
	Expires  int64         `json:"expiresAt"`
	Projects []projectView `json:"projects"`
}

type userView struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

type projectView struct {
	ID   string   `json:"id"`
	Name string   `json:"name"`
	Role pay.Role `json:"role"`
}

func (s *Server) sessionGet(ctx context.Context, c *call, _ struct{}) (*sessionView, error) {
	ms, err := s.db.FindMemberships(ctx, c.user.ID)
	if err != nil {
		return nil, err
	}
	v := &sessionView{
		User:    userView{ID: c.user.ID, Email: c.user.Email, Name: c.user.Name},
		Project: c.session.ProjectID, Livemode: c.session.Livemode, Role: c.role, Expires: c.session.ExpiresAt,
		Projects: []projectView{},
	}
	for _, m := range ms {
		p, err := s.db.FindProject(ctx, m.ProjectID)
		if err != nil {
			return nil, err
		}
		v.Projects = append(v.Projects, projectView{ID: p.ID, Name: p.Name, Role: m.Role})
	}
	return v, nil
}

// switchInput moves the session to another of the user's projects, or to
// the other mode.
type switchInput struct {
	Project  string `json:"project"`
	Livemode *bool  `json:"livemode"`
}

func (s *Server) sessionSwitch(ctx context.Context, c *call, in switchInput) (*sessionView, error) {
	project, livemode := c.session.ProjectID, c.session.Livemode
	if in.Project != "" {
		if _, err := s.db.FindMember(ctx, in.Project, c.user.ID); errors.Is(err, pay.ErrNotFound) {
			return nil, notFound("project", in.Project)
		} else if err != nil {
			return nil, err
		}
		project = in.Project
	}
	if in.Livemode != nil {
		livemode = *in.Livemode
	}
	if err := s.db.Tx(ctx, func(tx *store.Tx) error {
		return tx.SetStaffSessionScope(ctx, c.session.ID, project, livemode)
	}); err != nil {
		return nil, err
	}
	m, err := s.db.FindMember(ctx, project, c.user.ID)
	if err != nil {
		return nil, err
	}
	c.session.ProjectID, c.session.Livemode, c.role = project, livemode, m.Role
	return s.sessionGet(ctx, c, struct{}{})
}

// audit appends a line to the caller's project's audit log, in tx.
func (c *call) audit(ctx context.Context, tx *store.Tx, action, target string, detail map[string]string) error {
	return tx.AppendAudit(ctx, c.auditEntry(action, target, detail))
}

// auditKeyed audits an action made under an idempotency key, after the
// operation that made it (refunds, cancellations: they run their own
// transactions), once per key: a retry that finds the first execution's
// answer writes the line the first one may not have lived to write, and a
// plain replay writes nothing.
func (s *Server) auditKeyed(ctx context.Context, c *call, key, action, target string, detail map[string]string) error {
	once := fmt.Sprintf("idempotency\x00%t\x00%s", c.session.Livemode, key)
	return s.db.Tx(ctx, func(tx *store.Tx) error { return tx.AppendAuditOnce(ctx, c.auditEntry(action, target, detail), once) })
}

func (c *call) auditEntry(action, target string, detail map[string]string) *pay.AuditEntry {
	return &pay.AuditEntry{
		ProjectID: c.session.ProjectID, Livemode: c.session.Livemode,
		ActorID: c.user.ID, ActorEmail: c.user.Email,
		Action: action, Target: target, Detail: detail, IP: c.ip,
	}
}
