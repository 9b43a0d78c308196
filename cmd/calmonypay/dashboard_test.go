package main

import (
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"testing"
)

var linkRE = regexp.MustCompile(`^http://[^ ]+/api/auth/link\?token=[0-9A-Za-z]{32}$`)

// TestDashboardLinkCommand: the link is alone on the last line of stdout;
// the person and role follow the flags.
func TestDashboardLinkCommand(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	te.migrate()
	te.env["CALMONY_PUBLIC_URL"] = "http://pay.example.test:8080/"
	code, out, errOut := te.cmd("dashboard", "link")
	if code != 0 || !linkRE.MatchString(lastLine(out)) || !strings.HasPrefix(lastLine(out), "http://pay.example.test:8080/api/auth/link?token=") ||
		!strings.Contains(out, "admin@localhost") {
		t.Fatalf("dashboard link = %d %q %q", code, out, errOut)
	}
	// Someone who is not a member needs a role.
	if code, out, errOut := te.cmd("dashboard", "link", "--email", "dev@example.com"); code == 0 || !strings.Contains(errOut, "--role") {
		t.Errorf("a non-member without --role = %d %q %q", code, out, errOut)
	}
	code, out, errOut = te.cmd("dashboard", "link", "--email", "dev@example.com", "--role", "developer")
	if code != 0 || !linkRE.MatchString(lastLine(out)) || !strings.Contains(out, "dev@example.com") {
		t.Errorf("--role developer = %d %q %q", code, out, errOut)
	}
	for _, bad := range [][]string{
		{"dashboard", "link", "--role", "owner"},
		{"dashboard", "link", "--email", "not an address", "--role", "admin"},
		{"dashboard", "link", "--project", "proj_nope"},
		{"dashboard", "link", "extra"},
		{"dashboard"},
		{"dashboard", "nope"},
	} {
		if code, out, _ := te.cmd(bad...); code == 0 || linkRE.MatchString(lastLine(out)) {
			t.Errorf("%q = %d %q", bad, code, out)
		}
	}
	// Without a public URL: from --addr, as serve makes it.
	delete(te.env, "CALMONY_PUBLIC_URL")
	if _, out, _ := te.cmd("dashboard", "link", "--addr", "127.0.0.1:9999"); !strings.HasPrefix(lastLine(out), "http://127.0.0.1:9999/api/auth/link?token=") {
		t.Errorf("from --addr: %q", out)
	}
}

// TestServeBannerSignInLink: the first serve prints a one-time link that
// signs the newcomer in to the dashboard; a restart prints none.
func TestServeBannerSignInLink(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	base, banner, stop := te.serve()
	var link string
	for _, f := range strings.Fields(banner) {
		if strings.Contains(f, "/api/auth/link?token=") {
			link = f
		}
	}
	if !linkRE.MatchString(link) || !strings.HasPrefix(link, base+"/") || !strings.Contains(banner, base+"/dashboard/") {
		t.Fatalf("banner lacks a sign-in link:\n%s", banner)
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	resp, err := hc.Get(link) // followed to the overview
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/dashboard/" {
		t.Errorf("following the banner's link: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	resp, err = hc.Get(base + "/api/trpc/session.get")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("signed in through the banner's link: session.get = %d", resp.StatusCode)
	}
	// Once only.
	resp, err = http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone {
		t.Errorf("the banner's link again = %d", resp.StatusCode)
	}
	stop()
	_, banner, stop = te.serve()
	defer stop()
	if strings.Contains(banner, "/api/auth/link?token=") || !strings.Contains(banner, "calmonypay dashboard link") {
		t.Errorf("second start's banner:\n%s", banner)
	}
}
