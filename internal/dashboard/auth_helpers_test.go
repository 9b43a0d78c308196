package dashboard_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/dashboard"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// testClock is a clock tests move.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// authEnv is a dashboard of its own over a test server's database, with
// OIDC against an in-process mockoidc when asked, a clock the test moves,
// and every client address trusted from X-Forwarded-For (so each browser
// of a test has its own sign-in budget).
type authEnv struct {
	t     *testing.T
	srv   *apitest.Server
	dash  *dashboard.Server
	URL   string
	clock *testClock
	idp   *mockoidc.MockOIDC
	// tamper, if set, rewrites the claims of the next ID token the
	// provider answers with (then is cleared).
	tamper atomic.Pointer[func(jwt.MapClaims)]
	ips    atomic.Int32
	logs   *logBuffer
}

// logBuffer keeps a dashboard's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type authOptions struct {
	Postgres bool
	OIDC     bool
	// PublicURL overrides the dashboard's public URL (to test https
	// cookies); the server is still reached over http.
	PublicURL string
	// Webhooks runs the webhook worker (test-mode endpoints may be local).
	Webhooks bool
}

func newAuthEnv(t *testing.T, o authOptions) *authEnv {
	t.Helper()
	env := &authEnv{t: t, clock: &testClock{t: time.Now()}, logs: &logBuffer{}}
	env.srv = apitest.Start(t, apitest.Options{Postgres: o.Postgres, Now: env.clock.Now, Webhooks: o.Webhooks, AllowPrivateWebhookURLs: o.Webhooks})
	ts := httptest.NewUnstartedServer(nil)
	env.URL = "http://" + ts.Listener.Addr().String()
	cfg := dashboard.Config{DB: env.srv.DB, Payments: env.srv.Payments, Billing: env.srv.Billing, PublicURL: env.URL, Now: env.clock.Now,
		Logger: slog.New(slog.NewTextHandler(env.logs, nil)), TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	if o.PublicURL != "" {
		cfg.PublicURL = o.PublicURL
	}
	if o.OIDC {
		m, err := mockoidc.Run()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Shutdown() })
		m.CodeChallengeMethodsSupported = []string{"S256"} // no plain
		env.idp = m
		c := m.Config()
		cfg.OIDC = &dashboard.OIDCConfig{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret, Name: "Mock IdP",
			HTTPClient: &http.Client{Transport: &tamperer{env: env}, Timeout: 10 * time.Second}}
	}
	dash, err := dashboard.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	env.dash = dash
	mux := http.NewServeMux()
	for pattern, h := range dash.Routes() {
		mux.Handle(pattern, h)
	}
	mux.Handle("/api/trpc/", dash.TRPC())
	ts.Config.Handler = mux
	ts.Start()
	t.Cleanup(ts.Close)
	return env
}

// tamperer rewrites the ID token of the provider's token answer when the
// test asked for it, signing it again with the provider's key.
type tamperer struct{ env *authEnv }

func (tt *tamperer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	fn := tt.env.tamper.Swap(nil)
	if err != nil || fn == nil || !strings.HasSuffix(r.URL.Path, mockoidc.TokenEndpoint) {
		if fn != nil && err == nil {
			tt.env.tamper.Store(fn) // not the token answer: keep it for that
		}
		return resp, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var answer map[string]any
	if err := json.Unmarshal(body, &answer); err != nil {
		return nil, err
	}
	raw, _ := answer["id_token"].(string)
	parts := strings.Split(raw, ".")
	if len(parts) != 3 { // a refusal (x/oauth2 tries the client's credentials two ways)
		tt.env.tamper.Store(fn)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var claims jwt.MapClaims
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, err
	}
	(*fn)(claims)
	if answer["id_token"], err = tt.env.idp.Keypair.SignJWT(claims); err != nil {
		return nil, err
	}
	body, _ = json.Marshal(answer)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// tamperNext rewrites the next ID token's claims.
func (env *authEnv) tamperNext(fn func(jwt.MapClaims)) { env.tamper.Store(&fn) }

// browser is one browser: its own cookies and client address.
type browser struct {
	env *authEnv
	jar *cookiejar.Jar
	hc  *http.Client
	ip  string
}

func (env *authEnv) browser() *browser {
	jar, _ := cookiejar.New(nil)
	n := env.ips.Add(1)
	return &browser{env: env, jar: jar, ip: fmt.Sprintf("198.51.100.%d", n),
		hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// answer is a response read whole.
type answer struct {
	status int
	header http.Header
	body   string
}

func (a answer) location() string { return a.header.Get("Location") }

// setCookie returns the Set-Cookie of the named cookie, or nil.
func (a answer) setCookie(name string) *http.Cookie {
	for _, line := range a.header.Values("Set-Cookie") {
		if c, err := http.ParseSetCookie(line); err == nil && c.Name == name {
			return c
		}
	}
	return nil
}

func (a answer) setCookieLine(name string) string {
	for _, line := range a.header.Values("Set-Cookie") {
		if strings.HasPrefix(line, name+"=") {
			return line
		}
	}
	return ""
}

func (b *browser) do(method, u string, body io.Reader, header ...string) answer {
	b.env.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = b.env.URL + u
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		b.env.t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-For", b.ip)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		b.env.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(raw)}
}

func (b *browser) get(u string) answer { return b.do(http.MethodGet, u, nil) }

func (b *browser) post(u string) answer {
	return b.do(http.MethodPost, u, strings.NewReader(""), "Content-Type", "application/x-www-form-urlencoded")
}

// me is session.get through tRPC: the signed-in address, or the error code.
func (b *browser) me() (email, role, project string, code string) {
	b.env.t.Helper()
	a := b.get("/api/trpc/session.get")
	var e envelope
	if err := json.Unmarshal([]byte(a.body), &e); err != nil {
		b.env.t.Fatalf("session.get: %v: %s", err, a.body)
	}
	if e.Error != nil {
		return "", "", "", e.code()
	}
	var v struct {
		User    struct{ Email string }
		Role    string
		Project string
	}
	e.data(b.env.t, &v)
	return v.User.Email, v.Role, v.Project, ""
}

// mutate calls a tRPC mutation.
func (b *browser) mutate(path string, input any) envelope {
	b.env.t.Helper()
	raw, _ := json.Marshal(input)
	a := b.do(http.MethodPost, "/api/trpc/"+path, bytes.NewReader(raw), "Content-Type", "application/json")
	return decodeEnvelope(b.env.t, []byte(a.body))
}

// oidcStart starts an OIDC sign-in and returns the provider's
// authorisation URL it redirects to.
func (b *browser) oidcStart(next string) *url.URL {
	b.env.t.Helper()
	a := b.get("/api/auth/oidc/start?next=" + url.QueryEscape(next))
	if a.status != http.StatusFound {
		b.env.t.Fatalf("oidc start = %d %s", a.status, a.body)
	}
	u, err := url.Parse(a.location())
	if err != nil {
		b.env.t.Fatal(err)
	}
	return u
}

// authorize has the provider sign user in (nil: the default user) and
// returns our callback URL it sends the browser to.
func (b *browser) authorize(auth *url.URL, user *mockoidc.MockUser) *url.URL {
	b.env.t.Helper()
	if user != nil {
		b.env.idp.QueueUser(user)
	}
	a := b.get(auth.String())
	if a.status != http.StatusFound {
		b.env.t.Fatalf("provider authorize = %d %s", a.status, a.body)
	}
	u, err := url.Parse(a.location())
	if err != nil {
		b.env.t.Fatal(err)
	}
	return u
}

// oidcSignIn runs a whole OIDC sign-in and returns the callback's answer.
func (b *browser) oidcSignIn(user *mockoidc.MockUser, next string) answer {
	b.env.t.Helper()
	return b.get(b.authorize(b.oidcStart(next), user).String())
}

// addMember makes email a member of the test project with role.
func (env *authEnv) addMember(email string, role pay.Role) *pay.User {
	env.t.Helper()
	return addMemberTo(env.t, env.srv.DB, env.srv.Project, email, role)
}

func addMemberTo(t *testing.T, db *store.DB, project, email string, role pay.Role) *pay.User {
	t.Helper()
	ctx := context.Background()
	var u *pay.User
	err := db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		if u, err = tx.EnsureUser(ctx, email, ""); err != nil {
			return err
		}
		return tx.SetMember(ctx, project, u.ID, role)
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// token records a single-use link (purpose link or invite) for email in
// the test project, expiring after ttl (negative: expired), and returns
// its token.
func (env *authEnv) token(purpose, email string, role pay.Role, ttl time.Duration) string {
	env.t.Helper()
	return addToken(env.t, env.srv.DB, env.srv.Project, purpose, email, role, env.clock.Now().Add(ttl))
}

func addToken(t *testing.T, db *store.DB, project, purpose, email string, role pay.Role, expires time.Time) string {
	t.Helper()
	token := pay.RandomString(32)
	ctx := context.Background()
	err := db.Tx(ctx, func(tx *store.Tx) error {
		return tx.CreateSignInToken(ctx, &pay.SignInToken{TokenHash: pay.HashKey(token), Purpose: purpose, Email: email,
			ProjectID: project, Role: role, ExpiresAt: expires.Unix()})
	})
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// audit returns the test project's audit lines with an action, oldest
// first.
func (env *authEnv) audit(action string) []*pay.AuditEntry {
	env.t.Helper()
	return auditOf(env.t, env.srv.DB, env.srv.Project, action)
}

func auditOf(t *testing.T, db *store.DB, project, action string) []*pay.AuditEntry {
	t.Helper()
	l, err := db.FindAudit(context.Background(), project, pay.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []*pay.AuditEntry
	for i := len(l.Data) - 1; i >= 0; i-- {
		if l.Data[i].Action == action {
			out = append(out, l.Data[i])
		}
	}
	return out
}

// bothDBs runs a test on SQLite and on PostgreSQL (skipped without
// CALMONY_TEST_POSTGRES_URL).
func bothDBs(t *testing.T, fn func(t *testing.T, postgres bool)) {
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, pg)
		})
	}
}
