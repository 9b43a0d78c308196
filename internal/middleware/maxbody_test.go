package middleware

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMaxBody(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		body    string
		wantErr bool
	}{
		{"under limit", "12345", false},
		{"at limit", "1234567890", false},
		{"over limit", "12345678901", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var readErr error
			var read string
			h := MaxBody(10)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				b, err := io.ReadAll(r.Body)
				read, readErr = string(b), err
			}))
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			origBody := req.Body

			h.ServeHTTP(httptest.NewRecorder(), req)

			var maxErr *http.MaxBytesError
			if gotErr := errors.As(readErr, &maxErr); gotErr != tt.wantErr {
				t.Fatalf("read error = %v, want MaxBytesError: %t", readErr, tt.wantErr)
			}
			if !tt.wantErr && read != tt.body {
				t.Errorf("read %q, want %q", read, tt.body)
			}
			if req.Body != origBody {
				t.Error("MaxBody modified the caller's request")
			}
		})
	}
}

func TestMaxBodyNoBody(t *testing.T) {
	t.Parallel()
	called := false
	h := MaxBody(10)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		called = true
		if r.Body != http.NoBody {
			t.Errorf("Body = %T, want http.NoBody", r.Body)
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	if !called {
		t.Error("next was not called")
	}
}

func TestMaxBodyRejectsNonPositiveLimit(t *testing.T) {
	t.Parallel()
	for _, n := range []int64{0, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("MaxBody(%d) did not panic", n)
				}
			}()
			MaxBody(n)
		}()
	}
}
