package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// emit writes an event in the caller's transaction, so it exists if and only
// if the change does.
func (s *Server) emit(ctx context.Context, tx *store.Tx, scope pay.Scope, typ pay.EventType, objectID string, obj any, previous map[string]any) error {
	raw, err := json.Marshal(eventData{Object: obj, PreviousAttributes: previous})
	if err != nil {
		return err
	}
	return tx.CreateEvent(ctx, &pay.Event{Scope: scope, Type: typ.String(), ObjectID: objectID, Data: raw,
		RequestID: pay.RequestIDFromContext(ctx), IdempotencyKey: pay.IdempotencyKeyFromContext(ctx)})
}

// eventData is an event's data: the object, and for an update the old
// values of the fields that changed.
type eventData struct {
	Object             any            `json:"object"`
	PreviousAttributes map[string]any `json:"previous_attributes,omitempty"`
}

// emitUpdate writes an *.updated event whose previous_attributes hold the
// old values of the top-level fields that changed. No change, no event.
func (s *Server) emitUpdate(ctx context.Context, tx *store.Tx, scope pay.Scope, typ pay.EventType, objectID string, before, after any) error {
	old, err := toMap(before)
	if err != nil {
		return err
	}
	cur, err := toMap(after)
	if err != nil {
		return err
	}
	prev := map[string]any{}
	for k, v := range old {
		a, _ := json.Marshal(v)
		b, _ := json.Marshal(cur[k])
		if !bytes.Equal(a, b) {
			prev[k] = v
		}
	}
	if len(prev) == 0 {
		return nil
	}
	return s.emit(ctx, tx, scope, typ, objectID, after, prev)
}

// eventView is Stripe's event object, the same one webhooks deliver.
func eventView(e *pay.Event) any { return e.View() }

func (s *Server) retrieveEvent(r *http.Request, p *params) (readFunc, error) {
	id := r.PathValue("id")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		e, err := s.db.FindEvent(ctx, scope, id)
		if err != nil {
			return nil, pay.NotFoundAs(err, "event", id, "id")
		}
		return eventView(e), nil
	}, nil
}

func (s *Server) listEvents(r *http.Request, p *params) (readFunc, error) {
	page := readPage(p)
	var f store.EventFilter
	if t, _ := p.String("type"); t != "" {
		f.Types = []string{t}
	}
	if ts, ok := p.StringSlice("types"); ok {
		if len(ts) > 20 {
			p.Fail("types", "parameter_invalid", "You may pass at most 20 types.")
		}
		if len(f.Types) > 0 {
			p.Fail("types", "parameter_invalid", "You may pass only one of type and types.")
		}
		f.Types = ts
	}
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		l, err := s.db.FindEvents(ctx, scope, f, page)
		if err != nil {
			return nil, err
		}
		return newList("event", "/v1/events", l, eventView), nil
	}, nil
}
