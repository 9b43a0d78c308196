package pay

// Scope is the project and mode every object belongs to. A key sees only
// objects of its own scope: another project's or mode's objects do not exist
// for it.
type Scope struct {
	ProjectID string
	Livemode  bool
}

// Address is a postal address. Empty fields are absent.
type Address struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	State      string `json:"state"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

// Shipping is a customer's shipping details.
type Shipping struct {
	Name    string  `json:"name"`
	Phone   string  `json:"phone"`
	Address Address `json:"address"`
}

// Customer is a merchant's customer. Email, Name, Phone, Address and Shipping
// are personal data: the store keeps them encrypted. An empty string means the
// field is not set.
type Customer struct {
	ID      string
	Scope   Scope
	Created int64

	Email    string
	Name     string
	Phone    string
	Address  *Address
	Shipping *Shipping

	Description          string
	Metadata             map[string]string
	TaxExempt            string // none, exempt or reverse
	DefaultPaymentMethod string // invoice_settings.default_payment_method
	// TestClock is the ID of the test clock whose time the customer's
	// billing runs at, "" for none (test mode only; set at creation).
	TestClock string
	Deleted   bool
}

// Tax-exempt values a customer may have.
var TaxExemptValues = []string{"none", "exempt", "reverse"}
