package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// reportCommand reads -json results (one per line) and prints, per scenario
// and target, the median of the runs, then each target's ratio to -base.
func reportCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("calmony-bench report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("base", "", "label of the target the others are compared with")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var results []Result
	read := func(r io.Reader, name string) error {
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if !strings.HasPrefix(line, "{") {
				continue
			}
			var res Result
			if err := json.Unmarshal([]byte(line), &res); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if res.Scenario != "" {
				results = append(results, res)
			}
		}
		return sc.Err()
	}
	if fs.NArg() == 0 {
		if err := read(os.Stdin, "stdin"); err != nil {
			return err
		}
	}
	for _, name := range fs.Args() {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		err = read(f, name)
		f.Close()
		if err != nil {
			return err
		}
	}
	writeReport(stdout, summarize(results), *base)
	return nil
}

// summary is the median of one target's runs of one scenario.
type summary struct {
	scenario, label   string
	runs              []float64 // ops/s of each run
	ops, p50, p99, mx float64
	serverCores       float64
	dbCores           float64
	serverUsPerOp     float64
	peakRSS           int64 // the largest of the runs
	clientShare       float64
	failed            int64
	tainted           int // runs during which other processes competed for the CPUs
}

func summarize(results []Result) []*summary {
	var out []*summary
	find := func(scenario, label string) *summary {
		for _, s := range out {
			if s.scenario == scenario && s.label == label {
				return s
			}
		}
		s := &summary{scenario: scenario, label: label}
		out = append(out, s)
		return s
	}
	groups := map[*summary][]Result{}
	for _, r := range results {
		s := find(r.Scenario, r.Label)
		groups[s] = append(groups[s], r)
	}
	for _, s := range out {
		rs := groups[s]
		pick := func(f func(Result) float64) float64 {
			xs := make([]float64, len(rs))
			for i, r := range rs {
				xs[i] = f(r)
			}
			return median(xs)
		}
		for _, r := range rs {
			s.runs = append(s.runs, r.OpsPerSec)
			s.failed += r.Failed
			if r.Tainted {
				s.tainted++
			}
			if r.Server != nil {
				s.peakRSS = max(s.peakRSS, r.Server.PeakRSSBytes, r.Server.MaxRSSBytes)
			}
		}
		s.ops = pick(func(r Result) float64 { return r.OpsPerSec })
		s.p50 = pick(func(r Result) float64 { return r.LatencyMs.P50 })
		s.p99 = pick(func(r Result) float64 { return r.LatencyMs.P99 })
		s.mx = pick(func(r Result) float64 { return r.LatencyMs.Max })
		s.clientShare = pick(func(r Result) float64 { return r.ClientShare })
		s.serverCores = pick(func(r Result) float64 {
			if r.Server == nil {
				return 0
			}
			return r.Server.Cores
		})
		s.dbCores = pick(func(r Result) float64 {
			if r.Database == nil {
				return 0
			}
			return r.Database.Cores
		})
		s.serverUsPerOp = pick(func(r Result) float64 {
			if r.Server == nil {
				return 0
			}
			return r.Server.CPUPerOpUs
		})
	}
	return out
}

func writeReport(w io.Writer, sums []*summary, base string) {
	fmt.Fprintln(w, "| scenario | target | ops/s (median) | runs | p50 ms | p99 ms | max ms | server cores | db cores | server µs/op | peak RSS MB | load-gen share | failed ops |")
	fmt.Fprintln(w, "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range sums {
		runs := make([]string, len(s.runs))
		for i, r := range s.runs {
			runs[i] = fmt.Sprintf("%.0f", r)
		}
		if s.tainted > 0 {
			runs = append(runs, fmt.Sprintf("(%d tainted)", s.tainted))
		}
		fmt.Fprintf(w, "| %s | %s | %.0f | %s | %.2f | %.2f | %.1f | %.2f | %.2f | %.0f | %.1f | %.0f%% | %d |\n",
			s.scenario, s.label, s.ops, strings.Join(runs, " / "), s.p50, s.p99, s.mx, s.serverCores, s.dbCores, s.serverUsPerOp,
			mb(s.peakRSS), 100*s.clientShare, s.failed)
	}
	if base == "" {
		return
	}
	fmt.Fprintf(w, "\n| scenario | target | throughput ÷ %s | p99 ÷ %s |\n|---|---|---:|---:|\n", base, base)
	for _, s := range sums {
		if s.label == base {
			continue
		}
		i := slices.IndexFunc(sums, func(b *summary) bool { return b.scenario == s.scenario && b.label == base })
		if i < 0 {
			continue
		}
		b := sums[i]
		ratio := func(a, b float64) string {
			if b == 0 {
				return "–"
			}
			return fmt.Sprintf("%.2f×", a/b)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", s.scenario, s.label, ratio(s.ops, b.ops), ratio(s.p99, b.p99))
	}
}
