package form

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func FuzzParseQuery(f *testing.F) {
	for _, seed := range []string{
		"",
		"a=1&b=2",
		"metadata[order_id]=42&expand[]=customer&items[0][price]=price_1&items[0][quantity]=2",
		"metadata%5Bk%5D=v+w&description=",
		"line_items[0][price_data][product_data][name]=T-shirt",
		"a[][b]=1&a[][c]=2&a[][b]=3",
		"a[5]=x&a[2]=y",
		"a=1&a[b]=2",
		"a[0]=x&a[k]=y",
		"a=%zz",
		"a[b[c]]=1",
		"metadata=",
		"%5B%5D=1",
		"a[][]=1&a[0]=2",
		"a=%00&b%FF=1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := ParseQuery(raw)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("ParseQuery(%q) error = %T %v, want *Error", raw, err, err)
			}
			return
		}
		canon := v.Canonical()
		if again := v.Canonical(); !bytes.Equal(canon, again) {
			t.Fatalf("Canonical() is not deterministic: %s then %s", canon, again)
		}
		enc := Encode(v)
		back, err := ParseQuery(enc)
		if err != nil {
			t.Fatalf("ParseQuery(Encode(v)) error = %v\nraw %q\nencoded %q", err, raw, enc)
		}
		if c := back.Canonical(); !bytes.Equal(c, canon) {
			t.Fatalf("Canonical() after round trip = %s, want %s", c, canon)
		}
		checkAllText(t, v)
		readAll(t, v)
	})
}

func FuzzParseJSON(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"amount": 2000, "currency": "gbp", "capture": true, "metadata": null}`,
		`{"items": [{"price": "p", "quantity": 2}], "expand": ["customer"]}`,
		`{"a": {"b": {"c": [1, 2.5, -3e2, null, false]}}}`,
		`{"a": "\u00e9\ud800"}`,
		`{"a": "\ud83d\ude00\ufffd", "b\u0000": 1}`,
		`[]`,
		`{"a": 1} x`,
		`{`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseJSON(data)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("ParseJSON(%q) error = %T %v, want *Error", data, err, err)
			}
			return
		}
		canon := v.Canonical()
		if again := v.Canonical(); !bytes.Equal(canon, again) {
			t.Fatalf("Canonical() is not deterministic: %s then %s", canon, again)
		}
		enc, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%#v) error = %v", v, err)
		}
		back, err := ParseJSON(enc)
		if err != nil {
			t.Fatalf("ParseJSON(json.Marshal(v)) error = %v\ninput %q\nencoded %s", err, data, enc)
		}
		if !reflect.DeepEqual(back, v) {
			t.Fatalf("ParseJSON(json.Marshal(v)) = %#v, want %#v", back, v)
		}
		checkAllText(t, v)
		readAll(t, v)
	})
}

// checkAllText fails unless every name and string in x is valid text.
func checkAllText(t *testing.T, x any) {
	t.Helper()
	switch x := x.(type) {
	case string:
		if !validText(x) {
			t.Fatalf("decoded %q, which is not valid text", x)
		}
	case Values:
		checkAllText(t, map[string]any(x))
	case Indexed:
		checkAllText(t, map[string]any(x))
	case map[string]any:
		for k, e := range x {
			checkAllText(t, k)
			checkAllText(t, e)
		}
	case []any:
		for _, e := range x {
			checkAllText(t, e)
		}
	}
}

// readAll reads every top-level parameter of v with the reader method that
// fits its shape, recursing into objects and arrays, and checks that
// nothing is left unknown.
func readAll(t *testing.T, v Values) {
	t.Helper()
	r := NewReader(v)
	readObject(r, v)
	if err := r.Err(); err != nil {
		if e, ok := err.(*Error); !ok || e.Code == CodeUnknown {
			t.Fatalf("Err() after reading everything = %v", err)
		}
	}
}

// readObject reads every key of m through r.
func readObject(r *Reader, m map[string]any) {
	for k, x := range m {
		switch x := x.(type) {
		case string:
			r.OptString(k)
		case map[string]any:
			sub, _ := r.Sub(k)
			readObject(sub, x)
		case []any:
			readArray(r, k, x)
		case Indexed:
			readArray(r, k, x.array())
		}
	}
}

// readArray reads the array a stored under k.
func readArray(r *Reader, k string, a []any) {
	if len(a) > 0 {
		if _, ok := a[0].(map[string]any); ok {
			kids, _ := r.Slice(k)
			for i, kid := range kids {
				readObject(kid, a[i].(map[string]any))
			}
			return
		}
	}
	r.StringSlice(k)
}
