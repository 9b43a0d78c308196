package dashboard

import (
	"context"
	"errors"
	"net/http"

	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// portalLinkInput asks for a customer portal link (issue 21), as support
// staff hand one to a customer.
type portalLinkInput struct {
	ID        string `json:"id"`
	ReturnURL string `json:"returnUrl"`
}

func (in *portalLinkInput) validate() error { return requireID("id", in.ID) }

// portalLinkView is a portal session's link, shown once.
type portalLinkView struct {
	Session   string `json:"session"`
	Customer  string `json:"customer"`
	URL       string `json:"url"`
	ExpiresAt int64  `json:"expiresAt"`
}

// customersPortalLink makes a customer portal session for a customer of the
// caller's project and mode, through the operation POST
// /v1/billing_portal/sessions uses (billing.Service.PortalLink), and audits
// it (never the link).
func (s *Server) customersPortalLink(ctx context.Context, c *call, in portalLinkInput) (*portalLinkView, error) {
	ps, link, err := s.billing.PortalLink(ctx, c.scope(), billing.PortalSessionParams{Customer: in.ID, ReturnURL: in.ReturnURL})
	if err != nil {
		if pe := (*pay.Error)(nil); errors.As(err, &pe) {
			switch pe.Param {
			case "customer":
				return nil, notFound("customer", in.ID)
			case "return_url":
				return nil, badRequest("returnUrl", pe.Message)
			}
		}
		return nil, err
	}
	if err := s.db.Tx(ctx, func(tx *store.Tx) error {
		return c.audit(ctx, tx, "portal_session.created", in.ID, map[string]string{"session": ps.ID})
	}); err != nil {
		return nil, err
	}
	return &portalLinkView{Session: ps.ID, Customer: in.ID, URL: link, ExpiresAt: ps.ExpiresAt}, nil
}

// portalLinkPage answers the customer page's "Portal link" button with the
// link, shown once (it is a credential to the customer's billing).
func (s *Server) portalLinkPage(w http.ResponseWriter, r *http.Request, c *call) error {
	v, err := s.customersPortalLink(r.Context(), c, portalLinkInput{ID: r.PathValue("id")})
	if err != nil {
		return err
	}
	return s.renderSecret(w, r, c, "Portal link", secretData{Heading: "Customer portal link",
		Intro: "Send this link to the customer: it opens their billing portal (invoices, subscriptions, card) without a " +
			"password, for 24 hours. Anyone with the link can use it; calmonypay portal revoke --customer " + v.Customer + " ends it.",
		Secret: v.URL, Back: "/dashboard/customers/" + v.Customer})
}
