package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/calmony/calmonypay/internal/api/apitest"
)

// The handler benchmarks call the server's ServeHTTP directly, without a
// network, so that a CPU profile (go test -bench Handler -cpuprofile) shows
// the API's own costs: middleware, decoding, store, rendering.

func benchRequest(srv *apitest.Server, method, path, body, idem string) *http.Request {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+srv.Key)
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	return req
}

func BenchmarkCreateCustomerHandler(b *testing.B) {
	srv := apitest.Start(b, apitest.Options{})
	var n atomic.Int64
	b.SetParallelism(32)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			w := httptest.NewRecorder()
			srv.API.ServeHTTP(w, benchRequest(srv, "POST", "/v1/customers",
				fmt.Sprintf("email=c%d%%40example.com&name=Bench+Customer&metadata[order_id]=%d", i, i), fmt.Sprintf("bench-%d", i)))
			if w.Code != http.StatusOK {
				b.Fatalf("create: %d %s", w.Code, w.Body)
			}
		}
	})
}

func BenchmarkRetrieveCustomerHandler(b *testing.B) {
	srv := apitest.Start(b, apitest.Options{})
	w := httptest.NewRecorder()
	srv.API.ServeHTTP(w, benchRequest(srv, "POST", "/v1/customers", "email=jenny%40example.com&name=Jenny+Rosen", ""))
	var c struct{ ID string }
	if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil || c.ID == "" {
		b.Fatalf("create: %d %s", w.Code, w.Body)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			srv.API.ServeHTTP(w, benchRequest(srv, "GET", "/v1/customers/"+c.ID, "", ""))
			if w.Code != http.StatusOK {
				b.Fatalf("retrieve: %d %s", w.Code, w.Body)
			}
		}
	})
}
