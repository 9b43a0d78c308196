package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	cs "github.com/calmony/calmonypay/internal/cardstream"
)

// challengeLifetime bounds how long a 3-D Secure challenge stays open.
const challengeLifetime = time.Hour

// challenge is a pending 3-D Secure challenge (§5.4).
type challenge struct {
	ref         string
	creq        string
	merchantID  string
	xref        string
	redirectURL string
	params      params
	// hosted is set for a challenge on the hosted page: what finishing the
	// payment there needs.
	hosted *hostedChallenge
	// The method (device fingerprint) step, for the method card: method is
	// the threeDSMethodData sent to the ACS's method URL, methodAnswer what
	// the method page posts back, methodPending set until its continuation,
	// and outcome the month's result that follows it ("C" or "D": the
	// challenge).
	method, methodAnswer, outcome string
	methodPending                 bool
}

// methodCard is the SDK 3-D Secure test card (§11.3), the card of
// Cardstream's published 65802 answer carrying threeDSMethodData (§4.1
// P6): a Direct request with it runs the 3-D Secure method step (a silent
// device fingerprint) before the expiry month's outcome, as there.
const methodCard = "4012001037141112"

// hasMethodStep reports whether a new transaction starts with the method
// step: the method card on the Direct API, with a result from the expiry
// month (not an external one) other than not enrolled (11: no ACS).
func hasMethodStep(c call, p params, external bool) bool {
	return !c.hosted && !external && p.card.number == methodCard && p.card.month != 11
}

// hostedChallenge is a hosted page payment waiting for its challenge.
type hostedChallenge struct {
	auth    auth
	decline bool
	typed   string // the number typed, if a stand-in was charged
}

// monthOutcome is the simulated 3-D Secure result for an expiry month
// (§11.4): a result letter, or "C" (challenge) or "D" (decoupled), both of
// which the sandbox handles with its test ACS page.
func monthOutcome(month int) string {
	switch month {
	case 1:
		return "Y"
	case 2:
		return "N"
	case 3, 11:
		return "U"
	case 4:
		return "A"
	case 5:
		return "D"
	case 6:
		return "R"
	case 7, 8, 9:
		return "E"
	case 10:
		return "I"
	}
	return "C"
}

// threeDSCheck is the threeDSCheck value for a result letter, matched
// against threeDSCheckPref.
func threeDSCheck(letter string) string {
	switch letter {
	case "Y":
		return "authenticated"
	case "A":
		return "attempted authentication"
	case "N", "R":
		return "not authenticated"
	case "I":
		return "not checked"
	}
	return "not known"
}

// defaultThreeDSPref accepts everything but a failed authentication.
const defaultThreeDSPref = "authenticated,attempted authentication,not known,not checked"

// threeDSApplies reports whether a request goes through 3-D Secure: ECOM
// only, unless threeDSRequired=N; mandatory on the 3-D Secure test account,
// otherwise when the request asks for it (threeDSRedirectURL or
// threeDSRequired=Y).
func threeDSApplies(c call, p params) bool {
	required := c.req.Get("threeDSRequired")
	if p.typ != "1" || required == "N" {
		return false
	}
	return c.m.threeDS || c.hosted || required == "Y" || c.req.Has("threeDSRedirectURL")
}

// checkThreeDSRedirect requires a usable threeDSRedirectURL whenever a
// Direct request goes through 3-D Secure v2 without an external result.
func checkThreeDSRedirect(c call, p params) *reply {
	if c.hosted || !threeDSApplies(c, p) || c.req.Get("threeDSAuthenticated") != "" {
		return nil
	}
	switch redirect := c.req.Get("threeDSRedirectURL"); {
	case redirect == "":
		return fail(cs.CodeInvalidRequest, "MISSING threeDSRedirectURL")
	case !validURL(redirect):
		return fail(cs.CodeInvalidRequest, "INVALID threeDSRedirectURL")
	}
	return nil
}

// threeDSStage runs 3-D Secure for a new transaction. It returns the
// result letter to authorise with, or a reply that ends the request here:
// 65802 with a challenge, or 65803 for a result the merchant does not
// accept. The hosted page authenticates the shopper itself, so challenge
// and decoupled months count as authenticated there.
func (s *Sandbox) threeDSStage(c call, p params, t *txn) (string, *reply) {
	if !threeDSApplies(c, p) {
		return "", nil
	}
	letter := c.req.Get("threeDSAuthenticated") // an external result (§5.4 step 5)
	external := letter != ""
	if !external {
		letter = monthOutcome(int(p.card.month))
	}
	if hasMethodStep(c, p, external) {
		return "", s.startMethod(c, p, t, letter)
	}
	if c.hosted && letter == "C" && c.challenge {
		return "", s.startChallenge(c, p, t)
	}
	if c.hosted && (letter == "C" || letter == "D") {
		letter = "Y"
	}
	if letter == "C" || letter == "D" {
		return "", s.startChallenge(c, p, t)
	}
	return letter, refuseResult(p, t, letter)
}

// refuseResult returns 65803 when threeDSCheckPref rejects the result.
func refuseResult(p params, t *txn, letter string) *reply {
	pref := p.stored.Get("threeDSCheckPref")
	if pref == "" {
		pref = defaultThreeDSPref
	}
	if prefAccepts(pref, threeDSCheck(letter)) {
		return nil
	}
	t.state, t.code, t.message = cs.StateDeclined, cs.Code3DSResultNotAccepted, "3DS RESULT NOT ACCEPTED"
	t.answer = answer{kind: answerRefused3DS, letter: keptLetter(letter)}
	return &reply{code: t.code, message: t.message, fields: t.fields()}
}

// startChallenge stores a challenge and answers 65802.
func (s *Sandbox) startChallenge(c call, p params, t *txn) *reply {
	ch := &challenge{ref: "3DS" + s.token(24), creq: s.token(16), merchantID: c.m.id, xref: t.xref,
		redirectURL: c.req.Get("threeDSRedirectURL"), params: p}
	if c.hosted { // the ACS posts back to the hosted page
		ch.redirectURL = c.base + "hosted/3ds"
		ch.hosted = &hostedChallenge{auth: c.auth, decline: c.decline}
	}
	s.st.challenges.add(ch.ref, c.client, c.now, ch)
	t.threeDS, t.code, t.message = ch, cs.Code3DSAuthRequired, "3DS AUTHENTICATION REQUIRED"
	t.answer = answer{kind: answerChallenge}
	return challengeReply(c, t, ch)
}

// challengeReply is the 65802 answer that shows ch's challenge.
func challengeReply(c call, t *txn, ch *challenge) *reply {
	f := t.fields()
	f = append(f, cs.Fields{
		{Name: "threeDSRef", Value: ch.ref}, {Name: "threeDSURL", Value: c.base + "acs/"},
		{Name: "threeDSRequest[creq]", Value: ch.creq}, {Name: "threeDSEnrolled", Value: "Y"},
		{Name: "threeDSVersion", Value: "2.2.0"},
	}...)
	return &reply{code: t.code, message: t.message, fields: f}
}

// startMethod stores a 3-D Secure step that starts with the method (device
// fingerprint) and answers 65802 with threeDSURL at the test ACS's method
// page and threeDSRequest[threeDSMethodData]: as in Cardstream's published
// answer (§4.1 P6), base64url JSON naming the notification URL (the
// threeDSRedirectURL with threeDSAcsResponse=method added) and the 3-D
// Secure server's transaction ID. outcome is what follows the method step.
func (s *Sandbox) startMethod(c call, p params, t *txn, outcome string) *reply {
	redirect := c.req.Get("threeDSRedirectURL")
	sep := "?"
	if strings.Contains(redirect, "?") {
		sep = "&"
	}
	tid := s.token(16)
	tid = tid[:8] + "-" + tid[8:12] + "-" + tid[12:16] + "-" + tid[16:20] + "-" + tid[20:]
	method, _ := json.Marshal(struct {
		URL string `json:"threeDSMethodNotificationURL"`
		ID  string `json:"threeDSServerTransID"`
	}{redirect + sep + "threeDSAcsResponse=method", tid})
	back, _ := json.Marshal(struct {
		ID string `json:"threeDSServerTransID"`
	}{tid})
	ch := &challenge{ref: "3DS" + s.token(24), creq: s.token(16), merchantID: c.m.id, xref: t.xref, redirectURL: redirect, params: p,
		method: base64.RawURLEncoding.EncodeToString(method), methodAnswer: base64.RawURLEncoding.EncodeToString(back),
		methodPending: true, outcome: outcome}
	s.st.challenges.add(ch.ref, c.client, c.now, ch)
	t.threeDS, t.code, t.message = ch, cs.Code3DSAuthRequired, "3DS AUTHENTICATION REQUIRED"
	t.answer = answer{kind: answerChallenge}
	f := t.fields()
	f = append(f, cs.Fields{
		{Name: "threeDSRef", Value: ch.ref}, {Name: "threeDSURL", Value: c.base + "acs/method"},
		{Name: "threeDSRequest[threeDSMethodData]", Value: ch.method}, {Name: "threeDSEnrolled", Value: "Y"},
		{Name: "threeDSVersion", Value: "2.2.0"},
	}...)
	return &reply{code: t.code, message: t.message, fields: f}
}

// notificationURL is where the method page posts back: the
// threeDSMethodNotificationURL inside ch.method.
func (ch *challenge) notificationURL() string {
	b, err := base64.RawURLEncoding.DecodeString(ch.method)
	if err != nil {
		return ""
	}
	var m struct {
		URL string `json:"threeDSMethodNotificationURL"`
	}
	if json.Unmarshal(b, &m) != nil {
		return ""
	}
	return m.URL
}

// continueMethod answers the continuation of a method step:
// threeDSResponse[threeDSMethodData] is what the method page posted back,
// or "timeout" when it did not within 10 s (§5.4 step 3). The answer is
// the challenge (65802, the same threeDSRef) or the month's frictionless
// result. A repeated method continuation while the challenge it started
// is open answers that challenge again, so that a merchant that lost the
// first answer can send it again.
func (s *Sandbox) continueMethod(c call, ch *challenge, data string) reply {
	if data != ch.methodAnswer && data != "timeout" {
		return *fail(cs.Code3DSError, "3DS ERROR: unrecognised 3DS method response")
	}
	t := s.st.txns[ch.xref]
	if t == nil || t.state != cs.StateReceived {
		s.st.challenges.remove(ch.ref)
		return *invalid(codeMissingThreeDSRef, "threeDSRef")
	}
	ch.methodPending = false
	if ch.outcome == "C" || ch.outcome == "D" {
		return *challengeReply(c, t, ch)
	}
	s.st.challenges.remove(ch.ref)
	if rp := refuseResult(ch.params, t, ch.outcome); rp != nil {
		return *rp
	}
	return s.complete(c, ch.params, t, ch.outcome)
}

// keptLetter returns a 3-D Secure result letter that can be stored (see
// intern). An external result may be any string.
func keptLetter(letter string) string {
	return intern(letter, "Y", "A", "N", "R", "U", "E", "I")
}

// threeDSResultFields describe a 3-D Secure result.
func threeDSResultFields(letter string) cs.Fields {
	eci := "07"
	switch letter {
	case "Y":
		eci = "05"
	case "A":
		eci = "06"
	}
	return cs.Fields{
		{Name: "threeDSEnrolled", Value: "Y"}, {Name: "threeDSAuthenticated", Value: letter},
		{Name: "threeDSCheck", Value: threeDSCheck(letter)}, {Name: "threeDSECI", Value: eci},
		{Name: "threeDSVersion", Value: "2.2.0"},
	}
}

// continueThreeDS completes a challenge (§5.4 step 3): threeDSRef plus
// threeDSResponse[cres], which the test ACS sets to "creq:LETTER".
func (s *Sandbox) continueThreeDS(c call) reply {
	ch, ok := s.st.challenges.get(c.req.Get("threeDSRef"), c.now)
	if !ok || ch.merchantID != c.m.id {
		return *invalid(codeMissingThreeDSRef, "threeDSRef")
	}
	resp := c.req.Sub("threeDSResponse")
	if len(resp) == 0 {
		return *missing(codeMissingThreeDSResp, "threeDSResponse")
	}
	if changed(c.req, ch.params) {
		return *fail(cs.CodeRequestMismatch, "REQUEST MISMATCH")
	}
	if data := resp.Get("threeDSMethodData"); ch.method != "" && data != "" && len(resp) == 1 {
		return s.continueMethod(c, ch, data)
	}
	if ch.methodPending {
		return *fail(cs.Code3DSError, "3DS ERROR: 3DS method step not completed")
	}
	creq, letter, _ := strings.Cut(resp.Get("cres"), ":")
	if creq != ch.creq || !strings.Contains("YANRU", letter) || len(letter) != 1 {
		return *fail(cs.Code3DSError, "3DS ERROR: unrecognised ACS response")
	}
	s.st.challenges.remove(ch.ref)
	t := s.st.txns[ch.xref]
	if t == nil || t.state != cs.StateReceived {
		return *invalid(codeMissingThreeDSRef, "threeDSRef")
	}
	if rp := refuseResult(ch.params, t, letter); rp != nil {
		return *rp
	}
	return s.complete(c, ch.params, t, letter)
}

// changed reports card or amount details that differ from the first
// request (65542).
func changed(req cs.Fields, p params) bool {
	number := strings.ReplaceAll(req.Get("cardNumber"), " ", "")
	amount := req.Get("amount")
	return (number != "" && number != p.card.number) ||
		(amount != "" && amount != p.stored.Get("amount"))
}

// validURL accepts absolute http(s) URLs whose origin can be written into
// a CSP form-action directive.
func validURL(raw string) bool {
	if !cs.AbsoluteURL(raw) {
		return false
	}
	u, _ := url.Parse(raw)
	return strings.Trim(u.Host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") == ""
}

// origin returns scheme://host of an absolute URL.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "'none'"
	}
	return u.Scheme + "://" + u.Host
}

// handleACS serves the test ACS challenge page, for the creq POSTed to it
// as 3-D Secure v2 does (never from a link). The shopper picks the result;
// the page posts cres=creq:LETTER to threeDSRedirectURL, and the merchant
// sends it back as threeDSResponse[cres].
func (s *Sandbox) handleACS(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, cs.MaxBodyBytes)
	var creq string
	if f, err := cs.ReadBody(r); err == nil {
		creq = f.Get("creq")
	}
	ch := s.challengeByCReq(creq)
	if ch == nil {
		s.errorPage(w, http.StatusNotFound, codeMissingThreeDSRef+256, "Unknown or expired 3-D Secure challenge.")
		return
	}
	nonce := s.token(16)
	setPageHeaders(w, nonce, origin(ch.redirectURL))
	s.render(w, "acs.html", map[string]any{
		"Nonce": nonce, "Action": ch.redirectURL, "CReq": ch.creq,
		"Amount": formatAmount(ch.params.amount, ch.params.currency), "Card": mask(ch.params.card.number),
	})
}

// handleHostedThreeDS takes the test ACS's answer to a hosted page's
// challenge, completes the payment as the continuation would, and returns
// to the merchant as the hosted page does (callback and redirect).
func (s *Sandbox) handleHostedThreeDS(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, cs.MaxBodyBytes)
	f, err := cs.ReadBody(r)
	if err != nil {
		s.errorPage(w, http.StatusBadRequest, cs.CodeInvalidRequest, "The authentication answer could not be read.")
		return
	}
	ch, rp := s.completeHosted(f.Get("cres"))
	if ch == nil {
		s.errorPage(w, http.StatusGone, codeMissingThreeDSRef+256, "Unknown, expired or completed 3-D Secure challenge.")
		return
	}
	s.finish(w, r, ch.hosted.auth, rp)
}

// completeHosted finishes the hosted payment whose challenge cres answers
// (creq:LETTER), once; nil when there is none.
func (s *Sandbox) completeHosted(cres string) (*challenge, reply) {
	creq, letter, _ := strings.Cut(cres, ":")
	if creq == "" || len(letter) != 1 || !strings.Contains("YANRU", letter) {
		return nil, reply{}
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	now := s.now()
	s.st.advance(now)
	ch, ok := s.st.challenges.find(now, func(ch *challenge) bool { return ch.creq == creq && ch.hosted != nil })
	if !ok {
		return nil, reply{}
	}
	s.st.challenges.remove(ch.ref)
	t := s.st.txns[ch.xref]
	if t == nil || t.state != cs.StateReceived {
		return nil, reply{}
	}
	h := ch.hosted
	c := call{auth: h.auth, now: now, hosted: true, decline: h.decline}
	rp := refuseResult(ch.params, t, letter)
	if rp == nil {
		done := s.complete(c, ch.params, t, letter)
		rp = &done
	}
	if h.typed != "" {
		rp.fields.Set("cardNumberMask", mask(h.typed))
	}
	return ch, *rp
}

func (s *Sandbox) challengeByCReq(creq string) *challenge {
	if creq == "" {
		return nil
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	ch, ok := s.st.challenges.find(s.now(), func(ch *challenge) bool { return ch.creq == creq && !ch.methodPending })
	if !ok {
		return nil
	}
	c := *ch
	return &c
}

// handleACSMethod serves the test ACS's method page (the device
// fingerprint), for the threeDSMethodData POSTed to it from a hidden
// iframe: like a real ACS method page it shows nothing and posts
// threeDSMethodData (base64url JSON of the 3-D Secure server's
// transaction ID) to the notification URL at once. It may be framed by any
// page, as method pages are; it has nothing to click.
func (s *Sandbox) handleACSMethod(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, cs.MaxBodyBytes)
	var data string
	if f, err := cs.ReadBody(r); err == nil {
		data = f.Get("threeDSMethodData")
	}
	var ch *challenge
	if data != "" {
		s.st.mu.Lock()
		if found, ok := s.st.challenges.find(s.now(), func(ch *challenge) bool { return ch.method == data && ch.methodPending }); ok {
			c := *found
			ch = &c
		}
		s.st.mu.Unlock()
	}
	if ch == nil || ch.notificationURL() == "" {
		s.errorPage(w, http.StatusNotFound, codeMissingThreeDSRef+256, "Unknown or completed 3-D Secure method step.")
		return
	}
	nonce := s.token(16)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; form-action "+origin(ch.notificationURL())+
		"; base-uri 'none'; object-src 'none'; frame-ancestors *")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	s.render(w, "method.html", map[string]any{"Nonce": nonce, "Action": ch.notificationURL(), "Data": ch.methodAnswer})
}
