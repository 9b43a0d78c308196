package payments

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// Emit writes an event in the caller's transaction, so it exists if and only
// if the change does. obj is the object's view (pay.View). Only the
// operations (payments, billing) emit events.
func Emit(ctx context.Context, tx *store.Tx, scope pay.Scope, typ pay.EventType, objectID string, obj any, previous map[string]any) error {
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

// EmitUpdate writes an *.updated event whose previous_attributes hold the
// old values of the top-level fields that changed. No change, no event.
func EmitUpdate(ctx context.Context, tx *store.Tx, scope pay.Scope, typ pay.EventType, objectID string, before, after any) error {
	old, err := pay.ToMap(before)
	if err != nil {
		return err
	}
	cur, err := pay.ToMap(after)
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
	return Emit(ctx, tx, scope, typ, objectID, after, prev)
}
