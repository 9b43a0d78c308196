package pay

import (
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The event types webhook endpoints may subscribe to are exactly the
// EventType constants of this package, each with a distinct, well-formed
// name; emit takes an EventType, so nothing else can be emitted.
func TestEventTypesAreTheConstants(t *testing.T) {
	t.Parallel()
	consts := eventTypeConstants(t)
	list := EventTypes()
	if len(list) != len(consts) {
		t.Errorf("EventTypes() has %d types, the package declares %d EventType constants (%v)", len(list), len(consts), consts)
	}
	wellFormed := regexp.MustCompile(`^[a-z_]+(\.[a-z_]+)+$`)
	seen := map[string]bool{}
	for name, v := range consts {
		typ := EventType(v)
		if typ < 1 || typ >= eventTypeEnd {
			t.Errorf("%s = %d is outside EventTypes()", name, v)
		}
		s := typ.String()
		if !wellFormed.MatchString(s) || seen[s] {
			t.Errorf("%s.String() = %q, want a distinct name like customer.created", name, s)
		}
		seen[s] = true
		if got, ok := ParseEventType(s); !ok || got != typ {
			t.Errorf("ParseEventType(%q) = %v, %v, want %s", s, got, ok, name)
		}
	}
	for _, bad := range []string{"", "*", "customer", "customer.exploded", "Customer.Created", "customer.created "} {
		if _, ok := ParseEventType(bad); ok {
			t.Errorf("ParseEventType(%q) succeeded", bad)
		}
	}
	if s := EventType(0).String() + eventTypeEnd.String(); s != "" {
		t.Errorf("the values around the list have names: %q", s)
	}
}

// eventTypeConstants type-checks this package's source and returns its
// exported constants of type EventType with their values.
func eventTypeConstants(t *testing.T) map[string]int64 {
	t.Helper()
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		src, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, n, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil)}
	pkg, err := conf.Check("pay", fset, files, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, name := range pkg.Scope().Names() {
		c, ok := pkg.Scope().Lookup(name).(*types.Const)
		if !ok || !c.Exported() || c.Type() != pkg.Scope().Lookup("EventType").Type() {
			continue
		}
		v, _ := constant.Int64Val(c.Val())
		out[name] = v
	}
	return out
}
