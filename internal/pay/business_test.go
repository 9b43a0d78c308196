package pay

import (
	"errors"
	"testing"
)

func TestValidUKVATNumber(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"GB123456789", true},
		{"GB123456789012", true},
		{"gb 123 4567 89", true},
		{"GB 123-4567-89", true},
		{"GBGD001", true},
		{"GBHA599", true},
		{"GB12345678", false},      // 8 digits
		{"GB1234567890", false},    // 10
		{"GB12345678901", false},   // 11
		{"GB1234567890123", false}, // 13
		{"GB12345678A", false},
		{"GBGD0001", false},
		{"GBHA12", false},
		{"GBXX123", false},
		{"123456789", false},
		{"XI123456789", false}, // Northern Ireland: free text, not a GB number
		{"DE123456789", false},
		{"GB", false},
		{"", false},
		{"GB１２３４５６７８９", false}, // full-width digits
	} {
		if got := ValidUKVATNumber(tt.in); got != tt.want {
			t.Errorf("ValidUKVATNumber(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeVATNumber(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{" gb 123.4567-89 ": "GB123456789", "de123456789": "DE123456789", "": ""} {
		if got := NormalizeVATNumber(in); got != want {
			t.Errorf("NormalizeVATNumber(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBusinessValidate(t *testing.T) {
	t.Parallel()
	good := Business{Name: "Tea Shop Ltd", Address: Address{Line1: "1 High Street", City: "London", PostalCode: "E1 6AN", Country: "GB"},
		VATNumber: "GB123456789", Email: "accounts@tea.example"}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(%+v) = %v", good, err)
	}
	for _, other := range []string{"DE123456789", "FR 12 345678901", "CHE-123.456.789 MWST", ""} {
		b := good
		b.VATNumber = other
		if err := b.Validate(); err != nil {
			t.Errorf("Validate with VAT number %q = %v, want nil (free text outside the UK)", other, err)
		}
	}
	for _, tt := range []struct {
		param string
		edit  func(*Business)
	}{
		{"name", func(b *Business) { b.Name = " " }},
		{"name", func(b *Business) { b.Name = "a\x00b" }},
		{"vat_number", func(b *Business) { b.VATNumber = "GB12345" }},
		{"vat_number", func(b *Business) { b.VATNumber = "gb 1234" }},
		{"email", func(b *Business) { b.Email = "accounts" }},
		{"email", func(b *Business) { b.Email = "a@b@c" }},
		{"address[country]", func(b *Business) { b.Address.Country = "gb" }},
		{"address[country]", func(b *Business) { b.Address.Country = "GBR" }},
		{"address[line1]", func(b *Business) { b.Address.Line1 = string(make([]byte, 101)) }},
		{"phone", func(b *Business) { b.Phone = "0\n1" }},
	} {
		b := good
		tt.edit(&b)
		err := b.Validate()
		var pe *Error
		if !errors.As(err, &pe) || pe.Param != tt.param || pe.Status != 400 {
			t.Errorf("Validate(%+v) = %v, want a 400 naming %s", b, err, tt.param)
		}
	}
	if !(Business{}).IsZero() || good.IsZero() {
		t.Error("IsZero is wrong")
	}
}

func TestLineTaxPercent(t *testing.T) {
	t.Parallel()
	for p, want := range map[Percent]string{200000: "20%", 175000: "17.5%", 50000: "5%", 0: "0%", 1: "0.0001%", 123450: "12.345%", 1000000: "100%", -50000: "-5%"} {
		if got := (LineTax{Percentage: p}).Percent(); got != want {
			t.Errorf("LineTax{Percentage: %d}.Percent() = %q, want %q", p, got, want)
		}
	}
}
