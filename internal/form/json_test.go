package form

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestParseJSON(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		data string
		want Values
	}{
		{"empty object", `{}`, Values{}},
		{"scalars", `{"amount": 2000, "currency": "gbp", "capture": true, "off": false}`,
			Values{"amount": "2000", "currency": "gbp", "capture": "true", "off": "false"}},
		{"numbers keep their text", `{"a": 1.50, "b": 1e3, "c": -0, "d": 12345678901234567890}`,
			Values{"a": "1.50", "b": "1e3", "c": "-0", "d": "12345678901234567890"}},
		{"null is unset", `{"description": null, "metadata": {"k": null}}`,
			Values{"description": "", "metadata": map[string]any{"k": ""}}},
		{"nested", `{"items": [{"price": "p1", "quantity": 2}], "expand": ["customer"]}`,
			Values{"items": []any{map[string]any{"price": "p1", "quantity": "2"}}, "expand": []any{"customer"}}},
		{"empty containers", `{"metadata": {}, "expand": []}`, Values{"metadata": map[string]any{}, "expand": []any{}}},
		{"repeated key last wins", `{"a": "1", "a": "2"}`, Values{"a": "2"}},
		{"bracket keys are literal", `{"metadata[k]": "v"}`, Values{"metadata[k]": "v"}},
		{"surrounding whitespace", " \n{\"a\": \"b\"}\n ", Values{"a": "b"}},
		{"max depth", `{"a":` + strings.Repeat(`{"x":`, MaxDepth) + `"1"` + strings.Repeat("}", MaxDepth) + "}", nest(MaxDepth)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseJSON([]byte(tt.data))
			if err != nil {
				t.Fatalf("ParseJSON(%q) error = %v", tt.data, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseJSON(%q) = %#v, want %#v", tt.data, got, tt.want)
			}
		})
	}
}

func TestParseJSONErrors(t *testing.T) {
	t.Parallel()
	deep := `{"a":` + strings.Repeat(`{"x":`, MaxDepth+1) + `"1"` + strings.Repeat("}", MaxDepth+1) + "}"
	long := `{"a": [` + strings.Repeat(`"x",`, MaxIndex+1) + `"x"]}`
	many := `{"a": [` + strings.Repeat(`[1,1,1,1,1,1,1,1,1],`, MaxParams/10) + `1]}`
	for _, tt := range []struct {
		name  string
		data  string
		code  string
		param string
	}{
		{"empty", ``, CodeMalformed, ""},
		{"syntax", `{"card": {"number": 4242424242424242,}}`, CodeMalformed, ""},
		{"not an object", `["a"]`, CodeMalformed, ""},
		{"string top level", `"a"`, CodeMalformed, ""},
		{"null top level", `null`, CodeMalformed, ""},
		{"trailing data", `{"a": "b"} {"c": "d"}`, CodeMalformed, ""},
		{"trailing garbage", `{"a": "b"}x`, CodeMalformed, ""},
		{"too deep", deep, CodeLimit, "a" + strings.Repeat("[x]", MaxDepth)},
		{"too deep array", `{"a":` + strings.Repeat(`[`, MaxDepth+1) + strings.Repeat("]", MaxDepth+1) + "}", CodeLimit, "a" + strings.Repeat("[0]", MaxDepth)},
		{"array too long", long, CodeLimit, "a"},
		{"too many values", many, CodeLimit, "a[999][8]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseJSON([]byte(tt.data))
			if got != nil {
				t.Errorf("ParseJSON(%.40q) = %v, want nil", tt.data, got)
			}
			e := checkError(t, err, tt.code, tt.param)
			if strings.Contains(e.Message, "4242") {
				t.Errorf("error message %q echoes the body", e.Message)
			}
		})
	}
}

func TestParseJSONMatchesForm(t *testing.T) {
	t.Parallel()
	fromJSON, err := ParseJSON([]byte(`{"amount": 100, "metadata": {"k": "v"}, "expand": ["customer"], "confirm": true}`))
	if err != nil {
		t.Fatal(err)
	}
	fromForm, err := ParseQuery("confirm=true&expand[0]=customer&metadata[k]=v&amount=100")
	if err != nil {
		t.Fatal(err)
	}
	if cj, cf := fromJSON.Canonical(), fromForm.Canonical(); !bytes.Equal(cj, cf) {
		t.Errorf("ParseJSON reads as %s, ParseQuery as %s, want equal", cj, cf)
	}
}
