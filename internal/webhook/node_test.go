package webhook_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/webhook"
)

// TestStripeNode runs test/node/webhooks.test.mjs (npm stripe 23.1.0) with a
// delivery worker running: stripe-node's webhooks.constructEvent verifies a
// delivery captured here and one its own receiver gets. Like
// internal/api's TestNodeSDK, it is skipped without node and
// test/node/node_modules unless CALMONY_REQUIRE_NODE_TESTS=1.
func TestStripeNode(t *testing.T) {
	t.Parallel()
	unavailable := func(msg string) {
		t.Helper()
		if os.Getenv("CALMONY_REQUIRE_NODE_TESTS") == "1" {
			t.Fatalf("%s (and CALMONY_REQUIRE_NODE_TESTS=1 requires the node tests)", msg)
		}
		t.Skipf("skipping the stripe-node webhook test: %s", msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable("node is not on PATH")
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "test", "node"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "stripe", "package.json")); err != nil {
		unavailable("test/node/node_modules is missing; run `npm ci` in test/node")
	}

	srv := startServer(t, apitest.Options{})
	startWorker(t, srv, webhook.Config{})
	rc := newReceiver(t, nil)
	_, secret := createEndpoint(t, srv, rc.srv.URL, "customer.created")
	rc.setSecret(secret)
	createCustomer(t, srv, "node@example.com")
	waitFor(t, 10*time.Second, "a delivery to pass to node", func() bool { return rc.distinct() == 1 })
	d := rc.deliveries()[0]

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "webhooks.test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"CALMONY_URL="+srv.URL,
		"CALMONY_KEY="+srv.Key,
		"CALMONY_WEBHOOK_PAYLOAD="+string(d.body),
		"CALMONY_WEBHOOK_HEADER="+d.header.Get("Stripe-Signature"),
		"CALMONY_WEBHOOK_SECRET="+secret,
		"CALMONY_WEBHOOK_WORKER=1",
		"NO_COLOR=1",
	)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test webhooks.test.mjs: %v\n%s", err, out)
	}
	if testing.Verbose() {
		t.Logf("node output:\n%s", out)
	}
}
