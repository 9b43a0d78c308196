package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// call makes one request and decodes the JSON answer.
type call struct {
	method, path, body, contentType string
	key                             string
	header                          map[string]string
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t *testing.T, srv *apitest.Server, c call) answer {
	t.Helper()
	req, err := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.key != "-" {
		key := c.key
		if key == "" {
			key = srv.Key
		}
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if c.body != "" {
		req.Header.Set("Content-Type", cmpOr(c.contentType, "application/x-www-form-urlencoded"))
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	json.Unmarshal(raw, &a.body)
	return a
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (a answer) err(field string) string {
	e, _ := a.body["error"].(map[string]any)
	s, _ := e[field].(string)
	return s
}

func wantError(t *testing.T, a answer, status int, typ, code, param string) {
	t.Helper()
	if a.status != status || a.err("type") != typ || a.err("code") != code || a.err("param") != param {
		t.Errorf("got %d %s, want %d type=%s code=%s param=%s", a.status, a.raw, status, typ, code, param)
	}
	if a.err("message") == "" {
		t.Errorf("error without a message: %s", a.raw)
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	revoked := apitest.NewKey(t, srv.DB, srv.Project, false)
	rec, err := srv.DB.FindAPIKeyByHash(context.Background(), pay.HashKey(revoked))
	if err != nil {
		t.Fatal(err)
	}
	srv.DB.Tx(context.Background(), func(tx *store.Tx) error { return tx.RevokeAPIKey(context.Background(), rec.ID) })
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(srv.Key+":"))
	for _, tt := range []struct {
		name   string
		header string
		ok     bool
	}{
		{"bearer", "Bearer " + srv.Key, true},
		{"basic", basic, true},
		{"missing", "", false},
		{"malformed", "Bearer nonsense", false},
		{"unknown", "Bearer sk_test_" + strings.Repeat("a", 32), false},
		{"revoked", "Bearer " + revoked, false},
		{"publishable", "Bearer pk_test_" + strings.Repeat("a", 32), false},
		{"key in basic password", "Basic " + base64.StdEncoding.EncodeToString([]byte(":"+srv.Key)), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := do(t, srv, call{method: "GET", path: "/v1/customers", key: "-", header: map[string]string{"Authorization": tt.header}})
			if tt.ok {
				if a.status != 200 {
					t.Fatalf("status %d %s, want 200", a.status, a.raw)
				}
				return
			}
			wantError(t, a, 401, "authentication_error", "api_key_invalid", "")
			if strings.Contains(a.raw, "sk_test_") && strings.Contains(a.raw, strings.TrimPrefix(tt.header, "Bearer ")) && tt.header != "" {
				t.Errorf("401 body echoes the key: %s", a.raw)
			}
		})
	}
	// A key in the query string is never accepted.
	a := do(t, srv, call{method: "GET", path: "/v1/customers?key=" + srv.Key, key: "-"})
	if a.status != 401 {
		t.Errorf("key in query string: status %d, want 401", a.status)
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	want := map[string]string{
		"Strict-Transport-Security":    "max-age=63072000; includeSubDomains; preload",
		"X-Frame-Options":              "DENY",
		"X-Content-Type-Options":       "nosniff",
		"Referrer-Policy":              "strict-origin-when-cross-origin",
		"Permissions-Policy":           "camera=(), microphone=(), geolocation=()",
		"Content-Security-Policy":      "default-src 'none'; frame-ancestors 'none'",
		"Cross-Origin-Resource-Policy": "same-origin",
	}
	for _, c := range []call{
		{method: "GET", path: "/"},
		{method: "GET", path: "/v1/customers"},
		{method: "GET", path: "/v1/customers", key: "-"},
		{method: "GET", path: "/v1/customers/cus_missing"},
		{method: "GET", path: "/nowhere"},
		{method: "GET", path: "/v1/nowhere"},
		{method: "PUT", path: "/v1/customers/cus_x", body: "a=b"},
		{method: "POST", path: "/v1/customers", body: "bogus=1"},
		{method: "OPTIONS", path: "/v1/customers", header: map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}},
		{method: "GET", path: "/api/trpc/x"},
	} {
		a := do(t, srv, c)
		for k, v := range want {
			if got := a.header.Get(k); got != v {
				t.Errorf("%s %s (%d): %s = %q, want %q", c.method, c.path, a.status, k, got, v)
			}
		}
		if a.header.Get("Request-Id") == "" || a.header.Get("Server") != "" {
			t.Errorf("%s %s: Request-Id %q, Server %q", c.method, c.path, a.header.Get("Request-Id"), a.header.Get("Server"))
		}
	}
	if a := do(t, srv, call{method: "GET", path: "/", key: "-"}); a.status != 200 {
		t.Errorf("GET / = %d, want 200 for scanners", a.status)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	for _, tt := range []struct {
		name             string
		c                call
		status           int
		typ, code, param string
	}{
		{"unknown param", call{method: "POST", path: "/v1/customers", body: "email=a@b.c&nmae=x"}, 400, "invalid_request_error", "parameter_unknown", "nmae"},
		{"unknown nested param", call{method: "POST", path: "/v1/customers", body: "address[lin1]=x"}, 400, "invalid_request_error", "parameter_unknown", "address[lin1]"},
		{"bad email", call{method: "POST", path: "/v1/customers", body: "email=nope"}, 400, "invalid_request_error", "email_invalid", "email"},
		{"too long name", call{method: "POST", path: "/v1/customers", body: "name=" + strings.Repeat("x", 300)}, 400, "invalid_request_error", "parameter_invalid_string_too_long", "name"},
		{"bad tax_exempt", call{method: "POST", path: "/v1/customers", body: "tax_exempt=maybe"}, 400, "invalid_request_error", "parameter_invalid", "tax_exempt"},
		{"metadata key too long", call{method: "POST", path: "/v1/customers", body: "metadata[" + strings.Repeat("k", 41) + "]=v"}, 400, "invalid_request_error", "parameter_invalid", "metadata"},
		{"metadata value too long", call{method: "POST", path: "/v1/customers", body: "metadata[k]=" + strings.Repeat("v", 501)}, 400, "invalid_request_error", "parameter_invalid", "metadata[k]"},
		{"bad json", call{method: "POST", path: "/v1/customers", body: `{"email":`, contentType: "application/json"}, 400, "invalid_request_error", "parameters_malformed", ""},
		{"unsupported content type", call{method: "POST", path: "/v1/customers", body: "<x/>", contentType: "application/xml"}, 415, "invalid_request_error", "invalid_content_type", ""},
		{"limit too big", call{method: "GET", path: "/v1/customers?limit=1000"}, 400, "invalid_request_error", "parameter_invalid_integer", "limit"},
		{"limit not a number", call{method: "GET", path: "/v1/customers?limit=ten"}, 400, "invalid_request_error", "parameter_invalid_integer", "limit"},
		{"both cursors", call{method: "GET", path: "/v1/customers?starting_after=cus_a&ending_before=cus_b"}, 400, "invalid_request_error", "parameter_invalid", "ending_before"},
		{"unknown cursor", call{method: "GET", path: "/v1/customers?starting_after=cus_nope"}, 404, "invalid_request_error", "resource_missing", "starting_after"},
		{"unknown customer", call{method: "GET", path: "/v1/customers/cus_nope"}, 404, "invalid_request_error", "resource_missing", "id"},
		{"update unknown customer", call{method: "POST", path: "/v1/customers/cus_nope", body: "name=x"}, 404, "invalid_request_error", "resource_missing", "id"},
		{"delete unknown customer", call{method: "DELETE", path: "/v1/customers/cus_nope"}, 404, "invalid_request_error", "resource_missing", "id"},
		{"unknown payment method", call{method: "POST", path: "/v1/customers", body: "invoice_settings[default_payment_method]=pm_x"}, 404, "invalid_request_error", "resource_missing", "invoice_settings[default_payment_method]"},
		{"expand not expandable", call{method: "GET", path: "/v1/customers?expand[]=data.email"}, 400, "invalid_request_error", "parameter_invalid", "expand"},
		{"oversize body", call{method: "POST", path: "/v1/customers", body: "description=" + strings.Repeat("x", 2<<20)}, 413, "invalid_request_error", "request_too_large", ""},
		{"stripe-account header", call{method: "GET", path: "/v1/customers", header: map[string]string{"Stripe-Account": "acct_1"}}, 400, "invalid_request_error", "header_unsupported", "Stripe-Account"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wantError(t, do(t, srv, tt.c), tt.status, tt.typ, tt.code, tt.param)
		})
	}
	// None of them wrote anything.
	a := do(t, srv, call{method: "GET", path: "/v1/customers"})
	if n := len(a.body["data"].([]any)); n != 0 {
		t.Errorf("%d customers after bad requests, want 0", n)
	}
	if a := do(t, srv, call{method: "GET", path: "/v1/events"}); len(a.body["data"].([]any)) != 0 {
		t.Errorf("events written by bad requests: %s", a.raw)
	}
}

func TestJSONAndFormBodies(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	form := do(t, srv, call{method: "POST", path: "/v1/customers", body: "email=j%40example.com&metadata%5Bk%5D=v&address[city]=Leeds"})
	js := do(t, srv, call{method: "POST", path: "/v1/customers", contentType: "application/json",
		body: `{"email":"j@example.com","metadata":{"k":"v"},"address":{"city":"Leeds"}}`})
	for _, a := range []answer{form, js} {
		addr, _ := a.body["address"].(map[string]any)
		md, _ := a.body["metadata"].(map[string]any)
		if a.status != 200 || a.body["email"] != "j@example.com" || md["k"] != "v" || addr["city"] != "Leeds" {
			t.Errorf("create = %d %s", a.status, a.raw)
		}
	}
	id := form.body["id"].(string)
	// An empty string unsets; metadata[k]= deletes a key; PATCH works as POST.
	a := do(t, srv, call{method: "PATCH", path: "/v1/customers/" + id, body: "email=&metadata[k]=&metadata[n]=1&address="})
	md, _ := a.body["metadata"].(map[string]any)
	if a.status != 200 || a.body["email"] != nil || md["k"] != nil || md["n"] != "1" || a.body["address"] != nil {
		t.Errorf("update = %d %s", a.status, a.raw)
	}
	a = do(t, srv, call{method: "POST", path: "/v1/customers/" + id, body: "metadata="})
	if md, _ := a.body["metadata"].(map[string]any); a.status != 200 || len(md) != 0 {
		t.Errorf("metadata= should clear all: %s", a.raw)
	}
	a = do(t, srv, call{method: "GET", path: "/v1/customers/" + id + "?expand[]=invoice_settings.default_payment_method"})
	if a.status != 200 {
		t.Errorf("expand of an empty field = %d %s", a.status, a.raw)
	}
	// Updates emit customer.updated with previous_attributes.
	ev := do(t, srv, call{method: "GET", path: "/v1/events?type=customer.updated&limit=1"})
	data := ev.body["data"].([]any)
	if len(data) != 1 {
		t.Fatalf("customer.updated events: %s", ev.raw)
	}
	prev := data[0].(map[string]any)["data"].(map[string]any)["previous_attributes"].(map[string]any)
	if _, ok := prev["metadata"]; !ok {
		t.Errorf("previous_attributes = %v, want metadata", prev)
	}
	// The create's answer is the customer.created event's object, with or
	// without expand.
	for _, path := range []string{"/v1/customers", "/v1/customers?expand[]=invoice_settings.default_payment_method"} {
		a := do(t, srv, call{method: "POST", path: path, body: "email=e@example.com&name=E"})
		ev := do(t, srv, call{method: "GET", path: "/v1/events?type=customer.created&limit=1"})
		data := ev.body["data"].([]any)
		if a.status != 200 || len(data) != 1 || !reflect.DeepEqual(data[0].(map[string]any)["data"].(map[string]any)["object"], a.body) {
			t.Errorf("%s answered %d %s; its event: %s", path, a.status, a.raw, ev.raw)
		}
	}
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	key := map[string]string{"Idempotency-Key": "order-1"}
	first := do(t, srv, call{method: "POST", path: "/v1/customers", body: "email=a@example.com&name=A", header: key})
	// Same parameters in another order: replayed.
	second := do(t, srv, call{method: "POST", path: "/v1/customers", body: "name=A&email=a@example.com", header: key})
	if first.status != 200 || second.raw != first.raw || second.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: first %d %s; second %d %s %v", first.status, first.raw, second.status, second.raw, second.header)
	}
	if first.header.Get("Idempotent-Replayed") != "" {
		t.Error("first response marked as replayed")
	}
	other := do(t, srv, call{method: "POST", path: "/v1/customers", body: "email=b@example.com", header: key})
	wantError(t, other, 400, "idempotency_error", "", "")
	l := do(t, srv, call{method: "GET", path: "/v1/customers"})
	if n := len(l.body["data"].([]any)); n != 1 {
		t.Errorf("%d customers, want 1", n)
	}
	// A failed validation does not use up the key.
	bad := do(t, srv, call{method: "POST", path: "/v1/customers", body: "email=nope", header: map[string]string{"Idempotency-Key": "k2"}})
	good := do(t, srv, call{method: "POST", path: "/v1/customers", body: "email=ok@example.com", header: map[string]string{"Idempotency-Key": "k2"}})
	if bad.status != 400 || good.status != 200 {
		t.Errorf("key after a validation error: %d then %d %s", bad.status, good.status, good.raw)
	}
	// Keys are per project: another project's same key is a new request.
	_, otherKey := apitest.NewProject(t, srv.DB)
	a := do(t, srv, call{method: "POST", path: "/v1/customers", body: "email=a@example.com&name=A", header: key, key: otherKey})
	if a.status != 200 || a.body["id"] == first.body["id"] {
		t.Errorf("same key in another project: %d %s", a.status, a.raw)
	}
	tooLong := do(t, srv, call{method: "POST", path: "/v1/customers", body: "name=A", header: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}})
	wantError(t, tooLong, 400, "invalid_request_error", "idempotency_key_invalid", "Idempotency-Key")
}

// TestIdempotencyConcurrent sends one keyed create from 16 clients at once:
// exactly one customer is created and every client gets its response (on
// PostgreSQL the losers of the race roll back and replay it).
func TestIdempotencyConcurrent(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, srv *apitest.Server) {
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			statuses = map[int]int{}
			ids      = map[string]bool{}
		)
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := do(t, srv, call{method: "POST", path: "/v1/customers", body: "email=race@example.com", header: map[string]string{"Idempotency-Key": "race"}})
				mu.Lock()
				defer mu.Unlock()
				statuses[a.status]++
				if a.status == 200 {
					ids[a.body["id"].(string)] = true
				}
			}()
		}
		wg.Wait()
		if len(ids) != 1 || statuses[200] != 16 {
			t.Errorf("statuses %v, distinct customers %d; want 16 × 200 and one customer", statuses, len(ids))
		}
		l := do(t, srv, call{method: "GET", path: "/v1/customers?email=race@example.com"})
		if n := len(l.body["data"].([]any)); n != 1 {
			t.Errorf("%d customers stored, want 1", n)
		}
	})
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{RateLimit: 5})
	limited := 0
	for i := 0; i < 20; i++ {
		a := do(t, srv, call{method: "GET", path: "/v1/customers"})
		if a.status == 429 {
			limited++
			wantError(t, a, 429, "invalid_request_error", "rate_limit", "")
			if a.header.Get("Retry-After") != "1" {
				t.Errorf("Retry-After = %q", a.header.Get("Retry-After"))
			}
		}
	}
	if limited == 0 {
		t.Error("20 quick requests at 5/s: none limited")
	}
	// Another key has its own bucket, and preflights are never limited.
	other := apitest.NewKey(t, srv.DB, srv.Project, false)
	if a := do(t, srv, call{method: "GET", path: "/v1/customers", key: other}); a.status != 200 {
		t.Errorf("other key: %d", a.status)
	}
	for i := 0; i < 20; i++ {
		a := do(t, srv, call{method: "OPTIONS", path: "/v1/customers", key: "-", header: map[string]string{"Origin": "https://x.example", "Access-Control-Request-Method": "POST"}})
		if a.status != 204 {
			t.Fatalf("preflight %d: status %d", i, a.status)
		}
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	otherProject, otherKey := apitest.NewProject(t, srv.DB)
	ctx := context.Background()
	srv.DB.Tx(ctx, func(tx *store.Tx) error { return tx.AddOrigin(ctx, srv.Project, "https://shop.example.com") })
	srv.DB.Tx(ctx, func(tx *store.Tx) error { return tx.AddOrigin(ctx, otherProject, "https://other.example.com") })
	preflight := func(origin string) answer {
		return do(t, srv, call{method: "OPTIONS", path: "/v1/customers", key: "-", header: map[string]string{
			"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type,idempotency-key"}})
	}
	// The origin cache refreshes at most once a second.
	waitFor(t, func() bool {
		return preflight("https://shop.example.com").header.Get("Access-Control-Allow-Origin") != ""
	})

	a := preflight("https://shop.example.com")
	if a.status != 204 || a.header.Get("Access-Control-Allow-Origin") != "https://shop.example.com" || !strings.Contains(a.header.Get("Access-Control-Allow-Headers"), "Idempotency-Key") {
		t.Errorf("allowed preflight: %d %v", a.status, a.header)
	}
	for _, hostile := range []string{"https://shop.example.com.evil.net", "https://evilshop.example.com", "http://shop.example.com",
		"https://shop.example.com:8443", "null", "*", "https://SHOP.example.com", "https://shop.example.com/", ""} {
		for _, a := range []answer{
			preflight(hostile),
			do(t, srv, call{method: "GET", path: "/v1/customers", header: map[string]string{"Origin": hostile}}),
		} {
			if got := a.header.Get("Access-Control-Allow-Origin"); got != "" {
				t.Errorf("origin %q got ACAO %q", hostile, got)
			}
		}
	}
	// A real request is checked against the caller's project.
	own := do(t, srv, call{method: "GET", path: "/v1/customers", header: map[string]string{"Origin": "https://shop.example.com"}})
	if own.header.Get("Access-Control-Allow-Origin") != "https://shop.example.com" || !strings.Contains(own.header.Get("Vary"), "Origin") {
		t.Errorf("own origin: %v", own.header)
	}
	cross := do(t, srv, call{method: "GET", path: "/v1/customers", key: otherKey, header: map[string]string{"Origin": "https://shop.example.com"}})
	if cross.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("other project's key got ACAO for shop.example.com")
	}
	for _, a := range []answer{a, own, cross} {
		if a.header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("ACAC sent on /v1: %v", a.header)
		}
	}
}

// TestSettingsApplyWithinASecond: a CORS allowlist or currency change made
// after an idle spell applies to the very first request a second later,
// not only to the ones after it.
func TestSettingsApplyWithinASecond(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	ctx := context.Background()
	time.Sleep(1500 * time.Millisecond) // idle: nothing asks for the settings
	if err := srv.DB.Tx(ctx, func(tx *store.Tx) error {
		if err := tx.AddOrigin(ctx, srv.Project, "https://late.example.com"); err != nil {
			return err
		}
		return tx.SetProjectCurrencies(ctx, srv.Project, []string{"gbp", "eur"})
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(projectSettingsDelay)
	pi := do(t, srv, call{method: "POST", path: "/v1/payment_intents", body: "amount=500&currency=eur", contentType: "application/x-www-form-urlencoded"})
	if pi.status != 200 {
		t.Errorf("first euro payment a second after euros were enabled: %d %s", pi.status, pi.body)
	}
	a := do(t, srv, call{method: "OPTIONS", path: "/v1/customers", key: "-", header: map[string]string{
		"Origin": "https://late.example.com", "Access-Control-Request-Method": "POST"}})
	if a.header.Get("Access-Control-Allow-Origin") != "https://late.example.com" {
		t.Errorf("first preflight a second after the origin was added: %d %v", a.status, a.header)
	}
}

// projectSettingsDelay is how long the API promises a settings change takes.
const projectSettingsDelay = time.Second

func TestTRPCCORS(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	app := do(t, srv, call{method: "GET", path: "/api/trpc/x", key: "-", header: map[string]string{"Origin": "https://app.calmony.test"}})
	if app.header.Get("Access-Control-Allow-Origin") != "https://app.calmony.test" || app.header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("app origin: %v", app.header)
	}
	evil := do(t, srv, call{method: "GET", path: "/api/trpc/x", key: "-", header: map[string]string{"Origin": "https://evil.example"}})
	if evil.header.Get("Access-Control-Allow-Origin") != "" || evil.header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("evil origin got CORS headers: %v", evil.header)
	}
	post := do(t, srv, call{method: "POST", path: "/api/trpc/x", key: "-", body: "{}", contentType: "application/json",
		header: map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}})
	if post.status != 403 {
		t.Errorf("cross-site POST to trpc: %d, want 403", post.status)
	}
}

func TestListPaginationAndFilters(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	for i := 0; i < 5; i++ {
		do(t, srv, call{method: "POST", path: "/v1/customers", body: "email=" + url.QueryEscape([]string{"x@example.com", "y@example.com"}[i%2])})
	}
	a := do(t, srv, call{method: "GET", path: "/v1/customers?limit=2"})
	if a.body["object"] != "list" || a.body["url"] != "/v1/customers" || a.body["has_more"] != true || len(a.body["data"].([]any)) != 2 {
		t.Errorf("page = %s", a.raw)
	}
	a = do(t, srv, call{method: "GET", path: "/v1/customers?email=x%40example.com"})
	if n := len(a.body["data"].([]any)); n != 3 {
		t.Errorf("email filter: %d, want 3", n)
	}
	a = do(t, srv, call{method: "GET", path: "/v1/customers?created[gt]=0&created[lte]=99999999999"})
	if n := len(a.body["data"].([]any)); n != 5 {
		t.Errorf("created range: %d, want 5", n)
	}
}

// waitFor polls cond for up to three seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 60; i++ {
		if cond() {
			return
		}
		sleep50ms()
	}
	t.Fatal("condition not met in 3s")
}

func TestRevocationTakesEffectWithinASecond(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	if a := do(t, srv, call{method: "GET", path: "/v1/customers"}); a.status != 200 {
		t.Fatalf("before revocation: %d", a.status)
	}
	rec, err := srv.DB.FindAPIKeyByHash(context.Background(), pay.HashKey(srv.Key))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.DB.Tx(context.Background(), func(tx *store.Tx) error { return tx.RevokeAPIKey(context.Background(), rec.ID) }); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitFor(t, func() bool { return do(t, srv, call{method: "GET", path: "/v1/customers"}).status == 401 })
	// The key cache lives one second; allow for a loaded test machine.
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("revocation took %v", d)
	}
}

// TestEventRequest: an event records the request that caused it, its
// Request-Id and its Idempotency-Key, on a plain write and a staged one.
func TestEventRequest(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{})
	cus := do(t, srv, call{method: "POST", path: "/v1/customers", body: "name=A", header: map[string]string{"Idempotency-Key": "cus-key"}})
	pi := do(t, srv, call{method: "POST", path: "/v1/payment_intents", body: "amount=500&currency=gbp", header: map[string]string{"Idempotency-Key": "pi-key"}})
	plain := do(t, srv, call{method: "POST", path: "/v1/customers", body: "name=B"})
	events := do(t, srv, call{method: "GET", path: "/v1/events?limit=10"})
	data, _ := events.body["data"].([]any)
	for _, c := range []struct {
		created answer
		typ     string
		key     any
	}{{cus, "customer.created", "cus-key"}, {pi, "payment_intent.created", "pi-key"}, {plain, "customer.created", nil}} {
		var req map[string]any
		for _, e := range data {
			e, _ := e.(map[string]any)
			obj, _ := e["data"].(map[string]any)["object"].(map[string]any)
			if e["type"] == c.typ && obj["id"] == c.created.body["id"] {
				req, _ = e["request"].(map[string]any)
			}
		}
		if want := c.created.header.Get("Request-Id"); req == nil || want == "" || req["id"] != want || req["idempotency_key"] != c.key {
			t.Errorf("%s %v: request %v, want id %q and idempotency_key %v", c.typ, c.created.body["id"], req, want, c.key)
		}
	}
}
