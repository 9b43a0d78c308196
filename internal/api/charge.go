package api

import (
	"context"
	"net/http"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

type outcomeJSON struct {
	NetworkStatus string     `json:"network_status"`
	Reason        nullString `json:"reason"`
	RiskLevel     string     `json:"risk_level"`
	SellerMessage string     `json:"seller_message"`
	Type          string     `json:"type"`
}

type cardDetailsJSON struct {
	AuthorizationCode nullString     `json:"authorization_code"`
	Brand             string         `json:"brand"`
	Checks            cardChecksJSON `json:"checks"`
	Country           nullString     `json:"country"`
	ExpMonth          int            `json:"exp_month"`
	ExpYear           int            `json:"exp_year"`
	Fingerprint       string         `json:"fingerprint"`
	Funding           string         `json:"funding"`
	Last4             string         `json:"last4"`
	Network           string         `json:"network"`
	ThreeDSecure      any            `json:"three_d_secure"`
	Wallet            any            `json:"wallet"`
}

type chargeJSON struct {
	ID                   string            `json:"id"`
	Object               string            `json:"object"`
	Amount               int64             `json:"amount"`
	AmountCaptured       int64             `json:"amount_captured"`
	AmountRefunded       int64             `json:"amount_refunded"`
	Application          any               `json:"application"`
	BalanceTransaction   any               `json:"balance_transaction"`
	Captured             bool              `json:"captured"`
	Created              int64             `json:"created"`
	Currency             string            `json:"currency"`
	Customer             nullString        `json:"customer"`
	Description          nullString        `json:"description"`
	Disputed             bool              `json:"disputed"`
	FailureCode          nullString        `json:"failure_code"`
	FailureMessage       nullString        `json:"failure_message"`
	FraudDetails         map[string]string `json:"fraud_details"`
	Livemode             bool              `json:"livemode"`
	Metadata             map[string]string `json:"metadata"`
	Outcome              outcomeJSON       `json:"outcome"`
	Paid                 bool              `json:"paid"`
	PaymentIntent        nullString        `json:"payment_intent"`
	PaymentMethod        nullString        `json:"payment_method"`
	PaymentMethodDetails map[string]any    `json:"payment_method_details"`
	ReceiptURL           any               `json:"receipt_url"`
	Refunded             bool              `json:"refunded"`
	Status               string            `json:"status"`
}

func chargeView(c *pay.Charge) any {
	v := chargeJSON{
		ID: c.ID, Object: "charge", Amount: c.Amount, AmountCaptured: c.AmountCaptured, AmountRefunded: c.AmountRefunded,
		Captured: c.Captured, Created: c.Created, Currency: c.Currency, Customer: nullString(c.Customer), Description: nullString(c.Description),
		FailureCode: nullString(c.FailureCode), FailureMessage: nullString(c.FailureMessage), FraudDetails: map[string]string{},
		Livemode: c.Scope.Livemode, Metadata: nonNil(c.Metadata), Paid: c.Status == "succeeded", PaymentIntent: nullString(c.PaymentIntent),
		PaymentMethod: nullString(c.PaymentMethod), Status: c.Status,
		Refunded: refundedInFull(c),
		Outcome:  outcomeJSON{NetworkStatus: "approved_by_network", RiskLevel: "normal", SellerMessage: "Payment complete.", Type: "authorized"},
		PaymentMethodDetails: map[string]any{"type": "card", "card": cardDetailsJSON{
			AuthorizationCode: nullString(c.AuthCode), Brand: c.Card.Brand, Country: nullString(c.Card.Country), ExpMonth: c.Card.ExpMonth,
			ExpYear: c.Card.ExpYear, Fingerprint: c.Card.Fingerprint, Funding: c.Card.Funding, Last4: c.Card.Last4, Network: c.Card.Brand,
			Checks: cardChecksJSON{AddressLine1Check: nullString(c.Card.AddressLine1Check), AddressPostalCodeCheck: nullString(c.Card.PostalCheck),
				CVCCheck: nullString(c.Card.CVCCheck)},
		}},
	}
	if c.Status == "failed" {
		v.Outcome = outcomeJSON{NetworkStatus: "declined_by_network", Reason: nullString(c.DeclineCode), RiskLevel: "normal",
			SellerMessage: "The bank did not return any further details with this decline.", Type: "issuer_declined"}
	}
	return v
}

// refundedInFull reports whether nothing is left of the charge: its
// captured amount refunded, or, uncaptured, its authorisation released.
func refundedInFull(c *pay.Charge) bool {
	held := c.AmountCaptured
	if !c.Captured {
		held = c.Amount
	}
	return c.AmountRefunded > 0 && c.AmountRefunded >= held
}

func (s *Server) retrieveCharge(r *http.Request, p *params) (readFunc, error) {
	id := r.PathValue("id")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		c, err := s.db.FindCharge(ctx, scope, id)
		if err != nil {
			return nil, notFoundAs(err, "charge", id, "id")
		}
		return chargeView(c), nil
	}, nil
}

func (s *Server) updateCharge(r *http.Request, p *params) (writeFunc, error) {
	id := r.PathValue("id")
	description := readText(p, "description", 1000)
	md := readMetadata(p)
	return func(ctx context.Context, tx *store.Tx, scope pay.Scope) (any, error) {
		c, err := tx.FindCharge(ctx, scope, id)
		if err != nil {
			return nil, notFoundAs(err, "charge", id, "id")
		}
		before := chargeView(c)
		if description != nil {
			c.Description = *description
		}
		if c.Metadata = md.apply(c.Metadata); len(c.Metadata) > maxMetadataKeys {
			return nil, checkMetadata(c.Metadata)
		}
		if err := tx.UpdateCharge(ctx, c); err != nil {
			return nil, err
		}
		after := chargeView(c)
		return after, s.emitUpdate(ctx, tx, scope, pay.EventChargeUpdated, c.ID, before, after)
	}, nil
}

func (s *Server) listCharges(r *http.Request, p *params) (readFunc, error) {
	page := readPage(p)
	var f store.ChargeFilter
	f.PaymentIntent, _ = p.String("payment_intent")
	f.Customer, _ = p.String("customer")
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		l, err := s.db.FindCharges(ctx, scope, f, page)
		if err != nil {
			return nil, err
		}
		return newList("charge", "/v1/charges", l, chargeView), nil
	}, nil
}
