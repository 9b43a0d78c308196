package payments

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/pay"
)

// CardInput is a card as a client sent it. It never reaches a log or an
// error message.
type CardInput struct {
	Number   string
	ExpMonth int64
	ExpYear  int64
	CVC      string
}

func cardError(code, param, message string) *pay.Error {
	return &pay.Error{Status: http.StatusPaymentRequired, Type: pay.ErrorTypeCard, Code: code, Param: param, Message: message}
}

// Validate checks a card before any gateway call, with Stripe's error codes.
func (c CardInput) Validate(now time.Time) error {
	digits := strings.ReplaceAll(strings.ReplaceAll(c.Number, " ", ""), "-", "")
	switch {
	case len(digits) < 12 || len(digits) > 19 || strings.Trim(digits, "0123456789") != "":
		return cardError("invalid_number", "card[number]", "The card number is not a valid credit card number.")
	case !luhn(digits):
		return cardError("incorrect_number", "card[number]", "Your card number is incorrect.")
	case c.ExpMonth < 1 || c.ExpMonth > 12:
		return cardError("invalid_expiry_month", "card[exp_month]", "Your card's expiration month is invalid.")
	case c.ExpYear < int64(now.Year()) || c.ExpYear > int64(now.Year())+50:
		if c.ExpYear < int64(now.Year()) && c.ExpYear >= 2000 {
			return cardError("invalid_expiry_year", "card[exp_year]", "Your card's expiration year is in the past.")
		}
		return cardError("invalid_expiry_year", "card[exp_year]", "Your card's expiration year is invalid.")
	case c.ExpYear == int64(now.Year()) && c.ExpMonth < int64(now.Month()):
		return cardError("invalid_expiry_month", "card[exp_month]", "Your card's expiration date is in the past.")
	}
	want := 3
	if Brand(digits) == "amex" {
		want = 4
	}
	if c.CVC != "" && (len(c.CVC) != want || strings.Trim(c.CVC, "0123456789") != "") {
		return cardError("invalid_cvc", "card[cvc]", "Your card's security code is invalid.")
	}
	return nil
}

// Gateway returns the card for a gateway request.
func (c CardInput) Gateway() cardstream.Card {
	return cardstream.Card{Number: c.Number, ExpiryMonth: int(c.ExpMonth), ExpiryYear: int(c.ExpYear), CVV: c.CVC}
}

func luhn(digits string) bool {
	sum, double := 0, false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum, double = sum+d, !double
	}
	return sum%10 == 0
}

// Brand names a card's network as Stripe does, from its number.
func Brand(digits string) string {
	p := func(n int) int {
		if len(digits) < n {
			return -1
		}
		v, _ := strconv.Atoi(digits[:n])
		return v
	}
	switch {
	case strings.HasPrefix(digits, "4"):
		return "visa"
	case p(2) >= 51 && p(2) <= 55, p(4) >= 2221 && p(4) <= 2720, p(2) == 50, p(2) >= 56 && p(2) <= 58, p(2) == 67 || p(2) == 63:
		return "mastercard" // Maestro is Mastercard's: Stripe reports it so
	case p(2) == 34 || p(2) == 37:
		return "amex"
	case p(2) == 36 || p(2) == 38 || p(3) >= 300 && p(3) <= 305:
		return "diners"
	case p(4) >= 3528 && p(4) <= 3589:
		return "jcb"
	case p(4) == 6011 || p(2) == 65 || p(3) >= 644 && p(3) <= 649:
		return "discover"
	case p(2) == 62:
		return "unionpay"
	}
	return "unknown"
}

// CardDetails describes a tokenised card from the input and the gateway's
// answer to its VERIFY; with res nil, from the input alone.
func CardDetails(in CardInput, res *cardstream.Result, fingerprint string) pay.CardDetails {
	digits := in.Gateway().Digits()
	d := pay.CardDetails{Brand: Brand(digits), Last4: digits[len(digits)-4:], ExpMonth: int(in.ExpMonth), ExpYear: int(in.ExpYear),
		Fingerprint: fingerprint, Funding: "unknown"}
	if res == nil {
		return d
	}
	d.Funding, d.Country = Funding(res.Card.Type), Alpha2(res.Card.IssuerCountryCode)
	d.CVCCheck, d.AddressLine1Check, d.PostalCheck = CheckResult(res.Checks.CV2), CheckResult(res.Checks.Address), CheckResult(res.Checks.Postcode)
	if in.CVC == "" {
		d.CVCCheck = ""
	}
	return d
}

// Funding maps the gateway card type to Stripe's funding value.
func Funding(cardType string) string {
	t := strings.ToLower(cardType)
	switch {
	case strings.Contains(t, "debit"), strings.Contains(t, "electron"), strings.Contains(t, "maestro"):
		return "debit"
	case strings.Contains(t, "prepaid"):
		return "prepaid"
	case strings.Contains(t, "credit"), strings.Contains(t, "american express"), strings.Contains(t, "diners"), strings.Contains(t, "jcb"):
		return "credit"
	}
	return "unknown"
}

// CheckResult maps Cardstream's AVS/CV2 words to Stripe's check values.
func CheckResult(v string) string {
	switch v {
	case cardstream.CheckMatched:
		return "pass"
	case cardstream.CheckNotMatched, cardstream.CheckPartiallyMatched:
		return "fail"
	case cardstream.CheckNotChecked:
		return "unchecked"
	case "":
		return ""
	}
	return "unavailable"
}

// Alpha2 converts the issuer country the gateway reports (alpha-3 in
// practice, alpha-2 per the docs) to Stripe's alpha-2.
func Alpha2(code string) string {
	switch len(code) {
	case 2:
		return strings.ToUpper(code)
	case 3:
		return map[string]string{"GBR": "GB", "USA": "US", "IRL": "IE", "FRA": "FR", "DEU": "DE", "ESP": "ES", "ITA": "IT",
			"NLD": "NL", "BEL": "BE", "CAN": "CA", "AUS": "AU", "JPN": "JP", "CHE": "CH", "SWE": "SE", "DNK": "DK", "NOR": "NO"}[strings.ToUpper(code)]
	}
	return ""
}

// Describe is a short, safe description of a card for logs.
func (c CardInput) String() string { return fmt.Sprintf("card ending %s", last4(c.Number)) }

func last4(n string) string {
	if len(n) < 4 {
		return "****"
	}
	return n[len(n)-4:]
}

// GoString is String, so %#v cannot print the number or CVC either.
func (c CardInput) GoString() string { return c.String() }
