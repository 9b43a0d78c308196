package hosted

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/form"
	"github.com/calmony/calmonypay/internal/middleware"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/pdf"
	"github.com/calmony/calmonypay/internal/store"
)

// The customer portal's pages, at pay.PortalPagePath + a session's token:
// one page showing the customer's subscriptions, invoices, default card
// and billing details, with forms that post back to it. The token is the
// credential (256 random bits; the store keeps its hash), so the pages
// are never cached, never indexed, and ask for no Referer (the mandatory
// header's strict-origin-when-cross-origin sends other sites the origin
// alone anyway; the page's meta tag sends nothing); the forms are
// behind cross-origin protection, and every change runs through the
// billing and payments operations (billing/portal_actions.go).

// portalCSP is the portal page's policy: no script, no style, forms
// posting to the page itself only.
const portalCSP = "default-src 'none'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// portalNotices are what the page says after an action (?done=…) or a card
// replacement (?card=…).
var portalNotices = map[string]string{
	"done=cancel_at_period_end":              "Your subscription will end at the end of the current period.",
	"done=canceled":                          "Your subscription was cancelled.",
	"done=resumed":                           "Your subscription will continue: it is no longer set to end.",
	"done=switched":                          "Your plan was changed.",
	"done=details":                           "Your billing details were saved.",
	"card=" + payments.PortalCardUpdated:     "Your new card was saved. It will be used for your next payments.",
	"card=" + payments.PortalCardDeclined:    "Your card was declined and was not saved. You can try again, with this card or another.",
	"card=" + payments.PortalCardCancelled:   "The card replacement was cancelled: your card on file is unchanged.",
	"card=" + payments.PortalCardUnconfirmed: "The card replacement could not be confirmed, so your card on file is unchanged.",
	"card=" + payments.PortalCardNotSaved:    "That card was not saved: this page's link expired or was used for another card meanwhile.",
}

var portalPage = template.Must(template.New("portal").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow"><meta name="referrer" content="no-referrer">
<title>{{if .Business}}{{.Business}}: {{end}}Billing</title></head>
<body><main>
<h1>{{if .Business}}{{.Business}}: {{end}}Billing</h1>
{{with .Headline}}<p>{{.}}</p>{{end}}
{{with .Notice}}<p id="notice" role="status"><strong>{{.}}</strong></p>{{end}}
<p>Signed in as <span id="customer">{{.Customer}}</span>. This page works until {{.Until}}.</p>
{{if .Return}}<p><a id="return" href="{{.Return}}">Return to {{if .Business}}{{.Business}}{{else}}the merchant{{end}}</a></p>{{end}}
<h2>Subscriptions</h2>
{{range .Subscriptions}}<section id="subscription-{{.ID}}">
<h3>{{.Plan}}</h3>
<p>Status: <span class="status">{{.Status}}</span></p>
{{if .Next}}<p class="next">{{.Next}}</p>{{end}}
{{if .Ends}}<p class="ends">{{.Ends}}</p>{{end}}
{{if .Resume}}<form method="post" action="{{.Action}}/resume"><button id="resume-{{.ID}}" type="submit">Don't cancel: keep my subscription</button></form>{{end}}
{{if .Switch}}<form method="post" action="{{.Action}}/switch"><label>New plan <select id="price-{{.ID}}" name="price">{{range .Switch}}<option value="{{.ID}}">{{.Label}}</option>{{end}}</select></label>
<button id="switch-{{.ID}}" type="submit">Change plan</button>{{if .Prorated}} <small>The change is prorated: you are credited for the unused time of your current plan.</small>{{end}}</form>{{end}}
{{if .Cancel}}<form method="post" action="{{.Action}}/cancel">{{if .Reasons}}<label>Reason <select id="reason-{{.ID}}" name="reason"><option value="">(no reason)</option>{{range .Reasons}}<option value="{{.Value}}">{{.Label}}</option>{{end}}</select></label>{{end}}
<button id="cancel-{{.ID}}" type="submit">{{.Cancel}}</button></form>{{end}}
</section>
{{else}}<p>You have no subscriptions.</p>
{{end}}
{{if .ShowCard}}<h2>Payment method</h2>
<p id="card">{{if .Card}}{{.Card}}{{else}}No card on file.{{end}}</p>
{{if .CanReplaceCard}}<form method="post" action="{{.Base}}/card"><button id="replace-card" type="submit">{{if .Card}}Replace card{{else}}Add a card{{end}}</button></form>
<p>You will enter your card on our payment provider's secure page. No money is taken.</p>{{end}}{{end}}
{{if .Details}}<h2>Billing details</h2>
<form method="post" action="{{.Base}}/details">
{{if .Details.Email}}<p><label>Email <input id="email" name="email" type="email" value="{{.Details.EmailValue}}"></label></p>{{end}}
{{if .Details.Address}}<p><label>Address line 1 <input id="line1" name="line1" value="{{.Details.Line1}}"></label></p>
<p><label>Address line 2 <input id="line2" name="line2" value="{{.Details.Line2}}"></label></p>
<p><label>City <input id="city" name="city" value="{{.Details.City}}"></label></p>
<p><label>Postal code <input id="postal_code" name="postal_code" value="{{.Details.PostalCode}}"></label></p>
<p><label>Country (2 letters) <input id="country" name="country" value="{{.Details.Country}}"></label></p>{{end}}
<button id="save-details" type="submit">Save</button></form>{{end}}
{{if .ShowInvoices}}<h2>Invoices</h2>
{{if .Invoices}}<table id="invoices"><thead><tr><th>Number</th><th>Date</th><th>Amount</th><th>Status</th><th></th></tr></thead><tbody>
{{range .Invoices}}<tr id="invoice-{{.ID}}"><td>{{.Number}}</td><td>{{.Date}}</td><td>{{.Amount}}</td><td class="status">{{.Status}}</td>
<td><a class="pdf" href="{{.PDF}}">PDF</a>{{if .Pay}} <a class="pay" href="{{.Pay}}">Pay now</a>{{end}}</td></tr>
{{end}}</tbody></table>{{else}}<p>You have no invoices.</p>{{end}}{{end}}
{{if or .Privacy .Terms}}<p>{{if .Privacy}}<a href="{{.Privacy}}">Privacy policy</a> {{end}}{{if .Terms}}<a href="{{.Terms}}">Terms of service</a>{{end}}</p>{{end}}
</main></body></html>
`))

type portalSubRow struct {
	ID, Plan, Status, Next, Ends, Action, Cancel string
	Resume, Prorated                             bool
	Switch                                       []portalPriceOption
	Reasons                                      []portalReason
}

type portalReason struct{ Value, Label string }

// reasonLabels are how the page words Stripe's cancellation reasons.
var reasonLabels = map[string]string{
	"too_expensive":    "It's too expensive",
	"missing_features": "Some features are missing",
	"switched_service": "I'm switching to another service",
	"unused":           "I don't use it enough",
	"customer_service": "Customer service was less than expected",
	"too_complex":      "Ease of use was less than expected",
	"low_quality":      "Quality was less than expected",
	"other":            "Other reason",
}

type portalPriceOption struct{ ID, Label string }

type portalInvoiceRow struct{ ID, Number, Date, Amount, Status, PDF, Pay string }

type portalDetails struct {
	Email, Address                                      bool
	EmailValue, Line1, Line2, City, PostalCode, Country string
}

type portalView struct {
	Business, Headline, Notice, Customer, Until, Return, Base, Card, Privacy, Terms string
	Subscriptions                                                                   []portalSubRow
	Invoices                                                                        []portalInvoiceRow
	ShowInvoices, ShowCard, CanReplaceCard                                          bool
	Details                                                                         *portalDetails
}

// portalSession reads the session of the token in the path, answering the
// customer itself when there is none or it no longer works: an unknown
// token gets a page saying so and nothing else; an expired or revoked one
// (or one whose customer was deleted) a page saying so with the return
// link and nothing else.
func (h *Pages) portalSession(w http.ResponseWriter, r *http.Request) (*pay.PortalSession, *pay.Customer, bool) {
	token := r.PathValue("token")
	if form.CheckRequestText(r) != nil || len(token) != 43 {
		writePortalGone(w, http.StatusNotFound, "Link not valid", "This billing link is not valid.", "")
		return nil, nil, false
	}
	ctx := r.Context()
	ps, err := h.db.FindPortalSessionByToken(ctx, pay.PortalTokenHash(token))
	if errors.Is(err, pay.ErrNotFound) {
		h.log.InfoContext(ctx, "security: portal page for an unknown token", "remote", r.RemoteAddr, "request_id", middleware.RequestIDFrom(ctx))
		writePortalGone(w, http.StatusNotFound, "Link not valid", "This billing link is not valid.", "")
		return nil, nil, false
	}
	if err != nil {
		h.portalError(w, r, "", err)
		return nil, nil, false
	}
	var c *pay.Customer
	if ps.Usable(h.now().Unix()) {
		c, err = h.db.FindCustomer(ctx, ps.Scope, ps.Customer)
		if err != nil && !errors.Is(err, pay.ErrNotFound) {
			h.portalError(w, r, "", err)
			return nil, nil, false
		}
	}
	if c == nil || c.Deleted {
		writePortalGone(w, http.StatusGone, "Link expired",
			"This billing link has expired. Return to the merchant's site to open your billing page again.", ps.ReturnURL)
		return nil, nil, false
	}
	return ps, c, true
}

// writePortalGone is the page of a portal link that does not work: a
// message and, if known, the return link, and nothing else.
func writePortalGone(w http.ResponseWriter, status int, title, message, back string) {
	setPortalHeaders(w.Header())
	writePageLink(w, status, title, message, back, "Return to the merchant")
}

func setPortalHeaders(hd http.Header) {
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Robots-Tag", "noindex, nofollow")
}

func (h *Pages) portalError(w http.ResponseWriter, r *http.Request, back string, err error) {
	ctx := r.Context()
	h.log.ErrorContext(ctx, "portal page", "request_id", middleware.RequestIDFrom(ctx), "err", err)
	setPortalHeaders(w.Header())
	writePageLink(w, http.StatusInternalServerError, "Something went wrong", "Please try again in a moment.", back, "Return to your billing page")
}

// portalBase is the address of a portal page (without query).
func (h *Pages) portalBase(r *http.Request) string {
	return h.payments.PublicURL() + pay.PortalPagePath + r.PathValue("token")
}

// portalHome shows the customer's billing page.
func (h *Pages) portalHome(w http.ResponseWriter, r *http.Request) {
	ps, c, ok := h.portalSession(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	v, err := h.portalView(ctx, ps, c, h.portalBase(r))
	if err != nil {
		h.portalError(w, r, "", err)
		return
	}
	for _, q := range []string{"done", "card"} {
		if res := r.URL.Query().Get(q); res != "" {
			v.Notice = portalNotices[q+"="+res]
		}
	}
	hd := w.Header()
	setPortalHeaders(hd)
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", portalCSP)
	if err := portalPage.Execute(w, v); err != nil {
		h.log.ErrorContext(ctx, "portal page: render", "err", err)
	}
}

func (h *Pages) portalView(ctx context.Context, ps *pay.PortalSession, c *pay.Customer, base string) (*portalView, error) {
	cfg, err := h.db.FindPortalConfiguration(ctx, ps.Scope, ps.Configuration)
	if err != nil {
		return nil, err
	}
	proj, err := h.db.FindProject(ctx, ps.Scope.ProjectID)
	if err != nil {
		return nil, err
	}
	f := &cfg.Features
	v := &portalView{Business: proj.Business.Name, Headline: cfg.Business.Headline, Customer: cmpOr(c.Email, c.Name, c.ID),
		Until: day(ps.ExpiresAt) + " " + timeOfDay(ps.ExpiresAt) + " UTC", Return: ps.ReturnURL, Base: base,
		Privacy: cfg.Business.PrivacyPolicyURL, Terms: cfg.Business.TermsOfServiceURL,
		ShowInvoices: f.InvoiceHistory.Enabled, ShowCard: true, CanReplaceCard: f.PaymentMethodUpdate.Enabled}
	if v.Subscriptions, err = h.portalSubscriptions(ctx, ps, cfg, base); err != nil {
		return nil, err
	}
	if v.ShowInvoices {
		if v.Invoices, err = h.portalInvoices(ctx, ps); err != nil {
			return nil, err
		}
	}
	if c.DefaultPaymentMethod != "" {
		if pm, err := h.db.FindPaymentMethod(ctx, ps.Scope, c.DefaultPaymentMethod); err == nil && pm.Card.Last4 != "" {
			v.Card = fmt.Sprintf("%s ending %s, expires %02d/%d", pm.Card.Brand, pm.Card.Last4, pm.Card.ExpMonth, pm.Card.ExpYear)
		}
	}
	if f.AllowsCustomerUpdate("email") || f.AllowsCustomerUpdate("address") {
		d := &portalDetails{Email: f.AllowsCustomerUpdate("email"), Address: f.AllowsCustomerUpdate("address"), EmailValue: c.Email}
		if a := c.Address; a != nil {
			d.Line1, d.Line2, d.City, d.PostalCode, d.Country = a.Line1, a.Line2, a.City, a.PostalCode, a.Country
		}
		v.Details = d
	}
	return v, nil
}

func cmpOr(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func timeOfDay(unix int64) string { return fmt.Sprintf("%02d:%02d", unix%86400/3600, unix%3600/60) }

// portalSubscriptions are the rows of the customer's subscriptions that
// have not ended, with the actions the configuration allows on each.
func (h *Pages) portalSubscriptions(ctx context.Context, ps *pay.PortalSession, cfg *pay.PortalConfiguration, base string) ([]portalSubRow, error) {
	l, err := h.db.FindSubscriptions(ctx, ps.Scope, store.SubscriptionFilter{Customer: ps.Customer}, pay.Page{Limit: 100})
	if err != nil {
		return nil, err
	}
	f := &cfg.Features
	var rows []portalSubRow
	for _, sub := range l.Data {
		if sub.Ended() {
			continue
		}
		row := portalSubRow{ID: sub.ID, Status: sub.Status, Action: base + "/subscriptions/" + sub.ID}
		var plans []string
		var amount int64
		for _, it := range sub.Items {
			plans = append(plans, h.priceLabel(ctx, ps.Scope, it.Price, it.Quantity))
			amount += it.Price.UnitAmount * it.Quantity
		}
		row.Plan = strings.Join(plans, ", ")
		ending := sub.CancelAtPeriodEnd || sub.CancelAt != 0
		switch {
		case ending:
			end := sub.CancelAt
			if sub.CancelAtPeriodEnd || end == 0 {
				end = sub.CurrentPeriodEnd
			}
			row.Ends, row.Resume = "Ends on "+day(end)+": it will not renew.", true
		case sub.Status == pay.SubscriptionTrialing:
			row.Next = "Trial ends on " + day(sub.TrialEnd) + "; then " + pdf.Money(amount, sub.Currency) + " (before tax)."
		case sub.Status != pay.SubscriptionPaused && sub.Status != pay.SubscriptionIncomplete:
			row.Next = "Next payment: " + pdf.Money(amount, sub.Currency) + " (before tax) on " + day(sub.CurrentPeriodEnd) + "."
		}
		if f.SubscriptionCancel.Enabled && !ending {
			row.Cancel = "Cancel at the end of the period"
			if f.SubscriptionCancel.Mode == pay.PortalCancelImmediately {
				row.Cancel = "Cancel now"
			}
			if f.SubscriptionCancel.ReasonEnabled {
				for _, r := range f.SubscriptionCancel.ReasonOptions {
					row.Reasons = append(row.Reasons, portalReason{Value: r, Label: cmpOr(reasonLabels[r], r)})
				}
			}
		}
		if f.CanSwitchPrices() && len(sub.Items) == 1 && !ending {
			row.Switch = h.switchOptions(ctx, ps.Scope, f, sub)
			row.Prorated = f.SubscriptionUpdate.ProrationBehavior != billing.NoProrations
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// switchOptions are the prices the configuration lists, of the
// subscription's currency and other than its own.
func (h *Pages) switchOptions(ctx context.Context, scope pay.Scope, f *pay.PortalFeatures, sub *pay.Subscription) []portalPriceOption {
	var out []portalPriceOption
	for _, p := range f.SubscriptionUpdate.Products {
		for _, id := range p.Prices {
			pr, err := h.db.FindPrice(ctx, scope, id)
			if err != nil || !pr.Active || pr.Currency != sub.Currency || id == sub.Items[0].Price.ID {
				continue
			}
			out = append(out, portalPriceOption{ID: id, Label: h.priceLabel(ctx, scope, pr, sub.Items[0].Quantity)})
		}
	}
	return out
}

// priceLabel names a price as the customer sees it: "Gold: £10.00 every
// month" (with the quantity when more than one).
func (h *Pages) priceLabel(ctx context.Context, scope pay.Scope, pr *pay.Price, quantity int64) string {
	name := pr.Nickname
	if prod, err := h.db.FindProduct(ctx, scope, pr.Product); err == nil {
		name = prod.Name
	}
	label := name + ": " + pdf.Money(pr.UnitAmount, pr.Currency)
	if r := pr.Recurring; r != nil {
		if r.IntervalCount == 1 {
			label += " every " + r.Interval
		} else {
			label += fmt.Sprintf(" every %d %ss", r.IntervalCount, r.Interval)
		}
	}
	if quantity > 1 {
		label = fmt.Sprintf("%d × %s", quantity, label)
	}
	return label
}

// portalInvoices are the rows of the customer's finalised invoices, newest
// first.
func (h *Pages) portalInvoices(ctx context.Context, ps *pay.PortalSession) ([]portalInvoiceRow, error) {
	l, err := h.db.FindInvoices(ctx, ps.Scope, store.InvoiceFilter{Customer: ps.Customer}, pay.Page{Limit: 100})
	if err != nil {
		return nil, err
	}
	pub := h.payments.PublicURL()
	var rows []portalInvoiceRow
	for _, inv := range l.Data {
		if inv.Status == pay.InvoiceStatusDraft || inv.Token == "" {
			continue
		}
		row := portalInvoiceRow{ID: inv.ID, Number: inv.Number, Date: day(inv.FinalizedAt), Amount: pdf.Money(inv.Total, inv.Currency),
			Status: statusLabel(inv.Status), PDF: pay.InvoicePDFURL(inv, pub)}
		if inv.PayableOnline() {
			row.Pay = pay.InvoicePageURL(inv, pub)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// portalAction runs a form's action for a usable session and sends the
// browser back to the page, saying what was done; a refusal shows a page
// with its message and a link back.
func (h *Pages) portalAction(w http.ResponseWriter, r *http.Request,
	act func(ctx context.Context, ps *pay.PortalSession) (done string, err error)) {
	ps, _, ok := h.portalSession(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	base := h.portalBase(r)
	if err := r.ParseForm(); err != nil {
		portalRefused(w, http.StatusBadRequest, "The form could not be read.", base)
		return
	}
	done, err := act(r.Context(), ps)
	var pe *pay.Error
	switch {
	case err == nil:
		http.Redirect(w, r, base+"?done="+done, http.StatusSeeOther)
	case errors.Is(err, billing.ErrPortalNotAllowed):
		portalRefused(w, http.StatusForbidden, "This change cannot be made here.", base)
	case errors.As(err, &pe) && pe.Status == http.StatusNotFound:
		portalRefused(w, http.StatusNotFound, "There is no such subscription on your account.", base)
	case errors.As(err, &pe) && pe.Status < 500:
		portalRefused(w, pe.Status, pe.Message, base)
	default:
		h.portalError(w, r, base, err)
	}
}

func portalRefused(w http.ResponseWriter, status int, message, back string) {
	setPortalHeaders(w.Header())
	writePageLink(w, status, "Not changed", message+" Nothing was changed.", back, "Return to your billing page")
}

// answerErr is the error an operation answered: its own, or the *pay.Error
// it kept (a card decline).
func answerErr(a *payments.Answer, err error) error {
	if err == nil && a != nil && a.Err != nil {
		return a.Err
	}
	return err
}

func (h *Pages) portalCancel(w http.ResponseWriter, r *http.Request) {
	h.portalAction(w, r, func(ctx context.Context, ps *pay.PortalSession) (string, error) {
		a, err := h.billing.PortalCancelSubscription(ctx, ps, r.PathValue("id"), r.PostForm.Get("reason"))
		if sub, ok := objectOf[*pay.Subscription](a); ok && sub.Status == pay.SubscriptionCanceled {
			return "canceled", answerErr(a, err)
		}
		return "cancel_at_period_end", answerErr(a, err)
	})
}

func objectOf[T any](a *payments.Answer) (T, bool) {
	var zero T
	if a == nil {
		return zero, false
	}
	v, ok := a.Object.(T)
	return v, ok
}

func (h *Pages) portalResume(w http.ResponseWriter, r *http.Request) {
	h.portalAction(w, r, func(ctx context.Context, ps *pay.PortalSession) (string, error) {
		return "resumed", answerErr(h.billing.PortalResumeSubscription(ctx, ps, r.PathValue("id")))
	})
}

func (h *Pages) portalSwitch(w http.ResponseWriter, r *http.Request) {
	h.portalAction(w, r, func(ctx context.Context, ps *pay.PortalSession) (string, error) {
		return "switched", answerErr(h.billing.PortalSwitchPrice(ctx, ps, r.PathValue("id"), r.PostForm.Get("price")))
	})
}

func (h *Pages) portalDetails(w http.ResponseWriter, r *http.Request) {
	h.portalAction(w, r, func(ctx context.Context, ps *pay.PortalSession) (string, error) {
		f := r.PostForm
		var email *string
		if f.Has("email") {
			e := strings.TrimSpace(f.Get("email"))
			if len(e) > 512 || e != "" && (!strings.Contains(e, "@") || strings.ContainsAny(e, " \t\r\n")) {
				return "", pay.InvalidParam("email", "Please enter a valid email address.")
			}
			email = &e
		}
		var address **pay.Address
		if f.Has("line1") || f.Has("country") {
			a := &pay.Address{Line1: f.Get("line1"), Line2: f.Get("line2"), City: f.Get("city"), PostalCode: f.Get("postal_code"),
				Country: strings.ToUpper(strings.TrimSpace(f.Get("country")))}
			for _, s := range []string{a.Line1, a.Line2, a.City, a.PostalCode} {
				if len(s) > 200 {
					return "", pay.InvalidParam("address", "Each address line may have at most 200 characters.")
				}
			}
			if a.Country != "" && !pay.IsCountry(a.Country) {
				return "", pay.InvalidParam("country", "Please enter a two-letter country code, such as GB.")
			}
			address = &a
		}
		if email == nil && address == nil {
			return "", pay.InvalidRequest("", "", "There was nothing to save.")
		}
		return "details", answerErr(h.billing.PortalUpdateCustomer(ctx, ps, email, address))
	})
}

// portalCard is "replace card": it starts a hosted VERIFY of a new card
// (payments.Service.StartPortalCardUpdate) and sends the browser to the
// gateway's hosted page with it.
func (h *Pages) portalCard(w http.ResponseWriter, r *http.Request) {
	ps, _, ok := h.portalSession(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	base := h.portalBase(r)
	cfg, err := h.db.FindPortalConfiguration(ctx, ps.Scope, ps.Configuration)
	if err != nil {
		h.portalError(w, r, base, err)
		return
	}
	if !cfg.Features.PaymentMethodUpdate.Enabled {
		portalRefused(w, http.StatusForbidden, "Cards cannot be replaced here.", base)
		return
	}
	cs, err := h.payments.StartPortalCardUpdate(ctx, ps, base)
	if err != nil {
		h.portalError(w, r, base, err)
		return
	}
	setPortalHeaders(w.Header())
	h.toGateway(w, r, cs, base, "Return to your billing page")
}

// portalCSRF refuses a cross-site POST to the portal's forms with a page
// of ours.
func portalCSRF(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		portalRefused(w, http.StatusForbidden, "This change must be made from your billing page itself.", "")
	}))
	return cop.Handler(next)
}
