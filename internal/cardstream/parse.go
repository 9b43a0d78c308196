package cardstream

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
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
	if f, ok := parseFlat(body); ok {
		return f, nil
	}
	return parseTree(body)
}

// parseTree is ParseBody's general parser: it builds the PHP array tree
// and flattens it. body has no raw NUL.
func parseTree(body string) (Fields, error) {
	root := newNode()
	d := decoder{body: body}
	pairs := 0
	for part := range strings.SplitSeq(body, "&") {
		if part == "" {
			continue
		}
		if pairs++; pairs > MaxFields {
			return nil, fmt.Errorf("%w: more than %d fields", ErrUnparsable, MaxFields)
		}
		name, value, _ := strings.Cut(part, "=")
		if err := root.register(d.decode(name), d.decode(value)); err != nil {
			return nil, err
		}
	}
	return root.flatten(), nil
}

// maxFlatFields is the most pairs parseFlat handles. Its duplicate check is
// a linear scan, so larger bodies go to the general parser, which also
// enforces MaxFields.
const maxFlatFields = 128

// parseFlat is ParseBody's fast path for the usual body, whose names have
// no '[' (a Direct API request or response): it gives the same fields as
// the general parser, without building a tree. ok is false when the body
// has more than maxFlatFields pairs or a decoded name contains '['; the
// caller must then use the general parser. body has no raw NUL.
func parseFlat(body string) (f Fields, ok bool) {
	n := strings.Count(body, "&") + 1
	if n > maxFlatFields {
		return nil, false
	}
	f = make(Fields, 0, n)
	d := decoder{body: body}
	for part := range strings.SplitSeq(body, "&") {
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		name = d.decode(name)
		if strings.IndexByte(name, '[') >= 0 {
			return nil, false
		}
		root, _, kept := splitName(name)
		if !kept {
			continue
		}
		value = d.decode(value)
		if i := slices.IndexFunc(f, func(fl Field) bool { return fl.Name == root }); i >= 0 {
			f[i].Value = value // a repeated name keeps its first position
		} else {
			f = append(f, Field{Name: root, Value: value})
		}
	}
	if len(f) == 0 {
		return nil, true // as the general parser returns
	}
	return f, true
}

// ReadBody reads and parses r's body only, never its URL query (which on a
// callback is our own URL, §3.3 step 1). At most MaxBodyBytes are read.
func ReadBody(r *http.Request) (Fields, error) {
	if r.Body == nil {
		return nil, fmt.Errorf("%w: no body", ErrUnparsable)
	}
	data, err := readAll(r.Body, r.ContentLength)
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

// maxPresize bounds the buffer readAll allocates before reading, so that a
// peer declaring a large Content-Length must send the bytes to make us
// hold them.
const maxPresize = 64 << 10

// readAll reads r to the end like io.ReadAll, but at most MaxBodyBytes+1
// bytes. declared is the Content-Length (-1 if unknown): a body of that
// size (up to maxPresize) is read into one buffer allocated up front.
func readAll(r io.Reader, declared int64) ([]byte, error) {
	size := bytes.MinRead // ReadFrom wants this much room to detect EOF
	if declared > 0 {
		size += int(min(declared, maxPresize))
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	_, err := buf.ReadFrom(io.LimitReader(r, MaxBodyBytes+1))
	return buf.Bytes(), err
}

// decoder PHP-urldecodes the names and values of one body. The strings it
// decodes share one buffer, allocated at the first that needs decoding
// with room for all of them, instead of one allocation each. (A string
// from strings.Builder never changes as more is written.)
type decoder struct {
	body string
	buf  strings.Builder
}

// escapedLen returns the total length of the names and values in body
// that need decoding: room for all of them decoded.
func escapedLen(body string) int {
	n := 0
	for part := range strings.SplitSeq(body, "&") {
		name, value, _ := strings.Cut(part, "=")
		if strings.ContainsAny(name, "+%") {
			n += len(name)
		}
		if strings.ContainsAny(value, "+%") {
			n += len(value)
		}
	}
	return n
}

// decode decodes s like PHP urldecode: '+' is a space, a valid %XX is its
// byte, anything else is kept as is.
func (d *decoder) decode(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	if d.buf.Cap() == 0 {
		d.buf.Grow(max(escapedLen(d.body), len(s)))
	}
	start := d.buf.Len()
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			d.buf.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			d.buf.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			d.buf.WriteByte(c)
		}
	}
	return d.buf.String()[start:]
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
	if !strings.ContainsAny(s, chars) && utf8.ValidString(s) {
		return s // what strings.Map returns, without its per-rune calls
	}
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
