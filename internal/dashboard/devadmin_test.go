package dashboard_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/dashboard"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// eachDB runs fn on a server with opts on SQLite and on PostgreSQL (skipped
// without CALMONY_TEST_POSTGRES_URL).
func eachDB(t *testing.T, opts apitest.Options, fn func(t *testing.T, srv *apitest.Server)) {
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); fn(t, apitest.Start(t, opts)) })
	pg := opts
	pg.Postgres = true
	t.Run("postgres", func(t *testing.T) { t.Parallel(); fn(t, apitest.Start(t, pg)) })
}

// clock is a test clock that moves only when told.
type clock struct{ unix atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.unix.Store(time.Now().Unix())
	return c
}

func (c *clock) now() time.Time           { return time.Unix(c.unix.Load(), 0) }
func (c *clock) advance(d time.Duration)  { c.unix.Add(int64(d / time.Second)) }
func (c *clock) opts() apitest.Options    { return apitest.Options{Now: c.now} }
func mustJSON(t *testing.T, v any) string { t.Helper(); b, _ := json.Marshal(v); return string(b) }
func keyAuthenticates(t *testing.T, srv *apitest.Server, key string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/customers?limit=1", nil)
	req.SetBasicAuth(key, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// v1 makes a /v1 request with a key and returns the status and the object.
func v1(t *testing.T, srv *apitest.Server, key, method, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(key, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: %v: %s", method, path, err, b)
	}
	return resp.StatusCode, out
}

// signInTo starts a session of email in another project with role.
func signInTo(t *testing.T, srv *apitest.Server, project, email string, role pay.Role) *client {
	t.Helper()
	ctx := context.Background()
	token := pay.RandomString(32)
	now := srv.DB.Now()
	err := srv.DB.Tx(ctx, func(tx *store.Tx) error {
		u, err := tx.EnsureUser(ctx, email, "")
		if err != nil {
			return err
		}
		if err := tx.SetMember(ctx, project, u.ID, role); err != nil {
			return err
		}
		return tx.CreateStaffSession(ctx, &pay.StaffSession{TokenHash: pay.HashKey(token), UserID: u.ID, ProjectID: project,
			ExpiresAt: now.Add(dashboard.DefaultSessionLifetime).Unix(), IdleUntil: now.Add(dashboard.DefaultIdleTimeout).Unix()})
	})
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, srv: srv, cookie: token}
}

// ok calls a procedure (a mutation when input is not nil and mutate is
// set) and decodes its data, failing the test on an error.
func (c *client) ok(mutate bool, path string, input, out any) {
	c.t.Helper()
	var e envelope
	if mutate {
		_, e = c.mutate(path, input)
	} else {
		_, e = c.query(path, input)
	}
	if e.Error != nil {
		c.t.Fatalf("%s %s: %s %s (field %q)", path, mustJSON(c.t, input), e.Error.Data.Code, e.Error.Message, e.Error.Data.Field)
	}
	if out != nil {
		e.data(c.t, out)
	}
}

// refused checks that a call fails with code (and field, if given).
func (c *client) refused(mutate bool, path string, input any, code, field string) {
	c.t.Helper()
	var e envelope
	if mutate {
		_, e = c.mutate(path, input)
	} else {
		_, e = c.query(path, input)
	}
	if e.code() != code || (field != "" && e.Error.Data.Field != field) {
		got := "success"
		if e.Error != nil {
			got = e.Error.Data.Code + " " + e.Error.Message + " (field " + e.Error.Data.Field + ")"
		}
		c.t.Errorf("%s %s = %s; want %s (field %q)", path, mustJSON(c.t, input), got, code, field)
	}
}

type keyOut struct {
	ID, Hint, Status string
	Livemode         bool
	ExpiresAt        int64 `json:"expiresAt"`
}

type secretOut struct {
	Key    keyOut
	Secret string
	Old    *keyOut
}

type auditOut struct {
	Data []struct {
		Action, Target, ActorEmail string
		Detail                     map[string]string
	}
	HasMore bool
}

func TestKeysThroughTheDashboard(t *testing.T) {
	t.Parallel()
	clk := newClock()
	eachDB(t, clk.opts(), func(t *testing.T, srv *apitest.Server) {
		dev := signIn(t, srv, "dev@example.com", pay.RoleDeveloper)
		var created secretOut
		dev.ok(true, "keys.create", map[string]any{}, &created)
		if !strings.HasPrefix(created.Secret, pay.SecretKeyTestPrefix) || created.Key.Livemode || created.Key.Status != "active" ||
			created.Key.Hint != pay.SecretKeyTestPrefix+"…"+created.Secret[len(created.Secret)-4:] {
			t.Fatalf("keys.create = %+v", created)
		}
		if got := keyAuthenticates(t, srv, created.Secret); got != 200 {
			t.Fatalf("the created key answers %d on /v1", got)
		}
		// The list shows hints, never a secret.
		_, e := dev.query("keys.list", nil)
		if e.Result == nil || strings.Contains(string(e.Result.Data), created.Secret) || !strings.Contains(string(e.Result.Data), created.Key.ID) {
			t.Fatalf("keys.list = %s", e.Result.Data)
		}
		// Rolled with an hour's grace: both work, then only the new one.
		var rolled secretOut
		dev.ok(true, "keys.roll", map[string]any{"id": created.Key.ID, "expiresInHours": 1}, &rolled)
		if rolled.Old == nil || rolled.Old.ID != created.Key.ID || rolled.Old.Status != "expiring" || rolled.Old.ExpiresAt != clk.now().Add(time.Hour).Unix() ||
			rolled.Secret == created.Secret || rolled.Key.ID == created.Key.ID {
			t.Fatalf("keys.roll = %+v", rolled)
		}
		if a, b := keyAuthenticates(t, srv, created.Secret), keyAuthenticates(t, srv, rolled.Secret); a != 200 || b != 200 {
			t.Fatalf("during the grace: old %d, new %d; want both 200", a, b)
		}
		clk.advance(61 * time.Minute)
		if a, b := keyAuthenticates(t, srv, created.Secret), keyAuthenticates(t, srv, rolled.Secret); a != 401 || b != 200 {
			t.Fatalf("after the grace: old %d, new %d; want 401, 200", a, b)
		}
		// An expired key cannot be rolled again.
		dev.refused(true, "keys.roll", map[string]any{"id": created.Key.ID}, "NOT_FOUND", "")
		// Revoked: fails at once (within the API's one-second key cache).
		var revoked keyOut
		dev.ok(true, "keys.revoke", map[string]any{"id": rolled.Key.ID}, &revoked)
		if revoked.Status != "revoked" {
			t.Errorf("keys.revoke = %+v", revoked)
		}
		clk.advance(time.Second)
		if got := keyAuthenticates(t, srv, rolled.Secret); got != 401 {
			t.Errorf("the revoked key answers %d; want 401", got)
		}
		dev.refused(true, "keys.revoke", map[string]any{"id": rolled.Key.ID}, "NOT_FOUND", "")

		// A live key, on its input (the session stays in test mode).
		var live secretOut
		dev.ok(true, "keys.create", map[string]any{"livemode": true}, &live)
		if !strings.HasPrefix(live.Secret, pay.SecretKeyLivePrefix) || !live.Key.Livemode {
			t.Errorf("live keys.create = %+v", live.Key)
		}

		// The audit log has each change, with hints and no secret.
		admin := signIn(t, srv, "admin@example.com", pay.RoleAdmin)
		var log auditOut
		admin.ok(false, "audit.list", map[string]any{"action": "api_key."}, &log)
		var actions []string
		for _, l := range log.Data {
			actions = append(actions, l.Action+" "+l.Target+" "+l.ActorEmail)
		}
		want := []string{"api_key.created " + live.Key.ID + " dev@example.com", "api_key.revoked " + rolled.Key.ID + " dev@example.com",
			"api_key.rolled " + created.Key.ID + " dev@example.com", "api_key.created " + created.Key.ID + " dev@example.com"}
		if strings.Join(actions, "|") != strings.Join(want, "|") {
			t.Errorf("audit = %q; want %q", actions, want)
		}
		_, e = admin.query("audit.list", nil)
		for _, s := range []string{created.Secret, rolled.Secret, live.Secret} {
			if strings.Contains(string(e.Result.Data), s) || strings.Contains(string(e.Result.Data), s[8:]) {
				t.Errorf("the audit log shows a secret: %s", e.Result.Data)
			}
		}
	})
}

func TestLiveKeyRefusedWithSignatureBypass(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{SkipCallbackSignature: true})
	dev := signIn(t, srv, "dev@example.com", pay.RoleDeveloper)
	dev.refused(true, "keys.create", map[string]any{"livemode": true}, "BAD_REQUEST", "livemode")
	dev.ok(true, "keys.create", map[string]any{"livemode": false}, nil)
}

// mutations are every mutation of the developers' and admins' procedures,
// with inputs that would succeed for an admin.
func mutations(srv *apitest.Server, keyID, eventID, memberID, endpointID string) map[string]any {
	return map[string]any{
		"webhooks.create": map[string]any{"url": "https://hooks.example.com/y", "events": []string{"*"}},
		"webhooks.update": map[string]any{"id": endpointID, "disabled": true},
		"webhooks.delete": map[string]any{"id": endpointID},
		"keys.create":     map[string]any{},
		"keys.roll":       map[string]any{"id": keyID},
		"keys.revoke":     map[string]any{"id": keyID},
		"webhooks.retry":  map[string]any{"event": eventID},
		"settings.update": map[string]any{"currencies": []string{"eur"}},
		"members.invite":  map[string]any{"email": "new@example.com", "role": "viewer"},
		"members.setRole": map[string]any{"userId": memberID, "role": "viewer"},
		"members.remove":  map[string]any{"userId": memberID},
	}
}

// snapshot is what the mutations could change.
func snapshot(t *testing.T, srv *apitest.Server, admin *client) string {
	t.Helper()
	var out []string
	for _, p := range []string{"keys.list", "webhooks.list", "settings.get", "members.list", "audit.list"} {
		_, e := admin.query(p, nil)
		if e.Result == nil {
			t.Fatalf("%s: %+v", p, e.Error)
		}
		out = append(out, string(e.Result.Data))
	}
	ev, err := srv.DB.FindEvents(context.Background(), pay.Scope{ProjectID: srv.Project}, store.EventFilter{}, pay.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ev.Data {
		out = append(out, e.ID+" pending "+string(rune('0'+e.PendingWebhooks)))
	}
	return strings.Join(out, "\n")
}

func TestDevAdminRoles(t *testing.T) {
	t.Parallel()
	eachDB(t, apitest.Options{}, func(t *testing.T, srv *apitest.Server) {
		admin := signIn(t, srv, "admin@example.com", pay.RoleAdmin)
		dev := signIn(t, srv, "dev@example.com", pay.RoleDeveloper)
		viewer := signIn(t, srv, "viewer@example.com", pay.RoleViewer)
		var k secretOut
		admin.ok(true, "keys.create", map[string]any{}, &k)
		_, cus := v1(t, srv, srv.Key, "POST", "/v1/customers", url.Values{"email": {"c@example.com"}})
		_, ep := v1(t, srv, srv.Key, "POST", "/v1/webhook_endpoints", url.Values{"url": {"https://hooks.example.com/x"}, "enabled_events[]": {"*"}})
		if ep["id"] == nil {
			t.Fatalf("endpoint: %v", ep)
		}
		var events struct{ Data []struct{ ID, Type string } }
		admin.ok(false, "events.list", map[string]any{"type": "customer.created"}, &events)
		if len(events.Data) != 1 {
			t.Fatalf("events.list = %+v (customer %v)", events, cus["id"])
		}
		var team struct {
			Data []struct{ UserID, Email string }
		}
		admin.ok(false, "members.list", nil, &team)
		var devID string
		for _, m := range team.Data {
			if m.Email == "dev@example.com" {
				devID = m.UserID
			}
		}
		muts := mutations(srv, k.Key.ID, events.Data[0].ID, devID, ep["id"].(string))

		// A viewer may read everything of these pages but the audit log,
		// and change nothing.
		before := snapshot(t, srv, admin)
		for _, p := range []string{"keys.list", "webhooks.list", "events.list", "settings.get", "members.list"} {
			viewer.ok(false, p, nil, nil)
		}
		viewer.refused(false, "audit.list", nil, "FORBIDDEN", "")
		for p, in := range muts {
			viewer.refused(true, p, in, "FORBIDDEN", "")
		}
		// A developer may not change settings or the team.
		for _, p := range []string{"settings.update", "members.invite", "members.setRole", "members.remove"} {
			dev.refused(true, p, muts[p], "FORBIDDEN", "")
		}
		if after := snapshot(t, srv, admin); after != before {
			t.Errorf("refused calls changed something:\nbefore %s\nafter  %s", before, after)
		}
		// What a developer may do.
		dev.ok(false, "audit.list", nil, nil)
		dev.ok(true, "webhooks.retry", muts["webhooks.retry"], nil)
		dev.ok(true, "keys.roll", muts["keys.roll"], nil)
		dev.ok(true, "keys.revoke", muts["keys.revoke"], nil)
		dev.ok(true, "webhooks.create", muts["webhooks.create"], nil)
		dev.ok(true, "webhooks.update", muts["webhooks.update"], nil)
		dev.ok(true, "webhooks.delete", muts["webhooks.delete"], nil)
		// And an admin everything.
		for _, p := range []string{"settings.update", "members.invite", "members.setRole", "members.remove"} {
			admin.ok(true, p, muts[p], nil)
		}
	})
}

func TestDevAdminScoping(t *testing.T) {
	t.Parallel()
	eachDB(t, apitest.Options{}, func(t *testing.T, srv *apitest.Server) {
		admin := signIn(t, srv, "admin@example.com", pay.RoleAdmin)
		// Another project's key, endpoint, event and member.
		otherProject, otherKey := apitest.NewProject(t, srv.DB)
		other := signInTo(t, srv, otherProject, "other@example.com", pay.RoleAdmin)
		signInTo(t, srv, otherProject, "otherdev@example.com", pay.RoleDeveloper)
		var k secretOut
		other.ok(true, "keys.create", map[string]any{}, &k)
		_, ep := v1(t, srv, otherKey, "POST", "/v1/webhook_endpoints", url.Values{"url": {"https://hooks.example.com/x"}, "enabled_events[]": {"*"}})
		v1(t, srv, otherKey, "POST", "/v1/customers", url.Values{"email": {"c@example.com"}})
		var events struct{ Data []struct{ ID string } }
		other.ok(false, "events.list", nil, &events)
		var team struct {
			Data []struct{ UserID, Email string }
		}
		other.ok(false, "members.list", nil, &team)
		if len(events.Data) == 0 || len(team.Data) != 2 || ep["id"] == nil {
			t.Fatalf("other project: events %+v team %+v endpoint %v", events, team, ep)
		}
		endpoint, event := ep["id"].(string), events.Data[0].ID
		otherDev := team.Data[1].UserID

		admin.refused(true, "keys.roll", map[string]any{"id": k.Key.ID}, "NOT_FOUND", "")
		admin.refused(true, "keys.revoke", map[string]any{"id": k.Key.ID}, "NOT_FOUND", "")
		admin.refused(false, "webhooks.deliveries", map[string]any{"endpoint": endpoint}, "NOT_FOUND", "")
		admin.refused(true, "webhooks.retry", map[string]any{"event": event}, "NOT_FOUND", "")
		admin.refused(true, "webhooks.retry", map[string]any{"event": event, "endpoint": endpoint}, "NOT_FOUND", "")
		admin.refused(false, "events.get", map[string]any{"id": event}, "NOT_FOUND", "")
		admin.refused(true, "members.setRole", map[string]any{"userId": otherDev, "role": "admin"}, "NOT_FOUND", "")
		admin.refused(true, "members.remove", map[string]any{"userId": otherDev}, "NOT_FOUND", "")
		for p, field := range map[string]string{"keys.list": "", "webhooks.list": "", "events.list": "", "members.list": ""} {
			_, e := admin.query(p, nil)
			for _, id := range []string{k.Key.ID, endpoint, event, otherDev} {
				if e.Result == nil || strings.Contains(string(e.Result.Data), id) {
					t.Errorf("%s shows another project's %s%s: %s", p, id, field, e.Result.Data)
				}
			}
		}
		// Still there, untouched.
		if got := keyAuthenticates(t, srv, k.Secret); got != 200 {
			t.Errorf("the other project's key answers %d", got)
		}
		other.ok(false, "events.get", map[string]any{"id": event}, nil)

		// The other mode's events are not found either.
		_, cus := v1(t, srv, srv.Key, "POST", "/v1/customers", url.Values{"email": {"d@example.com"}})
		var mine struct {
			Data []struct{ ID, ObjectID string }
		}
		admin.ok(false, "events.list", map[string]any{"type": "customer.*"}, &mine)
		if len(mine.Data) != 1 || mine.Data[0].ObjectID != cus["id"] {
			t.Fatalf("events.list customer.* = %+v", mine)
		}
		admin.ok(true, "session.switch", map[string]any{"livemode": true}, nil)
		admin.refused(false, "events.get", map[string]any{"id": mine.Data[0].ID}, "NOT_FOUND", "")
	})
}

func TestWebhookRetryReachesTheReceiver(t *testing.T) {
	t.Parallel()
	eachDB(t, apitest.Options{Webhooks: true, AllowPrivateWebhookURLs: true}, func(t *testing.T, srv *apitest.Server) {
		var (
			mu       sync.Mutex
			received []string // event IDs, in order
		)
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var e struct{ ID string }
			json.NewDecoder(r.Body).Decode(&e)
			if r.Header.Get("Stripe-Signature") == "" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			mu.Lock()
			received = append(received, e.ID)
			mu.Unlock()
		}))
		t.Cleanup(recv.Close)
		countOf := func(id string) int {
			mu.Lock()
			defer mu.Unlock()
			n := 0
			for _, r := range received {
				if r == id {
					n++
				}
			}
			return n
		}
		waitFor := func(what string, cond func() bool) {
			t.Helper()
			for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("timed out waiting for %s", what)
				}
			}
		}
		_, ep := v1(t, srv, srv.Key, "POST", "/v1/webhook_endpoints", url.Values{"url": {recv.URL + "/hook"}, "enabled_events[]": {"customer.created"}})
		endpoint, _ := ep["id"].(string)
		if endpoint == "" {
			t.Fatalf("endpoint: %v", ep)
		}
		v1(t, srv, srv.Key, "POST", "/v1/customers", url.Values{"email": {"c@example.com"}})
		dev := signIn(t, srv, "dev@example.com", pay.RoleDeveloper)
		var events struct{ Data []struct{ ID string } }
		dev.ok(false, "events.list", map[string]any{"type": "customer.created"}, &events)
		if len(events.Data) != 1 {
			t.Fatalf("events = %+v", events)
		}
		event := events.Data[0].ID
		waitFor("the first delivery", func() bool { return countOf(event) == 1 })

		type attempts struct {
			Data []struct {
				Event, EventType string
				StatusCode       int `json:"statusCode"`
				Succeeded        bool
			}
		}
		var before attempts
		waitFor("the first attempt's record", func() bool {
			dev.ok(false, "webhooks.deliveries", map[string]any{"endpoint": endpoint}, &before)
			return len(before.Data) == 1
		})
		if a := before.Data[0]; a.Event != event || a.EventType != "customer.created" || a.StatusCode != 200 || !a.Succeeded {
			t.Errorf("webhooks.deliveries = %+v", before)
		}
		var lists struct {
			Data []struct{ ID, URL, Status string }
		}
		dev.ok(false, "webhooks.list", nil, &lists)
		if len(lists.Data) != 1 || lists.Data[0].ID != endpoint || lists.Data[0].URL != recv.URL+"/hook" || lists.Data[0].Status != "enabled" {
			t.Errorf("webhooks.list = %+v", lists)
		}
		_, e := dev.query("webhooks.list", nil)
		if strings.Contains(string(e.Result.Data), "whsec_") {
			t.Errorf("webhooks.list shows a signing secret: %s", e.Result.Data)
		}

		dev.ok(true, "webhooks.retry", map[string]any{"event": event, "endpoint": endpoint}, nil)
		waitFor("the retried delivery", func() bool { return countOf(event) == 2 })
		var all attempts
		waitFor("the retried attempt's record", func() bool {
			dev.ok(false, "webhooks.deliveries", map[string]any{"endpoint": endpoint}, &all)
			return len(all.Data) == 2
		})
		// Paged: the newest first, then the one before.
		var page1, page2 struct {
			Data    []struct{ ID string }
			HasMore bool
		}
		dev.ok(false, "webhooks.deliveries", map[string]any{"endpoint": endpoint, "limit": 1}, &page1)
		if len(page1.Data) != 1 || !page1.HasMore {
			t.Fatalf("page 1 = %+v", page1)
		}
		dev.ok(false, "webhooks.deliveries", map[string]any{"endpoint": endpoint, "limit": 1, "startingAfter": page1.Data[0].ID}, &page2)
		if len(page2.Data) != 1 || page2.HasMore || page2.Data[0].ID == page1.Data[0].ID {
			t.Errorf("page 2 = %+v", page2)
		}

		// The retry is in the audit log; bad retries are refused clearly.
		admin := signIn(t, srv, "admin@example.com", pay.RoleAdmin)
		var log auditOut
		admin.ok(false, "audit.list", map[string]any{"action": "event.retried"}, &log)
		if len(log.Data) != 1 || log.Data[0].Target != event || log.Data[0].Detail["endpoint"] != endpoint {
			t.Errorf("audit = %+v", log)
		}
		dev.refused(true, "webhooks.retry", map[string]any{}, "BAD_REQUEST", "event")
		dev.refused(true, "webhooks.retry", map[string]any{"event": "evt_nope"}, "NOT_FOUND", "")
		dev.refused(true, "webhooks.retry", map[string]any{"event": event, "endpoint": "we_nope"}, "NOT_FOUND", "")
		v1(t, srv, srv.Key, "POST", "/v1/webhook_endpoints/"+endpoint, url.Values{"disabled": {"true"}})
		dev.refused(true, "webhooks.retry", map[string]any{"event": event, "endpoint": endpoint}, "BAD_REQUEST", "endpoint")

		// The event as /v1 renders it.
		var detail struct {
			ID    string
			Event struct {
				Object string
				Type   string
				Data   struct{ Object map[string]any }
			}
		}
		dev.ok(false, "events.get", map[string]any{"id": event}, &detail)
		if detail.ID != event || detail.Event.Object != "event" || detail.Event.Type != "customer.created" || detail.Event.Data.Object["email"] != "c@example.com" {
			t.Errorf("events.get = %+v", detail)
		}
	})
}

func TestSettingsThroughTheDashboard(t *testing.T) {
	t.Parallel()
	eachDB(t, apitest.Options{}, func(t *testing.T, srv *apitest.Server) {
		admin := signIn(t, srv, "admin@example.com", pay.RoleAdmin)
		type settings struct {
			Business struct {
				Name      string
				VATNumber string `json:"vatNumber"`
				Address   struct{ Line1, City, PostalCode, Country string }
			}
			Origins, Currencies, SignInDomains []string
			Dunning                            struct{ Retries, FinalAction, InvoiceAction string }
		}
		var before settings
		admin.ok(false, "settings.get", nil, &before)
		if len(before.Currencies) != 1 || before.Currencies[0] != "gbp" || before.Dunning.Retries != "1h,1d,3d" || len(before.Origins) != 0 {
			t.Fatalf("settings.get = %+v", before)
		}
		var got settings
		admin.ok(true, "settings.update", map[string]any{
			"business": map[string]any{"name": " Calmony Ltd ", "vatNumber": "gb 123 4567 89",
				"address": map[string]any{"line1": "1 High Street", "city": "London", "postalCode": "e1 6an"}},
			"addOrigins":    []string{"https://Shop.Example.com:443"},
			"currencies":    []string{"GBP", "eur", "gbp"},
			"dunning":       map[string]any{"retries": "2h,2d", "finalAction": "mark_unpaid"},
			"signInDomains": []string{"Example.COM"},
		}, &got)
		b := got.Business
		if b.Name != "Calmony Ltd" || b.VATNumber != "GB123456789" || b.Address.Country != "GB" || b.Address.PostalCode != "E1 6AN" ||
			strings.Join(got.Origins, ",") != "https://shop.example.com" || strings.Join(got.Currencies, ",") != "gbp,eur" ||
			got.Dunning.Retries != "2h,2d" || got.Dunning.FinalAction != "mark_unpaid" || got.Dunning.InvoiceAction != "leave_open" ||
			strings.Join(got.SignInDomains, ",") != "example.com" {
			t.Fatalf("settings.update = %+v", got)
		}
		// The operations read them: invoices print the business, the
		// project may charge in euros (once the cache reloads).
		p, err := srv.DB.FindProject(context.Background(), srv.Project)
		if err != nil || p.Business.Name != "Calmony Ltd" || p.Dunning.FinalAction != "mark_unpaid" {
			t.Errorf("project = %+v, %v", p, err)
		}
		if ids, _ := srv.DB.FindProjectsBySignInDomain(context.Background(), "example.com"); len(ids) != 1 || ids[0] != srv.Project {
			t.Errorf("projects by sign-in domain = %v", ids)
		}

		// Each bad value is named; nothing of a refused update is kept.
		for _, tt := range []struct {
			in    map[string]any
			field string
		}{
			{map[string]any{"business": map[string]any{"name": "X", "vatNumber": "GB12"}}, "business.vatNumber"},
			{map[string]any{"business": map[string]any{"address": map[string]any{"line1": "1 Road"}}}, "business.name"},
			{map[string]any{"business": map[string]any{"name": "X", "address": map[string]any{"line1": "1 Road", "country": "GBR"}}}, "business.address.country"},
			{map[string]any{"business": map[string]any{"name": "X", "email": "not an email"}}, "business.email"},
			{map[string]any{"currencies": []string{"eur", "xxx"}, "business": map[string]any{"name": "Kept?"}}, "currencies"},
			{map[string]any{"currencies": []string{}}, "currencies"},
			{map[string]any{"addOrigins": []string{"https://ok.example.com", "https://shop.example.com/path"}}, "addOrigins[1]"},
			{map[string]any{"removeOrigins": []string{"https://never.example.com"}}, "removeOrigins[0]"},
			{map[string]any{"dunning": map[string]any{"retries": "1x"}}, "dunning.retries"},
			{map[string]any{"dunning": map[string]any{"finalAction": "explode"}}, "dunning.finalAction"},
			{map[string]any{"dunning": map[string]any{"invoiceAction": "explode"}}, "dunning.invoiceAction"},
			{map[string]any{"signInDomains": []string{"ada@example.com"}}, "signInDomains"},
			{map[string]any{"signInDomains": []string{"localhost"}}, "signInDomains"},
			{map[string]any{"currencies": "gbp"}, "currencies"},
			{map[string]any{"colour": "blue"}, "colour"},
		} {
			_, e := admin.mutate("settings.update", tt.in)
			if e.code() != "BAD_REQUEST" && e.code() != "NOT_FOUND" || e.Error.Data.Field != tt.field || e.Error.Message == "" {
				t.Errorf("settings.update %s = %+v; want the field %s named", mustJSON(t, tt.in), e.Error, tt.field)
			}
		}
		var still settings
		admin.ok(false, "settings.get", nil, &still)
		if mustJSON(t, still) != mustJSON(t, got) {
			t.Errorf("refused updates changed the settings:\n%+v\n%+v", still, got)
		}
		admin.refused(true, "settings.update", map[string]any{}, "BAD_REQUEST", "")

		// Emptying the business details removes them; the audit names the
		// fields changed.
		admin.ok(true, "settings.update", map[string]any{"business": map[string]any{}, "removeOrigins": []string{"https://shop.example.com"}}, &got)
		if got.Business.Name != "" || len(got.Origins) != 0 {
			t.Errorf("after clearing: %+v", got)
		}
		var log auditOut
		admin.ok(false, "audit.list", map[string]any{"action": "settings.updated"}, &log)
		if len(log.Data) != 2 || log.Data[0].Detail["fields"] != "business,origins" ||
			log.Data[1].Detail["fields"] != "business,origins,currencies,dunning,signInDomains" {
			t.Errorf("audit = %+v", log)
		}
	})
}

func TestTeamThroughTheDashboard(t *testing.T) {
	t.Parallel()
	eachDB(t, apitest.Options{}, func(t *testing.T, srv *apitest.Server) {
		ctx := context.Background()
		admin := signIn(t, srv, "admin@example.com", pay.RoleAdmin)
		var team struct {
			Data []struct {
				UserID, Email string
				Role          pay.Role
			}
			Invites []struct {
				Email     string
				Role      pay.Role
				ExpiresAt int64 `json:"expiresAt"`
			}
		}
		admin.ok(false, "members.list", nil, &team)
		if len(team.Data) != 1 || team.Data[0].Role != pay.RoleAdmin {
			t.Fatalf("members.list = %+v", team)
		}
		adminID := team.Data[0].UserID

		// The last admin can be neither demoted nor removed.
		admin.refused(true, "members.setRole", map[string]any{"userId": adminID, "role": "developer"}, "CONFLICT", "")
		admin.refused(true, "members.remove", map[string]any{"userId": adminID}, "CONFLICT", "")
		admin.ok(true, "members.setRole", map[string]any{"userId": adminID, "role": "admin"}, nil)

		// An invite: a pending invitation with its role, a link shown once.
		var inv struct {
			URL, Email string
			Role       pay.Role
		}
		admin.ok(true, "members.invite", map[string]any{"email": " Viv@Example.com", "role": "viewer"}, &inv)
		prefix := srv.URL + "/api/auth/invite?token="
		token := strings.TrimPrefix(inv.URL, prefix)
		if !strings.HasPrefix(inv.URL, prefix) || len(token) != 32 || inv.Email != "viv@example.com" || inv.Role != pay.RoleViewer {
			t.Fatalf("members.invite = %+v", inv)
		}
		admin.ok(false, "members.list", nil, &team)
		if len(team.Invites) != 1 || team.Invites[0].Email != "viv@example.com" || team.Invites[0].Role != pay.RoleViewer ||
			team.Invites[0].ExpiresAt != srv.DB.Now().Add(7*24*time.Hour).Unix() {
			t.Errorf("invites = %+v", team.Invites)
		}
		_, e := admin.query("members.list", nil)
		if strings.Contains(string(e.Result.Data), token) {
			t.Errorf("members.list shows the invite's token")
		}
		err := srv.DB.Tx(ctx, func(tx *store.Tx) error {
			tk, err := tx.SpendSignInToken(ctx, pay.HashKey(token), pay.TokenInvite)
			if err != nil {
				return err
			}
			if tk.Role != pay.RoleViewer || tk.Email != "viv@example.com" || tk.ProjectID != srv.Project || tk.CreatedBy != adminID {
				t.Errorf("invite token = %+v", tk)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("spend the invite: %v", err)
		}
		for _, tt := range []struct {
			in          map[string]any
			code, field string
		}{
			{map[string]any{"email": "nope", "role": "viewer"}, "BAD_REQUEST", "email"},
			{map[string]any{"email": "Ada <ada@example.com>", "role": "viewer"}, "BAD_REQUEST", "email"},
			{map[string]any{"email": "x@example.com", "role": "owner"}, "BAD_REQUEST", "role"},
			{map[string]any{"email": "admin@example.com", "role": "viewer"}, "CONFLICT", "email"},
		} {
			admin.refused(true, "members.invite", tt.in, tt.code, tt.field)
		}

		// A second admin: then the first may step down, and a member be removed.
		dev := signIn(t, srv, "dev@example.com", pay.RoleDeveloper)
		admin.ok(false, "members.list", nil, &team)
		var devID string
		for _, m := range team.Data {
			if m.Email == "dev@example.com" {
				devID = m.UserID
			}
		}
		admin.ok(true, "members.setRole", map[string]any{"userId": devID, "role": "admin"}, nil)
		dev.ok(true, "members.setRole", map[string]any{"userId": adminID, "role": "viewer"}, nil)
		admin.refused(true, "members.invite", map[string]any{"email": "z@example.com", "role": "viewer"}, "FORBIDDEN", "")
		dev.ok(true, "members.remove", map[string]any{"userId": adminID}, nil)
		if status, _ := admin.query("session.get", nil); status != http.StatusUnauthorized {
			t.Errorf("a removed member's session answers %d; want 401", status)
		}
		dev.refused(true, "members.remove", map[string]any{"userId": adminID}, "NOT_FOUND", "")
		dev.refused(true, "members.setRole", map[string]any{"userId": devID, "role": "boss"}, "BAD_REQUEST", "role")

		var log auditOut
		dev.ok(false, "audit.list", map[string]any{"action": "member."}, &log)
		var actions []string
		for _, l := range log.Data {
			actions = append(actions, l.Action)
		}
		want := "member.removed,member.role_changed,member.role_changed,member.invited,member.role_changed"
		if strings.Join(actions, ",") != want {
			t.Errorf("audit = %v; want %s", actions, want)
		}
		// Paging through the log.
		var page1, page2 auditOut
		dev.ok(false, "audit.list", map[string]any{"action": "member.", "limit": 2}, &page1)
		if len(page1.Data) != 2 || !page1.HasMore {
			t.Fatalf("page 1 = %+v", page1)
		}
		_, e = dev.query("audit.list", map[string]any{"action": "member.", "limit": 2})
		var ids struct{ Data []struct{ ID string } }
		e.data(t, &ids)
		dev.ok(false, "audit.list", map[string]any{"action": "member.", "limit": 2, "startingAfter": ids.Data[1].ID}, &page2)
		if len(page2.Data) != 2 || page2.Data[0].Action != "member.role_changed" || page2.Data[1].Action != "member.invited" {
			t.Errorf("page 2 = %+v", page2)
		}
	})
}

func TestDevAdminBadInput(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	admin := signIn(t, srv, "admin@example.com", pay.RoleAdmin)
	for _, tt := range []struct {
		mutate      bool
		path        string
		in          any
		code, field string
	}{
		{false, "events.list", map[string]any{"type": "nonsense"}, "BAD_REQUEST", "type"},
		{false, "events.list", map[string]any{"limit": 0}, "BAD_REQUEST", "limit"},
		{false, "events.list", map[string]any{"limit": 101}, "BAD_REQUEST", "limit"},
		{false, "events.list", map[string]any{"startingAfter": "evt_nope"}, "BAD_REQUEST", "startingAfter"},
		{false, "events.get", map[string]any{}, "BAD_REQUEST", "id"},
		{false, "events.get", map[string]any{"id": "evt_nope"}, "NOT_FOUND", ""},
		{false, "webhooks.deliveries", map[string]any{}, "BAD_REQUEST", "endpoint"},
		{false, "webhooks.deliveries", map[string]any{"endpoint": "we_nope"}, "NOT_FOUND", ""},
		{false, "audit.list", map[string]any{"action": "DROP TABLE"}, "BAD_REQUEST", "action"},
		{false, "audit.list", map[string]any{"startingAfter": "aud_nope"}, "BAD_REQUEST", "startingAfter"},
		{true, "keys.create", map[string]any{"livemode": "yes"}, "BAD_REQUEST", "livemode"},
		{true, "keys.roll", map[string]any{"id": "key_nope"}, "NOT_FOUND", ""},
		{true, "keys.roll", map[string]any{}, "BAD_REQUEST", "id"},
		{true, "keys.roll", map[string]any{"id": "key_x", "expiresInHours": 169}, "BAD_REQUEST", "expiresInHours"},
		{true, "keys.roll", map[string]any{"id": "key_x", "expiresInHours": -1}, "BAD_REQUEST", "expiresInHours"},
		{true, "keys.revoke", map[string]any{"id": ""}, "BAD_REQUEST", "id"},
		{true, "members.setRole", map[string]any{"userId": "usr_nope", "role": "viewer"}, "NOT_FOUND", ""},
		{true, "members.remove", map[string]any{}, "BAD_REQUEST", "userId"},
	} {
		admin.refused(tt.mutate, tt.path, tt.in, tt.code, tt.field)
	}
	// A key rolled with no grace stops at once.
	var k, rolled secretOut
	admin.ok(true, "keys.create", map[string]any{}, &k)
	admin.ok(true, "keys.roll", map[string]any{"id": k.Key.ID, "expiresInHours": 0}, &rolled)
	if a, b := keyAuthenticates(t, srv, k.Secret), keyAuthenticates(t, srv, rolled.Secret); a != 401 || b != 200 {
		t.Errorf("rolled with no grace: old %d, new %d", a, b)
	}
	// Rolling a key already rolled never makes it live longer.
	var k2, again secretOut
	admin.ok(true, "keys.create", map[string]any{}, &k2)
	admin.ok(true, "keys.roll", map[string]any{"id": k2.Key.ID, "expiresInHours": 1}, &rolled)
	admin.ok(true, "keys.roll", map[string]any{"id": k2.Key.ID, "expiresInHours": 168}, &again)
	if rolled.Old.ExpiresAt == 0 || again.Old.ExpiresAt != rolled.Old.ExpiresAt {
		t.Errorf("rolled twice: expires at %d, then %d; want the first kept", rolled.Old.ExpiresAt, again.Old.ExpiresAt)
	}
}

// post sends a form to a page and returns the status, the Cache-Control
// header and the body.
func (c *client) post(path string, form url.Values) (int, string, string) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "calmony_session", Value: c.cookie})
	resp, err := noRedirect.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Cache-Control"), string(b)
}

func TestDevAdminPagesByRole(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	admin := signIn(t, srv, "admin@example.com", pay.RoleAdmin)
	dev := signIn(t, srv, "dev@example.com", pay.RoleDeveloper)
	viewer := signIn(t, srv, "viewer@example.com", pay.RoleViewer)
	_, cus := v1(t, srv, srv.Key, "POST", "/v1/customers", url.Values{"email": {"c@example.com"}})
	var events struct{ Data []struct{ ID string } }
	admin.ok(false, "events.list", nil, &events)
	keysBefore := func() string { _, e := admin.query("keys.list", nil); return string(e.Result.Data) }
	before := keysBefore()

	// Pages: what each role sees.
	for _, tt := range []struct {
		c          *client
		path       string
		status     int
		has, hasnt string
	}{
		{viewer, "/dashboard/developers", 200, "sk_test_", `id="create-key"`},
		{viewer, "/dashboard/developers", 200, events.Data[0].ID, "Roll"},
		{viewer, "/dashboard/events/" + events.Data[0].ID, 200, cus["id"].(string), ""},
		{viewer, "/dashboard/settings", 200, "Only admins can change these settings.", "Save currencies"},
		{viewer, "/dashboard/team", 200, "admin@example.com", "Create invitation link"},
		{viewer, "/dashboard/audit", 403, "developer role", ""},
		{dev, "/dashboard/audit", 200, "Audit log", ""},
		{dev, "/dashboard/developers", 200, `id="create-key"`, ""},
		{admin, "/dashboard/team", 200, "Create invitation link", ""},
		{admin, "/dashboard/events/evt_nope", 404, "No such event", ""},
		{admin, "/dashboard/developers?type=nonsense", 400, "type must be", ""},
	} {
		status, body := tt.c.do(http.MethodGet, tt.path, "", nil)
		if status != tt.status || !strings.Contains(string(body), tt.has) || (tt.hasnt != "" && strings.Contains(string(body), tt.hasnt)) {
			t.Errorf("GET %s = %d; want %d with %q and without %q", tt.path, status, tt.status, tt.has, tt.hasnt)
		}
	}

	// Forms: refused below their role, changing nothing.
	for _, tt := range []struct {
		c    *client
		path string
		form url.Values
	}{
		{viewer, "/dashboard/developers/keys", url.Values{"mode": {"test"}}},
		{viewer, "/dashboard/developers/retry", url.Values{"event": {events.Data[0].ID}}},
		{viewer, "/dashboard/settings/currencies", url.Values{"currency": {"eur"}}},
		{viewer, "/dashboard/team/invite", url.Values{"email": {"x@example.com"}, "role": {"admin"}}},
		{dev, "/dashboard/settings/currencies", url.Values{"currency": {"eur"}}},
		{dev, "/dashboard/team/invite", url.Values{"email": {"x@example.com"}, "role": {"admin"}}},
	} {
		if status, _, _ := tt.c.post(tt.path, tt.form); status != http.StatusForbidden {
			t.Errorf("POST %s = %d; want 403", tt.path, status)
		}
	}
	if after := keysBefore(); after != before {
		t.Errorf("refused forms made a key")
	}
	var team struct{ Invites []any }
	admin.ok(false, "members.list", nil, &team)
	if len(team.Invites) != 0 {
		t.Errorf("refused forms made an invite")
	}

	// A secret is the POST's own answer, never cached.
	status, cache, body := dev.post("/dashboard/developers/keys", url.Values{"mode": {"test"}})
	if status != 200 || cache != "no-store" || !strings.Contains(body, `id="secret">sk_test_`) {
		t.Errorf("create key page = %d %q", status, cache)
	}
	status, cache, body = admin.post("/dashboard/team/invite", url.Values{"email": {"viv@example.com"}, "role": {"viewer"}})
	if status != 200 || cache != "no-store" || !strings.Contains(body, srv.URL+"/api/auth/invite?token=") {
		t.Errorf("invite page = %d %q", status, cache)
	}
	// A bad setting is named on the page; a good one redirects.
	status, _, body = admin.post("/dashboard/settings/currencies", url.Values{"currency": {"xxx"}})
	if status != 400 || !strings.Contains(body, "Currencies: Currency &#34;xxx&#34; is not supported") {
		t.Errorf("bad currency page = %d", status)
	}
	if status, _, _ := admin.post("/dashboard/settings/currencies", url.Values{"currency": {"gbp", "eur"}}); status != http.StatusSeeOther {
		t.Errorf("good currencies = %d; want 303", status)
	}
	// Another project's key is not found.
	otherProject, _ := apitest.NewProject(t, srv.DB)
	other := signInTo(t, srv, otherProject, "other@example.com", pay.RoleAdmin)
	var k secretOut
	other.ok(true, "keys.create", map[string]any{}, &k)
	if status, _, _ := admin.post("/dashboard/developers/keys/"+k.Key.ID+"/revoke", nil); status != http.StatusNotFound {
		t.Errorf("revoking another project's key = %d; want 404", status)
	}
	if status, _ := admin.do(http.MethodGet, "/dashboard/developers/keys/"+k.Key.ID+"/revoke", "", nil); status != http.StatusNotFound {
		t.Errorf("confirming another project's key = %d; want 404", status)
	}
}

func TestWebhookEndpointsThroughTheDashboard(t *testing.T) {
	t.Parallel()
	eachDB(t, apitest.Options{Webhooks: true, AllowPrivateWebhookURLs: true}, func(t *testing.T, srv *apitest.Server) {
		var got atomic.Int32
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Stripe-Signature") != "" {
				got.Add(1)
			}
		}))
		t.Cleanup(recv.Close)
		dev := signIn(t, srv, "dev@example.com", pay.RoleDeveloper)
		var made struct {
			Endpoint struct {
				ID, URL, Status string
				Events          []string
			}
			Secret string
		}
		dev.ok(true, "webhooks.create", map[string]any{"url": recv.URL + "/hook", "events": []string{"customer.created", "customer.created"},
			"description": "Shop"}, &made)
		if !strings.HasPrefix(made.Secret, pay.WebhookSecretPrefix) || made.Endpoint.Status != "enabled" ||
			strings.Join(made.Endpoint.Events, ",") != "customer.created" {
			t.Fatalf("webhooks.create = %+v", made)
		}
		id := made.Endpoint.ID
		// /v1 sees it, and events reach it.
		if status, ep := v1(t, srv, srv.Key, "GET", "/v1/webhook_endpoints/"+id, nil); status != 200 || ep["url"] != recv.URL+"/hook" || ep["description"] != "Shop" {
			t.Errorf("GET /v1/webhook_endpoints/%s = %d %v", id, status, ep)
		}
		v1(t, srv, srv.Key, "POST", "/v1/customers", url.Values{"email": {"c@example.com"}})
		for deadline := time.Now().Add(10 * time.Second); got.Load() < 1; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("no delivery to the endpoint made in the dashboard")
			}
		}
		// Changed, disabled, enabled, deleted; each audited.
		var ep struct {
			Status, DisabledReason string
			Events                 []string
		}
		dev.ok(true, "webhooks.update", map[string]any{"id": id, "events": []string{"*"}, "disabled": true}, &ep)
		if ep.Status != "disabled" || strings.Join(ep.Events, ",") != "*" {
			t.Errorf("webhooks.update = %+v", ep)
		}
		dev.ok(true, "webhooks.update", map[string]any{"id": id, "disabled": false}, &ep)
		if ep.Status != "enabled" {
			t.Errorf("enabled again = %+v", ep)
		}
		for _, tt := range []struct {
			path        string
			in          map[string]any
			code, field string
		}{
			{"webhooks.create", map[string]any{"url": "ftp://hooks.example.com", "events": []string{"*"}}, "BAD_REQUEST", "url"},
			{"webhooks.create", map[string]any{"events": []string{"*"}}, "BAD_REQUEST", "url"},
			{"webhooks.create", map[string]any{"url": "https://hooks.example.com"}, "BAD_REQUEST", "events"},
			{"webhooks.create", map[string]any{"url": "https://hooks.example.com", "events": []string{}}, "BAD_REQUEST", "events"},
			{"webhooks.create", map[string]any{"url": "https://hooks.example.com", "events": []string{"*", "nope.nope"}}, "BAD_REQUEST", "events[1]"},
			{"webhooks.create", map[string]any{"url": "https://hooks.example.com", "events": []string{"*"}, "disabled": true}, "BAD_REQUEST", "disabled"},
			{"webhooks.update", map[string]any{"id": id}, "BAD_REQUEST", ""},
			{"webhooks.update", map[string]any{"id": "we_nope", "disabled": true}, "NOT_FOUND", ""},
			{"webhooks.update", map[string]any{"disabled": true}, "BAD_REQUEST", "id"},
			{"webhooks.delete", map[string]any{"id": "we_nope"}, "NOT_FOUND", ""},
		} {
			dev.refused(true, tt.path, tt.in, tt.code, tt.field)
		}
		// Another project's endpoint is not found.
		otherProject, _ := apitest.NewProject(t, srv.DB)
		other := signInTo(t, srv, otherProject, "other@example.com", pay.RoleAdmin)
		other.refused(true, "webhooks.update", map[string]any{"id": id, "disabled": true}, "NOT_FOUND", "")
		other.refused(true, "webhooks.delete", map[string]any{"id": id}, "NOT_FOUND", "")
		dev.ok(true, "webhooks.delete", map[string]any{"id": id}, nil)
		if status, _ := v1(t, srv, srv.Key, "GET", "/v1/webhook_endpoints/"+id, nil); status != 404 {
			t.Errorf("after webhooks.delete, /v1 answers %d", status)
		}
		admin := signIn(t, srv, "admin@example.com", pay.RoleAdmin)
		var log auditOut
		admin.ok(false, "audit.list", map[string]any{"action": "webhook_endpoint."}, &log)
		var actions []string
		for _, l := range log.Data {
			actions = append(actions, l.Action+" "+l.Detail["fields"])
		}
		if want := "webhook_endpoint.deleted ,webhook_endpoint.updated disabled,webhook_endpoint.updated disabled,events,webhook_endpoint.created "; strings.Join(actions, ",") != want {
			t.Errorf("audit = %q; want %q", strings.Join(actions, ","), want)
		}
		_, e := admin.query("audit.list", nil)
		if strings.Contains(string(e.Result.Data), made.Secret) {
			t.Error("the audit log shows a signing secret")
		}
	})
}

// An invitation made on the team page is accepted by the sign-in flow
// (/api/auth/invite): its holder is signed in with the invitation's role,
// and a viewer is refused what viewers may not do.
func TestInviteMadeHereSignsIn(t *testing.T) {
	t.Parallel()
	eachDB(t, apitest.Options{}, func(t *testing.T, srv *apitest.Server) {
		admin := signIn(t, srv, "admin@example.com", pay.RoleAdmin)
		var inv struct{ URL string }
		admin.ok(true, "members.invite", map[string]any{"email": "viv@example.com", "role": "viewer"}, &inv)
		resp, err := noRedirect.Get(inv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var cookie string
		for _, c := range resp.Cookies() {
			if c.Name == "calmony_session" {
				cookie = c.Value
			}
		}
		if resp.StatusCode != http.StatusSeeOther || cookie == "" {
			t.Fatalf("GET the invite = %d, cookie %q", resp.StatusCode, cookie)
		}
		viv := &client{t: t, srv: srv, cookie: cookie}
		var me struct {
			User struct{ Email string }
			Role string
		}
		viv.ok(false, "session.get", nil, &me)
		if me.User.Email != "viv@example.com" || me.Role != "viewer" {
			t.Errorf("signed in as %+v", me)
		}
		viv.refused(true, "keys.create", map[string]any{}, "FORBIDDEN", "")
		var team struct{ Invites []any }
		admin.ok(false, "members.list", nil, &team)
		if len(team.Invites) != 0 {
			t.Errorf("the accepted invite is still pending: %+v", team.Invites)
		}
		// Once only.
		if resp, err := noRedirect.Get(inv.URL); err != nil || resp.StatusCode == http.StatusSeeOther {
			t.Errorf("the invite works twice: %v %v", resp.StatusCode, err)
		} else {
			resp.Body.Close()
		}
	})
}
