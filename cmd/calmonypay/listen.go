package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/webhook"
)

const (
	// listenPollInterval is how often listen asks the server for new events.
	listenPollInterval = 500 * time.Millisecond
	// listenLookbackSeconds is how far before the newest event it has read
	// listen reads again on each poll, so that an event whose transaction
	// committed after a newer one's is still found. Events are forwarded
	// once each.
	listenLookbackSeconds = 5
	// listenForwardTimeout bounds one forward to the app, as the server's
	// default attempt timeout bounds a delivery.
	listenForwardTimeout = 10 * time.Second
	// listenMaxTypes is GET /v1/events' limit on types[].
	listenMaxTypes = 20
)

// listenCommand is `calmonypay listen`, like `stripe listen`: it reads the
// project's new test-mode events through the API (GET /v1/events), prints
// each, and forwards it to --forward-to signed as the server signs webhooks,
// with a secret it prints for the app to verify with. It prints the app's
// answer and does not retry a failed forward.
//
// The server never connects to listen or to the app, so listen needs no
// webhook endpoint and works against any server its test key reaches,
// production ones included, which never deliver to private addresses.
func listenCommand(ctx context.Context, args []string, e *env) error {
	fs := newFlagSet("listen", e)
	forward := fs.String("forward-to", "", "URL of your app's webhook handler, e.g. http://localhost:3000/webhook (required)")
	events := fs.String("events", "*", "comma-separated event types to forward (customer.created, customer.*), or * for all")
	key, base := bindAPIClient(fs, e)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: listen takes no arguments", errUsage)
	}
	target, err := url.Parse(*forward)
	if *forward == "" || err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" {
		return fmt.Errorf("%w: --forward-to must be an http(s) URL, such as http://localhost:3000/webhook", errUsage)
	}
	types, err := listenTypes(*events)
	if err != nil {
		return err
	}
	c, err := newAPIClient(*key, *base)
	if err != nil {
		return err
	}
	feed := newEventFeed(c, types)
	if err := feed.skipExisting(ctx); err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	f := &forwarder{secret: pay.WebhookSecretPrefix + pay.RandomString(32), target: target.String(), out: e.stdout,
		client: &http.Client{Timeout: listenForwardTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	fmt.Fprintf(e.stdout, "Ready! Your webhook signing secret is %s (^C to quit)\n", f.secret)
	fmt.Fprintf(e.stdout, "Forwarding %s events to %s\n", *events, f.target)

	poll := time.NewTicker(listenPollInterval)
	defer poll.Stop()
	failing := ""
	for {
		evts, err := feed.next(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && isAPIError(err, http.StatusUnauthorized):
			return fmt.Errorf("read events: %w", err)
		case err != nil && err.Error() != failing:
			// The server may be restarting: say so once and keep trying.
			failing = err.Error()
			fmt.Fprintf(e.stderr, "calmonypay listen: could not read events (retrying): %v\n", err)
		case err == nil:
			failing = ""
		}
		for _, evt := range evts {
			f.forward(ctx, evt)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
		}
	}
}

// listenTypes parses --events: "*" (every type: nil), or a list of known
// event types and wildcards such as customer.*.
func listenTypes(s string) ([]string, error) {
	var types []string
	for t := range strings.SplitSeq(s, ",") {
		t = strings.TrimSpace(t)
		if t == pay.WebhookAllEvents {
			return nil, nil
		}
		prefix, wild := strings.CutSuffix(t, "*")
		_, known := pay.ParseEventType(t)
		known = known || wild && strings.HasSuffix(prefix, ".") &&
			slices.ContainsFunc(pay.EventTypes(), func(k pay.EventType) bool { return strings.HasPrefix(k.String(), prefix) })
		if !known {
			return nil, fmt.Errorf("%w: --events: %q is not an event type (such as customer.created), a wildcard (customer.*) or *", errUsage, t)
		}
		types = append(types, t)
	}
	if len(types) > listenMaxTypes {
		return nil, fmt.Errorf("%w: --events lists more than %d types: use wildcards (customer.*) or *", errUsage, listenMaxTypes)
	}
	return types, nil
}

// listedEvent is one event as GET /v1/events lists it.
type listedEvent struct {
	ID      string
	Type    string
	Created int64
	Body    []byte // the event's JSON, as the server would deliver it
}

// eventFeed reads a project's new events through GET /v1/events, oldest
// first, each once.
type eventFeed struct {
	c     *apiClient
	query url.Values // the types filter
	// newest is the creation time of the newest event read (0: none yet);
	// seen holds the events read since newest-listenLookbackSeconds.
	newest int64
	seen   map[string]int64
}

func newEventFeed(c *apiClient, types []string) *eventFeed {
	q := url.Values{}
	for i, t := range types {
		q.Set("types["+strconv.Itoa(i)+"]", t)
	}
	return &eventFeed{c: c, query: q, seen: map[string]int64{}}
}

// skipExisting reads the events already there, so that only later ones are
// forwarded.
func (f *eventFeed) skipExisting(ctx context.Context) error {
	latest, _, err := f.page(ctx, url.Values{"limit": {"1"}})
	if err != nil || len(latest) == 0 {
		return err
	}
	f.newest = latest[0].Created
	_, err = f.next(ctx)
	return err
}

// next returns the events it has not returned before, oldest first.
func (f *eventFeed) next(ctx context.Context) ([]listedEvent, error) {
	q := url.Values{"limit": {"100"}}
	if f.newest > 0 {
		q.Set("created[gte]", strconv.FormatInt(f.newest-listenLookbackSeconds, 10))
	}
	var fresh []listedEvent
	for {
		page, more, err := f.page(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, e := range page {
			if _, ok := f.seen[e.ID]; !ok {
				fresh = append(fresh, e)
			}
		}
		if !more || len(page) == 0 {
			break
		}
		q.Set("starting_after", page[len(page)-1].ID)
	}
	slices.Reverse(fresh) // pages are newest first
	for _, e := range fresh {
		f.seen[e.ID] = e.Created
		f.newest = max(f.newest, e.Created)
	}
	for id, created := range f.seen {
		if created < f.newest-listenLookbackSeconds {
			delete(f.seen, id)
		}
	}
	return fresh, nil
}

// page reads one page of events, newest first, with the types filter.
func (f *eventFeed) page(ctx context.Context, q url.Values) ([]listedEvent, bool, error) {
	for k, v := range f.query {
		q[k] = v
	}
	var l struct {
		Data    []json.RawMessage `json:"data"`
		HasMore bool              `json:"has_more"`
	}
	if err := f.c.do(ctx, http.MethodGet, "/v1/events", q, &l); err != nil {
		return nil, false, err
	}
	out := make([]listedEvent, len(l.Data))
	for i, raw := range l.Data {
		var e struct {
			ID      string `json:"id"`
			Type    string `json:"type"`
			Created int64  `json:"created"`
		}
		var body bytes.Buffer
		if err := errors.Join(json.Unmarshal(raw, &e), json.Compact(&body, raw)); err != nil {
			return nil, false, fmt.Errorf("GET /v1/events: decode an event: %w", err)
		}
		out[i] = listedEvent{ID: e.ID, Type: e.Type, Created: e.Created, Body: body.Bytes()}
	}
	return out, l.HasMore, nil
}

// forwarder posts events to the app, signed as the server signs deliveries.
type forwarder struct {
	secret string
	target string
	client *http.Client
	out    io.Writer
}

func (f *forwarder) forward(ctx context.Context, e listedEvent) {
	fmt.Fprintf(f.out, "%s  --> %s [%s]\n", stamp(), e.Type, e.ID)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.target, bytes.NewReader(e.Body))
	if err != nil {
		fmt.Fprintf(f.out, "%s  <-- [ERR] POST %s [%s]: %v\n", stamp(), f.target, e.ID, err)
		return
	}
	sig := webhook.Sign(e.Body, time.Now(), f.secret)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "CalmonyPay/1.0 (+webhooks; calmonypay listen)")
	req.Header.Set(webhook.SignatureHeader, sig)
	req.Header.Set(webhook.StripeSignatureHeader, sig)
	resp, err := f.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		fmt.Fprintf(f.out, "%s  <-- [ERR] POST %s [%s]: %v\n", stamp(), f.target, e.ID, err)
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	fmt.Fprintf(f.out, "%s  <-- [%d] POST %s [%s]\n", stamp(), resp.StatusCode, f.target, e.ID)
}

func stamp() string { return time.Now().Format("2006-01-02 15:04:05") }
