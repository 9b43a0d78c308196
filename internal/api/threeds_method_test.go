package api_test

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/apitest"
)

var (
	methodFrameForm = regexp.MustCompile(`<form id="acs" method="post" action="([^"]*)" target="threeds-method"><input type="hidden" name="threeDSMethodData" value="([^"]*)">`)
	timeoutForm     = regexp.MustCompile(`<form id="timeout" method="post" action="([^"]*)" data-timeout-ms="([0-9]+)">`)
	methodBack      = regexp.MustCompile(`<form id="method" method="post" action="([^"]*)">\s*<input type="hidden" name="threeDSMethodData" value="([^"]*)">`)
	topLink         = regexp.MustCompile(`<a id="continue" href="([^"]*)" target="_top">`)
)

// TestThreeDSMethodStepPages checks, without a browser, the method step's
// pages and headers: our page posts threeDSMethodData into the hidden frame
// and allows only the ACS's origin and ours as frame and form targets; the
// ACS's method page may be framed; the ACS's post-back (to the return
// address with threeDSAcsResponse=method) is answered with a page only our
// own page may frame, sending the top window to the page again, which now
// shows the challenge; the timeout posted late, and the method's answer
// posted again, change nothing and send the browser to the page.
func TestThreeDSMethodStepPages(t *testing.T) {
	t.Parallel()
	srv := apitest.Start(t, apitest.Options{AllowLocalhostURLs: true, ThreeDSMethodTimeout: 1500 * time.Millisecond})
	sc := payClient(t, srv, "")
	pi := methodCardPayment(t, sc, 12, "https://shop.example/done")
	page := pi.NextAction.RedirectToURL.URL

	res, err := http.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	body, csp := string(b), res.Header.Get("Content-Security-Policy")
	m, tm := methodFrameForm.FindStringSubmatch(body), timeoutForm.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil || tm == nil || tm[2] != "1500" || !strings.Contains(body, `<iframe name="threeds-method" id="threeds-method" title="3-D Secure device check" hidden></iframe>`) {
		t.Fatalf("method page %d: %s", res.StatusCode, body)
	}
	acs := html.UnescapeString(m[1])
	if acs != srv.SandboxURL+"/acs/method" {
		t.Errorf("the frame's form posts to %s", acs)
	}
	wantCSP := "frame-src " + srv.SandboxURL + " 'self'; form-action " + srv.SandboxURL + " 'self'; frame-ancestors 'none'; base-uri 'none'"
	if !strings.HasPrefix(csp, "default-src 'none'; script-src 'nonce-") || !strings.HasSuffix(csp, wantCSP) {
		t.Errorf("page CSP %q", csp)
	}
	u, _ := url.Parse(page)
	returnURL := srv.URL + html.UnescapeString(tm[1])
	if returnURL != srv.URL+u.Path+"/return?"+u.RawQuery {
		t.Errorf("the timeout form posts to %s", returnURL)
	}

	// The ACS's method page, as the frame gets it.
	status, _, acsPage := postForm(t, acs, url.Values{"threeDSMethodData": {html.UnescapeString(m[2])}})
	back := methodBack.FindStringSubmatch(acsPage)
	if status != http.StatusOK || back == nil || html.UnescapeString(back[1]) != returnURL+"&threeDSAcsResponse=method" {
		t.Fatalf("ACS method page %d: %s", status, acsPage)
	}
	answer := url.Values{"threeDSMethodData": {html.UnescapeString(back[2])}}
	res, err = noFollow.PostForm(html.UnescapeString(back[1]), answer)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	link := topLink.FindStringSubmatch(string(b))
	if csp := res.Header.Get("Content-Security-Policy"); res.StatusCode != http.StatusOK || link == nil || html.UnescapeString(link[1]) != page ||
		!strings.Contains(csp, "frame-ancestors 'self'") || !strings.Contains(csp, "form-action 'none'") {
		t.Fatalf("the frame's answer %d (CSP %q): %s", res.StatusCode, csp, b)
	}
	// The page now shows the challenge, posted at the top level.
	res, err = http.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(string(b), `name="creq"`) || strings.Contains(csp, "frame-src") ||
		!strings.Contains(csp, "form-action "+srv.SandboxURL+";") {
		t.Errorf("after the method step the page (CSP %q): %s", csp, b)
	}
	// The timeout, late, and the method's answer again: refused, and the
	// browser is sent to the page.
	for _, fields := range []url.Values{{"threeDSMethodData": {"timeout"}}} {
		if status, loc, _ := postForm(t, returnURL, fields); status != http.StatusSeeOther || loc != u.Path+"?"+u.RawQuery {
			t.Errorf("late timeout: %d → %s", status, loc)
		}
	}
	if status, _, _ := postForm(t, returnURL, answer); status != http.StatusBadRequest {
		t.Errorf("the method's answer again: %d", status)
	}
	if got, err := sc.V1PaymentIntents.Retrieve(t.Context(), pi.ID, nil); err != nil || got.Status != "requires_action" {
		t.Errorf("intent %+v, %v", got, err)
	}
	// And the challenge completes as any.
	if loc := challenge(t, pi, "Y"); !strings.Contains(loc, "redirect_status=succeeded") {
		t.Errorf("after the challenge the browser goes to %s", loc)
	}

	// An ACS method answer the gateway does not take (65793) counts as a
	// timeout: the frame sends the window to the challenge, not to the
	// method step again.
	pi = methodCardPayment(t, sc, 12, "https://shop.example/done")
	u, _ = url.Parse(pi.NextAction.RedirectToURL.URL)
	status, _, body = postForm(t, srv.URL+u.Path+"/return?"+u.RawQuery+"&threeDSAcsResponse=method", url.Values{"threeDSMethodData": {"garbled"}})
	if link := topLink.FindStringSubmatch(body); status != http.StatusOK || link == nil || html.UnescapeString(link[1]) != pi.NextAction.RedirectToURL.URL {
		t.Fatalf("a garbled method answer: %d %s", status, body)
	}
	if loc := challenge(t, pi, "Y"); !strings.Contains(loc, "redirect_status=succeeded") {
		t.Errorf("after the challenge the browser goes to %s", loc)
	}
}
