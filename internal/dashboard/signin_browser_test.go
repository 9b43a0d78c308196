package dashboard_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/calmony/calmonypay/internal/browsertest"
	"github.com/calmony/calmonypay/internal/pay"
)

// TestSignInInBrowser: in a real headless Chromium, a sign-in link lands
// on the overview signed in; the sign-out button signs out; the sign-in
// page's button signs in through the OpenID Connect provider and lands
// where the person was going. CALMONY_SCREENSHOTS=DIR keeps screenshots
// of the sign-in page at 360 and 1280 px.
func TestSignInInBrowser(t *testing.T) {
	t.Parallel()
	env := newAuthEnv(t, authOptions{OIDC: true})
	env.addMember("bob@example.com", pay.RoleViewer)
	tab := browsertest.New(t, 60*time.Second)

	// A link: one click, signed in.
	tab.Do(chromedp.Navigate(env.URL + env.link("ada@example.com", pay.RoleAdmin)))
	if got := tab.Text("main h1"); got != "Overview" {
		t.Fatalf("after the link the browser shows %q", got)
	}
	if loc := tab.Location(); loc != env.URL+"/dashboard/" {
		t.Errorf("landed on %s", loc)
	}
	if who := tab.Text(".who"); !strings.Contains(who, "ada@example.com") || !strings.Contains(who, "admin") {
		t.Errorf("signed in as %q", who)
	}
	// Sign out.
	tab.Do(chromedp.Click(chromedp.CSS(`form.signout button`)))
	if got := tab.Text(".signin h1"); got != "Sign in to Calmony Pay" {
		t.Fatalf("after signing out the browser shows %q", got)
	}
	tab.Do(chromedp.Navigate(env.URL + "/dashboard/"))
	if got := tab.Text(".signin h1"); got != "Sign in to Calmony Pay" || !strings.Contains(tab.Location(), "/dashboard/signin?next=") {
		t.Errorf("signed out, the overview shows %q at %s", got, tab.Location())
	}

	// The provider's button, from the sign-in page the overview sent us to.
	screenshots(t, tab, "signin")
	env.idp.QueueUser(user("bob-sub", "bob@example.com", true))
	tab.Do(chromedp.Click(chromedp.CSS(`a.button[href^="/api/auth/oidc/start"]`)))
	who := tab.Text(".who") // only once signed in
	if got := tab.Text("main h1"); got != "Overview" {
		t.Fatalf("after the provider the browser shows %q", got)
	}
	if loc := tab.Location(); loc != env.URL+"/dashboard/" {
		t.Errorf("landed on %s", loc)
	}
	if !strings.Contains(who, "bob@example.com") || !strings.Contains(who, "viewer") {
		t.Errorf("signed in as %q", who)
	}

	// A used link shows why, on the sign-in page.
	path := env.link("ada@example.com", "")
	env.browser().get(path)
	tab.Do(chromedp.Navigate(env.URL + path))
	if got := tab.Text("p.error"); !strings.Contains(got, "used already") {
		t.Errorf("a used link shows %q", got)
	}
	screenshots(t, tab, "signin-error")
}

// screenshots saves the page at 360 and 1280 px wide into
// $CALMONY_SCREENSHOTS, if set.
func screenshots(t *testing.T, tab *browsertest.Tab, name string) {
	t.Helper()
	dir := os.Getenv("CALMONY_SCREENSHOTS")
	if dir == "" {
		return
	}
	for _, width := range []int64{360, 1280} {
		tab.Do(chromedp.EmulateViewport(width, 800))
		png, err := chromedp.Run(tab.Context(), chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-"+map[int64]string{360: "360", 1280: "1280"}[width]+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tab.Do(chromedp.EmulateViewport(1024, 900))
}
