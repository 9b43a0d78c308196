package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/calmony/calmonypay/internal/config"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/secret"
	"github.com/calmony/calmonypay/internal/seed"
	"github.com/calmony/calmonypay/internal/store"
)

// The dashboard.queries scenario times the store queries the merchant
// dashboard makes, in this process, on a database of its own: the server
// time of each, without HTTP or rendering. It opens the database as
// calmonypay does (-db, else CALMONY_DATABASE or calmony.db in
// CALMONY_DATA_DIR, with that folder's encryption key or
// CALMONY_ENCRYPTION_KEY), seeds the project with calmonypay dev seed's
// data unless it has payments already, then runs each query -reps times,
// one at a time, and reports its p50, p99 and max.

// DashboardStats is what dashboard.queries measured.
type DashboardStats struct {
	Dialect string `json:"dialect"`
	Project string `json:"project"`
	// Seeded is what this run seeded (nil: the project had data).
	Seeded      *seed.Counts `json:"seeded,omitempty"`
	SeedSeconds float64      `json:"seed_seconds,omitempty"`
	Reps        int          `json:"reps"`
	Depth       int          `json:"depth"`
	Queries     []QueryStat  `json:"queries"`
}

// QueryStat is one query's latencies over Runs timed runs, in
// milliseconds, and the rows its last run returned.
type QueryStat struct {
	Name string  `json:"name"`
	Runs int     `json:"runs"`
	Rows int     `json:"rows"`
	P50  float64 `json:"p50_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
	// CPU is the mean CPU time of a run: this process's (SQLite runs in
	// it) plus, on PostgreSQL, its backend's. Unlike the latencies, other
	// work on the machine does not inflate it: on a quiet machine a run
	// takes about this long.
	CPU float64 `json:"cpu_ms"`
}

// dashQuery is one dashboard query; run returns the rows it read.
type dashQuery struct {
	name string
	run  func(ctx context.Context) (int, error)
}

// runDashboard runs the dashboard.queries scenario.
func runDashboard(ctx context.Context, cfg loadConfig, logw io.Writer) (*Result, error) {
	db, err := openBenchStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	project, err := benchProject(ctx, db, cfg.project)
	if err != nil {
		return nil, err
	}
	scope := pay.Scope{ProjectID: project}
	stats := &DashboardStats{Dialect: string(db.Dialect()), Project: project, Reps: cfg.reps, Depth: cfg.depth}
	l, err := db.FindPaymentIntents(ctx, scope, store.PaymentIntentFilter{}, pay.Page{Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(l.Data) == 0 {
		fmt.Fprintf(logw, "calmony-bench: seeding %s (%s): %d customers, %d payments, %d subscriptions\n", project, db.Dialect(),
			cfg.customers, cfg.payments, cfg.subscriptions)
		t := time.Now()
		n, err := seed.Run(ctx, db, seed.Options{Project: project, Customers: cfg.customers, Payments: cfg.payments,
			Subscriptions: cfg.subscriptions, Seed: 1, Progress: logw})
		if err != nil {
			return nil, err
		}
		stats.Seeded, stats.SeedSeconds = &n, time.Since(t).Seconds()
	}
	qs, err := dashboardQueries(ctx, db, scope, time.Now(), cfg.depth)
	if err != nil {
		return nil, err
	}
	pids := []int{os.Getpid()}
	if db.Dialect() == store.Postgres {
		// One connection (openBenchStore), so one backend does every query.
		var backend int
		if err := db.RawQueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
			return nil, err
		}
		pids = append(pids, backend)
	}
	cpu := func() time.Duration {
		var sum time.Duration
		for _, pid := range pids {
			d, err := procCPU(pid)
			if err != nil {
				return -1 // not on Linux: no CPU figures
			}
			sum += d
		}
		return sum
	}
	start := time.Now()
	for _, q := range qs {
		st, err := timeQuery(ctx, q, cfg.reps, cpu)
		if err != nil {
			return nil, err
		}
		stats.Queries = append(stats.Queries, st)
	}
	return &Result{Label: cfg.label, Scenario: "dashboard.queries", Started: start.UTC().Format(time.RFC3339),
		Seconds: time.Since(start).Seconds(), CPUs: runtime.NumCPU(), Dashboard: stats}, nil
}

// queryBudget bounds the time spent timing one query, past its first
// ten timed runs (a slow query, such as the all-time revenue, gets fewer).
const queryBudget = 20 * time.Second

// timeQuery runs q three times untimed, then reps times timed (fewer if
// they take more than queryBudget).
func timeQuery(ctx context.Context, q dashQuery, reps int, cpu func() time.Duration) (QueryStat, error) {
	st := QueryStat{Name: q.name}
	var (
		h        hist
		cpuStart time.Duration
	)
	start := time.Now()
	for i := 0; i < reps+3 && (i < 13 || time.Since(start) < queryBudget); i++ {
		if i == 3 && cpu != nil {
			cpuStart = cpu()
		}
		t := time.Now()
		n, err := q.run(ctx)
		if err != nil {
			return st, fmt.Errorf("%s: %w", q.name, err)
		}
		if i >= 3 {
			h.record(time.Since(t))
			st.Runs++
		}
		st.Rows = n
	}
	if cpu != nil && cpuStart >= 0 && st.Runs > 0 {
		if end := cpu(); end >= 0 {
			st.CPU = float64(end-cpuStart) / float64(time.Millisecond) / float64(st.Runs)
		}
	}
	st.P50, st.P99, st.Max = float64(h.quantile(0.5))/1000, float64(h.quantile(0.99))/1000, float64(h.max)/1000
	return st, nil
}

// openBenchStore opens and migrates the database as calmonypay would.
func openBenchStore(ctx context.Context, cfg loadConfig) (*store.DB, error) {
	c := &config.Config{DataDir: cfg.dataDir, Database: cfg.db, Env: config.Development}
	if err := c.Finish(); err != nil {
		return nil, err
	}
	if !store.IsPostgresDSN(c.Database) {
		if err := os.MkdirAll(filepath.Dir(c.Database), 0o700); err != nil {
			return nil, err
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := c.LoadEncryptionKey(os.Getenv, log, true); err != nil {
		return nil, err
	}
	keys, err := secret.New(c.EncryptionKey)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, store.Options{DSN: c.Database, Keys: keys, Logger: log, MaxConns: 1})
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// benchProject returns the project given, else the only one, else a new one.
func benchProject(ctx context.Context, db *store.DB, id string) (string, error) {
	if id != "" {
		p, err := db.FindProject(ctx, id)
		if err != nil {
			return "", err
		}
		return p.ID, nil
	}
	ps, err := db.FindProjects(ctx)
	switch {
	case err != nil:
		return "", err
	case len(ps) == 1:
		return ps[0].ID, nil
	case len(ps) > 1:
		return "", fmt.Errorf("%w: the database has %d projects: choose one with -project", errUsage, len(ps))
	}
	p := &pay.Project{Name: "calmony-bench dashboard"}
	return p.ID, db.Tx(ctx, func(tx *store.Tx) error { return tx.CreateProject(ctx, p) })
}

// dashboardQueries returns the dashboard's queries on the scope's data as
// of now: the overview's sums and 30-day chart, the first page (20 rows) of
// each list and a deep one (after its depth-th row, or its last page's
// start if it is shorter), and a customer by email.
func dashboardQueries(ctx context.Context, db *store.DB, scope pay.Scope, now time.Time, depth int) ([]dashQuery, error) {
	day := now.UTC().Truncate(24 * time.Hour)
	since30 := now.Add(-seed.EventWindow).Unix()
	qs := []dashQuery{
		{"overview.revenue_30d", func(ctx context.Context) (int, error) {
			r, err := db.RevenueSummary(ctx, scope, since30)
			return len(r), err
		}},
		{"overview.chart_30d", func(ctx context.Context) (int, error) {
			r, err := db.DailyRevenue(ctx, scope, day.AddDate(0, 0, -29).Unix(), day.AddDate(0, 0, 1).Unix())
			return len(r), err
		}},
		{"overview.revenue_all_time", func(ctx context.Context) (int, error) {
			r, err := db.RevenueSummary(ctx, scope, 0)
			return len(r), err
		}},
	}
	const limit = 20
	lists := []struct {
		name string
		find func(ctx context.Context, p pay.Page) ([]string, error)
	}{
		{"payments", piList(db, scope, store.PaymentIntentFilter{})},
		{"payments.succeeded", piList(db, scope, store.PaymentIntentFilter{Status: pay.StatusSucceeded})},
		{"payments.failed", piList(db, scope, store.PaymentIntentFilter{Status: pay.StatusRequiresPaymentMethod})},
		{"payments.amount_50_100", piList(db, scope, store.PaymentIntentFilter{AmountGTE: 5000, AmountLTE: 10000})},
		{"customers", func(ctx context.Context, p pay.Page) ([]string, error) {
			l, err := db.FindCustomers(ctx, scope, store.CustomerFilter{}, p)
			return ids(l.Data, func(c *pay.Customer) string { return c.ID }), err
		}},
		{"subscriptions", func(ctx context.Context, p pay.Page) ([]string, error) {
			l, err := db.FindSubscriptions(ctx, scope, store.SubscriptionFilter{}, p)
			return ids(l.Data, func(s *pay.Subscription) string { return s.ID }), err
		}},
		{"invoices", func(ctx context.Context, p pay.Page) ([]string, error) {
			l, err := db.FindInvoices(ctx, scope, store.InvoiceFilter{}, p)
			return ids(l.Data, func(i *pay.Invoice) string { return i.ID }), err
		}},
		{"events", func(ctx context.Context, p pay.Page) ([]string, error) {
			l, err := db.FindEvents(ctx, scope, store.EventFilter{}, p)
			return ids(l.Data, func(e *pay.Event) string { return e.ID }), err
		}},
	}
	for _, l := range lists {
		qs = append(qs, dashQuery{l.name + ".first", func(ctx context.Context) (int, error) {
			r, err := l.find(ctx, pay.Page{Limit: limit})
			return len(r), err
		}})
		cursor, err := deepCursor(ctx, l.find, depth)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.name, err)
		}
		qs = append(qs, dashQuery{l.name + ".deep", func(ctx context.Context) (int, error) {
			r, err := l.find(ctx, pay.Page{Limit: limit, StartingAfter: cursor})
			return len(r), err
		}})
	}
	// A customer with payments, and its email.
	cl, err := db.FindCustomers(ctx, scope, store.CustomerFilter{}, pay.Page{Limit: 100, Created: pay.Range{Lte: &since30}})
	if err != nil {
		return nil, err
	}
	var cus *pay.Customer
	for _, c := range cl.Data {
		l, err := db.FindPaymentIntents(ctx, scope, store.PaymentIntentFilter{Customer: c.ID}, pay.Page{Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(l.Data) > 0 {
			cus = c
			break
		}
	}
	if cus == nil {
		return nil, errors.New("no customer with payments: seed the project first")
	}
	return append(qs,
		dashQuery{"payments.customer.first", func(ctx context.Context) (int, error) {
			r, err := piList(db, scope, store.PaymentIntentFilter{Customer: cus.ID})(ctx, pay.Page{Limit: limit})
			return len(r), err
		}},
		dashQuery{"customers.by_email", func(ctx context.Context) (int, error) {
			l, err := db.FindCustomers(ctx, scope, store.CustomerFilter{Email: cus.Email}, pay.Page{Limit: limit})
			return len(l.Data), err
		}},
		dashQuery{"payments.by_email.first", func(ctx context.Context) (int, error) {
			r, err := piList(db, scope, store.PaymentIntentFilter{CustomerEmail: cus.Email})(ctx, pay.Page{Limit: limit})
			return len(r), err
		}},
		// A recent payment's timeline (payments.get): the events and gateway
		// operations of the payment and its charge.
		dashQuery{"payment.timeline", func(ctx context.Context) (int, error) {
			pis, err := db.FindPaymentIntents(ctx, scope, store.PaymentIntentFilter{Status: pay.StatusSucceeded}, pay.Page{Limit: 1})
			if err != nil || len(pis.Data) == 0 {
				return 0, err
			}
			objects := []string{pis.Data[0].ID, pis.Data[0].LatestCharge}
			events, err := db.FindEventsOf(ctx, scope, objects, 100)
			if err != nil {
				return 0, err
			}
			ops, err := db.FindGatewayOpsOf(ctx, scope, objects, 100)
			return len(events) + len(ops), err
		}},
	), nil
}

func piList(db *store.DB, scope pay.Scope, f store.PaymentIntentFilter) func(context.Context, pay.Page) ([]string, error) {
	return func(ctx context.Context, p pay.Page) ([]string, error) {
		l, err := db.FindPaymentIntents(ctx, scope, f, p)
		return ids(l.Data, func(pi *pay.PaymentIntent) string { return pi.ID }), err
	}
}

func ids[T any](data []T, id func(T) string) []string {
	out := make([]string, len(data))
	for i, v := range data {
		out[i] = id(v)
	}
	return out
}

// deepCursor walks a list 100 rows at a time and returns the ID of its
// depth-th row, or of the row 20 before its end if it is shorter.
func deepCursor(ctx context.Context, find func(context.Context, pay.Page) ([]string, error), depth int) (string, error) {
	var (
		seen   int
		window []string // the last rows seen
		after  string
	)
	for seen < depth {
		r, err := find(ctx, pay.Page{Limit: 100, StartingAfter: after})
		if err != nil {
			return "", err
		}
		if len(r) == 0 {
			break
		}
		if seen+len(r) >= depth {
			return r[depth-seen-1], nil
		}
		seen += len(r)
		window = append(window, r...)
		window = window[max(0, len(window)-21):]
		after = r[len(r)-1]
	}
	if len(window) == 0 {
		return "", errors.New("the list is empty")
	}
	return window[0], nil
}

func (r *Result) printDashboard(w io.Writer) {
	d := r.Dashboard
	fmt.Fprintf(w, "database  %s, project %s\n", d.Dialect, d.Project)
	if d.Seeded != nil {
		fmt.Fprintf(w, "seeded    %d rows in %.1f s (%.0f rows/s): %+v\n", d.Seeded.Total(), d.SeedSeconds,
			float64(d.Seeded.Total())/d.SeedSeconds, *d.Seeded)
	}
	fmt.Fprintf(w, "run       up to %d timed runs of each query (%s at most), one at a time; deep pages after row %d\n", d.Reps, queryBudget, d.Depth)
	fmt.Fprintf(w, "%-30s %5s %5s %9s %9s %9s %9s\n", "query", "runs", "rows", "p50 ms", "p99 ms", "max ms", "CPU ms")
	for _, q := range d.Queries {
		fmt.Fprintf(w, "%-30s %5d %5d %9.2f %9.2f %9.2f %9.2f\n", q.Name, q.Runs, q.Rows, q.P50, q.P99, q.Max, q.CPU)
	}
}
