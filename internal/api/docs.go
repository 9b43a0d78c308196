package api

import (
	"net/http"

	"github.com/calmony/calmonypay/internal/apidocs"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
)

// Where the API reference and its stylesheet are served.
const (
	docsPath       = "/docs"
	docsStylesPath = "/docs/docs.css"
)

// docsCSP lets the reference page load its own stylesheet and nothing
// else: no scripts, frames, forms or images.
const docsCSP = "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// docsPage renders the API reference for the server at publicURL, with
// the event types and test cards of the code.
func docsPage(publicURL string) ([]byte, error) {
	var types []string
	for _, t := range pay.EventTypes() {
		types = append(types, t.String())
	}
	return apidocs.Render(apidocs.Page{BaseURL: publicURL, APIVersion: pay.APIVersion, EventTypes: types,
		TestCards: docsTestCards(), StylesheetPath: docsStylesPath})
}

// docsTestCards describes payments' test cards for the reference.
func docsTestCards() []apidocs.TestCard {
	var out []apidocs.TestCard
	for _, c := range payments.TestCards() {
		out = append(out, apidocs.TestCard{Number: c.Number, PaymentMethod: c.PaymentMethod, Brand: payments.Brand(c.Number),
			Funding: c.Funding, Country: c.Country, Outcome: testCardOutcome(c)})
	}
	return out
}

// testCardOutcome says what charging (and attaching) the card does.
func testCardOutcome(c payments.TestCardInfo) string {
	if c.Decline != "" {
		e := payments.Decline(c.Decline)
		declined := "code " + e.Code + ", decline_code " + e.DeclineCode
		if c.Attaches {
			return "Attaches to a customer; its charges are declined: " + declined + "."
		}
		return "Declined, and so is attaching it to a customer: " + declined + "."
	}
	switch c.ThreeDS {
	case pay.TestThreeDSRequired:
		return "3-D Secure challenge on-session; off-session payments always fail with authentication_required."
	case pay.TestThreeDSOnSetup:
		return "3-D Secure challenge on-session; off-session payments fail with authentication_required until the card is set up, then succeed."
	case pay.TestThreeDSSetUp:
		return "3-D Secure challenge on-session; off-session payments succeed."
	case pay.TestThreeDSOptional:
		return "3-D Secure without a challenge (frictionless); challenged with request_three_d_secure=any or challenge."
	}
	return "Succeeds."
}

// serveDocs answers the API reference page, rendered once by New.
func (s *Server) serveDocs(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", docsCSP)
	h.Set("Cache-Control", "public, max-age=300")
	w.Write(s.docs) //nolint:errcheck // the client went away
}

// serveDocsStyles answers the reference page's stylesheet.
func serveDocsStyles(css []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/css; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=3600")
		w.Write(css) //nolint:errcheck // the client went away
	}
}
