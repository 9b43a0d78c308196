package dashboard

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// The developers' procedures: API keys, webhook endpoints and their
// deliveries, the event log.
//
// Keys belong to a project, not to a mode: keys.list shows the project's
// keys of both modes, and a new key's mode is keys.create's livemode input,
// not the session's (the switch only changes which data the pages show).
// Webhook endpoints and events belong to the session's project and mode.

// devPage reads a list's limit (1–100, 20 by default) and cursor.
func devPage(limit *int, startingAfter string) (pay.Page, error) {
	p := pay.Page{Limit: 20, StartingAfter: startingAfter}
	if limit != nil {
		if *limit < 1 || *limit > 100 {
			return p, badRequest("limit", "limit must be between 1 and 100.")
		}
		p.Limit = *limit
	}
	if len(startingAfter) > 255 {
		return p, badRequest("startingAfter", "startingAfter is not an ID.")
	}
	return p, nil
}

// listOf is a page of a list, as every list procedure answers.
type listOf[T any] struct {
	Data    []T  `json:"data"`
	HasMore bool `json:"hasMore"`
}

// startingAfterField renames a list's cursor error to the input's name.
func startingAfterField(err error) error {
	if pe, ok := pay.AsError(err); ok && pe.Param == "starting_after" {
		return badRequest("startingAfter", "startingAfter names no object of this list.")
	}
	return err
}

// keyView is an API key as the dashboard shows it: its hint, never its
// secret.
type keyView struct {
	ID        string `json:"id"`
	Livemode  bool   `json:"livemode"`
	Hint      string `json:"hint"`
	Created   int64  `json:"created"`
	ExpiresAt int64  `json:"expiresAt,omitempty"`
	RevokedAt int64  `json:"revokedAt,omitempty"`
	// Status is active, expiring (rolled: it works until expiresAt),
	// expired or revoked.
	Status string `json:"status"`
}

func newKeyView(k *pay.APIKey, now int64) keyView {
	v := keyView{ID: k.ID, Livemode: k.Livemode, Hint: k.Hint, Created: k.Created, ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt, Status: "active"}
	switch {
	case k.RevokedAt != 0:
		v.Status = "revoked"
	case k.ExpiresAt != 0 && k.ExpiresAt <= now:
		v.Status = "expired"
	case k.ExpiresAt != 0:
		v.Status = "expiring"
	}
	return v
}

func (s *Server) keysList(ctx context.Context, c *call, _ struct{}) (*listOf[keyView], error) {
	keys, err := s.db.FindAPIKeys(ctx, c.session.ProjectID)
	if err != nil {
		return nil, err
	}
	now := s.now().Unix()
	out := &listOf[keyView]{Data: []keyView{}}
	// Newest first, as every list.
	for i := len(keys) - 1; i >= 0; i-- {
		out.Data = append(out.Data, newKeyView(keys[i], now))
	}
	return out, nil
}

// newSecretView is a key just made, with its secret: the only time it is
// shown.
type newSecretView struct {
	Key    keyView `json:"key"`
	Secret string  `json:"secret"`
	// Old is the rolled key, with when it stops working (keys.roll).
	Old *keyView `json:"old,omitempty"`
}

type keyCreateInput struct {
	Livemode bool `json:"livemode"`
}

func (s *Server) keysCreate(ctx context.Context, c *call, in keyCreateInput) (*newSecretView, error) {
	var nk *payments.NewKey
	err := s.db.Tx(ctx, func(tx *store.Tx) (err error) {
		if nk, err = s.payments.CreateAPIKey(ctx, tx, c.session.ProjectID, in.Livemode); err != nil {
			return err
		}
		return c.audit(ctx, tx, "api_key.created", nk.Key.ID, map[string]string{"hint": nk.Key.Hint, "mode": modeName(in.Livemode)})
	})
	if err != nil {
		return nil, err
	}
	return &newSecretView{Key: newKeyView(nk.Key, s.now().Unix()), Secret: nk.Secret}, nil
}

type keyRollInput struct {
	ID string `json:"id"`
	// ExpiresInHours is how long the old key keeps working: 24 by default,
	// 0 (at once) to 168 (7 days).
	ExpiresInHours *int `json:"expiresInHours"`
}

func (in *keyRollInput) validate() error {
	if in.ID == "" {
		return badRequest("id", "id is required.")
	}
	if h := in.ExpiresInHours; h != nil && (*h < 0 || time.Duration(*h)*time.Hour > payments.MaxRollGrace) {
		return badRequest("expiresInHours", "expiresInHours must be between 0 and "+strconv.Itoa(int(payments.MaxRollGrace/time.Hour))+".")
	}
	return nil
}

func (in *keyRollInput) grace() time.Duration {
	if in.ExpiresInHours == nil {
		return payments.DefaultRollGrace
	}
	return time.Duration(*in.ExpiresInHours) * time.Hour
}

func (s *Server) keysRoll(ctx context.Context, c *call, in keyRollInput) (*newSecretView, error) {
	var (
		nk  *payments.NewKey
		old *pay.APIKey
	)
	err := s.db.Tx(ctx, func(tx *store.Tx) (err error) {
		if nk, old, err = s.payments.RollAPIKey(ctx, tx, c.session.ProjectID, in.ID, in.grace()); err != nil {
			return err
		}
		return c.audit(ctx, tx, "api_key.rolled", old.ID, map[string]string{"hint": old.Hint, "new_key": nk.Key.ID,
			"new_hint": nk.Key.Hint, "old_expires_at": strconv.FormatInt(old.ExpiresAt, 10)})
	})
	if err != nil {
		return nil, keyError(err, in.ID)
	}
	now := s.now().Unix()
	ov := newKeyView(old, now)
	return &newSecretView{Key: newKeyView(nk.Key, now), Secret: nk.Secret, Old: &ov}, nil
}

func (s *Server) keysRevoke(ctx context.Context, c *call, in idInput) (*keyView, error) {
	var k *pay.APIKey
	err := s.db.Tx(ctx, func(tx *store.Tx) (err error) {
		if k, err = s.payments.RevokeAPIKey(ctx, tx, c.session.ProjectID, in.ID); err != nil {
			return err
		}
		return c.audit(ctx, tx, "api_key.revoked", k.ID, map[string]string{"hint": k.Hint})
	})
	if err != nil {
		return nil, keyError(err, in.ID)
	}
	v := newKeyView(k, s.now().Unix())
	return &v, nil
}

// keyError names a key the project does not have (or no longer active) as
// tRPC's NOT_FOUND.
func keyError(err error, id string) error {
	if pe, ok := pay.AsError(err); ok && pe.Status == 404 {
		return notFound("active API key", id)
	}
	return err
}

func modeName(live bool) string {
	if live {
		return "live"
	}
	return "test"
}

// endpointView is a webhook endpoint, without its signing secret.
type endpointView struct {
	ID             string   `json:"id"`
	URL            string   `json:"url"`
	Description    string   `json:"description"`
	Events         []string `json:"events"`
	Status         string   `json:"status"`
	DisabledReason string   `json:"disabledReason,omitempty"`
	FailingSince   int64    `json:"failingSince,omitempty"`
	Created        int64    `json:"created"`
}

func (s *Server) webhooksList(ctx context.Context, c *call, _ struct{}) (*listOf[endpointView], error) {
	l, err := s.db.FindWebhookEndpoints(ctx, c.scope(), pay.Page{Limit: 100})
	if err != nil {
		return nil, err
	}
	out := &listOf[endpointView]{Data: []endpointView{}, HasMore: l.HasMore}
	for _, ep := range l.Data {
		out.Data = append(out.Data, newEndpointView(ep))
	}
	return out, nil
}

// attemptView is one delivery attempt of an event to an endpoint.
type attemptView struct {
	ID         string `json:"id"`
	Event      string `json:"event"`
	EventType  string `json:"eventType"`
	Endpoint   string `json:"endpoint"`
	Attempt    int    `json:"attempt"`
	Succeeded  bool   `json:"succeeded"`
	StatusCode int    `json:"statusCode"` // 0: no answer
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"durationMs"`
	Created    int64  `json:"created"`
	NextRetry  int64  `json:"nextRetry,omitempty"`
}

type deliveriesInput struct {
	Endpoint      string `json:"endpoint"`
	Limit         *int   `json:"limit"`
	StartingAfter string `json:"startingAfter"`
}

func (in *deliveriesInput) validate() error {
	if in.Endpoint == "" {
		return badRequest("endpoint", "endpoint is required.")
	}
	_, err := devPage(in.Limit, in.StartingAfter)
	return err
}

func (s *Server) webhooksDeliveries(ctx context.Context, c *call, in deliveriesInput) (*listOf[attemptView], error) {
	if _, err := s.db.FindWebhookEndpoint(ctx, c.scope(), in.Endpoint); errors.Is(err, pay.ErrNotFound) {
		return nil, notFound("webhook endpoint", in.Endpoint)
	} else if err != nil {
		return nil, err
	}
	page, _ := devPage(in.Limit, in.StartingAfter)
	l, err := s.db.FindEndpointAttempts(ctx, c.scope(), in.Endpoint, page)
	if err != nil {
		return nil, startingAfterField(err)
	}
	out := &listOf[attemptView]{Data: []attemptView{}, HasMore: l.HasMore}
	types := map[string]string{} // event ID → type
	for _, a := range l.Data {
		t, ok := types[a.EventID]
		if !ok {
			if e, err := s.db.FindEvent(ctx, c.scope(), a.EventID); err == nil {
				t = e.Type
			} else if !errors.Is(err, pay.ErrNotFound) {
				return nil, err
			}
			types[a.EventID] = t
		}
		out.Data = append(out.Data, attemptView{ID: a.ID, Event: a.EventID, EventType: t, Endpoint: a.EndpointID, Attempt: a.Attempt,
			Succeeded: a.Succeeded, StatusCode: a.StatusCode, Error: a.Error, DurationMS: a.DurationMS, Created: a.Created, NextRetry: a.NextRetry})
	}
	return out, nil
}

type retryInput struct {
	Event    string `json:"event"`
	Endpoint string `json:"endpoint"`
}

func (in *retryInput) validate() error {
	if in.Event == "" {
		return badRequest("event", "event is required.")
	}
	return nil
}

func (s *Server) webhooksRetry(ctx context.Context, c *call, in retryInput) (*eventSummary, error) {
	var e *pay.Event
	err := s.db.Tx(ctx, func(tx *store.Tx) (err error) {
		if e, err = s.payments.RetryEvent(ctx, tx, c.scope(), in.Event, in.Endpoint); err != nil {
			return err
		}
		detail := map[string]string{"type": e.Type}
		if in.Endpoint != "" {
			detail["endpoint"] = in.Endpoint
		}
		return c.audit(ctx, tx, "event.retried", e.ID, detail)
	})
	if pe, ok := pay.AsError(err); ok {
		switch {
		case pe.Status == 404 && pe.Param == "webhook_endpoint":
			return nil, notFound("webhook endpoint", in.Endpoint)
		case pe.Status == 404:
			return nil, notFound("event", in.Event)
		case pe.Param == "webhook_endpoint":
			return nil, badRequest("endpoint", pe.Message)
		}
	}
	if err != nil {
		return nil, err
	}
	v := newEventSummary(e)
	return &v, nil
}

// eventSummary is an event in the log.
type eventSummary struct {
	ID              string `json:"id"`
	Type            string `json:"type"`
	Created         int64  `json:"created"`
	Object          string `json:"objectId,omitempty"`
	PendingWebhooks int    `json:"pendingWebhooks"`
}

func newEventSummary(e *pay.Event) eventSummary {
	return eventSummary{ID: e.ID, Type: e.Type, Created: e.Created, Object: e.ObjectID, PendingWebhooks: e.PendingWebhooks}
}

type eventsInput struct {
	// Type is an event type, or a prefix ending in ".*" (customer.*).
	Type          string `json:"type"`
	Limit         *int   `json:"limit"`
	StartingAfter string `json:"startingAfter"`
}

func (in *eventsInput) validate() error {
	if t := in.Type; t != "" {
		prefix, wild := strings.CutSuffix(t, ".*")
		if _, known := pay.ParseEventType(t); !known && (!wild || prefix == "" || strings.ContainsAny(prefix, "*") || len(prefix) > 100) {
			return badRequest("type", "type must be an event type such as customer.created, or a prefix such as customer.*.")
		}
	}
	_, err := devPage(in.Limit, in.StartingAfter)
	return err
}

func (s *Server) eventsList(ctx context.Context, c *call, in eventsInput) (*listOf[eventSummary], error) {
	page, _ := devPage(in.Limit, in.StartingAfter)
	var f store.EventFilter
	if in.Type != "" {
		f.Types = []string{in.Type}
	}
	l, err := s.db.FindEvents(ctx, c.scope(), f, page)
	if err != nil {
		return nil, startingAfterField(err)
	}
	out := &listOf[eventSummary]{Data: []eventSummary{}, HasMore: l.HasMore}
	for _, e := range l.Data {
		out.Data = append(out.Data, newEventSummary(e))
	}
	return out, nil
}

// eventDetail is one event, with the event object as /v1 renders it
// (Stripe's shape, snake_case) and delivers it to webhook endpoints.
type eventDetail struct {
	eventSummary
	Event pay.EventObject `json:"event"`
}

func (s *Server) eventsGet(ctx context.Context, c *call, in idInput) (*eventDetail, error) {
	e, err := s.db.FindEvent(ctx, c.scope(), in.ID)
	if errors.Is(err, pay.ErrNotFound) {
		return nil, notFound("event", in.ID)
	} else if err != nil {
		return nil, err
	}
	return &eventDetail{eventSummary: newEventSummary(e), Event: e.View()}, nil
}

// endpointSecretView is an endpoint just made, with its signing secret:
// the only time it is shown.
type endpointSecretView struct {
	Endpoint endpointView `json:"endpoint"`
	Secret   string       `json:"secret"`
}

func newEndpointView(ep *pay.WebhookEndpoint) endpointView {
	return endpointView{ID: ep.ID, URL: ep.URL, Description: ep.Description, Events: ep.EnabledEvents,
		Status: ep.Status, DisabledReason: ep.DisabledReason, FailingSince: ep.FailingSince, Created: ep.Created}
}

// endpointInput creates or changes a webhook endpoint: absent fields of an
// update stay as they are.
type endpointInput struct {
	ID          string   `json:"id"` // update only
	URL         *string  `json:"url"`
	Events      []string `json:"events"`
	Description *string  `json:"description"`
	Disabled    *bool    `json:"disabled"` // update only
}

// change checks the input as /v1 does and returns the operation's change.
func (s *Server) endpointChange(c *call, in *endpointInput) (payments.WebhookEndpointChange, error) {
	ch := payments.WebhookEndpointChange{URL: in.URL, Description: in.Description, Disabled: in.Disabled}
	if in.URL != nil {
		if e := payments.CheckWebhookURL(*in.URL, s.allowPrivateWebhookURLs && !c.session.Livemode); e != nil {
			return ch, badRequest("url", e.Message)
		}
	}
	if in.Events != nil {
		events, e := payments.CheckEnabledEvents(in.Events)
		if e != nil {
			return ch, badRequest(strings.Replace(e.Param, "enabled_events", "events", 1), e.Message)
		}
		ch.EnabledEvents = events
	}
	if in.Description != nil && len([]rune(*in.Description)) > 5000 {
		return ch, badRequest("description", "description must be at most 5000 characters.")
	}
	return ch, nil
}

func (s *Server) webhooksCreate(ctx context.Context, c *call, in endpointInput) (*endpointSecretView, error) {
	switch {
	case in.ID != "":
		return nil, badRequest("id", "A new endpoint takes url, events and description, not an id.")
	case in.Disabled != nil:
		return nil, badRequest("disabled", "A new endpoint is enabled: disable it afterwards.")
	case in.URL == nil:
		return nil, badRequest("url", "url is required.")
	case in.Events == nil:
		return nil, badRequest("events", "events is required: event types, or [\"*\"] for all.")
	}
	ch, err := s.endpointChange(c, &in)
	if err != nil {
		return nil, err
	}
	var (
		ep     *pay.WebhookEndpoint
		secret string
	)
	err = s.db.Tx(ctx, func(tx *store.Tx) (err error) {
		if ep, secret, err = s.payments.CreateWebhookEndpoint(ctx, tx, c.scope(), ch); err != nil {
			return err
		}
		return c.audit(ctx, tx, "webhook_endpoint.created", ep.ID, map[string]string{"url": ep.URL, "events": strings.Join(ep.EnabledEvents, ",")})
	})
	if err != nil {
		return nil, err
	}
	return &endpointSecretView{Endpoint: newEndpointView(ep), Secret: secret}, nil
}

func (s *Server) webhooksUpdate(ctx context.Context, c *call, in endpointInput) (*endpointView, error) {
	if in.ID == "" {
		return nil, badRequest("id", "id is required.")
	}
	ch, err := s.endpointChange(c, &in)
	if err != nil {
		return nil, err
	}
	var fields []string
	for name, set := range map[string]bool{"url": in.URL != nil, "events": in.Events != nil, "description": in.Description != nil, "disabled": in.Disabled != nil} {
		if set {
			fields = append(fields, name)
		}
	}
	if len(fields) == 0 {
		return nil, badRequest("", "Nothing to change: give url, events, description or disabled.")
	}
	slices.Sort(fields)
	var ep *pay.WebhookEndpoint
	err = s.db.Tx(ctx, func(tx *store.Tx) (err error) {
		if ep, err = s.payments.UpdateWebhookEndpoint(ctx, tx, c.scope(), in.ID, ch); err != nil {
			return err
		}
		return c.audit(ctx, tx, "webhook_endpoint.updated", ep.ID, map[string]string{"fields": strings.Join(fields, ","), "status": ep.Status})
	})
	if pe, ok := pay.AsError(err); ok && pe.Status == 404 {
		return nil, notFound("webhook endpoint", in.ID)
	} else if err != nil {
		return nil, err
	}
	v := newEndpointView(ep)
	return &v, nil
}

// deletedView answers a deletion.
type deletedView struct {
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
}

func (s *Server) webhooksDelete(ctx context.Context, c *call, in idInput) (*deletedView, error) {
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		ep, err := tx.FindWebhookEndpoint(ctx, c.scope(), in.ID)
		if err != nil {
			return err
		}
		if err := s.payments.DeleteWebhookEndpoint(ctx, tx, c.scope(), in.ID); err != nil {
			return err
		}
		return c.audit(ctx, tx, "webhook_endpoint.deleted", in.ID, map[string]string{"url": ep.URL})
	})
	if pe, ok := pay.AsError(err); errors.Is(err, pay.ErrNotFound) || ok && pe.Status == 404 {
		return nil, notFound("webhook endpoint", in.ID)
	} else if err != nil {
		return nil, err
	}
	return &deletedView{ID: in.ID, Deleted: true}, nil
}
