package cardstream

import (
	"cmp"
	"fmt"
	"html/template"
	"io"
	"net/url"
	"strconv"
	"strings"
)

// HostedRequest describes a Hosted Payment Page request (§9 step 1). The
// hosted page supports only SALE, VERIFY and PREAUTH.
type HostedRequest struct {
	// Action is "SALE" (default), "VERIFY" or "PREAUTH".
	Action string
	// Type defaults to TypeECOM.
	Type TransactionType
	// Amount in minor units: positive, or 0 for VERIFY.
	Amount            int64
	CurrencyCode      string
	TransactionUnique string
	OrderRef          string
	// RedirectURL receives the shopper's browser with a signed POST.
	// Required, absolute.
	RedirectURL string
	// CallbackURL receives a signed server-to-server POST. Optional,
	// absolute.
	CallbackURL  string
	Customer     Customer
	CaptureDelay int
	Agreement    AgreementType
	// FormResponsive sets formResponsive=Y.
	FormResponsive bool
	// AllowCancel sets formAllowCancel=Y (cancelling gives 65576).
	AllowCancel bool
	Extra       Fields
}

// HostedForm is a signed request for the hosted page: POST Fields to URL
// from the shopper's browser.
type HostedForm struct {
	URL    string
	Fields Fields
}

// Hosted builds and signs a hosted page request.
func (c *Client) Hosted(req HostedRequest) (*HostedForm, error) {
	action := cmp.Or(req.Action, "SALE")
	if err := req.validate(action); err != nil {
		return nil, fmt.Errorf("cardstream hosted %s: %w", action, err)
	}
	f, err := c.newTransaction(action, cmp.Or(req.Type, TypeECOM), req.Amount, req.CurrencyCode, req.TransactionUnique)
	if err != nil {
		return nil, err
	}
	f.SetNonEmpty("orderRef", req.OrderRef)
	f.Set("redirectURL", req.RedirectURL)
	f.SetNonEmpty("callbackURL", req.CallbackURL)
	if req.CaptureDelay != 0 {
		f.Set("captureDelay", strconv.Itoa(req.CaptureDelay))
	}
	f.SetNonEmpty("rtAgreementType", string(req.Agreement))
	if req.FormResponsive {
		f.Set("formResponsive", "Y")
	}
	if req.AllowCancel {
		f.Set("formAllowCancel", "Y")
	}
	req.Customer.addTo(&f)
	if err := addExtra(&f, req.Extra); err != nil {
		return nil, fmt.Errorf("cardstream hosted %s: %w", action, err)
	}
	return &HostedForm{URL: c.HostedURL(), Fields: SignedRequest(f, c.cfg.Secret)}, nil
}

func (r HostedRequest) validate(action string) error {
	switch {
	case action != "SALE" && action != "VERIFY" && action != "PREAUTH":
		return fmt.Errorf("%w: the hosted page supports SALE, VERIFY and PREAUTH", ErrInvalidRequest)
	case action == "VERIFY" && r.Amount != 0:
		return fmt.Errorf("%w: VERIFY amount must be 0", ErrInvalidRequest)
	case action != "VERIFY" && r.Amount <= 0:
		return fmt.Errorf("%w: amount must be positive", ErrInvalidRequest)
	case r.CaptureDelay < -1 || r.CaptureDelay > 30:
		return fmt.Errorf("%w: capture delay must be -1 or 0–30 days", ErrInvalidRequest)
	case !AbsoluteURL(r.RedirectURL):
		return fmt.Errorf("%w: redirect URL must be an absolute http(s) URL", ErrInvalidRequest)
	case r.CallbackURL != "" && !AbsoluteURL(r.CallbackURL):
		return fmt.Errorf("%w: callback URL must be an absolute http(s) URL", ErrInvalidRequest)
	}
	return nil
}

// AbsoluteURL reports whether s is an absolute http or https URL with a
// host, as redirectURL and callbackURL must be.
func AbsoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// autoPostTemplate renders a form that posts itself. The visible button
// makes it work without JavaScript.
const autoPostTemplate = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{.Title}}</title></head>
<body>
<form id="autopost" method="post" action="{{.URL}}">
{{range .Fields}}<input type="hidden" name="{{formValue .Name}}" value="{{formValue .Value}}">
{{end}}<p>{{.Message}}</p>
<button type="submit">{{.Button}}</button>
</form>
<script{{if .Nonce}} nonce="{{.Nonce}}"{{end}}>document.getElementById("autopost").submit();</script>
</body>
</html>
`

// AutoPost is a page that POSTs Fields to URL from the browser.
type AutoPost struct {
	URL     string
	Fields  Fields
	Title   string
	Message string
	Button  string
	// Nonce is the CSP nonce for the one inline script; empty omits the
	// attribute.
	Nonce string
}

// Render writes the page. Every value is HTML-escaped by html/template;
// control characters (CR, LF, tab, …) are written as character references
// so they reach the form data unchanged.
func (p AutoPost) Render(w io.Writer) error {
	t, err := template.New("autopost").Funcs(template.FuncMap{"formValue": FormValue}).Parse(autoPostTemplate)
	if err != nil {
		return fmt.Errorf("cardstream: parse auto-post template: %w", err)
	}
	p.Title = cmp.Or(p.Title, "Redirecting")
	p.Message = cmp.Or(p.Message, "Press the button if you are not redirected automatically.")
	p.Button = cmp.Or(p.Button, "Continue")
	if err := t.Execute(w, p); err != nil {
		return fmt.Errorf("cardstream: render auto-post page: %w", err)
	}
	return nil
}

// Render writes an auto-submitting HTML page that takes the shopper to the
// hosted payment page. nonce is the CSP nonce for its inline script.
func (f *HostedForm) Render(w io.Writer, nonce string) error {
	return AutoPost{
		URL: f.URL, Fields: f.Fields, Title: "Redirecting to payment",
		Message: "Press the button to continue to the payment page.", Button: "Continue to payment", Nonce: nonce,
	}.Render(w)
}

// FormValue escapes s for an HTML attribute value and writes control
// characters as numeric character references (as the PHP SDK's
// fieldToHtml does), so that a CR or LF survives HTML parsing. Use it as a
// template function for hidden form fields. NUL cannot be represented in
// HTML and becomes U+FFFD in browsers.
func FormValue(s string) template.HTML {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&#34;")
		case r == '\'':
			b.WriteString("&#39;")
		case r == '+':
			b.WriteString("&#43;")
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "&#%d;", r)
		default:
			b.WriteRune(r)
		}
	}
	// The escaping above leaves no markup, so the value is safe HTML text.
	return template.HTML(b.String())
}
