package payments

import (
	"maps"
	"slices"
	"strings"

	"github.com/calmony/calmonypay/internal/pay"
)

// currencies maps the ISO 4217 codes Calmony Pay can take to their numeric
// codes, which Cardstream uses. All have two minor-unit digits.
var currencies = map[string]string{"gbp": "826", "eur": "978", "usd": "840"}

// CurrencyNumeric returns the numeric code of a lowercase currency, or "".
func CurrencyNumeric(code string) string { return currencies[strings.ToLower(code)] }

// Currencies lists the supported currency codes, sorted.
func Currencies() []string { return slices.Sorted(maps.Keys(currencies)) }

// CurrencyAllowed reports whether the scope's project may charge in
// currency (lowercase): one this server supports and on the project's list
// (payment intents, checkout sessions and billing all check it).
func (s *Service) CurrencyAllowed(scope pay.Scope, currency string) bool {
	list, ok := s.currencies.Get()[scope.ProjectID]
	if !ok {
		// A project newer than the cache has the default currencies.
		list = []string{"gbp"}
	}
	return CurrencyNumeric(currency) != "" && slices.Contains(list, currency)
}
