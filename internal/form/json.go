package form

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ParseJSON decodes an application/json body into the same tree ParseQuery
// builds. The top level must be an object. Numbers keep their decimal text
// ("100", "1.5"; typed reads reject non-integers), booleans become "true"
// or "false", null becomes "" (unset), and a repeated object key keeps its
// last value. Errors are *Error values with code CodeMalformed or CodeLimit.
func ParseJSON(data []byte) (Values, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var top any
	if err := dec.Decode(&top); err != nil {
		return nil, errInvalidJSON(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &Error{Code: CodeMalformed, Message: "Invalid JSON body: unexpected data after the top-level object."}
	}
	obj, ok := top.(map[string]any)
	if !ok {
		return nil, &Error{Code: CodeMalformed, Message: "Invalid JSON body: the top level must be an object."}
	}
	c := jsonConverter{lossy: lossy(data)}
	out, err := c.object(obj, "", 0)
	if err != nil {
		return nil, err
	}
	return Values(out), nil
}

// errInvalidJSON describes a decoding failure by position only, never by
// the offending text.
func errInvalidJSON(err error) *Error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return &Error{Code: CodeMalformed, Message: fmt.Sprintf("Invalid JSON body: syntax error at byte %d.", syn.Offset)}
	}
	return &Error{Code: CodeMalformed, Message: "Invalid JSON body."}
}

// jsonConverter turns a decoded JSON value into tree form, counting values
// against MaxParams.
type jsonConverter struct {
	count int
	// lossy: the body may have held invalid text that the decoder replaced
	// by U+FFFD, so a U+FFFD in a string is refused rather than stored.
	lossy bool
}

// validText is the decoders' text rule for a decoded JSON string.
func (c *jsonConverter) validText(s string) bool {
	return validText(s) && !(c.lossy && strings.ContainsRune(s, utf8.RuneError))
}

// value converts x, found at param (Stripe-style) and depth containers below
// the top-level object.
func (c *jsonConverter) value(x any, param string, depth int) (any, error) {
	c.count++
	if c.count > MaxParams {
		return nil, errLimit(param, fmt.Sprintf("more than %d parameters", MaxParams))
	}
	switch x := x.(type) {
	case nil:
		return "", nil
	case string:
		if !c.validText(x) {
			return nil, errInvalidText(param)
		}
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	case map[string]any:
		return c.object(x, param, depth+1)
	case []any:
		return c.array(x, param, depth+1)
	default:
		return nil, &Error{Code: CodeMalformed, Param: clip(param), Message: "Invalid JSON body."}
	}
}

// object converts the members of a JSON object in sorted order, so the
// error reported for a body with several problems is deterministic.
func (c *jsonConverter) object(m map[string]any, param string, depth int) (map[string]any, error) {
	if depth > MaxDepth {
		return nil, errLimit(param, fmt.Sprintf("more than %d levels of nesting", MaxDepth))
	}
	out := make(map[string]any, len(m))
	for _, k := range sortedKeys(m) {
		if !c.validText(k) {
			return nil, errInvalidName(childParam(param, k))
		}
		v, err := c.value(m[k], childParam(param, k), depth)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// array converts the elements of a JSON array.
func (c *jsonConverter) array(a []any, param string, depth int) ([]any, error) {
	if depth > MaxDepth {
		return nil, errLimit(param, fmt.Sprintf("more than %d levels of nesting", MaxDepth))
	}
	if len(a) > MaxIndex+1 {
		return nil, errLimit(param, fmt.Sprintf("more than %d array elements", MaxIndex+1))
	}
	out := make([]any, len(a))
	for i, e := range a {
		v, err := c.value(e, childParam(param, strconv.Itoa(i)), depth)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// childParam names key inside the parameter parent, Stripe-style.
func childParam(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "[" + key + "]"
}
