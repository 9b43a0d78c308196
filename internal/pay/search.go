package pay

import (
	"slices"
	"strconv"
	"strings"
)

// SearchKind says how a search query may use a field.
type SearchKind uint8

const (
	// SearchToken fields match exactly: status:'succeeded', customer:'cus_…',
	// or field:null for one that is not set.
	SearchToken SearchKind = iota + 1
	// SearchNumber fields match exactly or compare: amount>1000,
	// created<=1700000000.
	SearchNumber
	// SearchMetadata is metadata['key']:'value', or metadata['key']:null for
	// a key that is not set.
	SearchMetadata
	// SearchIndexed fields are encrypted at rest and found through a keyed
	// index of their exact value, so they match exactly and nothing else.
	SearchIndexed
	// SearchEncrypted fields are encrypted at rest without an index: they
	// cannot be searched at all.
	SearchEncrypted
	// SearchBool fields are true or false: active:'true'.
	SearchBool
)

// SearchFields are the fields a search of one resource may name.
type SearchFields struct {
	Resource string // plural, for messages: "customers"
	Kinds    map[string]SearchKind
}

// SearchOp is a clause's operator.
type SearchOp string

// The operators of Stripe's search query language.
const (
	SearchEq        SearchOp = ":"
	SearchSubstring SearchOp = "~"
	SearchGt        SearchOp = ">"
	SearchGte       SearchOp = ">="
	SearchLt        SearchOp = "<"
	SearchLte       SearchOp = "<="
)

// SearchClause is one clause of a query: field op value, perhaps negated.
type SearchClause struct {
	Field  string
	Kind   SearchKind
	Key    string // the metadata key
	Op     SearchOp
	Value  string // the value, unquoted
	Number int64  // the value of a SearchNumber field
	Null   bool   // field:null
	Negate bool   // -field:value
}

// SearchQuery is a parsed query: its clauses, all of which must match, or
// any one if Or.
type SearchQuery struct {
	Clauses []SearchClause
	Or      bool
}

// MaxSearchClauses bounds a query, as Stripe does.
const MaxSearchClauses = 10

// ParseSearchQuery parses a query in Stripe's search query language
// (https://docs.stripe.com/search#search-query-language) against the fields
// a resource has: clauses field:value, field~value, field>value (also >=,
// <, <=) and metadata['key']:value, each optionally negated with a leading
// '-', separated by spaces, AND or OR (not both; there are no parentheses).
// Values are quoted with ' or " (a backslash escapes the quote or itself) or
// written bare. A query that is not valid, or asks what the fields cannot
// answer, is a parameter_invalid error naming query whose message says
// what and where; messages never repeat a value.
func ParseSearchQuery(s string, fields SearchFields) (SearchQuery, error) {
	p := searchParser{s: s, fields: fields}
	var (
		q    SearchQuery
		join string // "AND" or "OR", once known
	)
	p.skipSpaces()
	if p.done() {
		return q, searchError("the query is empty")
	}
	for {
		c, err := p.clause()
		if err != nil {
			return q, err
		}
		if q.Clauses = append(q.Clauses, c); len(q.Clauses) > MaxSearchClauses {
			return q, searchError("a query may have at most %d clauses", MaxSearchClauses)
		}
		if !p.skipSpaces() {
			if p.done() {
				break
			}
			return q, searchError("expected a space, AND or OR after the clause ending at character %d", p.i)
		}
		if p.done() {
			break
		}
		word := "AND" // clauses separated by a space alone
		if w := p.keyword(); w != "" {
			if word = w; !p.skipSpaces() || p.done() {
				return q, searchError("expected a clause after %s at character %d", w, p.i+1)
			}
		}
		if join != "" && join != word {
			return q, searchError("AND and OR cannot be combined in one query")
		}
		join = word
	}
	q.Or = join == "OR"
	return q, nil
}

func searchError(format string, args ...any) *Error {
	return InvalidParam("query", "Invalid search query: "+format+".", args...)
}

type searchParser struct {
	s      string
	i      int
	fields SearchFields
}

func (p *searchParser) done() bool { return p.i >= len(p.s) }

// skipSpaces skips spaces and reports whether there were any.
func (p *searchParser) skipSpaces() bool {
	start := p.i
	for !p.done() && isSpace(p.s[p.i]) {
		p.i++
	}
	return p.i > start
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// keyword consumes AND or OR (any case) followed by a space or the end, if
// next.
func (p *searchParser) keyword() string {
	for _, w := range []string{"AND", "OR"} {
		end := p.i + len(w)
		if end <= len(p.s) && strings.EqualFold(p.s[p.i:end], w) && (end == len(p.s) || isSpace(p.s[end])) {
			p.i = end
			return w
		}
	}
	return ""
}

// clause parses [-]field op value.
func (p *searchParser) clause() (SearchClause, error) {
	var c SearchClause
	at := p.i + 1
	if !p.done() && p.s[p.i] == '-' {
		c.Negate = true
		p.i++
	}
	if !p.done() && p.s[p.i] == '(' {
		return c, searchError("parentheses are not supported (character %d)", p.i+1)
	}
	start := p.i
	for !p.done() && (p.s[p.i] == '_' || p.s[p.i] == '.' || p.s[p.i] >= 'a' && p.s[p.i] <= 'z' || p.s[p.i] >= '0' && p.s[p.i] <= '9') {
		p.i++
	}
	c.Field = p.s[start:p.i]
	if c.Field == "" {
		return c, searchError("expected a field name at character %d", at)
	}
	if err := p.field(&c); err != nil {
		return c, err
	}
	if c.Kind == SearchMetadata {
		if p.done() || p.s[p.i] != '[' {
			return c, searchError("expected metadata['key'] at character %d", at)
		}
		p.i++
		key, ok := p.quoted()
		if !ok || p.done() || p.s[p.i] != ']' {
			return c, searchError("expected a quoted key and ] after metadata[ at character %d", at)
		}
		p.i++
		c.Key = key
	}
	for _, op := range []SearchOp{SearchGte, SearchLte, SearchEq, SearchSubstring, SearchGt, SearchLt} {
		if strings.HasPrefix(p.s[p.i:], string(op)) {
			c.Op = op
			p.i += len(op)
			break
		}
	}
	if c.Op == "" {
		return c, searchError("expected one of : ~ > < >= <= after %s at character %d", c.Field, p.i+1)
	}
	if !p.done() && (p.s[p.i] == '\'' || p.s[p.i] == '"') {
		v, ok := p.quoted()
		if !ok {
			return c, searchError("the quoted value of %s is not closed", c.Field)
		}
		c.Value = v
	} else {
		start := p.i
		for !p.done() && !isSpace(p.s[p.i]) {
			p.i++
		}
		if c.Value = p.s[start:p.i]; c.Value == "" {
			return c, searchError("expected a value after %s%s", c.Field, c.Op)
		}
		c.Null = c.Value == "null"
	}
	return c, c.check(p.fields.Resource)
}

// field looks up the clause's field, refusing one that cannot be searched.
func (p *searchParser) field(c *SearchClause) error {
	kind, ok := p.fields.Kinds[c.Field]
	switch {
	case !ok:
		names := make([]string, 0, len(p.fields.Kinds))
		for name, k := range p.fields.Kinds {
			if k != SearchEncrypted {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		return searchError("%s cannot be searched by %s; the fields are %s", p.fields.Resource, c.Field, strings.Join(names, ", "))
	case kind == SearchEncrypted:
		return searchError("%s is encrypted at rest, so %s cannot be searched by it", c.Field, p.fields.Resource)
	}
	c.Kind = kind
	return nil
}

// quoted reads a value in ' or " quotes, in which a backslash escapes the
// next character.
func (p *searchParser) quoted() (string, bool) {
	if p.done() || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", false
	}
	quote := p.s[p.i]
	var b strings.Builder
	for p.i++; !p.done(); p.i++ {
		switch ch := p.s[p.i]; {
		case ch == '\\' && p.i+1 < len(p.s):
			p.i++
			b.WriteByte(p.s[p.i])
		case ch == quote:
			p.i++
			return b.String(), true
		default:
			b.WriteByte(ch)
		}
	}
	return "", false
}

// check refuses what the clause's field cannot answer.
func (c *SearchClause) check(resource string) error {
	switch {
	case c.Kind == SearchNumber && c.Op == SearchSubstring:
		return searchError("%s is a number: compare it with : > < >= or <=", c.Field)
	case c.Kind == SearchNumber:
		n, err := strconv.ParseInt(c.Value, 10, 64)
		if err != nil {
			return searchError("%s takes a whole number", c.Field)
		}
		c.Number = n
	case c.Kind == SearchBool && (c.Op != SearchEq || c.Value != "true" && c.Value != "false"):
		return searchError("%s is true or false: %s:'true' or %s:'false'", c.Field, c.Field, c.Field)
	case c.Op == SearchEq:
	case c.Kind == SearchIndexed:
		return searchError("%s is encrypted at rest and found through a keyed index of its exact value, so only %s:'value' can search %s by it",
			c.Field, c.Field, resource)
	case c.Kind == SearchMetadata:
		return searchError("metadata can only be matched exactly (metadata['key']:'value')")
	default:
		return searchError("%s can only be matched exactly (%s:'value')", c.Field, c.Field)
	}
	return nil
}

// SearchCursor is where a page of search results ends: results continue
// below (created, id), newest first.
type SearchCursor struct {
	Created int64
	ID      string
}

// SearchPage asks for one page of search results.
type SearchPage struct {
	Limit int           // 1–100
	After *SearchCursor // nil: the first page
	Count bool          // also count every match (expand[]=total_count)
}

// SearchResult is one page of search results.
type SearchResult[T any] struct {
	Data    []T
	HasMore bool
	Next    *SearchCursor // where the next page starts, if HasMore
	Total   int64         // every match, if the page asked for Count
}
