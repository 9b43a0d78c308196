package apidocs

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestAnchor(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ method, path, want string }{
		{"POST", "/v1/customers", "post-customers"},
		{"GET", "/v1/customers/{customer}/payment_methods", "get-customers-customer-payment-methods"},
		{"POST", "/v1/test_helpers/test_clocks/{id}/advance", "post-test-helpers-test-clocks-id-advance"},
	} {
		if got := (Endpoint{Method: tt.method, Path: tt.path}).Anchor(); got != tt.want {
			t.Errorf("Anchor(%s %s) = %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}

func TestCurlData(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, value, want string }{
		{"email", "jenny@example.com", "-d email=jenny@example.com"},
		{"metadata[k]", "v", "-d 'metadata[k]=v'"},
		{"name", "Jenny Rosen", "--data-urlencode 'name=Jenny Rosen'"},
		{"phone", "+447700900123", "--data-urlencode 'phone=+447700900123'"},
		{"query", `status:"succeeded" AND amount>1000`, `--data-urlencode 'query=status:"succeeded" AND amount>1000'`},
		{"description", "it's", `--data-urlencode 'description=it'\''s'`},
	} {
		if got := curlData(tt.name, tt.value); got != tt.want {
			t.Errorf("curlData(%q, %q) = %s, want %s", tt.name, tt.value, got, tt.want)
		}
	}
}

// TestCurlExamples runs every endpoint's curl example, as the page shows
// it, with sh and curl against a server that records the request: the
// method, path, key and parameters curl sends must be the ones the
// example means (the ones package api's tests send to the route).
func TestCurlExamples(t *testing.T) {
	t.Parallel()
	for _, bin := range []string{"sh", "curl"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("no %s: %v", bin, err)
		}
	}
	type seen struct {
		method, path, user string
		params             url.Values
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := r.URL.RawQuery
		if r.Method != http.MethodGet && r.Method != http.MethodDelete {
			b, _ := io.ReadAll(r.Body)
			raw = string(b)
		}
		params, err := url.ParseQuery(raw)
		if err != nil {
			t.Errorf("%s %s: parameters %q: %v", r.Method, r.URL.Path, raw, err)
		}
		user, _, _ := r.BasicAuth()
		got <- seen{r.Method, r.URL.Path, user, params}
	}))
	defer srv.Close()
	const key = "sk_test_docs"
	for _, res := range Resources() {
		for _, e := range res.Endpoints {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			cmd := exec.CommandContext(ctx, "sh", "-c", e.Curl(srv.URL)+" -sS -o /dev/null")
			cmd.Env = []string{"KEY=" + key, "PATH=/usr/bin:/bin"}
			out, err := cmd.CombinedOutput()
			cancel()
			if err != nil {
				t.Errorf("%s: %v: %s", e.Pattern(), err, out)
				continue
			}
			s := <-got
			want, _ := url.ParseQuery(Encode(e.Example))
			if s.method != e.Method || s.path != PathIDs(e.Path) || s.user != key || !reflect.DeepEqual(s.params, want) {
				t.Errorf("%s: curl sent %s %s as %q with %v, want %s %s as %q with %v",
					e.Pattern(), s.method, s.path, s.user, s.params, e.Method, PathIDs(e.Path), key, want)
			}
			if strings.Contains(e.Curl(srv.URL), "\n\n") {
				t.Errorf("%s: blank line in the example", e.Pattern())
			}
		}
	}
}
