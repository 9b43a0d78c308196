// Package browsertest runs a real headless Chromium, through chromedp, for
// end-to-end tests of the pages people use: the hosted invoice page and
// the gateway's hosted payment page now, the dashboard later. It is
// imported only from tests.
//
// A machine without Chromium skips those tests, saying so, unless
// CALMONY_REQUIRE_BROWSER=1 (set by .ci/run, which installs Debian's
// chromium), where they fail instead.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// RequireEnv is the environment variable that turns a missing browser from
// a skip into a failure.
const RequireEnv = "CALMONY_REQUIRE_BROWSER"

// ExecPath returns the browser binary to run: $CALMONY_CHROMIUM if set,
// else the first of chromium, chromium-browser, google-chrome,
// google-chrome-stable and headless-shell found on PATH; "" if none is.
func ExecPath() string {
	if p := os.Getenv("CALMONY_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Tab is one tab of a headless browser started for a test.
type Tab struct {
	tb  testing.TB
	ctx context.Context
	// console keeps what the pages wrote to the console (CSP violations
	// among them), shown when the test fails.
	mu      sync.Mutex
	console []string
}

// New starts a headless Chromium for tb and returns a tab of it. Both end
// when the test does, or after timeout, whichever comes first. Without a
// browser the test is skipped, unless CALMONY_REQUIRE_BROWSER=1, when it
// fails.
func New(tb testing.TB, timeout time.Duration) *Tab {
	tb.Helper()
	path := ExecPath()
	if path == "" {
		if os.Getenv(RequireEnv) == "1" {
			tb.Fatalf("no Chromium found on PATH (or $CALMONY_CHROMIUM), and %s=1: install Debian's chromium", RequireEnv)
		}
		tb.Skipf("SKIP: no Chromium found on PATH (or $CALMONY_CHROMIUM): this browser test did not run; install chromium, or set %s=1 to fail instead", RequireEnv)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		// Tests run as root in CI, where Chromium's sandbox cannot start; the
		// pages are the test's own.
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1024, 900))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	ctx, cancelTab := chromedp.NewContext(ctx)
	t := &Tab{tb: tb, ctx: ctx}
	tb.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancel()
		t.mu.Lock()
		defer t.mu.Unlock()
		if tb.Failed() && len(t.console) > 0 {
			tb.Logf("browser console:\n\t%s", strings.Join(t.console, "\n\t"))
		}
	})
	// Start the browser now, so that a browser that cannot start fails
	// here, and listen to its console from the first page on.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		tb.Fatalf("start %s: %v", path, err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			t.mu.Lock()
			t.console = append(t.console, m.String())
			t.mu.Unlock()
		}
	}()
	return t
}

// Context is the tab's chromedp context, for actions Tab has no helper for.
func (t *Tab) Context() context.Context { return t.ctx }

// Do runs steps in order and fails the test at the first that fails,
// showing where the tab is and what it shows.
func (t *Tab) Do(steps ...chromedp.Action[chromedp.Void]) {
	t.tb.Helper()
	if err := chromedp.Do(t.ctx, steps...); err != nil {
		t.tb.Fatalf("browser: %v\n%s", err, t.describe())
	}
}

// Text returns the text of the first element matching the CSS selector
// sel, once it is visible. A page that navigates between the wait and the
// read (a form just submitted) takes the element's context with it: then
// it waits for the new page's element and reads again.
func (t *Tab) Text(sel string) string {
	t.tb.Helper()
	for {
		t.Do(chromedp.WaitVisible(chromedp.CSS(sel)))
		s, err := chromedp.Run(t.ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil && strings.Contains(err.Error(), "Cannot find context with specified id") && t.ctx.Err() == nil {
			continue
		}
		if err != nil {
			t.tb.Fatalf("browser: text of %s: %v\n%s", sel, err, t.describe())
		}
		return strings.TrimSpace(s)
	}
}

// Has reports whether an element matches the CSS selector sel now,
// without waiting.
func (t *Tab) Has(sel string) bool {
	t.tb.Helper()
	found, err := chromedp.Run(t.ctx, chromedp.Evaluate[bool](fmt.Sprintf("document.querySelector(%q) !== null", sel)))
	if err != nil {
		t.tb.Fatalf("browser: look for %s: %v\n%s", sel, err, t.describe())
	}
	return found
}

// Location returns the tab's address.
func (t *Tab) Location() string {
	t.tb.Helper()
	loc, err := chromedp.Run(t.ctx, chromedp.Location())
	if err != nil {
		t.tb.Fatalf("browser: location: %v", err)
	}
	return loc
}

// describe says where the tab is and what the page shows, for a failure.
func (t *Tab) describe() string {
	ctx, cancel := context.WithTimeout(t.ctx, 2*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	body, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
	return fmt.Sprintf("at %s, showing:\n%s", loc, body)
}
