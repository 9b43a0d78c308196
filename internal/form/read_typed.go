package form

import "strconv"

// String returns the string parameter name and whether it was sent. An
// empty string is returned as is (present, meaning "unset"). An object or
// array records CodeInvalidString.
func (r *Reader) String(name string) (string, bool) {
	v, ok := r.vals[name]
	if !ok {
		return "", false
	}
	r.used[name] = true
	s, ok := v.(string)
	if !ok {
		r.fail(errInvalidString(r.Param(name)))
		return "", false
	}
	return s, true
}

// OptString returns the string parameter name, or nil if it was not sent.
// A pointer to "" means the caller asked to unset the field.
func (r *Reader) OptString(name string) *string {
	s, ok := r.String(name)
	if !ok {
		return nil
	}
	return &s
}

// RequireString returns the string parameter name, recording CodeMissing
// if it was not sent and CodeInvalidEmpty if it was sent empty.
func (r *Reader) RequireString(name string) string {
	s, ok := r.String(name)
	switch {
	case !ok && !r.Has(name):
		r.Missing(name)
	case ok && s == "":
		r.fail(errInvalidEmpty(r.Param(name)))
	}
	return s
}

// scalar consumes name and returns its non-empty string value. It records
// wrong(param) for an object or array and CodeInvalidEmpty for "".
func (r *Reader) scalar(name string, wrong func(string) *Error) (string, bool) {
	v, ok := r.vals[name]
	if !ok {
		return "", false
	}
	r.used[name] = true
	s, ok := v.(string)
	if !ok {
		r.fail(wrong(r.Param(name)))
		return "", false
	}
	if s == "" {
		r.fail(errInvalidEmpty(r.Param(name)))
		return "", false
	}
	return s, true
}

// Int64 returns the integer parameter name and whether it was sent validly.
// Anything but a base-10 int64 ("1.5", "1e3", "abc") records
// CodeInvalidInteger; an empty string records CodeInvalidEmpty.
func (r *Reader) Int64(name string) (int64, bool) {
	s, ok := r.scalar(name, errInvalidInteger)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		r.fail(errInvalidInteger(r.Param(name)))
		return 0, false
	}
	return n, true
}

// OptInt64 is Int64 returning nil when name was not sent or was invalid.
func (r *Reader) OptInt64(name string) *int64 {
	n, ok := r.Int64(name)
	if !ok {
		return nil
	}
	return &n
}

// RequireInt64 is Int64 that records CodeMissing when name was not sent.
func (r *Reader) RequireInt64(name string) int64 {
	if !r.Has(name) {
		r.Missing(name)
		return 0
	}
	n, _ := r.Int64(name)
	return n
}

// Bool returns the boolean parameter name and whether it was sent validly.
// Only "true" and "false" are accepted; anything else records
// CodeInvalidBoolean and an empty string records CodeInvalidEmpty.
func (r *Reader) Bool(name string) (bool, bool) {
	s, ok := r.scalar(name, errInvalidBoolean)
	if !ok {
		return false, false
	}
	switch s {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	r.fail(errInvalidBoolean(r.Param(name)))
	return false, false
}

// OptBool is Bool returning nil when name was not sent or was invalid.
func (r *Reader) OptBool(name string) *bool {
	b, ok := r.Bool(name)
	if !ok {
		return nil
	}
	return &b
}

// StringSlice returns the array-of-strings parameter name (expand[]=a,
// expand[0]=a, payment_method_types[0]=card) and whether it was sent
// validly. A single string or an object records CodeInvalidArray, an
// element that is not a string records CodeInvalidString naming the
// element as sent, an index above MaxIndex records CodeLimit, and an empty
// string records CodeInvalidEmpty; use Unset first if the array may be
// cleared.
func (r *Reader) StringSlice(name string) ([]string, bool) {
	if !r.Has(name) {
		return nil, false
	}
	r.used[name] = true
	keys, arr, ok := r.array(name)
	if !ok {
		return nil, false
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			r.fail(errInvalidString(r.Param(name) + "[" + keys[i] + "]"))
			return nil, false
		}
		out[i] = s
	}
	return out, true
}

// Map returns the string-to-string parameter name, as used for metadata,
// whether it was sent, and whether it was sent as the empty string
// ("metadata=", JSON null), which clears every key; m is nil then. A key
// sent empty ("metadata[k]=") is returned with an empty value: the caller
// deletes it. Numeric keys sent in a form body (metadata[0]=x) are map keys
// like any other. A string or a real array (metadata[]=x, a JSON array)
// records CodeInvalidObject, and a nested object or array value records
// CodeInvalidString naming the key.
func (r *Reader) Map(name string) (m map[string]string, present, cleared bool) {
	v, ok := r.vals[name]
	if !ok {
		return nil, false, false
	}
	r.used[name] = true
	if s, ok := v.(string); ok && s == "" {
		return nil, true, true
	}
	var obj map[string]any
	switch v := v.(type) {
	case map[string]any:
		obj = v
	case Indexed:
		obj = v
	default:
		r.fail(errInvalidObject(r.Param(name)))
		return nil, false, false
	}
	m = make(map[string]string, len(obj))
	for _, k := range sortedKeys(obj) {
		s, ok := obj[k].(string)
		if !ok {
			r.fail(errInvalidString(r.Param(name) + "[" + k + "]"))
			return nil, false, false
		}
		m[k] = s
	}
	return m, true, false
}
