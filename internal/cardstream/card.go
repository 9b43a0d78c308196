package cardstream

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// TransactionType is the gateway "type" field (§5.2).
type TransactionType int

// Transaction types.
const (
	// TypeECOM is a cardholder-present online payment (3-D Secure applies).
	TypeECOM TransactionType = 1
	// TypeMOTO is mail/telephone order; also most merchant-initiated and
	// unscheduled payments.
	TypeMOTO TransactionType = 2
	// TypeContinuousAuthority is a recurring or instalment MIT.
	TypeContinuousAuthority TransactionType = 9
)

func (t TransactionType) valid() bool {
	return t == TypeECOM || t == TypeMOTO || t == TypeContinuousAuthority
}

// AgreementType is rtAgreementType, the credential-on-file flag (§8.4).
type AgreementType string

// Agreement types.
const (
	AgreementCardOnFile      AgreementType = "cardonfile"
	AgreementRecurring       AgreementType = "recurring"
	AgreementInstalment      AgreementType = "instalment"
	AgreementUnscheduled     AgreementType = "unscheduled"
	AgreementResubmission    AgreementType = "resubmission"
	AgreementReauthorisation AgreementType = "reauthorisation"
	AgreementDelayedCharges  AgreementType = "delayedcharges"
	AgreementNoShow          AgreementType = "noshow"
)

// Card is raw card data. It never appears in errors or logs: String and
// LogValue show only the last four digits.
type Card struct {
	Number string
	// ExpiryMonth is 1–12.
	ExpiryMonth int
	// ExpiryYear is either two digits (27) or four (2027).
	ExpiryYear int
	CVV        string
}

// String returns a redacted description.
func (c Card) String() string {
	return fmt.Sprintf("card ending %s exp %02d/%02d", last4(c.Number), c.ExpiryMonth, c.ExpiryYear%100)
}

// GoString is String, so %#v cannot print the number either.
func (c Card) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the number or CVV.
func (c Card) LogValue() slog.Value {
	return slog.GroupValue(slog.String("last4", last4(c.Number)),
		slog.Int("exp_month", c.ExpiryMonth), slog.Int("exp_year", c.ExpiryYear))
}

// Digits returns the card number without spaces or dashes.
func (c Card) Digits() string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, c.Number)
}

func last4(number string) string {
	d := Card{Number: number}.Digits()
	if len(d) < 4 {
		return "????"
	}
	return d[len(d)-4:]
}

// validate checks the card locally; messages never contain the values.
func (c Card) validate() error {
	d := c.Digits()
	if len(d) < 12 || len(d) > 19 || strings.Trim(d, "0123456789") != "" {
		return fmt.Errorf("%w: card number must be 12–19 digits", ErrInvalidRequest)
	}
	if c.ExpiryMonth < 1 || c.ExpiryMonth > 12 {
		return fmt.Errorf("%w: card expiry month must be 1–12", ErrInvalidRequest)
	}
	if c.ExpiryYear < 0 || (c.ExpiryYear > 99 && (c.ExpiryYear < 2000 || c.ExpiryYear > 2099)) {
		return fmt.Errorf("%w: card expiry year must be YY or 20YY", ErrInvalidRequest)
	}
	return validateCVV(c.CVV)
}

func validateCVV(cvv string) error {
	if cvv != "" && (len(cvv) < 3 || len(cvv) > 4 || strings.Trim(cvv, "0123456789") != "") {
		return fmt.Errorf("%w: card CVV must be 3 or 4 digits", ErrInvalidRequest)
	}
	return nil
}

// addTo writes the card fields.
func (c Card) addTo(f *Fields) {
	f.Set("cardNumber", c.Digits())
	f.Set("cardExpiryMonth", fmt.Sprintf("%02d", c.ExpiryMonth))
	f.Set("cardExpiryYear", fmt.Sprintf("%02d", c.ExpiryYear%100))
	f.SetNonEmpty("cardCVV", c.CVV)
}

// Customer holds the optional customer fields (§5.3); empty ones are not
// sent. On the hosted page they prefill the form.
type Customer struct {
	Name        string
	Company     string
	Address     string
	Town        string
	County      string
	Postcode    string
	CountryCode string
	Phone       string
	Mobile      string
	Email       string
}

func (c Customer) addTo(f *Fields) {
	for _, kv := range [][2]string{
		{"customerName", c.Name}, {"customerCompany", c.Company}, {"customerAddress", c.Address},
		{"customerTown", c.Town}, {"customerCounty", c.County}, {"customerPostcode", c.Postcode},
		{"customerCountryCode", c.CountryCode}, {"customerPhone", c.Phone},
		{"customerMobile", c.Mobile}, {"customerEmail", c.Email},
	} {
		f.SetNonEmpty(kv[0], kv[1])
	}
}

// addExtra appends caller-supplied fields without letting them replace
// fields this package manages.
func addExtra(f *Fields, extra Fields) error {
	for _, fl := range extra {
		root := Root(fl.Name)
		if root == SignatureField || f.Has(fl.Name) || root == "merchantID" || root == "action" {
			return fmt.Errorf("%w: extra field %q clashes with a managed field", ErrInvalidRequest, fl.Name)
		}
		*f = append(*f, fl)
	}
	return nil
}

func formatAmount(a int64) string { return strconv.FormatInt(a, 10) }
