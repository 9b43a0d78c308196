package dashboard

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// The admins' procedures: the project's settings, its team and the audit
// log. Settings and the team belong to the project (both modes).

// addressView is a postal address.
type addressView struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	State      string `json:"state"`
	PostalCode string `json:"postalCode"`
	Country    string `json:"country"`
}

// businessView is the business details printed on invoices.
type businessView struct {
	Name      string      `json:"name"`
	Address   addressView `json:"address"`
	VATNumber string      `json:"vatNumber"`
	Email     string      `json:"email"`
	Phone     string      `json:"phone"`
}

func newBusinessView(b pay.Business) businessView {
	a := b.Address
	return businessView{Name: b.Name, VATNumber: b.VATNumber, Email: b.Email, Phone: b.Phone,
		Address: addressView{Line1: a.Line1, Line2: a.Line2, City: a.City, State: a.State, PostalCode: a.PostalCode, Country: a.Country}}
}

func (v businessView) business() pay.Business {
	a := v.Address
	return pay.Business{Name: v.Name, VATNumber: v.VATNumber, Email: v.Email, Phone: v.Phone,
		Address: pay.Address{Line1: a.Line1, Line2: a.Line2, City: a.City, State: a.State, PostalCode: a.PostalCode, Country: a.Country}}
}

// dunningView is the dunning schedule: retries written as 1h,1d,3d (or
// none), then what becomes of the subscription and of its invoice.
type dunningView struct {
	Retries       string `json:"retries"`
	FinalAction   string `json:"finalAction"`
	InvoiceAction string `json:"invoiceAction"`
}

// settingsView is a project's settings.
type settingsView struct {
	Project             string       `json:"project"`
	Name                string       `json:"name"`
	Business            businessView `json:"business"`
	Origins             []string     `json:"origins"`
	Currencies          []string     `json:"currencies"`
	SupportedCurrencies []string     `json:"supportedCurrencies"`
	Dunning             dunningView  `json:"dunning"`
	SignInDomains       []string     `json:"signInDomains"`
}

func (s *Server) settingsGet(ctx context.Context, c *call, _ struct{}) (*settingsView, error) {
	id := c.session.ProjectID
	p, err := s.db.FindProject(ctx, id)
	if err != nil {
		return nil, err
	}
	origins, err := s.db.FindOrigins(ctx, id)
	if err != nil {
		return nil, err
	}
	domains, err := s.db.FindProjectSignInDomains(ctx, id)
	if err != nil {
		return nil, err
	}
	return &settingsView{
		Project: p.ID, Name: p.Name, Business: newBusinessView(p.Business),
		Origins: append([]string{}, origins[id]...), Currencies: append([]string{}, p.Currencies...),
		SupportedCurrencies: payments.Currencies(),
		Dunning:             dunningView{Retries: pay.FormatRetries(p.Dunning.Retries), FinalAction: p.Dunning.FinalAction, InvoiceAction: p.Dunning.InvoiceAction},
		SignInDomains:       domains,
	}, nil
}

// settingsInput changes the settings given; absent ones stay as they are.
type settingsInput struct {
	// Business replaces the business details (all empty: removes them).
	Business      *businessView `json:"business"`
	AddOrigins    []string      `json:"addOrigins"`
	RemoveOrigins []string      `json:"removeOrigins"`
	Currencies    []string      `json:"currencies"`
	// Dunning replaces the schedule; its empty fields keep their value.
	Dunning       *dunningView `json:"dunning"`
	SignInDomains []string     `json:"signInDomains"`
}

func (in *settingsInput) validate() error {
	if len(in.AddOrigins)+len(in.RemoveOrigins) > 50 {
		return badRequest("addOrigins", "Change at most 50 origins at once.")
	}
	if len(in.Currencies) > 50 {
		return badRequest("currencies", "currencies lists at most 50 codes.")
	}
	if len(in.SignInDomains) > 50 {
		return badRequest("signInDomains", "signInDomains lists at most 50 domains.")
	}
	return nil
}

// fields names the settings the input changes, for the audit log.
func (in *settingsInput) fields() []string {
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"business", in.Business != nil}, {"origins", len(in.AddOrigins)+len(in.RemoveOrigins) > 0},
		{"currencies", in.Currencies != nil}, {"dunning", in.Dunning != nil}, {"signInDomains", in.SignInDomains != nil},
	} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}

func (s *Server) settingsUpdate(ctx context.Context, c *call, in settingsInput) (*settingsView, error) {
	fields := in.fields()
	if len(fields) == 0 {
		return nil, badRequest("", "Nothing to change: give business, addOrigins, removeOrigins, currencies, dunning or signInDomains.")
	}
	id := c.session.ProjectID
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		p, err := tx.FindProject(ctx, id)
		if err != nil {
			return err
		}
		if in.Business != nil {
			if _, err := s.payments.SetBusiness(ctx, tx, id, in.Business.business()); err != nil {
				return settingsField(err, "business.")
			}
		}
		for i, o := range in.AddOrigins {
			if _, err := s.payments.AddOrigin(ctx, tx, id, o); err != nil {
				return settingsField(err, "addOrigins["+strconv.Itoa(i)+"]")
			}
		}
		for i, o := range in.RemoveOrigins {
			if _, err := s.payments.RemoveOrigin(ctx, tx, id, o); err != nil {
				return settingsField(err, "removeOrigins["+strconv.Itoa(i)+"]")
			}
		}
		if in.Currencies != nil {
			if _, err := s.payments.SetCurrencies(ctx, tx, id, in.Currencies); err != nil {
				return settingsField(err, "currencies")
			}
		}
		if in.Dunning != nil {
			if err := s.setDunning(ctx, tx, id, p.Dunning, in.Dunning); err != nil {
				return settingsField(err, "dunning.")
			}
		}
		if in.SignInDomains != nil {
			if _, err := s.payments.SetSignInDomains(ctx, tx, id, in.SignInDomains); err != nil {
				return settingsField(err, "signInDomains")
			}
		}
		return c.audit(ctx, tx, "settings.updated", id, map[string]string{"fields": strings.Join(fields, ",")})
	})
	if err != nil {
		return nil, err
	}
	return s.settingsGet(ctx, c, struct{}{})
}

func (s *Server) setDunning(ctx context.Context, tx *store.Tx, id string, d pay.Dunning, in *dunningView) error {
	if in.Retries != "" {
		r, err := pay.ParseRetries(in.Retries)
		if err != nil {
			return err
		}
		d.Retries = r
	}
	if in.FinalAction != "" {
		d.FinalAction = in.FinalAction
	}
	if in.InvoiceAction != "" {
		d.InvoiceAction = in.InvoiceAction
	}
	return s.payments.SetDunning(ctx, tx, id, d)
}

// settingsField names an operation's refusal by the input's field: a
// prefix ending in "." is joined with the operation's own parameter, in
// camelCase ("business." and "address[postal_code]" make
// "business.address.postalCode"); any other prefix is the field itself.
func settingsField(err error, prefix string) error {
	pe, ok := pay.AsError(err)
	if !ok || pe.Status >= 500 {
		return err
	}
	field := prefix
	if strings.HasSuffix(prefix, ".") {
		field = prefix + camelParam(pe.Param)
		if pe.Param == "" {
			field = strings.TrimSuffix(prefix, ".")
		}
	}
	return badRequest(field, pe.Message)
}

// camelParam writes a Stripe-style parameter (address[postal_code]) as
// the dashboard's field path (address.postalCode).
func camelParam(p string) string {
	p = strings.ReplaceAll(strings.TrimSuffix(p, "]"), "][", ".")
	p = strings.ReplaceAll(p, "[", ".")
	parts := strings.Split(p, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// memberView is a member of the project's team.
type memberView struct {
	UserID  string   `json:"userId"`
	Email   string   `json:"email"`
	Name    string   `json:"name"`
	Role    pay.Role `json:"role"`
	Created int64    `json:"created"`
}

// inviteView is an invitation not yet accepted.
type inviteView struct {
	Email     string   `json:"email"`
	Role      pay.Role `json:"role"`
	Created   int64    `json:"created"`
	ExpiresAt int64    `json:"expiresAt"`
}

// teamView is the project's members and pending invitations.
type teamView struct {
	Data    []memberView `json:"data"`
	HasMore bool         `json:"hasMore"`
	Invites []inviteView `json:"invites"`
}

func (s *Server) membersList(ctx context.Context, c *call, _ struct{}) (*teamView, error) {
	ms, err := s.db.FindMembers(ctx, c.session.ProjectID)
	if err != nil {
		return nil, err
	}
	invites, err := s.db.FindPendingInvites(ctx, c.session.ProjectID, s.now().Unix())
	if err != nil {
		return nil, err
	}
	v := &teamView{Data: []memberView{}, Invites: []inviteView{}}
	for _, m := range ms {
		v.Data = append(v.Data, memberView{UserID: m.User.ID, Email: m.User.Email, Name: m.User.Name, Role: m.Role, Created: m.Created})
	}
	for _, t := range invites {
		v.Invites = append(v.Invites, inviteView{Email: t.Email, Role: t.Role, Created: t.Created, ExpiresAt: t.ExpiresAt})
	}
	return v, nil
}

// inviteLifetime is how long an invitation link works.
const inviteLifetime = 7 * 24 * time.Hour

type inviteInput struct {
	Email string   `json:"email"`
	Role  pay.Role `json:"role"`
}

func (in *inviteInput) validate() error {
	email, ok := pay.NormalizeEmail(in.Email)
	if !ok || len(email) > 254 {
		return badRequest("email", "email must be an e-mail address, such as ada@example.com.")
	}
	in.Email = email
	if !in.Role.Valid() {
		return badRequest("role", "role must be admin, developer or viewer.")
	}
	return nil
}

// invitedView is an invitation just made, with its single-use link: the
// only time it is shown (only its hash is kept).
type invitedView struct {
	inviteView
	URL string `json:"url"`
}

func (s *Server) membersInvite(ctx context.Context, c *call, in inviteInput) (*invitedView, error) {
	token := pay.RandomString(32)
	t := &pay.SignInToken{TokenHash: pay.HashKey(token), Purpose: pay.TokenInvite, Email: in.Email, ProjectID: c.session.ProjectID,
		Role: in.Role, CreatedBy: c.user.ID, ExpiresAt: s.now().Add(inviteLifetime).Unix()}
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		if u, err := tx.FindUserByEmail(ctx, in.Email); err == nil {
			if _, err := s.db.FindMember(ctx, c.session.ProjectID, u.ID); err == nil {
				return &trpcError{code: "CONFLICT", message: in.Email + " is already a member: change their role instead.", field: "email"}
			} else if !errors.Is(err, pay.ErrNotFound) {
				return err
			}
		} else if !errors.Is(err, pay.ErrNotFound) {
			return err
		}
		if err := tx.CreateSignInToken(ctx, t); err != nil {
			return err
		}
		return c.audit(ctx, tx, "member.invited", in.Email, map[string]string{"role": string(in.Role)})
	})
	if err != nil {
		return nil, err
	}
	u := *s.publicURL
	u.Path, u.RawQuery = "/api/auth/invite", "token="+token
	return &invitedView{inviteView: inviteView{Email: t.Email, Role: t.Role, Created: t.Created, ExpiresAt: t.ExpiresAt}, URL: u.String()}, nil
}

type setRoleInput struct {
	UserID string   `json:"userId"`
	Role   pay.Role `json:"role"`
}

func (in *setRoleInput) validate() error {
	if in.UserID == "" {
		return badRequest("userId", "userId is required.")
	}
	if !in.Role.Valid() {
		return badRequest("role", "role must be admin, developer or viewer.")
	}
	return nil
}

func (s *Server) membersSetRole(ctx context.Context, c *call, in setRoleInput) (*memberView, error) {
	m, err := s.db.FindMember(ctx, c.session.ProjectID, in.UserID)
	if errors.Is(err, pay.ErrNotFound) {
		return nil, notFound("member", in.UserID)
	} else if err != nil {
		return nil, err
	}
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		if err := tx.SetMemberRole(ctx, c.session.ProjectID, in.UserID, in.Role); err != nil {
			return err
		}
		return c.audit(ctx, tx, "member.role_changed", in.UserID, map[string]string{"email": m.User.Email, "from": string(m.Role), "to": string(in.Role)})
	})
	switch {
	case errors.Is(err, pay.ErrConflict):
		return nil, &trpcError{code: "CONFLICT", message: "The project's last admin cannot be demoted: make someone else an admin first.", field: "role"}
	case errors.Is(err, pay.ErrNotFound):
		return nil, notFound("member", in.UserID)
	case err != nil:
		return nil, err
	}
	return &memberView{UserID: m.User.ID, Email: m.User.Email, Name: m.User.Name, Role: in.Role, Created: m.Created}, nil
}

type memberIDInput struct {
	UserID string `json:"userId"`
}

func (in *memberIDInput) validate() error {
	if in.UserID == "" {
		return badRequest("userId", "userId is required.")
	}
	return nil
}

// removedView answers a removal.
type removedView struct {
	UserID  string `json:"userId"`
	Removed bool   `json:"removed"`
}

func (s *Server) membersRemove(ctx context.Context, c *call, in memberIDInput) (*removedView, error) {
	m, err := s.db.FindMember(ctx, c.session.ProjectID, in.UserID)
	if errors.Is(err, pay.ErrNotFound) {
		return nil, notFound("member", in.UserID)
	} else if err != nil {
		return nil, err
	}
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		if err := tx.RemoveMember(ctx, c.session.ProjectID, in.UserID); err != nil {
			return err
		}
		return c.audit(ctx, tx, "member.removed", in.UserID, map[string]string{"email": m.User.Email, "role": string(m.Role)})
	})
	switch {
	case errors.Is(err, pay.ErrConflict):
		return nil, &trpcError{code: "CONFLICT", message: "The project's last admin cannot be removed: make someone else an admin first.", field: "userId"}
	case errors.Is(err, pay.ErrNotFound):
		return nil, notFound("member", in.UserID)
	case err != nil:
		return nil, err
	}
	return &removedView{UserID: in.UserID, Removed: true}, nil
}

// auditView is a line of the audit log.
type auditView struct {
	ID         string            `json:"id"`
	Created    int64             `json:"created"`
	Livemode   bool              `json:"livemode"`
	ActorID    string            `json:"actorId"`
	ActorEmail string            `json:"actorEmail"`
	Action     string            `json:"action"`
	Target     string            `json:"target"`
	Detail     map[string]string `json:"detail"`
	IP         string            `json:"ip"`
}

type auditInput struct {
	// Action is one action (api_key.rolled), or every action of a noun
	// (api_key.).
	Action        string `json:"action"`
	Limit         *int   `json:"limit"`
	StartingAfter string `json:"startingAfter"`
}

func (in *auditInput) validate() error {
	if a := in.Action; len(a) > 100 || strings.ContainsFunc(a, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r == '_' || r == '.') }) {
		return badRequest("action", "action must be an action such as api_key.rolled, or a prefix such as api_key.")
	}
	_, err := devPage(in.Limit, in.StartingAfter)
	return err
}

func (s *Server) auditList(ctx context.Context, c *call, in auditInput) (*listOf[auditView], error) {
	page, _ := devPage(in.Limit, in.StartingAfter)
	l, err := s.db.FindAuditByAction(ctx, c.session.ProjectID, in.Action, page)
	if err != nil {
		return nil, startingAfterField(err)
	}
	out := &listOf[auditView]{Data: []auditView{}, HasMore: l.HasMore}
	for _, e := range l.Data {
		d := e.Detail
		if d == nil {
			d = map[string]string{}
		}
		out.Data = append(out.Data, auditView{ID: e.ID, Created: e.Created, Livemode: e.Livemode, ActorID: e.ActorID, ActorEmail: e.ActorEmail,
			Action: e.Action, Target: e.Target, Detail: d, IP: e.IP})
	}
	return out, nil
}
