// Package arch_test holds the rules of which package may import which
// (docs/architecture.md), checked against `go list`.
package arch_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/calmony/calmonypay/"

// rule forbids packages matching from to import packages matching to.
// Package paths are relative to the module; others are left whole.
type rule struct {
	why      string
	from, to func(pkg string) bool
}

func is(names ...string) func(string) bool {
	return func(pkg string) bool { return slices.Contains(names, pkg) }
}

func under(prefix string) func(string) bool {
	return func(pkg string) bool { return pkg == prefix || strings.HasPrefix(pkg, prefix+"/") }
}

// notStd matches what is not the standard library (a module path or another
// module's: its first element has a dot).
func notStd(pkg string) bool {
	return strings.HasPrefix(pkg, "internal/") || strings.HasPrefix(pkg, "cmd/") || pkg == "webhook" ||
		strings.Contains(strings.SplitN(pkg, "/", 2)[0], ".")
}

func anyPkg(string) bool { return true }

// commandOrTest matches the commands and the test helper packages.
func commandOrTest(pkg string) bool {
	return strings.HasPrefix(pkg, "cmd/") || strings.HasSuffix(pkg, "test")
}

var rules = []rule{
	{"pay names things and imports only the standard library", is("internal/pay"), notStd},
	{"the HTTP packages never speak the gateway's protocol", is("internal/api", "internal/hosted", "internal/dashboard"), under("internal/cardstream")},
	{"the HTTP packages never import each other", is("internal/api"), is("internal/hosted", "internal/dashboard")},
	{"the HTTP packages never import each other", is("internal/hosted"), is("internal/api", "internal/dashboard")},
	{"the HTTP packages never import each other", is("internal/dashboard"), is("internal/api", "internal/hosted")},
	{"the operations never depend on the test gateway", under("internal/payments"), is("internal/cardstream/sandbox")},
	{"only commands and tests import the test gateway", func(p string) bool { return !commandOrTest(p) }, is("internal/cardstream/sandbox")},
	{"the store persists: it knows no layer above it", under("internal/store"),
		is("internal/api", "internal/hosted", "internal/payments", "internal/cardstream", "internal/webhook")},
	{"nothing imports a command", anyPkg, under("cmd")},
}

// today lists the imports the rules forbid that the code still has, until
// issue 17's restructuring removes them. An entry that no longer happens
// fails the test, so the list only shrinks.
var today = map[[2]string]bool{}

func TestImportRules(t *testing.T) {
	seen := map[[2]string]bool{}
	for pkg, deps := range moduleImports(t) {
		for _, dep := range deps {
			for _, r := range rules {
				if !r.from(pkg) || !r.to(dep) {
					continue
				}
				if today[[2]string{pkg, dep}] {
					seen[[2]string{pkg, dep}] = true
					continue
				}
				t.Errorf("%s imports %s: %s", pkg, dep, r.why)
			}
		}
	}
	for k := range today {
		if !seen[k] {
			t.Errorf("%s no longer imports %s: remove it from today's exceptions", k[0], k[1])
		}
	}
}

// moduleImports returns each package of the module with what it imports
// (not its tests), module paths relative to the module.
func moduleImports(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"...")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, errOut.String())
	}
	imports := map[string][]string{}
	for d := json.NewDecoder(&out); d.More(); {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := d.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkg := strings.TrimPrefix(p.ImportPath, module)
		for _, imp := range p.Imports {
			imports[pkg] = append(imports[pkg], strings.TrimPrefix(imp, module))
		}
	}
	if _, ok := imports["internal/api"]; !ok {
		t.Fatalf("go list did not list internal/api: %v", imports)
	}
	return imports
}
