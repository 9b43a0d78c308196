package main

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/seed"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

func TestHistQuantiles(t *testing.T) {
	t.Parallel()
	var h hist
	var exact []int64
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		// Log-uniform from 10 µs to 10 s, like real latencies.
		us := int64(10 * float64(1e6) * r.Float64() * r.Float64() * r.Float64())
		h.record(time.Duration(us) * time.Microsecond)
		exact = append(exact, us)
	}
	slices.Sort(exact)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := exact[int(q*float64(len(exact)))-1]
		got := h.quantile(q)
		// The histogram answers with its bucket's upper end: never less,
		// and at most 1/64 more.
		if got < want || float64(got) > float64(want)*(1+1.0/64)+1 {
			t.Errorf("quantile(%v) = %d µs, want %d µs within 1/64", q, got, want)
		}
	}
	if h.max != exact[len(exact)-1] || h.quantile(1) != h.max {
		t.Errorf("max = %d, quantile(1) = %d, want %d", h.max, h.quantile(1), exact[len(exact)-1])
	}
}

func TestHistBuckets(t *testing.T) {
	t.Parallel()
	prev := -1
	for v := int64(0); v < 1<<22; v += 1 + v/1000 {
		i := bucketOf(v)
		lo, hi := bucketRange(i)
		if v < lo || v > hi || i < prev {
			t.Fatalf("bucketOf(%d) = %d holding [%d, %d]; previous bucket %d", v, i, lo, hi, prev)
		}
		prev = i
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.1.2.3": true, "::1": true, "localhost": true,
		"10.0.0.1": false, "192.168.1.1": false, "example.com": false, "": false,
	} {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestJSONID(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		`{"id":"pm_123","object":"payment_method"}`:       "pm_123",
		"{\n  \"id\": \"cus_9\",\n  \"object\": \"x\"\n}": "cus_9",
		`{"error":{}}`: "",
	} {
		if got := jsonID([]byte(body)); got != want {
			t.Errorf("jsonID(%s) = %q, want %q", body, got, want)
		}
	}
}

func TestSummarizeMedians(t *testing.T) {
	t.Parallel()
	rs := []Result{
		{Label: "a", Scenario: "s", OpsPerSec: 10, LatencyMs: Latency{P99: 5}},
		{Label: "a", Scenario: "s", OpsPerSec: 30, LatencyMs: Latency{P99: 1}},
		{Label: "a", Scenario: "s", OpsPerSec: 20, LatencyMs: Latency{P99: 3}, Tainted: true},
	}
	s := summarize(rs)
	if len(s) != 1 || s[0].ops != 20 || s[0].p99 != 3 || s[0].tainted != 1 {
		t.Errorf("summary = %+v", s[0])
	}
}

func TestAdvanceTarget(t *testing.T) {
	t.Parallel()
	// From the first of a month, and from the time the last advance left
	// the clock at: always past the next month's renewal and its hour.
	for _, from := range []time.Time{
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 2, 1, 1, 1, 0, 0, time.UTC),
	} {
		renewal := from.AddDate(0, 1, 0).Unix()
		if got := advanceTarget(from.Unix()); got < renewal+3600 || got > renewal+3600+120 {
			t.Errorf("advanceTarget(%s) = %s, want just over an hour after %s", from, time.Unix(got, 0).UTC(),
				time.Unix(renewal, 0).UTC())
		}
	}
}

// TestDashboardQueries runs dashboard.queries' queries on a small seeded
// project, on both databases: every one answers, with rows, deep pages
// included. The full-size timings are BENCHMARKS.md's.
func TestDashboardQueries(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		now := time.Now()
		if _, err := seed.Run(ctx, db, seed.Options{Project: scope.ProjectID, Customers: 200, Payments: 3000, Subscriptions: 20, Now: now, Seed: 3}); err != nil {
			t.Fatal(err)
		}
		qs, err := dashboardQueries(ctx, db, scope, now, 300)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, q := range qs {
			st, err := timeQuery(ctx, q, 2, nil)
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, q.name)
			if st.Rows == 0 || st.P99 <= 0 {
				t.Errorf("%s: %d rows, p99 %v ms; want rows and a time", q.name, st.Rows, st.P99)
			}
		}
		for _, want := range []string{"overview.revenue_30d", "overview.chart_30d", "payments.deep", "payments.succeeded.deep",
			"payments.amount_50_100.deep", "customers.deep", "invoices.deep", "events.deep", "customers.by_email", "payments.customer.first"} {
			if !slices.Contains(names, want) {
				t.Errorf("queries %q lack %s", names, want)
			}
		}
	})
}
