package dashboard_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/dashboard"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// link makes a sign-in link for email (made a member with role) and
// returns its path.
func (env *authEnv) link(email string, role pay.Role) string {
	env.t.Helper()
	u, who, err := dashboard.SignInLink(context.Background(), env.srv.DB, dashboard.LinkOptions{PublicURL: env.URL, ProjectID: env.srv.Project,
		Email: email, Role: role, CreatedBy: "test", Now: env.clock.Now})
	if err != nil || who != strings.ToLower(email) {
		env.t.Fatalf("SignInLink(%s) = %q %q %v", email, u, who, err)
	}
	return strings.TrimPrefix(u, env.URL)
}

// signedIn signs a new browser in through a link.
func (env *authEnv) signedIn(email string, role pay.Role) *browser {
	env.t.Helper()
	b := env.browser()
	if a := b.get(env.link(email, role)); a.status != http.StatusSeeOther {
		env.t.Fatalf("link sign-in = %d %s", a.status, a.body)
	}
	return b
}

// TestSignInLinks: a link signs its person in once, within its 15
// minutes; a reused, expired, unknown or malformed one grants nothing and
// says why; two requests at once with one link make one session.
func TestSignInLinks(t *testing.T) {
	t.Parallel()
	bothDBs(t, func(t *testing.T, pg bool) {
		env := newAuthEnv(t, authOptions{Postgres: pg})
		path := env.link("Ada@Example.com", pay.RoleAdmin)
		if !strings.HasPrefix(path, "/api/auth/link?token=") || len(strings.TrimPrefix(path, "/api/auth/link?token=")) != 32 {
			t.Fatalf("link = %q", path)
		}
		b := env.browser()
		a := b.get(path)
		c := a.setCookie("calmony_session")
		if a.status != http.StatusSeeOther || a.location() != "/dashboard/" || c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure {
			t.Fatalf("link = %d %q %q", a.status, a.location(), a.setCookieLine("calmony_session"))
		}
		if email, role, _, _ := b.me(); email != "ada@example.com" || role != "admin" {
			t.Errorf("signed in as %q %q", email, role)
		}
		if in := env.audit("session.signed_in"); len(in) != 1 || in[0].Detail["method"] != "link" || in[0].IP != b.ip {
			t.Errorf("audit = %v", in)
		}
		// The overview page, signed in.
		if a := b.get("/dashboard/"); a.status != 200 || !strings.Contains(a.body, "ada@example.com") {
			t.Errorf("overview = %d", a.status)
		}

		refused := func(name string, a answer, status int, says string) {
			t.Helper()
			if a.status != status || a.setCookie("calmony_session") != nil || !strings.Contains(a.body, says) {
				t.Errorf("%s = %d %s; want %d saying %q", name, a.status, a.body, status, says)
			}
		}
		other := env.browser()
		refused("reused link", other.get(path), http.StatusGone, "has been used already")
		expired := env.token(pay.TokenSignIn, "ada@example.com", "", -time.Second)
		refused("expired link", other.get("/api/auth/link?token="+expired), http.StatusGone, "has expired")
		refused("unknown link", other.get("/api/auth/link?token="+pay.RandomString(32)), http.StatusNotFound, "is not valid")
		refused("malformed link", other.get("/api/auth/link?token=%27%3Cscript%3E"), http.StatusNotFound, "is not valid")
		refused("no token", other.get("/api/auth/link"), http.StatusNotFound, "is not valid")
		// An invite is not a sign-in link.
		invite := env.token(pay.TokenInvite, "bob@example.com", pay.RoleViewer, time.Hour)
		refused("an invite as a link", other.get("/api/auth/link?token="+invite), http.StatusNotFound, "is not valid")
		if _, _, _, code := other.me(); code != "UNAUTHORIZED" {
			t.Errorf("after refusals the other browser is %q", code)
		}
		// Failures of known links are audited in their project, without
		// their tokens.
		f := env.audit("session.sign_in_failed")
		if len(f) != 2 || f[0].Detail["reason"] != "link_used" || f[1].Detail["reason"] != "link_expired" || f[0].ActorEmail != "ada@example.com" ||
			f[0].IP != other.ip {
			t.Errorf("audited failures = %v", f)
		}
		if logs := env.logs.String(); strings.Contains(logs, expired) || strings.Contains(logs, strings.TrimPrefix(path, "/api/auth/link?token=")) ||
			!strings.Contains(logs, "reason=link_unknown") {
			t.Errorf("logs:\n%s", logs)
		}

		// A member removed since the link was made is refused.
		gone := env.link("gone@example.com", pay.RoleViewer)
		u := addMemberTo(t, env.srv.DB, env.srv.Project, "gone@example.com", pay.RoleViewer)
		ctx := context.Background()
		if err := env.srv.DB.Tx(ctx, func(tx *store.Tx) error { return tx.RemoveMember(ctx, env.srv.Project, u.ID) }); err != nil {
			t.Fatal(err)
		}
		refused("a former member's link", env.browser().get(gone), http.StatusForbidden, "no longer a member")

		// Two at once: one session.
		path = env.link("ada@example.com", "")
		var wg sync.WaitGroup
		answers := make([]answer, 2)
		for i := range answers {
			wg.Go(func() { answers[i] = env.browser().get(path) })
		}
		wg.Wait()
		cookies, gone410 := 0, 0
		for _, a := range answers {
			if a.setCookie("calmony_session") != nil && a.status == http.StatusSeeOther {
				cookies++
			}
			if a.status == http.StatusGone {
				gone410++
			}
		}
		if cookies != 1 || gone410 != 1 {
			t.Errorf("two at once: %d sessions, %d refusals: %d %d", cookies, gone410, answers[0].status, answers[1].status)
		}
	})
}

// TestSignInLinkOptions: the link's person and role.
func TestSignInLinkOptions(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	ctx := context.Background()
	mk := func(email string, role pay.Role) (string, error) {
		_, who, err := dashboard.SignInLink(ctx, srv.DB, dashboard.LinkOptions{PublicURL: srv.URL, ProjectID: srv.Project, Email: email, Role: role})
		return who, err
	}
	// A project with no member: admin@localhost, its first admin.
	if who, err := mk("", ""); err != nil || who != "admin@localhost" {
		t.Fatalf("default = %q %v", who, err)
	}
	if m, err := srv.DB.FindMembers(ctx, srv.Project); err != nil || len(m) != 1 || m[0].Role != pay.RoleAdmin || m[0].User.Email != "admin@localhost" {
		t.Errorf("members = %v %v", m, err)
	}
	// Someone else is refused without a role, then made a member with one.
	if _, err := mk("dev@example.com", ""); err == nil || !strings.Contains(err.Error(), "--role") {
		t.Errorf("a non-member without a role: %v", err)
	}
	if who, err := mk("Dev@Example.com", pay.RoleDeveloper); err != nil || who != "dev@example.com" {
		t.Errorf("with a role = %q %v", who, err)
	}
	// A member keeps their role; the default is still the first admin.
	if who, err := mk("dev@example.com", ""); err != nil || who != "dev@example.com" {
		t.Errorf("a member = %q %v", who, err)
	}
	if who, err := mk("", ""); err != nil || who != "admin@localhost" {
		t.Errorf("default later = %q %v", who, err)
	}
	for _, bad := range []struct {
		email string
		role  pay.Role
	}{{"not an address", pay.RoleAdmin}, {"Ada <ada@example.com>", pay.RoleAdmin}, {"x@example.com", "owner"}} {
		if _, err := mk(bad.email, bad.role); err == nil {
			t.Errorf("SignInLink(%q, %q) accepted", bad.email, bad.role)
		}
	}
	if m, _ := srv.DB.FindMembers(ctx, srv.Project); len(m) != 2 || m[1].Role != pay.RoleDeveloper {
		t.Errorf("members after = %v", m)
	}
	if a := auditOf(t, srv.DB, srv.Project, "signin_link.created"); len(a) != 4 {
		t.Errorf("links audited = %d, want 4", len(a))
	}
}

// TestInviteWithoutOIDC: with no identity provider, the invite link itself
// signs its holder in, once, with the invite's role.
func TestInviteWithoutOIDC(t *testing.T) {
	t.Parallel()
	bothDBs(t, func(t *testing.T, pg bool) {
		env := newAuthEnv(t, authOptions{Postgres: pg})
		env.addMember("ada@example.com", pay.RoleAdmin)
		invite := env.token(pay.TokenInvite, "bob@example.com", pay.RoleDeveloper, 7*24*time.Hour)
		b := env.browser()
		if a := b.get("/api/auth/invite?token=" + invite); a.status != http.StatusSeeOther || a.setCookie("calmony_session") == nil {
			t.Fatalf("invite = %d %s", a.status, a.body)
		}
		if email, role, _, _ := b.me(); email != "bob@example.com" || role != "developer" {
			t.Errorf("Bob is %q %q", email, role)
		}
		if in := env.audit("session.signed_in"); len(in) != 1 || in[0].Detail["method"] != "invite" {
			t.Errorf("audit = %v", in)
		}
		if a := env.browser().get("/api/auth/invite?token=" + invite); a.status != http.StatusGone || a.setCookie("calmony_session") != nil {
			t.Errorf("reused invite = %d", a.status)
		}
		old := env.token(pay.TokenInvite, "carol@example.com", pay.RoleAdmin, -time.Hour)
		if a := env.browser().get("/api/auth/invite?token=" + old); a.status != http.StatusGone || !strings.Contains(a.body, "invitation has expired") {
			t.Errorf("expired invite = %d %s", a.status, a.body)
		}
		if m, err := env.srv.DB.FindMembers(context.Background(), env.srv.Project); err != nil || len(m) != 2 {
			t.Errorf("members = %v %v (Carol must not have joined)", m, err)
		}
		// Without OIDC there is no provider to start with.
		if a := env.browser().get("/api/auth/oidc/start"); a.status != http.StatusNotFound {
			t.Errorf("oidc start without OIDC = %d", a.status)
		}
		if a := env.browser().get("/dashboard/signin"); a.status != 200 || strings.Contains(a.body, "/api/auth/oidc/start") ||
			!strings.Contains(a.body, "calmonypay dashboard link") {
			t.Errorf("sign-in page without OIDC = %d %s", a.status, a.body)
		}
	})
}

// TestSignInRateLimit: the 11th /api/auth/* request of a client within a
// minute is refused with 429 and Retry-After, another client is not, and a
// minute later the first may again (SEC-08). Through the whole server.
func TestSignInRateLimit(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	get := func(path, accept string) (int, http.Header, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		return resp.StatusCode, resp.Header, b.String()
	}
	paths := []string{"/api/auth/link?token=x", "/api/auth/invite?token=y", "/api/auth/oidc/start", "/api/auth/nope"}
	for i := range 10 {
		if status, _, _ := get(paths[i%len(paths)], ""); status == http.StatusTooManyRequests {
			t.Fatalf("request %d refused", i+1)
		}
	}
	status, h, body := get("/api/auth/link?token=z", "")
	if status != http.StatusTooManyRequests || h.Get("Retry-After") != "6" || !strings.Contains(body, "Too many sign-in requests") {
		t.Errorf("11th = %d %q %s", status, h.Get("Retry-After"), body)
	}
	status, h, body = get("/api/auth/link?token=z", "application/json")
	if status != http.StatusTooManyRequests || h.Get("Content-Type") != "application/json" || !strings.Contains(body, `"TOO_MANY_REQUESTS"`) {
		t.Errorf("12th, as JSON = %d %s", status, body)
	}
	// The dashboard's pages and tRPC are not part of the budget.
	if status, _, _ := get("/dashboard/signin", ""); status != 200 {
		t.Errorf("sign-in page after the limit = %d", status)
	}
}

// TestSignInRateLimitRefills: another client has its own budget; a client's
// budget comes back with time (the dashboard's clock).
func TestSignInRateLimitRefills(t *testing.T) {
	t.Parallel()
	env := newAuthEnv(t, authOptions{})
	b, other := env.browser(), env.browser()
	for range 10 {
		b.get("/api/auth/link?token=x")
	}
	if a := b.get("/api/auth/link?token=x"); a.status != http.StatusTooManyRequests {
		t.Fatalf("11th = %d", a.status)
	}
	if a := other.get("/api/auth/link?token=x"); a.status != http.StatusNotFound {
		t.Errorf("another client = %d", a.status)
	}
	env.clock.Add(time.Minute)
	for i := range 10 {
		if a := b.get("/api/auth/link?token=x"); a.status != http.StatusNotFound {
			t.Fatalf("a minute later, request %d = %d", i+1, a.status)
		}
	}
}

// TestSessionExpiry: a session ends 8 hours after sign-in however busy
// (SEC-18), and after 2 hours unused.
func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	bothDBs(t, func(t *testing.T, pg bool) {
		env := newAuthEnv(t, authOptions{Postgres: pg})
		busy := env.signedIn("ada@example.com", pay.RoleAdmin)
		idle := env.signedIn("ada@example.com", "")
		for range 7 {
			env.clock.Add(time.Hour)
			if _, _, _, code := busy.me(); code != "" {
				t.Fatalf("busy session at %v: %s", env.clock.Now(), code)
			}
		}
		// The idle one ended after 2 hours.
		if _, _, _, code := idle.me(); code != "UNAUTHORIZED" {
			t.Errorf("idle session after 7 h = %q", code)
		}
		env.clock.Add(time.Hour - time.Second)
		if _, _, _, code := busy.me(); code != "" {
			t.Errorf("busy session at 8h-1s: %s", code)
		}
		env.clock.Add(time.Second)
		if _, _, _, code := busy.me(); code != "UNAUTHORIZED" {
			t.Errorf("busy session at 8 h = %q", code)
		}
		// A page sends the signed-out to sign in, back where they were.
		a := busy.get("/dashboard/payments?status=failed")
		if a.status != http.StatusSeeOther || a.location() != "/dashboard/signin?next=%2Fdashboard%2Fpayments%3Fstatus%3Dfailed" {
			t.Errorf("expired page = %d %q", a.status, a.location())
		}
		// The pruner removes them.
		ctx := context.Background()
		if err := env.srv.DB.Tx(ctx, func(tx *store.Tx) error { return tx.DeleteExpiredStaffSessions(ctx, env.clock.Now().Unix()) }); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSignOut: sign-out ends this browser's session; sign-out everywhere
// every browser's; an admin may end a member's sessions; a tampered cookie
// is just signed out.
func TestSignOut(t *testing.T) {
	t.Parallel()
	bothDBs(t, func(t *testing.T, pg bool) {
		env := newAuthEnv(t, authOptions{Postgres: pg})
		laptop := env.signedIn("ada@example.com", pay.RoleAdmin)
		phone := env.signedIn("ada@example.com", "")

		a := laptop.post("/api/auth/signout")
		if c := a.setCookie("calmony_session"); a.status != http.StatusSeeOther || a.location() != "/dashboard/signin" || c == nil || c.MaxAge >= 0 {
			t.Errorf("sign-out = %d %q %q", a.status, a.location(), a.setCookieLine("calmony_session"))
		}
		if _, _, _, code := laptop.me(); code != "UNAUTHORIZED" {
			t.Errorf("after sign-out: %q", code)
		}
		if _, _, _, code := phone.me(); code != "" {
			t.Errorf("the other browser after sign-out: %q", code)
		}
		// A cross-site post cannot sign anyone out.
		if a := phone.do(http.MethodPost, "/api/auth/signout", nil, "Sec-Fetch-Site", "cross-site"); a.status != http.StatusForbidden {
			t.Errorf("cross-site sign-out = %d", a.status)
		}
		// Everywhere.
		laptop = env.signedIn("ada@example.com", "")
		if a := phone.post("/api/auth/signout-everywhere"); a.status != http.StatusSeeOther {
			t.Errorf("sign-out everywhere = %d", a.status)
		}
		for name, b := range map[string]*browser{"laptop": laptop, "phone": phone} {
			if _, _, _, code := b.me(); code != "UNAUTHORIZED" {
				t.Errorf("%s after sign-out everywhere: %q", name, code)
			}
		}
		if e := env.audit("session.signed_out_everywhere"); len(e) != 1 || e[0].Detail["sessions"] != "2" {
			t.Errorf("audit = %v", e)
		}

		// Through tRPC.
		ada := env.signedIn("ada@example.com", "")
		if e := ada.mutate("session.signOut", nil); e.code() != "" {
			t.Errorf("session.signOut = %+v", e.Error)
		}
		if _, _, _, code := ada.me(); code != "UNAUTHORIZED" {
			t.Errorf("after session.signOut: %q", code)
		}
		ada, ada2 := env.signedIn("ada@example.com", ""), env.signedIn("ada@example.com", "")
		var out struct{ Sessions int }
		ada.mutate("session.signOutEverywhere", struct{}{}).data(t, &out)
		if _, _, _, code := ada2.me(); code != "UNAUTHORIZED" || out.Sessions != 2 {
			t.Errorf("session.signOutEverywhere: %d sessions, other browser %q", out.Sessions, code)
		}

		// An admin ends a member's sessions; a viewer may not; a user of
		// another project is not found.
		ada = env.signedIn("ada@example.com", "")
		bob := env.signedIn("bob@example.com", pay.RoleViewer)
		bobUser := addMemberTo(t, env.srv.DB, env.srv.Project, "bob@example.com", pay.RoleViewer)
		adaUser := addMemberTo(t, env.srv.DB, env.srv.Project, "ada@example.com", pay.RoleAdmin)
		if e := bob.mutate("members.signOutEverywhere", map[string]string{"userId": adaUser.ID}); e.code() != "FORBIDDEN" {
			t.Errorf("a viewer's members.signOutEverywhere = %q", e.code())
		}
		other := storetest.Project(t, env.srv.DB).ProjectID
		stranger := addMemberTo(t, env.srv.DB, other, "eve@other.example", pay.RoleAdmin)
		if e := ada.mutate("members.signOutEverywhere", map[string]string{"userId": stranger.ID}); e.code() != "NOT_FOUND" {
			t.Errorf("another project's user = %q", e.code())
		}
		for _, in := range []any{map[string]string{}, map[string]any{"userId": 5}, map[string]string{"userId": "u", "x": "y"}} {
			if e := ada.mutate("members.signOutEverywhere", in); e.code() != "BAD_REQUEST" || e.Error.Data.Field == "" {
				t.Errorf("members.signOutEverywhere(%v) = %+v", in, e.Error)
			}
		}
		if e := ada.mutate("members.signOutEverywhere", map[string]string{"userId": bobUser.ID}); e.code() != "" {
			t.Errorf("members.signOutEverywhere = %+v", e.Error)
		}
		if _, _, _, code := bob.me(); code != "UNAUTHORIZED" {
			t.Errorf("Bob after an admin signed him out: %q", code)
		}
		if e := env.audit("member.signed_out_everywhere"); len(e) != 1 || e[0].Target != bobUser.ID || e[0].ActorEmail != "ada@example.com" {
			t.Errorf("audit = %v", e)
		}

		// A tampered cookie: signed out, no error.
		b := env.signedIn("ada@example.com", "")
		u := mustParse(t, env.URL)
		for _, c := range b.jar.Cookies(u) {
			if c.Name == "calmony_session" {
				tampered := []byte(c.Value)
				tampered[5] ^= 1
				c.Value = string(tampered)
				b.jar.SetCookies(u, []*http.Cookie{c})
			}
		}
		a = b.get("/dashboard/")
		if c := a.setCookie("calmony_session"); a.status != http.StatusSeeOther || !strings.HasPrefix(a.location(), "/dashboard/signin") || c == nil || c.MaxAge >= 0 {
			t.Errorf("tampered cookie = %d %q %q", a.status, a.location(), a.setCookieLine("calmony_session"))
		}
		if _, _, _, code := b.me(); code != "UNAUTHORIZED" {
			t.Errorf("tampered cookie on tRPC = %q", code)
		}
	})
}

// TestSecureCookies: on an https public URL the session and flow cookies
// take the __Host- prefix and Secure.
func TestSecureCookies(t *testing.T) {
	t.Parallel()
	env := newAuthEnv(t, authOptions{PublicURL: "https://pay.example.test", OIDC: true})
	a := env.browser().get(env.link("ada@example.com", pay.RoleAdmin))
	line := a.setCookieLine("__Host-calmony_session")
	for _, want := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Lax", "Max-Age=28800"} {
		if !strings.Contains(line, want) {
			t.Errorf("session cookie %q lacks %s", line, want)
		}
	}
	if strings.Contains(strings.ToLower(line), "domain=") || a.setCookie("calmony_session") != nil {
		t.Errorf("session cookie %q", line)
	}
	start := env.browser().get("/api/auth/oidc/start")
	line = start.setCookieLine("__Host-calmony_signin")
	for _, want := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Lax", "Max-Age=600"} {
		if !strings.Contains(line, want) {
			t.Errorf("flow cookie %q lacks %s", line, want)
		}
	}
	if !strings.Contains(start.location(), "redirect_uri=https%3A%2F%2Fpay.example.test%2Fapi%2Fauth%2Foidc%2Fcallback") {
		t.Errorf("redirect URL in %s", start.location())
	}
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
