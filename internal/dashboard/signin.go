package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/throttle"
)

// Sign-in (issue 20, part A). No passwords: people sign in through an
// OpenID Connect provider (oidc.go), a one-time sign-in link (calmonypay
// dashboard link, serve's first banner) or an invite. Every /api/auth/*
// route is limited to authPerMinute requests a minute per client address
// (SEC-08); every failed sign-in is logged, and written to the audit log of
// the project concerned when it is known.

// authPerMinute is each client address's budget of /api/auth/* requests a
// minute, all at once at most.
const authPerMinute = 10

// tokenLen is the number of base62 characters of a sign-in link's or an
// invite's token (about 190 bits).
const tokenLen = 32

// LinkLifetime is how long a sign-in link works.
const LinkLifetime = 15 * time.Minute

// Audit actions of sign-ins.
const (
	auditSignedIn     = "session.signed_in"
	auditSignInFailed = "session.sign_in_failed"
)

// Sign-in methods, as the audit log names them.
const (
	methodOIDC   = "oidc"
	methodLink   = "link"
	methodInvite = "invite"
)

// authRoutes serves /api/auth/*, behind the per-client limit.
func (s *Server) authRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/auth/link", s.linkSignIn)
	mux.HandleFunc("GET /api/auth/invite", s.inviteSignIn)
	mux.HandleFunc("GET /api/auth/oidc/start", s.oidcStart)
	mux.HandleFunc("GET "+oidcCallbackPath, s.oidcCallback)
	// The sign-out forms post from the dashboard's own pages; a cross-site
	// post is refused (the Lax cookie would not be sent with it anyway).
	cop := http.NewCrossOriginProtection()
	mux.Handle("POST /api/auth/signout", cop.Handler(http.HandlerFunc(s.signOut)))
	mux.Handle("POST /api/auth/signout-everywhere", cop.Handler(http.HandlerFunc(s.signOutEverywhere)))
	mux.HandleFunc("/api/auth/", func(w http.ResponseWriter, r *http.Request) {
		s.renderSignIn(w, r, http.StatusNotFound, "There is no such sign-in address.", "")
	})
	return s.authLimit.Limit(s.tooManySignIns)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer") // the tokens in the URL stay here
		mux.ServeHTTP(w, r)
	}))
}

// tooManySignIns answers the request beyond a client's budget (Retry-After
// is set): JSON for programs, the sign-in page for browsers.
func (s *Server) tooManySignIns(w http.ResponseWriter, r *http.Request) {
	s.log.WarnContext(r.Context(), "dashboard sign-in rate limit", "ip", s.clientIP(r), "path", r.URL.Path)
	const msg = "Too many sign-in requests from your address: wait a minute, then try again."
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]any{"code": "TOO_MANY_REQUESTS", "message": msg}})
		return
	}
	s.renderSignIn(w, r, http.StatusTooManyRequests, msg, "")
}

func (s *Server) clientIP(r *http.Request) string { return throttle.ClientIP(r, s.trusted).String() }

// signInView is what the sign-in page shows.
type signInView struct {
	OIDC     bool
	OIDCName string
	Next     string // where to go once signed in
	Error    string
}

// signInPage explains how to sign in: the provider's button when OIDC is
// configured, and the link command. The signed-in are sent on.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.URL.Query().Get("next"))
	if _, err := s.signedIn(r); err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	s.renderSignIn(w, r, http.StatusOK, "", next)
}

// renderSignIn shows the sign-in page with an error, if any, and status.
func (s *Server) renderSignIn(w http.ResponseWriter, r *http.Request, status int, msg, next string) {
	v := signInView{Next: next, Error: msg}
	if v.Next == "" {
		v.Next = "/dashboard/"
	}
	if s.oidc != nil {
		v.OIDC, v.OIDCName = true, s.oidc.name
	}
	w.Header().Set("Cache-Control", "no-store")
	if err := s.render(w, r, nil, status, "signin", "Sign in", v); err != nil {
		s.log.ErrorContext(r.Context(), "dashboard sign-in page failed", "err", err)
		http.Error(w, msg, status)
	}
}

// refusal is a failed sign-in: what the person is told, and what the log
// and the audit log record.
type refusal struct {
	status  int
	reason  string // a short code for the logs: "link_used", "state_mismatch", …
	message string // shown to the person
	method  string
	// projectID is the project the attempt concerns, if known (its audit
	// log gets the line); email the address tried, if known.
	projectID, email string
	err              error // the cause, logged only
}

func (e *refusal) Error() string { return "sign-in refused: " + e.reason }

// refuse logs a failed sign-in, audits it in its project if known, and
// shows the sign-in page with its message. No token is logged or audited.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, e *refusal) {
	ip := s.clientIP(r)
	s.log.WarnContext(r.Context(), "dashboard sign-in failed", "method", e.method, "reason", e.reason, "project", e.projectID,
		"email", e.email, "ip", ip, "err", e.err)
	if e.projectID != "" {
		ctx := context.WithoutCancel(r.Context())
		err := s.db.Tx(ctx, func(tx *store.Tx) error {
			return tx.AppendAudit(ctx, &pay.AuditEntry{ProjectID: e.projectID, ActorEmail: e.email, Action: auditSignInFailed,
				Detail: map[string]string{"reason": e.reason, "method": e.method}, IP: ip})
		})
		if err != nil {
			s.log.ErrorContext(ctx, "audit a failed sign-in", "err", err)
		}
	}
	s.renderSignIn(w, r, e.status, e.message, "")
}

// fail answers a sign-in flow's error: a refusal as such, anything else
// (the database) as a masked error.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, method string, err error) {
	var ref *refusal
	if errors.As(err, &ref) {
		s.refuse(w, r, ref)
		return
	}
	s.log.ErrorContext(r.Context(), "dashboard sign-in error", "method", method, "err", err)
	s.renderSignIn(w, r, http.StatusInternalServerError, "Signing in failed on our side. Try again in a moment.", "")
}

// tokenRefusal explains why a link or an invite cannot be used.
func (s *Server) tokenRefusal(ctx context.Context, method, token string, err error) *refusal {
	what := "sign-in link"
	ask := "Ask for a new one (calmonypay dashboard link prints one)."
	if method == methodInvite {
		what, ask = "invitation", "Ask an admin of the project to invite you again."
	}
	e := &refusal{method: method, err: err}
	// The project and address the link was for, for the audit log.
	if t, ferr := s.db.FindSignInToken(ctx, pay.HashKey(token), purposeOf(method)); token != "" && ferr == nil {
		e.projectID, e.email = t.ProjectID, t.Email
	}
	switch {
	case errors.Is(err, store.ErrTokenUsed):
		e.status, e.reason, e.message = http.StatusGone, method+"_used", fmt.Sprintf("This %s has been used already: each works once. %s", what, ask)
	case errors.Is(err, store.ErrTokenExpired):
		e.status, e.reason, e.message = http.StatusGone, method+"_expired", fmt.Sprintf("This %s has expired. %s", what, ask)
	default:
		e.status, e.reason, e.message = http.StatusNotFound, method+"_unknown", fmt.Sprintf("This %s is not valid: check that it was copied whole. %s", what, ask)
		e.projectID, e.email = "", ""
	}
	return e
}

func purposeOf(method string) string {
	if method == methodInvite {
		return pay.TokenInvite
	}
	return pay.TokenSignIn
}

// tokenParam returns the request's token parameter when it is shaped like
// a token (16 to 128 URL-safe characters: ours are tokenLen base62
// characters; invites made elsewhere may differ); anything else is unknown
// without a lookup.
func tokenParam(r *http.Request) (string, bool) {
	t := r.URL.Query().Get("token")
	if len(t) < 16 || len(t) > 128 {
		return t, false
	}
	for _, c := range t {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_') {
			return t, false
		}
	}
	return t, true
}

// linkSignIn spends a one-time sign-in link and signs its person in to its
// project, as the member they are.
func (s *Server) linkSignIn(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token, ok := tokenParam(r)
	if !ok {
		s.refuse(w, r, s.tokenRefusal(ctx, methodLink, "", store.ErrTokenUnknown))
		return
	}
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		t, err := tx.SpendSignInToken(ctx, pay.HashKey(token), pay.TokenSignIn)
		if err != nil {
			return err
		}
		u, err := tx.FindUserByEmail(ctx, t.Email)
		if err == nil {
			_, err = tx.FindMemberRole(ctx, t.ProjectID, u.ID)
		}
		if errors.Is(err, pay.ErrNotFound) {
			return &refusal{status: http.StatusForbidden, reason: "not_a_member", method: methodLink, projectID: t.ProjectID, email: t.Email,
				message: fmt.Sprintf("%s is no longer a member of this project. Ask an admin to add you again.", t.Email)}
		} else if err != nil {
			return err
		}
		return s.signInTx(ctx, w, r, tx, u, t.ProjectID, methodLink)
	})
	if isTokenError(err) {
		s.refuse(w, r, s.tokenRefusal(ctx, methodLink, token, err))
		return
	} else if err != nil {
		s.fail(w, r, methodLink, err)
		return
	}
	http.Redirect(w, r, "/dashboard/", http.StatusSeeOther)
}

// isTokenError reports whether err says why a link cannot be spent.
func isTokenError(err error) bool {
	return errors.Is(err, store.ErrTokenUnknown) || errors.Is(err, store.ErrTokenUsed) || errors.Is(err, store.ErrTokenExpired)
}

// signInTx starts a session for u in project and audits the sign-in, in tx.
func (s *Server) signInTx(ctx context.Context, w http.ResponseWriter, r *http.Request, tx *store.Tx, u *pay.User, projectID, method string) error {
	sess, err := s.startSession(ctx, w, tx, u.ID, projectID)
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "dashboard sign-in", "method", method, "user", u.ID, "project", projectID, "session", sess.ID)
	return tx.AppendAudit(ctx, &pay.AuditEntry{ProjectID: projectID, ActorID: u.ID, ActorEmail: u.Email, Action: auditSignedIn,
		Target: sess.ID, Detail: map[string]string{"method": method}, IP: s.clientIP(r)})
}

// inviteSignIn accepts an invite. With OIDC configured, the person signs
// in through the provider, whose verified address must be the invite's
// (oidc.go); without it, the invite link itself signs its holder in.
func (s *Server) inviteSignIn(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token, ok := tokenParam(r)
	if !ok {
		s.refuse(w, r, s.tokenRefusal(ctx, methodInvite, "", store.ErrTokenUnknown))
		return
	}
	if s.oidc != nil {
		t, err := s.db.FindSignInToken(ctx, pay.HashKey(token), pay.TokenInvite)
		switch {
		case errors.Is(err, pay.ErrNotFound):
			err = store.ErrTokenUnknown
		case err != nil:
		case t.UsedAt != 0:
			err = store.ErrTokenUsed
		case t.ExpiresAt <= s.now().Unix():
			err = store.ErrTokenExpired
		}
		if isTokenError(err) {
			s.refuse(w, r, s.tokenRefusal(ctx, methodInvite, token, err))
			return
		} else if err != nil {
			s.fail(w, r, methodInvite, err)
			return
		}
		s.startOIDC(w, r, "/dashboard/", t)
		return
	}
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		t, err := tx.SpendSignInToken(ctx, pay.HashKey(token), pay.TokenInvite)
		if err != nil {
			return err
		}
		u, err := tx.EnsureUser(ctx, t.Email, "")
		if err != nil {
			return err
		}
		if err := s.joinTx(ctx, r, tx, u, t.ProjectID, t.Role, methodInvite); err != nil {
			return err
		}
		return s.signInTx(ctx, w, r, tx, u, t.ProjectID, methodInvite)
	})
	if isTokenError(err) {
		s.refuse(w, r, s.tokenRefusal(ctx, methodInvite, token, err))
		return
	} else if err != nil {
		s.fail(w, r, methodInvite, err)
		return
	}
	http.Redirect(w, r, "/dashboard/", http.StatusSeeOther)
}

// joinTx makes u a member of project with role (an accepted invite, or a
// verified address of one of the project's sign-in domains) and audits it.
// A member already keeps the more powerful of the two roles.
func (s *Server) joinTx(ctx context.Context, r *http.Request, tx *store.Tx, u *pay.User, projectID string, role pay.Role, how string) error {
	if has, err := tx.FindMemberRole(ctx, projectID, u.ID); err == nil && (&principal{role: has}).may(role) {
		return nil
	} else if err != nil && !errors.Is(err, pay.ErrNotFound) {
		return err
	}
	if err := tx.SetMember(ctx, projectID, u.ID, role); err != nil {
		return err
	}
	return tx.AppendAudit(ctx, &pay.AuditEntry{ProjectID: projectID, ActorID: u.ID, ActorEmail: u.Email, Action: "member.joined",
		Target: u.ID, Detail: map[string]string{"role": string(role), "through": how}, IP: s.clientIP(r)})
}

// signOut ends the request's session and forgets its cookie.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	p, err := s.signedIn(r)
	if err == nil {
		err = s.db.Tx(r.Context(), func(tx *store.Tx) error { return tx.DeleteStaffSession(r.Context(), p.session.ID) })
	}
	if err != nil && !errors.Is(err, errSignedOut) {
		s.fail(w, r, "signout", err)
		return
	}
	s.clearCookie(w)
	http.Redirect(w, r, "/dashboard/signin", http.StatusSeeOther)
}

// signOutEverywhere ends every session of the request's user, in every
// browser.
func (s *Server) signOutEverywhere(w http.ResponseWriter, r *http.Request) {
	p, err := s.signedIn(r)
	if err == nil {
		_, err = s.endUserSessions(r.Context(), &call{principal: p, r: r}, &p.user)
	}
	if err != nil && !errors.Is(err, errSignedOut) {
		s.fail(w, r, "signout", err)
		return
	}
	s.clearCookie(w)
	http.Redirect(w, r, "/dashboard/signin", http.StatusSeeOther)
}

// endUserSessions ends every session of u, audited in the caller's project.
func (s *Server) endUserSessions(ctx context.Context, c *call, u *pay.User) (int64, error) {
	var n int64
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		if n, err = tx.DeleteUserStaffSessions(ctx, u.ID); err != nil {
			return err
		}
		action := "session.signed_out_everywhere"
		if u.ID != c.user.ID {
			action = "member.signed_out_everywhere"
		}
		return c.audit(ctx, tx, action, u.ID, map[string]string{"email": u.Email, "sessions": fmt.Sprint(n)})
	})
	return n, err
}

// The tRPC procedures of sessions (part A).

type signedOutView struct {
	SignedOut bool  `json:"signedOut"`
	Sessions  int64 `json:"sessions"`
}

func (s *Server) sessionSignOut(ctx context.Context, c *call, _ struct{}) (*signedOutView, error) {
	if err := s.db.Tx(ctx, func(tx *store.Tx) error { return tx.DeleteStaffSession(ctx, c.session.ID) }); err != nil {
		return nil, err
	}
	return &signedOutView{SignedOut: true, Sessions: 1}, nil
}

func (s *Server) sessionSignOutEverywhere(ctx context.Context, c *call, _ struct{}) (*signedOutView, error) {
	n, err := s.endUserSessions(ctx, c, &c.user)
	if err != nil {
		return nil, err
	}
	return &signedOutView{SignedOut: true, Sessions: n}, nil
}

// memberInput names a member of the caller's project.
type memberInput struct {
	UserID string `json:"userId"`
}

func (in *memberInput) validate() error {
	if in.UserID == "" {
		return badRequest("userId", "userId is required.")
	}
	if len(in.UserID) > 64 {
		return badRequest("userId", "userId is too long.")
	}
	return nil
}

// membersSignOutEverywhere ends every session of a member of the caller's
// project (an admin's action: a lost laptop, someone leaving).
func (s *Server) membersSignOutEverywhere(ctx context.Context, c *call, in memberInput) (*signedOutView, error) {
	m, err := s.db.FindMember(ctx, c.session.ProjectID, in.UserID)
	if errors.Is(err, pay.ErrNotFound) {
		return nil, notFound("member", in.UserID)
	} else if err != nil {
		return nil, err
	}
	n, err := s.endUserSessions(ctx, c, &m.User)
	if err != nil {
		return nil, err
	}
	return &signedOutView{SignedOut: true, Sessions: n}, nil
}
