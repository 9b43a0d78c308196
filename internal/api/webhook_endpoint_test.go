package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/stripe/stripe-go/v85"

	"github.com/calmony/calmonypay/internal/apitest"
)

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

func TestWebhookEndpointLifecycle(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	a := do(t, srv, call{method: "POST", path: "/v1/webhook_endpoints", body: form(
		"url", "https://hooks.example.com/calmony", "enabled_events[]", "customer.created", "enabled_events[]", "customer.updated",
		"enabled_events[]", "customer.created", "description", "Orders", "metadata[team]", "shop", "api_version", "2026-03-25.dahlia")})
	if a.status != 200 {
		t.Fatalf("create = %d %s", a.status, a.raw)
	}
	id, _ := a.body["id"].(string)
	secret, _ := a.body["secret"].(string)
	want := map[string]any{"id": id, "object": "webhook_endpoint", "api_version": "2026-03-25.dahlia", "application": nil,
		"created": a.body["created"], "description": "Orders", "disabled_reason": nil, "failing_since": nil,
		"enabled_events": []any{"customer.created", "customer.updated"}, "livemode": false, "metadata": map[string]any{"team": "shop"},
		"secret": secret, "status": "enabled", "url": "https://hooks.example.com/calmony"}
	if !strings.HasPrefix(id, "we_") || !strings.HasPrefix(secret, "whsec_") || len(secret) != len("whsec_")+32 {
		t.Fatalf("create = %s", a.raw)
	}
	if diff := gocmp.Diff(want, a.body); diff != "" {
		t.Errorf("create (-want +got):\n%s", diff)
	}

	// The secret is never shown again, nor stored in plaintext.
	for _, path := range []string{"/v1/webhook_endpoints/" + id, "/v1/webhook_endpoints"} {
		a := do(t, srv, call{method: "GET", path: path})
		if a.status != 200 || strings.Contains(a.raw, secret) || strings.Contains(a.raw, `"secret"`) {
			t.Errorf("GET %s = %d %s: shows the secret", path, a.status, a.raw)
		}
	}
	var raw []byte
	if err := srv.DB.RawQueryRow(context.Background(), `SELECT secret FROM webhook_endpoints WHERE id = $1`, id).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), secret[len("whsec_"):]) {
		t.Error("the secret is stored in plaintext")
	}

	a = do(t, srv, call{method: "POST", path: "/v1/webhook_endpoints/" + id, body: form("url", "https://hooks.example.com/v2",
		"enabled_events[]", "*", "description", "", "metadata[team]", "", "disabled", "true")})
	if a.status != 200 || a.body["url"] != "https://hooks.example.com/v2" || a.body["status"] != "disabled" || a.body["disabled_reason"] != "manual" ||
		a.body["description"] != nil || len(a.body["metadata"].(map[string]any)) != 0 || a.body["secret"] != nil {
		t.Errorf("update = %d %s", a.status, a.raw)
	}
	a = do(t, srv, call{method: "POST", path: "/v1/webhook_endpoints/" + id, body: form("disabled", "false")})
	if a.status != 200 || a.body["status"] != "enabled" || a.body["disabled_reason"] != nil {
		t.Errorf("enable = %d %s", a.status, a.raw)
	}

	// Rolling returns a new secret, once.
	a = do(t, srv, call{method: "POST", path: "/v1/webhook_endpoints/" + id + "/roll_secret", body: form("expires_in", "60")})
	rolled, _ := a.body["secret"].(string)
	if a.status != 200 || !strings.HasPrefix(rolled, "whsec_") || rolled == secret {
		t.Errorf("roll_secret = %d %s", a.status, a.raw)
	}
	if a := do(t, srv, call{method: "GET", path: "/v1/webhook_endpoints/" + id}); strings.Contains(a.raw, rolled) {
		t.Error("retrieve shows the rolled secret")
	}

	// Another project does not see it.
	_, otherKey := apitest.NewProject(t, srv.DB)
	for _, c := range []call{
		{method: "GET", path: "/v1/webhook_endpoints/" + id, key: otherKey},
		{method: "POST", path: "/v1/webhook_endpoints/" + id, body: form("disabled", "true"), key: otherKey},
		{method: "DELETE", path: "/v1/webhook_endpoints/" + id, key: otherKey},
		{method: "POST", path: "/v1/webhook_endpoints/" + id + "/roll_secret", key: otherKey},
	} {
		wantError(t, do(t, srv, c), 404, "invalid_request_error", "resource_missing", "id")
	}

	a = do(t, srv, call{method: "DELETE", path: "/v1/webhook_endpoints/" + id})
	if a.status != 200 || a.body["deleted"] != true || a.body["id"] != id || a.body["object"] != "webhook_endpoint" {
		t.Errorf("delete = %d %s", a.status, a.raw)
	}
	wantError(t, do(t, srv, call{method: "GET", path: "/v1/webhook_endpoints/" + id}), 404, "invalid_request_error", "resource_missing", "id")
}

func TestWebhookEndpointBadInput(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	live := apitest.NewKey(t, srv.DB, srv.Project, true)
	const ok = "https://hooks.example.com/x"
	for _, tt := range []struct {
		name, body, key   string
		code, param, text string
	}{
		{"no url", form("enabled_events[]", "*"), "", "parameter_missing", "url", ""},
		{"no events", form("url", ok), "", "parameter_missing", "enabled_events", ""},
		{"empty events", form("url", ok, "enabled_events", ""), "", "parameter_invalid_empty", "enabled_events", ""},
		{"events not a list", form("url", ok, "enabled_events", "customer.created"), "", "", "enabled_events", ""},
		{"unknown event type", form("url", ok, "enabled_events[]", "customer.created", "enabled_events[]", "customer.exploded"), "", "parameter_invalid", "enabled_events[1]", "customer.exploded"},
		{"empty event type", form("url", ok, "enabled_events[0]", ""), "", "parameter_invalid", "enabled_events[0]", ""},
		{"not a URL", form("url", "not a url", "enabled_events[]", "*"), "", "url_invalid", "url", ""},
		{"relative URL", form("url", "/webhook", "enabled_events[]", "*"), "", "url_invalid", "url", "absolute"},
		{"ftp", form("url", "ftp://example.com/", "enabled_events[]", "*"), "", "url_invalid", "url", "https"},
		{"http to a public host", form("url", "http://example.com/hook", "enabled_events[]", "*"), "", "url_invalid", "url", "https"},
		{"private address", form("url", "https://10.1.2.3/hook", "enabled_events[]", "*"), "", "url_invalid", "url", "private"},
		{"metadata address", form("url", "https://169.254.169.254/latest", "enabled_events[]", "*"), "", "url_invalid", "url", ""},
		{"decimal loopback", form("url", "https://2130706433/", "enabled_events[]", "*"), "", "url_invalid", "url", ""},
		{"user info", form("url", "https://user:pass@example.com/", "enabled_events[]", "*"), "", "url_invalid", "url", "user"},
		{"internal name", form("url", "https://metadata.google.internal/", "enabled_events[]", "*"), "", "url_invalid", "url", ""},
		{"http localhost in live mode", form("url", "http://localhost:3000/hook", "enabled_events[]", "*"), live, "url_invalid", "url", ""},
		{"https localhost in live mode", form("url", "https://localhost/hook", "enabled_events[]", "*"), live, "url_invalid", "url", "localhost"},
		{"loopback in live mode", form("url", "https://127.0.0.1/hook", "enabled_events[]", "*"), live, "url_invalid", "url", "loopback"},
		{"http in live mode", form("url", "http://example.com/hook", "enabled_events[]", "*"), live, "url_invalid", "url", "https"},
		{"another API train", form("url", ok, "enabled_events[]", "*", "api_version", "2026-09-30.endive"), "", "parameter_invalid", "api_version", ""},
		{"an old API version", form("url", ok, "enabled_events[]", "*", "api_version", "2020-08-27"), "", "parameter_invalid", "api_version", ""},
		{"connect", form("url", ok, "enabled_events[]", "*", "connect", "true"), "", "parameter_invalid", "connect", ""},
		{"unknown parameter", form("url", ok, "enabled_events[]", "*", "secret", "whsec_mine"), "", "parameter_unknown", "secret", ""},
		{"long description", form("url", ok, "enabled_events[]", "*", "description", strings.Repeat("d", 5001)), "", "parameter_invalid_string_too_long", "description", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := do(t, srv, call{method: "POST", path: "/v1/webhook_endpoints", body: tt.body, key: tt.key})
			if a.status != 400 || a.err("type") != "invalid_request_error" || a.err("param") != tt.param || (tt.code != "" && a.err("code") != tt.code) {
				t.Errorf("got %d %s, want 400 code=%s param=%s", a.status, a.raw, tt.code, tt.param)
			}
			if !strings.Contains(a.err("message"), tt.text) {
				t.Errorf("message %q does not mention %q", a.err("message"), tt.text)
			}
			if strings.Contains(a.raw, "whsec_") && tt.name != "unknown parameter" {
				t.Errorf("error shows a secret: %s", a.raw)
			}
		})
	}

	if a := do(t, srv, call{method: "POST", path: "/v1/webhook_endpoints", key: live,
		body: form("url", "https://hooks.example.com/live", "enabled_events[]", "*")}); a.status != 200 {
		t.Errorf("create in live mode = %d %s", a.status, a.raw)
	}

	// Updates are checked the same way.
	id := do(t, srv, call{method: "POST", path: "/v1/webhook_endpoints", body: form("url", ok, "enabled_events[]", "*")}).body["id"].(string)
	for _, tt := range []struct{ body, param string }{
		{form("url", "https://192.168.0.1/"), "url"},
		{form("enabled_events[]", "*", "enabled_events[]", "nope"), "enabled_events[1]"},
		{form("disabled", "maybe"), "disabled"},
		{form("api_version", "2026-03-25.dahlia"), "api_version"}, // not updatable
	} {
		a := do(t, srv, call{method: "POST", path: "/v1/webhook_endpoints/" + id, body: tt.body})
		if a.status != 400 || a.err("param") != tt.param {
			t.Errorf("update %s = %d %s, want 400 naming %s", tt.body, a.status, a.raw, tt.param)
		}
	}
	for _, v := range []string{"-1", "604801", "soon"} {
		a := do(t, srv, call{method: "POST", path: "/v1/webhook_endpoints/" + id + "/roll_secret", body: form("expires_in", v)})
		if a.status != 400 || a.err("param") != "expires_in" {
			t.Errorf("roll_secret expires_in=%s = %d %s", v, a.status, a.raw)
		}
	}
}

func TestWebhookEndpointLimit(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	for i := range 16 {
		if a := do(t, srv, call{method: "POST", path: "/v1/webhook_endpoints", body: form("url", "https://hooks.example.com/"+strconv.Itoa(i), "enabled_events[]", "*")}); a.status != 200 {
			t.Fatalf("endpoint %d: %d %s", i, a.status, a.raw)
		}
	}
	a := do(t, srv, call{method: "POST", path: "/v1/webhook_endpoints", body: form("url", "https://hooks.example.com/17", "enabled_events[]", "*")})
	wantError(t, a, 400, "invalid_request_error", "webhook_endpoint_limit", "")
	// The other mode has its own allowance.
	live := apitest.NewKey(t, srv.DB, srv.Project, true)
	if a := do(t, srv, call{method: "POST", path: "/v1/webhook_endpoints", key: live, body: form("url", "https://hooks.example.com/live", "enabled_events[]", "*")}); a.status != 200 {
		t.Errorf("live endpoint: %d %s", a.status, a.raw)
	}
}

// eventFor returns the event about the object with the given ID.
func eventFor(t *testing.T, srv *apitest.Server, objectID string) map[string]any {
	t.Helper()
	for _, e := range do(t, srv, call{method: "GET", path: "/v1/events?limit=100"}).body["data"].([]any) {
		evt := e.(map[string]any)
		if evt["data"].(map[string]any)["object"].(map[string]any)["id"] == objectID {
			return evt
		}
	}
	t.Fatalf("no event about %s", objectID)
	return nil
}

// Endpoints go only to public https URLs, in every environment, unless the
// operator let test mode reach loopback and private hosts for development
// (serve --allow-private-webhook-urls); live mode never may, and link-local,
// metadata and unspecified addresses are refused even then.
func TestWebhookEndpointPrivateURLs(t *testing.T) {
	t.Parallel()
	private := []string{"http://localhost:3000/webhook", "http://127.0.0.1:5432/", "http://[::1]:6060/debug/pprof/",
		"https://10.0.0.8/hook", "http://192.168.1.20:3000/", "http://app:3000/hook", "http://host.docker.internal:3000/"}
	never := []string{"http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://0.0.0.0:8080/",
		"http://100.100.100.200/", "http://[fd00:ec2::254]/", "http://2130706433/", "http://example.com/"}
	for _, b := range []struct {
		name     string
		postgres bool
	}{{"sqlite", false}, {"postgres", true}} {
		for _, allow := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/allowed=%v", b.name, allow), func(t *testing.T) {
				t.Parallel()
				srv := apitest.Start(t, apitest.Options{Postgres: b.postgres, AllowPrivateWebhookURLs: allow})
				live := apitest.NewKey(t, srv.DB, srv.Project, true)
				for _, key := range []string{srv.Key, live} {
					for _, u := range append(private, never...) {
						a := do(t, srv, call{method: "POST", path: "/v1/webhook_endpoints", key: key, body: form("url", u, "enabled_events[]", "*")})
						if allow && key == srv.Key && slices.Contains(private, u) {
							if a.status != 200 {
								t.Errorf("create %s with the opt-in = %d %s", u, a.status, a.raw)
							}
							continue
						}
						wantError(t, a, 400, "invalid_request_error", "url_invalid", "url")
					}
				}
			})
		}
	}
}

func TestEventDeliveryRoutes(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	// No endpoint yet: the event has nothing to deliver or retry.
	evt := eventFor(t, srv, do(t, srv, call{method: "POST", path: "/v1/customers", body: form("email", "e@example.com")}).body["id"].(string))
	id := evt["id"].(string)
	if evt["pending_webhooks"] != 0.0 {
		t.Errorf("pending_webhooks = %v", evt["pending_webhooks"])
	}
	a := do(t, srv, call{method: "POST", path: "/v1/events/" + id + "/retry"})
	if a.status != 400 || !strings.Contains(a.err("message"), "customer.created") {
		t.Errorf("retry with no endpoint = %d %s", a.status, a.raw)
	}
	a = do(t, srv, call{method: "GET", path: "/v1/events/" + id + "/delivery_attempts"})
	if a.status != 200 || a.body["object"] != "list" || len(a.body["data"].([]any)) != 0 || a.body["url"] != "/v1/events/"+id+"/delivery_attempts" {
		t.Errorf("delivery_attempts = %d %s", a.status, a.raw)
	}

	ep := do(t, srv, call{method: "POST", path: "/v1/webhook_endpoints", body: form("url", "https://hooks.example.com/e", "enabled_events[]", "customer.created")}).body["id"].(string)
	// An endpoint queues each new event: pending_webhooks counts it.
	evt2 := eventFor(t, srv, do(t, srv, call{method: "POST", path: "/v1/customers", body: form("email", "f@example.com")}).body["id"].(string))
	if evt2["pending_webhooks"] != 1.0 {
		t.Errorf("pending_webhooks with an endpoint = %v", evt2["pending_webhooks"])
	}
	if got := do(t, srv, call{method: "GET", path: "/v1/events/" + evt2["id"].(string)}).body["pending_webhooks"]; got != 1.0 {
		t.Errorf("retrieve: pending_webhooks = %v", got)
	}
	// Retrying the first event now queues it for the new endpoint.
	a = do(t, srv, call{method: "POST", path: "/v1/events/" + id + "/retry", body: form("webhook_endpoint", ep)})
	if a.status != 200 || a.body["id"] != id || a.body["pending_webhooks"] != 1.0 {
		t.Errorf("retry = %d %s", a.status, a.raw)
	}

	wantError(t, do(t, srv, call{method: "POST", path: "/v1/events/evt_nope/retry"}), 404, "invalid_request_error", "resource_missing", "id")
	wantError(t, do(t, srv, call{method: "GET", path: "/v1/events/evt_nope/delivery_attempts"}), 404, "invalid_request_error", "resource_missing", "id")
	wantError(t, do(t, srv, call{method: "POST", path: "/v1/events/" + id + "/retry", body: form("webhook_endpoint", "we_nope")}),
		404, "invalid_request_error", "resource_missing", "webhook_endpoint")
	do(t, srv, call{method: "POST", path: "/v1/webhook_endpoints/" + ep, body: form("disabled", "true")})
	wantError(t, do(t, srv, call{method: "POST", path: "/v1/events/" + id + "/retry", body: form("webhook_endpoint", ep)}),
		400, "invalid_request_error", "parameter_invalid", "webhook_endpoint")
	_, otherKey := apitest.NewProject(t, srv.DB)
	wantError(t, do(t, srv, call{method: "GET", path: "/v1/events/" + id + "/delivery_attempts", key: otherKey}), 404, "invalid_request_error", "resource_missing", "id")
}

// stripe-go v85 drives the endpoint routes and decodes the objects.
func TestSDKWebhookEndpoints(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	sc := sdkClient(srv.URL, srv.Key)
	ctx := context.Background()
	ep, err := sc.V1WebhookEndpoints.Create(ctx, &stripe.WebhookEndpointCreateParams{
		URL:           stripe.String("https://hooks.example.com/go"),
		EnabledEvents: stripe.StringSlice([]string{"customer.created"}),
		Description:   stripe.String("stripe-go"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ep.Secret, "whsec_") || ep.Status != "enabled" || ep.Description != "stripe-go" {
		t.Errorf("created = %+v", ep)
	}
	got, err := sc.V1WebhookEndpoints.Retrieve(ctx, ep.ID, nil)
	if err != nil || got.Secret != "" || got.URL != ep.URL {
		t.Errorf("retrieve = %+v, %v", got, err)
	}
	upd, err := sc.V1WebhookEndpoints.Update(ctx, ep.ID, &stripe.WebhookEndpointUpdateParams{Disabled: stripe.Bool(true)})
	if err != nil || upd.Status != "disabled" {
		t.Errorf("update = %+v, %v", upd, err)
	}
	n := 0
	for e, err := range sc.V1WebhookEndpoints.List(ctx, &stripe.WebhookEndpointListParams{}).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Secret != "" {
			t.Error("list shows a secret")
		}
		n++
	}
	if n != 1 {
		t.Errorf("listed %d endpoints", n)
	}
	del, err := sc.V1WebhookEndpoints.Delete(ctx, ep.ID, nil)
	if err != nil || !del.Deleted {
		t.Errorf("delete = %+v, %v", del, err)
	}
	_, err = sc.V1WebhookEndpoints.Create(ctx, &stripe.WebhookEndpointCreateParams{
		URL: stripe.String("https://hooks.example.com/go"), EnabledEvents: stripe.StringSlice([]string{"customer.created", "nope"})})
	var se *stripe.Error
	if !errors.As(err, &se) || se.Param != "enabled_events[1]" {
		t.Errorf("unknown event type: %v", err)
	}
}
