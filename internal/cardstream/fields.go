package cardstream

import (
	"log/slog"
	"slices"
	"strings"
)

// Field is one name/value pair of a gateway message. Nested records are
// flattened PHP style: the name of a sub-field is "root[key][subkey]".
type Field struct {
	Name  string
	Value string
}

// Fields is an ordered list of gateway fields. Order matters: the signature
// sorts only top-level names and keeps the order of nested sub-fields, so
// requests and responses are never held in maps. Names are expected to be
// unique; Set keeps them so.
type Fields []Field

// Root returns the top-level name of a field name: the text before the
// first '['.
func Root(name string) string {
	if i := strings.IndexByte(name, '['); i >= 0 {
		return name[:i]
	}
	return name
}

// Get returns the value of the first field called name, or "" if absent.
func (f Fields) Get(name string) string {
	v, _ := f.Lookup(name)
	return v
}

// Lookup returns the value of the first field called name and whether it
// was present.
func (f Fields) Lookup(name string) (string, bool) {
	for _, fl := range f {
		if fl.Name == name {
			return fl.Value, true
		}
	}
	return "", false
}

// Has reports whether a field called name is present.
func (f Fields) Has(name string) bool {
	_, ok := f.Lookup(name)
	return ok
}

// Set replaces the value of the field called name in place, or appends the
// field if it is absent. Later duplicates of name are removed.
func (f *Fields) Set(name, value string) {
	for i := range *f {
		if (*f)[i].Name == name {
			(*f)[i].Value = value
			f.dropDuplicates(i)
			return
		}
	}
	*f = append(*f, Field{Name: name, Value: value})
}

// dropDuplicates removes, in place, the fields after index i that have the
// same name as f[i]. It writes nothing when there are none (the usual case).
func (f *Fields) dropDuplicates(i int) {
	s, name := *f, (*f)[i].Name
	for j := i + 1; j < len(s); j++ {
		if s[j].Name != name {
			continue
		}
		out := s[:j]
		for _, fl := range s[j+1:] {
			if fl.Name != name {
				out = append(out, fl)
			}
		}
		*f = out
		return
	}
}

// SetNonEmpty calls Set only when value is not empty. It keeps optional
// request fields out of the message.
func (f *Fields) SetNonEmpty(name, value string) {
	if value != "" {
		f.Set(name, value)
	}
}

// Del removes every field called name.
func (f *Fields) Del(name string) {
	*f = f.without(name)
}

// DelRoot removes every field whose root name is root, including nested
// sub-fields such as root[key].
func (f *Fields) DelRoot(root string) {
	out := (*f)[:0]
	for _, fl := range *f {
		if Root(fl.Name) != root {
			out = append(out, fl)
		}
	}
	*f = out
}

// without returns a copy of f minus the fields called name.
func (f Fields) without(name string) Fields {
	out := make(Fields, 0, len(f))
	for _, fl := range f {
		if fl.Name != name {
			out = append(out, fl)
		}
	}
	return out
}

// Clone returns an independent copy of f.
func (f Fields) Clone() Fields {
	if f == nil {
		return nil
	}
	return append(Fields(nil), f...)
}

// Sub returns the sub-fields of the record root, with the "root[" prefix and
// the matching "]" removed from each name: "threeDSRequest[creq]" gives
// "creq". Deeper levels keep their brackets: "a[b][c]" gives "b[c]".
func (f Fields) Sub(root string) Fields {
	var out Fields
	prefix := root + "["
	for _, fl := range f {
		rest, ok := strings.CutPrefix(fl.Name, prefix)
		if !ok {
			continue
		}
		key, tail, ok := strings.Cut(rest, "]")
		if !ok {
			continue
		}
		out = append(out, Field{Name: key + tail, Value: fl.Value})
	}
	return out
}

// Encode returns the form-urlencoded body for f in its own order, encoding
// names and values exactly like PHP urlencode. Line endings are sent as they
// are; only the signature's canonical string normalises them.
func (f Fields) Encode() string {
	return string(f.AppendEncode(nil))
}

// AppendEncode appends the body Encode returns to b, growing b at most
// once.
func (f Fields) AppendEncode(b []byte) []byte {
	return f.appendEncoded(slices.Grow(b, f.encodedLen()))
}

// encodedLen returns len(f.Encode()).
func (f Fields) encodedLen() int {
	n := max(len(f)-1, 0) // the '&' separators
	for _, fl := range f {
		n += encodedLen(fl.Name) + 1 + encodedLen(fl.Value)
	}
	return n
}

// appendEncoded appends f.Encode() to b, which should have room for it.
func (f Fields) appendEncoded(b []byte) []byte {
	for i, fl := range f {
		if i > 0 {
			b = append(b, '&')
		}
		b = appendURLEncoded(b, fl.Name)
		b = append(b, '=')
		b = appendURLEncoded(b, fl.Value)
	}
	return b
}

// sensitive reports whether a field must never be printed or logged.
func sensitive(name string) bool {
	switch Root(name) {
	case "cardNumber", "cardCVV", "merchantPwd", "cardToken":
		return true
	}
	return false
}

// Redacted returns a copy of f with card numbers, CVVs and passwords
// replaced by "[REDACTED]".
func (f Fields) Redacted() Fields {
	out := f.Clone()
	for i := range out {
		if sensitive(out[i].Name) {
			out[i].Value = "[REDACTED]"
		}
	}
	return out
}

// String formats f as "name=value" pairs with sensitive values redacted.
func (f Fields) String() string {
	var b strings.Builder
	for i, fl := range f.Redacted() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(fl.Name)
		b.WriteByte('=')
		b.WriteString(fl.Value)
	}
	return b.String()
}

// LogValue implements slog.LogValuer; sensitive values are redacted.
func (f Fields) LogValue() slog.Value {
	red := f.Redacted()
	attrs := make([]slog.Attr, len(red))
	for i, fl := range red {
		attrs[i] = slog.String(fl.Name, fl.Value)
	}
	return slog.GroupValue(attrs...)
}
