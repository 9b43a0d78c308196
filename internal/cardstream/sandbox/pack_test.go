package sandbox

import (
	"slices"
	"strings"
	"testing"

	cs "github.com/calmony/calmonypay/internal/cardstream"
)

func TestPackFieldsRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		fields cs.Fields
	}{
		{"none", nil},
		{"common names", cs.Fields{{Name: "type", Value: "1"}, {Name: "amount", Value: "1001"},
			{Name: "customerName", Value: "Zoë"}, {Name: "transactionUnique", Value: ""}}},
		{"other names", cs.Fields{{Name: "merchantData[order][0]", Value: "7"}, {Name: "", Value: "empty name"},
			{Name: "items[0][description]", Value: "a&b=c%d+e\x00f\r\n"}}},
		{"long values", cs.Fields{{Name: "customerAddress", Value: strings.Repeat("x", 300)},
			{Name: strings.Repeat("n", 200), Value: strings.Repeat("y", 70000)}}},
		{"repeated and unordered", cs.Fields{{Name: "amount", Value: "1"}, {Name: "type", Value: "2"},
			{Name: "amount", Value: "3"}}},
	} {
		p := packFields(tt.fields)
		if got := unpackFields(p, 0); !slices.Equal(got, tt.fields) {
			t.Errorf("%s: unpackFields(packFields(f)) = %q, want %q", tt.name, got, tt.fields)
		}
		if n := packedLen(p); n != len(tt.fields) {
			t.Errorf("%s: packedLen(packFields(f)) = %d, want %d", tt.name, n, len(tt.fields))
		}
	}
}

func TestPackFieldsIsCompact(t *testing.T) {
	t.Parallel()
	f := cs.Fields{{Name: "type", Value: "1"}, {Name: "amount", Value: "1001"}, {Name: "currencyCode", Value: "826"}}
	// One byte per common name and per length: 3 + 3 + values.
	if got, want := len(packFields(f)), 6+len("1")+len("1001")+len("826"); got != want {
		t.Errorf("len(packFields(%v)) = %d, want %d", f, got, want)
	}
}
