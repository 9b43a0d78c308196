package dashboard_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/pay"
)

// client is a signed-in dashboard user of a test server.
type client struct {
	t      *testing.T
	srv    *apitest.Server
	cookie string // the session token; empty: signed out
}

// signIn starts a test server's dashboard session for email with role.
func signIn(t *testing.T, srv *apitest.Server, email string, role pay.Role) *client {
	return &client{t: t, srv: srv, cookie: srv.DashboardSession(t, email, role)}
}

// do sends a request with the session cookie and returns the status and
// the body.
func (c *client) do(method, path, contentType string, body io.Reader, header ...string) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "calmony_session", Value: c.cookie})
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, b
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// query calls a tRPC query; input nil sends none.
func (c *client) query(path string, input any) (int, envelope) {
	c.t.Helper()
	u := "/api/trpc/" + path
	if input != nil {
		b, _ := json.Marshal(input)
		u += "?input=" + url.QueryEscape(string(b))
	}
	status, body := c.do(http.MethodGet, u, "", nil)
	return status, decodeEnvelope(c.t, body)
}

// mutate calls a tRPC mutation.
func (c *client) mutate(path string, input any) (int, envelope) {
	c.t.Helper()
	b, _ := json.Marshal(input)
	status, body := c.do(http.MethodPost, "/api/trpc/"+path, "application/json", strings.NewReader(string(b)))
	return status, decodeEnvelope(c.t, body)
}

// envelope is a tRPC answer.
type envelope struct {
	Result *struct {
		Data json.RawMessage `json:"data"`
	} `json:"result"`
	Error *struct {
		Message string `json:"message"`
		Code    int    `json:"code"`
		Data    struct {
			Code       string `json:"code"`
			HTTPStatus int    `json:"httpStatus"`
			Path       string `json:"path"`
			Field      string `json:"field"`
		} `json:"data"`
	} `json:"error"`
}

func decodeEnvelope(t *testing.T, body []byte) envelope {
	t.Helper()
	var e envelope
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("not a tRPC envelope: %v: %s", err, body)
	}
	return e
}

// data decodes a successful answer's data into v, failing the test on an
// error answer.
func (e envelope) data(t *testing.T, v any) {
	t.Helper()
	if e.Error != nil || e.Result == nil {
		t.Fatalf("tRPC error: %+v", e.Error)
	}
	if err := json.Unmarshal(e.Result.Data, v); err != nil {
		t.Fatalf("decode data: %v: %s", err, e.Result.Data)
	}
}

// code returns the error's tRPC code, or "" for a success.
func (e envelope) code() string {
	if e.Error == nil {
		return ""
	}
	return e.Error.Data.Code
}
