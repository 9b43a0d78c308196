package sandbox

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
)

//go:embed templates/*.html
var templateFS embed.FS

// parsePages parses the embedded page templates; a failure stops New.
func parsePages() (*template.Template, error) {
	t, err := template.ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("sandbox: parse templates: %w", err)
	}
	return t, nil
}

// apiCSP is the policy of answers that are not pages.
const apiCSP = "default-src 'none'; frame-ancestors 'none'"

// setPageHeaders sets a strict CSP for an HTML page: nothing loads except
// the nonce-bearing inline style and script, and forms post only to
// formAction (and the sandbox itself).
func setPageHeaders(w http.ResponseWriter, nonce, formAction string) {
	setHeaders(w, "text/html; charset=utf-8", fmt.Sprintf(
		"default-src 'none'; script-src 'nonce-%[1]s'; style-src 'nonce-%[1]s'; img-src 'self'; "+
			"form-action 'self' %[2]s; base-uri 'none'; object-src 'none'; frame-ancestors 'none'", nonce, formAction))
}

// setHeaders sets what every sandbox answer carries. No page may be
// framed: anyone can sign a request for the published test accounts, so a
// framed card form saying "Pay £X" would be anyone's to show.
func setHeaders(w http.ResponseWriter, contentType, csp string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// render executes a page template into w, buffering so that a template
// error never leaves half a page.
func (s *Sandbox) render(w http.ResponseWriter, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.opts.Logger.Error("sandbox render", "template", name, "error", err)
		http.Error(w, "sandbox page error", http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(buf.Bytes())
}

// errorPage shows a gateway error to the shopper.
func (s *Sandbox) errorPage(w http.ResponseWriter, status, code int, message string) {
	nonce := s.token(16)
	setPageHeaders(w, nonce, "")
	w.WriteHeader(status)
	s.render(w, "error.html", map[string]any{"Nonce": nonce, "Code": code, "Message": message})
}

// cardForm shows the hosted card form. Nothing card-related is prefilled;
// the address and postcode come from the merchant's request.
func (s *Sandbox) cardForm(w http.ResponseWriter, sess *session, problem string) {
	req := sess.auth.req
	nonce := s.token(16)
	setPageHeaders(w, nonce, "")
	amount, _ := strconv.ParseInt(req.Get("amount"), 10, 64)
	s.render(w, "card.html", map[string]any{
		"Nonce": nonce, "Session": sess.id, "Problem": problem,
		"Merchant": sess.auth.m.id, "Action": req.Get("action"), "OrderRef": req.Get("orderRef"),
		"Amount": formatAmount(amount, req.Get("currencyCode")), "Address": req.Get("customerAddress"),
		"Postcode": postcodeOf(req), "Months": months(),
	})
}

func months() []string {
	out := make([]string, 12)
	for i := range out {
		out[i] = twoDigits(i + 1)
	}
	return out
}

// formatAmount writes minor units as major units with the currency.
func formatAmount(minor int64, currency string) string {
	symbol := map[string]string{"826": "£", "GBP": "£", "978": "€", "EUR": "€", "840": "$", "USD": "$"}[currency]
	major := fmt.Sprintf("%d.%02d", minor/100, minor%100)
	if symbol == "" {
		return strings.TrimSpace(major + " " + currency)
	}
	return symbol + major
}
