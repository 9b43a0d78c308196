package form

import (
	"fmt"
	"net/url"
	"strings"
)

// Limits on decoded parameters, so hostile input cannot exhaust memory.
const (
	// MaxDepth is the most bracket segments a key may have
	// (a[b][c] has two); JSON objects and arrays may nest as deep.
	MaxDepth = 10
	// MaxIndex is the largest array index accepted in a key; an array
	// holds at most MaxIndex+1 elements whichever way it is sent.
	MaxIndex = 1000
	// MaxParams is the most key=value pairs (or JSON values) a request
	// may carry.
	MaxParams = 10000
)

// ParseQuery decodes an application/x-www-form-urlencoded body or a query
// string with Rack-style bracket keys into a tree. Pairs are separated by
// '&' only; empty pairs are skipped and a pair without '=' has an empty
// value. See the package documentation for the bracket rules. Errors are
// *Error values with code CodeMalformed, CodeConflict or CodeLimit.
func ParseQuery(raw string) (Values, error) {
	root := &node{kind: kindObject, kids: map[string]*node{}}
	count := 0
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		count++
		if count > MaxParams {
			return nil, errLimit("", fmt.Sprintf("more than %d parameters", MaxParams))
		}
		if err := addPair(root, pair); err != nil {
			return nil, err
		}
	}
	return Values(root.value().(map[string]any)), nil
}

// addPair decodes one key=value pair and stores it in root.
func addPair(root *node, pair string) error {
	rawKey, rawValue, _ := strings.Cut(pair, "=")
	key, err := url.QueryUnescape(rawKey)
	if err != nil {
		return &Error{Code: CodeMalformed, Message: "Invalid percent-encoding in a parameter name."}
	}
	value, err := url.QueryUnescape(rawValue)
	if err != nil {
		return newError(CodeMalformed, key, "Invalid percent-encoding in the value of parameter: %s")
	}
	path, err := splitKey(key)
	if err != nil {
		return err
	}
	for i, seg := range path {
		if !validText(seg) {
			return errInvalidName(paramName(path, i+1))
		}
	}
	if !validText(value) {
		return errInvalidText(paramName(path, len(path)))
	}
	return root.put(path, 0, value)
}

// splitKey splits a decoded key such as "items[0][price]" into its name
// and bracket segments: ["items", "0", "price"]. An empty segment stands
// for "[]".
func splitKey(key string) ([]string, error) {
	name, rest := key, ""
	if i := strings.IndexByte(key, '['); i >= 0 {
		name, rest = key[:i], key[i:]
	}
	if name == "" || strings.IndexByte(name, ']') >= 0 {
		return nil, errMalformedName(key)
	}
	path := []string{name}
	for rest != "" {
		// rest starts with '[': the segment runs to the next bracket,
		// which must be its closing ']'.
		end := strings.IndexAny(rest[1:], "[]") + 1
		if rest[0] != '[' || end == 0 || rest[end] != ']' {
			return nil, errMalformedName(key)
		}
		if len(path) > MaxDepth {
			return nil, errLimit(key, fmt.Sprintf("more than %d levels of nesting", MaxDepth))
		}
		path = append(path, rest[1:end])
		rest = rest[end+1:]
	}
	return path, nil
}

// paramName renders path[:n] Stripe-style: a[b][0][] for n == 4.
func paramName(path []string, n int) string {
	var b strings.Builder
	b.WriteString(path[0])
	for _, seg := range path[1:n] {
		b.WriteByte('[')
		b.WriteString(seg)
		b.WriteByte(']')
	}
	return b.String()
}
