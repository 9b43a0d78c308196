package payments

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/safeurl"
	"github.com/calmony/calmonypay/internal/store"
)

// Webhook endpoints: the writes /v1/webhook_endpoints and the dashboard
// both make. They emit no events and move no money; each runs in the
// caller's transaction (Service.Write for the API).

// MaxWebhookEndpoints is how many endpoints one project may have per mode,
// Stripe's limit. Each event is queued once per subscribed endpoint.
const MaxWebhookEndpoints = 16

// NewWebhookSecret returns a signing secret: whsec_ and 32 base62
// characters (about 190 bits).
func NewWebhookSecret() string { return pay.WebhookSecretPrefix + pay.RandomString(32) }

// CheckWebhookURL refuses a URL webhooks may not be sent to: anything but a
// public https URL, unless allowPrivate lets private and loopback hosts in
// (test mode, for development).
func CheckWebhookURL(raw string, allowPrivate bool) *pay.Error {
	if _, err := safeurl.Check(raw, safeurl.Options{AllowPrivate: allowPrivate}); err != nil {
		var se *safeurl.Error
		reason := err.Error()
		if errors.As(err, &se) {
			reason = se.Reason
		}
		return pay.InvalidRequest("url_invalid", "url", "Invalid URL: %s", reason)
	}
	return nil
}

// CheckEnabledEvents checks event types against the known list, naming the
// first bad one as enabled_events[i], and returns them without repeats.
func CheckEnabledEvents(events []string) ([]string, *pay.Error) {
	if len(events) == 0 {
		return nil, pay.InvalidRequest("parameter_missing", "enabled_events", "enabled_events must list at least one event type, or '*' for all.")
	}
	if len(events) > 100 {
		return nil, pay.InvalidParam("enabled_events", "enabled_events may list at most 100 event types.")
	}
	out := make([]string, 0, len(events))
	for i, t := range events {
		if _, known := pay.ParseEventType(t); t != pay.WebhookAllEvents && !known {
			return nil, pay.InvalidParam("enabled_events["+strconv.Itoa(i)+"]",
				"Invalid event type '%s': it must be '*' or a known event type such as customer.created.", pay.Clip(t, 100))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// WebhookEndpointChange is a create or an update of an endpoint, its URL
// and events already checked (CheckWebhookURL, CheckEnabledEvents): nil
// fields are left as they are.
type WebhookEndpointChange struct {
	URL, Description *string
	EnabledEvents    []string
	Disabled         *bool // update only
	Metadata         pay.MetadataUpdate
	APIVersion       string // create only
}

// CreateWebhookEndpoint makes an endpoint of the scope, in tx, and returns
// it with its signing secret, which is shown once.
func (s *Service) CreateWebhookEndpoint(ctx context.Context, tx *store.Tx, scope pay.Scope, ch WebhookEndpointChange) (*pay.WebhookEndpoint, string, error) {
	if ch.URL == nil {
		return nil, "", pay.MissingParam("url")
	}
	if ch.EnabledEvents == nil {
		return nil, "", pay.MissingParam("enabled_events")
	}
	n, err := tx.CountWebhookEndpoints(ctx, scope)
	if err != nil {
		return nil, "", err
	}
	if n >= MaxWebhookEndpoints {
		return nil, "", pay.InvalidRequest("webhook_endpoint_limit", "", "You may have at most %d webhook endpoints in each mode; delete one first.", MaxWebhookEndpoints)
	}
	ep := &pay.WebhookEndpoint{Scope: scope, URL: *ch.URL, EnabledEvents: ch.EnabledEvents, APIVersion: ch.APIVersion, Status: pay.WebhookEnabled}
	if ch.Description != nil {
		ep.Description = *ch.Description
	}
	ep.Metadata = ch.Metadata.Apply(nil)
	if err := pay.CheckMetadata(ep.Metadata); err != nil {
		return nil, "", err
	}
	signing := NewWebhookSecret()
	if err := tx.CreateWebhookEndpoint(ctx, ep, signing); err != nil {
		return nil, "", err
	}
	return ep, signing, nil
}

// UpdateWebhookEndpoint changes an endpoint of the scope, in tx. Enabling
// a disabled endpoint starts afresh: the failures that may have disabled it
// are forgotten.
func (s *Service) UpdateWebhookEndpoint(ctx context.Context, tx *store.Tx, scope pay.Scope, id string, ch WebhookEndpointChange) (*pay.WebhookEndpoint, error) {
	ep, err := tx.FindWebhookEndpoint(ctx, scope, id)
	if err != nil {
		return nil, pay.NotFoundAs(err, "webhook_endpoint", id, "id")
	}
	if ch.URL != nil {
		ep.URL = *ch.URL
	}
	if ch.EnabledEvents != nil {
		ep.EnabledEvents = ch.EnabledEvents
	}
	if ch.Description != nil {
		ep.Description = *ch.Description
	}
	ep.Metadata = ch.Metadata.Apply(ep.Metadata)
	if err := pay.CheckMetadata(ep.Metadata); err != nil {
		return nil, err
	}
	switch {
	case ch.Disabled == nil:
	case *ch.Disabled && ep.Status == pay.WebhookEnabled:
		ep.Status, ep.DisabledReason, ep.DisabledAt = pay.WebhookDisabled, pay.DisabledManual, tx.Now.Unix()
	case !*ch.Disabled:
		ep.Status, ep.DisabledReason, ep.DisabledAt, ep.FailingSince = pay.WebhookEnabled, "", 0, 0
	}
	if err := tx.UpdateWebhookEndpoint(ctx, ep); err != nil {
		return nil, err
	}
	return ep, nil
}

// DeleteWebhookEndpoint deletes an endpoint of the scope, in tx; its
// pending deliveries are dropped.
func (s *Service) DeleteWebhookEndpoint(ctx context.Context, tx *store.Tx, scope pay.Scope, id string) error {
	return pay.NotFoundAs(tx.DeleteWebhookEndpoint(ctx, scope, id), "webhook_endpoint", id, "id")
}
