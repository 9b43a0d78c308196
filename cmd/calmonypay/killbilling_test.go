package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
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

// billingSubs is how many subscriptions the billing process tests renew.
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

// TestTwoInstancesRaceOverRenewals runs two serve processes on one
// PostgreSQL database and one gateway: both take up the advance of a test
// clock with renewals due and claim the work between them; every renewal
// is charged exactly once.
func TestTwoInstancesRaceOverRenewals(t *testing.T) {
	t.Parallel()
	base := os.Getenv(storetest.PostgresURLEnv)
	if base == "" {
		t.Skip(storetest.PostgresURLEnv + " is not set: two instances need a shared PostgreSQL")
	}
	b := newBillingRun(t, postgresSchema(t, base))
	// A second instance of the same data, reaching the same gateway
	// through a recorder of its own, so that each one's calls are known.
	second := &recordingGateway{next: b.gws[0].next}
	ts := httptest.NewServer(second)
	t.Cleanup(ts.Close)
	b.gws = append(b.gws, second)
	startChild(t, b.args, cardstream.EnvTestGatewayURL+"="+ts.URL+"/")
	b.setup()
	before := len(b.gws[0].snapshot())
	// Each instance's clock loop takes the advance up within a second.
	b.must("POST", "/v1/test_helpers/test_clocks/"+b.clock+"/advance", url.Values{"frozen_time": {strconv.FormatInt(b.now+32*86400, 10)}}, nil)
	b.waitClock()
	b.checkRenewals()
	t.Logf("gateway calls during the advance: %d from the first instance, %d from the second", len(b.gws[0].snapshot())-before,
		len(second.snapshot()))
}

// billingRun is a serve process on data of its own, charging a recording
// gateway, with the billing fixtures the process tests share.
type billingRun struct {
	t               *testing.T
	gws             []*recordingGateway // the gateway as each instance reaches it
	storeArgs, args []string
	env, key        string
	srv             *child
	api             *payClient
	clock           string
	now             int64
	customers       []string
}

func newBillingRun(t *testing.T, database string) *billingRun {
	gw, gatewayURL := startRecordingGateway(t)
	b := &billingRun{t: t, gws: []*recordingGateway{gw}, storeArgs: []string{"--data-dir", t.TempDir()},
		env: cardstream.EnvTestGatewayURL + "=" + gatewayURL}
	if database != "" {
		b.storeArgs = append(b.storeArgs, "--database", database)
	}
	b.args = append([]string{"serve", "--addr", "127.0.0.1:0", "--rate-limit", "0", "--reconcile-interval", "1s"}, b.storeArgs...)
	b.start()
	return b
}

// start starts (or restarts) the server on b's data.
func (b *billingRun) start() {
	b.srv = startChild(b.t, b.args, b.env)
	if b.key == "" {
		b.key = keyRE.FindString(b.srv.banner)
	}
	b.api = newPayClient(b.srv.url, b.key)
}

func (b *billingRun) must(method, path string, form url.Values, v any) {
	b.t.Helper()
	a := b.api.do(method, path, "", form)
	if a.err != nil || a.status != 200 {
		b.t.Fatalf("%s %s: %v", method, path, a)
	}
	if v != nil {
		if err := json.Unmarshal(a.body, v); err != nil {
			b.t.Fatal(err)
		}
	}
}

// setup makes a monthly price, a test clock at the present, and
// billingSubs customers on it paying with pm_card_visa, each subscribed.
func (b *billingRun) setup() {
	b.t.Helper()
	var obj struct {
		ID string `json:"id"`
	}
	b.must("POST", "/v1/prices", url.Values{"currency": {"gbp"}, "unit_amount": {"1000"}, "recurring[interval]": {"month"},
		"product_data[name]": {"Gold"}}, &obj)
	price := obj.ID
	b.now = time.Now().Unix()
	b.must("POST", "/v1/test_helpers/test_clocks", url.Values{"frozen_time": {strconv.FormatInt(b.now, 10)}}, &obj)
	b.clock = obj.ID
	b.customers = make([]string, billingSubs)
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := w; i < billingSubs; i += 6 {
				var o struct {
					ID string `json:"id"`
				}
				b.must("POST", "/v1/customers", url.Values{"test_clock": {b.clock}}, &o)
				cus := o.ID
				b.must("POST", "/v1/payment_methods/pm_card_visa/attach", url.Values{"customer": {cus}}, &o)
				b.must("POST", "/v1/customers/"+cus, url.Values{"invoice_settings[default_payment_method]": {o.ID}}, nil)
				b.must("POST", "/v1/subscriptions", url.Values{"customer": {cus}, "items[0][price]": {price}}, &o)
				b.customers[i] = cus
			}
		})
	}
	wg.Wait()
	if n := b.approved(); n != billingSubs {
		b.t.Fatalf("%d first payments at the gateway, want %d", n, billingSubs)
	}
}

// calls returns every instance's gateway calls.
func (b *billingRun) calls() []gatewayCall {
	var all []gatewayCall
	for _, g := range b.gws {
		all = append(all, g.snapshot()...)
	}
	return all
}

// approved counts the gateway's approved sales.
func (b *billingRun) approved() int {
	n := 0
	for _, c := range b.calls() {
		if c.action == "SALE" && c.code == 0 {
			n++
		}
	}
	return n
}

// waitClock waits for the clock to be ready after an advance.
func (b *billingRun) waitClock() {
	b.t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	for {
		var c struct {
			Status string `json:"status"`
		}
		b.must("GET", "/v1/test_helpers/test_clocks/"+b.clock, nil, &c)
		if c.Status == "ready" {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("the clock is still %s:\n%s", c.Status, b.srv.stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkRenewals checks the gateway's side (one approved sale per
// transactionUnique, a first payment and a renewal per subscription) and
// the server's (two invoices per customer, each paid once).
func (b *billingRun) checkRenewals() {
	t := b.t
	t.Helper()
	perUnique := map[string]int{}
	for _, c := range b.calls() {
		if c.action == "SALE" && c.code == 0 {
			perUnique[c.unique]++
		}
	}
	for u, n := range perUnique {
		if n != 1 {
			t.Errorf("transactionUnique %s approved %d times", u, n)
		}
	}
	if n := b.approved(); n != 2*billingSubs {
		t.Errorf("%d approved sales at the gateway, want %d (a first payment and a renewal each)", n, 2*billingSubs)
	}
	for _, cus := range b.customers {
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
		b.must("GET", "/v1/invoices?customer="+cus, nil, &l)
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
	if n := b.api.errors5xx.Load(); n > 0 {
		t.Errorf("%d 5xx answers, the first: %s", n, b.api.first5xx())
	}
}

func killBillingTest(t *testing.T, database string) {
	b := newBillingRun(t, database)
	b.setup()

	// A month and a day on: every renewal is due. Kill the server once the
	// gateway has seen a third of them.
	b.must("POST", "/v1/test_helpers/test_clocks/"+b.clock+"/advance", url.Values{"frozen_time": {strconv.FormatInt(b.now+32*86400, 10)}}, nil)
	deadline := time.Now().Add(30 * time.Second)
	for b.approved() < billingSubs+billingSubs/3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	b.srv.kill()
	atKill := b.approved() - billingSubs

	// Restarted on the same data, the scheduler finishes the advance once
	// the dead instance's claims have ended. Renewals whose sale was in
	// flight at the kill are parked for an operator (the gateway answers a
	// resent sale "duplicate", never its outcome), their invoices waiting.
	b.start()
	b.waitClock()

	// The operator settles each parked sale from the gateway's record, as
	// the README says; the scheduler then settles its invoice when it next
	// resumes it (at most a day later), here on the next advance.
	deadline = time.Now().Add(60 * time.Second)
	for len(gatewayOps(t, b.storeArgs, b.env, "pending")) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("gateway ops still pending a minute after the restart")
		}
		time.Sleep(500 * time.Millisecond)
	}
	parked := gatewayOps(t, b.storeArgs, b.env, "attention")
	for op, unique := range parked {
		resolve := []string{"gateway", "resolve", op, "--not-charged"}
		for _, c := range b.calls() {
			if c.action == "SALE" && c.unique == unique && c.code == 0 {
				resolve = []string{"gateway", "resolve", op, "--xref", c.respXRef}
			}
		}
		childCommand(t, append(resolve, b.storeArgs...), b.env)
	}
	b.must("POST", "/v1/test_helpers/test_clocks/"+b.clock+"/advance", url.Values{"frozen_time": {strconv.FormatInt(b.now+34*86400, 10)}}, nil)
	b.waitClock()
	b.checkRenewals()
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
