package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/safeurl"
	"github.com/calmony/calmonypay/internal/store"
)

// maxWebhookEndpoints is how many endpoints one project may have per mode,
// Stripe's limit. Each event is queued once per subscribed endpoint.
const maxWebhookEndpoints = 16

// Rolling a secret: how long the old one keeps signing by default, and at most.
const (
	defaultSecretOverlap = 24 * 60 * 60
	maxSecretOverlap     = 7 * 24 * 60 * 60
)

// newWebhookSecret returns a signing secret: whsec_ and 32 base62
// characters (about 190 bits).
func newWebhookSecret() string { return pay.WebhookSecretPrefix + pay.RandomString(32) }

// webhookEndpointChange is a parsed create or update: nil fields are not sent.
type webhookEndpointChange struct {
	url, description *string
	events           []string
	disabled         *bool
	metadata         pay.MetadataUpdate
}

// readWebhookEndpointChange reads the parameters create and update share.
func (s *Server) readWebhookEndpointChange(r *http.Request, p *params) webhookEndpointChange {
	var ch webhookEndpointChange
	if u := p.OptString("url"); u != nil {
		// Only public https URLs, unless the operator let test mode reach
		// private hosts for development (serve --allow-private-webhook-urls).
		opts := safeurl.Options{AllowPrivate: s.allowPrivateWebhookURLs && !keyFrom(r.Context()).Livemode}
		if _, err := safeurl.Check(*u, opts); err != nil {
			var se *safeurl.Error
			errors.As(err, &se)
			p.Fail("url", "url_invalid", "Invalid URL: "+se.Reason)
		}
		ch.url = u
	}
	if events, ok := p.StringSlice("enabled_events"); ok {
		ch.events = readEnabledEvents(p, events)
	}
	ch.description = readText(p, "description", 5000)
	ch.metadata = readMetadata(p)
	return ch
}

// readEnabledEvents checks event types against the known list, naming the
// first bad one as enabled_events[i].
func readEnabledEvents(p *params, events []string) []string {
	if len(events) == 0 {
		p.Fail("enabled_events", "parameter_missing", "enabled_events must list at least one event type, or '*' for all.")
		return nil
	}
	if len(events) > 100 {
		p.Fail("enabled_events", "parameter_invalid", "enabled_events may list at most 100 event types.")
		return nil
	}
	out := make([]string, 0, len(events))
	for i, t := range events {
		if _, known := pay.ParseEventType(t); t != pay.WebhookAllEvents && !known {
			p.Fail("enabled_events["+strconv.Itoa(i)+"]", "parameter_invalid",
				"Invalid event type '"+pay.Clip(t, 100)+"': it must be '*' or a known event type such as customer.created.")
			return nil
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func (s *Server) createWebhookEndpoint(r *http.Request, p *params) (writeFunc, error) {
	ch := s.readWebhookEndpointChange(r, p)
	if ch.url == nil {
		p.Missing("url")
	}
	if ch.events == nil && !p.Has("enabled_events") {
		p.Missing("enabled_events")
	}
	version, _ := p.String("api_version")
	if version != "" && !pay.SameAPITrain(version) {
		p.Fail("api_version", "parameter_invalid", "api_version must be on the "+pay.APIVersion+" release train: events are rendered at "+pay.APIVersion+".")
	}
	if connect, ok := p.Bool("connect"); ok && connect {
		p.Fail("connect", "parameter_invalid", "Connect webhook endpoints are not supported.")
	}
	return func(ctx context.Context, tx *store.Tx, scope pay.Scope) (any, error) {
		n, err := tx.CountWebhookEndpoints(ctx, scope)
		if err != nil {
			return nil, err
		}
		if n >= maxWebhookEndpoints {
			return nil, pay.InvalidRequest("webhook_endpoint_limit", "", "You may have at most %d webhook endpoints in each mode; delete one first.", maxWebhookEndpoints)
		}
		ep := &pay.WebhookEndpoint{Scope: scope, URL: *ch.url, EnabledEvents: ch.events, APIVersion: version, Status: pay.WebhookEnabled}
		if ch.description != nil {
			ep.Description = *ch.description
		}
		ep.Metadata = ch.metadata.Apply(nil)
		if err := pay.CheckMetadata(ep.Metadata); err != nil {
			return nil, err
		}
		signing := newWebhookSecret()
		if err := tx.CreateWebhookEndpoint(ctx, ep, signing); err != nil {
			return nil, err
		}
		v := pay.WebhookEndpointView(ep)
		v.Secret = signing // shown this once
		return v, nil
	}, nil
}

func (s *Server) updateWebhookEndpoint(r *http.Request, p *params) (writeFunc, error) {
	id := r.PathValue("id")
	ch := s.readWebhookEndpointChange(r, p)
	ch.disabled = p.OptBool("disabled")
	return func(ctx context.Context, tx *store.Tx, scope pay.Scope) (any, error) {
		ep, err := tx.FindWebhookEndpoint(ctx, scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "webhook_endpoint", id, "id")
		}
		if ch.url != nil {
			ep.URL = *ch.url
		}
		if ch.events != nil {
			ep.EnabledEvents = ch.events
		}
		if ch.description != nil {
			ep.Description = *ch.description
		}
		ep.Metadata = ch.metadata.Apply(ep.Metadata)
		if err := pay.CheckMetadata(ep.Metadata); err != nil {
			return nil, err
		}
		switch {
		case ch.disabled == nil:
		case *ch.disabled && ep.Status == pay.WebhookEnabled:
			ep.Status, ep.DisabledReason, ep.DisabledAt = pay.WebhookDisabled, pay.DisabledManual, tx.Now.Unix()
		case !*ch.disabled:
			// Enabling starts afresh: the failure count that may have
			// disabled it is forgotten.
			ep.Status, ep.DisabledReason, ep.DisabledAt, ep.FailingSince = pay.WebhookEnabled, "", 0, 0
		}
		if err := tx.UpdateWebhookEndpoint(ctx, ep); err != nil {
			return nil, err
		}
		return pay.WebhookEndpointView(ep), nil
	}, nil
}

func (s *Server) deleteWebhookEndpoint(r *http.Request, p *params) (writeFunc, error) {
	id := r.PathValue("id")
	return func(ctx context.Context, tx *store.Tx, scope pay.Scope) (any, error) {
		if err := tx.DeleteWebhookEndpoint(ctx, scope, id); err != nil {
			return nil, pay.NotFoundAs(err, "webhook_endpoint", id, "id")
		}
		return pay.DeletedObject{ID: id, Object: "webhook_endpoint", Deleted: true}, nil
	}, nil
}

// rollWebhookSecret gives an endpoint a new signing secret, returned once.
// The old one keeps signing beside it for expires_in seconds (default 24
// hours, at most 7 days; 0 ends it at once), so receivers can switch without
// rejecting deliveries.
func (s *Server) rollWebhookSecret(r *http.Request, p *params) (writeFunc, error) {
	id := r.PathValue("id")
	overlap := int64(defaultSecretOverlap)
	if n, ok := p.Int64("expires_in"); ok {
		if n < 0 || n > maxSecretOverlap {
			p.Fail("expires_in", "parameter_invalid_integer", "expires_in must be between 0 and 604800 seconds (7 days).")
		}
		overlap = n
	}
	return func(ctx context.Context, tx *store.Tx, scope pay.Scope) (any, error) {
		ep, err := tx.FindWebhookEndpoint(ctx, scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "webhook_endpoint", id, "id")
		}
		signing := newWebhookSecret()
		if err := tx.RollWebhookSecret(ctx, scope, id, signing, tx.Now.Unix()+overlap); err != nil {
			return nil, err
		}
		v := pay.WebhookEndpointView(ep)
		v.Secret = signing
		return v, nil
	}, nil
}

func (s *Server) listWebhookEndpoints(r *http.Request, p *params) (readFunc, error) {
	page := readPage(p)
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		l, err := s.db.FindWebhookEndpoints(ctx, scope, page)
		if err != nil {
			return nil, err
		}
		return newList("webhook_endpoint", "/v1/webhook_endpoints", l, func(ep *pay.WebhookEndpoint) any { return pay.WebhookEndpointView(ep) }), nil
	}, nil
}

// listDeliveryAttempts lists an event's delivery attempts, newest first
// (filter: webhook_endpoint).
func (s *Server) listDeliveryAttempts(r *http.Request, p *params) (readFunc, error) {
	id := r.PathValue("id")
	page := readPage(p)
	endpoint, _ := p.String("webhook_endpoint")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		if _, err := s.db.FindEvent(ctx, scope, id); err != nil {
			return nil, pay.NotFoundAs(err, "event", id, "id")
		}
		l, err := s.db.FindDeliveryAttempts(ctx, scope, id, endpoint, page)
		if err != nil {
			return nil, err
		}
		return newList("webhook_delivery_attempt", "/v1/events/"+id+"/delivery_attempts", l, pay.DeliveryAttemptView), nil
	}, nil
}

// retryEvent queues an event for delivery again, now: to one endpoint
// (webhook_endpoint), or to every enabled endpoint subscribed to its type.
// It answers with the event.
func (s *Server) retryEvent(r *http.Request, p *params) (writeFunc, error) {
	id := r.PathValue("id")
	endpoint, _ := p.String("webhook_endpoint")
	return func(ctx context.Context, tx *store.Tx, scope pay.Scope) (any, error) {
		e, err := s.payments.RetryEvent(ctx, tx, scope, id, endpoint)
		if err != nil {
			return nil, err
		}
		return e.View(), nil
	}, nil
}
