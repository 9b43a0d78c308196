package dashboard_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

func TestTRPCWireFormat(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	ada := signIn(t, srv, "ada@example.com", pay.RoleAdmin)

	// One query: {"result":{"data":…}}.
	status, e := ada.query("session.get", nil)
	var me struct {
		User          struct{ Email string } `json:"user"`
		Project, Role string
		Livemode      bool
	}
	e.data(t, &me)
	if status != http.StatusOK || me.User.Email != "ada@example.com" || me.Project != srv.Project || me.Role != "admin" || me.Livemode {
		t.Errorf("session.get = %d %+v", status, me)
	}

	// A batch: an array in order, 207 when the statuses differ.
	in := url.QueryEscape(`{"0":{},"1":{}}`)
	status, body := ada.do(http.MethodGet, "/api/trpc/session.get,no.such?batch=1&input="+in, "", nil)
	var batch []envelope
	if err := json.Unmarshal(body, &batch); err != nil {
		t.Fatalf("batch answer: %v: %s", err, body)
	}
	if status != http.StatusMultiStatus || len(batch) != 2 || batch[0].Result == nil || batch[1].code() != "NOT_FOUND" ||
		batch[1].Error.Code != -32004 || batch[1].Error.Data.Path != "no.such" || batch[1].Error.Data.HTTPStatus != 404 {
		t.Errorf("mixed batch = %d %s", status, body)
	}
	status, body = ada.do(http.MethodGet, "/api/trpc/session.get,session.get?batch=1", "", nil)
	if status != http.StatusOK || !strings.HasPrefix(string(body), "[") {
		t.Errorf("batch of two successes = %d %s; want 200 and an array", status, body)
	}

	// A mutation with POST, its input the body.
	status, e = ada.mutate("session.switch", map[string]any{"livemode": true})
	e.data(t, &me)
	if status != http.StatusOK || !me.Livemode {
		t.Errorf("session.switch to live = %d %+v", status, me)
	}
	// A batch of mutations: the body keyed "0", "1".
	status, body = ada.do(http.MethodPost, "/api/trpc/session.switch,session.switch?batch=1", "application/json",
		strings.NewReader(`{"0":{"livemode":true},"1":{"livemode":false}}`))
	var mutations []envelope
	if err := json.Unmarshal(body, &mutations); err != nil || status != 200 || len(mutations) != 2 {
		t.Fatalf("mutation batch = %d %s", status, body)
	}
	mutations[1].data(t, &me)
	if me.Livemode {
		t.Errorf("after a batch ending in test mode: livemode %v", me.Livemode)
	}
}

func TestTRPCRefusals(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	ada := signIn(t, srv, "ada@example.com", pay.RoleViewer)
	otherProject, _ := apitest.NewProject(t, srv.DB)

	for _, tt := range []struct {
		name, method, path, body string
		cookie                   *string
		status                   int
		code, field              string
	}{
		{name: "signed out", method: "GET", path: "session.get", cookie: new(""), status: 401, code: "UNAUTHORIZED"},
		{name: "tampered cookie", method: "GET", path: "session.get", cookie: new(ada.cookie + "x"), status: 401, code: "UNAUTHORIZED"},
		{name: "unknown procedure", method: "GET", path: "payments.nope", status: 404, code: "NOT_FOUND"},
		{name: "mutation by GET", method: "GET", path: "session.switch", status: 405, code: "METHOD_NOT_SUPPORTED"},
		{name: "query by POST", method: "POST", path: "session.get", body: `{}`, status: 405, code: "METHOD_NOT_SUPPORTED"},
		{name: "wrong type", method: "POST", path: "session.switch", body: `{"project":5}`, status: 400, code: "BAD_REQUEST", field: "project"},
		{name: "unknown field", method: "POST", path: "session.switch", body: `{"projet":"x"}`, status: 400, code: "BAD_REQUEST", field: "projet"},
		{name: "not JSON", method: "POST", path: "session.switch", body: `{"project":`, status: 400, code: "PARSE_ERROR"},
		{name: "another project", method: "POST", path: "session.switch", body: `{"project":"` + otherProject + `"}`, status: 404, code: "NOT_FOUND"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := *ada
			if tt.cookie != nil {
				c.cookie = *tt.cookie
			}
			c.t = t
			var body *strings.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			} else {
				body = strings.NewReader("")
			}
			status, raw := c.do(tt.method, "/api/trpc/"+tt.path, "application/json", body)
			e := decodeEnvelope(t, raw)
			if status != tt.status || e.code() != tt.code || (tt.field != "" && e.Error.Data.Field != tt.field) || e.Error.Data.HTTPStatus != tt.status {
				t.Errorf("%s %s %s = %d %s; want %d %s (field %q)", tt.method, tt.path, tt.body, status, raw, tt.status, tt.code, tt.field)
			}
		})
	}

	// An expired session is signed out.
	bob := signIn(t, srv, "bob@example.com", pay.RoleAdmin)
	if _, err := srv.DB.RawExec(context.Background(), `UPDATE staff_sessions SET expires_at = 1 WHERE token_hash = $1`, pay.HashKey(bob.cookie)); err != nil {
		t.Fatal(err)
	}
	if status, e := bob.query("session.get", nil); status != 401 || e.code() != "UNAUTHORIZED" {
		t.Errorf("expired session: %d %+v", status, e.Error)
	}
	// So is a removed member.
	cy := signIn(t, srv, "cy@example.com", pay.RoleViewer)
	if err := srv.DB.Tx(context.Background(), func(tx *store.Tx) error {
		u, err := tx.FindUserByEmail(context.Background(), "cy@example.com")
		if err != nil {
			return err
		}
		return tx.RemoveMember(context.Background(), srv.Project, u.ID)
	}); err != nil {
		t.Fatal(err)
	}
	if status, _ := cy.query("session.get", nil); status != 401 {
		t.Errorf("removed member's session: %d; want 401", status)
	}
	// A cross-site mutation is refused before any procedure runs.
	status, raw := ada.do(http.MethodPost, "/api/trpc/session.switch", "application/json", strings.NewReader(`{"livemode":true}`),
		"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if status != http.StatusForbidden || decodeEnvelope(t, raw).code() != "FORBIDDEN" {
		t.Errorf("cross-site mutation = %d %s; want 403 FORBIDDEN", status, raw)
	}
	if _, e := ada.query("session.get", nil); e.Result == nil || strings.Contains(string(e.Result.Data), `"livemode":true`) {
		t.Errorf("the refused cross-site mutation changed the session: %s", e.Result.Data)
	}
}

func TestPagesNeedASession(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	anon := &client{t: t, srv: srv}
	status, _ := anon.do(http.MethodGet, "/dashboard/", "", nil)
	if status != http.StatusSeeOther {
		t.Errorf("GET /dashboard/ signed out = %d; want 303 to the sign-in page", status)
	}
	ada := signIn(t, srv, "ada@example.com", pay.RoleViewer)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/dashboard/", nil)
	req.AddCookie(&http.Cookie{Name: "calmony_session", Value: ada.cookie})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); resp.StatusCode != 200 || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("GET /dashboard/ = %d, CSP %q", resp.StatusCode, csp)
	}
}

func TestPageFormsRefuseCrossSitePosts(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	ada := signIn(t, srv, "ada@example.com", pay.RoleAdmin)
	status, _ := ada.do(http.MethodPost, "/dashboard/switch", "application/x-www-form-urlencoded", strings.NewReader("mode=live"),
		"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if status != http.StatusForbidden {
		t.Errorf("cross-site form post = %d; want 403", status)
	}
	if _, e := ada.query("session.get", nil); e.Result == nil || strings.Contains(string(e.Result.Data), `"livemode":true`) {
		t.Errorf("the refused cross-site form post changed the session")
	}
	status, _ = ada.do(http.MethodPost, "/dashboard/switch", "application/x-www-form-urlencoded", strings.NewReader("mode=live&next=/dashboard/"),
		"Origin", srv.URL, "Sec-Fetch-Site", "same-origin")
	if status != http.StatusSeeOther {
		t.Errorf("same-origin form post = %d; want 303", status)
	}
}
