package dashboard_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/browsertest"
	"github.com/calmony/calmonypay/internal/pay"
)

// openAs opens the dashboard in tab as the holder of a session cookie.
func openAs(tab *browsertest.Tab, srv *apitest.Server, cookie, path string) {
	tab.Do(chromedp.Navigate(srv.URL+"/dashboard/signin"),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf("document.cookie = %q", "calmony_session="+cookie+"; path=/")),
		chromedp.Navigate(srv.URL+path))
}

// screenshot saves the page at 360 and 1280 px wide under
// $CALMONY_SCREENSHOTS, when set, for a person to look at.
func screenshot(t *testing.T, tab *browsertest.Tab, name string) {
	t.Helper()
	dir := os.Getenv("CALMONY_SCREENSHOTS")
	if dir == "" {
		return
	}
	for _, w := range []int64{360, 1280} {
		tab.Do(chromedp.EmulateViewport(w, 900))
		png, err := chromedp.Run(tab.Context(), chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, w)), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tab.Do(chromedp.EmulateViewport(1024, 900))
}

// TestDevelopersAndAdminPagesInBrowser drives the developers, team and
// settings pages in a real headless Chromium: create a key (its secret
// shown once, then only its hint), roll it with a grace period, revoke it
// after a confirmation, retry a webhook delivery (the receiver gets it
// again), invite a member (the link shown once) and change a setting (a
// bad value named, then a good one kept).
func TestDevelopersAndAdminPagesInBrowser(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{Webhooks: true, AllowPrivateWebhookURLs: true})
	var deliveries atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { deliveries.Add(1) }))
	t.Cleanup(recv.Close)
	v1(t, srv, srv.Key, "POST", "/v1/webhook_endpoints", url.Values{"url": {recv.URL + "/hook"}, "enabled_events[]": {"customer.created"}})
	_, cus := v1(t, srv, srv.Key, "POST", "/v1/customers", url.Values{"email": {"jenny@example.com"}})
	for deadline := time.Now().Add(10 * time.Second); deliveries.Load() < 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first delivery never came")
		}
	}
	admin := signIn(t, srv, "ada@example.com", pay.RoleAdmin)
	// The attempt is recorded once the receiver has answered.
	var eps struct{ Data []struct{ ID string } }
	admin.ok(false, "webhooks.list", nil, &eps)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var l struct{ Data []any }
		admin.ok(false, "webhooks.deliveries", map[string]any{"endpoint": eps.Data[0].ID}, &l)
		if len(l.Data) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first attempt was never recorded")
		}
	}

	tab := browsertest.New(t, 90*time.Second)
	openAs(tab, srv, admin.cookie, "/dashboard/developers")
	if got := tab.Text("h1"); got != "Developers" {
		t.Fatalf("developers page heading %q", got)
	}
	screenshot(t, tab, "developers")

	// Create a test key: its secret, once.
	tab.Do(chromedp.SetValue(chromedp.CSS("#key-mode"), "test"), chromedp.Click(chromedp.CSS("#create-key button")))
	secret := tab.Text("#secret")
	if !strings.HasPrefix(secret, pay.SecretKeyTestPrefix) {
		t.Fatalf("the new key's page shows %q", secret)
	}
	screenshot(t, tab, "key-created")
	if got := keyAuthenticates(t, srv, secret); got != 200 {
		t.Fatalf("the key shown answers %d on /v1", got)
	}
	hint := pay.SecretKeyTestPrefix + "…" + secret[len(secret)-4:]
	tab.Do(chromedp.Click(chromedp.CSS("a.button")))
	list := tab.Text("#key-list")
	if strings.Contains(list, secret) || !strings.Contains(list, hint) {
		t.Fatalf("after creating, the key list shows:\n%s", list)
	}
	body := tab.Text("body")
	if strings.Contains(body, secret[8:]) {
		t.Fatal("the developers page shows the secret again")
	}

	// Roll it with the default grace: a new secret, the old one keeps working a day.
	keyID := keyIDByHint(t, admin, hint)
	tab.Do(chromedp.Click(chromedp.CSS("#key-" + keyID + " form button")))
	rolled := tab.Text("#secret")
	if !strings.HasPrefix(rolled, pay.SecretKeyTestPrefix) || rolled == secret {
		t.Fatalf("the rolled key's page shows %q", rolled)
	}
	if got := tab.Text("#old-key"); !strings.Contains(got, hint) || !strings.Contains(got, "keeps working until") {
		t.Errorf("the rolled key's page says %q", got)
	}
	if a, b := keyAuthenticates(t, srv, secret), keyAuthenticates(t, srv, rolled); a != 200 || b != 200 {
		t.Errorf("during the grace: old %d, new %d", a, b)
	}
	tab.Do(chromedp.Click(chromedp.CSS("a.button")))
	if got := tab.Text("#key-" + keyID); !strings.Contains(got, "works until") {
		t.Errorf("the rolled key's row: %q", got)
	}

	// Revoke the new key, after a confirmation.
	newHint := pay.SecretKeyTestPrefix + "…" + rolled[len(rolled)-4:]
	newID := keyIDByHint(t, admin, newHint)
	tab.Do(chromedp.Click(chromedp.CSS("#key-" + newID + " a.danger")))
	if got := tab.Text("h1"); got != "Revoke "+newHint+"?" {
		t.Fatalf("confirmation page heading %q", got)
	}
	tab.Do(chromedp.Click(chromedp.CSS("#confirm")))
	if got := tab.Text(".notice"); !strings.Contains(got, "Revoked "+newHint) {
		t.Errorf("after revoking: %q", got)
	}
	time.Sleep(1100 * time.Millisecond) // the API's key cache
	if got := keyAuthenticates(t, srv, rolled); got != 401 {
		t.Errorf("the revoked key answers %d", got)
	}

	// Retry the webhook delivery: the receiver gets it again.
	if got := tab.Text(".deliveries .code"); got != "200" {
		t.Errorf("the delivery's response code shows %q", got)
	}
	tab.Do(chromedp.Click(chromedp.CSS("button.retry")))
	if got := waitText(t, tab, ".notice", "Sending customer.created"); !strings.Contains(got, "Sending customer.created") {
		t.Errorf("after retrying: %q", got)
	}
	for deadline := time.Now().Add(10 * time.Second); deliveries.Load() < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the retried delivery never came")
		}
	}
	// Add a second endpoint: its signing secret once; then delete it.
	tab.Do(chromedp.Navigate(srv.URL+"/dashboard/developers"),
		chromedp.SendKeys(chromedp.CSS("#ep-url"), recv.URL+"/second"),
		chromedp.SetValue(chromedp.CSS("#ep-events"), "invoice.paid, customer.created"),
		chromedp.Click(chromedp.CSS("#create-endpoint button")))
	if got := tab.Text("#secret"); !strings.HasPrefix(got, pay.WebhookSecretPrefix) {
		t.Fatalf("the new endpoint's page shows %q", got)
	}
	tab.Do(chromedp.Click(chromedp.CSS("a.button")))
	if got := tab.Text("#webhooks"); !strings.Contains(got, recv.URL+"/second") || !strings.Contains(got, "invoice.paid, customer.created") {
		t.Fatalf("the endpoints show:\n%s", got)
	}
	tab.Do(chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll(".endpoint")].find(e => e.textContent.includes("/second")).querySelector("a.danger").click()`))
	if got := tab.Text("h1"); got != "Delete the endpoint "+recv.URL+"/second?" {
		t.Fatalf("confirmation page heading %q", got)
	}
	tab.Do(chromedp.Click(chromedp.CSS("#confirm")))
	if got := waitText(t, tab, ".notice", "Deleted"); got != "Deleted the endpoint." || strings.Contains(tab.Text("#webhooks"), "/second") {
		t.Errorf("after deleting: %q", got)
	}

	// The event's page shows its payload.
	tab.Do(chromedp.Navigate(srv.URL + "/dashboard/developers"))
	tab.Do(chromedp.Click(chromedp.CSS("#event-list a")))
	if got := tab.Text("#payload"); !strings.Contains(got, `"email": "jenny@example.com"`) || !strings.Contains(got, cus["id"].(string)) {
		t.Errorf("the event's payload shows:\n%s", got)
	}
	screenshot(t, tab, "event")
	tab.Do(chromedp.Navigate(srv.URL + "/dashboard/developers"))
	screenshot(t, tab, "developers-after")

	// Invite a member: the link, once.
	tab.Do(chromedp.Navigate(srv.URL+"/dashboard/team"),
		chromedp.SendKeys(chromedp.CSS("#invite-email"), "viv@example.com"),
		chromedp.SetValue(chromedp.CSS("#invite-role"), "viewer"),
		chromedp.Click(chromedp.CSS("#invite button")))
	link := tab.Text("#secret")
	if !strings.HasPrefix(link, srv.URL+"/api/auth/invite?token=") {
		t.Fatalf("the invitation page shows %q", link)
	}
	screenshot(t, tab, "invited")
	tab.Do(chromedp.Click(chromedp.CSS("a.button")))
	if got := tab.Text("#invites"); !strings.Contains(got, "viv@example.com") || !strings.Contains(got, "viewer") {
		t.Errorf("pending invitations: %q", got)
	}
	screenshot(t, tab, "team")

	// Change a setting: a bad VAT number is named, a good one kept.
	tab.Do(chromedp.Navigate(srv.URL+"/dashboard/settings"),
		chromedp.SendKeys(chromedp.CSS("#b-name"), "Calmony Ltd"),
		chromedp.SendKeys(chromedp.CSS("#b-vat"), "GB12"),
		chromedp.Click(chromedp.CSS("#save-business")))
	if got := tab.Text("#business-error"); !strings.HasPrefix(got, "VAT number:") {
		t.Errorf("a bad VAT number: %q", got)
	}
	if !tab.Has(`#b-vat[aria-invalid="true"]`) {
		t.Error("the VAT number field is not marked invalid")
	}
	screenshot(t, tab, "settings-error")
	tab.Do(chromedp.SetValue(chromedp.CSS("#b-vat"), "GB 123 4567 89"), chromedp.Click(chromedp.CSS("#save-business")))
	if got := tab.Text(".notice"); got != "Saved." {
		t.Errorf("after saving: %q", got)
	}
	vat, err := chromedp.Run(tab.Context(), chromedp.Value(chromedp.CSS("#b-vat")))
	if err != nil || vat != "GB123456789" {
		t.Errorf("the VAT number kept: %q", vat)
	}
	screenshot(t, tab, "settings")
	tab.Do(chromedp.Navigate(srv.URL + "/dashboard/audit"))
	if got := tab.Text("#audit"); !strings.Contains(got, "settings.updated") || !strings.Contains(got, "member.invited") || !strings.Contains(got, "api_key.rolled") {
		t.Errorf("the audit log shows:\n%s", got)
	}
	screenshot(t, tab, "audit")
}

// waitText waits (10 s at most) for the element matching sel to contain
// want, as a page just submitted replaces the one before, and returns its
// text then.
func waitText(t *testing.T, tab *browsertest.Tab, sel, want string) string {
	t.Helper()
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		got, _ = chromedp.Run(tab.Context(), chromedp.Evaluate[string](fmt.Sprintf("(document.querySelector(%q) || {}).textContent || ''", sel)))
		if strings.Contains(got, want) {
			break
		}
	}
	return strings.TrimSpace(got)
}

// keyIDByHint finds a key's ID by its hint, through keys.list.
func keyIDByHint(t *testing.T, c *client, hint string) string {
	t.Helper()
	var keys struct{ Data []struct{ ID, Hint string } }
	_, e := c.query("keys.list", nil)
	if err := json.Unmarshal(e.Result.Data, &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys.Data {
		if k.Hint == hint {
			return k.ID
		}
	}
	t.Fatalf("no key with hint %s", hint)
	return ""
}
