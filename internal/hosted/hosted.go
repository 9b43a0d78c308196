// Package hosted serves the shopper-facing pages: a checkout session's
// page, which sends the shopper's browser to the gateway's hosted payment
// form, the hosted invoice page (which can start such a payment of the
// invoice) and its PDF, the customer portal (portal.go), and the gateway's
// callback with the result. They know no API key: each client is
// rate-limited instead, an invoice's or a portal session's address is its
// credential, and the callback is authenticated by its signature alone
// (payments.Service.CompleteHostedPayment).
package hosted

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/form"
	"github.com/calmony/calmonypay/internal/middleware"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/throttle"
)

// Config configures the pages.
type Config struct {
	DB       *store.DB
	Payments *payments.Service
	// Billing starts the payment of an invoice from its hosted page.
	Billing *billing.Service
	Logger  *slog.Logger
	// ClientRateLimit is the number of requests per second allowed per
	// client address on each page, with bursts of five seconds' worth; 0
	// turns it off.
	ClientRateLimit int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client. Nobody else's is believed.
	TrustedProxies []netip.Prefix
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// ThreeDSMethodTimeout is how long the 3-D Secure page waits for the
	// issuer's method (device fingerprint) step before continuing with
	// threeDSMethodData=timeout. Defaults to DefaultThreeDSMethodTimeout
	// (the 10 s of cardstream-protocol.md §5.4); tests shorten it.
	ThreeDSMethodTimeout time.Duration
}

// DefaultThreeDSMethodTimeout is Config.ThreeDSMethodTimeout's default.
const DefaultThreeDSMethodTimeout = 10 * time.Second

// Pages serves the shopper-facing pages. Create it with New.
type Pages struct {
	db       *store.DB
	payments *payments.Service
	billing  *billing.Service
	log      *slog.Logger
	now      func() time.Time
	handler  http.Handler
	// methodTimeout is Config.ThreeDSMethodTimeout.
	methodTimeout time.Duration
}

// New returns the pages for cfg. It does no I/O.
func New(cfg Config) *Pages {
	h := &Pages{db: cfg.DB, payments: cfg.Payments, billing: cfg.Billing, log: cmp.Or(cfg.Logger, slog.Default()), now: cfg.Now,
		methodTimeout: cmp.Or(cfg.ThreeDSMethodTimeout, DefaultThreeDSMethodTimeout)}
	if h.now == nil {
		h.now = time.Now
	}
	perClient := throttle.Config{PerSecond: float64(cfg.ClientRateLimit), Trusted: cfg.TrustedProxies, Now: h.now}
	pageLimit, callbackLimit := throttle.New(perClient), throttle.New(perClient)
	mux := http.NewServeMux()
	mux.Handle("GET "+CheckoutPath+"{id}", pageLimit.Limit(tooManyPages)(http.HandlerFunc(h.checkoutPage)))
	mux.Handle("GET "+pay.InvoicePagePath+"{token}", pageLimit.Limit(tooManyPages)(http.HandlerFunc(h.invoicePage)))
	mux.Handle("GET "+pay.InvoicePagePath+"{token}/pdf", pageLimit.Limit(tooManyPages)(http.HandlerFunc(h.invoicePDF)))
	mux.Handle("POST "+pay.InvoicePagePath+"{token}/pay", pageLimit.Limit(tooManyPages)(invoiceCSRF(http.HandlerFunc(h.payInvoice))))
	mux.Handle("POST "+payments.CheckoutCallbackPath, callbackLimit.Limit(throttle.TooManyText)(http.HandlerFunc(h.checkoutCallback)))
	portal := func(f http.HandlerFunc) http.Handler { return pageLimit.Limit(tooManyPages)(portalCSRF(f)) }
	mux.Handle("GET "+pay.PortalPagePath+"{token}", pageLimit.Limit(tooManyPages)(http.HandlerFunc(h.portalHome)))
	mux.Handle("POST "+pay.PortalPagePath+"{token}/subscriptions/{id}/cancel", portal(h.portalCancel))
	mux.Handle("POST "+pay.PortalPagePath+"{token}/subscriptions/{id}/resume", portal(h.portalResume))
	mux.Handle("POST "+pay.PortalPagePath+"{token}/subscriptions/{id}/switch", portal(h.portalSwitch))
	mux.Handle("POST "+pay.PortalPagePath+"{token}/details", portal(h.portalDetails))
	mux.Handle("POST "+pay.PortalPagePath+"{token}/card", portal(h.portalCard))
	mux.Handle("GET "+pay.ThreeDSPagePath+"{id}", pageLimit.Limit(tooManyPages)(http.HandlerFunc(h.threeDSPageHandler)))
	mux.Handle("POST "+pay.ThreeDSPagePath+"{id}/return", callbackLimit.Limit(tooManyPages)(http.HandlerFunc(h.threeDSReturn)))
	h.handler = mux
	return h
}

// Routes are the pages' routes, by pattern, for the root mux.
func (h *Pages) Routes() map[string]http.Handler {
	return map[string]http.Handler{"GET " + CheckoutPath + "{id}": h, "POST " + payments.CheckoutCallbackPath: h,
		"GET " + pay.InvoicePagePath + "{token}": h, "GET " + pay.InvoicePagePath + "{token}/pdf": h,
		"POST " + pay.InvoicePagePath + "{token}/pay": h,
		"GET " + pay.ThreeDSPagePath + "{id}":         h, "POST " + pay.ThreeDSPagePath + "{id}/return": h,
		"GET " + pay.PortalPagePath + "{token}": h, "POST " + pay.PortalPagePath + "{token}/": h}
}

// CheckoutPath is where a checkout session's page is: CheckoutPath + its ID.
const CheckoutPath = "/checkout/"

// ServeHTTP serves the pages.
func (h *Pages) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.handler.ServeHTTP(w, r) }

// maxCallbackBytes bounds a gateway callback body; real ones are a few KiB.
const maxCallbackBytes = 64 << 10

var messagePage = template.Must(template.New("message").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title></head>
<body><main><h1>{{.Title}}</h1><p>{{.Message}}</p>{{if .Link}}<p><a href="{{.Link}}">{{.LinkText}}</a></p>{{end}}</main></body></html>
`))

// writePage shows a message, with a link back to the shop if there is one.
func writePage(w http.ResponseWriter, status int, title, message, shop string) {
	writePageLink(w, status, title, message, shop, "Return to the shop")
}

func writePageLink(w http.ResponseWriter, status int, title, message, link, linkText string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	w.WriteHeader(status)
	messagePage.Execute(w, struct{ Title, Message, Link, LinkText string }{title, message, link, linkText})
}

// checkoutPage is the session's url: it renders the signed Cardstream hosted
// form and sends the shopper's browser to the gateway with it. A view only
// reads: its attempt needs no record (payments.Service.HostedForm).
func (h *Pages) checkoutPage(w http.ResponseWriter, r *http.Request) {
	if form.CheckRequestText(r) != nil {
		writePage(w, http.StatusBadRequest, "Checkout not found", "This checkout link is not valid.", "")
		return
	}
	ctx := r.Context()
	cs, err := h.db.FindCheckoutSessionByID(ctx, r.PathValue("id"))
	switch {
	case errors.Is(err, pay.ErrNotFound) || err == nil && cs.Internal():
		// An invoice's session is started from its invoice's page only,
		// a portal's from the portal.
		writePage(w, http.StatusNotFound, "Checkout not found", "This checkout page does not exist.", "")
		return
	case err != nil:
		h.log.ErrorContext(ctx, "checkout page", "request_id", middleware.RequestIDFrom(ctx), "err", err)
		writePage(w, http.StatusInternalServerError, "Something went wrong", "Please try again in a moment.", "")
		return
	case cs.Status == pay.CheckoutComplete:
		writePage(w, http.StatusGone, "Checkout closed", "This order has already been paid.", cs.CancelURL)
		return
	case cs.Status == pay.CheckoutExpired || h.now().Unix() >= cs.ExpiresAt:
		writePage(w, http.StatusGone, "Checkout closed", "This checkout page has expired. Return to the shop to start again.", cs.CancelURL)
		return
	}
	h.toGateway(w, r, cs, cs.CancelURL, "Return to the shop")
}

// toGateway answers with the signed hosted form of a new attempt at paying
// cs, which the browser posts to the gateway's hosted page at once. back
// (with its link text) is where a page saying it cannot be done links to.
func (h *Pages) toGateway(w http.ResponseWriter, r *http.Request, cs *pay.CheckoutSession, back, backText string) {
	ctx := r.Context()
	form, err := h.payments.HostedForm(cs)
	if errors.Is(err, payments.ErrNoHostedSandbox) {
		writePageLink(w, http.StatusForbidden, "Test payments unavailable",
			"This is a test-mode payment, and this server shows no test payment pages. Use a development or staging server for test payments.", back, backText)
		return
	}
	if err != nil {
		h.log.ErrorContext(ctx, "hosted payment: build hosted form", "session", cs.ID, "err", err)
		writePageLink(w, http.StatusServiceUnavailable, "Payments unavailable", "Card payments cannot be taken right now. Please try again later.", back, backText)
		return
	}
	nonce := newNonce()
	var body bytes.Buffer
	if err := form.Render(&body, nonce); err != nil {
		h.log.ErrorContext(ctx, "hosted payment: render", "err", err)
		writePage(w, http.StatusInternalServerError, "Something went wrong", "Please try again in a moment.", "")
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", fmt.Sprintf("default-src 'none'; script-src 'nonce-%s'; form-action %s; frame-ancestors 'none'; base-uri 'none'",
		nonce, originOf(form.URL)))
	w.Write(body.Bytes())
}

// tooManyPages answers a shopper's browser beyond its client's rate.
func tooManyPages(w http.ResponseWriter, _ *http.Request) {
	writePage(w, http.StatusTooManyRequests, "Too many requests", "Please wait a moment, then reload this page.", "")
}

func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "'none'"
	}
	return u.Scheme + "://" + u.Host
}

func newNonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawStdEncoding.EncodeToString(b)
}

// checkoutCallback receives the gateway's result of a hosted payment: the
// shopper's browser (a signed POST from the gateway's page) and the
// gateway's server-to-server copy (channel=callback), in any order and
// possibly more than once.
func (h *Pages) checkoutCallback(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxCallbackBytes)
	ctx := r.Context()
	serverToServer := r.URL.Query().Get("channel") == "callback"
	id := r.URL.Query().Get("session_id")
	if err := cmp.Or(form.CheckRequestText(r), form.CheckText("session_id", id)); err != nil {
		writeFormError(w, err)
		return
	}
	cs, err := h.db.FindCheckoutSessionByID(ctx, id)
	if err != nil {
		if !errors.Is(err, pay.ErrNotFound) {
			h.log.ErrorContext(ctx, "checkout callback", "request_id", middleware.RequestIDFrom(ctx), "err", err)
			http.Error(w, "Internal error.", http.StatusInternalServerError)
			return
		}
		h.log.WarnContext(ctx, "security: checkout callback for an unknown session", "remote", r.RemoteAddr, "request_id", middleware.RequestIDFrom(ctx))
		http.Error(w, "Unknown checkout session.", http.StatusBadRequest)
		return
	}
	target, err := h.payments.CompleteHostedPayment(ctx, r, cs)
	switch {
	case errors.Is(err, payments.ErrNoGateway):
		// No signature key for this mode: never process an unverifiable callback.
		h.log.ErrorContext(ctx, "checkout callback: no gateway signature key is configured; refusing to process", "session", cs.ID)
		http.Error(w, "Signature verification is not configured.", http.StatusInternalServerError)
	case errors.Is(err, payments.ErrCallbackRejected):
		h.log.WarnContext(ctx, "security: rejected checkout callback", "session", cs.ID, "remote", r.RemoteAddr,
			"request_id", middleware.RequestIDFrom(ctx), "reason", err.Error())
		h.answerCallback(w, r, serverToServer, http.StatusBadRequest, cs.CancelURL, cs.ID)
	case err != nil:
		h.log.ErrorContext(ctx, "checkout callback: record result", "session", cs.ID, "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
	default:
		h.answerCallback(w, r, serverToServer, http.StatusOK, target, cs.ID)
	}
}

// writeFormError answers a malformed callback URL in Stripe's error
// envelope, as the API answers malformed parameters.
func writeFormError(w http.ResponseWriter, err error) {
	e := &pay.Error{Status: http.StatusBadRequest, Type: pay.ErrorTypeInvalidRequest, Message: err.Error()}
	var fe *form.Error
	if errors.As(err, &fe) {
		e.Code, e.Param, e.Message = fe.Code, fe.Param, fe.Message
	}
	body, _ := json.Marshal(pay.ErrorEnvelope(e))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(e.Status)
	w.Write(append(body, '\n'))
}

// answerCallback answers the gateway, or sends the browser on to target
// (303). A session made without cancel_url has nowhere to send a shopper
// whose payment did not go through: they get a page of ours saying so, with
// a link back to the session's page to try again.
func (h *Pages) answerCallback(w http.ResponseWriter, r *http.Request, serverToServer bool, status int, target, id string) {
	page := h.payments.PublicURL() + CheckoutPath + id
	switch {
	case serverToServer && status == http.StatusOK:
		w.Write([]byte("OK"))
	case serverToServer:
		http.Error(w, "Rejected.", status)
	case target != "":
		http.Redirect(w, r, target, http.StatusSeeOther)
	case status == http.StatusOK:
		writePageLink(w, status, "Payment not completed", "The payment was cancelled or declined, and no money was taken.", page, "Try again")
	default:
		writePageLink(w, status, "Payment not confirmed", "The result of this payment could not be verified.", page, "Return to the checkout page")
	}
}
