package form

import "fmt"

// Reader reads typed parameters out of a Values tree, records the first
// error, and tracks which parameters were consumed so that Err can reject
// unknown ones. Once an error is recorded, later reads still return what
// they can and still mark parameters consumed, but record nothing more.
// Child readers from Sub and Slice share their parent's error and name
// their parameters Stripe-style (address[line1]). A Reader is not safe for
// concurrent use.
type Reader struct {
	path  string               // Stripe-style name of this object; "" at the top
	vals  map[string]any       // the object being read
	used  map[string]bool      // parameters consumed whole
	kids  map[string][]*Reader // parameters descended into by Sub or Slice
	state *readerState         // shared by a reader and all its children
}

// readerState is the part of a Reader shared with its children.
type readerState struct {
	err *Error
}

// NewReader returns a Reader over v.
func NewReader(v Values) *Reader {
	return newReader("", v, &readerState{})
}

func newReader(path string, vals map[string]any, state *readerState) *Reader {
	return &Reader{
		path:  path,
		vals:  vals,
		used:  map[string]bool{},
		kids:  map[string][]*Reader{},
		state: state,
	}
}

// Param returns the Stripe-style name of the parameter name read through
// r, such as "line_items[0][price_data][unit_amount]", for callers that
// report their own validation errors.
func (r *Reader) Param(name string) string {
	return childParam(r.path, name)
}

// Path returns the Stripe-style name of the object r reads, such as
// "items[0]"; "" at the top.
func (r *Reader) Path() string { return r.path }

// Has reports whether name was sent, without consuming it.
func (r *Reader) Has(name string) bool {
	_, ok := r.vals[name]
	return ok
}

// Unset reports whether name was sent as the empty string, Stripe's way of
// unsetting a field ("trial_end=", "address=", JSON null), and if so
// consumes it. Call it before a typed read for parameters that may be
// unset: the typed reads other than String, OptString and Map reject an
// empty string with CodeInvalidEmpty.
func (r *Reader) Unset(name string) bool {
	s, ok := r.vals[name].(string)
	if !ok || s != "" {
		return false
	}
	r.used[name] = true
	return true
}

// Ignore marks names as consumed without reading them, for parameters
// handled elsewhere such as expand.
func (r *Reader) Ignore(names ...string) {
	for _, name := range names {
		r.used[name] = true
	}
}

// Missing records a CodeMissing error for name ("Missing required param:
// name.").
func (r *Reader) Missing(name string) {
	r.fail(errMissing(r.Param(name)))
}

// Fail records an error with the given code about name, for validation the
// caller does itself (ranges, enums). The message must not contain the
// parameter's value.
func (r *Reader) Fail(name, code, message string) {
	r.fail(&Error{Code: code, Param: clip(r.Param(name)), Message: message})
}

// fail records e unless an error is already recorded.
func (r *Reader) fail(e *Error) {
	if r.state.err == nil {
		r.state.err = e
	}
}

// Err returns the first recorded error; otherwise, the first parameter in
// r's subtree that was neither read nor ignored, as a CodeUnknown error
// ("Received unknown parameter: address[lin1]"). Keys are visited in sorted
// order and array elements in index order, so the choice is deterministic.
// It returns nil when every parameter was consumed without error.
func (r *Reader) Err() error {
	if r.state.err != nil {
		return r.state.err
	}
	if e := r.unknown(); e != nil {
		return e
	}
	return nil
}

// unknown returns the first unconsumed parameter in r's subtree, or nil.
func (r *Reader) unknown() *Error {
	for _, k := range sortedKeys(r.vals) {
		if r.used[k] {
			continue
		}
		kids, ok := r.kids[k]
		if !ok {
			return errUnknown(r.Param(k))
		}
		for _, kid := range kids {
			if e := kid.unknown(); e != nil {
				return e
			}
		}
	}
	return nil
}

// Sub returns a Reader for the object parameter name (address, card,
// invoice_settings) and whether it was sent. Unknown parameters inside it
// are reported by Err as name[key]. A string or array records
// CodeInvalidObject, and an empty string records CodeInvalidEmpty; use
// Unset first if the object may be unset. When name is absent or invalid
// the returned Reader is empty, never nil.
func (r *Reader) Sub(name string) (*Reader, bool) {
	v, ok := r.vals[name]
	if !ok {
		return newReader(r.Param(name), nil, r.state), false
	}
	m, isObject := v.(map[string]any)
	if !isObject {
		r.used[name] = true
		r.fail(shapeError(v, r.Param(name), errInvalidObject))
		return newReader(r.Param(name), nil, r.state), false
	}
	if kids := r.kids[name]; len(kids) == 1 {
		return kids[0], true // read again: keep one consumption record
	}
	kid := newReader(r.Param(name), m, r.state)
	r.kids[name] = []*Reader{kid}
	return kid, true
}

// Slice returns one Reader per element of the array-of-objects parameter
// name (line_items, items) and whether it was sent. Elements come in index
// order and are named as sent: name[5] for a form key line_items[5], name[i]
// for the i-th element of a JSON array or of "[]" appends. An element that
// is not an object records CodeInvalidObject, a string or object where the
// array belongs records CodeInvalidArray, an index above MaxIndex records
// CodeLimit, and an empty string records CodeInvalidEmpty; use Unset first
// if the array may be cleared.
func (r *Reader) Slice(name string) ([]*Reader, bool) {
	if kids, ok := r.kids[name]; ok {
		return kids, true
	}
	keys, arr, ok := r.array(name)
	if !ok {
		return nil, false
	}
	kids := make([]*Reader, len(arr))
	for i, e := range arr {
		m, isObject := e.(map[string]any)
		if !isObject {
			r.used[name] = true
			r.fail(shapeError(e, r.Param(name)+"["+keys[i]+"]", errInvalidObject))
			return nil, false
		}
		kids[i] = newReader(r.Param(name)+"["+keys[i]+"]", m, r.state)
	}
	r.kids[name] = kids
	return kids, true
}

// array returns the elements of the array parameter name with the keys
// that name them (see elements), or records why name is not an array. ok is
// false when name was not sent or is not a valid array.
func (r *Reader) array(name string) (keys []string, arr []any, ok bool) {
	v, sent := r.vals[name]
	if !sent {
		return nil, nil, false
	}
	keys, arr, bad, isArray := elements(v)
	switch {
	case !isArray:
		r.fail(shapeError(v, r.Param(name), errInvalidArray))
	case bad != "":
		r.fail(errLimit(r.Param(name)+"["+bad+"]", fmt.Sprintf("an array index above %d", MaxIndex)))
	default:
		return keys, arr, true
	}
	r.used[name] = true
	return nil, nil, false
}

// shapeError returns CodeInvalidEmpty when v is the empty string and
// wrong(param) otherwise.
func shapeError(v any, param string, wrong func(string) *Error) *Error {
	if s, ok := v.(string); ok && s == "" {
		return errInvalidEmpty(param)
	}
	return wrong(param)
}
