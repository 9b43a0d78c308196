package form

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// checkError fails t unless err is an *Error with the given code and param.
func checkError(tb testing.TB, err error, code, param string) *Error {
	tb.Helper()
	e, ok := errors.AsType[*Error](err)
	if !ok {
		tb.Fatalf("error = %v, want *Error with code %q", err, code)
	}
	if e.Code != code || e.Param != param {
		tb.Errorf("error = {Code: %q, Param: %q, Message: %q}, want code %q, param %q",
			e.Code, e.Param, e.Message, code, param)
	}
	return e
}

func TestParseQuery(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		raw  string
		want Values
	}{
		{"empty", "", Values{}},
		{"scalars", "a=1&b=2", Values{"a": "1", "b": "2"}},
		{"plus and escapes", "description=hello+world%21%20%E2%82%AC", Values{"description": "hello world! €"}},
		{"value containing equals", "a=b=c", Values{"a": "b=c"}},
		{"key without equals", "a", Values{"a": ""}},
		{"empty pairs skipped", "&&a=1&", Values{"a": "1"}},
		{"semicolon is data", "a=1;b=2", Values{"a": "1;b=2"}},
		{"numeric top-level name", "0=x", Values{"0": "x"}},
		{"repeated scalar last wins", "a=1&a=2", Values{"a": "2"}},
		{"map raw brackets", "metadata[order_id]=42", Values{"metadata": map[string]any{"order_id": "42"}}},
		{"map encoded brackets", "metadata%5Border_id%5D=42", Values{"metadata": map[string]any{"order_id": "42"}}},
		{"map lowercase encoded brackets", "metadata%5bk%5d=v", Values{"metadata": map[string]any{"k": "v"}}},
		{"map mixed encoding", "metadata%5Bk]=v&metadata[j%5D=w", Values{"metadata": map[string]any{"k": "v", "j": "w"}}},
		{"map key with space", "metadata[my+key]=v", Values{"metadata": map[string]any{"my key": "v"}}},
		{"leading zero is a map key", "metadata[007]=x", Values{"metadata": map[string]any{"007": "x"}}},
		{
			"indexed array of objects",
			"items[0][price]=p1&items[0][quantity]=2&items[1][price]=p2",
			Values{"items": Indexed{
				"0": map[string]any{"price": "p1", "quantity": "2"},
				"1": map[string]any{"price": "p2"},
			}},
		},
		{"indexed out of order", "a[1]=b&a[0]=a", Values{"a": Indexed{"0": "a", "1": "b"}}},
		{"sparse indexes kept as Indexed", "a[5]=x&a[2]=y&a[900]=z", Values{"a": Indexed{"5": "x", "2": "y", "900": "z"}}},
		{"indexed repeated last wins", "a[0]=x&a[0]=y", Values{"a": Indexed{"0": "y"}}},
		{"encoded index", "expand%5B0%5D=a&expand%5B1%5D=b", Values{"expand": Indexed{"0": "a", "1": "b"}}},
		{"append", "expand[]=a&expand[]=b&expand[]=a", Values{"expand": []any{"a", "b", "a"}}},
		{"encoded append", "expand%5B%5D=a&expand%5B%5D=b", Values{"expand": []any{"a", "b"}}},
		{
			"append objects Rack-style",
			"a[][b]=1&a[][c]=2&a[][b]=3",
			Values{"a": []any{map[string]any{"b": "1", "c": "2"}, map[string]any{"b": "3"}}},
		},
		{"append nested append", "a[][b][]=1&a[][b][]=2", Values{"a": []any{map[string]any{"b": []any{"1", "2"}}}}},
		{"append of appends", "a[][]=1&a[][]=2", Values{"a": []any{[]any{"1"}, []any{"2"}}}},
		{"indexed then append", "a[0][]=x&a[0][]=y", Values{"a": Indexed{"0": []any{"x", "y"}}}},
		{"array of arrays", "a[0][0]=x&a[0][1]=y&a[1][0]=z", Values{"a": Indexed{"0": Indexed{"0": "x", "1": "y"}, "1": Indexed{"0": "z"}}}},
		{
			"deep nesting",
			"line_items[0][price_data][product_data][name]=T-shirt&line_items[0][price_data][unit_amount]=2000",
			Values{"line_items": Indexed{"0": map[string]any{"price_data": map[string]any{
				"product_data": map[string]any{"name": "T-shirt"},
				"unit_amount":  "2000",
			}}}},
		},
		{
			"empty strings kept",
			"description=&metadata[k]=&metadata[j]=v",
			Values{"description": "", "metadata": map[string]any{"k": "", "j": "v"}},
		},
		{"metadata cleared", "metadata=", Values{"metadata": ""}},
		{"max depth", "a" + strings.Repeat("[x]", MaxDepth) + "=1", nest(MaxDepth)},
		{"large index kept as a key", "a[1000]=x", Values{"a": Indexed{"1000": "x"}}},
		{"numeric metadata key", "metadata[123]=x&metadata[0]=y", Values{"metadata": Indexed{"123": "x", "0": "y"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseQuery(tt.raw)
			if err != nil {
				t.Fatalf("ParseQuery(%q) error = %v", tt.raw, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseQuery(%q) = %#v, want %#v", tt.raw, got, tt.want)
			}
		})
	}
}

// nest returns {"a": {"x": {"x": ... "1"}}} with depth levels of "x".
func nest(depth int) Values {
	var v any = "1"
	for range depth {
		v = map[string]any{"x": v}
	}
	return Values{"a": v}
}

func TestParseQueryErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		raw   string
		code  string
		param string
	}{
		{"bad escape in value", "a=1&card[number]=%zz", CodeMalformed, "card[number]"},
		{"truncated escape in value", "a=%4", CodeMalformed, "a"},
		{"bad escape in key", "%zz=1", CodeMalformed, ""},
		{"scalar then object", "a=1&a[b]=2", CodeConflict, "a"},
		{"object then scalar", "a[b]=2&a=1", CodeConflict, "a"},
		{"empty then object", "metadata=&metadata[k]=v", CodeConflict, "metadata"},
		{"index then key", "a[0]=x&a[k]=y", CodeConflict, "a"},
		{"key then index", "a[k]=y&a[0]=x", CodeConflict, "a"},
		{"append then index", "a[]=x&a[0]=y", CodeConflict, "a"},
		{"index then append", "a[0]=x&a[]=y", CodeConflict, "a"},
		{"nested scalar then object", "a[b]=1&a[b][c]=2", CodeConflict, "a[b]"},
		{"nested in append", "a[][b]=1&a[][b][c]=2", CodeConflict, "a[][b]"},
		{"deep conflict", "x[0][y][z]=1&x[0][y]=2", CodeConflict, "x[0][y]"},
		{"no name", "[a]=1", CodeMalformed, "[a]"},
		{"empty name", "=1", CodeMalformed, ""},
		{"close bracket in name", "a]=1", CodeMalformed, "a]"},
		{"unclosed bracket", "a[b=1", CodeMalformed, "a[b"},
		{"trailing text", "a[b]c=1", CodeMalformed, "a[b]c"},
		{"nested bracket", "a[b[c]]=1", CodeMalformed, "a[b[c]]"},
		{"too deep", "a" + strings.Repeat("[x]", MaxDepth+1) + "=1", CodeLimit, "a" + strings.Repeat("[x]", MaxDepth+1)},
		{"index longer than 40 digits", "a[" + strings.Repeat("9", 41) + "]=x", CodeLimit, "a[" + strings.Repeat("9", 41) + "]"},
		{"append too long", strings.Repeat("a[]=x&", MaxIndex+2), CodeLimit, "a[]"},
		{"too many params", strings.Repeat("a=1&", MaxParams+1), CodeLimit, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseQuery(tt.raw)
			if got != nil {
				t.Errorf("ParseQuery(%.40q) = %v, want nil", tt.raw, got)
			}
			checkError(t, err, tt.code, tt.param)
		})
	}
}

func TestParseQueryClipsLongNames(t *testing.T) {
	t.Parallel()
	key := "a" + strings.Repeat("é", 1000) + "]"
	_, err := ParseQuery(key + "=1")
	e := checkError(t, err, CodeMalformed, clip(key))
	if len(e.Param) > maxNameInError+len("…") || len(e.Message) > 2*maxNameInError {
		t.Errorf("error param/message not clipped: %d/%d bytes", len(e.Param), len(e.Message))
	}
	if !strings.HasSuffix(e.Param, "…") || strings.ContainsRune(e.Param, '\uFFFD') {
		t.Errorf("clipped param %q is not cut on a rune boundary", e.Param)
	}
}

func TestParseQueryMaxParams(t *testing.T) {
	t.Parallel()
	raw := strings.Repeat("a[]=x&", MaxIndex+1) + strings.Repeat("b=1&", MaxParams-MaxIndex-1)
	got, err := ParseQuery(raw)
	if err != nil {
		t.Fatalf("ParseQuery(%d params) error = %v", MaxParams, err)
	}
	if n := len(got["a"].([]any)); n != MaxIndex+1 {
		t.Errorf("len(a) = %d, want %d", n, MaxIndex+1)
	}
}
