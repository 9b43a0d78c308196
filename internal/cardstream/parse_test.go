package cardstream

import (
	"errors"
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
