package pay

import "maps"

// Stripe's metadata limits.
const (
	MaxMetadataKeys     = 50  // keys per object
	MaxMetadataKeyLen   = 40  // characters in a key
	MaxMetadataValueLen = 500 // characters in a value
)

// MetadataUpdate is a change to an object's metadata, as Stripe's metadata
// parameter sends it.
type MetadataUpdate struct {
	Clear bool              // "metadata=": remove every key first
	Set   map[string]string // "" values delete their key
}

// Apply returns the metadata after the change. It checks nothing: the key
// count is checked by [CheckMetadata] once the result is known.
func (u MetadataUpdate) Apply(old map[string]string) map[string]string {
	out := map[string]string{}
	if !u.Clear {
		maps.Copy(out, old)
	}
	for k, v := range u.Set {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// CheckMetadata enforces Stripe's key-count limit on the resulting metadata.
func CheckMetadata(m map[string]string) error {
	if len(m) > MaxMetadataKeys {
		return InvalidParam("metadata", "You can have up to %d metadata keys.", MaxMetadataKeys)
	}
	return nil
}

// CustomerUpdate is a create or update of a customer: a non-nil field is
// set, a nil one left as it is.
type CustomerUpdate struct {
	Email, Name, Phone, Description, TaxExempt, DefaultPaymentMethod *string
	// TestClock is set at creation only (test_clock).
	TestClock *string

	Address  **Address  // non-nil: set (nil inside: unset)
	Shipping **Shipping // non-nil: set (nil inside: unset)
	Metadata MetadataUpdate
}

// Apply sets the sent fields on c. It checks nothing.
func (u CustomerUpdate) Apply(c *Customer) {
	set(&c.Email, u.Email)
	set(&c.Name, u.Name)
	set(&c.Phone, u.Phone)
	set(&c.Description, u.Description)
	set(&c.TaxExempt, u.TaxExempt)
	set(&c.DefaultPaymentMethod, u.DefaultPaymentMethod)
	set(&c.TestClock, u.TestClock)
	if u.Address != nil {
		c.Address = *u.Address
	}
	if u.Shipping != nil {
		c.Shipping = *u.Shipping
	}
	c.Metadata = u.Metadata.Apply(c.Metadata)
}

// PaymentIntentUpdate is a create or update of a payment intent: a non-nil
// field is set, a nil one left as it is. Whether the values are allowed
// (currency, amount, customer, payment method) is checked where they are
// applied, against the project's and the scope's objects.
type PaymentIntentUpdate struct {
	Amount                                                              *int64
	Currency, Customer, PaymentMethod, Description, StatementDescriptor *string
	ReceiptEmail, CaptureMethod, SetupFutureUsage                       *string
	// RequestThreeDS is payment_method_options[card][request_three_d_secure].
	RequestThreeDS *string
	Metadata       MetadataUpdate
}

// Apply sets the sent fields on pi. It checks nothing: whether the values
// are allowed is checked on the result, where the project's currencies and
// the scope's objects are known.
func (u PaymentIntentUpdate) Apply(pi *PaymentIntent) {
	if u.Amount != nil {
		pi.Amount = *u.Amount
	}
	set(&pi.Currency, u.Currency)
	set(&pi.Customer, u.Customer)
	set(&pi.PaymentMethod, u.PaymentMethod)
	set(&pi.Description, u.Description)
	set(&pi.StatementDescriptor, u.StatementDescriptor)
	set(&pi.ReceiptEmail, u.ReceiptEmail)
	set(&pi.CaptureMethod, u.CaptureMethod)
	set(&pi.SetupFutureUsage, u.SetupFutureUsage)
	set(&pi.RequestThreeDS, u.RequestThreeDS)
	pi.Metadata = u.Metadata.Apply(pi.Metadata)
}

// set copies *v to *dst if v is not nil.
func set(dst, v *string) {
	if v != nil {
		*dst = *v
	}
}
