package form

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// DefaultMaxBytes is the body limit Decode applies when given a limit of
// zero or less.
const DefaultMaxBytes = 1 << 20

// Decode returns the parameters of r. GET, HEAD, DELETE and any other
// method without a body carry them in the query string only. POST, PUT and
// PATCH merge the query string with the body the way Rack does (Stripe's
// behaviour): the top-level keys of the body replace those of the query
// string. The body is decoded by Content-Type:
// application/x-www-form-urlencoded or application/json, with an optional
// charset of utf-8 or us-ascii. An empty body is accepted whatever its
// Content-Type; a non-empty body with a missing or other Content-Type is an
// *Error matching ErrUnsupportedMediaType (HTTP 415).
//
// A body longer than maxBytes (DefaultMaxBytes if maxBytes <= 0), or one
// cut short by an outer http.MaxBytesReader, is an *Error matching
// ErrTooLarge (HTTP 413). Malformed parameters are *Error values (HTTP 400).
// Any other error is a failure to read the body, wrapped.
func Decode(r *http.Request, maxBytes int64) (Values, error) {
	raw := ""
	if r.URL != nil {
		raw = r.URL.RawQuery
	}
	params, err := ParseQuery(raw)
	if err != nil {
		return nil, err
	}
	if !hasBody(r.Method) {
		return params, nil
	}
	body, err := readBody(r, maxBytes)
	if err != nil {
		return nil, err
	}
	bodyParams, err := parseBody(r.Header.Get("Content-Type"), body)
	if err != nil {
		return nil, err
	}
	for k, v := range bodyParams {
		params[k] = v
	}
	return params, nil
}

// hasBody reports whether requests with method carry parameters in a body.
func hasBody(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		return true
	}
	return false
}

// readBody reads at most maxBytes of r's body.
func readBody(r *http.Request, maxBytes int64) ([]byte, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if r.ContentLength > maxBytes {
		return nil, errTooLarge(maxBytes)
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, errTooLarge(maxBytes)
		}
		return nil, fmt.Errorf("form: read request body: %w", err)
	}
	if int64(len(body)) > maxBytes {
		return nil, errTooLarge(maxBytes)
	}
	return body, nil
}

// parseBody decodes body according to the Content-Type header ct.
func parseBody(ct string, body []byte) (Values, error) {
	if len(body) == 0 {
		return Values{}, nil
	}
	if ct == "" {
		return nil, errMediaType("A request body was sent without a Content-Type header; use application/x-www-form-urlencoded.")
	}
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, errMediaType("Invalid Content-Type header; use application/x-www-form-urlencoded.")
	}
	if cs := params["charset"]; cs != "" && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
		return nil, errMediaType("Unsupported charset in the Content-Type header; use utf-8.")
	}
	switch mediaType {
	case "application/x-www-form-urlencoded":
		return ParseQuery(string(body))
	case "application/json":
		return ParseJSON(body)
	}
	return nil, errMediaType("Unsupported Content-Type; use application/x-www-form-urlencoded or application/json.")
}

func errTooLarge(maxBytes int64) *Error {
	return &Error{
		Code:    CodeTooLarge,
		Message: fmt.Sprintf("The request body exceeds the maximum size of %d bytes.", maxBytes),
		err:     ErrTooLarge,
	}
}

func errMediaType(message string) *Error {
	return &Error{Code: CodeUnsupportedMediaType, Message: message, err: ErrUnsupportedMediaType}
}
