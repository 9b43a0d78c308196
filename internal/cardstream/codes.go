package cardstream

// Response codes the package and the sandbox refer to by name (§7).
const (
	CodeSuccess            = 0
	CodeReferred           = 1
	CodeReferredSpecial    = 2
	CodePickUp             = 4
	CodeDoNotHonour        = 5
	CodeInvalidTransaction = 12
	CodeInvalidAmount      = 13
	CodeInvalidCardNumber  = 14
	CodeExpiredCard        = 54
	CodeSCARequired        = 65
	CodeNoReasonToDecline  = 85

	CodeGeneralError       = 65537
	CodeInvalidCredentials = 65539
	CodeActionNotAllowed   = 65541
	CodeRequestMismatch    = 65542
	CodeMalformed          = 65544
	CodeDuplicate          = 65554
	CodeRetryLater         = 65565
	CodeNoDataFound        = 65575
	CodeCancelled          = 65576

	Code3DSError                = 65793
	Code3DSAuthRequired         = 65802
	Code3DSResultNotAccepted    = 65803
	CodeMissingFieldBase        = 66048
	CodeInvalidFieldBase        = 66304
	CodeMissingSignature        = 66087
	CodeInvalidSignature        = 66343
	CodeInvalidRequest          = 66304
	codeMissingOrInvalidMaximum = 66559
)

// Outcome classifies a gateway answer into what a payments layer acts on.
type Outcome int

// Outcomes, in no particular order.
const (
	// OutcomeApproved: responseCode 0 (or 85 "no reason to decline").
	OutcomeApproved Outcome = iota + 1
	// OutcomeDeclined: the issuer or a gateway check refused the card;
	// DeclineCode says why in Stripe's vocabulary.
	OutcomeDeclined
	// OutcomeReferred: responseCode 1/2, a voice referral.
	OutcomeReferred
	// OutcomeThreeDSRequired: run 3-D Secure (65802 continuation loop) or
	// retry with 3-D Secure (65, SCA soft decline).
	OutcomeThreeDSRequired
	// OutcomeDuplicate: 65554, an identical request landed within
	// duplicateDelay; reconcile instead of charging again.
	OutcomeDuplicate
	// OutcomeInvalidCredentials: 65539 and the IP/permission codes; a
	// configuration problem, not the shopper's.
	OutcomeInvalidCredentials
	// OutcomeInvalidRequest: a missing or invalid field (66048–66559) or an
	// action the transaction's state does not allow.
	OutcomeInvalidRequest
	// OutcomeCancelled: 65576, the shopper pressed cancel on the hosted page.
	OutcomeCancelled
	// OutcomeGatewayError: any other gateway failure; see Retryable.
	OutcomeGatewayError
)

// String returns a short lowercase name.
func (o Outcome) String() string {
	switch o {
	case OutcomeApproved:
		return "approved"
	case OutcomeDeclined:
		return "declined"
	case OutcomeReferred:
		return "referred"
	case OutcomeThreeDSRequired:
		return "3ds_required"
	case OutcomeDuplicate:
		return "duplicate"
	case OutcomeInvalidCredentials:
		return "invalid_credentials"
	case OutcomeInvalidRequest:
		return "invalid_request"
	case OutcomeCancelled:
		return "cancelled"
	case OutcomeGatewayError:
		return "gateway_error"
	}
	return "unknown"
}

// Classification is the meaning of a response code.
type Classification struct {
	Outcome Outcome
	// DeclineCode is a Stripe decline code (insufficient_funds,
	// do_not_honor, …) for declines, referrals and SCA soft declines; empty
	// otherwise.
	DeclineCode string
	// Retryable is true when sending the identical request again (same
	// transactionUnique, within duplicateDelay) may succeed.
	Retryable bool
}

// acquirerDeclines maps ISO-8583 authorisation codes (0–9999) to Stripe
// decline codes. Codes not listed are generic_decline.
func acquirerDeclineCode(code int) string {
	switch code {
	case 1, 2:
		return "call_issuer"
	case 4, 7:
		return "pickup_card"
	case 5:
		return "do_not_honor"
	case 12, 57, 58:
		return "transaction_not_allowed"
	case 13:
		return "invalid_amount"
	case 14:
		return "incorrect_number"
	case 15:
		return "invalid_account"
	case 30, 96:
		return "processing_error"
	case 33, 54:
		return "expired_card"
	case 41:
		return "lost_card"
	case 43:
		return "stolen_card"
	case 51:
		return "insufficient_funds"
	case 55:
		return "incorrect_pin"
	case 59:
		return "fraudulent"
	case 61:
		return "card_velocity_exceeded"
	case 62:
		return "restricted_card"
	case 63:
		return "security_violation"
	case 75:
		return "pin_try_exceeded"
	case 91:
		return "issuer_not_available"
	}
	return "generic_decline"
}

// Classify maps a responseCode to an Outcome, a Stripe decline code and
// retry advice (§7). checks refines code 5, which the gateway also uses for
// AVS/CV2 and velocity declines.
func Classify(code int, checks Checks) Classification {
	switch {
	case code == CodeSuccess || code == CodeNoReasonToDecline:
		return Classification{Outcome: OutcomeApproved}
	case code == CodeReferred || code == CodeReferredSpecial:
		return Classification{Outcome: OutcomeReferred, DeclineCode: "call_issuer"}
	case code == CodeSCARequired:
		return Classification{Outcome: OutcomeThreeDSRequired, DeclineCode: "authentication_required"}
	case code == CodeDoNotHonour:
		return Classification{Outcome: OutcomeDeclined, DeclineCode: checks.declineCode()}
	case code == 91 || code == 96:
		return Classification{Outcome: OutcomeDeclined, DeclineCode: acquirerDeclineCode(code), Retryable: true}
	case code > 0 && code < 65536:
		return Classification{Outcome: OutcomeDeclined, DeclineCode: acquirerDeclineCode(code)}
	}
	return classifyGateway(code)
}

// classifyGateway handles the gateway's own codes (65536 and up).
func classifyGateway(code int) Classification {
	switch {
	case code == CodeDuplicate:
		return Classification{Outcome: OutcomeDuplicate, DeclineCode: "duplicate_transaction"}
	case code == CodeCancelled:
		return Classification{Outcome: OutcomeCancelled}
	case code == CodeInvalidCredentials, code == 65540, code == 65545, code >= 65557 && code <= 65559:
		return Classification{Outcome: OutcomeInvalidCredentials}
	case code == 65794 || code == Code3DSAuthRequired:
		return Classification{Outcome: OutcomeThreeDSRequired, DeclineCode: "authentication_required"}
	case code == Code3DSResultNotAccepted:
		return Classification{Outcome: OutcomeDeclined, DeclineCode: "authentication_required"}
	case code >= 65856 && code <= 65862:
		return Classification{Outcome: OutcomeDeclined, DeclineCode: "generic_decline"}
	case code == 65561 || code == 65546 || code == 65567:
		return Classification{Outcome: OutcomeDeclined, DeclineCode: "card_not_supported"}
	case code == 65566:
		return Classification{Outcome: OutcomeDeclined, DeclineCode: "testmode_decline"}
	case code == CodeActionNotAllowed, code == CodeRequestMismatch, code == 65543, code == CodeMalformed,
		code == 65563, code == 65564, code == 65573, code == CodeNoDataFound, code == 65556,
		code >= CodeMissingFieldBase && code <= codeMissingOrInvalidMaximum, code == 66944:
		return Classification{Outcome: OutcomeInvalidRequest}
	case code == 65536, code == CodeGeneralError, code == 65548, code >= 65549 && code <= 65552,
		code == CodeRetryLater, code == 65792, code == Code3DSError, code == 65796, code == 65797, code == 65800:
		return Classification{Outcome: OutcomeGatewayError, Retryable: true}
	}
	return Classification{Outcome: OutcomeGatewayError}
}

// Checks holds the AVS/CV2 results of a response (§6): each one of
// "not known", "not checked", "matched", "not matched", "partially matched".
type Checks struct {
	CV2          string
	Address      string
	Postcode     string
	ResponseCode string
	// VelocityCode is vcsResponseCode; "5" marks a velocity decline.
	VelocityCode string
}

// Check result values used by the gateway.
const (
	CheckNotKnown         = "not known"
	CheckNotChecked       = "not checked"
	CheckMatched          = "matched"
	CheckNotMatched       = "not matched"
	CheckPartiallyMatched = "partially matched"
)

// StrictCV2CheckPref is a cv2CheckPref value that declines a wrong CVV
// while accepting cards and transactions where no CVV check applies.
const StrictCV2CheckPref = "not known,not checked,matched"

// declineCode refines responseCode 5.
func (c Checks) declineCode() string {
	switch {
	case c.VelocityCode == "5":
		return "card_velocity_exceeded"
	case c.CV2 == CheckNotMatched:
		return "incorrect_cvc"
	case c.Postcode == CheckNotMatched:
		return "incorrect_zip"
	case c.Address == CheckNotMatched:
		return "incorrect_address"
	}
	return "do_not_honor"
}
