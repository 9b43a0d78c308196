package api_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/pay"
)

// nodeRequireEnv makes a missing Node.js or missing node_modules a failure
// instead of a skip. CI sets it.
const nodeRequireEnv = "CALMONY_REQUIRE_NODE_TESTS"

// nodeTestDir holds the stripe-node conformance tests, relative to this
// package's directory (go test runs in it).
var nodeTestDir = filepath.Join("..", "..", "test", "node")

// nodeBillingFile is the billing scenario end to end, run on a server of
// its own that delivers webhooks (see TestNodeSDK).
const nodeBillingFile = "billing.test.mjs"

// TestNodeSDK runs the stripe-node conformance tests (test/node/*.test.mjs,
// npm stripe 23.1.0) with Node's test runner against a real server. Without
// test/node/node_modules it runs `npm ci` there first. It is skipped when
// node (or npm, to install) is missing, unless CALMONY_REQUIRE_NODE_TESTS=1.
// billing.test.mjs runs on a server of its own, with the webhook worker and
// loopback endpoint URLs allowed; the other files share one.
func TestNodeSDK(t *testing.T) {
	t.Parallel()
	unavailable := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv(nodeRequireEnv) == "1" {
			t.Fatalf("%s (and %s=1 requires the node tests)", msg, nodeRequireEnv)
		}
		t.Skipf("skipping the stripe-node tests: %s (set %s=1 to make this a failure)", msg, nodeRequireEnv)
	}

	node, err := exec.LookPath("node")
	if err != nil {
		unavailable("node is not on PATH; install Node.js >= 20")
	}
	if major, err := nodeMajorVersion(t.Context(), node); err != nil {
		unavailable("%s --version: %v", node, err)
	} else if major < 20 {
		unavailable("%s is Node.js %d; npm stripe 23.1.0 needs Node.js >= 20", node, major)
	}
	dir, err := filepath.Abs(nodeTestDir)
	if err != nil {
		t.Fatal(err)
	}
	if !installed(dir, "stripe", "@trpc/client", "@trpc/server") {
		// A fresh checkout: install the pinned stripe-node (package-lock.json)
		// rather than skip, so that go test ./... runs these tests wherever
		// npm is.
		if err := npmCI(t.Context(), dir); err != nil {
			unavailable("%s lacks stripe or @trpc/client and `npm ci` in test/node failed: %v", filepath.Join(dir, "node_modules"), err)
		}
	}
	// Name the files rather than the directory: how `node --test <dir>` is
	// read differs between Node.js versions.
	files, err := filepath.Glob(filepath.Join(dir, "*.test.mjs"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no *.test.mjs files in %s (err %v)", dir, err)
	}
	var shared []string
	for _, f := range files {
		if f := filepath.Base(f); f != nodeBillingFile {
			shared = append(shared, f)
		}
	}

	t.Run("conformance", func(t *testing.T) {
		t.Parallel()
		srv := apitest.Start(t, apitest.Options{})
		_, otherKey := apitest.NewProject(t, srv.DB)
		// trpc.test.mjs drives /api/trpc with @trpc/client, signed in to
		// the dashboard as an admin and as a viewer of the project.
		runNode(t, node, dir, shared, "CALMONY_URL="+srv.URL, "CALMONY_KEY="+srv.Key, "CALMONY_OTHER_KEY="+otherKey,
			"CALMONY_DASHBOARD_COOKIE="+srv.DashboardSession(t, "node-admin@example.com", pay.RoleAdmin),
			"CALMONY_DASHBOARD_VIEWER_COOKIE="+srv.DashboardSession(t, "node-viewer@example.com", pay.RoleViewer))
	})
	// The billing scenario waits for every event of its project to reach
	// its own receiver on 127.0.0.1, so it gets a server of its own with
	// the webhook worker: on the shared one, the other files' events
	// (some made before its endpoint) would be listed too, and the
	// endpoints they create (https://hooks.example.com/…) would be sent
	// real deliveries.
	t.Run("billing", func(t *testing.T) {
		t.Parallel()
		srv := apitest.Start(t, apitest.Options{Webhooks: true, AllowPrivateWebhookURLs: true})
		runNode(t, node, dir, []string{nodeBillingFile}, "CALMONY_URL="+srv.URL, "CALMONY_KEY="+srv.Key, "CALMONY_WEBHOOK_WORKER=1")
	})
}

// runNode runs Node's test runner on files in dir with env added to this
// process's environment, and fails the test if any of them fails.
func runNode(t *testing.T, node, dir string, files []string, env ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{"--test", "--test-reporter=spec"}, files...)...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test %s in %s failed after %v: %v\n%s", strings.Join(files, " "), dir, time.Since(start).Round(time.Millisecond), err, out)
	}
	if testing.Verbose() {
		t.Logf("node --test output:\n%s", out)
	}
}

// installed reports whether every one of packages is in dir's
// node_modules (a checkout older than package.json may lack some).
func installed(dir string, packages ...string) bool {
	for _, p := range packages {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", p, "package.json")); err != nil {
			return false
		}
	}
	return true
}

// npmCI installs test/node's dependencies as package-lock.json pins them.
func npmCI(ctx context.Context, dir string) error {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("npm is not on PATH")
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// nodeMajorVersion returns the major version of the node binary.
func nodeMajorVersion(ctx context.Context, node string) (int, error) {
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return 0, err
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	major, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		return 0, fmt.Errorf("unexpected version %q", out)
	}
	return n, nil
}
