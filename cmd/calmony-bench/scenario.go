package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// A scenario is one kind of operation the load tool repeats. An operation
// may take several requests (payment.flow takes two); it succeeds when every
// one of them answers 2xx.
type scenario struct {
	name string
	doc  string
	// setup prepares shared state (for example customers to retrieve) before
	// the load starts. It may be nil.
	setup func(ctx context.Context, w *worker, n int) (any, error)
	// op runs one operation and returns the first failing status (0 for a
	// transport error), or 200.
	op func(w *worker, state any) (status int, err error)
	// batch, if set, runs the whole scenario instead of the closed loop
	// (setup and op are then unused).
	batch func(ctx context.Context, cfg loadConfig, logw io.Writer) (*Result, error)
}

var scenarios = []scenario{
	{
		name: "customers.create",
		doc:  "POST /v1/customers with a fresh email and name, each with a fresh Idempotency-Key",
		op: func(w *worker, _ any) (int, error) {
			w.body = w.body[:0]
			w.body = append(w.body, "email=bench"...)
			w.body = w.appendUnique(w.body)
			w.body = append(w.body, "%40example.com&name=Bench+Customer&metadata[order_id]="...)
			w.body = strconv.AppendUint(w.body, w.seq, 10)
			return w.do("POST", "/v1/customers", w.body, nil)
		},
	},
	{
		name:  "customers.retrieve",
		doc:   "GET /v1/customers/{id} of one of the customers created in setup, at random",
		setup: createCustomers,
		op: func(w *worker, state any) (int, error) {
			ids := state.([]string)
			return w.do("GET", "/v1/customers/"+ids[w.rng.IntN(len(ids))], nil, nil)
		},
	},
	{
		name:  "customers.list",
		doc:   "GET /v1/customers?limit=10 (after setup created some)",
		setup: createCustomers,
		op: func(w *worker, _ any) (int, error) {
			return w.do("GET", "/v1/customers?limit=10", nil, nil)
		},
	},
	{
		name: "payment.flow",
		doc:  "POST /v1/payment_methods (test card), then POST /v1/payment_intents with confirm=true",
		op:   paymentFlow,
	},
	{
		name: "checkout.create",
		doc:  "POST /v1/checkout/sessions, mode=payment with one price_data line item",
		op: func(w *worker, _ any) (int, error) {
			return w.do("POST", "/v1/checkout/sessions", []byte(checkoutBody), nil)
		},
	},
	{
		name: "billing.renewals",
		doc: "-n subscriptions (pm_card_visa) on one test clock, set up with -c clients and not timed; then one advance " +
			"of a month, timed until the clock is ready; renewals/s, and a check that each renewal was paid exactly once",
		batch: runRenewals,
	},
	{
		name: "dashboard.queries",
		doc: "the dashboard's store queries timed in this process on -db (seeded with calmonypay dev seed's data, " +
			"-customers/-payments/-subscriptions, unless the project has payments): p50/p99 of each over -reps runs",
		batch: runDashboard,
	},
}

const checkoutBody = "mode=payment" +
	"&line_items[0][price_data][currency]=gbp" +
	"&line_items[0][price_data][unit_amount]=1000" +
	"&line_items[0][price_data][product_data][name]=Bench+T-shirt" +
	"&line_items[0][quantity]=1" +
	"&success_url=https%3A%2F%2Fexample.com%2Fsuccess" +
	"&cancel_url=https%3A%2F%2Fexample.com%2Fcancel"

func findScenario(name string) (*scenario, error) {
	for i := range scenarios {
		if scenarios[i].name == name {
			return &scenarios[i], nil
		}
	}
	return nil, fmt.Errorf("unknown scenario %q", name)
}

// createCustomers creates n customers and returns their IDs.
func createCustomers(ctx context.Context, w *worker, n int) (any, error) {
	ids := make([]string, 0, n)
	for range n {
		var resp []byte
		body := w.appendUnique([]byte("email=seed"))
		body = append(body, "%40example.com&name=Seed"...)
		if status, err := w.do("POST", "/v1/customers", body, &resp); status != 200 {
			return nil, fmt.Errorf("setup: create customer: %d %v: %.200s", status, err, resp)
		}
		id := jsonID(resp)
		if id == "" {
			return nil, fmt.Errorf("setup: no id in %.200s", resp)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// paymentFlow creates a card payment method, then a payment intent that
// confirms with it at once.
func paymentFlow(w *worker, _ any) (int, error) {
	body := append(w.body[:0], "type=card&card[number]=4929421234600821&card[exp_month]=12&card[exp_year]="...)
	body = strconv.AppendInt(body, int64(time.Now().Year()+2), 10)
	body = append(body, "&card[cvc]=356"...)
	var resp []byte
	if status, err := w.do("POST", "/v1/payment_methods", body, &resp); status != 200 {
		return status, err
	}
	pm := jsonID(resp)
	if pm == "" {
		return 0, errors.New("payment method response without an id")
	}
	body = append(body[:0], "amount=1000&currency=gbp&confirm=true&payment_method="...)
	body = append(body, pm...)
	w.body = body
	return w.do("POST", "/v1/payment_intents", body, nil)
}

// jsonID returns the first "id" string of a JSON object, without decoding it
// all: Stripe objects put "id" first.
func jsonID(b []byte) string {
	i := bytes.Index(b, []byte(`"id"`))
	if i < 0 {
		return ""
	}
	b = b[i+4:]
	i = bytes.IndexByte(b, '"')
	if i < 0 {
		return ""
	}
	b = b[i+1:]
	j := bytes.IndexByte(b, '"')
	if j < 0 {
		return ""
	}
	return string(b[:j])
}

var formContentType = []string{"application/x-www-form-urlencoded"}

// worker is one closed-loop client: it runs one operation at a time.
type worker struct {
	client   *http.Transport
	base     *url.URL
	auth     []string // shared by all requests, never modified
	idem     bool     // send a fresh Idempotency-Key with every POST
	prefix   string   // unique to this run and worker
	seq      uint64
	rng      *rand.Rand
	body     []byte
	buf      bytes.Buffer
	requests int64
	statuses map[int]int64 // by HTTP status; 0 is a transport error
	firstErr error
	hist     hist
}

func (w *worker) appendUnique(b []byte) []byte {
	w.seq++
	b = append(b, w.prefix...)
	return strconv.AppendUint(b, w.seq, 10)
}

// do sends one request. With resp non-nil it stores the body there.
//
// It builds the request by hand and calls the Transport directly: no URL
// parsing, no redirect handling and no per-request timer (http.Client's
// Timeout starts one for every request), which keeps the load generator's
// own CPU per request low. The Transport's ResponseHeaderTimeout bounds
// each request instead.
func (w *worker) do(method, path string, body []byte, resp *[]byte) (int, error) {
	u := *w.base
	u.Path, u.RawQuery, _ = strings.Cut(path, "?")
	req := &http.Request{Method: method, URL: &u, Host: u.Host, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Authorization": w.auth}}
	if body != nil {
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		req.Header["Content-Type"] = formContentType
	}
	if method == "POST" && w.idem {
		req.Header["Idempotency-Key"] = []string{string(w.appendUnique([]byte("bench-")))}
	}
	w.requests++
	res, err := w.client.RoundTrip(req)
	if err != nil {
		w.statuses[0]++
		if w.firstErr == nil {
			w.firstErr = err
		}
		return 0, err
	}
	w.buf.Reset()
	_, err = w.buf.ReadFrom(res.Body)
	res.Body.Close()
	w.statuses[res.StatusCode]++
	if err != nil {
		if w.firstErr == nil {
			w.firstErr = err
		}
		return 0, err
	}
	if res.StatusCode/100 != 2 {
		if w.firstErr == nil {
			w.firstErr = fmt.Errorf("%s %s: %d %.300s", method, path, res.StatusCode, w.buf.Bytes())
		}
		return res.StatusCode, nil
	}
	if resp != nil {
		*resp = append((*resp)[:0], w.buf.Bytes()...)
	}
	return 200, nil
}

// newWorkers makes n workers sharing one tuned Transport.
func newWorkers(n int, base, key string, idem bool, timeout time.Duration) ([]*worker, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy:                 nil, // loopback only: never through a proxy
		DialContext:           (&net.Dialer{Timeout: timeout}).DialContext,
		MaxIdleConns:          n,
		MaxIdleConnsPerHost:   n,
		MaxConnsPerHost:       n,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: timeout,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
	}
	runID := strconv.FormatUint(rand.Uint64()%(1<<40), 36)
	auth := []string{"Bearer " + key}
	ws := make([]*worker, n)
	for i := range ws {
		ws[i] = &worker{
			client: tr, base: u, auth: auth, idem: idem,
			prefix:   runID + "w" + strconv.Itoa(i) + "n",
			rng:      rand.New(rand.NewPCG(rand.Uint64(), uint64(i))),
			statuses: map[int]int64{},
		}
	}
	return ws, nil
}
