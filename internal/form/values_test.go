package form

import (
	"bytes"
	"testing"
)

func TestCanonicalIgnoresFieldOrder(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ a, b string }{
		{"a=1&b=2", "b=2&a=1"},
		{"metadata[x]=1&metadata[y]=2&amount=5", "amount=5&metadata[y]=2&metadata[x]=1"},
		{"items[0][price]=p&items[0][quantity]=1", "items[0][quantity]=1&items[0][price]=p"},
		{"items[1]=b&items[0]=a", "items[0]=a&items[1]=b"},
		{"expand[]=a&expand[]=b", "expand[0]=a&expand[1]=b"},
		{"metadata%5Bk%5D=v", "metadata[k]=v"},
		{"a=1&a=2", "a=2"},
	} {
		ca, cb := mustParse(t, tt.a).Canonical(), mustParse(t, tt.b).Canonical()
		if !bytes.Equal(ca, cb) {
			t.Errorf("Canonical(%q) = %s, Canonical(%q) = %s, want equal", tt.a, ca, tt.b, cb)
		}
	}
}

func TestCanonicalDistinguishesValues(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ a, b string }{
		{"a=1", "a=2"},
		{"a=1", "b=1"},
		{"expand[]=a&expand[]=b", "expand[]=b&expand[]=a"},
		{"a=", "b="},
		{"a[]=1", "a=1"},
		{"a[x]=1", "a[]=1"},
		{"a[0]=", "a[0][0]="},
		{"a[b]=c&d=e", "a[b]=c%22,%22d%22:%22e"},
		{"a=%22", "a=%5C%22"},
		{"metadata=", "metadata[k]="},
	} {
		ca, cb := mustParse(t, tt.a).Canonical(), mustParse(t, tt.b).Canonical()
		if bytes.Equal(ca, cb) {
			t.Errorf("Canonical(%q) = Canonical(%q) = %s, want different", tt.a, tt.b, ca)
		}
	}
}

func TestCanonicalFormat(t *testing.T) {
	t.Parallel()
	v := Values{"b": []any{"x", map[string]any{"k": "v"}}, "a": "q\"", "c": map[string]any{}}
	want := `{"a":"q\"","b":["x",{"k":"v"}],"c":{}}`
	if got := string(v.Canonical()); got != want {
		t.Errorf("Canonical() = %s, want %s", got, want)
	}
	if got := string(Values(nil).Canonical()); got != "{}" {
		t.Errorf("Values(nil).Canonical() = %s, want {}", got)
	}
	odd := Values{"n": 5}
	if got, s := string(odd.Canonical()), string(Values{"n": "5"}.Canonical()); got == s {
		t.Errorf("Canonical of a non-string leaf = %s, want it distinct from the string", got)
	}
}

func TestEncode(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		v    Values
		want string
	}{
		{Values{}, ""},
		{Values{"b": "2", "a": "x y&z"}, "a=x+y%26z&b=2"},
		{Values{"expand": []any{"a", "b"}, "metadata": map[string]any{"k": "", "j": "€"}},
			"expand[0]=a&expand[1]=b&metadata[j]=%E2%82%AC&metadata[k]="},
		{Values{"items": []any{map[string]any{"price": "p", "quantity": "2"}}},
			"items[0][price]=p&items[0][quantity]=2"},
		{Values{"odd key": map[string]any{"a=b": "1"}}, "odd+key[a%3Db]=1"},
		{Values{"empty": map[string]any{}, "none": []any{}, "x": "1"}, "x=1"},
	} {
		got := Encode(tt.v)
		if got != tt.want {
			t.Errorf("Encode(%v) = %q, want %q", tt.v, got, tt.want)
		}
		if back := mustParse(t, got); len(tt.v) == len(back) && !bytes.Equal(back.Canonical(), tt.v.Canonical()) {
			t.Errorf("ParseQuery(Encode(%v)) = %v, want the input", tt.v, back)
		}
	}
}
