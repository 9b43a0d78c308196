package hosted

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"

	"github.com/calmony/calmonypay/internal/form"
	"github.com/calmony/calmonypay/internal/middleware"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
)

// The 3-D Secure page (issue 19). A payment intent (or setup intent) in
// requires_action shows
// next_action's url: pay.ThreeDSPagePath + its ID + ?token=. The page posts
// the gateway's challenge (threeDSRequest, cardstream-protocol.md §5.4) from
// the customer's browser to the issuer's ACS, which posts its answer back to
// the return address (the same path + /return, with the token), where it is
// sent to the gateway as the continuation (payments.Service.ContinueThreeDS)
// and the browser is sent on to the confirmation's return_url with
// payment_intent, payment_intent_client_secret and redirect_status, as
// Stripe's.
//
// The method step (the gateway's threeDSRequest carries
// threeDSMethodData: a silent device fingerprint) is posted instead into a
// hidden iframe. The ACS's method page posts back to the return address
// inside that frame; the continuation is sent as for a challenge, and the
// frame's answer (which only our own page may frame) sends the whole
// window on: to the page again for the challenge that follows, or to the
// return_url. If nothing comes back within the method timeout (10 s), the
// page itself posts threeDSMethodData=timeout to the return address, at
// the top level.

var threeDSPage = template.Must(template.New("3ds").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Authenticating your payment</title></head>
<body><main><h1>Authenticating your payment</h1>
<p>Your card issuer asks you to confirm this payment. You are being sent to your bank's page.</p>
<form id="acs" method="post" action="{{.URL}}">{{range .Fields}}<input type="hidden" name="{{index . 0}}" value="{{index . 1}}">{{end}}
<noscript><p>JavaScript is off: press the button to continue.</p></noscript>
<button type="submit">Continue to your bank</button></form>
<script nonce="{{.Nonce}}">document.getElementById("acs").submit();</script>
</main></body></html>
`))

// methodPage runs the method step: the threeDSRequest goes to the ACS's
// method URL in a hidden frame; the timeout form goes to our return
// address at the top level when the frame has not sent the window on in
// time (or at once, from its button, without JavaScript).
var methodPage = template.Must(template.New("method").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Authenticating your payment</title></head>
<body><main><h1>Authenticating your payment</h1>
<p>Your card issuer is checking this device. This takes a few seconds.</p>
<iframe name="threeds-method" id="threeds-method" title="3-D Secure device check" hidden></iframe>
<form id="acs" method="post" action="{{.URL}}" target="threeds-method">{{range .Fields}}<input type="hidden" name="{{index . 0}}" value="{{index . 1}}">{{end}}</form>
<form id="timeout" method="post" action="{{.Return}}" data-timeout-ms="{{.TimeoutMS}}"><input type="hidden" name="threeDSMethodData" value="timeout">
<noscript><p>JavaScript is off: press the button to continue.</p></noscript>
<button type="submit">Continue</button></form>
<script nonce="{{.Nonce}}">(function () {
  var timeout = document.getElementById("timeout");
  document.getElementById("acs").submit();
  setTimeout(function () { timeout.submit(); }, Number(timeout.dataset.timeoutMs));
})();</script>
</main></body></html>
`))

// methodDonePage answers the ACS's method post-back inside the hidden
// frame: it sends the top window to the next address.
var methodDonePage = template.Must(template.New("methodDone").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Device check done</title></head>
<body><p><a id="continue" href="{{.Next}}" target="_top">Continue</a></p>
<script nonce="{{.Nonce}}">window.top.location.replace(document.getElementById("continue").href);</script></body></html>
`))

// threeDSPageHandler renders the page that posts pi's challenge to the ACS.
// An unknown intent, a wrong token or an intent that awaits no
// authentication gets a 404 page: nothing is shown of the payment.
func (h *Pages) threeDSPageHandler(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if form.CheckRequestText(r) != nil {
		writePage(w, http.StatusBadRequest, "Authentication not found", "This authentication link is not valid.", "")
		return
	}
	ctx := r.Context()
	a, err := h.payments.ThreeDSPending(ctx, r.PathValue("id"), token)
	if errors.Is(err, payments.ErrThreeDSRefused) {
		writePage(w, http.StatusNotFound, "Authentication not found",
			"This payment is not waiting for authentication: it was completed, cancelled or replaced. Return to the shop.", "")
		return
	}
	if err != nil {
		h.log.ErrorContext(ctx, "3-D Secure page", "request_id", middleware.RequestIDFrom(ctx), "err", err)
		writePage(w, http.StatusInternalServerError, "Something went wrong", "Please try again in a moment.", "")
		return
	}
	nonce := newNonce()
	var body bytes.Buffer
	// The challenge leaves for the ACS: only its origin may be posted to.
	csp := fmt.Sprintf("default-src 'none'; script-src 'nonce-%s'; form-action %s; frame-ancestors 'none'; base-uri 'none'", nonce, originOf(a.URL))
	var renderErr error
	if a.Method() {
		// The method step: the ACS in a frame, and its post-back to us in
		// the same frame; the timeout form to us.
		csp = fmt.Sprintf("default-src 'none'; script-src 'nonce-%[1]s'; frame-src %[2]s 'self'; form-action %[2]s 'self'; frame-ancestors 'none'; base-uri 'none'",
			nonce, originOf(a.URL))
		renderErr = methodPage.Execute(&body, struct {
			URL, Return string
			Fields      [][2]string
			TimeoutMS   int64
			Nonce       string
		}{a.URL, pay.ThreeDSPagePath + r.PathValue("id") + "/return?token=" + url.QueryEscape(token), a.Request, h.methodTimeout.Milliseconds(), nonce})
	} else {
		renderErr = threeDSPage.Execute(&body, struct {
			URL    string
			Fields [][2]string
			Nonce  string
		}{a.URL, a.Request, nonce})
	}
	if renderErr != nil {
		h.log.ErrorContext(ctx, "3-D Secure page: render", "err", renderErr)
		writePage(w, http.StatusInternalServerError, "Something went wrong", "Please try again in a moment.", "")
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Security-Policy", csp)
	w.Write(body.Bytes())
}

// writeMethodDone answers the ACS's method post-back in the 3-D Secure
// page's hidden frame with a page that sends the top window to next. Only
// our own pages may frame it.
func writeMethodDone(w http.ResponseWriter, next string) {
	nonce := newNonce()
	var body bytes.Buffer
	methodDonePage.Execute(&body, struct{ Next, Nonce string }{next, nonce})
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Referrer-Policy", "no-referrer")
	// frame-ancestors replaces X-Frame-Options (DENY, set on every
	// answer) in browsers that know it: only our own page frames this.
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'")
	w.Write(body.Bytes())
}

var onwardPage = template.Must(template.New("onward").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="0; url={{.}}"><title>Returning to the shop</title></head>
<body><main><h1>Returning to the shop</h1><p><a id="continue" href="{{.}}">Continue</a></p></main></body></html>
`))

// writeOnwardPage sends the browser on to target (the shop's return_url)
// with a page rather than a redirect: the browser came here posting the
// ACS's form, and a redirect answering a form is held to the ACS page's
// form-action policy, which need not allow the shop.
func writeOnwardPage(w http.ResponseWriter, target string) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	onwardPage.Execute(w, target)
}

// maxThreeDSFields bounds the fields an ACS posts back (a CRes is one or
// two).
const maxThreeDSFields = 20

// threeDSReturn receives the ACS's answer (a cross-site POST from the
// customer's browser), sends it to the gateway and sends the browser on.
// Only the intent's current challenge, with its token, is continued, once:
// a replay, a forged or wrong address, or an intent no longer awaiting
// authentication changes nothing.
func (h *Pages) threeDSReturn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxCallbackBytes)
	ctx := r.Context()
	if err := form.CheckRequestText(r); err != nil {
		writePage(w, http.StatusBadRequest, "Authentication not accepted", "This authentication answer is not valid.", "")
		return
	}
	if err := r.ParseForm(); err != nil || len(r.PostForm) == 0 || len(r.PostForm) > maxThreeDSFields {
		writePage(w, http.StatusBadRequest, "Authentication not accepted", "This authentication answer is not valid.", "")
		return
	}
	names := make([]string, 0, len(r.PostForm))
	for name := range r.PostForm {
		names = append(names, name)
	}
	slices.Sort(names)
	response := make([][2]string, 0, len(names))
	for _, name := range names {
		response = append(response, [2]string{name, r.PostForm.Get(name)})
	}
	id := r.PathValue("id")
	token := r.URL.Query().Get("token")
	// The method step's answer: from the ACS in the hidden frame, or the
	// page's own timeout at the top level.
	method := len(response) == 1 && response[0][0] == "threeDSMethodData"
	framed := method && response[0][1] != pay.ThreeDSMethodTimeout
	o, err := h.payments.ContinueThreeDS(ctx, id, token, response)
	if framed && err == nil && o.Status == pay.StatusRequiresAction && o.Action != nil && o.Action.Method() {
		// The gateway did not take the ACS's method answer and the method
		// step is still awaited: it counts as timed out (§5.4), rather
		// than running the method page again, and again.
		o, err = h.payments.ContinueThreeDS(ctx, id, token, [][2]string{{"threeDSMethodData", pay.ThreeDSMethodTimeout}})
	}
	switch {
	case errors.Is(err, payments.ErrThreeDSRefused) && method && !framed:
		// The timeout came after the ACS's answer (which went on, or is
		// going on, in the frame): the page shows what is now awaited.
		http.Redirect(w, r, pay.ThreeDSPagePath+id+"?token="+url.QueryEscape(token), http.StatusSeeOther)
		return
	case errors.Is(err, payments.ErrThreeDSRefused):
		h.log.WarnContext(ctx, "security: refused 3-D Secure continuation", "payment_intent", pay.Clip(id, 40), "remote", r.RemoteAddr,
			"request_id", middleware.RequestIDFrom(ctx))
		writePage(w, http.StatusBadRequest, "Authentication not accepted",
			"This payment is not waiting for this authentication: it was completed, cancelled or replaced. Nothing was charged by this step.", "")
		return
	case err != nil:
		h.log.ErrorContext(ctx, "3-D Secure continuation", "payment_intent", id, "err", err)
		writePage(w, http.StatusInternalServerError, "Something went wrong", "The result of this authentication could not be recorded yet. Return to the shop.", "")
		return
	}
	target, status := payments.ThreeDSReturn(o)
	if framed {
		// Inside the hidden frame: the whole window goes on, to the page
		// again for the next step, or to the return_url, or (with no
		// return_url) to the page, which says the payment awaits nothing.
		next := pay.ThreeDSPagePath + id + "?token=" + url.QueryEscape(token)
		if o.Status == pay.StatusRequiresAction && o.Action != nil {
			next = o.Action.Page
		} else if target != "" {
			next = target
		}
		writeMethodDone(w, next)
		return
	}
	if o.Status == pay.StatusRequiresAction && o.Action != nil {
		// Another step (or the ACS's answer was not accepted): the page again.
		http.Redirect(w, r, o.Action.Page, http.StatusSeeOther)
		return
	}
	if target != "" {
		writeOnwardPage(w, target)
		return
	}
	switch status {
	case "succeeded":
		writePage(w, http.StatusOK, "Payment authenticated", "Your payment was authenticated. You can close this page and return to the shop.", "")
	case "processing":
		writePage(w, http.StatusOK, "Payment processing", "Your payment is being processed. Return to the shop for its result.", "")
	default:
		writePage(w, http.StatusOK, "Payment not authenticated", "Your payment was not authenticated, and no money was taken.", "")
	}
}
