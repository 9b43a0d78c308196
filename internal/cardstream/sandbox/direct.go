package sandbox

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	cs "github.com/calmony/calmonypay/internal/cardstream"
)

// reply is the outcome of one request before echoing and signing.
type reply struct {
	code    int
	message string
	fields  cs.Fields
}

func fail(code int, message string) *reply {
	return &reply{code: code, message: message}
}

// missing and invalid return the field error codes (§7: invalid = missing
// + 256).
func missing(code int, field string) *reply {
	return fail(code, "MISSING "+field)
}

func invalid(missingCode int, field string) *reply {
	return fail(missingCode+256, "INVALID "+field)
}

// auth is an authenticated request.
type auth struct {
	m *merchant
	// secret verified the request (or, for a rejected one, is the
	// merchant's first secret; empty for an unknown merchant).
	secret string
	// req holds only the fields the signature covers.
	req cs.Fields
}

// call is one request being processed.
type call struct {
	auth
	now time.Time
	// base is the sandbox's absolute URL, ending in '/'.
	base   string
	hosted bool
	// client identifies who sent the request (Options.Client).
	client string
	// decline declines the card whatever else (a hosted stand-in of a
	// declining card, Options.StandIn).
	decline bool
	// challenge: a hosted stand-in's challenge month shows the test ACS
	// (Options.StandInChallenge) rather than counting as authenticated.
	challenge bool
}

// authenticate checks merchantID and signature (§3.1): 66049/66305 for a
// missing/invalid merchantID, 65539 for an unknown one or a wrong
// signature, 66087 for no signature, 66343 for a malformed one. A partial
// signature's unlisted fields are dropped, as the gateway ignores them.
func (s *Sandbox) authenticate(req cs.Fields) (auth, *reply) {
	id := req.Get("merchantID")
	switch {
	case id == "":
		return auth{}, missing(cs.CodeMissingFieldBase+1, "merchantID")
	case strings.Trim(id, "0123456789") != "":
		return auth{}, invalid(cs.CodeMissingFieldBase+1, "merchantID")
	}
	m, ok := s.merchants[id]
	if !ok {
		return auth{}, fail(cs.CodeInvalidCredentials, "INVALID CREDENTIALS")
	}
	a := auth{m: m, secret: m.secrets[0]}
	sig := req.Get(cs.SignatureField)
	switch {
	case sig == "":
		return a, fail(cs.CodeMissingSignature, "MISSING signature")
	case !wellFormedSignature(sig):
		return a, fail(cs.CodeInvalidSignature, "INVALID signature")
	}
	for _, secret := range m.secrets {
		if signed, err := cs.Verify(req, secret); err == nil {
			return auth{m: m, secret: secret, req: signed}, nil
		}
	}
	return a, fail(cs.CodeInvalidCredentials, "INVALID CREDENTIALS: signature does not match")
}

// wellFormedSignature accepts 128 hex digits, optionally followed by
// "|name,name".
func wellFormedSignature(sig string) bool {
	hexPart, list, partial := strings.Cut(sig, "|")
	if len(hexPart) != 128 || strings.Trim(strings.ToLower(hexPart), "0123456789abcdef") != "" {
		return false
	}
	return !partial || (list != "" && !strings.Contains(","+list+",", ",,"))
}

// respond echoes req (without card data or signature), adds the response
// fields and signs the result with secret (unsigned when secret is empty:
// the merchant is unknown).
func respond(req cs.Fields, rp reply, secret string, now time.Time) cs.Fields {
	// Room for the echo, the reply's fields, the four set below and the
	// signature.
	out := make(cs.Fields, 0, len(req)+len(rp.fields)+5)
	for _, f := range req {
		switch cs.Root(f.Name) {
		case "cardNumber", "cardCVV", cs.SignatureField:
			continue
		}
		out = append(out, f)
	}
	out.Set("responseCode", strconv.Itoa(rp.code))
	out.Set("responseMessage", rp.message)
	out.Set("responseStatus", responseStatus(rp.code))
	for _, f := range rp.fields {
		out.Set(f.Name, f.Value)
	}
	out.Set("timestamp", now.UTC().Format("2006-01-02 15:04:05"))
	if secret == "" {
		return out
	}
	// What cs.SignedRequest does, without copying out, which is ours.
	out.DelRoot(cs.SignatureField)
	return append(out, cs.Field{Name: cs.SignatureField, Value: cs.Sign(out, secret)})
}

// responseStatus is 0 approved, 1 declined, 2 error (§6).
func responseStatus(code int) string {
	switch {
	case code == cs.CodeSuccess || code == cs.CodeNoReasonToDecline:
		return "0"
	case code < 65536 || code == cs.Code3DSResultNotAccepted:
		return "1"
	}
	return "2"
}

// handleDirect serves the Direct API. It always answers 200 with a
// form-encoded body, like the gateway, whose content type says text/html.
func (s *Sandbox) handleDirect(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, cs.MaxBodyBytes)
	var resp cs.Fields
	if req, err := cs.ReadBody(r); err != nil {
		resp = respond(nil, *fail(cs.CodeInvalidRequest, "INVALID REQUEST: unparsable body"), "", s.now())
	} else {
		resp = s.direct(req, baseURL(r, s.opts.BaseURL), s.opts.Client(r))
	}
	// At debug level: every API payment makes one or two of these requests,
	// and the API's access log already has a line for each payment.
	if s.opts.Logger.Enabled(r.Context(), slog.LevelDebug) { // skip building the arguments
		s.opts.Logger.DebugContext(r.Context(), "sandbox direct", "merchant_id", resp.Get("merchantID"),
			"action", resp.Get("action"), "response_code", resp.Get("responseCode"), "xref", resp.Get("xref"))
	}
	// Not setHeaders: this is the hot path of every test-mode payment,
	// and these three are all a form-encoded answer needs.
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", apiCSP)
	_, _ = w.Write(resp.AppendEncode(nil))
}

// direct processes one parsed Direct request.
func (s *Sandbox) direct(req cs.Fields, base, client string) cs.Fields {
	a, rej := s.authenticate(req)
	if rej != nil {
		return respond(req, *rej, a.secret, s.now())
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	c := call{auth: a, now: s.now(), base: base, client: client}
	s.st.advance(c.now)
	return respond(a.req, s.dispatch(c), a.secret, c.now)
}

// dispatch runs the requested action. Callers hold the store lock.
func (s *Sandbox) dispatch(c call) reply {
	if c.req.Get("threeDSRef") != "" {
		return s.continueThreeDS(c)
	}
	switch action := c.req.Get("action"); action {
	case "":
		return *missing(cs.CodeMissingFieldBase+7, "action")
	case "SALE", "PREAUTH", "VERIFY":
		return s.newTransaction(c)
	case "REFUND_SALE":
		return s.refundSale(c)
	case "CAPTURE":
		return s.capture(c)
	case "CANCEL":
		return s.cancel(c)
	case "QUERY":
		return s.query(c)
	case "REFUND", "AUTHORISE":
		return *fail(65563, "NOT SUPPORTED BY THE SANDBOX: "+action)
	}
	return *invalid(cs.CodeMissingFieldBase+7, "action")
}

// baseURL returns the absolute URL of the sandbox root for links that leave
// the sandbox's own pages (threeDSURL). Under http.StripPrefix the prefix
// is recovered from the original request URI.
func baseURL(r *http.Request, configured string) string {
	if configured != "" {
		return configured // New ended it with '/'
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	path := r.RequestURI
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	if i := strings.Index(path, "://"); i >= 0 { // absolute-form request URI
		path = path[i+3:]
		path = path[strings.IndexByte(path+"/", '/'):]
	}
	prefix := strings.Trim(strings.TrimSuffix(path, strings.TrimPrefix(r.URL.Path, "/")), "/")
	if prefix == "" {
		return scheme + "://" + r.Host + "/"
	}
	return scheme + "://" + r.Host + "/" + prefix + "/"
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}
