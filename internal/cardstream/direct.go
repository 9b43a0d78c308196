package cardstream

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
)

// ThreeDSOptions asks for 3-D Secure v2 on an ECOM Direct request (§5.4).
type ThreeDSOptions struct {
	// RedirectURL is threeDSRedirectURL, where the ACS posts back. Required.
	RedirectURL string
	// RemoteAddress is the shopper's IP address.
	RemoteAddress string
	// Device holds optional device fields (deviceChannel, deviceIdentity,
	// …) or threeDSOptions[...] records, sent as given.
	Device Fields
}

func (o *ThreeDSOptions) addTo(f *Fields) error {
	if o == nil {
		return nil
	}
	if o.RedirectURL == "" {
		return fmt.Errorf("%w: 3-D Secure needs a redirect URL", ErrInvalidRequest)
	}
	f.Set("threeDSRedirectURL", o.RedirectURL)
	f.SetNonEmpty("remoteAddress", o.RemoteAddress)
	return addExtra(f, o.Device)
}

// CheckPrefs lists the AVS/CV2 results to accept (cv2CheckPref,
// addressCheckPref, postcodeCheckPref, §5.3); empty ones are left to the
// account's settings. StrictCV2CheckPref declines a wrong CVV.
type CheckPrefs struct {
	CV2      string
	Address  string
	Postcode string
}

func (p CheckPrefs) addTo(f *Fields) {
	f.SetNonEmpty("cv2CheckPref", p.CV2)
	f.SetNonEmpty("addressCheckPref", p.Address)
	f.SetNonEmpty("postcodeCheckPref", p.Postcode)
}

// VerifyRequest tokenises a card with no charge: action VERIFY, amount 0.
// Keep Result.XRef on approval (§8.3).
type VerifyRequest struct {
	Card Card
	// XRef verifies a stored card instead of Card (a card set up again,
	// with 3-D Secure, for later payments).
	XRef string
	// Type defaults to TypeMOTO.
	Type TransactionType
	// Agreement defaults to AgreementCardOnFile.
	Agreement         AgreementType
	CurrencyCode      string
	TransactionUnique string
	OrderRef          string
	Customer          Customer
	Checks            CheckPrefs
	ThreeDS           *ThreeDSOptions
	Extra             Fields
}

// Verify sends a VERIFY request.
func (c *Client) Verify(ctx context.Context, req VerifyRequest) (*Result, error) {
	if req.XRef == "" {
		if err := req.Card.validate(); err != nil {
			return nil, fmt.Errorf("cardstream VERIFY: %w", err)
		}
	}
	f, err := c.newTransaction("VERIFY", cmp.Or(req.Type, TypeMOTO), 0, req.CurrencyCode, req.TransactionUnique)
	if err != nil {
		return nil, err
	}
	f.SetNonEmpty("orderRef", req.OrderRef)
	if req.XRef != "" {
		f.Set("xref", req.XRef)
	} else {
		req.Card.addTo(&f)
	}
	f.Set("rtAgreementType", string(cmp.Or(req.Agreement, AgreementCardOnFile)))
	req.Customer.addTo(&f)
	req.Checks.addTo(&f)
	if err := addOptional(&f, req.ThreeDS, req.Extra); err != nil {
		return nil, fmt.Errorf("cardstream VERIFY: %w", err)
	}
	return c.do(ctx, request{action: "VERIFY", fields: f, retry: true})
}

// SaleRequest charges a new card (Card) or a stored one (XRef), see §8.4
// and §10 for the Type and Agreement combinations.
type SaleRequest struct {
	// Amount in minor units; must be positive.
	Amount       int64
	CurrencyCode string
	// Type defaults to TypeMOTO. Use TypeECOM with ThreeDS for a shopper
	// present online, TypeContinuousAuthority for recurring MITs.
	Type TransactionType
	// Card is a new card; XRef a stored one. Exactly one must be set.
	Card *Card
	XRef string
	// CVV is the re-prompted security code for an XRef sale (optional;
	// never for TypeContinuousAuthority).
	CVV               string
	Agreement         AgreementType
	Initiator         string
	TransactionUnique string
	OrderRef          string
	// CaptureDelay is in days: 0 captures at once, 1–30 later, -1 only on an
	// explicit Capture.
	CaptureDelay int
	// AuthorisationCode completes a voice referral.
	AuthorisationCode string
	Customer          Customer
	Checks            CheckPrefs
	ThreeDS           *ThreeDSOptions
	Extra             Fields
}

func (r SaleRequest) validate() error {
	switch {
	case r.Amount <= 0:
		return fmt.Errorf("%w: amount must be positive", ErrInvalidRequest)
	case (r.Card == nil) == (r.XRef == ""):
		return fmt.Errorf("%w: exactly one of card and xref is required", ErrInvalidRequest)
	case r.CaptureDelay < -1 || r.CaptureDelay > 30:
		return fmt.Errorf("%w: capture delay must be -1 or 0–30 days", ErrInvalidRequest)
	case r.Card != nil:
		return r.Card.validate()
	}
	return validateCVV(r.CVV)
}

// Sale sends a SALE request.
func (c *Client) Sale(ctx context.Context, req SaleRequest) (*Result, error) {
	if err := req.validate(); err != nil {
		return nil, fmt.Errorf("cardstream SALE: %w", err)
	}
	f, err := c.newTransaction("SALE", cmp.Or(req.Type, TypeMOTO), req.Amount, req.CurrencyCode, req.TransactionUnique)
	if err != nil {
		return nil, err
	}
	f.SetNonEmpty("orderRef", req.OrderRef)
	if req.Card != nil {
		req.Card.addTo(&f)
	} else {
		f.Set("xref", req.XRef)
		f.SetNonEmpty("cardCVV", req.CVV)
	}
	req.addOptions(&f)
	if err := addOptional(&f, req.ThreeDS, req.Extra); err != nil {
		return nil, fmt.Errorf("cardstream SALE: %w", err)
	}
	return c.do(ctx, request{action: "SALE", fields: f, retry: true, moves: true})
}

func (r SaleRequest) addOptions(f *Fields) {
	f.SetNonEmpty("rtAgreementType", string(r.Agreement))
	f.SetNonEmpty("initiator", r.Initiator)
	if r.CaptureDelay != 0 {
		f.Set("captureDelay", strconv.Itoa(r.CaptureDelay))
	}
	f.SetNonEmpty("authorisationCode", r.AuthorisationCode)
	r.Customer.addTo(f)
	r.Checks.addTo(f)
}

func addOptional(f *Fields, tds *ThreeDSOptions, extra Fields) error {
	if err := tds.addTo(f); err != nil {
		return err
	}
	return addExtra(f, extra)
}

// newTransaction starts the fields common to new transactions.
func (c *Client) newTransaction(action string, typ TransactionType, amount int64, currency, unique string) (Fields, error) {
	if !typ.valid() {
		return nil, fmt.Errorf("cardstream %s: %w: type must be 1, 2 or 9", action, ErrInvalidRequest)
	}
	if unique == "" {
		var err error
		if unique, err = c.unique(); err != nil {
			return nil, err
		}
	}
	f := c.newRequest(action)
	f.Set("type", strconv.Itoa(int(typ)))
	f.Set("amount", formatAmount(amount))
	f.Set("currencyCode", cmp.Or(currency, c.cfg.CurrencyCode))
	f.Set("countryCode", c.cfg.CountryCode)
	f.Set("transactionUnique", unique)
	f.Set("duplicateDelay", strconv.Itoa(int(c.cfg.DuplicateDelay.Seconds())))
	return f, nil
}

// CaptureRequest captures an authorised, unsettled transaction, or lowers
// the amount of a captured one.
type CaptureRequest struct {
	XRef string
	// Amount is the amount to capture, at most the authorised amount; 0
	// sends no amount (the gateway captures the authorised amount).
	Amount int64
}

// Capture sends a CAPTURE request. It is never retried.
func (c *Client) Capture(ctx context.Context, req CaptureRequest) (*Result, error) {
	if req.Amount < 0 {
		return nil, fmt.Errorf("cardstream CAPTURE: %w: negative amount", ErrInvalidRequest)
	}
	f, err := c.management("CAPTURE", req.XRef)
	if err != nil {
		return nil, err
	}
	if req.Amount > 0 {
		f.Set("amount", formatAmount(req.Amount))
	}
	return c.do(ctx, request{action: "CAPTURE", fields: f, sameXRef: true, moves: true})
}

// CancelRequest voids an unsettled transaction.
type CancelRequest struct {
	XRef string
}

// Cancel sends a CANCEL request. It is never retried.
func (c *Client) Cancel(ctx context.Context, req CancelRequest) (*Result, error) {
	f, err := c.management("CANCEL", req.XRef)
	if err != nil {
		return nil, err
	}
	return c.do(ctx, request{action: "CANCEL", fields: f, sameXRef: true, moves: true})
}

// QueryRequest reads a stored transaction.
type QueryRequest struct {
	XRef string
}

// Query sends a QUERY request; it changes nothing and is retried freely.
func (c *Client) Query(ctx context.Context, req QueryRequest) (*Result, error) {
	f, err := c.management("QUERY", req.XRef)
	if err != nil {
		return nil, err
	}
	return c.do(ctx, request{action: "QUERY", fields: f, retry: true, sameXRef: true})
}

func (c *Client) management(action, xref string) (Fields, error) {
	if xref == "" {
		return nil, fmt.Errorf("cardstream %s: %w: xref is required", action, ErrInvalidRequest)
	}
	f := c.newRequest(action)
	f.Set("xref", xref)
	return f, nil
}

// RefundSaleRequest refunds a settled sale, fully or in part.
type RefundSaleRequest struct {
	XRef string
	// Amount to refund in minor units; must be positive.
	Amount            int64
	TransactionUnique string
}

// RefundSale sends a REFUND_SALE request, which only works once the sale
// is settled (state accepted). Most callers want Refund instead.
func (c *Client) RefundSale(ctx context.Context, req RefundSaleRequest) (*Result, error) {
	if req.Amount <= 0 {
		return nil, fmt.Errorf("cardstream REFUND_SALE: %w: amount must be positive", ErrInvalidRequest)
	}
	f, err := c.management("REFUND_SALE", req.XRef)
	if err != nil {
		return nil, err
	}
	unique := req.TransactionUnique
	if unique == "" {
		if unique, err = c.unique(); err != nil {
			return nil, err
		}
	}
	f.Set("amount", formatAmount(req.Amount))
	f.Set("transactionUnique", unique)
	f.Set("duplicateDelay", strconv.Itoa(int(c.cfg.DuplicateDelay.Seconds())))
	return c.do(ctx, request{action: "REFUND_SALE", fields: f, retry: true, moves: true})
}

// ThreeDSContinueRequest carries what the ACS posted back (§5.4 step 3).
type ThreeDSContinueRequest struct {
	// Ref is the threeDSRef of the 65802 answer.
	Ref string
	// Response is every field the ACS posted to threeDSRedirectURL,
	// unchanged; it is sent as threeDSResponse[name].
	Response Fields
	// Expect is checked against the final answer (amount, currency, …).
	Expect Expectation
}

// ContinueThreeDS sends the 3-D Secure continuation. While the answer is
// again OutcomeThreeDSRequired with a ThreeDS challenge, repeat. It is never
// retried.
func (c *Client) ContinueThreeDS(ctx context.Context, req ThreeDSContinueRequest) (*Result, error) {
	if req.Ref == "" || len(req.Response) == 0 {
		return nil, fmt.Errorf("cardstream 3DS: %w: threeDSRef and the ACS response are required", ErrInvalidRequest)
	}
	f := Fields{{"merchantID", c.cfg.MerchantID}, {"threeDSRef", req.Ref}}
	for _, fl := range req.Response {
		root := Root(fl.Name)
		f = append(f, Field{Name: "threeDSResponse[" + root + "]" + fl.Name[len(root):], Value: fl.Value})
	}
	res, err := c.do(ctx, request{action: "3DS", fields: f, moves: true})
	if err != nil {
		return nil, err
	}
	if err := res.Match(req.Expect); err != nil {
		return nil, fmt.Errorf("cardstream 3DS: %w", err)
	}
	return res, nil
}
