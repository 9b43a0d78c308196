package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

func user(sub, email string, verified bool) *mockoidc.MockUser {
	return &mockoidc.MockUser{Subject: sub, Email: email, EmailVerified: verified, PreferredUsername: sub}
}

// TestOIDCSignIn signs a member in through an in-process OpenID Connect
// provider: PKCE S256, state and nonce, the session cookie's attributes,
// the account bound, the sign-in audited; then a replay of the callback
// and of the code are refused.
func TestOIDCSignIn(t *testing.T) {
	t.Parallel()
	bothDBs(t, func(t *testing.T, pg bool) {
		env := newAuthEnv(t, authOptions{Postgres: pg, OIDC: true})
		env.addMember("alice@example.com", pay.RoleDeveloper)

		// The sign-in page offers the provider.
		b := env.browser()
		if a := b.get("/dashboard/signin?next=/dashboard/payments"); a.status != 200 || !strings.Contains(a.body, "Sign in with Mock IdP") ||
			!strings.Contains(a.body, `href="/api/auth/oidc/start?next=%2fdashboard%2fpayments"`) {
			t.Errorf("sign-in page = %d %s", a.status, a.body)
		}

		start := b.get("/api/auth/oidc/start?next=" + url.QueryEscape("/dashboard/payments?status=failed"))
		auth, _ := url.Parse(start.location())
		q := auth.Query()
		if start.status != http.StatusFound || !strings.HasPrefix(start.location(), env.idp.AuthorizationEndpoint()) ||
			q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || len(q.Get("state")) < 40 || len(q.Get("nonce")) < 40 ||
			q.Get("redirect_uri") != env.URL+"/api/auth/oidc/callback" || !strings.Contains(q.Get("scope"), "openid") {
			t.Fatalf("start = %d %s", start.status, start.location())
		}
		flow := start.setCookie("calmony_signin")
		if flow == nil || !flow.HttpOnly || flow.SameSite != http.SameSiteLaxMode || flow.MaxAge != 600 || flow.Secure {
			t.Errorf("flow cookie = %q", start.setCookieLine("calmony_signin"))
		}
		if strings.Contains(start.location(), strings.Split(flow.Value, ".")[0]) {
			t.Error("the browser's handle travels to the provider")
		}

		callback := b.authorize(auth, user("alice-sub", "Alice@Example.com", true))
		done := b.get(callback.String())
		if done.status != http.StatusSeeOther || done.location() != "/dashboard/payments?status=failed" {
			t.Fatalf("callback = %d %q %s", done.status, done.location(), done.body)
		}
		line := done.setCookieLine("calmony_session")
		c := done.setCookie("calmony_session")
		if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" || c.Domain != "" || len(c.Value) != 32 ||
			c.MaxAge != 8*3600 {
			t.Errorf("session cookie = %q", line)
		}
		if email, role, project, code := b.me(); email != "alice@example.com" || role != "developer" || project != env.srv.Project {
			t.Errorf("signed in as %q %q %q (%s)", email, role, project, code)
		}
		ctx := context.Background()
		if err := env.srv.DB.Tx(ctx, func(tx *store.Tx) error {
			u, err := tx.FindUserByOIDC(ctx, env.idp.Issuer(), "alice-sub")
			if err == nil && u.Email != "alice@example.com" {
				t.Errorf("bound user = %+v", u)
			}
			return err
		}); err != nil {
			t.Errorf("the account is not bound: %v", err)
		}
		if in := env.audit("session.signed_in"); len(in) != 1 || in[0].Detail["method"] != "oidc" || in[0].ActorEmail != "alice@example.com" ||
			in[0].IP != b.ip {
			t.Errorf("audit = %+v", in)
		}

		// The same callback again (a replay): its flow is spent.
		replay := b.get(callback.String())
		if replay.status != http.StatusBadRequest || replay.setCookie("calmony_session") != nil || !strings.Contains(replay.body, "Start again") {
			t.Errorf("replayed callback = %d %s", replay.status, replay.body)
		}
		// The spent code with a fresh flow's state: the provider refuses it.
		b2 := env.browser()
		auth2 := b2.oidcStart("/dashboard/")
		replayed := *callback
		rq := replayed.Query()
		rq.Set("state", auth2.Query().Get("state"))
		replayed.RawQuery = rq.Encode()
		a := b2.get(replayed.String())
		if a.status != http.StatusBadRequest || a.setCookie("calmony_session") != nil || !strings.Contains(a.body, "did not accept the sign-in code") {
			t.Errorf("replayed code = %d %s", a.status, a.body)
		}

		// Next time the bound account signs in by its subject, whatever
		// address the provider gives now.
		b3 := env.browser()
		if a := b3.oidcSignIn(user("alice-sub", "alice.new@example.com", true), "/dashboard/"); a.status != http.StatusSeeOther {
			t.Errorf("second sign-in = %d %s", a.status, a.body)
		} else if email, _, _, _ := b3.me(); email != "alice@example.com" {
			t.Errorf("second sign-in as %q", email)
		}
	})
}

// TestOIDCRefusals: every way an answer can be wrong signs nobody in, says
// why, and is logged (and audited when the project is known).
func TestOIDCRefusals(t *testing.T) {
	t.Parallel()
	bothDBs(t, func(t *testing.T, pg bool) {
		env := newAuthEnv(t, authOptions{Postgres: pg, OIDC: true})
		env.addMember("alice@example.com", pay.RoleAdmin)
		alice := func() *mockoidc.MockUser { return user("alice-sub", "alice@example.com", true) }
		refused := func(name string, a answer, status int, says string) {
			t.Helper()
			if a.status != status || a.setCookie("calmony_session") != nil || !strings.Contains(a.body, says) {
				t.Errorf("%s = %d %s; want %d saying %q", name, a.status, a.body, status, says)
			}
		}

		// A wrong state.
		b := env.browser()
		cb := b.authorize(b.oidcStart("/dashboard/"), alice())
		q := cb.Query()
		q.Set("state", strings.Repeat("x", 43))
		cb.RawQuery = q.Encode()
		refused("wrong state", b.get(cb.String()), 400, "does not belong to this browser")

		// No state at all.
		b = env.browser()
		cb = b.authorize(b.oidcStart("/dashboard/"), alice())
		q = cb.Query()
		q.Del("state")
		cb.RawQuery = q.Encode()
		refused("missing state", b.get(cb.String()), 400, "does not belong to this browser")

		// Another browser's answer (no flow cookie here).
		b, other := env.browser(), env.browser()
		cb = b.authorize(b.oidcStart("/dashboard/"), alice())
		refused("another browser's state", other.get(cb.String()), 400, "started in another browser")
		// … and the browser that started it may still finish.
		if a := b.get(cb.String()); a.status != http.StatusSeeOther {
			t.Errorf("the right browser after another's attempt = %d %s", a.status, a.body)
		}

		// An ID token for another client (audience).
		b = env.browser()
		env.tamperNext(func(c jwt.MapClaims) { c["aud"] = "another-client" })
		refused("wrong audience", b.oidcSignIn(alice(), "/dashboard/"), 400, "not valid for this server")
		// Of another issuer.
		b = env.browser()
		env.tamperNext(func(c jwt.MapClaims) { c["iss"] = "https://evil.example/oidc" })
		refused("wrong issuer", b.oidcSignIn(alice(), "/dashboard/"), 400, "not valid for this server")
		// Expired: the provider's clock an hour behind issues a token whose
		// ten minutes ended long ago.
		b = env.browser()
		env.idp.FastForward(-time.Hour)
		a := b.oidcSignIn(alice(), "/dashboard/")
		env.idp.FastForward(time.Hour)
		refused("expired ID token", a, 400, "not valid for this server")
		// Another sign-in's nonce.
		b = env.browser()
		env.tamperNext(func(c jwt.MapClaims) { c["nonce"] = "another-nonce" })
		refused("nonce mismatch", b.oidcSignIn(alice(), "/dashboard/"), 400, "not issued for this sign-in")
		// An address the provider has not verified.
		b = env.browser()
		refused("unverified address", b.oidcSignIn(user("alice-sub", "alice@example.com", false), "/dashboard/"), 400, "has not verified alice@example.com")
		// Nobody invited this person.
		b = env.browser()
		refused("stranger", b.oidcSignIn(user("mallory-sub", "mallory@elsewhere.example", true), "/dashboard/"), 403,
			"mallory@elsewhere.example may not use this dashboard")
		// The provider's own refusal, shown plainly.
		b = env.browser()
		auth := b.oidcStart("/dashboard/")
		a = b.get("/api/auth/oidc/callback?error=access_denied&error_description=" + url.QueryEscape("The user cancelled") +
			"&state=" + auth.Query().Get("state"))
		refused("provider error", a, 400, "access_denied (The user cancelled)")

		// None of them signed anyone in; those of a known project (none
		// here: no invite) are not in its audit log, all are logged.
		if in := env.audit("session.signed_in"); len(in) != 1 {
			t.Errorf("sign-ins = %d, want only the right browser's", len(in))
		}
		logs := env.logs.String()
		for _, reason := range []string{"state_mismatch", "state_missing", "id_token_invalid", "id_token_expired", "nonce_mismatch",
			"email_unverified", "not_allowed", "provider_error"} {
			if !strings.Contains(logs, `msg="dashboard sign-in failed" method=oidc reason=`+reason) {
				t.Errorf("no log line of %s in:\n%s", reason, logs)
			}
		}
		if strings.Contains(logs, "code=") || strings.Contains(logs, env.idp.ClientSecret) {
			t.Errorf("a code or the client secret is logged:\n%s", logs)
		}
	})
}

// TestOIDCInvitesAndDomains: an invite is accepted through the provider
// by the invited address only; a project's sign-in domain lets its
// verified addresses in as viewers.
func TestOIDCInvitesAndDomains(t *testing.T) {
	t.Parallel()
	bothDBs(t, func(t *testing.T, pg bool) {
		env := newAuthEnv(t, authOptions{Postgres: pg, OIDC: true})
		env.addMember("alice@example.com", pay.RoleAdmin)

		// Bob's invite, accepted by Bob (the address compared without case).
		invite := env.token(pay.TokenInvite, "bob@example.com", pay.RoleViewer, 7*24*time.Hour)
		b := env.browser()
		start := b.get("/api/auth/invite?token=" + invite)
		if start.status != http.StatusFound || !strings.HasPrefix(start.location(), env.idp.AuthorizationEndpoint()) {
			t.Fatalf("invite with OIDC = %d %s", start.status, start.body)
		}
		auth, _ := url.Parse(start.location())
		if a := b.get(b.authorize(auth, user("bob-sub", "Bob@Example.COM", true)).String()); a.status != http.StatusSeeOther || a.location() != "/dashboard/" {
			t.Fatalf("invite callback = %d %s", a.status, a.body)
		}
		if email, role, project, _ := b.me(); email != "bob@example.com" || role != "viewer" || project != env.srv.Project {
			t.Errorf("Bob is %q %q %q", email, role, project)
		}
		if j := env.audit("member.joined"); len(j) != 1 || j[0].Detail["role"] != "viewer" || j[0].Detail["through"] != "invite" {
			t.Errorf("joined = %+v", j)
		}
		// The invite is spent.
		if a := env.browser().get("/api/auth/invite?token=" + invite); a.status != http.StatusGone || !strings.Contains(a.body, "used already") {
			t.Errorf("spent invite = %d %s", a.status, a.body)
		}

		// Carol's invite, followed by Dave: refused, audited, unspent.
		carol := env.token(pay.TokenInvite, "carol@example.com", pay.RoleDeveloper, 7*24*time.Hour)
		b = env.browser()
		auth, _ = url.Parse(b.get("/api/auth/invite?token=" + carol).location())
		a := b.get(b.authorize(auth, user("dave-sub", "dave@example.com", true)).String())
		if a.status != http.StatusForbidden || a.setCookie("calmony_session") != nil || !strings.Contains(a.body, "This invitation is for carol@example.com") {
			t.Errorf("invite with another address = %d %s", a.status, a.body)
		}
		if f := env.audit("session.sign_in_failed"); len(f) != 2 || f[0].Detail["reason"] != "invite_used" || f[1].Detail["reason"] != "invite_email_mismatch" ||
			f[1].IP != b.ip || f[1].ActorEmail != "dave@example.com" || f[1].Detail["method"] != "oidc" {
			t.Errorf("audited failures = %v", f)
		}
		// Carol herself, without the link: her pending invite lets her in.
		b = env.browser()
		if a := b.oidcSignIn(user("carol-sub", "carol@example.com", true), "/dashboard/"); a.status != http.StatusSeeOther {
			t.Errorf("Carol = %d %s", a.status, a.body)
		} else if email, role, _, _ := b.me(); email != "carol@example.com" || role != "developer" {
			t.Errorf("Carol is %q %q", email, role)
		}

		// An expired invite is refused before the provider.
		old := env.token(pay.TokenInvite, "old@example.com", pay.RoleViewer, -time.Minute)
		if a := env.browser().get("/api/auth/invite?token=" + old); a.status != http.StatusGone || !strings.Contains(a.body, "expired") {
			t.Errorf("expired invite = %d %s", a.status, a.body)
		}

		// The sign-in domain: a verified address of it joins as a viewer; of
		// another project's domain, that project only.
		ctx := context.Background()
		other := storetest.Project(t, env.srv.DB).ProjectID
		if err := env.srv.DB.Tx(ctx, func(tx *store.Tx) error {
			if err := tx.SetProjectSignInDomains(ctx, env.srv.Project, []string{"tea.example"}); err != nil {
				return err
			}
			return tx.SetProjectSignInDomains(ctx, other, []string{"other.example"})
		}); err != nil {
			t.Fatal(err)
		}
		b = env.browser()
		if a := b.oidcSignIn(user("erin-sub", "erin@tea.example", true), "/dashboard/"); a.status != http.StatusSeeOther {
			t.Errorf("domain sign-in = %d %s", a.status, a.body)
		}
		if email, role, project, _ := b.me(); email != "erin@tea.example" || role != "viewer" || project != env.srv.Project {
			t.Errorf("Erin is %q %q %q", email, role, project)
		}
		// An unverified address of the domain is not enough.
		if a := env.browser().oidcSignIn(user("frank-sub", "frank@tea.example", false), "/dashboard/"); a.status != http.StatusBadRequest {
			t.Errorf("unverified domain address = %d", a.status)
		}
		// A subdomain is not the domain.
		if a := env.browser().oidcSignIn(user("gus-sub", "gus@eu.tea.example", true), "/dashboard/"); a.status != http.StatusForbidden {
			t.Errorf("subdomain address = %d", a.status)
		}
	})
}
