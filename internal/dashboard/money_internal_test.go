package dashboard

import "testing"

func TestParseMajor(t *testing.T) {
	for _, tt := range []struct {
		text, currency string
		want           int64
		ok             bool
	}{
		{"12.50", "gbp", 1250, true},
		{"12.5", "gbp", 1250, true},
		{"12", "gbp", 1200, true},
		{" 0.01 ", "eur", 1, true},
		{"0.07", "", 7, true},
		{"999999999999.99", "usd", 99999999999999, true},
		{"1250", "jpy", 1250, true},
		{"12.50", "jpy", 0, false},
		{"12.345", "gbp", 0, false},
		{"12.", "gbp", 0, false},
		{".5", "gbp", 0, false},
		{"-1", "gbp", 0, false},
		{"+1", "gbp", 0, false},
		{"1e3", "gbp", 0, false},
		{"1,000", "gbp", 0, false},
		{"0x10", "gbp", 0, false},
		{"1000000000000", "gbp", 0, false},
		{"", "gbp", 0, false},
		{"١٢", "gbp", 0, false},
	} {
		got, err := parseMajor("amount", "Amount", tt.text, tt.currency)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseMajor(%q, %s) = %d, %v; want %d (ok %v)", tt.text, tt.currency, got, err, tt.want, tt.ok)
		}
		if te, isTE := err.(*trpcError); err != nil && (!isTE || te.field != "amount") {
			t.Errorf("parseMajor(%q) error %v does not name the field", tt.text, err)
		}
	}
	if got := major(1205, "gbp"); got != "12.05" {
		t.Errorf("major(1205 gbp) = %q", got)
	}
}

func TestNiceCeil(t *testing.T) {
	for n, want := range map[int64]int64{0: 100, 99: 100, 101: 200, 201: 250, 251: 500, 501: 1000, 7749: 10000, 10001: 20000, 357256: 500000} {
		if got := niceCeil(n); got != want {
			t.Errorf("niceCeil(%d) = %d; want %d", n, got, want)
		}
	}
}
