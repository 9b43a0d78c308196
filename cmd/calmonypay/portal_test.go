package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestPortalLinkAndRevoke: `portal link` prints a working portal URL alone
// on its last line, `portal revoke` ends it, and bad input is refused.
func TestPortalLinkAndRevoke(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	base, banner, stop := te.serve()
	defer stop()
	te.env["CALMONY_PUBLIC_URL"] = base
	key := keyRE.FindString(banner)
	status, body := request(t, "POST", base+"/v1/customers", key, url.Values{"email": {"support@example.com"}})
	if status != 200 {
		t.Fatalf("create customer: %d %s", status, body)
	}
	var cus struct{ ID string }
	if err := json.Unmarshal([]byte(body), &cus); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := te.cmd("portal", "link", "--customer", cus.ID, "--return-url", "https://shop.example.com/account")
	if code != 0 {
		t.Fatalf("portal link = %d %s %s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	link := lines[len(lines)-1]
	if !strings.HasPrefix(link, base+"/portal/") || strings.Contains(link, " ") {
		t.Fatalf("last line %q is not the portal URL alone", link)
	}
	res, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("portal page: %d", res.StatusCode)
	}
	status, body = request(t, "GET", base+"/v1/events?type=billing_portal.session.created", key, nil)
	if status != 200 || !strings.Contains(body, cus.ID) || strings.Contains(body, "/portal/") {
		t.Errorf("the session's event: %d %s", status, body)
	}

	for _, bad := range [][]string{
		{"portal", "link"},
		{"portal", "link", "--customer", "cus_nope"},
		{"portal", "link", "--customer", cus.ID, "--return-url", "http://127.0.0.1/"},
		{"portal"},
	} {
		if code, out, _ := te.cmd(bad...); code == 0 || strings.Contains(out, "/portal/") {
			t.Errorf("%v = %d %q, want a failure and no URL", bad, code, out)
		}
	}

	if code, out, errOut := te.cmd("portal", "revoke", "--customer", cus.ID); code != 0 || !strings.Contains(out, "Revoked 1 portal session") {
		t.Fatalf("portal revoke = %d %q %q", code, out, errOut)
	}
	res, err = http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusGone {
		t.Errorf("revoked portal page: %d, want 410", res.StatusCode)
	}
}
