package dashboard

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/pdf"
)

// This file holds the money pages: the overview with its chart, payments
// (list, detail, refund), customers (list, detail, cancelling a
// subscription), subscriptions and invoices. Each page calls the same
// procedure as /api/trpc, with the same checks.

// moneyRoutes adds the money pages to mux.
func (s *Server) moneyRoutes(mux *http.ServeMux) {
	mux.Handle("GET /dashboard/{$}", s.page(pay.RoleViewer, s.overviewPage))
	mux.Handle("GET /dashboard/payments", s.page(pay.RoleViewer, s.paymentsPage))
	mux.Handle("GET /dashboard/payments/{id}", s.page(pay.RoleViewer, s.paymentPage))
	mux.Handle("POST /dashboard/payments/{id}/refund", s.page(pay.RoleAdmin, s.refundAction))
	mux.Handle("GET /dashboard/customers", s.page(pay.RoleViewer, s.customersPage))
	mux.Handle("GET /dashboard/customers/{id}", s.page(pay.RoleViewer, s.customerPage))
	mux.Handle("POST /dashboard/customers/{id}/portal-link", s.page(pay.RoleAdmin, s.portalLinkPage))
	mux.Handle("POST /dashboard/subscriptions/{id}/cancel", s.action(pay.RoleAdmin, s.cancelAction))
	mux.Handle("GET /dashboard/subscriptions", s.page(pay.RoleViewer, s.subscriptionsPage))
	mux.Handle("GET /dashboard/invoices", s.page(pay.RoleViewer, s.invoicesPage))
}

// validated checks a page's input as /api/trpc does before a procedure.
func validated(in validator) error { return in.validate() }

// freshKey is a new idempotency key for a form: one per rendering, so a
// double submission or a resent form is one action.
func freshKey() string { return "dash_" + pay.RandomString(24) }

// ---- amounts and dates typed in forms ----

// parseMajor reads an amount typed in major units ("12.50", "12") as minor
// units of currency, exactly (digits only, no floating point). label names
// the field in the message. Currency "" is any two-decimal currency.
func parseMajor(field, label, text, currency string) (int64, error) {
	digits := pdf.MinorDigits(currency)
	bad := func() error {
		example := "12.50"
		if digits == 0 {
			example = "1250"
		}
		if currency == "" {
			return badRequest(field, fmt.Sprintf("%s must be an amount like %s.", label, example))
		}
		return badRequest(field, fmt.Sprintf("%s must be an amount like %s (%s).", label, example, strings.ToUpper(currency)))
	}
	text = strings.TrimSpace(text)
	whole, frac, dotted := strings.Cut(text, ".")
	if whole == "" || len(whole) > 12 || (dotted && (frac == "" || len(frac) > digits)) {
		return 0, bad()
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, bad()
		}
	}
	for len(frac) < digits {
		frac += "0"
	}
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, bad()
	}
	return n, nil
}

// major writes minor units as the major-unit text parseMajor reads.
func major(amount int64, currency string) string {
	digits := pdf.MinorDigits(currency)
	if digits == 0 {
		return strconv.FormatInt(amount, 10)
	}
	return fmt.Sprintf("%d.%02d", amount/100, amount%100)
}

// parseDay reads a date input (YYYY-MM-DD) as its midnight, UTC.
func parseDay(field, label, text string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(text))
	if err != nil {
		return time.Time{}, badRequest(field, label+" must be a date (YYYY-MM-DD).")
	}
	return t, nil
}

// ---- the overview ----

// chart is a daily revenue chart drawn as SVG by the template: the
// geometry is computed here, in the SVG's user units.
type chart struct {
	Currency    string
	Width       int
	Height      int
	Bars        []chartBar
	YTicks      []chartTick
	XTicks      []chartTick
	Left, Right int // the plot's x range
	Top, Bottom int // the plot's y range (Bottom is the axis)
	Days        []dayRow
	Total       int64
}

type chartBar struct {
	X, Y, W, H float64
	Title      string // the <title>: the day, the amount and the count
}

type chartTick struct {
	X, Y   float64
	Label  string
	Anchor string // text-anchor: the first and last x labels stay inside
}

type dayRow struct {
	Day    int64
	Amount int64
	Count  int64
}

// niceCeil is the smallest of 1, 2, 2.5 and 5 times a power of ten that is
// at least n (minor units; at least 100).
func niceCeil(n int64) int64 {
	if n <= 100 {
		return 100
	}
	for p := int64(100); ; p *= 10 {
		for _, m := range []int64{10, 20, 25, 50, 100} {
			if v := p * m / 10; v >= n {
				return v
			}
		}
	}
}

// newChart lays out the daily series of one currency.
func newChart(sum *summaryView, currency string) chart {
	c := chart{Currency: currency, Width: 720, Height: 260, Left: 88, Right: 712, Top: 14, Bottom: 220}
	var top int64
	for _, d := range sum.Daily {
		top = max(top, d.Amounts[currency])
		c.Days = append(c.Days, dayRow{Day: d.Day, Amount: d.Amounts[currency], Count: d.Count})
		c.Total += d.Amounts[currency]
	}
	top = niceCeil(top)
	plotH := float64(c.Bottom - c.Top)
	slot := float64(c.Right-c.Left) / float64(len(sum.Daily))
	for i, d := range c.Days {
		h := plotH * float64(d.Amount) / float64(top)
		if d.Amount > 0 && h < 1 {
			h = 1 // a day with takings is never invisible
		}
		x := float64(c.Left) + float64(i)*slot
		c.Bars = append(c.Bars, chartBar{X: x + slot*0.15, Y: float64(c.Bottom) - h, W: slot * 0.7, H: h,
			Title: fmt.Sprintf("%s: %s from %d payment%s", time.Unix(d.Day, 0).UTC().Format("Mon 2 Jan"), pdf.Money(d.Amount, currency),
				d.Count, plural(d.Count))})
		if i == 0 || i == len(c.Days)-1 || (len(c.Days)-1-i)%7 == 0 {
			c.XTicks = append(c.XTicks, chartTick{X: x + slot/2, Y: float64(c.Bottom) + 24, Label: time.Unix(d.Day, 0).UTC().Format("2 Jan")})
		}
	}
	// Drop an x label that would overlap the first one.
	if len(c.XTicks) > 2 && c.XTicks[1].X-c.XTicks[0].X < 80 {
		c.XTicks = append(c.XTicks[:1], c.XTicks[2:]...)
	}
	for i := range c.XTicks {
		c.XTicks[i].Anchor = "middle"
	}
	if n := len(c.XTicks); n > 1 {
		c.XTicks[0].Anchor, c.XTicks[0].X = "start", float64(c.Left)
		c.XTicks[n-1].Anchor, c.XTicks[n-1].X = "end", float64(c.Right)
	}
	for i := range 5 {
		v := top * int64(i) / 4
		c.YTicks = append(c.YTicks, chartTick{X: float64(c.Left) - 8, Y: float64(c.Bottom) - plotH*float64(i)/4, Label: axisMoney(v, currency)})
	}
	return c
}

// axisMoney is an axis label: the amount without its minor units when
// they are nought (£375, £12.50).
func axisMoney(amount int64, currency string) string {
	return strings.TrimSuffix(pdf.Money(amount, currency), ".00")
}

// statusWords writes a status in words, as the templates' status does.
func statusWords(s string) string { return strings.ReplaceAll(s, "_", " ") }

// prefixed is prefix and s, or "" when s is.
func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

func plural(n int64) string {
	if n == 1 {
		return ""
	}
	return "s"
}

type overviewData struct {
	Summary *summaryView
	// Revenue is the takings by currency, the largest first; Count the
	// succeeded payments in every currency.
	Revenue []revenueView
	Count   int64
	Charts  []chart
}

// overviewPage is the landing page: the last 30 days' takings, their daily
// chart, and the latest payments.
func (s *Server) overviewPage(w http.ResponseWriter, r *http.Request, c *call) error {
	sum, err := s.overviewSummary(r.Context(), c, summaryInput{})
	if err != nil {
		return err
	}
	d := overviewData{Summary: sum, Revenue: slices.Clone(sum.Revenue)}
	slices.SortStableFunc(d.Revenue, func(a, b revenueView) int { return cmp.Compare(b.Amount, a.Amount) })
	var currencies []string
	for _, r := range d.Revenue {
		d.Count += r.Count
		currencies = append(currencies, r.Currency)
	}
	for _, cur := range sum.Currencies {
		if !slices.Contains(currencies, cur) {
			currencies = append(currencies, cur)
		}
	}
	if len(currencies) == 0 {
		currencies = []string{"gbp"}
	}
	for _, cur := range currencies {
		d.Charts = append(d.Charts, newChart(sum, cur))
	}
	return s.render(w, r, c, http.StatusOK, "overview", "Overview", d)
}

// ---- payments ----

type paymentsData struct {
	// The filters as typed.
	Status, From, To, AmountMin, AmountMax, Email string
	Statuses                                      []string
	List                                          *listOf[paymentView]
	Next, First                                   string // the pager's links ("" for none)
	Error                                         string
}

// pagerLinks returns the next page's link (keeping the filters) and the
// first page's, when the list is not on it.
func pagerLinks(r *http.Request, hasMore bool, lastID string) (next, first string) {
	q := r.URL.Query()
	if q.Get("startingAfter") != "" {
		q.Del("startingAfter")
		first = r.URL.Path + "?" + q.Encode()
	}
	if hasMore && lastID != "" {
		q.Set("startingAfter", lastID)
		next = r.URL.Path + "?" + q.Encode()
	}
	return next, first
}

func lastID[T any](l *listOf[T], id func(T) string) string {
	if l == nil || len(l.Data) == 0 {
		return ""
	}
	return id(l.Data[len(l.Data)-1])
}

// paymentsInput reads the payments page's filters; amounts are in major
// units of a two-decimal currency (every currency the server charges in
// has two: payments.Currencies).
func paymentsInput(q url.Values) (paymentsListInput, error) {
	in := paymentsListInput{Status: q.Get("status"), CustomerEmail: strings.TrimSpace(q.Get("email")), StartingAfter: q.Get("startingAfter")}
	if v := q.Get("from"); v != "" {
		t, err := parseDay("createdFrom", "From", v)
		if err != nil {
			return in, err
		}
		u := t.Unix()
		in.CreatedFrom = &u
	}
	if v := q.Get("to"); v != "" {
		t, err := parseDay("createdTo", "To", v)
		if err != nil {
			return in, err
		}
		u := t.Unix() + 86399
		in.CreatedTo = &u
	}
	for _, f := range []struct {
		param, field, label string
		dst                 **int64
	}{{"min", "amountMin", "Minimum amount", &in.AmountMin}, {"max", "amountMax", "Maximum amount", &in.AmountMax}} {
		if v := strings.TrimSpace(q.Get(f.param)); v != "" {
			n, err := parseMajor(f.field, f.label, v, "")
			if err != nil {
				return in, err
			}
			*f.dst = &n
		}
	}
	return in, validated(&in)
}

func (s *Server) paymentsPage(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	d := paymentsData{Status: q.Get("status"), From: q.Get("from"), To: q.Get("to"), AmountMin: q.Get("min"), AmountMax: q.Get("max"),
		Email: q.Get("email"), Statuses: paymentStatuses}
	var status int
	in, err := paymentsInput(q)
	if err == nil {
		d.List, err = s.paymentsList(r.Context(), c, in)
	}
	if d.Error, status, err = filterError(err); err != nil {
		return err
	}
	if d.List != nil {
		d.Next, d.First = pagerLinks(r, d.List.HasMore, lastID(d.List, func(p paymentView) string { return p.ID }))
	}
	return s.render(w, r, c, status, "payments", "Payments", d)
}

type paymentData struct {
	*paymentDetail
	Admin bool
	// The refund form: a fresh key, the amount and reason as typed, and
	// what was wrong with them.
	Key, Amount, Reason string
	Reasons             []string
	RefundableText      string
	Error               string
}

func (s *Server) paymentPage(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.showPayment(w, r, c, http.StatusOK, "", "", "")
}

func (s *Server) showPayment(w http.ResponseWriter, r *http.Request, c *call, status int, amount, reason, problem string) error {
	d, err := s.paymentsGet(r.Context(), c, idInput{ID: r.PathValue("id")})
	if err != nil {
		return err
	}
	data := paymentData{paymentDetail: d, Admin: c.may(pay.RoleAdmin), Key: freshKey(), Amount: amount, Reason: reason, Reasons: refundReasons,
		RefundableText: major(d.Refundable, d.Payment.Currency), Error: problem}
	return s.render(w, r, c, status, "payment", "Payment "+d.Payment.ID, data)
}

// refundAction refunds a payment from its page. The caller's mistakes
// (an amount that is not one, more than is left) show the page again with
// the message and what was typed; success goes back to the page.
func (s *Server) refundAction(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	id := r.PathValue("id")
	pi, err := s.paymentsGet(r.Context(), c, idInput{ID: id})
	if err != nil {
		return err
	}
	amountText, reason := strings.TrimSpace(r.PostForm.Get("amount")), r.PostForm.Get("reason")
	in := refundInput{ID: id, Reason: reason, IdempotencyKey: r.PostForm.Get("idempotencyKey")}
	if amountText != "" {
		n, perr := parseMajor("amount", "Amount", amountText, pi.Payment.Currency)
		if perr != nil {
			return s.showPayment(w, r, c, http.StatusBadRequest, amountText, reason, perr.(*trpcError).message)
		}
		in.Amount = &n
	}
	err = validated(&in)
	var out *refundOut
	if err == nil {
		out, err = s.paymentsRefund(r.Context(), c, in)
	}
	if err != nil {
		te := asTRPCError(err)
		if te.code != "BAD_REQUEST" && te.code != "CONFLICT" {
			return err
		}
		msg := te.message
		if te.field == "amount" && !strings.HasPrefix(msg, "Amount") {
			msg = "Amount: " + msg
		}
		return s.showPayment(w, r, c, trpcCodes[te.code].status, amountText, reason, msg)
	}
	notice := fmt.Sprintf("Refunded %s (%s).", pdf.Money(out.Refund.Amount, out.Refund.Currency), out.Refund.Status)
	if out.Refund.Status != pay.RefundSucceeded {
		notice = fmt.Sprintf("The refund of %s is %s%s.", pdf.Money(out.Refund.Amount, out.Refund.Currency), statusWords(out.Refund.Status),
			prefixed(": ", out.Refund.FailureReason))
	}
	s.redirectNotice(w, r, "/dashboard/payments/"+url.PathEscape(id), notice)
	return nil
}

// ---- customers ----

type customersData struct {
	Email       string
	List        *listOf[customerView]
	Next, First string
	Error       string
}

func (s *Server) customersPage(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	d := customersData{Email: q.Get("email")}
	in := customersListInput{Email: strings.TrimSpace(d.Email), StartingAfter: q.Get("startingAfter")}
	var status int
	err := validated(&in)
	if err == nil {
		d.List, err = s.customersList(r.Context(), c, in)
	}
	if d.Error, status, err = filterError(err); err != nil {
		return err
	}
	if d.List != nil {
		d.Next, d.First = pagerLinks(r, d.List.HasMore, lastID(d.List, func(v customerView) string { return v.ID }))
	}
	return s.render(w, r, c, status, "customers", "Customers", d)
}

type customerData struct {
	*customerDetail
	Admin bool
	// Keys are the cancel forms' fresh idempotency keys, by subscription
	// and "end" or "now".
	Keys map[string]string
}

func (s *Server) customerPage(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := s.customersGet(r.Context(), c, idInput{ID: r.PathValue("id")})
	if err != nil {
		return err
	}
	data := customerData{customerDetail: d, Admin: c.may(pay.RoleAdmin), Keys: map[string]string{}}
	for _, sub := range d.Subscriptions.Data {
		data.Keys[sub.ID+"/end"], data.Keys[sub.ID+"/now"] = freshKey(), freshKey()
	}
	title := d.Customer.Email
	if title == "" {
		title = d.Customer.ID
	}
	return s.render(w, r, c, http.StatusOK, "customer", "Customer "+title, data)
}

// cancelAction cancels a subscription now or at its period's end, then
// goes back to the page the form was on.
func (s *Server) cancelAction(r *http.Request, c *call) (string, string, error) {
	in := cancelInput{ID: r.PathValue("id"), IdempotencyKey: r.PostForm.Get("idempotencyKey")}
	switch r.PostForm.Get("when") {
	case "period_end":
		in.AtPeriodEnd = true
	case "now":
	default:
		return "", "", badRequest("when", "Choose when to cancel: now or at the end of the period.")
	}
	if err := validated(&in); err != nil {
		return "", "", err
	}
	sub, err := s.subscriptionsCancel(r.Context(), c, in)
	if err != nil {
		return "", "", err
	}
	next := r.PostForm.Get("next")
	if next == "" {
		next = "/dashboard/customers/" + url.PathEscape(sub.Customer)
	}
	if in.AtPeriodEnd {
		return next, fmt.Sprintf("Subscription %s will be canceled on %s.", sub.ID, time.Unix(sub.CurrentPeriodEnd, 0).UTC().Format("2 Jan 2006")), nil
	}
	return next, fmt.Sprintf("Subscription %s is canceled.", sub.ID), nil
}

// ---- subscriptions and invoices ----

// filterError splits a list page's error: a bad filter is shown on the
// page, with 400; anything else fails the page.
func filterError(err error) (message string, status int, fail error) {
	if err == nil {
		return "", http.StatusOK, nil
	}
	if te := asTRPCError(err); te.code == "BAD_REQUEST" {
		return te.message, http.StatusBadRequest, nil
	}
	return "", 0, err
}

// statusListData is a list page filtered by status and customer.
type statusListData[V any] struct {
	Status, Customer string
	Statuses         []string
	List             *listOf[V]
	Next, First      string
	Error            string
}

// statusListPage renders a list filtered by status and customer (the
// subscriptions and invoices pages): in is the procedure's input made from
// the query, run the procedure, id a row's ID for the pager. A bad filter
// is shown on the page with 400.
func statusListPage[In any, PIn interface {
	*In
	validator
}, V any](s *Server, w http.ResponseWriter, r *http.Request, c *call, name, title string, statuses []string,
	in func(status, customer, after string) In, run func(context.Context, *call, In) (*listOf[V], error), id func(V) string) error {
	q := r.URL.Query()
	d := statusListData[V]{Status: q.Get("status"), Customer: q.Get("customer"), Statuses: statuses}
	input := in(d.Status, strings.TrimSpace(d.Customer), q.Get("startingAfter"))
	var status int
	err := validated(PIn(&input))
	if err == nil {
		d.List, err = run(r.Context(), c, input)
	}
	if d.Error, status, err = filterError(err); err != nil {
		return err
	}
	if d.List != nil {
		d.Next, d.First = pagerLinks(r, d.List.HasMore, lastID(d.List, id))
	}
	return s.render(w, r, c, status, name, title, d)
}

func (s *Server) subscriptionsPage(w http.ResponseWriter, r *http.Request, c *call) error {
	return statusListPage[subscriptionsListInput](s, w, r, c, "subscriptions", "Subscriptions", subscriptionStatuses,
		func(status, customer, after string) subscriptionsListInput {
			return subscriptionsListInput{Status: status, Customer: customer, StartingAfter: after}
		}, s.subscriptionsList, func(v subscriptionView) string { return v.ID })
}

func (s *Server) invoicesPage(w http.ResponseWriter, r *http.Request, c *call) error {
	return statusListPage[invoicesListInput](s, w, r, c, "invoices", "Invoices", invoiceStatuses,
		func(status, customer, after string) invoicesListInput {
			return invoicesListInput{Status: status, Customer: customer, StartingAfter: after}
		}, s.invoicesList, func(v invoiceView) string { return v.ID })
}
