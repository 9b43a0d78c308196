package pay

import (
	"reflect"
	"strings"
	"testing"
)

var testFields = SearchFields{Resource: "customers", Kinds: map[string]SearchKind{
	"email": SearchIndexed, "name": SearchEncrypted, "created": SearchNumber, "amount": SearchNumber,
	"status": SearchToken, "customer": SearchToken, "metadata": SearchMetadata,
}}

func TestParseSearchQuery(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		query string
		want  SearchQuery
	}{
		{"email:'jenny@example.com'", SearchQuery{Clauses: []SearchClause{{Field: "email", Kind: SearchIndexed, Op: SearchEq, Value: "jenny@example.com"}}}},
		{`status:"succeeded" amount>=1000`, SearchQuery{Clauses: []SearchClause{
			{Field: "status", Kind: SearchToken, Op: SearchEq, Value: "succeeded"},
			{Field: "amount", Kind: SearchNumber, Op: SearchGte, Value: "1000", Number: 1000}}}},
		{"status:succeeded AND -customer:null and created<1700000000", SearchQuery{Clauses: []SearchClause{
			{Field: "status", Kind: SearchToken, Op: SearchEq, Value: "succeeded"},
			{Field: "customer", Kind: SearchToken, Op: SearchEq, Value: "null", Null: true, Negate: true},
			{Field: "created", Kind: SearchNumber, Op: SearchLt, Value: "1700000000", Number: 1700000000}}}},
		{`metadata['order id']:'6735' OR metadata["it\"s"]:null or amount:-5`, SearchQuery{Or: true, Clauses: []SearchClause{
			{Field: "metadata", Kind: SearchMetadata, Key: "order id", Op: SearchEq, Value: "6735"},
			{Field: "metadata", Kind: SearchMetadata, Key: `it"s`, Op: SearchEq, Value: "null", Null: true},
			{Field: "amount", Kind: SearchNumber, Op: SearchEq, Value: "-5", Number: -5}}}},
		{`  metadata['$.a.b']:'x y\\z'  `, SearchQuery{Clauses: []SearchClause{
			{Field: "metadata", Kind: SearchMetadata, Key: "$.a.b", Op: SearchEq, Value: `x y\z`}}}},
		{"status:'null'", SearchQuery{Clauses: []SearchClause{{Field: "status", Kind: SearchToken, Op: SearchEq, Value: "null"}}}},
	} {
		got, err := ParseSearchQuery(tt.query, testFields)
		if err != nil {
			t.Errorf("ParseSearchQuery(%q) error = %v", tt.query, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseSearchQuery(%q) =\n%+v, want\n%+v", tt.query, got, tt.want)
		}
	}
}

func TestParseSearchQueryErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ query, says string }{
		{"", "empty"},
		{"   ", "empty"},
		{"name:'Jenny'", "name is encrypted at rest"},
		{"email~'jenny'", "keyed index"},
		{"email>'a'", "keyed index"},
		{"phone:'1'", "cannot be searched by phone; the fields are amount, created, customer, email, metadata, status"},
		{"status~'succ'", "exactly"},
		{"metadata['k']~'v'", "exactly"},
		{"amount~'1'", "is a number"},
		{"amount>abc", "whole number"},
		{"amount:null", "whole number"},
		{"status:'a' AND status:'b' OR status:'c'", "cannot be combined"},
		{"status:'a' status:'b' OR status:'c'", "cannot be combined"},
		{"(status:'a')", "parentheses"},
		{"status:'a", "not closed"},
		{"status:", "expected a value"},
		{"status", "expected one of"},
		{"status='a'", "expected one of"},
		{":'a'", "expected a field name"},
		{"Status:'a'", "expected a field name"},
		{"metadata:'a'", "metadata['key']"},
		{"metadata[key]:'a'", "quoted key"},
		{"metadata['key':'a'", "quoted key"},
		{"status:'a'AND status:'b'", "expected a space"},
		{"status:'a' AND", "expected a clause"},
		{"status:'a' OR   ", "expected a clause"},
		{strings.Repeat("status:'a' ", MaxSearchClauses+1), "at most 10 clauses"},
	} {
		_, err := ParseSearchQuery(tt.query, testFields)
		e, ok := AsError(err)
		if !ok || e.Status != 400 || e.Code != "parameter_invalid" || e.Param != "query" || !strings.Contains(e.Message, tt.says) {
			t.Errorf("ParseSearchQuery(%q) = %v, want a parameter_invalid error about query saying %q", tt.query, err, tt.says)
		}
	}
	// Messages name fields, never values.
	_, err := ParseSearchQuery("amount>secret-value", testFields)
	if e, _ := AsError(err); e == nil || strings.Contains(e.Message, "secret") {
		t.Errorf("error %v repeats the value", err)
	}
}

func FuzzParseSearchQuery(f *testing.F) {
	for _, seed := range []string{"email:'a@b.c'", `metadata["k"]:"v" OR -amount>=10`, "status:'a' AND", "metadata['", `status:"\`, "-(x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, query string) {
		q, err := ParseSearchQuery(query, testFields)
		if err != nil {
			if e, ok := AsError(err); !ok || e.Param != "query" {
				t.Fatalf("ParseSearchQuery(%q) error = %v, want one naming query", query, err)
			}
			return
		}
		if n := len(q.Clauses); n == 0 || n > MaxSearchClauses {
			t.Fatalf("ParseSearchQuery(%q) = %d clauses", query, n)
		}
		for _, c := range q.Clauses {
			if k := testFields.Kinds[c.Field]; k == 0 || k == SearchEncrypted || c.Kind != k {
				t.Fatalf("ParseSearchQuery(%q) accepted field %q", query, c.Field)
			}
		}
	})
}
