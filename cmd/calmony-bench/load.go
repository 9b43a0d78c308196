package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/calmony/calmonypay/internal/seed"
)

// loadConfig is one load run's settings.
type loadConfig struct {
	url, key, scenario, label string
	concurrency               int
	duration, warmup, timeout time.Duration
	rate                      float64
	pid                       int
	seed                      int
	idempotency, jsonOut      bool
	waitIdle                  time.Duration
	maxOther                  float64
	retries                   int
	dbProc                    string
	cpuProfile                string

	// billing.renewals (renewals.go)
	n                  int
	reuse, setupOnly   bool
	verify             bool
	poll, advanceLimit time.Duration

	// dashboard.queries (dashboard.go)
	db, dataDir, project               string
	customers, payments, subscriptions int
	reps, depth                        int
}

func loadCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg loadConfig
	fs := flag.NewFlagSet("calmony-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.url, "url", "http://127.0.0.1:8080", "base URL of the API (loopback only)")
	fs.StringVar(&cfg.key, "key", os.Getenv("CALMONY_BENCH_KEY"), "secret key (default $CALMONY_BENCH_KEY); stripe-mock takes any sk_test_ key")
	fs.StringVar(&cfg.scenario, "scenario", "customers.create", "what to run; `calmony-bench scenarios` lists them")
	fs.StringVar(&cfg.label, "label", "", "name of the target in reports (default: the URL)")
	fs.IntVar(&cfg.concurrency, "c", 64, "concurrent clients, each with one request in flight")
	fs.DurationVar(&cfg.duration, "d", 10*time.Second, "measured duration")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "load before measuring, not counted")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "per-request timeout")
	fs.Float64Var(&cfg.rate, "rate", 0, "operations per second across all clients; 0 runs closed-loop as fast as answers come. "+
		"With a rate, latency counts from each operation's scheduled start (no coordinated omission)")
	fs.IntVar(&cfg.pid, "pid", 0, "server process ID: report its CPU seconds and peak RSS")
	fs.IntVar(&cfg.seed, "seed", 100, "customers created in setup for customers.retrieve and customers.list")
	fs.BoolVar(&cfg.idempotency, "idempotency", true, "send a fresh Idempotency-Key with every POST")
	fs.BoolVar(&cfg.jsonOut, "json", false, "print the result as one line of JSON")
	fs.DurationVar(&cfg.waitIdle, "wait-idle", 0, "first wait up to this long for the machine to be quiet (other processes using under 0.1 CPU for a second)")
	fs.Float64Var(&cfg.maxOther, "max-other", 0.15, "a run during which other processes used more CPUs than this is tainted (see -retries)")
	fs.StringVar(&cfg.dbProc, "db-proc", "", "command name of the server's database processes (postgres): their CPU is reported apart and not counted as other work")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write this tool's own CPU profile to the file (to keep its overhead low)")
	fs.IntVar(&cfg.retries, "retries", 0, "run again, up to this many times, while the run is tainted; the least tainted run is reported")
	fs.IntVar(&cfg.n, "n", 10000, "billing.renewals: subscriptions renewed by the one advance")
	fs.BoolVar(&cfg.reuse, "reuse", false, "billing.renewals: advance the clock an earlier set-up of -n subscriptions made, if there is one, instead of setting up anew")
	fs.BoolVar(&cfg.setupOnly, "setup-only", false, "billing.renewals: set up, do not advance (then restart the server and run with -reuse, so that its peak RSS is the advance's)")
	fs.BoolVar(&cfg.verify, "verify", true, "billing.renewals: check through the API that every renewal was paid exactly once")
	fs.DurationVar(&cfg.poll, "poll", 20*time.Millisecond, "billing.renewals: how often to read the advancing clock")
	fs.DurationVar(&cfg.advanceLimit, "advance-timeout", time.Hour, "billing.renewals: give up if the clock is not ready by then")
	fs.StringVar(&cfg.db, "db", os.Getenv("CALMONY_DATABASE"), "dashboard.queries: SQLite file or postgres:// URL (default $CALMONY_DATABASE, else calmony.db in -data-dir)")
	fs.StringVar(&cfg.dataDir, "data-dir", cmp.Or(os.Getenv("CALMONY_DATA_DIR"), "calmony-data"), "dashboard.queries: calmonypay's data folder, for the encryption key (default $CALMONY_DATA_DIR)")
	fs.StringVar(&cfg.project, "project", "", "dashboard.queries: project ID (default: the only one, made if there is none)")
	fs.IntVar(&cfg.customers, "customers", seed.DefaultCustomers, "dashboard.queries: customers to seed when the project has no payments")
	fs.IntVar(&cfg.payments, "payments", seed.DefaultPayments, "dashboard.queries: payment intents to seed")
	fs.IntVar(&cfg.subscriptions, "subscriptions", seed.DefaultSubscriptions, "dashboard.queries: subscriptions to seed")
	fs.IntVar(&cfg.reps, "reps", 200, "dashboard.queries: timed runs of each query")
	fs.IntVar(&cfg.depth, "depth", 50000, "dashboard.queries: the deep pages start after this many rows")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if err := cfg.check(); err != nil {
		return err
	}
	// The tool's garbage is short-lived and its heap small: collect less
	// often, so that its CPU goes to making requests.
	debug.SetGCPercent(400)
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	sc, err := findScenario(cfg.scenario)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if sc.batch != nil {
		res, err := sc.batch(ctx, cfg, stderr)
		if err != nil {
			return err
		}
		if cfg.jsonOut {
			err = json.NewEncoder(stdout).Encode(res)
		} else {
			res.print(stdout)
		}
		if res.FirstError != "" {
			return fmt.Errorf("%s: %s", sc.name, res.FirstError)
		}
		return err
	}
	var res *Result
	for attempt := 0; attempt <= cfg.retries; attempt++ {
		r, err := runLoad(ctx, cfg, sc, stderr)
		if err != nil {
			return err
		}
		r.Attempts = attempt + 1
		if res == nil || r.OtherCores < res.OtherCores {
			res = r
		}
		if r.OtherCores <= cfg.maxOther {
			break
		}
		fmt.Fprintf(stderr, "calmony-bench: run %d tainted: other processes used %.2f CPUs\n", attempt+1, r.OtherCores)
	}
	res.Tainted = res.OtherCores > cfg.maxOther
	if cfg.jsonOut {
		return json.NewEncoder(stdout).Encode(res)
	}
	res.print(stdout)
	return nil
}

func (cfg *loadConfig) check() error {
	u, err := url.Parse(cfg.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: -url must be an http(s) base URL", errUsage)
	}
	if !isLoopback(u.Hostname()) {
		return fmt.Errorf("%w: -url must be a loopback address (127.0.0.0/8, ::1 or localhost): load only servers of your own on this machine", errUsage)
	}
	cfg.url = strings.TrimRight(cfg.url, "/")
	if cfg.scenario == "dashboard.queries" { // in-process: no server, no key
		if cfg.reps < 1 || cfg.depth < 1 || cfg.customers < 1 || cfg.payments < 0 || cfg.subscriptions < 0 || cfg.subscriptions > cfg.customers {
			return fmt.Errorf("%w: -reps, -depth and -customers must be positive, -payments and -subscriptions not negative, -subscriptions at most -customers", errUsage)
		}
		if cfg.label == "" {
			cfg.label = "dashboard.queries"
		}
		return nil
	}
	switch {
	case cfg.key == "":
		return fmt.Errorf("%w: -key (or CALMONY_BENCH_KEY) is required", errUsage)
	case cfg.concurrency < 1:
		return fmt.Errorf("%w: -c must be at least 1", errUsage)
	case cfg.duration <= 0 || cfg.duration > time.Hour:
		return fmt.Errorf("%w: -d must be between 0 and 1h", errUsage)
	case cfg.warmup < 0 || cfg.rate < 0:
		return fmt.Errorf("%w: -warmup and -rate cannot be negative", errUsage)
	case cfg.n < 1 || cfg.poll <= 0:
		return fmt.Errorf("%w: -n and -poll must be positive", errUsage)
	}
	if cfg.label == "" {
		cfg.label = cfg.url
	}
	return nil
}

// Result is one run's outcome; -json prints it.
type Result struct {
	Label       string  `json:"label"`
	URL         string  `json:"url"`
	Scenario    string  `json:"scenario"`
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"rate,omitempty"`
	Seconds     float64 `json:"seconds"`
	Warmup      float64 `json:"warmup_seconds"`
	Started     string  `json:"started"`

	Ops        int64            `json:"ops"`    // operations started in the window that succeeded
	Failed     int64            `json:"failed"` // operations started in the window that did not
	OpsPerSec  float64          `json:"ops_per_sec"`
	Requests   int64            `json:"requests"` // HTTP requests, whole run
	RequestsPS float64          `json:"requests_per_sec"`
	LatencyMs  Latency          `json:"latency_ms"`
	Statuses   map[string]int64 `json:"statuses"` // whole run incl. setup and warm-up; "transport" for no answer
	FirstError string           `json:"first_error,omitempty"`
	Server     *Usage           `json:"server,omitempty"`
	Database   *Usage           `json:"database,omitempty"` // the -db-proc processes
	// OtherCores is the CPU used during the window by processes other than
	// the server and this tool: anything above about 0.1 taints the run.
	OtherCores float64 `json:"other_cores"`
	Tainted    bool    `json:"tainted"`  // OtherCores above -max-other
	Attempts   int     `json:"attempts"` // runs made to get one that is not tainted
	// BusyBefore is the machine's busy CPUs in the second before the run.
	BusyBefore  float64 `json:"busy_before"`
	Client      Usage   `json:"client"`
	CPUs        int     `json:"cpus"`
	ClientShare float64 `json:"client_share"` // the load generator's share of the machine's CPUs

	// SetupSeconds is how long billing.renewals took to set up (0: -reuse).
	SetupSeconds float64       `json:"setup_seconds,omitempty"`
	Renewals     *RenewalStats `json:"renewals,omitempty"`
	// Dashboard is what dashboard.queries measured.
	Dashboard *DashboardStats `json:"dashboard,omitempty"`
}

// Latency holds percentiles of operation latency in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Usage is a process's resource use during the measured window.
type Usage struct {
	PID          int     `json:"pid,omitempty"`
	CPUSeconds   float64 `json:"cpu_seconds"`
	Cores        float64 `json:"cores"`
	CPUPerOpUs   float64 `json:"cpu_per_op_us"`
	PeakRSSBytes int64   `json:"peak_rss_bytes,omitempty"`  // VmHWM: the process's peak since it started
	MaxRSSBytes  int64   `json:"max_rss_sampled,omitempty"` // largest VmRSS sampled during the run
	EndRSSBytes  int64   `json:"end_rss_bytes,omitempty"`
}

func runLoad(ctx context.Context, cfg loadConfig, sc *scenario, logw io.Writer) (*Result, error) {
	busyBefore, err := waitQuiet(ctx, cfg.waitIdle, logw)
	if err != nil {
		return nil, err
	}
	workers, err := newWorkers(cfg.concurrency, cfg.url, cfg.key, cfg.idempotency, cfg.timeout)
	if err != nil {
		return nil, err
	}
	defer workers[0].client.CloseIdleConnections()
	var state any
	if sc.setup != nil {
		var err error
		if state, err = sc.setup(ctx, workers[0], cfg.seed); err != nil {
			return nil, err
		}
	}
	var sampler *rssSampler
	if cfg.pid > 0 {
		if _, err := procCPU(cfg.pid); err != nil {
			return nil, fmt.Errorf("-pid %d: %w", cfg.pid, err)
		}
		sampler = sampleRSS(cfg.pid, 100*time.Millisecond)
	}
	start := time.Now()
	t0 := start.Add(cfg.warmup)
	t1 := t0.Add(cfg.duration)

	// CPU readings at the window's edges, taken by a timer so the drain of
	// in-flight requests after t1 is not counted.
	var r0, r1 cpuReading
	var edges sync.WaitGroup
	edges.Go(func() {
		sleepUntil(ctx, t0)
		r0 = cfg.readCPU()
		sleepUntil(ctx, t1)
		r1 = cfg.readCPU()
	})

	var wg sync.WaitGroup
	failed := make([]int64, len(workers))
	for i, w := range workers {
		wg.Go(func() {
			failed[i] = w.loop(ctx, sc, state, cfg, i, start, t0, t1)
		})
	}
	wg.Wait()
	edges.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	res := &Result{Label: cfg.label, URL: cfg.url, Scenario: sc.name, Concurrency: cfg.concurrency, Rate: cfg.rate,
		Seconds: cfg.duration.Seconds(), Warmup: cfg.warmup.Seconds(), Started: start.UTC().Format(time.RFC3339),
		Statuses: map[string]int64{}, CPUs: runtime.NumCPU(), BusyBefore: busyBefore}
	var h hist
	for i, w := range workers {
		h.merge(&w.hist)
		res.Failed += failed[i]
		res.Requests += w.requests
		for st, n := range w.statuses {
			name := strconv.Itoa(st)
			if st == 0 {
				name = "transport"
			}
			res.Statuses[name] += n
		}
		if res.FirstError == "" && w.firstErr != nil {
			res.FirstError = w.firstErr.Error()
		}
	}
	res.Ops = h.n - res.Failed
	res.OpsPerSec = float64(res.Ops) / cfg.duration.Seconds()
	res.RequestsPS = float64(res.Requests) / time.Since(start).Seconds()
	ms := func(us int64) float64 { return float64(us) / 1000 }
	res.LatencyMs = Latency{P50: ms(h.quantile(0.50)), P90: ms(h.quantile(0.90)), P99: ms(h.quantile(0.99)),
		P999: ms(h.quantile(0.999)), Max: ms(h.max), Mean: h.mean() / 1000}
	window := t1.Sub(t0).Seconds()
	perOp := func(d time.Duration) float64 {
		if res.Ops == 0 {
			return 0
		}
		return float64(d.Microseconds()) / float64(res.Ops)
	}
	res.Client = Usage{CPUSeconds: (r1.client - r0.client).Seconds(), Cores: (r1.client - r0.client).Seconds() / window,
		CPUPerOpUs: perOp(r1.client - r0.client)}
	res.ClientShare = res.Client.Cores / float64(res.CPUs)
	if cfg.pid > 0 {
		d := r1.server - r0.server
		res.Server = &Usage{PID: cfg.pid, CPUSeconds: d.Seconds(), Cores: d.Seconds() / window, CPUPerOpUs: perOp(d),
			MaxRSSBytes: sampler.finish()}
		res.Server.EndRSSBytes, res.Server.PeakRSSBytes, _ = procMem(cfg.pid)
	}
	other := (r1.machine - r0.machine) - (r1.client - r0.client) - (r1.server - r0.server) - (r1.db - r0.db)
	if cfg.dbProc != "" {
		d := r1.db - r0.db
		res.Database = &Usage{CPUSeconds: d.Seconds(), Cores: d.Seconds() / window, CPUPerOpUs: perOp(d)}
	}
	res.OtherCores = max(other.Seconds()/window, 0)
	if res.Ops == 0 && res.Failed > 0 {
		fmt.Fprintf(logw, "calmony-bench: every operation failed; first error: %s\n", res.FirstError)
	}
	return res, nil
}

// loop runs operations until t1 and returns how many of those started in
// [t0, t1) failed; it records the latency of each of them in w.hist.
func (w *worker) loop(ctx context.Context, sc *scenario, state any, cfg loadConfig, i int, start, t0, t1 time.Time) int64 {
	var failed int64
	var interval time.Duration
	next := start
	if cfg.rate > 0 {
		// Each worker takes every c-th slot of the global schedule.
		interval = time.Duration(float64(time.Second) * float64(cfg.concurrency) / cfg.rate)
		next = start.Add(interval * time.Duration(i) / time.Duration(cfg.concurrency))
	}
	for ctx.Err() == nil {
		began := time.Now()
		if interval > 0 {
			if next.After(began) {
				if !sleepUntil(ctx, next) {
					break
				}
			}
			began = next // latency counts from the scheduled start
			next = next.Add(interval)
		}
		if !began.Before(t1) {
			break
		}
		status, _ := sc.op(w, state)
		if began.Before(t0) {
			continue
		}
		w.hist.record(time.Since(began))
		if status/100 != 2 {
			failed++
		}
	}
	return failed
}

// sleepUntil sleeps until t or ctx ends, and reports whether t was reached.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (r *Result) print(w io.Writer) {
	fmt.Fprintf(w, "target    %s (%s)\n", r.Label, r.URL)
	if r.Renewals != nil {
		r.printRenewals(w)
		return
	}
	if r.Dashboard != nil {
		r.printDashboard(w)
		return
	}
	mode := "closed loop"
	if r.Rate > 0 {
		mode = fmt.Sprintf("paced at %.0f ops/s", r.Rate)
	}
	fmt.Fprintf(w, "run       %s, c=%d, %s, %.0f s measured after %.0f s warm-up\n", r.Scenario, r.Concurrency, mode, r.Seconds, r.Warmup)
	fmt.Fprintf(w, "ops       %d ok, %d failed: %.0f ops/s (%.0f HTTP requests/s over the whole run)\n", r.Ops, r.Failed, r.OpsPerSec, r.RequestsPS)
	l := r.LatencyMs
	fmt.Fprintf(w, "latency   p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  max %.2f ms  (mean %.2f ms)\n", l.P50, l.P90, l.P99, l.P999, l.Max, l.Mean)
	fmt.Fprintf(w, "statuses  %s\n", formatStatuses(r.Statuses))
	if r.FirstError != "" {
		fmt.Fprintf(w, "first err %s\n", r.FirstError)
		if r.Statuses["404"] > 0 && r.Ops == 0 {
			fmt.Fprintf(w, "          the server answers 404: it does not implement this endpoint\n")
		}
	}
	if s := r.Server; s != nil {
		fmt.Fprintf(w, "server    pid %d: %.2f CPU s (%.2f cores, %.0f µs/op); RSS peak %.1f MB (VmHWM), sampled max %.1f MB, now %.1f MB\n",
			s.PID, s.CPUSeconds, s.Cores, s.CPUPerOpUs, mb(s.PeakRSSBytes), mb(s.MaxRSSBytes), mb(s.EndRSSBytes))
	}
	if d := r.Database; d != nil {
		fmt.Fprintf(w, "database  %.2f CPU s (%.2f cores, %.0f µs/op)\n", d.CPUSeconds, d.Cores, d.CPUPerOpUs)
	}
	fmt.Fprintf(w, "client    %.2f CPU s (%.2f cores, %.0f µs/op): %.0f%% of this machine's %d CPUs\n",
		r.Client.CPUSeconds, r.Client.Cores, r.Client.CPUPerOpUs, 100*r.ClientShare, r.CPUs)
	taint := ""
	if r.Tainted {
		taint = ": TAINTED, other work competed for the CPUs"
	}
	fmt.Fprintf(w, "others    %.2f cores used by other processes during the run (%.2f busy just before)%s\n", r.OtherCores, r.BusyBefore, taint)
}

// waitQuiet waits up to limit for the machine to be quiet and returns its
// busy CPUs over the last second looked at.
func waitQuiet(ctx context.Context, limit time.Duration, logw io.Writer) (float64, error) {
	deadline := time.Now().Add(limit)
	for {
		busy, err := busyCores(time.Second)
		if err != nil || busy < 0.1 || time.Now().After(deadline) {
			if limit > 0 && busy >= 0.1 {
				fmt.Fprintf(logw, "calmony-bench: the machine is still busy (%.2f CPUs) after %v: running anyway\n", busy, limit)
			}
			return busy, nil
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
	}
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

func formatStatuses(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: %d", k, m[k])
	}
	return b.String()
}

// isLoopback reports whether host names this machine's loopback interface.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// cpuReading is the CPU time used so far by the server (-pid), the database's
// processes (-db-proc), this tool and the whole machine; a run's figures are
// the differences of two readings.
type cpuReading struct{ server, client, machine, db time.Duration }

func (cfg loadConfig) readCPU() cpuReading {
	var r cpuReading
	if cfg.pid > 0 {
		r.server, _ = procCPU(cfg.pid)
	}
	if cfg.dbProc != "" {
		r.db, _ = namedCPU(cfg.dbProc)
	}
	r.client, _ = procCPU(os.Getpid())
	r.machine, _ = machineCPU()
	return r
}
