package form

import (
	"testing"
)

func TestParseQueryRefusesInvalidText(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		raw, code, param string
	}{
		{"description=a%00b", CodeInvalidString, "description"},
		{"description=%FF", CodeInvalidString, "description"},
		{"description=%C3", CodeInvalidString, "description"},
		{"metadata[k]=%ED%A0%80", CodeInvalidString, "metadata[k]"}, // an encoded UTF-16 surrogate
		{"expand[]=%00", CodeInvalidString, "expand[]"},
		{"items[0][price]=p%00", CodeInvalidString, "items[0][price]"},
		{"metadata[a%00]=x", CodeMalformed, "metadata[a\uFFFD]"},
		{"metadata[%FF]=x", CodeMalformed, "metadata[\uFFFD]"},
		{"%00=1", CodeMalformed, "\uFFFD"},
		{"a%FFb[c]=1", CodeMalformed, "a\uFFFDb"},
	} {
		_, err := ParseQuery(tt.raw)
		checkError(t, err, tt.code, tt.param)
	}
	if _, err := ParseQuery("name=%C3%A9%EF%BF%BD%F0%9F%98%80"); err != nil {
		t.Errorf("valid UTF-8 (é, U+FFFD, an emoji): %v", err)
	}
}

func TestParseJSONRefusesInvalidText(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		body, code, param string
	}{
		{`{"description": "a\u0000b"}`, CodeInvalidString, "description"},
		{"{\"description\": \"a\xffb\"}", CodeInvalidString, "description"},
		{`{"description": "\ud800"}`, CodeInvalidString, "description"},
		{`{"description": "\udc00x"}`, CodeInvalidString, "description"},
		{`{"metadata": {"k": "\u0000"}}`, CodeInvalidString, "metadata[k]"},
		{`{"expand": ["a", "\u0000"]}`, CodeInvalidString, "expand[1]"},
		{`{"metadata": {"a\u0000": "x"}}`, CodeMalformed, "metadata[a\uFFFD]"},
		{"{\"metadata\": {\"\xff\": \"x\"}}", CodeMalformed, "metadata[\uFFFD]"},
	} {
		_, err := ParseJSON([]byte(tt.body))
		checkError(t, err, tt.code, tt.param)
	}
	for _, body := range []string{`{"name": "é\ufffd\ud83d\ude00"}`, `{"name": "\uFFFD"}`, "{\"name\": \"\xef\xbf\xbd\"}"} {
		if _, err := ParseJSON([]byte(body)); err != nil {
			t.Errorf("ParseJSON(%s) = %v, want valid text accepted", body, err)
		}
	}
}

func TestCheckText(t *testing.T) {
	t.Parallel()
	if err := CheckText("id", "cus_123é"); err != nil {
		t.Errorf("CheckText(valid) = %v", err)
	}
	checkError(t, CheckText("id", "cus_\x00"), CodeInvalidString, "id")
	checkError(t, CheckText("Idempotency-Key", "k\xff"), CodeInvalidString, "Idempotency-Key")
}
