package health_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/health"
	"github.com/calmony/calmonypay/internal/loop"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// get fetches path with no credentials and returns the status, body and
// headers.
func get(t *testing.T, base, path string) (int, string, http.Header) {
	t.Helper()
	res, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b), res.Header
}

// readyBody decodes a /readyz answer, refusing any field but status and
// failed.
func readyBody(t *testing.T, body string) (status string, failed []string) {
	t.Helper()
	var v struct {
		Status string   `json:"status"`
		Failed []string `json:"failed"`
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("/readyz body %q: %v", body, err)
	}
	return v.Status, v.Failed
}

// TestEndpoints: on the API listener, without a key, behind the security
// headers and outside the per-key rate limit; /readyz fails, naming only
// the check, when a required background loop stops, and recovers when it
// runs again.
func TestEndpoints(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		srv := apitest.Start(t, apitest.Options{Postgres: postgres, RateLimit: 1})
		release := make(chan struct{})
		srv.Loops.Go("probe loop", func(ctx context.Context) { <-release })
		srv.Health.Required = append(srv.Health.Required, "probe loop")

		code, body, h := get(t, srv.URL, "/healthz")
		if code != http.StatusOK || body != "ok\n" {
			t.Errorf("/healthz = %d %q, want 200 ok", code, body)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Strict-Transport-Security") == "" {
			t.Errorf("/healthz lacks the security headers: %v", h)
		}
		// Far beyond the per-key limit of 1 a second: never refused.
		for range 20 {
			code, body, h = get(t, srv.URL, "/readyz")
			if code != http.StatusOK {
				t.Fatalf("/readyz = %d %q, want 200", code, body)
			}
		}
		if status, failed := readyBody(t, body); status != "ready" || failed != nil {
			t.Errorf("/readyz body = %q", body)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") == "" {
			t.Errorf("/readyz lacks the security headers: %v", h)
		}

		close(release)
		deadline := time.Now().Add(2 * time.Second)
		for code == http.StatusOK && time.Now().Before(deadline) {
			code, body, _ = get(t, srv.URL, "/readyz")
		}
		if status, failed := readyBody(t, body); code != http.StatusServiceUnavailable || status != "unavailable" ||
			len(failed) != 1 || failed[0] != health.CheckLoops {
			t.Fatalf("/readyz with a loop stopped = %d %q, want 503 naming only %q", code, body, health.CheckLoops)
		}
		if strings.Contains(body, "probe") {
			t.Errorf("/readyz body %q names the loop", body)
		}
		srv.Loops.Go("probe loop", func(ctx context.Context) { <-ctx.Done() })
		if code, body, _ = get(t, srv.URL, "/readyz"); code != http.StatusOK {
			t.Errorf("/readyz with the loop running again = %d %q, want 200", code, body)
		}
	})
}

// TestReadyDatabase: readiness fails while the database cannot be reached
// and recovers when it can (PostgreSQL, through a proxy the test cuts),
// and fails on a closed store (both databases); the answer names the
// check and nothing of the error.
func TestReadyDatabase(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		ctx := context.Background()
		dsn := storetest.DSN(t, postgres)
		var p *storetest.Proxy
		if postgres {
			p = storetest.NewProxy(t, dsn)
			dsn = p.DSN
		}
		db, err := store.Open(ctx, store.Options{DSN: dsn, Keys: storetest.Keys(t), MaxConns: 2})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		c := &health.Checker{DB: db, Loops: loop.NewGroup(ctx, nil), Timeout: time.Second}
		srv := func() (int, string) {
			t.Helper()
			rec := &recorder{header: http.Header{}}
			req, _ := http.NewRequest(http.MethodGet, health.ReadyPath, nil)
			c.Routes()["GET "+health.ReadyPath].ServeHTTP(rec, req)
			return rec.code, rec.body.String()
		}
		if code, body := srv(); code != http.StatusOK {
			t.Fatalf("/readyz = %d %q, want 200", code, body)
		}
		if p != nil {
			p.Down()
			code, body := srv()
			if status, failed := readyBody(t, body); code != http.StatusServiceUnavailable || status != "unavailable" ||
				len(failed) != 1 || failed[0] != health.CheckDatabase {
				t.Fatalf("/readyz with PostgreSQL unreachable = %d %q, want 503 naming only %q", code, body, health.CheckDatabase)
			}
			p.Up()
			if code, body := srv(); code != http.StatusOK {
				t.Fatalf("/readyz with PostgreSQL back = %d %q, want 200", code, body)
			}
		}
		db.Close()
		code, body := srv()
		if status, failed := readyBody(t, body); code != http.StatusServiceUnavailable || status != "unavailable" ||
			len(failed) != 1 || failed[0] != health.CheckDatabase {
			t.Fatalf("/readyz on a closed store = %d %q, want 503 naming only %q", code, body, health.CheckDatabase)
		}
	})
}

// recorder is a minimal http.ResponseWriter.
type recorder struct {
	header http.Header
	code   int
	body   strings.Builder
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}
