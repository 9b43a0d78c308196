package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/secret"
)

// syncBuffer is a bytes.Buffer safe to read while a command writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testEnv runs commands against one data folder.
type testEnv struct {
	t   *testing.T
	dir string
	env map[string]string
}

func newTestEnv(t *testing.T) *testEnv {
	dir := t.TempDir()
	return &testEnv{t: t, dir: dir, env: map[string]string{"CALMONY_DATA_DIR": dir}}
}

func (te *testEnv) getenv(k string) string { return te.env[k] }

// migrate makes the database that commands other than serve and migrate
// will not create.
func (te *testEnv) migrate() {
	te.t.Helper()
	if code, _, errOut := te.cmd("migrate"); code != 0 {
		te.t.Fatalf("migrate: %s", errOut)
	}
}

// cmd runs a command to completion and returns its exit code and output.
func (te *testEnv) cmd(args ...string) (int, string, string) {
	te.t.Helper()
	var out, errb syncBuffer
	code := run(context.Background(), args, &env{stdout: &out, stderr: &errb, getenv: te.getenv})
	return code, out.String(), errb.String()
}

// serve starts serve on a free port and returns its base URL, its banner and
// a function that stops it.
func (te *testEnv) serve(args ...string) (string, string, func()) {
	te.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	ready := make(chan string, 1)
	done := make(chan int, 1)
	e := &env{stdout: &out, stderr: &errb, getenv: te.getenv, ready: func(u string) { ready <- u }}
	go func() { done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), e) }()
	select {
	case u := <-ready:
		return u, out.String(), func() {
			cancel()
			if code := <-done; code != 0 {
				te.t.Errorf("serve exited %d: %s", code, errb.String())
			}
		}
	case code := <-done:
		te.t.Fatalf("serve exited %d before it was ready: %s", code, errb.String())
	case <-time.After(10 * time.Second):
		te.t.Fatal("serve not ready after 10s")
	}
	cancel()
	return "", "", nil
}

var keyRE = regexp.MustCompile(`sk_(test|live)_[0-9A-Za-z]{32}`)

func request(t *testing.T, method, u, key string, form url.Values) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(form.Encode()))
	req.SetBasicAuth(key, "")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeFirstRunAndRestart(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	base, banner, stop := te.serve()
	key := keyRE.FindString(banner)
	if key == "" || !strings.Contains(banner, base+"/v1") {
		t.Fatalf("banner lacks the key or the URL:\n%s", banner)
	}
	status, body := request(t, "POST", base+"/v1/customers", key, url.Values{"email": {"restart@example.com"}})
	if status != 200 {
		t.Fatalf("create: %d %s", status, body)
	}
	id := regexp.MustCompile(`cus_[0-9A-Za-z]+`).FindString(body)
	// A payment through the in-process Cardstream sandbox.
	status, body = request(t, "POST", base+"/v1/payment_intents", key, url.Values{"amount": {"1000"}, "currency": {"gbp"},
		"payment_method": {"pm_card_visa"}, "confirm": {"true"}})
	if status != 200 || !strings.Contains(body, `"status":"succeeded"`) {
		t.Fatalf("payment: %d %s", status, body)
	}
	stop()

	// A restart on the same data keeps the data and the key, and makes no new key.
	base, banner, stop = te.serve()
	defer stop()
	if keyRE.MatchString(banner) {
		t.Errorf("second start printed a new key:\n%s", banner)
	}
	status, body = request(t, "GET", base+"/v1/customers/"+id, key, nil)
	if status != 200 || !strings.Contains(body, "restart@example.com") {
		t.Errorf("after restart: %d %s", status, body)
	}
}

// TestCommandsDoNotCreateADatabase: a command run from the wrong folder
// says where it looked instead of working on a new empty database, and only
// serve warns about the development key.
func TestCommandsDoNotCreateADatabase(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	for _, args := range [][]string{{"keys", "list"}, {"keys", "create"}, {"origins", "list"}, {"currencies", "list"}, {"gateway", "ops"}} {
		code, _, errOut := te.cmd(args...)
		if code == 0 || !strings.Contains(errOut, "no Calmony Pay database at "+filepath.Join(te.dir, "calmony.db")) {
			t.Errorf("%v in an empty folder = %d %q", args, code, errOut)
		}
	}
	if entries, _ := os.ReadDir(te.dir); len(entries) != 0 {
		t.Errorf("the refused commands left %v in the data folder", entries)
	}
	te.migrate()
	if code, _, errOut := te.cmd("keys", "list"); code != 0 || strings.Contains(errOut, "development key") {
		t.Errorf("keys list after migrate = %d %q, want no development-key warning", code, errOut)
	}
}

func TestProjectsCommands(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	te.migrate()
	code, out, errOut := te.cmd("projects", "create", "--name", "Second shop")
	id := lastLine(out)
	if code != 0 || !strings.HasPrefix(id, "proj_") {
		t.Fatalf("projects create = %d %q %q", code, out, errOut)
	}
	if code, _, errOut := te.cmd("projects", "rename", id, "Tea shop"); code != 0 {
		t.Errorf("projects rename: %s", errOut)
	}
	for _, bad := range [][]string{{"projects", "rename", "proj_nope", "x"}, {"projects", "rename", id, " "}, {"projects", "create", "--name", "a\x00b"}} {
		if code, _, _ := te.cmd(bad...); code == 0 {
			t.Errorf("%q was accepted", bad)
		}
	}
	if _, out, _ := te.cmd("projects", "list"); !strings.Contains(lineWith(out, id), "Tea shop") {
		t.Errorf("projects list = %q, want %s named Tea shop", out, id)
	}
	// It gets keys of its own.
	code, out, _ = te.cmd("keys", "create", "--project", id)
	if code != 0 || !strings.HasPrefix(lastLine(out), "sk_test_") {
		t.Errorf("keys create --project %s = %d %q", id, code, out)
	}
}

// TestEncryptionKeyMismatchAndRotation: serve refuses a key that does not
// open the data, with a clear message; a rotation runs with the new key and
// the old one, reencrypt ends it, and then the new key alone is enough.
func TestEncryptionKeyMismatchAndRotation(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	keyA, keyB, whA, whB := secret.NewKey(), secret.NewKey(), secret.NewKey(), secret.NewKey()
	te.env["CALMONY_ENCRYPTION_KEY"], te.env["CALMONY_WEBHOOK_ENCRYPTION_KEY"] = keyA, whA
	base, banner, stop := te.serve()
	key := keyRE.FindString(banner)
	status, body := request(t, "POST", base+"/v1/customers", key, url.Values{"email": {"jenny@example.com"}})
	customer := regexp.MustCompile(`cus_[0-9A-Za-z]+`).FindString(body)
	if status != 200 || customer == "" {
		t.Fatalf("create customer: %d %s", status, body)
	}
	if status, body := request(t, "POST", base+"/v1/webhook_endpoints", key, url.Values{"url": {"https://hooks.example.com/h"}, "enabled_events[]": {"*"}}); status != 200 {
		t.Fatalf("create webhook endpoint: %d %s", status, body)
	}
	stop()

	te.env["CALMONY_ENCRYPTION_KEY"] = keyB
	if code, _, errOut := te.cmd("serve", "--addr", "127.0.0.1:0"); code == 0 || !strings.Contains(errOut, "does not open this database") ||
		!strings.Contains(errOut, "CALMONY_ENCRYPTION_KEY_OLD") {
		t.Errorf("serve with another key = %d %q", code, errOut)
	}
	te.env["CALMONY_ENCRYPTION_KEY_OLD"], te.env["CALMONY_WEBHOOK_ENCRYPTION_KEY"], te.env["CALMONY_WEBHOOK_ENCRYPTION_KEY_OLD"] = keyA, whB, whA
	base, _, stop = te.serve()
	if status, body := request(t, "GET", base+"/v1/customers/"+customer, key, nil); status != 200 || !strings.Contains(body, "jenny@example.com") {
		t.Errorf("customer during the rotation: %d %s", status, body)
	}
	stop()
	if code, out, errOut := te.cmd("reencrypt"); code != 0 || !strings.Contains(out, "Sealed") {
		t.Fatalf("reencrypt = %d %q %q", code, out, errOut)
	}
	delete(te.env, "CALMONY_ENCRYPTION_KEY_OLD")
	delete(te.env, "CALMONY_WEBHOOK_ENCRYPTION_KEY_OLD")
	base, _, stop = te.serve()
	if status, body := request(t, "GET", base+"/v1/customers?email=jenny@example.com", key, nil); status != 200 || !strings.Contains(body, customer) {
		t.Errorf("customer by email after the rotation: %d %s", status, body)
	}
	if status, body := request(t, "GET", base+"/v1/webhook_endpoints", key, nil); status != 200 || !strings.Contains(body, "hooks.example.com") {
		t.Errorf("webhook endpoints after the rotation: %d %s", status, body)
	}
	stop()
	te.env["CALMONY_ENCRYPTION_KEY"] = keyA
	if code, _, errOut := te.cmd("keys", "list"); code == 0 || !strings.Contains(errOut, "does not open this database") {
		t.Errorf("the retired key = %d %q", code, errOut)
	}
}

// The data folder is its owner's only (0700), even when it was made before
// with a wider mode, and so is every file in it (0600): the SQLite database
// with its -wal and -shm files, and the generated keys, including a key
// file made before with a wider mode.
func TestDataFolderIsPrivate(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	if err := os.Chmod(te.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(te.dir, "encryption.key"), []byte(strings.Repeat("ab", 32)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, stop := te.serve()
	defer stop()
	if fi, err := os.Stat(te.dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data folder: mode %#o, %v; want 0700", fi.Mode().Perm(), err)
	}
	for _, name := range []string{"calmony.db", "calmony.db-wal", "calmony.db-shm", "encryption.key", "webhook-encryption.key"} {
		if fi, err := os.Stat(filepath.Join(te.dir, name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %#o, %v; want 0600", name, fi.Mode().Perm(), err)
		}
	}
}

func TestKeysCommands(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	te.migrate()
	code, out, errOut := te.cmd("keys", "create", "--mode", "test")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]
	if code != 0 || !keyRE.MatchString(key) || key != keyRE.FindString(key) {
		t.Fatalf("keys create = %d, last line %q, stderr %s", code, key, errOut)
	}
	_, out, _ = te.cmd("keys", "create", "--mode", "live")
	live := lastLine(out)
	if !strings.HasPrefix(live, "sk_live_") {
		t.Fatalf("live key = %q", live)
	}
	code, list, _ := te.cmd("keys", "list")
	if code != 0 || strings.Contains(list, key) || strings.Count(list, "key_") != 2 || !strings.Contains(list, "active") {
		t.Fatalf("keys list = %d\n%s", code, list)
	}
	ids := regexp.MustCompile(`key_[0-9A-Za-z]+`).FindAllString(list, -1)

	base, _, stop := te.serve()
	defer stop()
	if status, _ := request(t, "GET", base+"/v1/customers", key, nil); status != 200 {
		t.Fatalf("new key: %d", status)
	}
	// Roll the test key with no grace: the old key stops, the new one works.
	var testID string
	for _, id := range ids {
		if _, o, _ := te.cmd("keys", "list"); strings.Contains(lineWith(o, id), "test") {
			testID = id
		}
	}
	code, out, errOut = te.cmd("keys", "roll", testID, "--expires-in", "0s")
	rolled := lastLine(out)
	if code != 0 || !strings.HasPrefix(rolled, "sk_test_") {
		t.Fatalf("roll = %d %q %s", code, out, errOut)
	}
	waitStatus(t, base, key, 401)
	if status, _ := request(t, "GET", base+"/v1/customers", rolled, nil); status != 200 {
		t.Errorf("rolled key: %d", status)
	}
	// Revoke the live key.
	var liveID string
	_, list, _ = te.cmd("keys", "list")
	for _, id := range ids {
		if strings.Contains(lineWith(list, id), "live") {
			liveID = id
		}
	}
	if code, _, errOut := te.cmd("keys", "revoke", liveID); code != 0 {
		t.Fatalf("revoke: %s", errOut)
	}
	waitStatus(t, base, live, 401)
	if code, _, _ := te.cmd("keys", "revoke", "key_nope"); code == 0 {
		t.Error("revoking an unknown key succeeded")
	}
}

func waitStatus(t *testing.T, base, key string, want int) {
	t.Helper()
	for i := 0; i < 40; i++ {
		if status, _ := request(t, "GET", base+"/v1/customers", key, nil); status == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("status never became %d", want)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

func TestOriginsCommands(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	te.migrate()
	te.cmd("keys", "create")
	if code, _, errOut := te.cmd("origins", "add", "https://Shop.Example.com:443"); code != 0 {
		t.Fatalf("origins add: %s", errOut)
	}
	_, out, _ := te.cmd("origins", "list")
	if !strings.Contains(out, "https://shop.example.com") {
		t.Errorf("origins list = %q, want the normalised origin", out)
	}
	for _, bad := range []string{"null", "*", "https://shop.example.com/path", "ftp://x.example", "https://user@x.example"} {
		if code, _, _ := te.cmd("origins", "add", bad); code == 0 {
			t.Errorf("origins add %q succeeded", bad)
		}
	}
	if code, _, errOut := te.cmd("origins", "remove", "https://shop.example.com"); code != 0 {
		t.Fatalf("origins remove: %s", errOut)
	}
	if _, out, _ := te.cmd("origins", "list"); strings.TrimSpace(out) != "" {
		t.Errorf("after remove: %q", out)
	}
}

// productionServe runs serve in production behind a TLS-terminating proxy.
var productionServe = []string{"serve", "--env", "production", "--addr", "127.0.0.1:0", "--plain-http", "--public-url", "https://pay.example.com"}

func TestProductionRefusesWithoutEncryptionKey(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	code, _, errOut := te.cmd(productionServe...)
	if code == 0 || !strings.Contains(errOut, "CALMONY_ENCRYPTION_KEY") {
		t.Errorf("serve --env production without a key = %d %q", code, errOut)
	}
}

func TestMigrateAndUsage(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	te.env["CALMONY_DATABASE"] = filepath.Join(te.dir, "other.db")
	code, out, errOut := te.cmd("migrate")
	if code != 0 || !strings.Contains(out, "database schema is at version") {
		t.Errorf("migrate = %d %q %q", code, out, errOut)
	}
	if code, _, _ := te.cmd("frobnicate"); code != 2 {
		t.Errorf("unknown command exit = %d, want 2", code)
	}
	if code, _, _ := te.cmd("serve", "--env", "staging"); code == 0 {
		t.Error("serve --env staging succeeded")
	}
}

func TestCurrenciesAndGatewayCommands(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	te.migrate()
	te.cmd("keys", "create")
	if _, out, _ := te.cmd("currencies", "list"); strings.TrimSpace(out) != "gbp" {
		t.Errorf("default currencies = %q, want gbp", out)
	}
	if code, _, errOut := te.cmd("currencies", "set", "GBP,eur"); code != 0 {
		t.Fatalf("currencies set: %s", errOut)
	}
	if _, out, _ := te.cmd("currencies", "list"); strings.TrimSpace(out) != "gbp,eur" {
		t.Errorf("currencies after set = %q", out)
	}
	if code, _, _ := te.cmd("currencies", "set", "gbp,xyz"); code == 0 {
		t.Error("an unsupported currency was accepted")
	}
	if code, out, errOut := te.cmd("gateway", "ops", "--state", "all"); code != 0 || !strings.HasPrefix(out, "OP") {
		t.Errorf("gateway ops = %d %q %q", code, out, errOut)
	}
	if code, _, _ := te.cmd("gateway", "resolve", "gop_nope", "--not-charged"); code == 0 {
		t.Error("resolving an unknown op succeeded")
	}
}

func TestProductionRefusals(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	dataKey, webhookKey := secret.NewKey(), secret.NewKey()
	te.env["CALMONY_ENCRYPTION_KEY"], te.env["CALMONY_WEBHOOK_ENCRYPTION_KEY"] = dataKey, webhookKey
	te.migrate()
	code, _, errOut := te.cmd(productionServe...)
	if code == 0 || !strings.Contains(errOut, "CARDSTREAM_MERCHANT_ID") {
		t.Errorf("production without a live Cardstream account = %d %q", code, errOut)
	}
	// Keys that are plainly not random, or one key for both uses.
	for _, keys := range [][2]string{{strings.Repeat("00", 32), secret.NewKey()}, {secret.NewKey(), strings.Repeat("ab", 32)}} {
		te.env["CALMONY_ENCRYPTION_KEY"], te.env["CALMONY_WEBHOOK_ENCRYPTION_KEY"] = keys[0], keys[1]
		if code, _, errOut := te.cmd(productionServe...); code == 0 || !strings.Contains(errOut, "not random") {
			t.Errorf("production with a weak key = %d %q", code, errOut)
		}
	}
	same := secret.NewKey()
	te.env["CALMONY_ENCRYPTION_KEY"], te.env["CALMONY_WEBHOOK_ENCRYPTION_KEY"] = same, same
	if code, _, errOut := te.cmd(productionServe...); code == 0 || !strings.Contains(errOut, "must differ") {
		t.Errorf("production with one key for both = %d %q", code, errOut)
	}
	te.env["CALMONY_ENCRYPTION_KEY"], te.env["CALMONY_WEBHOOK_ENCRYPTION_KEY"] = dataKey, webhookKey
	// Plain HTTP only as an explicit choice, behind an https public URL.
	for _, args := range [][]string{{"serve", "--env", "production", "--addr", "127.0.0.1:0"},
		{"serve", "--env", "production", "--addr", "127.0.0.1:0", "--plain-http"}} {
		if code, _, errOut := te.cmd(args...); code == 0 || !strings.Contains(strings.ToLower(errOut), "https") {
			t.Errorf("%v = %d %q, want a refusal", args, code, errOut)
		}
	}
	te.env["REQUIRE_SIGNATURE"] = "false"
	code, _, errOut = te.cmd(productionServe...)
	if code == 0 || !strings.Contains(errOut, "bypass") {
		t.Errorf("production with the signature bypass = %d %q", code, errOut)
	}
	// No live key is made while the bypass is configured, either way.
	code, out, errOut := te.cmd("keys", "create", "--mode", "live")
	if code == 0 || !strings.Contains(errOut, "bypass") {
		t.Errorf("keys create --mode live with REQUIRE_SIGNATURE=false = %d %q %q", code, out, errOut)
	}
	delete(te.env, "REQUIRE_SIGNATURE")
	code, out, errOut = te.cmd("keys", "create", "--mode", "live", "--env", "test")
	if code == 0 || !strings.Contains(errOut, "bypass") {
		t.Errorf("keys create --mode live --env test = %d %q %q", code, out, errOut)
	}
	// The bypass is refused while a live key exists, in any environment.
	if code, _, errOut := te.cmd("keys", "create", "--mode", "live"); code != 0 {
		t.Fatalf("keys create --mode live: %d %q", code, errOut)
	}
	code, _, errOut = te.cmd("serve", "--env", "test", "--addr", "127.0.0.1:0")
	if code == 0 || !strings.Contains(errOut, "live keys") {
		t.Errorf("bypass with a live key = %d %q", code, errOut)
	}
}

// trigger produces every event type it lists, each of which webhook
// endpoints can subscribe to.
func TestTriggerEveryEvent(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	// Every fixture back to back is some hundreds of calls in a few seconds
	// with one key: more than the per-key limit lets through, which one
	// trigger at a time never meets.
	base, banner, stop := te.serve("--rate-limit", "0")
	defer stop()
	key := keyRE.FindString(banner)
	subscribe := url.Values{"url": {"https://hooks.example.com/every-type"}}
	for typ := range fixtures() {
		subscribe.Add("enabled_events[]", typ.String())
	}
	if status, body := request(t, "POST", base+"/v1/webhook_endpoints", key, subscribe); status != 200 {
		t.Fatalf("subscribing to every type trigger produces: %d %s", status, body)
	}
	for typ := range fixtures() {
		if code, out, errOut := te.cmd("trigger", typ.String(), "--api-key", key, "--api-url", base); code != 0 {
			t.Fatalf("trigger %s = %d\n%s%s", typ, code, out, errOut)
		}
		status, body := request(t, "GET", base+"/v1/events?type="+typ.String(), key, nil)
		if status != 200 || !strings.Contains(body, `"type":"`+typ.String()+`"`) {
			t.Errorf("after trigger %s: %d %s", typ, status, body)
		}
	}
}

// TestBillingRun runs one pass of the billing scheduler from the command
// line (the scheduler's work is tested in internal/billing).
func TestBillingRun(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	te.migrate()
	if code, out, errOut := te.cmd("billing", "run"); code != 0 || !strings.Contains(out, "Billing run: 0 due") {
		t.Errorf("billing run = %d %q %q", code, out, errOut)
	}
	if code, _, _ := te.cmd("billing"); code != 2 {
		t.Errorf("billing with no subcommand = %d, want 2", code)
	}
}
