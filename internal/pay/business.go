package pay

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Business is a merchant's details printed on its invoices, a project
// setting. They are the business's own published details, not a
// customer's personal data, and are stored in the clear.
type Business struct {
	Name      string  `json:"name"`
	Address   Address `json:"address"`
	VATNumber string  `json:"vat_number,omitempty"` // as NormalizeVATNumber leaves it
	Email     string  `json:"email,omitempty"`
	Phone     string  `json:"phone,omitempty"`
}

// IsZero reports whether no detail is set.
func (b Business) IsZero() bool { return b == Business{} }

// Validate checks details a merchant entered: a name of 1 to 100
// printable characters, short printable address fields, a two-letter
// country code, a UK VAT number of the right form (other countries'
// numbers are free text), a plausible email. It answers an
// invalid_request_error naming the field.
func (b Business) Validate() error {
	if strings.TrimSpace(b.Name) == "" {
		return MissingParam("name")
	}
	for _, f := range []struct{ param, value string }{
		{"name", b.Name},
		{"address[line1]", b.Address.Line1}, {"address[line2]", b.Address.Line2}, {"address[city]", b.Address.City},
		{"address[state]", b.Address.State}, {"address[postal_code]", b.Address.PostalCode},
		{"vat_number", b.VATNumber}, {"email", b.Email}, {"phone", b.Phone},
	} {
		if !utf8.ValidString(f.value) || utf8.RuneCountInString(f.value) > 100 ||
			strings.ContainsFunc(f.value, func(r rune) bool { return !unicode.IsPrint(r) }) {
			return InvalidParam(f.param, "%s must be at most 100 printable characters.", f.param)
		}
	}
	if c := b.Address.Country; c != "" && (len(c) != 2 || strings.ToUpper(c) != c || !isLetters(c)) {
		return InvalidParam("address[country]", "address[country] must be a two-letter country code (ISO 3166-1 alpha-2, for example GB).")
	}
	if v := b.VATNumber; strings.HasPrefix(NormalizeVATNumber(v), "GB") && !ValidUKVATNumber(v) {
		return InvalidParam("vat_number", "Invalid UK VAT number %q: it is GB followed by 9 or 12 digits (or GBGD or GBHA and 3 digits).", v)
	}
	if e := b.Email; e != "" {
		local, domain, ok := strings.Cut(e, "@")
		if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || strings.ContainsAny(e, " \t") {
			return InvalidParam("email", "Invalid email address: %s", e)
		}
	}
	return nil
}

func isLetters(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r < 'A' || r > 'Z' && r < 'a' || r > 'z' })
}

// NormalizeVATNumber upper-cases a VAT number and removes the spaces, dots
// and dashes people write in it: "gb 123 4567 89" is "GB123456789".
func NormalizeVATNumber(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '.', '-', '\t':
			return -1
		}
		return unicode.ToUpper(r)
	}, strings.TrimSpace(s))
}

// ValidUKVATNumber reports whether s, normalised, has the form of a UK VAT
// registration number: GB and 9 digits, GB and 12 digits (a branch of a
// group), or GBGD or GBHA and 3 digits (government departments, health
// authorities). It checks the form only, not the check digits or whether
// HMRC issued the number.
func ValidUKVATNumber(s string) bool {
	s = NormalizeVATNumber(s)
	rest, ok := strings.CutPrefix(s, "GB")
	if !ok {
		return false
	}
	if tail, ok := strings.CutPrefix(rest, "GD"); ok {
		return len(tail) == 3 && digits(tail)
	}
	if tail, ok := strings.CutPrefix(rest, "HA"); ok {
		return len(tail) == 3 && digits(tail)
	}
	return (len(rest) == 9 || len(rest) == 12) && digits(rest)
}

func digits(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return r < '0' || r > '9' })
}
