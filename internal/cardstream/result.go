package cardstream

import (
	"fmt"
	"strconv"
)

// State is a transaction state (§8.1).
type State string

// Transaction states. Canceled is spelled as the gateway spells it.
const (
	StateReceived State = "received"
	StateApproved State = "approved"
	StateVerified State = "verified"
	StateDeclined State = "declined"
	StateReferred State = "referred"
	StateReversed State = "reversed"
	StateCaptured State = "captured"
	StateTendered State = "tendered"
	StateDeferred State = "deferred"
	StateAccepted State = "accepted"
	StateRejected State = "rejected"
	StateCanceled State = "canceled"
	StateFinished State = "finished"
)

// CardInfo is the non-sensitive card description a response carries.
type CardInfo struct {
	// Mask is cardNumberMask, e.g. 492942******0821.
	Mask              string
	TypeCode          string
	Type              string
	SchemeCode        string
	Scheme            string
	Issuer            string
	IssuerCountryCode string
	// ExpiryMonth is 1–12 and ExpiryYear two digits, 0 when absent.
	ExpiryMonth int
	ExpiryYear  int
}

// ThreeDSChallenge is what a 65802 answer asks the merchant to do (§5.4):
// POST every Request field to URL from the shopper's browser, then call
// Client.ContinueThreeDS with Ref and what the ACS posted back.
type ThreeDSChallenge struct {
	Ref     string
	URL     string
	Request Fields
}

// Result is a verified gateway answer. Only fields covered by the response
// signature are used; Fields holds them all (signature excluded).
type Result struct {
	Action            string
	ResponseCode      int
	ResponseMessage   string
	ResponseStatus    string
	Outcome           Outcome
	DeclineCode       string
	Retryable         bool
	TransactionID     string
	XRef              string
	State             State
	AuthorisationCode string
	TransactionUnique string
	OrderRef          string
	CurrencyCode      string
	// Amount is the (echoed or stored) amount in minor units.
	Amount         int64
	AmountReceived int64
	AmountRefunded int64
	Card           CardInfo
	Checks         Checks
	// ThreeDSAuthenticated is the 3-D Secure result letter (Y/A/N/R/U/E/I),
	// if any.
	ThreeDSAuthenticated string
	// ThreeDS is set when Outcome is OutcomeThreeDSRequired and the gateway
	// asked for a challenge or fingerprint (65802).
	ThreeDS *ThreeDSChallenge
	// Fields is the verified response.
	Fields Fields
}

// Approved reports whether the gateway approved the request.
func (r *Result) Approved() bool { return r.Outcome == OutcomeApproved }

// Err returns nil for an approval and a *ResponseError otherwise.
func (r *Result) Err() error {
	if r.Approved() {
		return nil
	}
	return &ResponseError{
		Action: r.Action, ResponseCode: r.ResponseCode, ResponseMessage: r.ResponseMessage,
		Outcome: r.Outcome, DeclineCode: r.DeclineCode, Retryable: r.Retryable,
	}
}

// NewResult builds a Result from verified fields. It fails with
// ErrUnparsable when responseCode is missing or not an integer, or an amount
// is not an integer number of minor units.
func NewResult(f Fields) (*Result, error) {
	code, err := strconv.Atoi(f.Get("responseCode"))
	if err != nil {
		return nil, fmt.Errorf("%w: responseCode %q", ErrUnparsable, f.Get("responseCode"))
	}
	r := &Result{
		Action: f.Get("action"), ResponseCode: code, ResponseMessage: f.Get("responseMessage"),
		ResponseStatus: f.Get("responseStatus"), TransactionID: f.Get("transactionID"),
		XRef: f.Get("xref"), State: State(f.Get("state")), AuthorisationCode: f.Get("authorisationCode"),
		TransactionUnique: f.Get("transactionUnique"), OrderRef: f.Get("orderRef"),
		CurrencyCode: f.Get("currencyCode"), Card: cardInfo(f), Checks: checks(f),
		ThreeDSAuthenticated: f.Get("threeDSAuthenticated"), Fields: f,
	}
	if err := r.parseAmounts(f); err != nil {
		return nil, err
	}
	c := Classify(code, r.Checks)
	r.Outcome, r.DeclineCode, r.Retryable = c.Outcome, c.DeclineCode, c.Retryable
	if code == Code3DSAuthRequired {
		r.ThreeDS = &ThreeDSChallenge{Ref: f.Get("threeDSRef"), URL: f.Get("threeDSURL"), Request: f.Sub("threeDSRequest")}
	}
	return r, nil
}

func (r *Result) parseAmounts(f Fields) error {
	for _, a := range []struct {
		name string
		dst  *int64
	}{{"amount", &r.Amount}, {"amountReceived", &r.AmountReceived}, {"amountRefunded", &r.AmountRefunded}} {
		v, ok := f.Lookup(a.name)
		if !ok || v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%w: %s %q is not minor units", ErrUnparsable, a.name, v)
		}
		*a.dst = n
	}
	return nil
}

func cardInfo(f Fields) CardInfo {
	month, _ := strconv.Atoi(f.Get("cardExpiryMonth"))
	year, _ := strconv.Atoi(f.Get("cardExpiryYear"))
	if d := f.Get("cardExpiryDate"); len(d) == 4 && month == 0 {
		month, _ = strconv.Atoi(d[:2])
		year, _ = strconv.Atoi(d[2:])
	}
	return CardInfo{
		Mask: f.Get("cardNumberMask"), TypeCode: f.Get("cardTypeCode"), Type: f.Get("cardType"),
		SchemeCode: f.Get("cardSchemeCode"), Scheme: f.Get("cardScheme"), Issuer: f.Get("cardIssuer"),
		IssuerCountryCode: f.Get("cardIssuerCountryCode"), ExpiryMonth: month, ExpiryYear: year,
	}
}

func checks(f Fields) Checks {
	return Checks{
		CV2: f.Get("cv2Check"), Address: f.Get("addressCheck"), Postcode: f.Get("postcodeCheck"),
		ResponseCode: f.Get("avscv2ResponseCode"), VelocityCode: f.Get("vcsResponseCode"),
	}
}

// Expectation lists the business values a callback or response must carry
// (§3.3 step 6). Empty strings and a zero Amount are not checked.
type Expectation struct {
	MerchantID        string
	Amount            int64
	CurrencyCode      string
	TransactionUnique string
	OrderRef          string
	XRef              string
}

// Match returns a *MismatchError for the first expected value the result
// does not carry.
func (r *Result) Match(e Expectation) error {
	for _, c := range []struct{ field, want string }{
		{"merchantID", e.MerchantID},
		{"amount", amountString(e.Amount)},
		{"currencyCode", e.CurrencyCode},
		{"transactionUnique", e.TransactionUnique},
		{"orderRef", e.OrderRef},
		{"xref", e.XRef},
	} {
		if c.want == "" {
			continue
		}
		if got := r.Fields.Get(c.field); got != c.want {
			return &MismatchError{Field: c.field, Want: c.want, Got: got}
		}
	}
	return nil
}

func amountString(a int64) string {
	if a == 0 {
		return ""
	}
	return strconv.FormatInt(a, 10)
}
