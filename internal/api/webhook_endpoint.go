package api

import (
	"context"
	"net/http"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// Rolling a secret: how long the old one keeps signing by default, and at most.
const (
	defaultSecretOverlap = 24 * 60 * 60
	maxSecretOverlap     = 7 * 24 * 60 * 60
)

// readWebhookEndpointChange reads the parameters create and update share;
// the URL and event rules are the operations' (the dashboard's too).
func (s *Server) readWebhookEndpointChange(r *http.Request, p *params) payments.WebhookEndpointChange {
	var ch payments.WebhookEndpointChange
	if u := p.OptString("url"); u != nil {
		// Only public https URLs, unless the operator let test mode reach
		// private hosts for development (serve --allow-private-webhook-urls).
		if e := payments.CheckWebhookURL(*u, s.allowPrivateWebhookURLs && !keyFrom(r.Context()).Livemode); e != nil {
			p.Fail(e.Param, e.Code, e.Message)
		}
		ch.URL = u
	}
	if events, ok := p.StringSlice("enabled_events"); ok {
		var e *pay.Error
		if ch.EnabledEvents, e = payments.CheckEnabledEvents(events); e != nil {
			p.Fail(e.Param, e.Code, e.Message)
		}
	}
	ch.Description = readText(p, "description", 5000)
	ch.Metadata = readMetadata(p)
	return ch
}

func (s *Server) createWebhookEndpoint(r *http.Request, p *params) (writeFunc, error) {
	ch := s.readWebhookEndpointChange(r, p)
	if ch.URL == nil {
		p.Missing("url")
	}
	if ch.EnabledEvents == nil && !p.Has("enabled_events") {
		p.Missing("enabled_events")
	}
	version, _ := p.String("api_version")
	if version != "" && !pay.SameAPITrain(version) {
		p.Fail("api_version", "parameter_invalid", "api_version must be on the "+pay.APIVersion+" release train: events are rendered at "+pay.APIVersion+".")
	}
	ch.APIVersion = version
	if connect, ok := p.Bool("connect"); ok && connect {
		p.Fail("connect", "parameter_invalid", "Connect webhook endpoints are not supported.")
	}
	return func(ctx context.Context, tx *store.Tx, scope pay.Scope) (any, error) {
		ep, signing, err := s.payments.CreateWebhookEndpoint(ctx, tx, scope, ch)
		if err != nil {
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
	ch.Disabled = p.OptBool("disabled")
	return func(ctx context.Context, tx *store.Tx, scope pay.Scope) (any, error) {
		ep, err := s.payments.UpdateWebhookEndpoint(ctx, tx, scope, id, ch)
		if err != nil {
			return nil, err
		}
		return pay.WebhookEndpointView(ep), nil
	}, nil
}

func (s *Server) deleteWebhookEndpoint(r *http.Request, p *params) (writeFunc, error) {
	id := r.PathValue("id")
	return func(ctx context.Context, tx *store.Tx, scope pay.Scope) (any, error) {
		if err := s.payments.DeleteWebhookEndpoint(ctx, tx, scope, id); err != nil {
			return nil, err
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
		signing := payments.NewWebhookSecret()
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
