package form

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// kind is the shape a node in the assembly tree has taken.
type kind uint8

const (
	kindNew     kind = iota // created, shape not yet known
	kindLeaf                // a string value
	kindObject              // named children: a[b]
	kindIndexed             // indexed children: a[0], compacted on output
	kindList                // appended children: a[]
)

// node is the mutable tree ParseQuery assembles before converting it to
// Values. Indexed arrays are kept as a map so sparse indexes cost nothing.
type node struct {
	kind  kind
	leaf  string
	kids  map[string]*node // kindObject and kindIndexed
	items []*node          // kindList
}

// put stores value at path[i:] below n; path[:i] addresses n itself and
// names it in errors.
func (n *node) put(path []string, i int, value string) error {
	if i == len(path) {
		if n.kind != kindNew && n.kind != kindLeaf {
			return errConflict(paramName(path, i))
		}
		n.kind, n.leaf = kindLeaf, value // a repeated key: the last one wins
		return nil
	}
	seg := path[i]
	want := segmentKind(seg, i)
	if n.kind == kindNew {
		n.kind = want
		if want != kindList {
			n.kids = map[string]*node{}
		}
	}
	if n.kind != want {
		return errConflict(paramName(path, i))
	}
	if want == kindList {
		return n.appendItem(path, i+1, value)
	}
	if want == kindIndexed && len(seg) > maxIndexDigits {
		return errLimit(paramName(path, i+1), fmt.Sprintf("an index longer than %d digits", maxIndexDigits))
	}
	kid := n.kids[seg]
	if kid == nil {
		kid = &node{}
		n.kids[seg] = kid
	}
	return kid.put(path, i+1, value)
}

// appendItem handles a "[]" segment: path[i:] is stored in the last
// element of the list when that element is an object that does not hold
// path[i:] yet (Rack's rule, so a[][x]=1&a[][y]=2 builds one object), and
// in a new element otherwise.
func (n *node) appendItem(path []string, i int, value string) error {
	if k := len(n.items); k > 0 && i < len(path) {
		last := n.items[k-1]
		if (last.kind == kindObject || last.kind == kindIndexed) && !last.holds(path[i:]) {
			return last.put(path, i, value)
		}
	}
	if len(n.items) > MaxIndex {
		return errLimit(paramName(path, i), fmt.Sprintf("more than %d array elements", MaxIndex+1))
	}
	kid := &node{}
	n.items = append(n.items, kid)
	return kid.put(path, i, value)
}

// holds reports whether every segment of rest leads to an existing child.
// A rest containing "[]" is never held, as in Rack.
func (n *node) holds(rest []string) bool {
	for _, seg := range rest {
		if seg == "" || n.kids == nil {
			return false
		}
		kid, ok := n.kids[seg]
		if !ok {
			return false
		}
		n = kid
	}
	return true
}

// segmentKind tells which container a bracket segment addresses. The name
// (segment 0) always addresses the top-level object.
func segmentKind(seg string, i int) kind {
	switch {
	case i == 0:
		return kindObject
	case seg == "":
		return kindList
	case isIndex(seg):
		return kindIndexed
	default:
		return kindObject
	}
}

// isIndex reports whether seg is a canonical decimal array index: digits
// only and no leading zero, so "metadata[007]" stays a map key.
func isIndex(seg string) bool {
	if seg == "" || (seg[0] == '0' && len(seg) > 1) {
		return false
	}
	for i := 0; i < len(seg); i++ {
		if seg[i] < '0' || seg[i] > '9' {
			return false
		}
	}
	return true
}

// maxIndexDigits bounds a numeric key: long enough for any metadata key
// (Stripe allows 40 characters), short enough to compare cheaply.
const maxIndexDigits = 40

// value converts the assembled node into the Values representation.
func (n *node) value() any {
	switch n.kind {
	case kindObject:
		m := make(map[string]any, len(n.kids))
		for k, kid := range n.kids {
			m[k] = kid.value()
		}
		return m
	case kindIndexed:
		return n.indexedValue()
	case kindList:
		out := make([]any, len(n.items))
		for i, kid := range n.items {
			out[i] = kid.value()
		}
		return out
	default:
		return n.leaf
	}
}

// indexedValue returns the numeric keys as Indexed. A form body cannot
// tell an array (items[0][price]) from a map with numeric keys
// (metadata[0]), so the keys are kept and the reader decides.
func (n *node) indexedValue() Indexed {
	ix := make(Indexed, len(n.kids))
	for k, kid := range n.kids {
		ix[k] = kid.value()
	}
	return ix
}

// Indexed is an object whose keys are all canonical decimal indexes, as a
// form body sends them: a[0]=x, a[5]=x&a[2]=y, metadata[123]=x. Readers take
// it as an array in index order (naming each element by its key), or, for
// map parameters such as metadata, as a map.
type Indexed map[string]any

// keys returns the keys in increasing index order.
func (ix Indexed) keys() []string {
	keys := make([]string, 0, len(ix))
	for k := range ix {
		keys = append(keys, k)
	}
	// Canonical indexes have no leading zeros: a longer one is larger.
	slices.SortFunc(keys, func(a, b string) int {
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return strings.Compare(a, b)
	})
	return keys
}

// array returns the values in increasing index order.
func (ix Indexed) array() []any {
	keys := ix.keys()
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = ix[k]
	}
	return out
}

// dense reports whether the keys are exactly 0…n-1.
func (ix Indexed) dense() bool {
	for i := range len(ix) {
		if _, ok := ix[strconv.Itoa(i)]; !ok {
			return false
		}
	}
	return true
}

// elements returns the elements of an array parameter with the keys that
// name them: positions for a JSON array or "[]" appends, the keys as sent
// for Indexed. ok is false when v is not an array. An index above MaxIndex
// is returned as bad.
func elements(v any) (keys []string, vals []any, bad string, ok bool) {
	switch v := v.(type) {
	case []any:
		keys = make([]string, len(v))
		for i := range v {
			keys[i] = strconv.Itoa(i)
		}
		return keys, v, "", true
	case Indexed:
		keys = v.keys()
		if n := len(keys); n > 0 && aboveMaxIndex(keys[n-1]) {
			return nil, nil, keys[n-1], true
		}
		return keys, v.array(), "", true
	}
	return nil, nil, "", false
}

// aboveMaxIndex reports whether the canonical index k exceeds MaxIndex.
func aboveMaxIndex(k string) bool {
	if len(k) > len(strconv.Itoa(MaxIndex)) {
		return true
	}
	n, _ := strconv.Atoi(k)
	return n > MaxIndex
}
