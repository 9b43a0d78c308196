package form

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	const formCT = "application/x-www-form-urlencoded"
	for _, tt := range []struct {
		name   string
		method string
		target string
		ct     string
		body   string
		want   Values
	}{
		{"get query", http.MethodGet, "/v1/customers?limit=3&expand[]=data.x", formCT, "",
			Values{"limit": "3", "expand": []any{"data.x"}}},
		{"get ignores body", http.MethodGet, "/v1/customers?limit=3", formCT, "limit=5", Values{"limit": "3"}},
		{"delete query only", http.MethodDelete, "/v1/customers/cus_1?a=1", formCT, "b=2", Values{"a": "1"}},
		{"head query", http.MethodHead, "/v1/customers?a=1", "", "", Values{"a": "1"}},
		{"post form", http.MethodPost, "/v1/customers", formCT, "name=Jo&metadata[k]=v",
			Values{"name": "Jo", "metadata": map[string]any{"k": "v"}}},
		{"post form charset", http.MethodPost, "/v1/customers", formCT + "; charset=UTF-8", "name=Jo", Values{"name": "Jo"}},
		{"post form upper case type", http.MethodPost, "/v1/customers", "Application/X-WWW-Form-Urlencoded", "a=1", Values{"a": "1"}},
		{"post json", http.MethodPost, "/v1/customers", "application/json; charset=utf-8", `{"name":"Jo","balance":-5}`,
			Values{"name": "Jo", "balance": "-5"}},
		{"put form", http.MethodPut, "/v1/x", formCT, "a=1", Values{"a": "1"}},
		{"patch form", http.MethodPatch, "/v1/x", formCT, "a=1", Values{"a": "1"}},
		{"post merges query, body wins per top-level key", http.MethodPost,
			"/v1/customers?expand[]=a&name=Q&metadata[q]=1", formCT, "name=B&metadata[b]=2",
			Values{"expand": []any{"a"}, "name": "B", "metadata": map[string]any{"b": "2"}}},
		{"post no content type empty body", http.MethodPost, "/v1/customers/cus_1?expand[]=x", "", "",
			Values{"expand": []any{"x"}}},
		{"post other type empty body", http.MethodPost, "/v1/x", "text/plain", "", Values{}},
		{"post json empty body", http.MethodPost, "/v1/x", "application/json", "", Values{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			if tt.ct != "" {
				r.Header.Set("Content-Type", tt.ct)
			}
			got, err := Decode(r, 1024)
			if err != nil {
				t.Fatalf("Decode() error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decode() = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("a", 2000)
	for _, tt := range []struct {
		name     string
		target   string
		ct       string
		body     io.Reader
		code     string
		sentinel error
	}{
		{"no content type", "/v1/x", "", strings.NewReader("a=1"), CodeUnsupportedMediaType, ErrUnsupportedMediaType},
		{"multipart", "/v1/x", "multipart/form-data; boundary=x", strings.NewReader("--x--"), CodeUnsupportedMediaType, ErrUnsupportedMediaType},
		{"text", "/v1/x", "text/plain", strings.NewReader("a=1"), CodeUnsupportedMediaType, ErrUnsupportedMediaType},
		{"bad media type", "/v1/x", "application/", strings.NewReader("a=1"), CodeUnsupportedMediaType, ErrUnsupportedMediaType},
		{"latin1", "/v1/x", "application/x-www-form-urlencoded; charset=iso-8859-1", strings.NewReader("a=1"), CodeUnsupportedMediaType, ErrUnsupportedMediaType},
		{"too large", "/v1/x", "application/x-www-form-urlencoded", strings.NewReader("a=" + big), CodeTooLarge, ErrTooLarge},
		{"too large unknown length", "/v1/x", "application/x-www-form-urlencoded", io.MultiReader(strings.NewReader("a="), strings.NewReader(big)), CodeTooLarge, ErrTooLarge},
		{"bad form body", "/v1/x", "application/x-www-form-urlencoded", strings.NewReader("a=%zz"), CodeMalformed, nil},
		{"bad json body", "/v1/x", "application/json", strings.NewReader("{"), CodeMalformed, nil},
		{"bad query", "/v1/x?a=1&a[b]=2", "application/x-www-form-urlencoded", strings.NewReader("c=1"), CodeConflict, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, tt.target, tt.body)
			if tt.ct != "" {
				r.Header.Set("Content-Type", tt.ct)
			}
			got, err := Decode(r, 1024)
			if got != nil {
				t.Errorf("Decode() = %v, want nil", got)
			}
			e, ok := errors.AsType[*Error](err)
			if !ok || e.Code != tt.code {
				t.Fatalf("Decode() error = %v, want *Error with code %s", err, tt.code)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false, want true", err, tt.sentinel)
			}
			for _, s := range []error{ErrTooLarge, ErrUnsupportedMediaType} {
				if s != tt.sentinel && errors.Is(err, s) {
					t.Errorf("errors.Is(%v, %v) = true, want false", err, s)
				}
			}
		})
	}
}

func TestDecodeOuterMaxBytesReader(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "/v1/x", nil)
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(strings.NewReader("a=123456")), 4)
	r.ContentLength = -1
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, err := Decode(r, 1024); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Decode() error = %v, want ErrTooLarge", err)
	}
}

func TestDecodeDefaultLimit(t *testing.T) {
	t.Parallel()
	body := "a=" + strings.Repeat("x", DefaultMaxBytes-2)
	r := httptest.NewRequest(http.MethodPost, "/v1/x", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, err := Decode(r, 0); err != nil {
		t.Errorf("Decode(%d bytes, 0) error = %v, want nil", len(body), err)
	}
	r = httptest.NewRequest(http.MethodPost, "/v1/x", strings.NewReader(body+"x"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, err := Decode(r, -1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Decode(%d bytes, -1) error = %v, want ErrTooLarge", len(body)+1, err)
	}
}

// failingReader fails every read.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestDecodeReadError(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "/v1/x", failingReader{})
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, err := Decode(r, 1024)
	if err == nil {
		t.Fatal("Decode() error = nil, want the read error")
	}
	if _, ok := errors.AsType[*Error](err); ok {
		t.Errorf("Decode() error = %v is an *Error, want a plain read error", err)
	}
}
