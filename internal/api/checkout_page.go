package api

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/form"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

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

// callbackURL is where the gateway sends the shopper's browser (redirect)
// and its own server-to-server copy (channel=callback) of a session's result.
func (s *Server) callbackURL(id string, serverToServer bool) string {
	u := s.publicURL + payments.CheckoutCallbackPath + "?session_id=" + url.QueryEscape(id)
	if serverToServer {
		u += "&channel=callback"
	}
	return u
}

// checkoutPage is the session's url: it renders the signed Cardstream hosted
// form and sends the shopper's browser to the gateway with it. A view only
// reads: its attempt's transactionUnique needs no record (see attemptUnique).
func (s *Server) checkoutPage(w http.ResponseWriter, r *http.Request) {
	if checkRequestText(r) != nil {
		writePage(w, http.StatusBadRequest, "Checkout not found", "This checkout link is not valid.", "")
		return
	}
	cs, err := s.db.FindCheckoutSessionByID(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, pay.ErrNotFound):
		writePage(w, http.StatusNotFound, "Checkout not found", "This checkout page does not exist.", "")
		return
	case err != nil:
		s.log.ErrorContext(r.Context(), "checkout page", "request_id", requestID(r), "err", err)
		writePage(w, http.StatusInternalServerError, "Something went wrong", "Please try again in a moment.", "")
		return
	case cs.Status == pay.CheckoutComplete:
		writePage(w, http.StatusGone, "Checkout closed", "This order has already been paid.", cs.CancelURL)
		return
	case cs.Status == pay.CheckoutExpired || s.now().Unix() >= cs.ExpiresAt:
		writePage(w, http.StatusGone, "Checkout closed", "This checkout page has expired. Return to the shop to start again.", cs.CancelURL)
		return
	}
	form, err := s.hostedForm(cs, s.attemptUnique(cs.ID, pay.RandomString(attemptNonceLen)))
	if errors.Is(err, payments.ErrNoHostedSandbox) {
		writePage(w, http.StatusForbidden, "Test payments unavailable",
			"This is a test-mode checkout, and this server shows no test payment pages. Use a development or staging server for test checkouts.", cs.CancelURL)
		return
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "checkout page: build hosted form", "session", cs.ID, "err", err)
		writePage(w, http.StatusServiceUnavailable, "Payments unavailable", "Card payments cannot be taken right now. Please try again later.", cs.CancelURL)
		return
	}
	nonce := newNonce()
	var body bytes.Buffer
	if err := form.Render(&body, nonce); err != nil {
		s.log.ErrorContext(r.Context(), "checkout page: render", "err", err)
		writePage(w, http.StatusInternalServerError, "Something went wrong", "Please try again in a moment.", "")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", fmt.Sprintf("default-src 'none'; script-src 'nonce-%s'; form-action %s; frame-ancestors 'none'; base-uri 'none'",
		nonce, originOf(form.URL)))
	w.Write(body.Bytes())
}

// tooManyPages answers a shopper's browser beyond its client's rate.
func tooManyPages(w http.ResponseWriter, _ *http.Request) {
	writePage(w, http.StatusTooManyRequests, "Too many requests", "Please wait a moment, then reload this page.", "")
}

// Lengths of an attempt's random nonce and of its MAC (hex: 64 bits).
const (
	attemptNonceLen = 10
	attemptMACLen   = 16
)

// attemptUnique is the transactionUnique of a hosted payment attempt of a
// session: "{session}-{nonce}-{mac}", a fresh random nonce per page view
// (so a retry after a decline is not refused as a duplicate) and a MAC,
// under the server's keyring, binding it to the session. The page records
// nothing, yet a verified gateway result can still be required to carry an
// attempt this server made for this session (isAttempt); the attempt is
// recorded when its result arrives.
func (s *Server) attemptUnique(session, nonce string) string {
	return session + "-" + nonce + "-" + s.keys.MAC([]byte("checkout attempt\x00" + session + "\x00" + nonce))[:attemptMACLen]
}

// isAttempt reports whether unique is attemptUnique of the session for
// some nonce.
func (s *Server) isAttempt(session, unique string) bool {
	rest, ok := strings.CutPrefix(unique, session+"-")
	nonce, _, _ := strings.Cut(rest, "-")
	return ok && len(nonce) == attemptNonceLen && subtle.ConstantTimeCompare([]byte(unique), []byte(s.attemptUnique(session, nonce))) == 1
}

// hostedForm builds the signed SALE of one attempt of the session.
func (s *Server) hostedForm(cs *pay.CheckoutSession, transactionUnique string) (*cardstream.HostedForm, error) {
	gw, err := s.gateways.For(cs.Scope.Livemode)
	if err != nil {
		return nil, err
	}
	req := cardstream.HostedRequest{Action: "SALE", Type: cardstream.TypeECOM, Amount: cs.AmountTotal,
		CurrencyCode: payments.CurrencyNumeric(cs.Currency), TransactionUnique: transactionUnique, OrderRef: cs.ID,
		RedirectURL: s.callbackURL(cs.ID, false), CallbackURL: s.callbackURL(cs.ID, true), FormResponsive: true, AllowCancel: true,
		Customer: cardstream.Customer{Email: cs.CustomerEmail},
		// A wrong security code declines the card, as on the Direct API.
		Extra: cardstream.Fields{{Name: "cv2CheckPref", Value: cardstream.StrictCV2CheckPref}}}
	if cs.PICaptureMethod == "manual" {
		req.CaptureDelay = -1
	}
	return gw.Hosted(req)
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

// errCallbackRejected marks a callback that failed verification or matching.
var errCallbackRejected = errors.New("checkout callback rejected")

// checkoutCallback receives the gateway's result of a hosted payment: the
// shopper's browser (a signed POST from the gateway's page) and the
// gateway's server-to-server copy (channel=callback), in any order and
// possibly more than once. It is authenticated only by the signature, which
// is never skipped unless the test-mode bypass was set explicitly.
func (s *Server) checkoutCallback(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxCallbackBytes)
	ctx := r.Context()
	serverToServer := r.URL.Query().Get("channel") == "callback"
	id := r.URL.Query().Get("session_id")
	if err := cmp.Or(checkRequestText(r), form.CheckText("session_id", id)); err != nil {
		s.writeError(w, r, err)
		return
	}
	cs, err := s.db.FindCheckoutSessionByID(ctx, id)
	if err != nil {
		if !errors.Is(err, pay.ErrNotFound) {
			s.log.ErrorContext(ctx, "checkout callback", "request_id", requestID(r), "err", err)
			http.Error(w, "Internal error.", http.StatusInternalServerError)
			return
		}
		s.log.WarnContext(ctx, "security: checkout callback for an unknown session", "remote", r.RemoteAddr, "request_id", requestID(r))
		http.Error(w, "Unknown checkout session.", http.StatusBadRequest)
		return
	}
	gw, err := s.gateways.For(cs.Scope.Livemode)
	if err != nil {
		// No signature key for this mode: never process an unverifiable callback.
		s.log.ErrorContext(ctx, "checkout callback: no gateway signature key is configured; refusing to process", "session", cs.ID)
		http.Error(w, "Signature verification is not configured.", http.StatusInternalServerError)
		return
	}
	res, err := s.verifyCallback(r, gw, cs)
	if err != nil {
		s.log.WarnContext(ctx, "security: rejected checkout callback", "session", cs.ID, "remote", r.RemoteAddr,
			"request_id", requestID(r), "reason", err.Error())
		s.answerCallback(w, r, serverToServer, http.StatusBadRequest, cs.CancelURL, cs.ID)
		return
	}
	var target string
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		target, err = s.applyCallback(ctx, tx, cs.ID, res)
		return err
	})
	if err != nil {
		s.log.ErrorContext(ctx, "checkout callback: record result", "session", cs.ID, "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	s.answerCallback(w, r, serverToServer, http.StatusOK, target, cs.ID)
}

// answerCallback answers the gateway, or sends the browser on to target
// (303). A session made without cancel_url has nowhere to send a shopper
// whose payment did not go through: they get a page of ours saying so, with
// a link back to the session's page to try again.
func (s *Server) answerCallback(w http.ResponseWriter, r *http.Request, serverToServer bool, status int, target, id string) {
	switch {
	case serverToServer && status == http.StatusOK:
		w.Write([]byte("OK"))
	case serverToServer:
		http.Error(w, "Rejected.", status)
	case target != "":
		http.Redirect(w, r, target, http.StatusSeeOther)
	case status == http.StatusOK:
		writePageLink(w, status, "Payment not completed", "The payment was cancelled or declined, and no money was taken.",
			s.publicURL+"/checkout/"+id, "Try again")
	default:
		writePageLink(w, status, "Payment not confirmed", "The result of this payment could not be verified.",
			s.publicURL+"/checkout/"+id, "Return to the checkout page")
	}
}

// verifyCallback checks the signature over the body's own fields, then that
// the result is for this session: merchant, amount, currency, and a
// transactionUnique of one of its attempts.
func (s *Server) verifyCallback(r *http.Request, gw payments.Gateway, cs *pay.CheckoutSession) (*cardstream.Result, error) {
	var (
		res *cardstream.Result
		err error
	)
	// The test-mode bypass is decided per callback from the session's own
	// mode: whatever the configuration, a live session's result is always
	// verified.
	if s.skipCallbackSignature && !cs.Scope.Livemode {
		fields, ferr := cardstream.ReadBody(r)
		if ferr != nil {
			return nil, fmt.Errorf("%w: %v", errCallbackRejected, ferr)
		}
		res, err = cardstream.NewResult(fields)
	} else {
		res, err = gw.ParseCallback(r)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errCallbackRejected, err)
	}
	if err := res.Match(cardstream.Expectation{MerchantID: gw.MerchantID(), Amount: cs.AmountTotal,
		CurrencyCode: payments.CurrencyNumeric(cs.Currency), OrderRef: cs.ID}); err != nil {
		return nil, fmt.Errorf("%w: %v", errCallbackRejected, err)
	}
	if !s.isAttempt(cs.ID, res.TransactionUnique) {
		return nil, fmt.Errorf("%w: transactionUnique %q is not an attempt of this session", errCallbackRejected, pay.Clip(res.TransactionUnique, 120))
	}
	return res, nil
}

// applyCallback records a verified result and returns where to send the
// shopper. It is idempotent: the same result again changes nothing.
func (s *Server) applyCallback(ctx context.Context, tx *store.Tx, id string, res *cardstream.Result) (string, error) {
	cs, err := tx.FindCheckoutSessionByID(ctx, id)
	if err != nil {
		return "", err
	}
	if !res.Approved() {
		if cs.PaymentStatus != "paid" {
			if cs.LastAttempt == nil || cs.LastAttempt.TransactionUnique != res.TransactionUnique {
				cs.Attempt++ // not its browser and server-to-server copies twice
			}
			cs.LastAttempt = &pay.CheckoutAttempt{TransactionUnique: res.TransactionUnique, ResponseCode: res.ResponseCode,
				ResponseMessage: pay.Clip(res.ResponseMessage, 200), At: tx.Now.Unix()}
			if err := tx.UpdateCheckoutSession(ctx, cs); err != nil {
				return "", err
			}
		}
		return cs.CancelURL, nil
	}
	success := strings.ReplaceAll(cs.SuccessURL, "{CHECKOUT_SESSION_ID}", cs.ID)
	if res.XRef != "" && res.XRef == cs.PaidXRef {
		return success, nil // already recorded
	}
	pi, err := s.recordHostedPayment(ctx, tx, cs, res)
	if err != nil {
		return "", err
	}
	if cs.PaymentStatus == "paid" {
		// A second payment for a paid session: the money moved, so it is
		// recorded on its own payment intent, flagged for the merchant.
		s.log.ErrorContext(ctx, "checkout session paid twice", "session", cs.ID, "payment_intent", pi.ID)
		return success, nil
	}
	cs.PaidAfterExpiry = cs.Status == pay.CheckoutExpired || tx.Now.Unix() >= cs.ExpiresAt
	if cs.PaidAfterExpiry {
		s.log.WarnContext(ctx, "checkout session paid after it expired: payment recorded", "session", cs.ID, "payment_intent", pi.ID)
	}
	cs.Attempt++
	cs.Status, cs.PaymentStatus, cs.PaymentIntent, cs.PaidXRef = pay.CheckoutComplete, "paid", pi.ID, res.XRef
	if err := tx.UpdateCheckoutSession(ctx, cs); err != nil {
		return "", err
	}
	return success, s.emit(ctx, tx, cs.Scope, pay.EventCheckoutSessionCompleted, cs.ID, pay.CheckoutSessionView(cs, s.publicURL), nil)
}

// recordHostedPayment creates the payment method, payment intent and charge
// of a paid hosted payment.
func (s *Server) recordHostedPayment(ctx context.Context, tx *store.Tx, cs *pay.CheckoutSession, res *cardstream.Result) (*pay.PaymentIntent, error) {
	pm := &pay.PaymentMethod{Scope: cs.Scope, Type: "card", Customer: cs.Customer, Card: hostedCard(res), XRef: res.XRef,
		Billing: pay.BillingDetails{Email: cs.CustomerEmail}}
	if err := tx.CreatePaymentMethod(ctx, pm); err != nil {
		return nil, err
	}
	if pm.Customer != "" {
		if err := s.emit(ctx, tx, cs.Scope, pay.EventPaymentMethodAttached, pm.ID, pay.PaymentMethodView(pm), nil); err != nil {
			return nil, err
		}
	}
	pi := &pay.PaymentIntent{Scope: cs.Scope, Amount: cs.AmountTotal, Currency: cs.Currency, CaptureMethod: "automatic", Customer: cs.Customer,
		PaymentMethod: pm.ID, Description: cs.PIDescription, Metadata: cs.PIMetadata, ReceiptEmail: cs.CustomerEmail,
		StatementDescriptor: cs.PIStatementDescriptor}
	if cs.PICaptureMethod != "" {
		pi.CaptureMethod = cs.PICaptureMethod
	}
	if cs.PaymentStatus == "paid" {
		pi.Metadata = map[string]string{"calmony_duplicate_payment_of": cs.ID}
	}
	event := pay.EventPaymentIntentSucceeded
	if res.State == cardstream.StateApproved {
		pi.Status, pi.AmountCapturable, event = pay.StatusRequiresCapture, res.AmountReceived, pay.EventPaymentIntentAmountCapturableUpdated
	} else {
		pi.Status, pi.AmountReceived = pay.StatusSucceeded, res.AmountReceived
	}
	if err := tx.CreatePaymentIntent(ctx, pi); err != nil {
		return nil, err
	}
	ch := newCharge(pi, pm, res)
	if err := tx.CreateCharge(ctx, ch); err != nil {
		return nil, err
	}
	pi.LatestCharge = ch.ID
	if err := tx.UpdatePaymentIntent(ctx, pi); err != nil {
		return nil, err
	}
	return pi, s.emit(ctx, tx, cs.Scope, event, pi.ID, pay.PaymentIntentView(pi), nil)
}

// hostedCard describes the card from the gateway's answer (masked number,
// type, expiry): the hosted page never shows us the card itself.
func hostedCard(res *cardstream.Result) pay.CardDetails {
	mask := res.Card.Mask
	d := pay.CardDetails{Brand: "unknown", Funding: payments.Funding(res.Card.Type),
		Country: payments.Alpha2(res.Card.IssuerCountryCode), ExpMonth: res.Card.ExpiryMonth, CVCCheck: payments.CheckResult(res.Checks.CV2)}
	if len(mask) >= 6 {
		d.Brand = payments.Brand(mask[:6])
	}
	if len(mask) >= 4 {
		d.Last4 = mask[len(mask)-4:]
	}
	if res.Card.ExpiryYear > 0 {
		d.ExpYear = 2000 + res.Card.ExpiryYear%100
	}
	return d
}

// RunCheckoutSweeper expires overdue checkout sessions now and every
// interval until ctx ends.
func (s *Server) RunCheckoutSweeper(ctx context.Context, interval time.Duration) {
	sweep := func() {
		if n, err := s.ExpireCheckoutSessions(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "expire checkout sessions", "err", err)
		} else if n > 0 {
			s.log.InfoContext(ctx, "expired checkout sessions", "count", n)
		}
	}
	sweep()
	every(ctx, interval, sweep)
}
