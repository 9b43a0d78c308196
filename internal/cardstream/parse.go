package cardstream

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Parser limits. PHP silently truncates at max_input_vars and drops
// variables nested deeper than max_input_nesting_level; ParseBody refuses
// such bodies instead, so nothing is lost without the caller knowing.
const (
	// MaxFields is the most name/value pairs ParseBody accepts (PHP's
	// max_input_vars default).
	MaxFields = 1000
	// MaxDepth is the deepest nesting ParseBody accepts (PHP's
	// max_input_nesting_level default).
	MaxDepth = 64
	// MaxBodyBytes is the largest body ReadBody accepts.
	MaxBodyBytes = 1 << 20
)

// ParseBody parses a form-urlencoded body with PHP parse_str semantics
// (PHP 8): pairs split on '&', '+' and %XX decoded (malformed escapes kept
// literally), leading spaces and everything after a NUL dropped from names,
// ' ' and '.' in top-level names turned into '_', "a[b][c]" keys building
// nested records, "a[]" appending numeric keys, and a repeated name
// overwriting the earlier value in its first position. The result is
// flattened back to "a[b][c]" names in the record's order, which is the
// order the signature needs (§3.3 step 1). Bytes after a raw NUL are
// ignored, as in PHP.
func ParseBody(body string) (Fields, error) {
	body, _, _ = strings.Cut(body, "\x00")
	root := newNode()
	pairs := 0
	for part := range strings.SplitSeq(body, "&") {
		if part == "" {
			continue
		}
		if pairs++; pairs > MaxFields {
			return nil, fmt.Errorf("%w: more than %d fields", ErrUnparsable, MaxFields)
		}
		name, value, _ := strings.Cut(part, "=")
		if err := root.register(phpURLDecode(name), phpURLDecode(value)); err != nil {
			return nil, err
		}
	}
	return root.flatten(), nil
}

// ReadBody reads and parses r's body only, never its URL query (which on a
// callback is our own URL, §3.3 step 1). At most MaxBodyBytes are read.
func ReadBody(r *http.Request) (Fields, error) {
	if r.Body == nil {
		return nil, fmt.Errorf("%w: no body", ErrUnparsable)
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, fmt.Errorf("%w: body too large: %w", ErrUnparsable, err)
		}
		return nil, fmt.Errorf("%w: read body: %w", ErrUnparsable, err)
	}
	if len(data) > MaxBodyBytes {
		return nil, fmt.Errorf("%w: body larger than %d bytes", ErrUnparsable, MaxBodyBytes)
	}
	return ParseBody(string(data))
}

// phpURLDecode decodes like PHP urldecode: '+' is a space, a valid %XX is
// its byte, anything else is kept as is.
func phpURLDecode(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// splitName turns a decoded PHP variable name into its top-level name and
// bracketed keys, following php_register_variable_ex. ok is false when the
// variable is dropped (empty name). An empty key means "append".
func splitName(name string) (root string, keys []string, ok bool) {
	name, _, _ = strings.Cut(name, "\x00")
	name = strings.TrimLeft(name, " ")
	open := strings.IndexByte(name, '[')
	if open < 0 {
		root = underscore(name, " .")
		return root, nil, root != ""
	}
	root = underscore(name[:open], " .")
	if root == "" {
		return "", nil, false
	}
	rest := name[open:]
	for len(rest) > 0 && rest[0] == '[' {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			if keys == nil { // "a[b" is the plain variable "a_b"
				return root + "_" + underscore(rest[1:], " .["), nil, true
			}
			break
		}
		keys = append(keys, rest[1:end])
		rest = rest[end+1:]
	}
	return root, keys, true
}

// underscore replaces every byte of chars in s with '_'.
func underscore(s, chars string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(chars, r) {
			return '_'
		}
		return r
	}, s)
}

// node is one PHP array (or scalar) built by the parser.
type node struct {
	leaf    bool
	value   string
	keys    []string
	kids    map[string]*node
	next    int64
	hasNext bool
}

func newNode() *node { return &node{kids: map[string]*node{}} }

// register stores one decoded pair.
func (n *node) register(name, value string) error {
	root, keys, ok := splitName(name)
	if !ok {
		return nil
	}
	if len(keys) > MaxDepth {
		return fmt.Errorf("%w: field nested deeper than %d levels", ErrUnparsable, MaxDepth)
	}
	path := append([]string{root}, keys...)
	cur := n
	for _, key := range path[:len(path)-1] {
		if cur = cur.child(key); cur == nil {
			return nil // PHP drops the value when the next index overflows
		}
	}
	if leaf := cur.slot(path[len(path)-1]); leaf != nil {
		*leaf = node{leaf: true, value: value}
	}
	return nil
}

// child returns the array stored under key, creating or replacing a scalar
// with an empty array in the same position.
func (n *node) child(key string) *node {
	c := n.slot(key)
	if c != nil && (c.leaf || c.kids == nil) {
		*c = node{kids: map[string]*node{}}
	}
	return c
}

// slot returns the entry for key, appending a new one if absent. An empty
// key appends at the next free integer index.
func (n *node) slot(key string) *node {
	if key == "" {
		if n.hasNext && n.next == maxInt {
			return nil
		}
		key = strconv.FormatInt(n.nextIndex(), 10)
	}
	if c, ok := n.kids[key]; ok {
		return c
	}
	c := &node{} // a leaf or, through child, an array
	n.kids[key] = c
	n.keys = append(n.keys, key)
	n.noteIndex(key)
	return c
}

const maxInt = int64(^uint64(0) >> 1)

func (n *node) nextIndex() int64 {
	if !n.hasNext {
		return 0
	}
	return n.next
}

// noteIndex keeps the next free index above every integer key, as PHP's
// nNextFreeElement does.
func (n *node) noteIndex(key string) {
	i, ok := intKey(key)
	if !ok || (n.hasNext && i < n.next) {
		return
	}
	n.hasNext = true
	if i == maxInt {
		n.next = maxInt
		return
	}
	n.next = i + 1
}

// intKey reports whether PHP would store key as an integer: a canonical
// decimal (no '+', no leading zeros, not "-0") that fits in int64.
func intKey(key string) (int64, bool) {
	digits := strings.TrimPrefix(key, "-")
	if digits == "" || (digits[0] == '0' && len(key) > 1) {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	i, err := strconv.ParseInt(key, 10, 64)
	return i, err == nil
}

// flatten writes the tree back as ordered "a[b][c]" fields.
func (n *node) flatten() Fields {
	var out Fields
	for _, k := range n.keys {
		n.kids[k].appendTo(&out, k)
	}
	return out
}

func (n *node) appendTo(out *Fields, name string) {
	if n.leaf {
		*out = append(*out, Field{Name: name, Value: n.value})
		return
	}
	for _, k := range n.keys {
		n.kids[k].appendTo(out, name+"["+k+"]")
	}
}
