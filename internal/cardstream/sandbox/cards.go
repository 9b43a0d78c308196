package sandbox

import (
	"slices"
	"strings"
	"unicode"

	cs "github.com/calmony/calmonypay/internal/cardstream"
)

// testCard is one of the simulator's published cards (§11.3).
type testCard struct {
	number, cvv, address, postcode string
	typeCode, typeName             string
	schemeCode, scheme             string
	// noAVS marks cards whose scheme has no address checking.
	noAVS bool
}

func visa(number, cvv, address, postcode, typeCode, typeName string) testCard {
	return testCard{number, cvv, address, postcode, typeCode, typeName, "VC", "Visa", false}
}

func mastercard(number, cvv, address, postcode, typeCode, typeName string) testCard {
	return testCard{number, cvv, address, postcode, typeCode, typeName, "MC", "Mastercard", false}
}

// testCards returns the published test cards. It returns an array, which
// stays on the caller's stack: a slice would be allocated on every lookup,
// several times per transaction.
func testCards() [17]testCard {
	return [...]testCard{
		visa("4929421234600821", "356", "Flat 6 Primrose Rise, 347 Lavender Road, Northampton", "NN17 8YG", "VC", "Visa Credit"),
		visa("4543059999999982", "110", "76 Roseby Avenue, Manchester", "M63X 7TH", "VC", "Visa Credit"),
		visa("4543059999999990", "689", "23 Rogerham Mansions, 4578 Ermine Street, Borehamwood", "WD54 8TH", "VC", "Visa Credit"),
		visa("4539791001730106", "289", "Unit 5 Pickwick Walk, 120 Uxbridge Road, Hatch End, Middlesex", "HA6 7HJ", "VD", "Visa Debit"),
		visa("4462000000000003", "672", "Mews 57, Ladybird Drive, Denmark", "65890", "VD", "Visa Debit"),
		visa("4917480000000008", "009", "5-6 Ross Avenue, Birmingham", "B67 8UJ", "EL", "Visa Electron"),
		visa("4012001037141112", "083", "16 Test Street", "TE15 5ST", "VC", "Visa Credit"),
		mastercard("5301250070000191", "419", "25 The Larches, Narborough, Leicester", "LE10 2RT", "MC", "Mastercard Credit"),
		mastercard("5413339000001000", "304", "Pear Tree Cottage, The Green, Milton Keynes", "MK11 7UY", "MC", "Mastercard Credit"),
		mastercard("5434849999999951", "470", "34a Rubbery Close, Cloisters Run, Rugby", "CV21 8JT", "MC", "Mastercard Credit"),
		mastercard("5434849999999993", "557", "4-7 The Hay Market, Grantham", "NG32 4HG", "MC", "Mastercard Credit"),
		mastercard("5573471234567898", "159", "Merevale Avenue, Leicester", "LE10 2BU", "MD", "Mastercard Debit"),
		{"6759015050123445002", "309", "The Parkway, 5258 Larches Approach, Hull, North Humberside", "HU10 5OP", "MA", "Maestro", "MA", "Maestro", false},
		{"6759016800000120097", "701", "The Manor, Wolvey Road, Middlesex", "TW7 9FF", "MA", "Maestro", "MA", "Maestro", false},
		{"3540599999991047", "209", "2 Middle Wallop, Merideth-in-the-Wolds, Lincolnshire", "LN2 8HG", "JC", "JCB", "JC", "JCB", false},
		{"374245455400001", "4887", "The Hunts Way, Southampton", "SO18 1GW", "AM", "American Express", "AM", "American Express", false},
		{"36432685260294", "111", "", "", "DI", "Diners Club", "DI", "Diners Club", true},
	}
}

// findCard returns the test card with number, if any.
func findCard(number string) (testCard, bool) {
	for _, c := range testCards() {
		if c.number == number {
			return c, true
		}
	}
	return testCard{}, false
}

// luhn reports whether number passes the Luhn check.
func luhn(number string) bool {
	sum, double := 0, false
	for i := len(number) - 1; i >= 0; i-- {
		d := int(number[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum, double = sum+d, !double
	}
	return sum%10 == 0
}

// mask returns the gateway's card number mask: first six, stars, last four.
func mask(number string) string {
	if len(number) < 10 {
		return strings.Repeat("*", len(number))
	}
	return number[:6] + strings.Repeat("*", len(number)-10) + number[len(number)-4:]
}

// appendCardFields appends to f the fields that describe a card in a
// response; unknown cards get XX (§6).
func appendCardFields(f cs.Fields, c card) cs.Fields {
	tc, ok := findCard(c.number)
	if !ok {
		tc = testCard{typeCode: "XX", typeName: "Unknown", schemeCode: "XX", scheme: "Unknown"}
	}
	return append(f, cs.Fields{
		{Name: "cardNumberMask", Value: mask(c.number)},
		{Name: "cardTypeCode", Value: tc.typeCode}, {Name: "cardType", Value: tc.typeName},
		{Name: "cardSchemeCode", Value: tc.schemeCode}, {Name: "cardScheme", Value: tc.scheme},
		{Name: "cardIssuer", Value: "Unknown"}, {Name: "cardIssuerCountry", Value: "United Kingdom"},
		{Name: "cardIssuerCountryCode", Value: "GBR"},
		{Name: "cardExpiryMonth", Value: twoDigits(int(c.month))}, {Name: "cardExpiryYear", Value: twoDigits(int(c.year))},
	}...)
}

// check is one AVS/CV2 check result. It is a byte, not the result's words,
// because every stored transaction keeps three.
type check uint8

const (
	checkNotKnown check = iota
	checkNotChecked
	checkMatched
	checkNotMatched
	checkPartiallyMatched
)

// String returns the result as the gateway words it (cv2Check and the
// check preferences).
func (c check) String() string {
	switch c {
	case checkNotChecked:
		return cs.CheckNotChecked
	case checkMatched:
		return cs.CheckMatched
	case checkNotMatched:
		return cs.CheckNotMatched
	case checkPartiallyMatched:
		return cs.CheckPartiallyMatched
	}
	return cs.CheckNotKnown
}

// avsResult holds AVS/CV2 results.
type avsResult struct {
	cv2, address, postcode check
}

// checkAVS compares the CVV, address and postcode sent with the card's.
// Without avscv2CheckRequired=N the checks always run.
func checkAVS(c card, cvv string, req cs.Fields) avsResult {
	if req.Get("avscv2CheckRequired") == "N" {
		return avsResult{checkNotChecked, checkNotChecked, checkNotChecked}
	}
	tc, ok := findCard(c.number)
	if !ok {
		return avsResult{checkNotKnown, checkNotKnown, checkNotKnown}
	}
	res := avsResult{cv2: matchExact(cvv, tc.cvv)}
	if tc.noAVS {
		res.address, res.postcode = checkNotKnown, checkNotKnown
		return res
	}
	res.address = matchAddress(req.Get("customerAddress"), tc.address)
	res.postcode = matchPostcode(postcodeOf(req), tc.postcode)
	return res
}

// postcodeOf accepts both spellings seen in the sources (§5.3).
func postcodeOf(req cs.Fields) string {
	if v := req.Get("customerPostcode"); v != "" {
		return v
	}
	return req.Get("customerPostCode")
}

func matchExact(got, want string) check {
	switch {
	case got == "":
		return checkNotChecked
	case got == want:
		return checkMatched
	}
	return checkNotMatched
}

// matchAddress compares the numbers in the addresses, as AVS does; for an
// address without numbers it compares the letters.
func matchAddress(got, want string) check {
	if strings.TrimSpace(got) == "" {
		return checkNotChecked
	}
	gd, wd := numbers(got), numbers(want)
	switch {
	case len(wd) == 0 && alnum(got) == alnum(want):
		return checkMatched
	case len(wd) == 0:
		return checkNotMatched
	case slices.Equal(gd, wd):
		return checkMatched
	case len(gd) > 0 && (slices.Contains(wd, gd[0]) || slices.Contains(gd, wd[0])):
		return checkPartiallyMatched
	}
	return checkNotMatched
}

func matchPostcode(got, want string) check {
	if strings.TrimSpace(got) == "" {
		return checkNotChecked
	}
	if alnum(got) == alnum(want) {
		return checkMatched
	}
	return checkNotMatched
}

// numbers returns the runs of digits in s.
func numbers(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsDigit(r) })
}

// alnum returns s uppercased with everything but letters and digits removed.
func alnum(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToUpper(r)
		}
		return -1
	}, s)
}

// digit is the avscv2ResponseCode digit for a check result.
func (c check) digit() string {
	switch c {
	case checkNotChecked:
		return "1"
	case checkMatched:
		return "2"
	case checkNotMatched:
		return "4"
	case checkPartiallyMatched:
		return "8"
	}
	return "0"
}

// appendFields appends the AVS/CV2 response fields to f.
func (a avsResult) appendFields(f cs.Fields) cs.Fields {
	return append(f, cs.Fields{
		{Name: "avscv2ResponseCode", Value: a.cv2.digit() + a.postcode.digit() + a.address.digit() + "2"},
		{Name: "avscv2ResponseMessage", Value: a.message()},
		{Name: "avscv2AuthEntity", Value: "acquirer"},
		{Name: "cv2Check", Value: a.cv2.String()}, {Name: "addressCheck", Value: a.address.String()},
		{Name: "postcodeCheck", Value: a.postcode.String()},
	}...)
}

func (a avsResult) message() string {
	cv2, addr := a.cv2 == checkMatched, a.address == checkMatched && a.postcode == checkMatched
	switch {
	case cv2 && addr:
		return "ALL MATCH"
	case cv2:
		return "SECURITY CODE MATCH ONLY"
	case addr:
		return "ADDRESS MATCH ONLY"
	case a.cv2 == checkNotChecked && a.address == checkNotChecked:
		return "DATA NOT CHECKED"
	}
	return "NO DATA MATCHES"
}

// accepted reports whether the merchant's preferences accept the results.
// An absent preference accepts everything (the test accounts' setting).
func (a avsResult) accepted(req cs.Fields) bool {
	return prefAccepts(req.Get("cv2CheckPref"), a.cv2.String()) &&
		prefAccepts(req.Get("addressCheckPref"), a.address.String()) &&
		prefAccepts(req.Get("postcodeCheckPref"), a.postcode.String())
}

func prefAccepts(pref, result string) bool {
	if strings.TrimSpace(pref) == "" {
		return true
	}
	for p := range strings.SplitSeq(pref, ",") {
		if strings.TrimSpace(p) == result {
			return true
		}
	}
	return false
}

// authoriseAmount applies the simulator's test amounts (§11.2) and returns
// the authorisation code, or ok=false for an amount outside every range.
func authoriseAmount(amount int64, scaEligible, hasAuthCode bool) (code int, ok bool) {
	switch {
	case amount >= 100 && amount <= 4999:
		return cs.CodeSuccess, true
	case amount >= 5000 && amount <= 9999 && hasAuthCode:
		return cs.CodeSuccess, true
	case amount >= 5000 && amount <= 9999:
		return cs.CodeReferred, true
	case amount >= 10000 && amount <= 14999:
		return cs.CodeDoNotHonour, true
	case amount >= 15000 && amount <= 19999:
		return cs.CodePickUp, true
	case amount >= 20000 && amount <= 29999 && scaEligible:
		return cs.CodeSCARequired, true
	case amount >= 20000 && amount <= 24999:
		return cs.CodeSuccess, true
	case amount >= 25000 && amount <= 29999:
		return cs.CodeDoNotHonour, true
	}
	return 0, false
}

// settlementRejected reports whether a captured amount fails settlement.
func settlementRejected(amount int64) bool {
	return (amount >= 2500 && amount <= 4999) || (amount >= 7500 && amount <= 9999)
}
