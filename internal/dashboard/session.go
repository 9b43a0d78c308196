package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/throttle"
)

// The session cookie's names: with the __Host- prefix over https (the
// browser then insists on Secure, Path=/ and no Domain), plain over http
// (localhost), where browsers refuse the prefix.
const (
	cookieSecure = "__Host-calmony_session"
	cookiePlain  = "calmony_session"
)

// sessionTokenLen is the number of base62 characters of a session token
// (about 190 bits).
const sessionTokenLen = 32

// touchEvery is how stale a session's idle deadline may get before a
// request moves it: one write a minute per session at most.
const touchEvery = time.Minute

// principal is who is calling: a live session, its user and the user's
// role in the session's project.
type principal struct {
	session pay.StaffSession
	user    pay.User
	role    pay.Role
	ip      string
}

// scope is the project and mode the principal is looking at.
func (p *principal) scope() pay.Scope {
	return pay.Scope{ProjectID: p.session.ProjectID, Livemode: p.session.Livemode}
}

// roleRank orders the roles; an unknown one ranks below them all.
var roleRank = map[pay.Role]int{pay.RoleViewer: 1, pay.RoleDeveloper: 2, pay.RoleAdmin: 3}

// may reports whether the principal's role is at least least.
func (p *principal) may(least pay.Role) bool { return roleRank[p.role] >= roleRank[least] }

func (s *Server) cookieName() string {
	if s.publicURL.Scheme == "https" {
		return cookieSecure
	}
	return cookiePlain
}

// errSignedOut means the request carries no live session: no cookie, an
// unknown, tampered or expired token, or a user no longer a member of the
// session's project.
var errSignedOut = errors.New("signed out")

// signedIn returns the request's principal, or errSignedOut. It moves the
// session's idle deadline forward when it has grown stale.
func (s *Server) signedIn(r *http.Request) (*principal, error) {
	c, err := r.Cookie(s.cookieName())
	if err != nil || c.Value == "" || len(c.Value) > 2*sessionTokenLen {
		return nil, errSignedOut
	}
	si, err := s.db.FindStaffSession(r.Context(), pay.HashKey(c.Value))
	if errors.Is(err, pay.ErrNotFound) {
		return nil, errSignedOut
	} else if err != nil {
		return nil, err
	}
	now := s.now().Unix()
	if !si.Session.Live(now) || si.Role == "" {
		return nil, errSignedOut
	}
	want := min(now+int64(s.idle/time.Second), si.Session.ExpiresAt)
	if want-si.Session.IdleUntil >= int64(touchEvery/time.Second) {
		if err := s.db.Tx(r.Context(), func(tx *store.Tx) error { return tx.TouchStaffSession(r.Context(), si.Session.ID, want) }); err != nil {
			return nil, err
		}
		si.Session.IdleUntil = want
	}
	return &principal{session: si.Session, user: si.User, role: si.Role, ip: throttle.ClientIP(r, s.trusted).String()}, nil
}

// startSession signs a user in to a project (in test mode): it records a
// new session and sets its cookie. The caller has checked the membership.
func (s *Server) startSession(ctx context.Context, w http.ResponseWriter, tx *store.Tx, userID, projectID string) (*pay.StaffSession, error) {
	token := pay.RandomString(sessionTokenLen)
	now := s.now()
	sess := &pay.StaffSession{
		TokenHash: pay.HashKey(token),
		UserID:    userID,
		ProjectID: projectID,
		ExpiresAt: now.Add(s.lifetime).Unix(),
		IdleUntil: now.Add(min(s.idle, s.lifetime)).Unix(),
	}
	if err := tx.CreateStaffSession(ctx, sess); err != nil {
		return nil, fmt.Errorf("start session: %w", err)
	}
	http.SetCookie(w, &http.Cookie{
		Name:     s.cookieName(),
		Value:    token,
		Path:     "/",
		Expires:  time.Unix(sess.ExpiresAt, 0),
		MaxAge:   int(s.lifetime / time.Second),
		HttpOnly: true,
		Secure:   s.publicURL.Scheme == "https",
		SameSite: http.SameSiteLaxMode,
	})
	return sess, nil
}

// clearCookie tells the browser to forget the session cookie.
func (s *Server) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.publicURL.Scheme == "https", SameSite: http.SameSiteLaxMode})
}
