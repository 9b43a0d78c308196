package cardstream

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseBodyPHPSemantics(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		body string
		want string // Fields.String() of the result
	}{
		{"empty", "", ""},
		{"plain", "a=1&b=2", "a=1 b=2"},
		{"plus and percent", "a=x+y%21%7e&b=%zz%4", "a=x y!~ b=%zz%4"},
		{"no equals", "a&b=", "a= b="},
		{"empty segments", "&&a=1&&", "a=1"},
		{"repeat keeps first slot", "a=1&b=2&a=3", "a=3 b=2"},
		{"nested arrival order", "a[x]=1&b=2&a[y]=3", "a[x]=1 a[y]=3 b=2"},
		{"encoded brackets", "items%5B0%5D%5Bamount%5D=110&items%5B0%5D%5Bq%5D=1", "items[0][amount]=110 items[0][q]=1"},
		{"append", "a[]=x&a[]=y&a[5]=z&a[]=w", "a[0]=x a[1]=y a[5]=z a[6]=w"},
		{"negative then append", "a[-3]=x&a[]=y", "a[-3]=x a[-2]=y"},
		{"non canonical ints are strings", "a[01]=x&a[]=y", "a[01]=x a[0]=y"},
		{"dots and spaces in root", "a.b=1&c+d=2", "a_b=1 c_d=2"},
		{"not in keys", "a[b.c d]=1", "a[b.c d]=1"},
		{"leading spaces dropped", "++a=1", "a=1"},
		{"empty name dropped", "=1&+=2&[x]=3&b=4", "b=4"},
		{"unterminated bracket", "a[b.c=1", "a_b_c=1"},
		{"unterminated second level", "a[b][c=1", "a[b]=1"},
		{"trailing garbage", "a[b]x[c]=1", "a[b]=1"},
		{"scalar becomes array", "a=1&a[x]=2", "a[x]=2"},
		{"array becomes scalar", "a[x]=1&a=2", "a=2"},
		{"bracket inside key", "a[b[c]=1", "a[b[c]=1"},
		{"NUL in name truncates", "a%00b=1", "a=1"},
		{"NUL in value kept", "a=x%00y", "a=x\x00y"},
		{"raw NUL ends body", "a=1\x00&b=2", "a=1"},
		{"signature kept", "a=1&signature=abc", "a=1 signature=abc"},
		{"redacted card", "cardNumber=4929421234600821&cardCVV=356", "cardNumber=[REDACTED] cardCVV=[REDACTED]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseBody(tt.body)
			if err != nil {
				t.Fatalf("ParseBody(%q) error %v", tt.body, err)
			}
			if got.String() != tt.want {
				t.Errorf("ParseBody(%q) = %q, want %q", tt.body, got.String(), tt.want)
			}
		})
	}
}

func TestParseBodyLimits(t *testing.T) {
	t.Parallel()
	many := strings.Repeat("a[]=1&", MaxFields+1)
	deep := "a" + strings.Repeat("[x]", MaxDepth+1) + "=1"
	for _, body := range []string{many, deep} {
		if _, err := ParseBody(body); !errors.Is(err, ErrUnparsable) {
			t.Errorf("ParseBody(%.20q…) = %v, want ErrUnparsable", body, err)
		}
	}
	if _, err := ParseBody("a" + strings.Repeat("[x]", MaxDepth) + "=1"); err != nil {
		t.Errorf("ParseBody(depth %d) = %v, want nil", MaxDepth, err)
	}
}

func TestReadBodyIgnoresQuery(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("POST", "/callback?responseCode=0&amount=1", strings.NewReader("responseCode=5"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	f, err := ReadBody(r)
	if err != nil || f.String() != "responseCode=5" {
		t.Errorf("ReadBody = %v, %v; want only the body", f, err)
	}
	big := httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("a", MaxBodyBytes+1)))
	if _, err := ReadBody(big); !errors.Is(err, ErrUnparsable) {
		t.Errorf("ReadBody(too big) = %v, want ErrUnparsable", err)
	}
}

func TestFieldsHelpers(t *testing.T) {
	t.Parallel()
	f := kv(t, "a", "1", "b", "2", "a", "3", "r[x]", "4", "r[y][z]", "5")
	f.Set("a", "9")
	if got := f.String(); got != "a=9 b=2 r[x]=4 r[y][z]=5" {
		t.Errorf("Set dedupes: %q", got)
	}
	if got := f.Sub("r").String(); got != "x=4 y[z]=5" {
		t.Errorf("Sub = %q", got)
	}
	f.Set("c", "")
	f.SetNonEmpty("d", "")
	f.Del("b")
	f.DelRoot("r")
	if got := f.String(); got != "a=9 c=" || f.Has("d") {
		t.Errorf("after Del/DelRoot = %q", got)
	}
}

// flatPathBodies are bodies without '[' in their names, which ParseBody
// parses on its fast path, plus a few that must leave it.
func flatPathBodies() []string {
	distinct := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "f%d=%d&", i, i)
		}
		return b.String()
	}
	return []string{
		"", "&", "&&&", "a", "=", "==", "a==b", "a&a=", "a=1&b=2",
		"a=1&b=2&a=3", "a=1&b=2&a=3&b=4&a=5", "a=1&a", "a&a=1",
		"a+b=1&a.b=2&a_b=3&a%20b=4&a%2Eb=5", "++a=1&+a=2&%20a=3&a=4", "+ +=1&. .=2",
		"a=x+y&b=%2B&c=+&d=%20", "a=%ZZ&b=%4&c=%%41&d=%4g&e=%&f=%%&g=%2", "%ZZ=1&%4=2&%=3&%%41=4",
		"=1&+=2&%00=3&a%00b=4&a%00=5&%00a=6&+%00=7", "a=x%00y&a%00=z",
		"a]=1&]=2&a]b=3", "%FF.=1&%C3%A9+x=2&%FF=3&%EF%BF%BD=4", "0=a&1=b&0=c&-1=x&01=y&9223372036854775808=z",
		"a%5Bb%5D=1", "a[b]=1&c=2", "c=2&a[=1", "a%00[b]=1", "a=1&b%5b=2", "x=[y]&z=%5B",
		strings.Repeat("a=1&", maxFlatFields), strings.Repeat("a=1&", maxFlatFields+1),
		distinct(maxFlatFields - 1), distinct(maxFlatFields), distinct(maxFlatFields + 1),
		strings.Repeat("a=1&", MaxFields+1),
	}
}

// checkFlatMatchesTree fails if the fast path accepts body but gives a
// result other than the general parser's.
func checkFlatMatchesTree(t *testing.T, body string) {
	t.Helper()
	body, _, _ = strings.Cut(body, "\x00")
	flat, ok := parseFlat(body)
	if !ok {
		return
	}
	tree, err := parseTree(body)
	if err != nil || !equalFields(flat, tree) || (flat == nil) != (tree == nil) {
		t.Fatalf("body %.60q: fast path gives %q, general parser %q, %v", body, flat, tree, err)
	}
}

func TestParseFlatMatchesTree(t *testing.T) {
	t.Parallel()
	for _, body := range flatPathBodies() {
		checkFlatMatchesTree(t, body)
	}
	// The usual Direct response takes the fast path.
	if _, ok := parseFlat(benchResponse().Encode()); !ok {
		t.Error("a Direct response does not take the fast path")
	}
	// Bodies with brackets or too many pairs leave it, and the general
	// parser enforces MaxFields.
	for _, body := range []string{"a[b]=1", "c=2&a%5B=1", strings.Repeat("a=1&", maxFlatFields+1)} {
		if _, ok := parseFlat(body); ok {
			t.Errorf("parseFlat(%.20q…) took the fast path", body)
		}
	}
	if _, err := ParseBody(strings.Repeat("a=1&", MaxFields+1)); !errors.Is(err, ErrUnparsable) {
		t.Errorf("ParseBody(%d flat pairs) = %v, want ErrUnparsable", MaxFields+1, err)
	}
}

// TestSetRemovesLaterDuplicatesInPlace is not parallel: it counts
// allocations.
func TestSetRemovesLaterDuplicatesInPlace(t *testing.T) {
	f := kv(t, "a", "1", "b", "2", "a", "3", "c", "4", "a", "5", "d", "6")
	f.Set("b", "7") // no duplicate: nothing moves
	f.Set("a", "9")
	if got := f.String(); got != "a=9 b=7 c=4 d=6" {
		t.Errorf("Set = %q", got)
	}
	if allocs := testing.AllocsPerRun(100, func() { f.Set("c", "8") }); allocs != 0 {
		t.Errorf("Set of a present name allocates %v times", allocs)
	}
}
