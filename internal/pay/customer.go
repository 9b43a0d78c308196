package pay

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
)

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

	// InvoicePrefix is the prefix of the customer's invoice numbers if it
	// was given one of its own ("": NumberPrefix derives it from the ID);
	// InvoiceSequence is the number of its last finalised invoice (0:
	// none yet). See NumberPrefix.
	InvoicePrefix   string
	InvoiceSequence int64
}

// NumberPrefix is the prefix of the customer's invoice numbers, Stripe's
// invoice_prefix: its own if it was given one, else 8 capital letters and
// digits drawn from its ID. Invoices are numbered per customer, as
// Stripe's are by default (PREFIX-0001, PREFIX-0002, …), so that
// finalisations of different customers' invoices never wait on each
// other.
func (c *Customer) NumberPrefix() string {
	if c.InvoicePrefix != "" {
		return c.InvoicePrefix
	}
	h := sha256.Sum256([]byte(c.ID))
	return invoicePrefix(binary.BigEndian.Uint64(h[:8]))
}

// NewInvoicePrefix draws an invoice prefix at random, for a customer whose
// prefix turned out to be another's too.
func NewInvoicePrefix() string {
	var b [8]byte
	rand.Read(b[:])
	return invoicePrefix(binary.BigEndian.Uint64(b[:]))
}

// invoicePrefix writes 8 base-36 digits of n, capitals.
func invoicePrefix(n uint64) string {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	var b [8]byte
	for i := range b {
		b[i] = digits[n%36]
		n /= 36
	}
	return string(b[:])
}

// Tax-exempt values a customer may have.
var TaxExemptValues = []string{"none", "exempt", "reverse"}
