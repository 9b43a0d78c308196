package payments

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// Emit writes an event in the caller's transaction, so it exists if and only
// if the change does. obj is the object's view (pay.View), or that view
// encoded by json.Marshal (a json.RawMessage), so that a caller emitting
// several events of one view encodes it once. Only the operations
// (payments, billing) emit events.
func Emit(ctx context.Context, tx *store.Tx, scope pay.Scope, typ pay.EventType, objectID string, obj any, previous map[string]any) error {
	raw, err := EncodeView(obj)
	if err != nil {
		return err
	}
	var prev []byte
	if len(previous) > 0 {
		if prev, err = json.Marshal(previous); err != nil {
			return err
		}
	}
	return emit(ctx, tx, scope, typ, objectID, raw, prev)
}

// EncodeView returns a view's JSON, as Emit and EmitUpdate take it: the view
// itself if it is a json.RawMessage already.
func EncodeView(view any) (json.RawMessage, error) {
	if raw, ok := view.(json.RawMessage); ok {
		return raw, nil
	}
	return json.Marshal(view)
}

// emit writes an event whose data is the object obj and, for an update,
// previous, the JSON object of the old values of the fields that changed:
// {"object": obj, "previous_attributes": previous}, as json.Marshal writes
// a struct of the two, without encoding obj again.
func emit(ctx context.Context, tx *store.Tx, scope pay.Scope, typ pay.EventType, objectID string, obj, previous []byte) error {
	data := make([]byte, 0, len(obj)+len(previous)+len(`{"object":,"previous_attributes":}`))
	data = append(data, `{"object":`...)
	data = append(data, obj...)
	if len(previous) > 0 {
		data = append(data, `,"previous_attributes":`...)
		data = append(data, previous...)
	}
	data = append(data, '}')
	return tx.CreateEvent(ctx, &pay.Event{Scope: scope, Type: typ.String(), ObjectID: objectID, Data: data,
		RequestID: pay.RequestIDFromContext(ctx), IdempotencyKey: pay.IdempotencyKeyFromContext(ctx)})
}

// EmitUpdate writes an *.updated event whose previous_attributes hold the
// old values of the top-level fields that changed. No change, no event.
// before and after are views, or views encoded (see Emit).
func EmitUpdate(ctx context.Context, tx *store.Tx, scope pay.Scope, typ pay.EventType, objectID string, before, after any) error {
	if _, raw := after.(json.RawMessage); !raw && reflect.DeepEqual(before, after) {
		return nil // equal views encode alike: no change, without encoding them
	}
	old, err := EncodeView(before)
	if err != nil {
		return err
	}
	cur, err := EncodeView(after)
	if err != nil {
		return err
	}
	if bytes.Equal(old, cur) {
		return nil
	}
	prev, err := changedFields(old, cur)
	if err != nil || prev == nil {
		return err
	}
	return emit(ctx, tx, scope, typ, objectID, cur, prev)
}

// changedFields returns, as a JSON object, the top-level fields of the JSON
// object old whose values differ in cur (a field cur lacks is null there),
// with their old values; nil if none does. Views are encoded by
// encoding/json, which writes equal values alike, so the encodings compare.
func changedFields(old, cur []byte) ([]byte, error) {
	o, okOld := topFields(old)
	c, okCur := topFields(cur)
	if !okOld || !okCur {
		return changedFieldsDecoded(old, cur)
	}
	var prev []byte
	for i, f := range o {
		// The views of one type list their fields in one order: look at
		// the same place first.
		w := []byte("null")
		if i < len(c) && bytes.Equal(c[i].key, f.key) {
			w = c[i].value
		} else {
			for _, g := range c {
				if bytes.Equal(g.key, f.key) {
					w = g.value
					break
				}
			}
		}
		if bytes.Equal(f.value, w) {
			continue
		}
		if prev == nil {
			prev = append(prev, '{')
		} else {
			prev = append(prev, ',')
		}
		prev = append(prev, f.key...)
		prev = append(prev, ':')
		prev = append(prev, f.value...)
	}
	if prev == nil {
		return nil, nil
	}
	return append(prev, '}'), nil
}

// changedFieldsDecoded is changedFields by way of encoding/json, for input
// that topFields does not take.
func changedFieldsDecoded(old, cur []byte) ([]byte, error) {
	var o, c map[string]json.RawMessage
	if err := json.Unmarshal(old, &o); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(cur, &c); err != nil {
		return nil, err
	}
	prev := map[string]json.RawMessage{}
	for k, v := range o {
		w, ok := c[k]
		if !ok {
			w = json.RawMessage("null")
		}
		if !bytes.Equal(v, w) {
			prev[k] = v
		}
	}
	if len(prev) == 0 {
		return nil, nil
	}
	return json.Marshal(prev)
}

// field is a top-level field of a JSON object: its key, quoted, and its
// value, both as written.
type field struct{ key, value []byte }

// topFields splits a JSON object as json.Marshal writes it (no white
// space) into its top-level fields, without decoding their values. It
// reports false for anything else, which changedFields then decodes.
func topFields(b []byte) ([]field, bool) {
	if len(b) < 2 || b[0] != '{' {
		return nil, false
	}
	fields := make([]field, 0, 64)
	i := 1
	if b[i] == '}' {
		return fields, i == len(b)-1
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return nil, false
		}
		k := skipValue(b, i)
		if k < 0 || k >= len(b) || b[k] != ':' {
			return nil, false
		}
		v := skipValue(b, k+1)
		if v < 0 || v >= len(b) {
			return nil, false
		}
		fields = append(fields, field{key: b[i:k], value: b[k+1 : v]})
		switch b[v] {
		case ',':
			i = v + 1
		case '}':
			return fields, v == len(b)-1
		default:
			return nil, false
		}
	}
}

// skipValue returns the index just after the JSON value that starts at
// b[i], or -1 if there is none.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return -1
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end := skipValue(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	// A number, true, false or null: up to the next delimiter.
	for j := i; j < len(b); j++ {
		switch b[j] {
		case ',', '}', ']', ':', '"', '{', '[', ' ':
			if j == i {
				return -1
			}
			return j
		}
	}
	return -1
}
