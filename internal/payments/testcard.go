package payments

import (
	"cmp"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/pay"
)

// testCard is one of Stripe's published test cards as test mode takes it.
// The Cardstream sandbox knows only its own published cards
// (cardstream-protocol.md §11.3), so each is verified and charged as one
// of those, its stand-in, with the stand-in's own security code and an
// expiry of its own: a Stripe test card works with any security code and
// any future expiry. The payment method shows the Stripe card: its brand
// and last 4 digits (from its number), its funding and issuer country, and
// a fingerprint over its number.
type testCard struct {
	number        string // Stripe's
	paymentMethod string // Stripe's test payment-method ID for it, if any
	funding       string
	country       string
	standIn       string // the Cardstream test card charged in its place
	standInCVC    string
	// decline is the Stripe decline code its charges get ("" for none).
	// Unless attaches, attaching it to a customer is declined as well:
	// Stripe's decline test cards cannot be attached to a customer, except
	// the one made to fail only when charged.
	decline  string
	attaches bool
	// threeDS is its 3-D Secure behaviour (pay.TestThreeDS*); "" is
	// pay.TestThreeDSNone.
	threeDS string
}

// Cardstream's published test cards that stand in for Stripe's.
const (
	visaCredit       = "4929421234600821"
	visaDebit        = "4539791001730106"
	visaDecline      = "4543059999999982"
	visaDiscover     = "4543059999999990" // Cardstream has no Discover card
	mastercardCredit = "5301250070000191"
	mastercard2      = "5413339000001000"
	mastercardDebit  = "5573471234567898"
	amexCredit       = "374245455400001"
	dinersCredit     = "36432685260294"
	jcbCredit        = "3540599999991047"
)

// testCards are the Stripe test cards test mode knows.
var testCards = [...]testCard{
	{number: "4242424242424242", paymentMethod: "pm_card_visa", funding: "credit", country: "US", standIn: visaCredit, standInCVC: "356"},
	{number: "4000056655665556", paymentMethod: "pm_card_visa_debit", funding: "debit", country: "US", standIn: visaDebit, standInCVC: "289"},
	{number: "4000008260000000", paymentMethod: "pm_card_gb", funding: "credit", country: "GB", standIn: visaCredit, standInCVC: "356"},
	{number: "5555555555554444", paymentMethod: "pm_card_mastercard", funding: "credit", country: "US", standIn: mastercardCredit, standInCVC: "419"},
	{number: "2223003122003222", funding: "credit", country: "US", standIn: mastercard2, standInCVC: "304"},
	{number: "5200828282828210", paymentMethod: "pm_card_mastercard_debit", funding: "debit", country: "US", standIn: mastercardDebit, standInCVC: "159"},
	{number: "378282246310005", paymentMethod: "pm_card_amex", funding: "credit", country: "US", standIn: amexCredit, standInCVC: "4887"},
	{number: "6011111111111117", paymentMethod: "pm_card_discover", funding: "credit", country: "US", standIn: visaDiscover, standInCVC: "689"},
	{number: "3056930009020004", paymentMethod: "pm_card_diners", funding: "credit", country: "US", standIn: dinersCredit, standInCVC: "111"},
	{number: "3566002020360505", paymentMethod: "pm_card_jcb", funding: "credit", country: "US", standIn: jcbCredit, standInCVC: "209"},
	declining("4000000000000002", "pm_card_chargeDeclined", "generic_decline", false),
	declining("4000000000009995", "pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds", false),
	declining("4000000000009987", "pm_card_chargeDeclinedLostCard", "lost_card", false),
	declining("4000000000009979", "pm_card_chargeDeclinedStolenCard", "stolen_card", false),
	declining("4000000000000069", "pm_card_chargeDeclinedExpiredCard", "expired_card", false),
	declining("4000000000000127", "pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", false),
	declining("4000000000000119", "pm_card_chargeDeclinedProcessingError", "processing_error", false),
	declining("4000000000000341", "pm_card_chargeCustomerFail", "generic_decline", true),
	// 3-D Secure (Stripe's "Authentication and setup" and "3D Secure" test
	// cards), all charged as Cardstream's Visa credit card through the
	// simulator's 3-D Secure (threeDSMonth).
	threeDS("4000002500003155", "pm_card_authenticationRequiredOnSetup", "FR", pay.TestThreeDSOnSetup),
	threeDS("4000002760003184", "pm_card_authenticationRequired", "DE", pay.TestThreeDSRequired),
	threeDS("4000003800000446", "pm_card_authenticationRequiredSetupForOffSession", "IT", pay.TestThreeDSSetUp),
	threeDS("4000000000003220", "pm_card_threeDSecure2Required", "US", pay.TestThreeDSRequired),
	threeDS("4000000000003063", "pm_card_threeDSecureRequired", "US", pay.TestThreeDSRequired),
	threeDS("4000000000003055", "pm_card_threeDSecureOptional", "US", pay.TestThreeDSOptional),
}

// threeDS is one of Stripe's 3-D Secure test cards, all Visa credit.
func threeDS(number, paymentMethod, country, behaviour string) testCard {
	return testCard{number: number, paymentMethod: paymentMethod, funding: "credit", country: country, standIn: visaCredit, standInCVC: "356",
		threeDS: behaviour}
}

// declining is one of Stripe's decline test cards, all US Visa credit.
func declining(number, paymentMethod, decline string, attaches bool) testCard {
	return testCard{number: number, paymentMethod: paymentMethod, funding: "credit", country: "US", standIn: visaDecline, standInCVC: "110",
		decline: decline, attaches: attaches}
}

// TestCard is one of Stripe's test cards. Only test mode looks them up: in
// live mode Stripe's numbers are ordinary card numbers.
type TestCard struct{ c *testCard }

// FindTestCard returns the Stripe test card with the number in card.
func FindTestCard(card CardInput) (TestCard, bool) {
	digits := card.Gateway().Digits()
	for i := range testCards {
		if testCards[i].number == digits {
			return TestCard{&testCards[i]}, true
		}
	}
	return TestCard{}, false
}

// TestPaymentMethodCard returns the card behind one of Stripe's test
// payment-method IDs (pm_card_visa), valid for two more years.
func TestPaymentMethodCard(id string, now time.Time) (CardInput, bool) {
	for _, c := range testCards {
		if c.paymentMethod == id && id != "" {
			return CardInput{Number: c.number, ExpMonth: 12, ExpYear: int64(now.Year() + 2)}, true
		}
	}
	return CardInput{}, false
}

// IsTestPaymentMethodID reports whether id names one of Stripe's test
// payment methods.
func IsTestPaymentMethodID(id string) bool {
	_, ok := TestPaymentMethodCard(id, time.Time{})
	return ok
}

// StandIn returns the Cardstream test card the gateway verifies and
// charges in t's place: with its own security code, and January two years
// on (were 3-D Secure to run, January is the simulator's frictionless
// "authenticated", §11.4, as Stripe's test cards other than its 3-D Secure
// ones behave).
func (t TestCard) StandIn(now time.Time) CardInput {
	return CardInput{Number: t.c.standIn, ExpMonth: 1, ExpYear: int64(now.Year() + 2), CVC: t.c.standInCVC}
}

// Describe sets on d what Stripe shows for the card, and its behaviour
// when charged or attached.
func (t TestCard) Describe(d *pay.CardDetails) {
	d.Funding, d.Country = t.c.funding, t.c.country
	d.TestDecline, d.TestAttaches = t.c.decline, t.c.attaches
	d.TestThreeDS = t.c.threeDS
	if d.TestThreeDS == "" {
		d.TestThreeDS = pay.TestThreeDSNone
	}
}

// threeDSMonth is the expiry month a test-mode customer-initiated sale of a
// card is sent with, which picks the Cardstream simulator's 3-D Secure
// outcome (cardstream-protocol.md §11.4): 12 a challenge at its test ACS,
// 01 authenticated without one (frictionless), 11 not enrolled. 0 keeps
// the card's own expiry: a card that is not one of Stripe's (Cardstream's
// published cards) gets the simulator's outcome for the month it was
// saved with, as the simulator documents. request is
// request_three_d_secure.
func threeDSMonth(d pay.CardDetails, request string) int {
	switch d.TestThreeDS {
	case "":
		if request == "challenge" {
			return 12
		}
		return 0
	case pay.TestThreeDSRequired, pay.TestThreeDSOnSetup, pay.TestThreeDSSetUp:
		return 12
	case pay.TestThreeDSOptional:
		if request == "any" || request == "challenge" {
			return 12
		}
		return 1
	}
	return 11 // supported, not enrolled
}

// threeDSApplies reports whether a test-mode customer-initiated sale of a
// card asks for 3-D Secure: always for Stripe's 3-D Secure test cards,
// otherwise when request_three_d_secure asks for it (any or challenge), so
// that Stripe's other test cards, and Cardstream's own, are charged as
// before unless the caller asks.
func testThreeDSApplies(d pay.CardDetails, request string) bool {
	switch d.TestThreeDS {
	case pay.TestThreeDSRequired, pay.TestThreeDSOnSetup, pay.TestThreeDSSetUp, pay.TestThreeDSOptional:
		return true
	}
	return request == "any" || request == "challenge"
}

// OffSessionAuthentication is the Stripe decline code a test-mode
// merchant-initiated payment of a card gets because its issuer demands
// authentication the customer is not there to give
// ("authentication_required"), or "": Stripe's cards that require
// authentication on every payment, and those that require it until set up
// for off-session use, before they were (pay.CardDetails.SetUpOffSession).
func OffSessionAuthentication(d pay.CardDetails) string {
	switch {
	case d.TestThreeDS == pay.TestThreeDSRequired,
		d.TestThreeDS == pay.TestThreeDSOnSetup && !d.SetUpOffSession:
		return "authentication_required"
	}
	return ""
}

// AttachDecline is the card error attaching a card to a customer gets: one
// of Stripe's decline test cards is declined as it would be charged, the
// others are not.
func AttachDecline(d pay.CardDetails) error {
	if d.TestDecline == "" || d.TestAttaches {
		return nil
	}
	return Decline(d.TestDecline)
}

// DeclineTestSale makes a sale of a card that declines with the Stripe
// decline code decline (a Stripe decline test card's TestDecline) decline
// as Stripe's would. Where the Cardstream simulator can produce the decline
// it changes req so the gateway declines it: a wrong security code for
// incorrect_cvc, a past expiry for expired_card. For the others (the
// simulator declines by amount and CV2 only, with other codes) it returns
// the declined answer, decided here: the sale must not be sent.
func DeclineTestSale(decline string, req *cardstream.SaleRequest) *cardstream.Result {
	switch decline {
	case "":
		return nil
	case "incorrect_cvc":
		req.CVV, req.Checks.CV2 = "000", cardstream.StrictCV2CheckPref
		return nil
	case "expired_card":
		// The xref's card with the expiry replaced, as a renewed card's.
		req.Extra = append(req.Extra, cardstream.Field{Name: "cardExpiryMonth", Value: "01"},
			cardstream.Field{Name: "cardExpiryYear", Value: "20"})
		return nil
	}
	msg := "TEST CARD DECLINED: " + decline + " (Stripe test card; decided by Calmony Pay, not sent to the gateway)"
	return &cardstream.Result{Action: "SALE", Outcome: cardstream.OutcomeDeclined, DeclineCode: decline, State: cardstream.StateDeclined,
		ResponseMessage: msg, Fields: cardstream.Fields{{Name: "action", Value: "SALE"}, {Name: "responseMessage", Value: msg}}}
}

// HostedStandIn is how a test gateway's hosted page takes one of Stripe's
// test card numbers typed into it (sandbox.Options.StandIn): charged as its
// Cardstream stand-in, and declined if Stripe's card declines charges. The
// server decides a Direct charge's decline itself (DeclineTestSale); on the
// hosted page the card never reaches the server, so the gateway must.
func HostedStandIn(number string) (standIn string, decline, ok bool) {
	for _, c := range testCards {
		if c.number == number {
			return c.standIn, c.decline != "", true
		}
	}
	return "", false, false
}

// HostedStandInChallenge reports whether a test gateway's hosted page
// challenges one of Stripe's test card numbers typed into it
// (sandbox.Options.StandInChallenge): Stripe's cards that require 3-D
// Secure show the simulator's test ACS there, where the shopper passes or
// fails the challenge.
func HostedStandInChallenge(number string) bool {
	for _, c := range testCards {
		if c.number == number {
			switch c.threeDS {
			case pay.TestThreeDSRequired, pay.TestThreeDSOnSetup, pay.TestThreeDSSetUp:
				return true
			}
			return false
		}
	}
	return false
}

// TestCardInfo describes one of Stripe's test cards as test mode takes it,
// for documentation (the API reference's test cards table).
type TestCardInfo struct {
	Number        string
	PaymentMethod string // Stripe's test payment-method ID; "" if none
	Funding       string
	Country       string
	// Decline is the decline code its charges get; "" when they succeed.
	Decline string
	// Attaches reports whether a declining card can still be attached to
	// a customer (only the one made to fail when charged).
	Attaches bool
	// ThreeDS is its 3-D Secure behaviour (pay.TestThreeDS*).
	ThreeDS string
}

// TestCards lists the Stripe test cards test mode knows, in Stripe's order.
func TestCards() []TestCardInfo {
	out := make([]TestCardInfo, 0, len(testCards))
	for _, c := range testCards {
		out = append(out, TestCardInfo{Number: c.number, PaymentMethod: c.paymentMethod, Funding: c.funding, Country: c.country,
			Decline: c.decline, Attaches: c.attaches, ThreeDS: cmp.Or(c.threeDS, pay.TestThreeDSNone)})
	}
	return out
}
