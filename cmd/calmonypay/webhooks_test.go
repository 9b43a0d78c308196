package main

import (
	"bufio"
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
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	stripewebhook "github.com/stripe/stripe-go/v85/webhook"

	"github.com/calmony/calmonypay/internal/secret"
)

// hookLog is a webhook receiver that verifies each delivery with stripe-go
// v85's ConstructEvent and counts events by ID.
type hookLog struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	counts map[string]int
	types  map[string]string // event ID → type
	object map[string]string // event ID → data.object.id
	delay  time.Duration
}

func newHookLog(t *testing.T, delay time.Duration) *hookLog {
	h := &hookLog{t: t, counts: map[string]int{}, types: map[string]string{}, object: map[string]string{}, delay: delay}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookLog) setSecret(s string) {
	h.mu.Lock()
	h.secret = s
	h.mu.Unlock()
}

func (h *hookLog) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	secret := h.secret
	h.mu.Unlock()
	evt, err := stripewebhook.ConstructEvent(body, r.Header.Get("Stripe-Signature"), secret)
	if err != nil {
		h.t.Errorf("ConstructEvent: %v", err)
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	var obj struct {
		ID string `json:"id"`
	}
	json.Unmarshal(evt.Data.Raw, &obj)
	time.Sleep(h.delay)
	h.mu.Lock()
	h.counts[evt.ID]++
	h.types[evt.ID] = string(evt.Type)
	h.object[evt.ID] = obj.ID
	h.mu.Unlock()
}

func (h *hookLog) has(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[id] > 0
}

func (h *hookLog) objects() map[string]bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]bool{}
	for _, o := range h.object {
		out[o] = true
	}
	return out
}

// apiJSON makes a request and decodes a 200 answer.
func apiJSON(t *testing.T, method, u, key string, form url.Values) map[string]any {
	t.Helper()
	status, body := request(t, method, u, key, form)
	if status != 200 {
		t.Fatalf("%s %s = %d %s", method, u, status, body)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// allEventIDs lists every event ID through the API.
func allEventIDs(t *testing.T, base, key string) []string {
	t.Helper()
	var ids []string
	after := ""
	for {
		q := "?limit=100"
		if after != "" {
			q += "&starting_after=" + after
		}
		l := apiJSON(t, "GET", base+"/v1/events"+q, key, nil)
		for _, e := range l["data"].([]any) {
			after = e.(map[string]any)["id"].(string)
			ids = append(ids, after)
		}
		if l["has_more"] != true {
			return ids
		}
	}
}

// process is a calmonypay binary running serve.
type process struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	out   strings.Builder
	lines chan string
	done  chan error
}

var apiURLRE = regexp.MustCompile(`API\s+(http://\S+)/v1`)

// startBinary runs `bin serve` on a free port and returns it with its base URL.
func startBinary(t *testing.T, bin, dataDir string) (*process, string) {
	t.Helper()
	p := &process{lines: make(chan string, 100), done: make(chan error, 1)}
	// The tests' receivers are on loopback: opt in, as for local development.
	p.cmd = exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--webhook-timeout", "1s", "--allow-private-webhook-urls")
	p.cmd.Env = append(os.Environ(), "CALMONY_ENV=development")
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = io.Discard
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	deadline := time.After(10 * time.Second)
	base := ""
	for {
		select {
		case line := <-p.lines:
			if m := apiURLRE.FindStringSubmatch(line); m != nil {
				base = m[1]
			}
			if strings.Contains(line, "Test key") && base != "" { // the banner is printed once the server is listening
				return p, base
			}
		case err := <-p.done:
			t.Fatalf("serve exited before it was ready: %v\n%s", err, p.output())
		case <-deadline:
			t.Fatalf("serve not ready after 10s:\n%s", p.output())
		}
	}
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// The built binary is killed with SIGKILL while events are being created
// and delivered; restarted on the same data folder, it delivers every event
// that was committed: none is lost.
func TestWebhookDeliverySurvivesKill(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "calmonypay")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	p, base := startBinary(t, bin, data)
	key := keyRE.FindString(p.output())
	if key == "" {
		t.Fatalf("no key in the banner:\n%s", p.output())
	}
	hooks := newHookLog(t, 5*time.Millisecond) // slow enough to have deliveries in flight at the kill
	ep := apiJSON(t, "POST", base+"/v1/webhook_endpoints", key, url.Values{"url": {hooks.srv.URL}, "enabled_events[]": {"*"}})
	hooks.setSecret(ep["secret"].(string))

	// Create customers from several clients until the kill.
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	stop := make(chan struct{})
	for c := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				form := url.Values{"email": {fmt.Sprintf("kill%d-%d@example.com", c, i)}}
				req, _ := http.NewRequest("POST", base+"/v1/customers", strings.NewReader(form.Encode()))
				req.SetBasicAuth(key, "")
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return // the server is gone
				}
				var cus struct {
					ID string `json:"id"`
				}
				json.NewDecoder(resp.Body).Decode(&cus)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					acked = append(acked, cus.ID)
					mu.Unlock()
				}
			}
		})
	}
	// Kill mid-stream: once some events are delivered and more are waiting.
	deadline := time.Now().Add(5 * time.Second)
	for len(hooks.objects()) < 20 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	close(stop)
	wg.Wait()
	mu.Lock()
	n := len(acked)
	mu.Unlock()
	delivered := len(hooks.objects())
	if n == 0 || delivered >= n {
		t.Logf("at the kill: %d customers acknowledged, %d delivered (the kill should come mid-stream)", n, delivered)
	}

	p2, base2 := startBinary(t, bin, data)
	ids := allEventIDs(t, base2, key)
	if len(ids) < n {
		t.Fatalf("%d events after the restart, but %d customers were acknowledged", len(ids), n)
	}
	wait := time.Now().Add(15 * time.Second)
	for _, id := range ids {
		for !hooks.has(id) {
			if time.Now().After(wait) {
				t.Fatalf("event %s was never delivered (%d of %d events delivered)", id, len(hooks.objects()), len(ids))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	got := hooks.objects()
	for _, id := range acked {
		if !got[id] {
			t.Errorf("customer %s was acknowledged but its event never arrived", id)
		}
	}
	t.Logf("%d customers acknowledged before the kill (%d delivered then); all %d events delivered after the restart", n, delivered, len(ids))

	// A graceful stop lets the worker finish.
	p2.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p2.done:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("serve did not stop within 10s of SIGTERM")
	}
}

var secretRE = regexp.MustCompile(`whsec_[0-9A-Za-z]{32}`)

// listen reads the project's new events through the API and forwards each
// to the app, signed with the secret it prints, reporting the app's answer;
// trigger makes the events. The server is not told about listen (no
// endpoint) and needs no opt-in to private webhook URLs.
func TestListenAndTrigger(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	base, banner, stopServe := te.serve()
	defer stopServe()
	key := keyRE.FindString(banner)
	// An event from before listen starts is not forwarded.
	apiJSON(t, "POST", base+"/v1/customers", key, url.Values{"email": {"before@example.com"}})
	app := newHookLog(t, 0)

	// The key comes from the environment here.
	te.env["CALMONY_API_KEY"] = key
	out, stopListen := te.listen("--forward-to", app.srv.URL+"/webhook", "--api-url", base, "--events", "customer.created, customer.updated, payment_intent.payment_failed")
	delete(te.env, "CALMONY_API_KEY")
	app.setSecret(secretRE.FindString(out.String()))
	if eps := apiJSON(t, "GET", base+"/v1/webhook_endpoints", key, nil)["data"].([]any); len(eps) != 0 {
		t.Fatalf("endpoints while listening = %v", eps)
	}

	code, tout, terr := te.cmd("trigger", "customer.updated", "--api-key", key, "--api-url", base)
	if code != 0 || !strings.Contains(tout, "created customer cus_") || !strings.Contains(tout, "updated customer cus_") {
		t.Fatalf("trigger = %d\n%s\n%s", code, tout, terr)
	}
	cus := regexp.MustCompile(`cus_[0-9A-Za-z]+`).FindString(tout)
	// Filtered out by --events.
	apiJSON(t, "DELETE", base+"/v1/customers/"+cus, key, nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		app.mu.Lock()
		n := len(app.counts)
		app.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app got %d events, want 2; listen said:\n%s", n, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	waitOutput(t, out, "<-- [200] POST "+app.srv.URL+"/webhook")
	time.Sleep(3 * listenPollInterval) // any further event would arrive by now
	app.mu.Lock()
	for id, typ := range app.types {
		if app.object[id] != cus || (typ != "customer.created" && typ != "customer.updated") || app.counts[id] != 1 {
			t.Errorf("app got %s %s about %s %d times", id, typ, app.object[id], app.counts[id])
		}
	}
	app.mu.Unlock()
	created := strings.Index(out.String(), "--> customer.created [evt_")
	if updated := strings.Index(out.String(), "--> customer.updated [evt_"); created < 0 || updated < created {
		t.Errorf("listen did not print the events in order:\n%s", out.String())
	}
	stopListen()

	live := keyRE.FindString(func() string { _, o, _ := te.cmd("keys", "create", "--mode", "live"); return o }())
	for _, args := range [][]string{
		{"trigger", "payment_intent.exploded", "--api-key", key, "--api-url", base},
		{"trigger", "customer.created", "--api-key", live, "--api-url", base},
		{"trigger", "customer.created", "--api-key", "", "--api-url", base},
		{"listen", "--api-key", key, "--api-url", base},
		{"listen", "--forward-to", "ftp://x", "--api-key", key},
		{"listen", "--forward-to", "http://localhost:3000/", "--api-key", live, "--api-url", base},
		{"listen", "--forward-to", "http://localhost:3000/", "--api-key", key, "--api-url", base, "--events", "customer.exploded"},
		{"listen", "--forward-to", "http://localhost:3000/", "--api-key", key, "--api-url", base, "--events", "nothing.*"},
	} {
		if code, _, _ := te.cmd(args...); code != 2 {
			t.Errorf("%v exited %d, want 2", args, code)
		}
	}
}

// listen reports what the app answered, and keeps reading events while the
// app is failing or unreachable.
func TestListenReportsAppFailures(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	base, banner, stopServe := te.serve()
	defer stopServe()
	key := keyRE.FindString(banner)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	defer failing.Close()

	out, stopListen := te.listen("--forward-to", failing.URL, "--api-url", base, "--api-key", key, "--events", "customer.*")
	defer stopListen()
	apiJSON(t, "POST", base+"/v1/customers", key, url.Values{"email": {"a@example.com"}})
	waitOutput(t, out, "<-- [500] POST "+failing.URL)
	failing.Close()
	apiJSON(t, "POST", base+"/v1/customers", key, url.Values{"email": {"b@example.com"}})
	waitOutput(t, out, "<-- [ERR] POST "+failing.URL)
}

// listen starts calmonypay listen with args once it has printed its signing
// secret, and returns its output and a function that stops it.
func (te *testEnv) listen(args ...string) (*syncBuffer, func()) {
	te.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	vars := maps.Clone(te.env)
	env := &env{stdout: &out, stderr: &errOut, getenv: func(k string) string { return vars[k] }}
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"listen"}, args...), env) }()
	deadline := time.Now().Add(10 * time.Second)
	for !secretRE.MatchString(out.String()) {
		if time.Now().After(deadline) {
			cancel()
			te.t.Fatalf("listen printed no secret:\n%s\n%s", out.String(), errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &out, sync.OnceFunc(func() {
		cancel()
		if code := <-done; code != 0 {
			te.t.Errorf("listen exited %d: %s", code, errOut.String())
		}
	})
}

func waitOutput(t *testing.T, b *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(b.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output lacks %q:\n%s", want, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Production needs its own webhook key; elsewhere one is generated into the
// data folder, and a _FILE variant is read.
func TestWebhookEncryptionKey(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	te.env["CALMONY_ENCRYPTION_KEY"] = secret.NewKey()
	code, _, errOut := te.cmd(productionServe...)
	if code == 0 || !strings.Contains(errOut, "CALMONY_WEBHOOK_ENCRYPTION_KEY") {
		t.Errorf("production without a webhook key = %d %q", code, errOut)
	}

	keyFile := filepath.Join(te.dir, "wh.key")
	if err := os.WriteFile(keyFile, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	te.env["CALMONY_WEBHOOK_ENCRYPTION_KEY_FILE"] = keyFile
	if code, _, errOut := te.cmd("serve", "--addr", "127.0.0.1:0"); code == 0 || !strings.Contains(errOut, keyFile) {
		t.Errorf("a bad key file = %d %q", code, errOut)
	}
	delete(te.env, "CALMONY_WEBHOOK_ENCRYPTION_KEY_FILE")
	_, _, stop := te.serve()
	stop()
	if _, err := os.Stat(filepath.Join(te.dir, "webhook-encryption.key")); err != nil {
		t.Errorf("no development webhook key was generated: %v", err)
	}
}

// The opt-in to private webhook URLs is for development: production refuses
// it, by flag or variable, and a development server says it is on.
func TestAllowPrivateWebhookURLsRefusedInProduction(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	code, _, errOut := te.cmd("serve", "--env", "production", "--addr", "127.0.0.1:0", "--allow-private-webhook-urls")
	if code != 1 || !strings.Contains(errOut, "--allow-private-webhook-urls") {
		t.Errorf("production with the flag = %d %q", code, errOut)
	}
	te.env["CALMONY_ALLOW_PRIVATE_WEBHOOK_URLS"] = "true"
	code, _, errOut = te.cmd("serve", "--env", "production", "--addr", "127.0.0.1:0")
	if code != 1 || !strings.Contains(errOut, "refused with --env production") {
		t.Errorf("production with the variable = %d %q", code, errOut)
	}
	_, banner, stop := te.serve()
	stop()
	if !strings.Contains(banner, "--allow-private-webhook-urls") {
		t.Errorf("the banner does not mention the opt-in:\n%s", banner)
	}
}
