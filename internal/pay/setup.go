package pay

// PrefixSetupIntent starts a setup intent's ID.
const PrefixSetupIntent = "seti_"

// SetupIntent saves a card for later payments, authenticating the customer
// (3-D Secure) once where the issuer asks, so that later off-session
// payments are exempt. The gateway is asked with a VERIFY (no money moves).
type SetupIntent struct {
	ID                 string
	Scope              Scope
	Created            int64
	Customer           string
	PaymentMethod      string
	Description        string
	Usage              string // off_session (the default) or on_session
	Status             string // the payment intent's statuses, but requires_capture
	Metadata           map[string]string
	ClientSecret       string
	LastError          *LastPaymentError
	CancellationReason string
	RequestThreeDS     string
	Action             *ThreeDSAction
	// Attempt counts gateway attempts; each has its own transactionUnique.
	Attempt int
}

// Confirmable reports whether the setup intent may be confirmed (or
// cancelled): it waits for a payment method, a confirmation or the
// customer's authentication.
func (si *SetupIntent) Confirmable() bool {
	switch si.Status {
	case StatusRequiresPaymentMethod, StatusRequiresConfirmation, StatusRequiresAction:
		return true
	}
	return false
}

// UnexpectedState is Stripe's error for an action the status does not
// allow.
func (si *SetupIntent) UnexpectedState(action string) *Error {
	return InvalidRequest("setup_intent_unexpected_state", "",
		"You cannot %s this SetupIntent because it has a status of %s.", action, si.Status)
}

// IsSetupCancellationReason reports whether reason is one of Stripe's
// cancellation reasons for a setup intent.
func IsSetupCancellationReason(reason string) bool {
	switch reason {
	case "abandoned", "requested_by_customer", "duplicate":
		return true
	}
	return false
}

// SetupIntentUpdate holds the fields a setup intent create or update sent.
type SetupIntentUpdate struct {
	Customer, PaymentMethod, Description, Usage, RequestThreeDS *string
	Metadata                                                    MetadataUpdate
}

// Apply sets the sent fields on si.
func (u SetupIntentUpdate) Apply(si *SetupIntent) {
	set(&si.Customer, u.Customer)
	set(&si.PaymentMethod, u.PaymentMethod)
	set(&si.Description, u.Description)
	set(&si.Usage, u.Usage)
	set(&si.RequestThreeDS, u.RequestThreeDS)
	si.Metadata = u.Metadata.Apply(si.Metadata)
}

type setupIntentJSON struct {
	ID                   string            `json:"id"`
	Object               string            `json:"object"`
	Application          any               `json:"application"`
	AutomaticPMs         any               `json:"automatic_payment_methods"`
	CancellationReason   nullString        `json:"cancellation_reason"`
	ClientSecret         string            `json:"client_secret"`
	Created              int64             `json:"created"`
	Customer             nullString        `json:"customer"`
	Description          nullString        `json:"description"`
	FlowDirections       any               `json:"flow_directions"`
	LastSetupError       *lastErrorJSON    `json:"last_setup_error"`
	LatestAttempt        any               `json:"latest_attempt"`
	Livemode             bool              `json:"livemode"`
	Mandate              any               `json:"mandate"`
	Metadata             map[string]string `json:"metadata"`
	NextAction           any               `json:"next_action"`
	OnBehalfOf           any               `json:"on_behalf_of"`
	PaymentMethod        nullString        `json:"payment_method"`
	PaymentMethodOptions any               `json:"payment_method_options"`
	PaymentMethodTypes   []string          `json:"payment_method_types"`
	SingleUseMandate     any               `json:"single_use_mandate"`
	Status               string            `json:"status"`
	Usage                string            `json:"usage"`
}

// SetupIntentView renders a setup intent as the API and its events show it.
func SetupIntentView(si *SetupIntent) any {
	v := setupIntentJSON{ID: si.ID, Object: "setup_intent", CancellationReason: nullString(si.CancellationReason), ClientSecret: si.ClientSecret,
		Created: si.Created, Customer: nullString(si.Customer), Description: nullString(si.Description), Livemode: si.Scope.Livemode,
		Metadata: nonNil(si.Metadata), PaymentMethod: nullString(si.PaymentMethod), PaymentMethodTypes: []string{"card"}, Status: si.Status,
		Usage:                cmpOr(si.Usage, "off_session"),
		PaymentMethodOptions: map[string]any{"card": setupCardOptionsJSON{RequestThreeDSecure: cmpOr(si.RequestThreeDS, "automatic")}}}
	if e := si.LastError; e != nil {
		v.LastSetupError = &lastErrorJSON{Code: e.Code, DeclineCode: e.DeclineCode, Message: e.Message, Type: e.Type}
	}
	if a := si.Action; a != nil && si.Status == StatusRequiresAction {
		v.NextAction = nextActionView(si.ID, a)
	}
	return v
}

type setupCardOptionsJSON struct {
	MandateOptions      any    `json:"mandate_options"`
	Network             any    `json:"network"`
	RequestThreeDSecure string `json:"request_three_d_secure"`
}
