package main

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// billingSubs is how many subscriptions the billing kill test renews.
const billingSubs = 30

// TestKillNineDuringBillingRun kills the server with SIGKILL while the
// billing scheduler is charging the renewals of a test clock's advance,
// restarts it on the same data, and checks against what the gateway saw
// that every renewal was charged exactly once and every invoice is paid:
// nothing lost, nothing doubled.
func TestKillNineDuringBillingRun(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		killBillingTest(t, "")
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		base := os.Getenv(storetest.PostgresURLEnv)
		if base == "" {
			t.Skip(storetest.PostgresURLEnv + " is not set")
		}
		killBillingTest(t, postgresSchema(t, base))
	})
}

func killBillingTest(t *testing.T, database string) {
	gw, gatewayURL := startRecordingGateway(t)
	storeArgs := []string{"--data-dir", t.TempDir()}
	if database != "" {
		storeArgs = append(storeArgs, "--database", database)
	}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--rate-limit", "0", "--reconcile-interval", "1s"}, storeArgs...)
	env := cardstream.EnvTestGatewayURL + "=" + gatewayURL
	srv := startChild(t, args, env)
	key := keyRE.FindString(srv.banner)
	api := newPayClient(srv.url, key)
	must := func(method, path string, form url.Values, v any) {
		t.Helper()
		a := api.do(method, path, "", form)
		if a.err != nil || a.status != 200 {
			t.Fatalf("%s %s: %v", method, path, a)
		}
		if v != nil {
			if err := json.Unmarshal(a.body, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	var obj struct {
		ID         string `json:"id"`
		FrozenTime int64  `json:"frozen_time"`
	}
	must("POST", "/v1/prices", url.Values{"currency": {"gbp"}, "unit_amount": {"1000"}, "recurring[interval]": {"month"},
		"product_data[name]": {"Gold"}}, &obj)
	price := obj.ID
	now := time.Now().Unix()
	must("POST", "/v1/test_helpers/test_clocks", url.Values{"frozen_time": {strconv.FormatInt(now, 10)}}, &obj)
	clock := obj.ID

	subs := make([]string, billingSubs)
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := w; i < billingSubs; i += 6 {
				var o struct {
					ID string `json:"id"`
				}
				must("POST", "/v1/customers", url.Values{"test_clock": {clock}}, &o)
				cus := o.ID
				must("POST", "/v1/payment_methods/pm_card_visa/attach", url.Values{"customer": {cus}}, &o)
				must("POST", "/v1/customers/"+cus, url.Values{"invoice_settings[default_payment_method]": {o.ID}}, nil)
				must("POST", "/v1/subscriptions", url.Values{"customer": {cus}, "items[0][price]": {price}}, &o)
				subs[i] = cus
			}
		})
	}
	wg.Wait()
	approved := func() int {
		n := 0
		for _, c := range gw.snapshot() {
			if c.action == "SALE" && c.code == 0 {
				n++
			}
		}
		return n
	}
	if n := approved(); n != billingSubs {
		t.Fatalf("%d first payments at the gateway, want %d", n, billingSubs)
	}

	// A month and a day on: every renewal is due. Kill the server once the
	// gateway has seen a third of them.
	must("POST", "/v1/test_helpers/test_clocks/"+clock+"/advance", url.Values{"frozen_time": {strconv.FormatInt(now+32*86400, 10)}}, nil)
	deadline := time.Now().Add(30 * time.Second)
	for approved() < billingSubs+billingSubs/3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	srv.kill()
	atKill := approved() - billingSubs

	// Restarted on the same data, the scheduler finishes the advance once
	// the dead instance's claims have ended. Renewals whose sale was in
	// flight at the kill are parked for an operator (the gateway answers a
	// resent sale "duplicate", never its outcome), their invoices waiting.
	srv = startChild(t, args, env)
	api = newPayClient(srv.url, key)
	waitClock := func() {
		t.Helper()
		deadline := time.Now().Add(120 * time.Second)
		for {
			var c struct {
				Status string `json:"status"`
			}
			must("GET", "/v1/test_helpers/test_clocks/"+clock, nil, &c)
			if c.Status == "ready" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the clock is still %s:\n%s", c.Status, srv.stderr.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitClock()

	// The operator settles each parked sale from the gateway's record, as
	// the README says; the scheduler then settles its invoice when it next
	// resumes it (at most a day later), here on the next advance.
	deadline = time.Now().Add(60 * time.Second)
	for len(gatewayOps(t, storeArgs, env, "pending")) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("gateway ops still pending a minute after the restart")
		}
		time.Sleep(500 * time.Millisecond)
	}
	parked := gatewayOps(t, storeArgs, env, "attention")
	for op, unique := range parked {
		resolve := []string{"gateway", "resolve", op, "--not-charged"}
		for _, c := range gw.snapshot() {
			if c.action == "SALE" && c.unique == unique && c.code == 0 {
				resolve = []string{"gateway", "resolve", op, "--xref", c.respXRef}
			}
		}
		childCommand(t, append(resolve, storeArgs...), env)
	}
	must("POST", "/v1/test_helpers/test_clocks/"+clock+"/advance", url.Values{"frozen_time": {strconv.FormatInt(now+34*86400, 10)}}, nil)
	waitClock()

	// The gateway's side: one approved sale per transactionUnique, one per
	// renewal.
	perUnique := map[string]int{}
	for _, c := range gw.snapshot() {
		if c.action == "SALE" && c.code == 0 {
			perUnique[c.unique]++
		}
	}
	for u, n := range perUnique {
		if n != 1 {
			t.Errorf("transactionUnique %s approved %d times", u, n)
		}
	}
	if n := approved(); n != 2*billingSubs {
		t.Errorf("%d approved sales at the gateway, want %d (a first payment and a renewal each)", n, 2*billingSubs)
	}
	// The server's side: every customer has two invoices, both paid once.
	for _, cus := range subs {
		var l struct {
			Data []struct {
				ID         string `json:"id"`
				Status     string `json:"status"`
				AmountPaid int64  `json:"amount_paid"`
				Payments   struct {
					Data []struct {
						Status string `json:"status"`
					} `json:"data"`
				} `json:"payments"`
			} `json:"data"`
		}
		must("GET", "/v1/invoices?customer="+cus, nil, &l)
		if len(l.Data) != 2 {
			t.Errorf("customer %s has %d invoices, want 2", cus, len(l.Data))
			continue
		}
		for _, inv := range l.Data {
			if inv.Status != "paid" || inv.AmountPaid != 1000 || len(inv.Payments.Data) != 1 {
				t.Errorf("invoice %s of %s: %s, paid %d, %d payments", inv.ID, cus, inv.Status, inv.AmountPaid, len(inv.Payments.Data))
			}
		}
	}
	if n := api.errors5xx.Load(); n > 0 {
		t.Errorf("%d 5xx answers after the restart, the first: %s", n, api.first5xx())
	}
	t.Logf("%d renewals, %d charged before the kill, %d sales parked for the operator", billingSubs, atKill, len(parked))
}

// gatewayOps runs `calmonypay gateway ops --state state` on the server's
// data and returns the ops listed, with their transactionUniques.
func gatewayOps(t *testing.T, storeArgs []string, env, state string) map[string]string {
	t.Helper()
	ops := map[string]string{}
	for line := range strings.Lines(childCommand(t, append([]string{"gateway", "ops", "--state", state}, storeArgs...), env)) {
		if f := strings.Fields(line); len(f) >= 4 && f[0] != "OP" {
			ops[f[0]] = f[3]
		}
	}
	return ops
}

// childCommand runs a calmonypay command in a child process, beside the
// server, and returns its output.
func childCommand(t *testing.T, args []string, env string) string {
	t.Helper()
	argv, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env, killChildEnv+"="+string(argv))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}
