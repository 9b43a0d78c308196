package payments

import (
	"cmp"
	"net/http"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/pay"
)

// declineMessages are Stripe's messages per decline code.
var declineMessages = map[string]string{
	"insufficient_funds":      "Your card has insufficient funds.",
	"expired_card":            "Your card has expired.",
	"incorrect_cvc":           "Your card's security code is incorrect.",
	"incorrect_zip":           "Your card's postal code is incorrect.",
	"incorrect_address":       "Your card's address is incorrect.",
	"incorrect_number":        "Your card number is incorrect.",
	"call_issuer":             "Your card was declined. Your customer should contact their card issuer for more information.",
	"authentication_required": "Your card was declined. This transaction requires authentication.",
	"pickup_card":             "Your card was declined.",
	"lost_card":               "Your card was declined.",
	"stolen_card":             "Your card was declined.",
	"fraudulent":              "Your card was declined.",
	"processing_error":        "An error occurred while processing your card. Try again in a little bit.",
	"issuer_not_available":    "Your card was declined. Try again in a little bit.",
}

// DeclineError turns a gateway refusal into Stripe's card_error (HTTP 402).
func DeclineError(res *cardstream.Result) *pay.Error {
	return Decline(cmp.Or(res.DeclineCode, "generic_decline"))
}

// Decline is Stripe's card_error (HTTP 402) for a decline code. Expired
// cards, wrong security codes and processing errors get their own codes,
// as in Stripe; every other decline is card_declined with the decline code.
func Decline(dc string) *pay.Error {
	code := "card_declined"
	switch dc {
	case "expired_card", "incorrect_cvc", "incorrect_number", "processing_error", "authentication_required":
		code = dc
	}
	msg, ok := declineMessages[dc]
	if !ok {
		msg = "Your card was declined."
	}
	return &pay.Error{Status: http.StatusPaymentRequired, Type: pay.ErrorTypeCard, Code: code, DeclineCode: dc, Message: msg}
}

// LastPaymentError is the payment intent's record of a decline.
func LastPaymentError(e *pay.Error, pm string) *pay.LastPaymentError {
	return &pay.LastPaymentError{Type: e.Type, Code: e.Code, DeclineCode: e.DeclineCode, Message: e.Message, PaymentMethod: pm}
}
