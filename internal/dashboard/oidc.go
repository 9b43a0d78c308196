package dashboard

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// Sign-in through an OpenID Connect provider (Google, Microsoft Entra,
// Okta, Keycloak…): the authorisation code flow with PKCE (S256).
//
// /api/auth/oidc/start gives the browser a short-lived random handle in an
// HttpOnly cookie and records only the handle's hash (a signin_tokens row of
// purpose "oidc", single use, 10 minutes). The flow's state, nonce and PKCE
// verifier are derived from the handle (HMAC-SHA256 under it), so the
// callback recomputes them from the cookie: a state minted for another
// browser does not match, and the recorded hash is spent by the first
// callback, so a replay finds it used (SEC-19). The ID token is verified by
// go-oidc (signature, iss, aud = our client ID, exp: SEC-20), then its nonce
// against the handle's, and the address must be verified by the provider.
//
// Who may sign in: a user bound to the provider's subject; else a member
// with the verified address (bound to the subject from then on); else the
// holder of an unspent invite for the address; else an address of a domain
// in a project's signin_domains, who joins that project as a viewer.

// OIDCConfig configures sign-in through an OpenID Connect provider.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL (its discovery document is at
	// Issuer + "/.well-known/openid-configuration").
	Issuer       string
	ClientID     string
	ClientSecret string
	// Name labels the sign-in button ("Sign in with Name"); default
	// "single sign-on".
	Name string
	// HTTPClient talks to the provider; default: a client with a 10 s
	// timeout.
	HTTPClient *http.Client
}

// oidcCallbackPath is the redirect URL's path, under the public URL.
const oidcCallbackPath = "/api/auth/oidc/callback"

// flowLifetime is how long a started OIDC sign-in may take.
const flowLifetime = 10 * time.Minute

// tokenOIDC is the signin_tokens purpose of a started OIDC sign-in.
const tokenOIDC = "oidc"

// The flow cookie's names, as the session cookie's.
const (
	flowCookieSecure = "__Host-calmony_signin"
	flowCookiePlain  = "calmony_signin"
)

// oidcClient is the provider, discovered on first use.
type oidcClient struct {
	cfg      OIDCConfig
	name     string
	redirect string
	now      func() time.Time
	client   *http.Client

	mu       sync.Mutex
	provider *oidc.Provider
}

func newOIDCClient(cfg OIDCConfig, redirect string, now func() time.Time) (*oidcClient, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("dashboard: OIDC needs Issuer, ClientID and ClientSecret")
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &oidcClient{cfg: cfg, name: cmp.Or(cfg.Name, "single sign-on"), redirect: redirect, now: now, client: client}, nil
}

// ctx carries the provider's HTTP client for go-oidc and x/oauth2.
func (o *oidcClient) ctx(ctx context.Context) context.Context {
	return context.WithValue(oidc.ClientContext(ctx, o.client), oauth2.HTTPClient, o.client)
}

// discover returns the provider, fetching its discovery document once (a
// failure is retried by the next sign-in).
func (o *oidcClient) discover(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// The key set the provider fetches later lives beyond this request.
	p, err := oidc.NewProvider(o.ctx(context.WithoutCancel(ctx)), o.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc discovery of %s: %w", o.cfg.Issuer, err)
	}
	o.provider = p
	return p, nil
}

func (o *oidcClient) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: o.redirect, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
}

// derive is one of a flow's values, HMAC-SHA256 of label under its handle:
// 43 URL-safe characters (a valid PKCE verifier too).
func derive(handle, label string) string {
	m := hmac.New(sha256.New, []byte(handle))
	m.Write([]byte(label))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Server) flowCookieName() string {
	if s.publicURL.Scheme == "https" {
		return flowCookieSecure
	}
	return flowCookiePlain
}

func (s *Server) setFlowCookie(w http.ResponseWriter, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: s.flowCookieName(), Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: s.publicURL.Scheme == "https", SameSite: http.SameSiteLaxMode})
}

// oidcStart sends the browser to the provider.
func (s *Server) oidcStart(w http.ResponseWriter, r *http.Request) {
	if s.oidc == nil {
		s.renderSignIn(w, r, http.StatusNotFound, "Single sign-on is not configured on this server: use a sign-in link.", "")
		return
	}
	s.startOIDC(w, r, localPath(r.URL.Query().Get("next")), nil)
}

// startOIDC records a new flow (accepting invite, if any, on its callback)
// and redirects to the provider's authorisation endpoint.
func (s *Server) startOIDC(w http.ResponseWriter, r *http.Request, next string, invite *pay.SignInToken) {
	ctx := r.Context()
	p, err := s.oidc.discover(ctx)
	if err != nil {
		s.log.ErrorContext(ctx, "dashboard sign-in: the identity provider cannot be reached", "err", err)
		s.renderSignIn(w, r, http.StatusBadGateway, "The identity provider cannot be reached just now. Try again in a moment, or use a sign-in link.", next)
		return
	}
	handle := pay.RandomString(tokenLen)
	flow := &pay.SignInToken{TokenHash: pay.HashKey(handle), Purpose: tokenOIDC, ExpiresAt: s.now().Add(flowLifetime).Unix()}
	if invite != nil {
		// The flow's row names the invite it accepts (by its hash, never
		// the token), its address and its project.
		flow.ProjectID, flow.Email, flow.Role, flow.CreatedBy = invite.ProjectID, invite.Email, invite.Role, invite.TokenHash
	} else if flow.ProjectID, err = s.db.FirstProjectID(ctx); err != nil {
		// The row needs a project; it is the oldest one's.
		s.fail(w, r, methodOIDC, err)
		return
	}
	if err := s.db.Tx(ctx, func(tx *store.Tx) error { return tx.CreateSignInToken(ctx, flow) }); err != nil {
		s.fail(w, r, methodOIDC, err)
		return
	}
	s.setFlowCookie(w, handle+"."+base64.RawURLEncoding.EncodeToString([]byte(next)), int(flowLifetime/time.Second))
	u := s.oidc.oauth(p).AuthCodeURL(derive(handle, "state"), oidc.Nonce(derive(handle, "nonce")),
		oauth2.S256ChallengeOption(derive(handle, "pkce")))
	http.Redirect(w, r, u, http.StatusFound)
}

// oidcClaims are the ID token's claims we use.
type oidcClaims struct {
	Email         string `json:"email"`
	EmailVerified any    `json:"email_verified"` // a boolean; some providers send "true"
	Name          string `json:"name"`
}

func (c *oidcClaims) verified() bool {
	switch v := c.EmailVerified.(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

// oidcCallback finishes a sign-in: the state against the browser's flow,
// the code exchanged with the verifier, the ID token verified, then the
// person allowed in or refused.
func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if s.oidc == nil {
		s.renderSignIn(w, r, http.StatusNotFound, "Single sign-on is not configured on this server: use a sign-in link.", "")
		return
	}
	q := r.URL.Query()
	ref := func(reason, msg string, err error) *refusal {
		return &refusal{status: http.StatusBadRequest, reason: reason, message: msg, method: methodOIDC, err: err}
	}
	// The flow: its cookie, then its record, spent at once (one callback
	// per flow).
	ck, err := r.Cookie(s.flowCookieName())
	s.setFlowCookie(w, "", -1)
	handle, nextEnc, _ := strings.Cut(func() string {
		if err != nil {
			return ""
		}
		return ck.Value
	}(), ".")
	if len(handle) != tokenLen {
		s.refuse(w, r, ref("state_missing", "This sign-in was started in another browser, or too long ago. Start again.", err))
		return
	}
	var flow *pay.SignInToken
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		flow, err = tx.SpendSignInToken(ctx, pay.HashKey(handle), tokenOIDC)
		return err
	})
	if isTokenError(err) {
		s.refuse(w, r, ref("state_"+strings.TrimPrefix(strings.ReplaceAll(err.Error(), " ", "_"), "link_"),
			"This sign-in has been used already or has expired. Start again.", err))
		return
	} else if err != nil {
		s.fail(w, r, methodOIDC, err)
		return
	}
	next := "/dashboard/"
	if b, err := base64.RawURLEncoding.DecodeString(nextEnc); err == nil {
		next = localPath(string(b))
	}
	// Failures from here on concern the invite's project when there is one.
	inviteRef := func(reason, msg string, err error) *refusal {
		e := ref(reason, msg, err)
		if flow.CreatedBy != "" {
			e.projectID, e.email = flow.ProjectID, flow.Email
		}
		return e
	}
	if e := q.Get("error"); e != "" {
		msg := "The identity provider refused the sign-in: " + truncate(e, 100)
		if d := q.Get("error_description"); d != "" {
			msg += " (" + truncate(d, 300) + ")"
		}
		s.refuse(w, r, inviteRef("provider_error", msg+".", errors.New(e)))
		return
	}
	if got := q.Get("state"); subtle.ConstantTimeCompare([]byte(got), []byte(derive(handle, "state"))) != 1 {
		s.refuse(w, r, inviteRef("state_mismatch", "This sign-in answer does not belong to this browser's sign-in. Start again.", nil))
		return
	}
	p, err := s.oidc.discover(ctx)
	if err != nil {
		s.log.ErrorContext(ctx, "dashboard sign-in: the identity provider cannot be reached", "err", err)
		s.renderSignIn(w, r, http.StatusBadGateway, "The identity provider cannot be reached just now. Try again in a moment.", next)
		return
	}
	code := q.Get("code")
	if code == "" || len(code) > 4096 {
		s.refuse(w, r, inviteRef("code_missing", "The identity provider's answer has no sign-in code. Start again.", nil))
		return
	}
	tok, err := s.oidc.oauth(p).Exchange(s.oidc.ctx(ctx), code, oauth2.VerifierOption(derive(handle, "pkce")))
	if err != nil {
		s.refuse(w, r, inviteRef("code_refused", "The identity provider did not accept the sign-in code (used already, or expired). Start again.", err))
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		s.refuse(w, r, inviteRef("id_token_missing", "The identity provider sent no ID token.", nil))
		return
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: s.oidc.cfg.ClientID, Now: s.now}).Verify(s.oidc.ctx(ctx), raw)
	if err != nil {
		var expired *oidc.TokenExpiredError
		reason := "id_token_invalid"
		if errors.As(err, &expired) {
			reason = "id_token_expired"
		}
		s.refuse(w, r, inviteRef(reason, "The identity provider's ID token is not valid for this server (wrong issuer or audience, expired or badly signed).", err))
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(derive(handle, "nonce"))) != 1 {
		s.refuse(w, r, inviteRef("nonce_mismatch", "The identity provider's ID token was not issued for this sign-in. Start again.", nil))
		return
	}
	var claims oidcClaims
	if err := idt.Claims(&claims); err != nil {
		s.refuse(w, r, inviteRef("id_token_invalid", "The identity provider's ID token cannot be read.", err))
		return
	}
	email, ok := pay.NormalizeEmail(claims.Email)
	if !ok {
		s.refuse(w, r, inviteRef("email_missing", "The identity provider did not give an e-mail address: allow the email scope.", nil))
		return
	}
	if !claims.verified() {
		e := inviteRef("email_unverified", fmt.Sprintf("The identity provider has not verified %s: verify the address with it first.", email), nil)
		e.email = email
		s.refuse(w, r, e)
		return
	}
	domainProjects, err := s.db.FindProjectsBySignInDomain(ctx, pay.EmailDomain(email))
	if err != nil {
		s.fail(w, r, methodOIDC, err)
		return
	}
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		u, project, err := s.admitOIDC(ctx, r, tx, flow, admission{issuer: idt.Issuer, subject: idt.Subject, email: email,
			name: truncate(claims.Name, 200), domainProjects: domainProjects})
		if err != nil {
			return err
		}
		return s.signInTx(ctx, w, r, tx, u, project, methodOIDC)
	})
	if err != nil {
		var rf *refusal
		if errors.As(err, &rf) && rf.email == "" {
			rf.email = email
		}
		s.fail(w, r, methodOIDC, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// admission is who the provider says signs in.
type admission struct {
	issuer, subject, email, name string
	// domainProjects are the projects whose sign-in domains have the
	// address's.
	domainProjects []string
}

// admitOIDC decides whether the verified person may sign in, makes them a
// member where an invite or a sign-in domain says so, and returns the user
// and the project to start in. A refusal is a *refusal.
func (s *Server) admitOIDC(ctx context.Context, r *http.Request, tx *store.Tx, flow *pay.SignInToken, a admission) (*pay.User, string, error) {
	issuer, subject, email, name := a.issuer, a.subject, a.email, a.name
	refuse := func(status int, reason, msg, projectID string) *refusal {
		return &refusal{status: status, reason: reason, message: msg, method: methodOIDC, projectID: projectID, email: email}
	}
	// The user: bound to this account already, or by address (then bound).
	u, err := tx.FindUserByOIDC(ctx, issuer, subject)
	if errors.Is(err, pay.ErrNotFound) {
		u, err = tx.FindUserByEmail(ctx, email)
		switch {
		case err == nil && u.OIDCSubject != "" && (u.OIDCSubject != subject || u.OIDCIssuer != issuer):
			return nil, "", refuse(http.StatusForbidden, "account_mismatch",
				fmt.Sprintf("%s is bound to another account of an identity provider. Ask an admin for help.", email), "")
		case errors.Is(err, pay.ErrNotFound):
			u = nil
		case err != nil:
			return nil, "", err
		}
	} else if err != nil {
		return nil, "", err
	}
	ensure := func() error {
		if u == nil {
			u = &pay.User{Email: email, Name: name, OIDCIssuer: issuer, OIDCSubject: subject}
			return tx.CreateUser(ctx, u)
		}
		if u.OIDCSubject == "" {
			u.OIDCIssuer, u.OIDCSubject = issuer, subject
			return tx.BindUserOIDC(ctx, u.ID, issuer, subject, name)
		}
		return nil
	}

	// An invite this flow accepts: the verified address must be its own.
	if flow.CreatedBy != "" {
		if !strings.EqualFold(email, flow.Email) {
			return nil, "", refuse(http.StatusForbidden, "invite_email_mismatch",
				fmt.Sprintf("This invitation is for %s, but the identity provider signed you in as %s. Sign in with the invited account, or ask for an invitation for this one.", flow.Email, email),
				flow.ProjectID)
		}
		inv, err := tx.SpendSignInToken(ctx, flow.CreatedBy, pay.TokenInvite)
		if isTokenError(err) {
			e := s.tokenRefusal(ctx, methodInvite, "", err)
			e.projectID, e.method = flow.ProjectID, methodOIDC
			return nil, "", e
		} else if err != nil {
			return nil, "", err
		}
		if err := ensure(); err != nil {
			return nil, "", err
		}
		return u, inv.ProjectID, s.joinTx(ctx, r, tx, u, inv.ProjectID, inv.Role, methodInvite)
	}

	// A member already.
	if u != nil {
		projects, err := tx.FindUserProjects(ctx, u.ID)
		if err != nil {
			return nil, "", err
		}
		if len(projects) > 0 {
			return u, projects[0], ensure()
		}
	}
	// Invited, without following the invite's link.
	invites, err := tx.FindInvitesByEmail(ctx, email, tx.Now.Unix())
	if err != nil {
		return nil, "", err
	}
	if len(invites) > 0 {
		inv, err := tx.SpendSignInToken(ctx, invites[0].TokenHash, pay.TokenInvite)
		if err != nil {
			return nil, "", err
		}
		if err := ensure(); err != nil {
			return nil, "", err
		}
		return u, inv.ProjectID, s.joinTx(ctx, r, tx, u, inv.ProjectID, inv.Role, methodInvite)
	}
	// A verified address of a project's sign-in domain: a viewer there.
	projects := a.domainProjects
	if len(projects) == 0 {
		return nil, "", refuse(http.StatusForbidden, "not_allowed",
			fmt.Sprintf("%s may not use this dashboard: ask an admin of your project for an invitation.", email), "")
	}
	if err := ensure(); err != nil {
		return nil, "", err
	}
	for _, p := range projects {
		if err := s.joinTx(ctx, r, tx, u, p, pay.RoleViewer, "signin_domain"); err != nil {
			return nil, "", err
		}
	}
	return u, projects[0], nil
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
