package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The billing.renewals scenario is not a closed loop: it sets up N
// subscriptions on one test clock (untimed, over HTTP like everything
// else), advances the clock once past the renewals and their finalisation,
// and times the advance until the clock is ready, when every renewal must
// have been invoiced and charged. Then it checks through the API that each
// renewal invoice is paid, by exactly one payment.

// renewalsName names the bench's test clock, so that -reuse finds it.
func renewalsName(n int) string { return "calmony-bench renewals " + strconv.Itoa(n) }

// renewalsState is what the set-up made, or -reuse found.
type renewalsState struct {
	clock string
	price string
}

// runRenewals runs the billing.renewals scenario: set-up (unless -reuse
// finds one), then one advance, repeated while tainted up to -retries
// times (each retry advances the same clock another month).
func runRenewals(ctx context.Context, cfg loadConfig, logw io.Writer) (*Result, error) {
	workers, err := newWorkers(cfg.concurrency, cfg.url, cfg.key, cfg.idempotency, cfg.timeout)
	if err != nil {
		return nil, err
	}
	defer workers[0].client.CloseIdleConnections()
	w := workers[0]
	var (
		st    renewalsState
		setup time.Duration
		found bool
	)
	if cfg.reuse {
		if st.clock, found, err = findBenchClock(w, cfg.n); err != nil {
			return nil, err
		}
		if found {
			fmt.Fprintf(logw, "calmony-bench: reusing test clock %s and its %d subscriptions\n", st.clock, cfg.n)
		}
	}
	if !found {
		t := time.Now()
		if st, err = setupRenewals(ctx, workers, cfg.n, logw); err != nil {
			return nil, err
		}
		setup = time.Since(t)
		fmt.Fprintf(logw, "calmony-bench: set up %d subscriptions on %s in %.1f s (%.0f /s)\n", cfg.n, st.clock, setup.Seconds(),
			float64(cfg.n)/setup.Seconds())
	}
	if cfg.setupOnly {
		return &Result{Label: cfg.label, URL: cfg.url, Scenario: "billing.renewals", Concurrency: cfg.concurrency,
			Started: time.Now().UTC().Format(time.RFC3339), SetupSeconds: setup.Seconds(), Statuses: statusesOf(workers),
			Renewals: &RenewalStats{Subscriptions: cfg.n, Clock: st.clock}, CPUs: runtime.NumCPU()}, nil
	}
	var res *Result
	for attempt := 0; attempt <= cfg.retries; attempt++ {
		r, err := advanceOnce(ctx, cfg, w, st, logw)
		if err != nil {
			return nil, err
		}
		r.Attempts, r.SetupSeconds = attempt+1, setup.Seconds()
		if res == nil || r.OtherCores < res.OtherCores {
			res = r
		}
		if r.OtherCores <= cfg.maxOther {
			break
		}
		fmt.Fprintf(logw, "calmony-bench: run %d tainted: other processes used %.2f CPUs; advancing another month\n", attempt+1, r.OtherCores)
	}
	res.Tainted = res.OtherCores > cfg.maxOther
	res.Statuses = statusesOf(workers)
	return res, nil
}

// statusesOf adds up the workers' answers by status.
func statusesOf(ws []*worker) map[string]int64 {
	out := map[string]int64{}
	for _, w := range ws {
		for st, n := range w.statuses {
			name := strconv.Itoa(st)
			if st == 0 {
				name = "transport"
			}
			out[name] += n
		}
	}
	return out
}

// RenewalStats is what billing.renewals found after the advance.
type RenewalStats struct {
	Subscriptions int    `json:"subscriptions"`
	Clock         string `json:"clock"`
	// From and To are the clock's frozen time before and after the advance.
	From int64 `json:"from,omitempty"`
	To   int64 `json:"to,omitempty"`
	// Invoices counts the invoices the advance made, by status; Paid those
	// paid by exactly one successful payment; Charges the payment intents
	// made for them.
	Invoices map[string]int `json:"invoices,omitempty"`
	Paid     int            `json:"paid"`
	Charges  int            `json:"charges"`
	// VerifySeconds is how long the check through the API took.
	VerifySeconds float64 `json:"verify_seconds"`
}

// month is the advance: a month after the clock's time, plus the hour
// after which renewal drafts are finalised and charged (pay.FinalizeDelay)
// and a minute.
func advanceTarget(frozen int64) int64 {
	return time.Unix(frozen, 0).UTC().AddDate(0, 1, 0).Unix() + 3600 + 60
}

// setupRenewals creates a monthly price, a test clock and n customers on it
// with pm_card_visa as their default card, each with a subscription to the
// price (whose first invoice is charged at once), using every worker.
func setupRenewals(ctx context.Context, ws []*worker, n int, logw io.Writer) (renewalsState, error) {
	var st renewalsState
	w := ws[0]
	var resp []byte
	body := []byte("name=Bench+plan&default_price_data[currency]=gbp&default_price_data[unit_amount]=1500" +
		"&default_price_data[recurring][interval]=month")
	if status, err := w.do("POST", "/v1/products", body, &resp); status != 200 {
		return st, fmt.Errorf("setup: create product: %d %v: %.300s", status, err, w.buf.Bytes())
	}
	var prod struct {
		DefaultPrice string `json:"default_price"`
	}
	if err := json.Unmarshal(resp, &prod); err != nil || prod.DefaultPrice == "" {
		return st, fmt.Errorf("setup: product without a default price: %.300s", resp)
	}
	st.price = prod.DefaultPrice
	// The clock starts at the first of this month, midnight UTC, so that
	// every period is a whole calendar month.
	now := time.Now().UTC()
	frozen := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).Unix()
	body = fmt.Appendf(nil, "frozen_time=%d&name=%s", frozen, url.QueryEscape(renewalsName(n)))
	if status, err := w.do("POST", "/v1/test_helpers/test_clocks", body, &resp); status != 200 {
		return st, fmt.Errorf("setup: create test clock: %d %v: %.300s", status, err, w.buf.Bytes())
	}
	if st.clock = jsonID(resp); st.clock == "" {
		return st, fmt.Errorf("setup: test clock without an id: %.300s", resp)
	}
	var (
		next, done atomic.Int64
		firstErr   error
		errOnce    sync.Once
		wg         sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err })
		cancel()
	}
	for _, w := range ws {
		wg.Go(func() {
			var resp []byte
			for ctx.Err() == nil && next.Add(1) <= int64(n) {
				body := append(w.body[:0], "name=Bench+subscriber&payment_method=pm_card_visa"+
					"&invoice_settings[default_payment_method]=pm_card_visa&test_clock="...)
				body = append(body, st.clock...)
				if status, err := w.do("POST", "/v1/customers", body, &resp); status != 200 {
					fail(fmt.Errorf("setup: create customer: %d %v: %.300s", status, err, w.buf.Bytes()))
					return
				}
				cus := jsonID(resp)
				body = append(body[:0], "items[0][price]="...)
				body = append(body, st.price...)
				body = append(body, "&customer="...)
				body = append(body, cus...)
				w.body = body
				if status, err := w.do("POST", "/v1/subscriptions", body, &resp); status != 200 {
					fail(fmt.Errorf("setup: create subscription: %d %v: %.300s", status, err, w.buf.Bytes()))
					return
				}
				var sub struct {
					Status string `json:"status"`
				}
				if err := json.Unmarshal(resp, &sub); err != nil || sub.Status != "active" {
					fail(fmt.Errorf("setup: subscription not active: %.300s", resp))
					return
				}
				if d := done.Add(1); d%max(int64(n)/10, 1) == 0 {
					fmt.Fprintf(logw, "calmony-bench: set up %d of %d subscriptions\n", d, n)
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return st, firstErr
	}
	return st, ctx.Err()
}

// findBenchClock finds the newest ready test clock that an earlier set-up of
// n subscriptions made.
func findBenchClock(w *worker, n int) (string, bool, error) {
	var resp []byte
	if status, err := w.do("GET", "/v1/test_helpers/test_clocks?limit=100", nil, &resp); status != 200 {
		return "", false, fmt.Errorf("list test clocks: %d %v: %.300s", status, err, w.buf.Bytes())
	}
	var l struct {
		Data []benchClock `json:"data"`
	}
	if err := json.Unmarshal(resp, &l); err != nil {
		return "", false, fmt.Errorf("list test clocks: %w", err)
	}
	for _, c := range l.Data {
		if c.Name == renewalsName(n) && c.Status == "ready" {
			return c.ID, true, nil
		}
	}
	return "", false, nil
}

type benchClock struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Status     string `json:"status"`
	FrozenTime int64  `json:"frozen_time"`
}

func getClock(w *worker, id string) (benchClock, error) {
	var (
		resp []byte
		c    benchClock
	)
	if status, err := w.do("GET", "/v1/test_helpers/test_clocks/"+id, nil, &resp); status != 200 {
		return c, fmt.Errorf("retrieve test clock: %d %v: %.300s", status, err, w.buf.Bytes())
	}
	err := json.Unmarshal(resp, &c)
	return c, err
}

// advanceOnce advances the clock a month, times it until ready with the
// server's CPU and memory, and checks the renewals.
func advanceOnce(ctx context.Context, cfg loadConfig, w *worker, st renewalsState, logw io.Writer) (*Result, error) {
	busyBefore, err := waitQuiet(ctx, cfg.waitIdle, logw)
	if err != nil {
		return nil, err
	}
	c, err := getClock(w, st.clock)
	if err != nil {
		return nil, err
	}
	if c.Status != "ready" {
		return nil, fmt.Errorf("test clock %s is %s, not ready", c.ID, c.Status)
	}
	from, target := c.FrozenTime, advanceTarget(c.FrozenTime)
	var sampler *rssSampler
	if cfg.pid > 0 {
		if _, err := procCPU(cfg.pid); err != nil {
			return nil, fmt.Errorf("-pid %d: %w", cfg.pid, err)
		}
		sampler = sampleRSS(cfg.pid, 50*time.Millisecond)
	}
	wall := time.Now().Unix()
	r0 := cfg.readCPU()
	start := time.Now()
	body := fmt.Appendf(nil, "frozen_time=%d", target)
	if status, err := w.do("POST", "/v1/test_helpers/test_clocks/"+st.clock+"/advance", body, nil); status != 200 {
		return nil, fmt.Errorf("advance: %d %v: %.300s", status, err, w.buf.Bytes())
	}
	deadline := start.Add(cfg.advanceLimit)
	for {
		c, err = getClock(w, st.clock)
		if err != nil {
			return nil, err
		}
		if c.Status == "ready" && c.FrozenTime == target {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("test clock %s still %s after %v (-advance-timeout)", c.ID, c.Status, cfg.advanceLimit)
		}
		if !sleepUntil(ctx, time.Now().Add(cfg.poll)) {
			return nil, ctx.Err()
		}
	}
	elapsed := time.Since(start)
	r1 := cfg.readCPU()
	res := &Result{Label: cfg.label, URL: cfg.url, Scenario: "billing.renewals", Concurrency: cfg.concurrency,
		Seconds: elapsed.Seconds(), Started: start.UTC().Format(time.RFC3339), Ops: int64(cfg.n),
		OpsPerSec: float64(cfg.n) / elapsed.Seconds(), CPUs: runtime.NumCPU(), BusyBefore: busyBefore,
		Renewals: &RenewalStats{Subscriptions: cfg.n, Clock: st.clock, From: from, To: target}}
	window := elapsed.Seconds()
	perOp := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(cfg.n) }
	res.Client = Usage{CPUSeconds: (r1.client - r0.client).Seconds(), Cores: (r1.client - r0.client).Seconds() / window,
		CPUPerOpUs: perOp(r1.client - r0.client)}
	res.ClientShare = res.Client.Cores / float64(res.CPUs)
	if cfg.pid > 0 {
		d := r1.server - r0.server
		res.Server = &Usage{PID: cfg.pid, CPUSeconds: d.Seconds(), Cores: d.Seconds() / window, CPUPerOpUs: perOp(d),
			MaxRSSBytes: sampler.finish()}
		res.Server.EndRSSBytes, res.Server.PeakRSSBytes, _ = procMem(cfg.pid)
	}
	if cfg.dbProc != "" {
		d := r1.db - r0.db
		res.Database = &Usage{CPUSeconds: d.Seconds(), Cores: d.Seconds() / window, CPUPerOpUs: perOp(d)}
	}
	other := (r1.machine - r0.machine) - (r1.client - r0.client) - (r1.server - r0.server) - (r1.db - r0.db)
	res.OtherCores = max(other.Seconds()/window, 0)
	if cfg.verify {
		t := time.Now()
		err := verifyRenewals(w, res.Renewals, wall)
		res.Renewals.VerifySeconds = time.Since(t).Seconds()
		if err != nil {
			res.Failed = int64(cfg.n - res.Renewals.Paid)
			res.FirstError = err.Error()
		}
	}
	return res, nil
}

// verifyRenewals checks through the API that the advance made one renewal
// invoice per subscription, each paid by exactly one successful payment,
// and that one payment intent was made for each, none twice: it pages
// through the invoices created at the clock's times of the advance, then
// the payment intents created since wall (the wall-clock second the
// advance was sent in).
func verifyRenewals(w *worker, rs *RenewalStats, wall int64) error {
	rs.Invoices = map[string]int{}
	var problems []error
	problem := func(format string, args ...any) {
		if len(problems) < 5 {
			problems = append(problems, fmt.Errorf(format, args...))
		}
	}
	type invoice struct {
		ID            string `json:"id"`
		Status        string `json:"status"`
		BillingReason string `json:"billing_reason"`
		AmountDue     int64  `json:"amount_due"`
		AmountPaid    int64  `json:"amount_paid"`
		Parent        struct {
			SubscriptionDetails struct {
				Subscription string `json:"subscription"`
			} `json:"subscription_details"`
		} `json:"parent"`
		Payments struct {
			Data []struct {
				Status  string `json:"status"`
				Payment struct {
					PaymentIntent string `json:"payment_intent"`
				} `json:"payment"`
			} `json:"data"`
		} `json:"payments"`
	}
	invoices := map[string]string{} // renewal invoice → its payment intent
	subs := map[string]bool{}
	err := pageAll(w, fmt.Sprintf("/v1/invoices?limit=100&created[gt]=%d&created[lte]=%d", rs.From, rs.To), func(raw json.RawMessage) error {
		var inv invoice
		if err := json.Unmarshal(raw, &inv); err != nil {
			return err
		}
		rs.Invoices[inv.Status]++
		sub := inv.Parent.SubscriptionDetails.Subscription
		switch {
		case inv.BillingReason != "subscription_cycle" || sub == "":
			problem("invoice %s: billing_reason %s, subscription %q", inv.ID, inv.BillingReason, sub)
		case subs[sub]:
			problem("subscription %s renewed twice (invoice %s)", sub, inv.ID)
		case inv.Status != "paid" || inv.AmountPaid != inv.AmountDue || inv.AmountDue <= 0:
			problem("invoice %s: %s, paid %d of %d", inv.ID, inv.Status, inv.AmountPaid, inv.AmountDue)
		case len(inv.Payments.Data) != 1 || inv.Payments.Data[0].Status != "paid" || inv.Payments.Data[0].Payment.PaymentIntent == "":
			problem("invoice %s: %d payments, want one paid by card", inv.ID, len(inv.Payments.Data))
		default:
			invoices[inv.ID] = inv.Payments.Data[0].Payment.PaymentIntent
			rs.Paid++
		}
		subs[sub] = true
		return nil
	})
	if err != nil {
		return err
	}
	if len(subs) != rs.Subscriptions {
		problem("%d subscriptions renewed, want %d", len(subs), rs.Subscriptions)
	}
	type intent struct {
		ID       string            `json:"id"`
		Status   string            `json:"status"`
		Metadata map[string]string `json:"metadata"`
	}
	charged := map[string]int{}
	err = pageAll(w, fmt.Sprintf("/v1/payment_intents?limit=100&created[gte]=%d", wall), func(raw json.RawMessage) error {
		var pi intent
		if err := json.Unmarshal(raw, &pi); err != nil {
			return err
		}
		inv := pi.Metadata["invoice"]
		if _, ok := invoices[inv]; !ok {
			return nil // a payment of the set-up's last second, or a renewal already counted as a problem
		}
		rs.Charges++
		if charged[inv]++; charged[inv] > 1 {
			problem("invoice %s charged more than once (payment intent %s)", inv, pi.ID)
		}
		if pi.Status != "succeeded" || invoices[inv] != pi.ID {
			problem("payment intent %s of invoice %s: %s (the invoice names %s)", pi.ID, inv, pi.Status, invoices[inv])
		}
		return nil
	})
	if err != nil {
		return err
	}
	if rs.Charges != rs.Paid {
		problem("%d payment intents for %d paid renewal invoices", rs.Charges, rs.Paid)
	}
	if len(problems) > 0 {
		return fmt.Errorf("not every renewal was paid exactly once: %d of %d paid (invoices by status %v, %d charges): %w",
			rs.Paid, rs.Subscriptions, rs.Invoices, rs.Charges, errors.Join(problems...))
	}
	return nil
}

// pageAll GETs every page of a list, newest first, calling fn on each
// object.
func pageAll(w *worker, path string, fn func(json.RawMessage) error) error {
	after := ""
	for {
		p := path
		if after != "" {
			p += "&starting_after=" + after
		}
		var resp []byte
		if status, err := w.do("GET", p, nil, &resp); status != 200 {
			return fmt.Errorf("GET %s: %d %v: %.300s", p, status, err, w.buf.Bytes())
		}
		var l struct {
			Data    []json.RawMessage `json:"data"`
			HasMore bool              `json:"has_more"`
		}
		if err := json.Unmarshal(resp, &l); err != nil {
			return fmt.Errorf("GET %s: %w", p, err)
		}
		for _, raw := range l.Data {
			if err := fn(raw); err != nil {
				return err
			}
		}
		if !l.HasMore || len(l.Data) == 0 {
			return nil
		}
		after = jsonID(l.Data[len(l.Data)-1])
	}
}

func (r *Result) printRenewals(w io.Writer) {
	rs := r.Renewals
	if r.SetupSeconds > 0 {
		fmt.Fprintf(w, "setup     %d subscriptions on %s in %.1f s with %d clients (not timed)\n", rs.Subscriptions, rs.Clock, r.SetupSeconds,
			r.Concurrency)
	}
	if rs.To == 0 {
		return // -setup-only
	}
	fmt.Fprintf(w, "run       billing.renewals: one advance of %s from %s, ready after %.2f s\n", rs.Clock,
		time.Unix(rs.From, 0).UTC().Format(time.DateTime), r.Seconds)
	fmt.Fprintf(w, "renewals  %d: %.0f renewals/s\n", rs.Subscriptions, r.OpsPerSec)
	fmt.Fprintf(w, "checked   %d renewal invoices paid once each, %d charges; invoices by status %v (%.1f s to check)\n",
		rs.Paid, rs.Charges, rs.Invoices, rs.VerifySeconds)
	if r.FirstError != "" {
		fmt.Fprintf(w, "FAILED    %s\n", r.FirstError)
	}
	if s := r.Server; s != nil {
		fmt.Fprintf(w, "server    pid %d: %.2f CPU s (%.2f cores, %.0f µs/renewal); RSS peak %.1f MB (VmHWM), sampled max %.1f MB, now %.1f MB\n",
			s.PID, s.CPUSeconds, s.Cores, s.CPUPerOpUs, mb(s.PeakRSSBytes), mb(s.MaxRSSBytes), mb(s.EndRSSBytes))
	}
	if d := r.Database; d != nil {
		fmt.Fprintf(w, "database  %.2f CPU s (%.2f cores, %.0f µs/renewal)\n", d.CPUSeconds, d.Cores, d.CPUPerOpUs)
	}
	taint := ""
	if r.Tainted {
		taint = ": TAINTED, other work competed for the CPUs"
	}
	fmt.Fprintf(w, "others    %.2f cores used by other processes during the advance (%.2f busy just before)%s\n", r.OtherCores, r.BusyBefore, taint)
}
