package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/cardstream/sandbox"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// Timing of the payment kill test.
const (
	payWorkers = 16
	// payLoadFor is how long the load runs before the kill (longer if too
	// few operations were made by then, as under the race detector).
	payLoadFor = 2 * time.Second
	// gatewayLatency holds back each Direct API answer, so that the kill
	// lands on calls whose money has moved but whose answer the server has
	// not recorded yet.
	gatewayLatency = 10 * time.Millisecond
	// retryFor bounds the client's retries after the restart. It outlasts
	// the lease a killed request leaves on its gateway op (15 s) and the
	// reconciler's round after it: what a retry gets once the dead request
	// has let go is the point of the test.
	retryFor = 75 * time.Second
	// settleFor bounds the wait for the reconciler to settle what the kill
	// left pending.
	settleFor = 60 * time.Second
)

// TestKillNinePaymentsChargeOnce runs a mixed payment load (create and
// confirm, manual capture, partial refunds) against a server process whose
// Cardstream gateway is a recording sandbox in this process, kills the
// server with SIGKILL mid-load, restarts it on the same data and retries
// every operation left without a final answer with its Idempotency-Key, as
// a client would. Then it checks the server against what the gateway saw:
// no payment intent and no key charged twice, every paid intent charged
// once, every charge's refunds as the gateway has them.
func TestKillNinePaymentsChargeOnce(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		killPayTest(t, "")
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		base := os.Getenv(storetest.PostgresURLEnv)
		if base == "" {
			t.Skip(storetest.PostgresURLEnv + " is not set")
		}
		killPayTest(t, postgresSchema(t, base))
	})
}

func killPayTest(t *testing.T, database string) {
	gw, gatewayURL := startRecordingGateway(t)
	storeArgs := []string{"--data-dir", t.TempDir()}
	if database != "" {
		storeArgs = append(storeArgs, "--database", database)
	}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--rate-limit", "0", "--reconcile-interval", "1s"}, storeArgs...)
	env := cardstream.EnvTestGatewayURL + "=" + gatewayURL
	srv := startChild(t, args, env)
	key := keyRE.FindString(srv.banner)
	if key == "" {
		t.Fatalf("no key in the banner:\n%s", srv.banner)
	}

	load := &payLoad{api: newPayClient(srv.url, key), stop: make(chan struct{})}
	load.run(t, srv)
	acked := load.answered()
	unanswered := len(load.ops) - len(acked)

	// Restart on the same data; from here on no answer may be a 5xx.
	srv = startChild(t, args, env)
	api := newPayClient(srv.url, key)
	resends := retryUnanswered(t, api, load.ops)
	checkReplays(t, api, acked)
	intents, parked := waitSettled(t, api, storeArgs, env)
	calls := gw.snapshot()

	approved := checkChargedOnce(t, calls, intents, load.ops)
	checkRefunds(t, api, gatewayURL, calls, intents)
	checkFinalAnswers(t, load.ops)
	if n := api.errors5xx.Load(); n > 0 {
		t.Errorf("%d 5xx answers after the restart, the first: %s", n, api.first5xx())
	}
	t.Logf("%d operations (%d without a final answer at the kill), 1 kill, %d resends, %d payment intents, %d approved sales at the gateway, %d parked gateway ops",
		len(load.ops), unanswered, resends, len(intents), approved, len(parked))
}

// gatewayCall is one Direct API exchange seen by the recording gateway.
type gatewayCall struct {
	// From the request.
	action, unique, amount, xref string
	// From the response.
	code                        int
	respXRef, state, respAmount string
}

// recordingGateway is a Cardstream sandbox that records every Direct API
// exchange: the gateway's side of the story, which the server's own
// database cannot be trusted to tell after a crash.
type recordingGateway struct {
	next  http.Handler
	mu    sync.Mutex
	calls []gatewayCall
}

// startRecordingGateway serves a sandbox (which always knows Cardstream's
// test account 100001 / Circle4Take40Idea) on its own origin on
// 127.0.0.1 and returns it with its gateway URL.
func startRecordingGateway(t *testing.T) (*recordingGateway, string) {
	t.Helper()
	sb, err := sandbox.New(sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := &recordingGateway{next: sb}
	ts := httptest.NewServer(g)
	t.Cleanup(ts.Close)
	return g, ts.URL + "/"
}

func (g *recordingGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/direct/") {
		g.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	g.next.ServeHTTP(rec, r)
	req, _ := cardstream.ParseBody(string(body))
	resp, _ := cardstream.ParseBody(rec.Body.String())
	code, err := strconv.Atoi(resp.Get("responseCode"))
	if err != nil {
		code = -1
	}
	g.mu.Lock()
	g.calls = append(g.calls, gatewayCall{action: req.Get("action"), unique: req.Get("transactionUnique"), amount: req.Get("amount"),
		xref: req.Get("xref"), code: code, respXRef: resp.Get("xref"), state: resp.Get("state"), respAmount: resp.Get("amount")})
	g.mu.Unlock()
	time.Sleep(gatewayLatency) // the transaction is done: only its answer waits
	maps.Copy(w.Header(), rec.Header())
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

func (g *recordingGateway) snapshot() []gatewayCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.calls)
}

// payClient is the test's client of one server process.
type payClient struct {
	http      *http.Client
	base, key string
	errors5xx atomic.Int64
	mu        sync.Mutex
	first     string // the first 5xx, for the failure message
}

func newPayClient(base, key string) *payClient {
	return &payClient{http: &http.Client{Timeout: 10 * time.Second}, base: base, key: key}
}

// answer is what one HTTP request got.
type answer struct {
	status int
	header http.Header
	body   []byte
	err    error
}

// final reports whether a client stops retrying on this answer: it retries
// a transport error, a 5xx, 409 (key in use) and 429 (a refund waiting for
// another one, with Stripe-Should-Retry).
func (a answer) final() bool {
	return a.err == nil && a.status < 500 && a.status != http.StatusConflict && a.status != http.StatusTooManyRequests
}

func (a answer) String() string {
	if a.err != nil {
		return "no answer: " + a.err.Error()
	}
	b := bytes.TrimSpace(a.body)
	if len(b) > 200 {
		b = append(b[:200:200], "…"...)
	}
	return fmt.Sprintf("%d %s", a.status, b)
}

func (c *payClient) do(method, path, idem string, form url.Values) answer {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.base+path, body)
	req.SetBasicAuth(c.key, "")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: b, err: err}
	if a.status >= 500 {
		if c.errors5xx.Add(1) == 1 {
			c.mu.Lock()
			c.first = method + " " + path + ": " + a.String()
			c.mu.Unlock()
		}
	}
	return a
}

func (c *payClient) first5xx() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.first
}

// get decodes a 200 answer of a GET into v.
func (c *payClient) get(path string, v any) error {
	a := c.do("GET", path, "", nil)
	if a.err != nil || a.status != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, a)
	}
	return json.Unmarshal(a.body, v)
}

// payOp is one logical client operation: one Idempotency-Key with one route
// and one set of parameters, sent until it gets a final answer.
type payOp struct {
	kind, path, key string
	form            url.Values
	last            answer
	sends           int
}

func (op *payOp) send(c *payClient) answer {
	op.last = c.do("POST", op.path, op.key, op.form)
	op.sends++
	return op.last
}

// intentJSON is what the test reads of a payment intent.
type intentJSON struct {
	ID           string            `json:"id"`
	Status       string            `json:"status"`
	Amount       int64             `json:"amount"`
	LatestCharge string            `json:"latest_charge"`
	Metadata     map[string]string `json:"metadata"`
}

// payLoad is the load before the kill.
type payLoad struct {
	api  *payClient
	stop chan struct{}
	mu   sync.Mutex
	ops  []*payOp
}

// run loads srv with payWorkers workers and kills it mid-load.
func (l *payLoad) run(t *testing.T, srv *child) {
	var wg sync.WaitGroup
	for w := range payWorkers {
		wg.Go(func() { l.worker(t, w) })
	}
	start := time.Now()
	for {
		l.mu.Lock()
		n := len(l.ops)
		l.mu.Unlock()
		if time.Since(start) > 3*payLoadFor || time.Since(start) > payLoadFor && n >= 200 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv.kill()
	close(l.stop)
	wg.Wait()
	if n := len(l.answered()); n < 50 {
		t.Fatalf("only %d operations answered before the kill: the test proves little", n)
	}
}

func (l *payLoad) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// answered returns the operations that had a final answer before the kill.
func (l *payLoad) answered() []*payOp {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*payOp
	for _, op := range l.ops {
		if op.last.final() {
			out = append(out, op)
		}
	}
	return out
}

// worker makes a payment method, then payments until the kill. Requests
// begun after the kill are kept: a client that saw no answer retries them.
func (l *payLoad) worker(t *testing.T, w int) {
	form := url.Values{"type": {"card"}, "card[number]": {"4929421234600821"}, "card[exp_month]": {"12"},
		"card[exp_year]": {strconv.Itoa(time.Now().Year() + 2)}, "card[cvc]": {"356"}}
	a := l.api.do("POST", "/v1/payment_methods", fmt.Sprintf("pm-%d", w), form)
	var pm struct{ ID string }
	if a.err != nil || a.status != http.StatusOK || json.Unmarshal(a.body, &pm) != nil {
		if !l.stopped() {
			t.Errorf("worker %d: payment method: %s", w, a)
		}
		return
	}
	for i := 0; !l.stopped(); i++ {
		l.payment(w, i, pm.ID)
	}
}

// payment creates and confirms a payment intent; every third is captured
// separately (every other of those for less than authorised), and every
// other that succeeds is partly refunded, twice at once every fourth: two
// refunds of one charge in flight must both reach the gateway whole.
func (l *payLoad) payment(w, i int, pm string) {
	key := fmt.Sprintf("pay-%d-%d", w, i)
	amount := 100 + (w*131+i*577)%2300 // 100–2499: approved by the simulator
	form := url.Values{"amount": {strconv.Itoa(amount)}, "currency": {"gbp"}, "payment_method": {pm},
		"confirm": {"true"}, "metadata[op]": {key}}
	if i%3 == 0 {
		form.Set("capture_method", "manual")
	}
	pi, ok := l.send(&payOp{kind: "create", path: "/v1/payment_intents", key: key, form: form})
	if !ok {
		return
	}
	captured := amount
	if pi.Status == "requires_capture" {
		cf := url.Values{}
		if i%2 == 0 {
			captured = amount - amount/5
			cf.Set("amount_to_capture", strconv.Itoa(captured))
		}
		if pi, ok = l.send(&payOp{kind: "capture", path: "/v1/payment_intents/" + pi.ID + "/capture", key: key + "-capture", form: cf}); !ok {
			return
		}
	}
	if pi.Status != "succeeded" || i%2 != 0 {
		return
	}
	n := 1
	if i%4 == 0 {
		n = 2
	}
	var wg sync.WaitGroup
	for r := range n {
		refund := url.Values{"payment_intent": {pi.ID}, "amount": {strconv.Itoa(captured / (4 + r))}}
		wg.Go(func() {
			l.send(&payOp{kind: "refund", path: "/v1/refunds", key: fmt.Sprintf("%s-refund-%d", key, r), form: refund})
		})
	}
	wg.Wait()
}

// send records op and sends it once; it returns the intent a 200 answers.
func (l *payLoad) send(op *payOp) (intentJSON, bool) {
	l.mu.Lock()
	l.ops = append(l.ops, op)
	l.mu.Unlock()
	a := op.send(l.api)
	var pi intentJSON
	return pi, a.err == nil && a.status == http.StatusOK && json.Unmarshal(a.body, &pi) == nil
}

// retryUnanswered resends every operation without a final answer, with its
// key and parameters unchanged, every 500 ms until each has one or retryFor
// has passed, and returns the number of resends.
func retryUnanswered(t *testing.T, api *payClient, ops []*payOp) int {
	var pending []*payOp
	for _, op := range ops {
		if !op.last.final() {
			pending = append(pending, op)
		}
	}
	resends := 0
	deadline := time.Now().Add(retryFor)
	for len(pending) > 0 && time.Now().Before(deadline) {
		if resends > 0 {
			time.Sleep(500 * time.Millisecond)
		}
		var still []*payOp
		for _, op := range pending {
			resends++
			if !op.send(api).final() {
				still = append(still, op)
			}
		}
		pending = still
	}
	f := failures{t: t, what: "operations still without a final answer after the restart"}
	for _, op := range pending {
		f.add("%s %s (key %s) still without a final answer %v after the restart: %s", op.kind, op.path, op.key, retryFor, op.last)
	}
	f.report()
	return resends
}

// checkReplays resends a sample of the operations answered 200 before the
// kill (a refusal before any change is not kept): each must replay it.
func checkReplays(t *testing.T, api *payClient, answered []*payOp) {
	acked := slices.DeleteFunc(slices.Clone(answered), func(op *payOp) bool { return op.last.status != http.StatusOK })
	step := max(len(acked)/20, 1)
	f := failures{t: t, what: "resent operations did not replay their first answer"}
	for i := 0; i < len(acked); i += step {
		op := acked[i]
		a := api.do("POST", op.path, op.key, op.form)
		if a.err == nil && a.status == op.last.status && bytes.Equal(a.body, op.last.body) && a.header.Get("Idempotent-Replayed") == "true" {
			continue
		}
		f.add("%s (key %s) answered %s before the kill; resent after it: %s (Idempotent-Replayed %q)",
			op.kind, op.key, op.last, a, a.header.Get("Idempotent-Replayed"))
	}
	f.report()
}

// waitSettled waits until no payment intent is processing but those whose
// gateway op is parked for an operator, at most settleFor. It returns the
// intents by ID and the parked ops' objects.
func waitSettled(t *testing.T, api *payClient, storeArgs []string, env string) (map[string]intentJSON, map[string]string) {
	deadline := time.Now().Add(settleFor)
	for {
		intents := listIntents(t, api)
		parked := parkedOps(t, storeArgs, env)
		var stuck []string
		for id, pi := range intents {
			if _, ok := parked[id]; pi.Status == "processing" && !ok {
				stuck = append(stuck, id)
			}
		}
		if len(stuck) == 0 || time.Now().After(deadline) {
			if len(stuck) > 0 {
				slices.Sort(stuck)
				t.Errorf("%d payment intents still processing %v after the retries without a parked gateway op: %v",
					len(stuck), settleFor, stuck[:min(len(stuck), 5)])
			}
			processing := 0
			for id, pi := range intents {
				if _, ok := parked[id]; ok && pi.Status == "processing" {
					processing++
				}
			}
			t.Logf("%d gateway ops parked for an operator, %d payment intents left processing by them", len(parked), processing)
			return intents, parked
		}
		time.Sleep(time.Second)
	}
}

func listIntents(t *testing.T, api *payClient) map[string]intentJSON {
	t.Helper()
	out := map[string]intentJSON{}
	after := ""
	for {
		var page struct {
			Data    []intentJSON
			HasMore bool `json:"has_more"`
		}
		path := "/v1/payment_intents?limit=100"
		if after != "" {
			path += "&starting_after=" + after
		}
		if err := api.get(path, &page); err != nil {
			t.Fatal(err)
		}
		for _, pi := range page.Data {
			out[pi.ID] = pi
		}
		if !page.HasMore || len(page.Data) == 0 {
			return out
		}
		after = page.Data[len(page.Data)-1].ID
	}
}

// parkedOps runs `calmonypay gateway ops` on the server's data and returns
// the objects of the ops parked for an operator, with their kinds.
func parkedOps(t *testing.T, storeArgs []string, env string) map[string]string {
	t.Helper()
	argv, _ := json.Marshal(append([]string{"gateway", "ops", "--state", "attention"}, storeArgs...))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env, killChildEnv+"="+string(argv))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gateway ops: %v\n%s", err, stderr.String())
	}
	parked := map[string]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] != "OP" {
			parked[f[2]] = f[1]
		}
	}
	return parked
}

// approvedSales counts the gateway's approved SALEs per payment intent (a
// sale's transactionUnique is "<pi>-<attempt>") and keeps each one's xref.
func approvedSales(calls []gatewayCall) (map[string]int, map[string]string) {
	count, xref := map[string]int{}, map[string]string{}
	for _, c := range calls {
		if c.action != "SALE" || c.code != cardstream.CodeSuccess {
			continue
		}
		i := strings.LastIndexByte(c.unique, '-')
		if i < 0 {
			continue
		}
		pi := c.unique[:i]
		count[pi]++
		xref[pi] = c.respXRef
	}
	return count, xref
}

// checkChargedOnce checks the sales against the gateway: every intent
// charged at most once, each paid intent exactly once, none of the others,
// and every create-and-confirm key charged through one intent at most. It
// returns the number of approved sales.
func checkChargedOnce(t *testing.T, calls []gatewayCall, intents map[string]intentJSON, ops []*payOp) int {
	sales, _ := approvedSales(calls)
	total := 0
	twice := failures{t: t, what: "payment intents charged more than once at the gateway"}
	unknown := failures{t: t, what: "payment intents charged at the gateway and unknown to the API"}
	for pi, n := range sales {
		total += n
		if n > 1 {
			twice.add("payment intent %s (status %q) charged %d times at the gateway", pi, intents[pi].Status, n)
		}
		if _, ok := intents[pi]; !ok {
			unknown.add("the gateway charged %s, which the API does not know", pi)
		}
	}
	twice.report()
	unknown.report()
	status := failures{t: t, what: "payment intents whose status disagrees with their approved sales at the gateway"}
	for id, pi := range intents {
		switch pi.Status {
		case "succeeded", "requires_capture":
			if sales[id] != 1 {
				status.add("payment intent %s is %s with %d approved sales at the gateway, want 1", id, pi.Status, sales[id])
			}
		case "requires_payment_method":
			if sales[id] != 0 {
				status.add("payment intent %s is requires_payment_method with %d approved sales at the gateway", id, sales[id])
			}
		}
	}
	status.report()
	checkKeys(t, ops, intents, sales)
	return total
}

// checkKeys checks that every create-and-confirm key made one payment intent
// at most, that its final answer names it, and that as many intents were
// charged as keys were answered 200.
func checkKeys(t *testing.T, ops []*payOp, intents map[string]intentJSON, sales map[string]int) {
	byKey := map[string][]string{}
	for id, pi := range intents {
		byKey[pi.Metadata["op"]] = append(byKey[pi.Metadata["op"]], id)
	}
	charged, succeeded := 0, 0
	for id := range sales {
		if _, ok := intents[id]; ok {
			charged++
		}
	}
	twice := failures{t: t, what: "create-and-confirm keys made more than one payment intent"}
	answers := failures{t: t, what: "create-and-confirm keys answered otherwise than their one payment intent"}
	for _, op := range ops {
		if op.kind != "create" {
			continue
		}
		if op.last.err == nil && op.last.status == http.StatusOK {
			succeeded++
		}
		ids := byKey[op.key]
		if len(ids) <= 1 {
			checkCreateAnswer(&answers, op, ids, sales)
			continue
		}
		slices.Sort(ids)
		twice.add("key %s made %d payment intents %v (approved sales at the gateway: %v); its final answer: %s",
			op.key, len(ids), ids, chargedOf(ids, sales), op.last)
	}
	twice.report()
	answers.report()
	if charged != succeeded {
		t.Errorf("%d payment intents charged at the gateway for %d create-and-confirm keys answered 200", charged, succeeded)
	}
}

func chargedOf(ids []string, sales map[string]int) []int {
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = sales[id]
	}
	return out
}

// checkCreateAnswer checks that a create's final answer names the one intent
// its key made, and that a decline left it uncharged.
func checkCreateAnswer(f *failures, op *payOp, ids []string, sales map[string]int) {
	var body struct {
		ID    string
		Error struct {
			PaymentIntent struct{ ID string } `json:"payment_intent"`
		}
	}
	if op.last.err != nil || json.Unmarshal(op.last.body, &body) != nil {
		return
	}
	switch op.last.status {
	case http.StatusOK:
		if !slices.Equal(ids, []string{body.ID}) {
			f.add("key %s answered with %s, but its intents are %v", op.key, body.ID, ids)
		}
	case http.StatusPaymentRequired:
		if id := body.Error.PaymentIntent.ID; sales[id] != 0 {
			f.add("key %s answered 402 for %s, which the gateway charged %d times", op.key, id, sales[id])
		}
	}
}

// checkRefunds compares what each charge keeps, by the API, with what the
// gateway's QUERY of its sale says it keeps (captured less refunded).
func checkRefunds(t *testing.T, api *payClient, gatewayURL string, calls []gatewayCall, intents map[string]intentJSON) {
	client, err := cardstream.New(cardstream.Config{MerchantID: cardstream.TestMerchantID, Secret: cardstream.TestSecret, GatewayURL: gatewayURL})
	if err != nil {
		t.Fatal(err)
	}
	_, xrefs := approvedSales(calls)
	f := failures{t: t, what: "charges disagree with the gateway on what was refunded"}
	for id, pi := range intents {
		xref := xrefs[id]
		if pi.LatestCharge == "" || xref == "" || pi.Status == "processing" {
			continue // no charge, or one an operator has to settle first
		}
		var ch struct {
			AmountCaptured int64 `json:"amount_captured"`
			AmountRefunded int64 `json:"amount_refunded"`
		}
		if err := api.get("/v1/charges/"+pi.LatestCharge, &ch); err != nil {
			t.Error(err)
			continue
		}
		q, err := client.Query(context.Background(), cardstream.QueryRequest{XRef: xref})
		if err != nil {
			t.Errorf("QUERY %s: %v", xref, err)
			continue
		}
		if kept, want := ch.AmountCaptured-ch.AmountRefunded, gatewayKept(q); kept != want {
			f.add("payment intent %s (%s): the charge keeps %d (captured %d, refunded %d); the gateway keeps %d (state %s, amount %d, refunded %d)",
				id, pi.Status, kept, ch.AmountCaptured, ch.AmountRefunded, want, q.State, q.Amount, q.AmountRefunded)
		}
	}
	f.report()
}

// gatewayKept is what a sale keeps at the gateway: nothing while it is only
// authorised or once voided, else its captured amount (lowered by partial
// refunds before settlement) less what REFUND_SALEs gave back.
func gatewayKept(q *cardstream.Result) int64 {
	switch q.State {
	case cardstream.StateApproved, cardstream.StateCanceled:
		return 0
	}
	return q.Amount - q.AmountRefunded
}

// checkFinalAnswers checks that every operation ended with a 200: nothing in
// the load is declined or refused, so a retry that is answered otherwise
// did not get its first execution's outcome.
func checkFinalAnswers(t *testing.T, ops []*payOp) {
	bad := map[string]int{}
	var first []string
	for _, op := range ops {
		if op.last.err != nil || op.last.status == http.StatusOK {
			continue // no answer at all is reported by retryUnanswered
		}
		var e struct{ Error struct{ Code string } }
		json.Unmarshal(op.last.body, &e)
		bad[fmt.Sprintf("%s %d %s", op.kind, op.last.status, e.Error.Code)]++
		if len(first) < 5 {
			first = append(first, fmt.Sprintf("%s (key %s, sent %d times): %s", op.path, op.key, op.sends, op.last))
		}
	}
	if len(bad) > 0 {
		t.Errorf("operations whose final answer is not 200, by kind, status and code: %v; the first: %s", bad, strings.Join(first, "; "))
	}
}

// failures reports the first few failures of one check in full, then how
// many there were: a systematic failure stays readable.
type failures struct {
	t    *testing.T
	what string
	n    int
}

func (f *failures) add(format string, args ...any) {
	f.t.Helper()
	if f.n++; f.n <= 5 {
		f.t.Errorf(format, args...)
	}
}

func (f *failures) report() {
	f.t.Helper()
	if f.n > 0 {
		f.t.Errorf("%d %s", f.n, f.what)
	}
}
