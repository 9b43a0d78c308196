package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/calmony/calmonypay/internal/apitest"
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
	parallel(b, func(i int64) {
		w := httptest.NewRecorder()
		srv.API.ServeHTTP(w, benchRequest(srv, "POST", "/v1/customers",
			fmt.Sprintf("email=c%d%%40example.com&name=Bench+Customer&metadata[order_id]=%d", i, i), fmt.Sprintf("bench-%d", i)))
		if w.Code != http.StatusOK {
			b.Fatalf("create: %d %s", w.Code, w.Body)
		}
	})
}

// parallel calls op from 32 goroutines per CPU, each call with a number of
// its own, like the load tool's concurrent clients.
func parallel(b *testing.B, op func(i int64)) {
	var n atomic.Int64
	b.SetParallelism(32)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			op(n.Add(1))
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

// BenchmarkPaymentFlowHandler is the load tool's payment.flow: a card payment
// method, then a payment intent confirmed with it, against the in-process
// Cardstream sandbox.
func BenchmarkPaymentFlowHandler(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchPaymentFlow(b, apitest.Options{}) })
	b.Run("postgres", func(b *testing.B) { benchPaymentFlow(b, apitest.Options{Postgres: true}) })
}

func benchPaymentFlow(b *testing.B, opts apitest.Options) {
	srv := apitest.Start(b, opts)
	parallel(b, func(i int64) {
		w := httptest.NewRecorder()
		srv.API.ServeHTTP(w, benchRequest(srv, "POST", "/v1/payment_methods",
			"type=card&card[number]=4929421234600821&card[exp_month]=12&card[exp_year]=2040&card[cvc]=356", fmt.Sprintf("pm-%d", i)))
		var pm struct{ ID string }
		if err := json.Unmarshal(w.Body.Bytes(), &pm); w.Code != http.StatusOK || err != nil {
			b.Fatalf("payment method: %d %s", w.Code, w.Body)
		}
		w = httptest.NewRecorder()
		srv.API.ServeHTTP(w, benchRequest(srv, "POST", "/v1/payment_intents",
			"amount=1000&currency=gbp&confirm=true&payment_method="+pm.ID, fmt.Sprintf("pi-%d", i)))
		var pi struct{ Status string }
		if err := json.Unmarshal(w.Body.Bytes(), &pi); w.Code != http.StatusOK || err != nil || pi.Status != "succeeded" {
			b.Fatalf("payment intent: %d %s", w.Code, w.Body)
		}
	})
}
