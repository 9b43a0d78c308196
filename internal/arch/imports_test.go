// Package arch_test holds the rules of which package may import which
// (docs/architecture.md), checked against `go list`.
package arch_test

import (
	"bytes"
	"encoding/json"
	"fmt"
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
	{"the operations know nothing of HTTP routes or pages", under("internal/payments"), is("internal/api", "internal/hosted", "internal/dashboard")},
	{"payments never imports billing: billing reads its payments, or sets hooks on it (payments.InvoiceHooks)", under("internal/payments"),
		under("internal/billing")},
	{"loop is a leaf: it imports only the standard library", is("internal/loop"), notStd},
	{"health checks through interfaces: it imports only the standard library", is("internal/health"), notStd},
	{"only commands and tests import the test gateway", func(p string) bool { return !commandOrTest(p) }, is("internal/cardstream/sandbox")},
	{"the store persists: it knows no layer above it", under("internal/store"),
		is("internal/api", "internal/hosted", "internal/payments", "internal/cardstream", "internal/webhook")},
	{"nothing imports a command", anyPkg, under("cmd")},
	{"apidocs renders the reference it is handed: it imports only the standard library", is("internal/apidocs"), notStd},
	{"only api serves the API reference", func(p string) bool { return p != "internal/api" }, is("internal/apidocs")},
	{"pdf draws what it is handed: it imports only pay, its PDF library and the fonts", under("internal/pdf"), func(p string) bool {
		return notStd(p) && p != "internal/pay" && !strings.HasPrefix(p, "codeberg.org/go-pdf/fpdf") &&
			!strings.HasPrefix(p, "golang.org/x/image/font/")
	}},
}

func TestImportRules(t *testing.T) {
	for _, v := range violations(moduleImports(t)) {
		t.Error(v)
	}
}

// TestRulesCatchForbiddenImports checks the rules themselves: each of these
// imports is one the layers forbid.
func TestRulesCatchForbiddenImports(t *testing.T) {
	for _, imp := range [][2]string{
		{"internal/api", "internal/cardstream"},
		{"internal/hosted", "internal/cardstream"},
		{"internal/api", "internal/hosted"},
		{"internal/hosted", "internal/api"},
		{"internal/payments", "internal/cardstream/sandbox"},
		{"internal/payments", "internal/api"},
		{"internal/payments", "internal/billing"},
		{"internal/webhook", "internal/cardstream/sandbox"},
		{"internal/pay", "internal/store"},
		{"internal/pay", "github.com/jackc/pgx/v5"},
		{"internal/store", "internal/payments"},
		{"internal/api", "cmd/calmonypay"},
		{"internal/pdf", "internal/store"},
		{"internal/pdf", "internal/payments"},
		{"internal/pdf", "internal/api"},
		{"internal/pdf", "github.com/jackc/pgx/v5"},
		{"internal/apidocs", "internal/pay"},
		{"internal/hosted", "internal/apidocs"},
	} {
		if len(violations(map[string][]string{imp[0]: {imp[1]}})) == 0 {
			t.Errorf("%s importing %s breaks no rule", imp[0], imp[1])
		}
	}
	allowed := map[string][]string{
		"internal/api":      {"internal/payments", "internal/billing", "internal/store", "internal/pay", "internal/apidocs", "net/http"},
		"internal/hosted":   {"internal/payments", "internal/billing", "internal/store", "internal/pay"},
		"internal/payments": {"internal/cardstream", "internal/store", "internal/pay"},
		"cmd/calmonypay":    {"internal/cardstream/sandbox", "internal/api", "internal/hosted"},
		"internal/pay":      {"encoding/json"},
		"internal/apidocs":  {"html/template", "embed"},
		"internal/pdf":      {"internal/pay", "codeberg.org/go-pdf/fpdf", "golang.org/x/image/font/gofont/goregular", "golang.org/x/image/font/sfnt", "bytes"},
	}
	if v := violations(allowed); len(v) > 0 {
		t.Errorf("allowed imports broke rules: %v", v)
	}
}

// violations lists the imports, by package, that break a rule.
func violations(imports map[string][]string) []string {
	var out []string
	for pkg, deps := range imports {
		for _, dep := range deps {
			for _, r := range rules {
				if r.from(pkg) && r.to(dep) {
					out = append(out, fmt.Sprintf("%s imports %s: %s", pkg, dep, r.why))
				}
			}
		}
	}
	return out
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
