package sandbox

import (
	"bytes"
	"cmp"
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	cs "github.com/calmony/calmonypay/internal/cardstream"
)

// sessionLifetime bounds how long a hosted card form stays usable.
const sessionLifetime = time.Hour

// session is one shopper's visit to the hosted page.
type session struct {
	id   string
	auth auth
}

// handleHosted accepts a signed hosted request, POSTed as the gateway
// requires (a link cannot start a payment), and shows the card form.
// Requests that fail authentication, or lack a usable redirectURL, get an
// error page; other invalid requests are sent back to redirectURL with the
// error code.
func (s *Sandbox) handleHosted(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, cs.MaxBodyBytes)
	req, err := cs.ReadBody(r)
	if err != nil {
		s.errorPage(w, http.StatusBadRequest, cs.CodeInvalidRequest, "The payment request could not be read.")
		return
	}
	a, rej := s.authenticate(req)
	if rej == nil {
		rej = validateHosted(a.req)
	}
	if rej != nil {
		s.errorPage(w, http.StatusBadRequest, rej.code, rej.message)
		return
	}
	if rp := s.precheck(a, r); rp != nil {
		s.finish(w, r, a, *rp)
		return
	}
	sess := &session{id: s.token(24), auth: a}
	s.openSession(sess, s.opts.Client(r))
	s.cardForm(w, sess, "")
}

// openSession stores sess, evicting the oldest of client's sessions, or of
// all, beyond their bounds.
func (s *Sandbox) openSession(sess *session, client string) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	now := s.now()
	s.st.advance(now)
	s.st.sessions.add(sess.id, client, now, sess)
}

// validateHosted checks what must hold before redirectURL can be trusted.
func validateHosted(req cs.Fields) *reply {
	switch action := req.Get("action"); {
	case action == "":
		return missing(cs.CodeMissingFieldBase+7, "action")
	case action != "SALE" && action != "VERIFY" && action != "PREAUTH":
		return invalid(cs.CodeMissingFieldBase+7, "action: the hosted page supports SALE, VERIFY and PREAUTH")
	}
	switch redirect := req.Get("redirectURL"); {
	case redirect == "":
		return missing(codeMissingRedirectURL, "redirectURL")
	case !validURL(redirect):
		return invalid(codeMissingRedirectURL, "redirectURL")
	}
	if cb := req.Get("callbackURL"); cb != "" && !validURL(cb) {
		return invalid(codeMissingCallbackURL, "callbackURL")
	}
	return nil
}

// precheck validates the order fields before showing the form.
func (s *Sandbox) precheck(a auth, r *http.Request) *reply {
	c := call{auth: a, now: s.now(), base: baseURL(r, s.opts.BaseURL), hosted: true}
	p := params{action: a.req.Get("action"), stored: known(a.req)}
	if rp := parseOrder(&p, c); rp != nil {
		return rp
	}
	if a.req.Get("xref") != "" {
		return fail(65563, "NOT SUPPORTED BY THE SANDBOX: xref on the hosted page")
	}
	return nil
}

// handleSubmit handles the card form's Pay and Cancel buttons.
func (s *Sandbox) handleSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, cs.MaxBodyBytes)
	form, err := cs.ReadBody(r)
	if err != nil {
		s.errorPage(w, http.StatusBadRequest, cs.CodeInvalidRequest, "The card form could not be read.")
		return
	}
	sess, rp, retry, ch := s.pay(form, baseURL(r, s.opts.BaseURL))
	switch {
	case sess == nil:
		s.errorPage(w, http.StatusGone, cs.CodeInvalidRequest, "This payment page has expired or was already used.")
	case retry:
		s.cardForm(w, sess, rp.message)
	case ch != nil:
		// A challenge: the test ACS, which posts back to the hosted page.
		nonce := s.token(16)
		setPageHeaders(w, nonce, origin(ch.redirectURL))
		s.render(w, "acs.html", map[string]any{
			"Nonce": nonce, "Action": ch.redirectURL, "CReq": ch.creq,
			"Amount": formatAmount(ch.params.amount, ch.params.currency), "Card": mask(ch.hosted.typed),
		})
	default:
		s.finish(w, r, sess.auth, rp)
	}
}

// pay runs the submitted form through the Direct SALE engine, under the
// lock so a session is used once. retry asks for the form again (a card
// field was missing or invalid).
// ch is the challenge to show, if the payment is challenged (then rp is
// its 65802).
func (s *Sandbox) pay(form cs.Fields, base string) (sess *session, rp reply, retry bool, ch *challenge) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	now := s.now()
	s.st.advance(now)
	sess, ok := s.st.sessions.get(form.Get("session"), now)
	if !ok {
		return nil, reply{}, false, nil
	}
	if form.Get("op") != "pay" {
		s.st.sessions.remove(sess.id)
		return sess, *fail(cs.CodeCancelled, "REQUEST CANCELLED"), false, nil
	}
	c := call{auth: sess.auth, now: now, base: base, hosted: true}
	c.req = withCard(sess.auth.req, form)
	typed, standIn := s.standIn(&c)
	rp = s.newTransaction(c)
	if cardFieldError(rp.code) {
		return sess, rp, true, nil
	}
	if standIn {
		rp.fields.Set("cardNumberMask", mask(typed))
	}
	s.st.sessions.remove(sess.id)
	sess.auth.req = c.req
	if rp.code == cs.Code3DSAuthRequired {
		if ch, ok = s.st.challenges.get(rp.fields.Get("threeDSRef"), now); ok && ch.hosted != nil {
			ch.hosted.auth.req = c.req
			ch.hosted.typed = cmp.Or(typed, c.req.Get("cardNumber"))
			return sess, rp, false, ch
		}
	}
	return sess, rp, false, nil
}

// withCard adds the shopper's card and address to the signed request. The
// spaces a shopper types in a card number are not part of it.
func withCard(req, form cs.Fields) cs.Fields {
	out := req.Clone()
	for _, name := range []string{"cardNumber", "cardExpiryMonth", "cardExpiryYear", "cardCVV"} {
		out.Set(name, strings.TrimSpace(form.Get(name)))
	}
	out.Set("cardNumber", strings.ReplaceAll(out.Get("cardNumber"), " ", ""))
	for _, name := range []string{"customerAddress", "customerPostcode"} {
		if v, ok := form.Lookup(name); ok {
			out.Set(name, v)
		}
	}
	return out
}

// standIn replaces a card number Options.StandIn knows with its stand-in,
// and returns the number typed.
func (s *Sandbox) standIn(c *call) (typed string, ok bool) {
	if s.opts.StandIn == nil {
		return "", false
	}
	typed = c.req.Get("cardNumber")
	number, decline, ok := s.opts.StandIn(typed)
	tc, published := findCard(number)
	if !ok || !published {
		return "", false
	}
	c.req.Set("cardNumber", tc.number)
	c.req.Set("cardCVV", tc.cvv)
	// January: the simulator's frictionless 3-D Secure result (§11.4);
	// December, a challenge, for the cards Options.StandInChallenge names.
	c.req.Set("cardExpiryMonth", "01")
	if s.opts.StandInChallenge != nil && s.opts.StandInChallenge(typed) {
		c.req.Set("cardExpiryMonth", "12")
		c.challenge = true
	}
	c.req.Set("cardExpiryYear", twoDigits((c.now.Year()+2)%100))
	c.req.Del("customerAddress")
	c.req.Del("customerPostcode")
	c.decline = decline
	return typed, true
}

// cardFieldError reports codes the shopper can fix on the form.
func cardFieldError(code int) bool {
	for _, missingCode := range []int{codeMissingCardNumber, codeMissingExpiryMonth, codeMissingExpiryYear, codeMissingCVV} {
		if code == missingCode || code == missingCode+256 {
			return true
		}
	}
	return false
}

// finish signs the response, posts the callback and sends the browser to
// redirectURL with an auto-submitting signed form.
func (s *Sandbox) finish(w http.ResponseWriter, r *http.Request, a auth, rp reply) {
	resp := respond(a.req, rp, a.secret, s.now())
	s.opts.Logger.InfoContext(r.Context(), "sandbox hosted", "merchant_id", a.m.id,
		"response_code", rp.code, "xref", resp.Get("xref"))
	if cb := a.req.Get("callbackURL"); cb != "" && s.callbackAllowed(r.Context(), cb) {
		s.callback(r.Context(), cb, resp)
	}
	redirect := a.req.Get("redirectURL")
	nonce := s.token(16)
	// The merchant's redirect URL may send the browser on anywhere (its
	// success or cancel page), and browsers apply form-action to those
	// redirects too: allow any web destination on this one page.
	setPageHeaders(w, nonce, "https: http:")
	var buf bytes.Buffer
	page := cs.AutoPost{URL: redirect, Fields: resp, Title: "Returning to the shop",
		Message: "Press the button to return to the shop.", Button: "Return to the shop", Nonce: nonce}
	if err := page.Render(&buf); err != nil {
		s.opts.Logger.ErrorContext(r.Context(), "sandbox redirect page", "error", err)
		http.Error(w, "sandbox page error", http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(buf.Bytes())
}

// callbackAllowed applies Options.CallbackAllowFunc.
func (s *Sandbox) callbackAllowed(ctx context.Context, target string) bool {
	if s.opts.CallbackAllowFunc == nil {
		return true
	}
	u, err := url.Parse(target)
	if err == nil && s.opts.CallbackAllowFunc(u) {
		return true
	}
	s.opts.Logger.WarnContext(ctx, "sandbox callback refused", "url", target)
	return false
}

// callback POSTs the signed response to callbackURL, synchronously, before
// the browser is redirected; it is bounded by CallbackTimeout, made once,
// and its failure is only logged (the protocol documents no retries).
func (s *Sandbox) callback(ctx context.Context, target string, resp cs.Fields) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.CallbackTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(resp.Encode()))
	if err != nil {
		s.opts.Logger.WarnContext(ctx, "sandbox callback", "url", target, "error", err)
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	res, err := s.opts.CallbackClient.Do(req)
	if err != nil {
		s.opts.Logger.WarnContext(ctx, "sandbox callback", "url", target, "error", err)
		return
	}
	res.Body.Close()
	s.opts.Logger.InfoContext(ctx, "sandbox callback", "url", target, "status", res.StatusCode)
}
