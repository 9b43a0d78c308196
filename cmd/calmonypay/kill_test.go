package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// killChildEnv, when set, makes the test binary run calmonypay with the
// JSON-encoded arguments it holds instead of running tests: the kill test
// starts real server processes from it, so that it needs no separate build.
const killChildEnv = "CALMONY_KILLTEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(killChildEnv); args != "" {
		var argv []string
		if err := json.Unmarshal([]byte(args), &argv); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, argv, &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// TestKillNineLosesNoAcknowledgedWrite runs a concurrent create load against
// a server process, kills it with SIGKILL mid-run, restarts it on the same
// data and checks that every customer it acknowledged with a 200 is there.
func TestKillNineLosesNoAcknowledgedWrite(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		killTest(t, "")
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		base := os.Getenv(storetest.PostgresURLEnv)
		if base == "" {
			t.Skip(storetest.PostgresURLEnv + " is not set")
		}
		killTest(t, postgresSchema(t, base))
	})
}

func killTest(t *testing.T, database string) {
	dir := t.TempDir()
	args := []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--rate-limit", "0"}
	if database != "" {
		args = append(args, "--database", database)
	}
	srv := startChild(t, args)
	key := keyRE.FindString(srv.banner)
	if key == "" {
		t.Fatalf("no key in the banner:\n%s", srv.banner)
	}

	// Load until the kill, keeping every acknowledged ID.
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second}
	killed := make(chan struct{})
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-killed:
					return
				default:
				}
				status, body, err := post(client, srv.url+"/v1/customers", key, fmt.Sprintf("kill-%d-%d", w, i),
					url.Values{"email": {fmt.Sprintf("w%d-%d@example.com", w, i)}, "name": {"Kill Test"}})
				if err != nil {
					continue // no answer: not acknowledged
				}
				if status != http.StatusOK {
					t.Errorf("create answered %d: %s", status, body)
					return
				}
				var c struct{ ID string }
				if err := json.Unmarshal(body, &c); err != nil || !strings.HasPrefix(c.ID, pay.PrefixCustomer) {
					t.Errorf("create answered 200 without a customer: %s", body)
					return
				}
				mu.Lock()
				acked = append(acked, c.ID)
				mu.Unlock()
			}
		})
	}
	// Kill in mid-stream, once a fair number of writes are acknowledged
	// (fewer under the race detector, which slows the server down).
	start := time.Now()
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 2000 || time.Since(start) > 3*time.Second || n >= 300 && time.Since(start) > time.Second {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv.kill()
	close(killed)
	wg.Wait()
	if len(acked) < 50 {
		t.Fatalf("only %d writes acknowledged before the kill: the test proves little", len(acked))
	}

	// Restart on the same data and find every acknowledged customer.
	srv = startChild(t, args)
	missing := 0
	for _, id := range acked {
		req, _ := http.NewRequest("GET", srv.url+"/v1/customers/"+id, nil)
		req.SetBasicAuth(key, "")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			missing++
			if missing <= 5 {
				t.Errorf("acknowledged customer %s after the restart: %d", id, resp.StatusCode)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged customers lost by kill -9", missing, len(acked))
	}
	t.Logf("%d acknowledged customers, all present after kill -9 and restart", len(acked))
}

func post(client *http.Client, u, key, idem string, form url.Values) (int, []byte, error) {
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.SetBasicAuth(key, "")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Idempotency-Key", idem)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// child is a calmonypay server process started from the test binary.
type child struct {
	url, banner string
	cmd         *exec.Cmd
	stderr      *syncBuffer
	exited      chan struct{}
}

var apiLineRE = regexp.MustCompile(`API\s+(http://\S+)/v1`)

// startChild runs calmonypay with args in a child process and waits for its
// banner; env adds NAME=VALUE entries to the child's environment.
func startChild(t *testing.T, args []string, env ...string) *child {
	t.Helper()
	argv, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), env...), killChildEnv+"="+string(argv))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.kill)
	// The banner is printed once the listener is bound; its URL line comes
	// before the key.
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		cmd.Wait()
		close(c.exited)
	}()
	var banner strings.Builder
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("server exited before its banner ended:\n%s%s", banner.String(), c.stderr.String())
			}
			banner.WriteString(line + "\n")
			if m := apiLineRE.FindStringSubmatch(line); m != nil {
				c.url = m[1]
			}
			// The banner ends with an empty line.
			if line == "" && c.url != "" && strings.Contains(banner.String(), "Project") {
				c.banner = banner.String()
				go func() {
					for range lines {
					}
				}()
				return c
			}
		case <-timeout:
			t.Fatalf("no banner after 30 s:\n%s%s", banner.String(), c.stderr.String())
		}
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (c *child) kill() {
	c.cmd.Process.Kill()
	<-c.exited
}

// postgresSchema creates a schema for one test and returns base with its
// search_path set to it; the schema is dropped when the test ends.
func postgresSchema(t *testing.T, base string) string {
	t.Helper()
	schema := "kill_" + strings.ToLower(pay.RandomString(12))
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() { admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`) })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
