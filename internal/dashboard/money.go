package dashboard

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// This file holds the money procedures: the overview, payments (and
// refunds), customers, subscriptions (and their cancellation) and
// invoices. Their outputs are small views of the domain objects, in
// camelCase, with no card number (brand and last four only), client
// secret or gateway reference.

// Page sizes.
const (
	defaultLimit = 25
	maxLimit     = 100
	recentLimit  = 10 // the overview's recent payments, and a customer's first pages
	// timelineLimit bounds a payment's timeline (events, gateway ops).
	timelineLimit = 100
)

// A list's input pages with limit (1–100, 25 by default) and
// startingAfter (the last ID of the previous page: the page holds older
// objects), as fields of its own: embedded, a wrong type would be
// reported under the embedded struct's name.

func checkLimit(limit *int) error {
	if limit != nil && (*limit < 1 || *limit > maxLimit) {
		return badRequest("limit", fmt.Sprintf("limit must be between 1 and %d.", maxLimit))
	}
	return nil
}

func pageOf(limit *int, startingAfter string) pay.Page {
	pg := pay.Page{Limit: defaultLimit, StartingAfter: startingAfter}
	if limit != nil {
		pg.Limit = *limit
	}
	return pg
}

// viewsOf maps a store page to views (a listOf, developers.go); an unknown startingAfter names the
// input field. Use it as viewsOf(view)(s.db.FindX(…)).
func viewsOf[T, V any](view func(T) V) func(pay.List[T], error) (*listOf[V], error) {
	return func(l pay.List[T], err error) (*listOf[V], error) { return mapList(l, err, view) }
}

func mapList[T, V any](l pay.List[T], err error, view func(T) V) (*listOf[V], error) {
	if err != nil {
		var pe *pay.Error
		if errors.As(err, &pe) && pe.Param == "starting_after" {
			return nil, badRequest("startingAfter", "startingAfter is not an object of this list: "+pe.Message)
		}
		return nil, err
	}
	out := &listOf[V]{Data: make([]V, 0, len(l.Data)), HasMore: l.HasMore}
	for _, v := range l.Data {
		out.Data = append(out.Data, view(v))
	}
	return out, nil
}

// idInput names one object.
type idInput struct {
	ID string `json:"id"`
}

func (in *idInput) validate() error { return requireID("id", in.ID) }

func requireID(field, id string) error {
	if id == "" {
		return badRequest(field, field+" is required.")
	}
	if len(id) > 255 {
		return badRequest(field, field+" is too long.")
	}
	return nil
}

// checkKey checks a mutation's idempotencyKey: 1–255 characters.
func checkKey(key string) error {
	if key == "" {
		return badRequest("idempotencyKey", "idempotencyKey is required: a fresh random string for each action, reused on a retry.")
	}
	if len(key) > 255 {
		return badRequest("idempotencyKey", "idempotencyKey must be at most 255 characters.")
	}
	return nil
}

// idempotencyKey makes the operation's key for a mutation's input, as /v1
// does for a request: the key, method POST, the path "trpc:<procedure>"
// and a keyed fingerprint of the input (so a key reused with other input
// is refused, never replayed).
func (s *Server) idempotencyKey(c *call, procedure, key string, input any) *payments.IdempotencyKey {
	b, _ := json.Marshal(input)
	path := "trpc:" + procedure
	fp := s.db.Keys().MAC(append([]byte(http.MethodPost+"\x00"+path+"\x00"), b...))
	return &payments.IdempotencyKey{Key: store.IdemKey{Scope: c.scope(), Key: key}, Method: http.MethodPost, Path: path, Fingerprint: fp}
}

// answeredID returns the ID of the object an operation answered with,
// from the object itself or, for a replay, from the answer kept under the
// key; an error answer is returned as its *pay.Error.
func answeredID(a *payments.Answer) (string, error) {
	if a.Err != nil {
		return "", a.Err
	}
	if a.Object != nil {
		switch o := a.Object.(type) {
		case *pay.Refund:
			return o.ID, nil
		case *pay.Subscription:
			return o.ID, nil
		}
		return "", fmt.Errorf("dashboard: unexpected answer %T", a.Object)
	}
	if a.Status >= 400 {
		var env struct {
			Error struct {
				Type, Code, Param, Message string
			} `json:"error"`
		}
		if err := json.Unmarshal(a.Body, &env); err != nil {
			return "", fmt.Errorf("dashboard: replayed answer: %w", err)
		}
		return "", &pay.Error{Status: a.Status, Type: env.Error.Type, Code: env.Error.Code, Param: env.Error.Param, Message: env.Error.Message}
	}
	var obj struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(a.Body, &obj); err != nil || obj.ID == "" {
		return "", fmt.Errorf("dashboard: replayed answer has no id: %v", err)
	}
	return obj.ID, nil
}

// ---- views ----

type paymentView struct {
	ID             string `json:"id"`
	Created        int64  `json:"created"`
	Amount         int64  `json:"amount"`
	AmountReceived int64  `json:"amountReceived"`
	Currency       string `json:"currency"`
	Status         string `json:"status"`
	Customer       string `json:"customer"`
	CustomerEmail  string `json:"customerEmail"`
	Description    string `json:"description"`
	CaptureMethod  string `json:"captureMethod"`
	// LastError is why the last attempt failed ("" if none).
	LastError          string `json:"lastError"`
	CanceledAt         int64  `json:"canceledAt"`
	CancellationReason string `json:"cancellationReason"`
}

func paymentOf(pi *pay.PaymentIntent) paymentView {
	v := paymentView{ID: pi.ID, Created: pi.Created, Amount: pi.Amount, AmountReceived: pi.AmountReceived, Currency: pi.Currency,
		Status: pi.Status, Customer: pi.Customer, Description: pi.Description, CaptureMethod: pi.CaptureMethod,
		CanceledAt: pi.CanceledAt, CancellationReason: pi.CancellationReason}
	if pi.LastError != nil {
		v.LastError = pi.LastError.Message
	}
	return v
}

// withEmails fills in the customers' emails of payments, one read per
// customer.
func (s *Server) withEmails(ctx context.Context, scope pay.Scope, ps []paymentView) error {
	emails := map[string]string{}
	for i := range ps {
		id := ps[i].Customer
		if id == "" {
			continue
		}
		email, ok := emails[id]
		if !ok {
			cus, err := s.db.FindCustomer(ctx, scope, id)
			if err != nil && !errors.Is(err, pay.ErrNotFound) {
				return err
			}
			if cus != nil {
				email = cus.Email
			}
			emails[id] = email
		}
		ps[i].CustomerEmail = email
	}
	return nil
}

type cardView struct {
	Brand    string `json:"brand"`
	Last4    string `json:"last4"`
	ExpMonth int    `json:"expMonth"`
	ExpYear  int    `json:"expYear"`
	Funding  string `json:"funding"`
	Country  string `json:"country"`
}

type chargeView struct {
	ID             string   `json:"id"`
	Created        int64    `json:"created"`
	Amount         int64    `json:"amount"`
	AmountCaptured int64    `json:"amountCaptured"`
	AmountRefunded int64    `json:"amountRefunded"`
	Currency       string   `json:"currency"`
	Status         string   `json:"status"`
	Captured       bool     `json:"captured"`
	FailureCode    string   `json:"failureCode"`
	FailureMessage string   `json:"failureMessage"`
	Card           cardView `json:"card"`
}

func chargeOf(ch *pay.Charge) chargeView {
	return chargeView{ID: ch.ID, Created: ch.Created, Amount: ch.Amount, AmountCaptured: ch.AmountCaptured, AmountRefunded: ch.AmountRefunded,
		Currency: ch.Currency, Status: ch.Status, Captured: ch.Captured, FailureCode: ch.FailureCode, FailureMessage: ch.FailureMessage,
		Card: cardView{Brand: ch.Card.Brand, Last4: ch.Card.Last4, ExpMonth: ch.Card.ExpMonth, ExpYear: ch.Card.ExpYear,
			Funding: ch.Card.Funding, Country: ch.Card.Country}}
}

type refundView struct {
	ID            string `json:"id"`
	Created       int64  `json:"created"`
	Charge        string `json:"charge"`
	PaymentIntent string `json:"paymentIntent"`
	Amount        int64  `json:"amount"`
	Currency      string `json:"currency"`
	Reason        string `json:"reason"`
	Status        string `json:"status"`
	FailureReason string `json:"failureReason"`
}

func refundOf(r *pay.Refund) refundView {
	return refundView{ID: r.ID, Created: r.Created, Charge: r.Charge, PaymentIntent: r.PaymentIntent, Amount: r.Amount, Currency: r.Currency,
		Reason: r.Reason, Status: r.Status, FailureReason: r.FailureReason}
}

// timelineEntry is one line of a payment's history: an event, or a
// gateway operation (its kind, state and attempts; never its request).
type timelineEntry struct {
	At       int64  `json:"at"`
	Source   string `json:"source"` // "event" or "gateway"
	ID       string `json:"id"`
	Object   string `json:"object"` // the object it is about
	Type     string `json:"type"`   // the event's type, or the op's kind (sale, capture, cancel, refund)
	State    string `json:"state,omitempty"`
	Attempts int    `json:"attempts,omitempty"`
	Updated  int64  `json:"updated,omitempty"`
}

type paymentDetail struct {
	Payment paymentView  `json:"payment"`
	Charges []chargeView `json:"charges"`
	Refunds []refundView `json:"refunds"`
	// Refundable is what is left to refund of the captured charge (0: none).
	Refundable int64           `json:"refundable"`
	Timeline   []timelineEntry `json:"timeline"`
}

type customerView struct {
	ID          string `json:"id"`
	Created     int64  `json:"created"`
	Email       string `json:"email"`
	Name        string `json:"name"`
	Phone       string `json:"phone"`
	Description string `json:"description"`
	Deleted     bool   `json:"deleted"`
}

func customerOf(c *pay.Customer) customerView {
	return customerView{ID: c.ID, Created: c.Created, Email: c.Email, Name: c.Name, Phone: c.Phone, Description: c.Description, Deleted: c.Deleted}
}

type subscriptionItemView struct {
	Price      string `json:"price"`
	Product    string `json:"product"`
	Quantity   int64  `json:"quantity"`
	UnitAmount int64  `json:"unitAmount"`
	Interval   string `json:"interval"`
}

type subscriptionView struct {
	ID                 string                 `json:"id"`
	Created            int64                  `json:"created"`
	Customer           string                 `json:"customer"`
	Status             string                 `json:"status"`
	Currency           string                 `json:"currency"`
	Items              []subscriptionItemView `json:"items"`
	Amount             int64                  `json:"amount"` // per period, before tax: the items' unit amounts times quantities
	CurrentPeriodStart int64                  `json:"currentPeriodStart"`
	CurrentPeriodEnd   int64                  `json:"currentPeriodEnd"`
	CancelAtPeriodEnd  bool                   `json:"cancelAtPeriodEnd"`
	CancelAt           int64                  `json:"cancelAt"`
	CanceledAt         int64                  `json:"canceledAt"`
	EndedAt            int64                  `json:"endedAt"`
	LatestInvoice      string                 `json:"latestInvoice"`
}

func subscriptionOf(s *pay.Subscription) subscriptionView {
	v := subscriptionView{ID: s.ID, Created: s.Created, Customer: s.Customer, Status: s.Status, Currency: s.Currency,
		Items: []subscriptionItemView{}, CurrentPeriodStart: s.CurrentPeriodStart, CurrentPeriodEnd: s.CurrentPeriodEnd,
		CancelAtPeriodEnd: s.CancelAtPeriodEnd, CancelAt: s.CancelAt, CanceledAt: s.CanceledAt, EndedAt: s.EndedAt, LatestInvoice: s.LatestInvoice}
	for _, it := range s.Items {
		iv := subscriptionItemView{Quantity: it.Quantity}
		if p := it.Price; p != nil {
			iv.Price, iv.Product = p.ID, p.Product
			iv.UnitAmount = p.UnitAmount
			if p.Recurring != nil {
				iv.Interval = p.Recurring.Interval
			}
		}
		v.Amount += iv.UnitAmount * iv.Quantity
		v.Items = append(v.Items, iv)
	}
	return v
}

type invoiceView struct {
	ID               string `json:"id"`
	Number           string `json:"number"`
	Created          int64  `json:"created"`
	Status           string `json:"status"`
	Currency         string `json:"currency"`
	Customer         string `json:"customer"`
	CustomerEmail    string `json:"customerEmail"`
	CustomerName     string `json:"customerName"`
	Subscription     string `json:"subscription"`
	Subtotal         int64  `json:"subtotal"`
	Tax              int64  `json:"tax"`
	Total            int64  `json:"total"`
	AmountDue        int64  `json:"amountDue"`
	AmountPaid       int64  `json:"amountPaid"`
	AmountRemaining  int64  `json:"amountRemaining"`
	DueDate          int64  `json:"dueDate"`
	HostedInvoiceURL string `json:"hostedInvoiceUrl"` // "" before it is finalised
	InvoicePDF       string `json:"invoicePdf"`       // "" before it is finalised
}

func (s *Server) invoiceOf(inv *pay.Invoice) invoiceView {
	public := s.payments.PublicURL()
	return invoiceView{ID: inv.ID, Number: inv.Number, Created: inv.Created, Status: inv.Status, Currency: inv.Currency, Customer: inv.Customer,
		CustomerEmail: inv.CustomerEmail, CustomerName: inv.CustomerName, Subscription: inv.Subscription, Subtotal: inv.Subtotal, Tax: inv.Tax,
		Total: inv.Total, AmountDue: inv.AmountDue, AmountPaid: inv.AmountPaid, AmountRemaining: inv.AmountRemaining, DueDate: inv.DueDate,
		HostedInvoiceURL: pay.InvoicePageURL(inv, public), InvoicePDF: pay.InvoicePDFURL(inv, public)}
}

// ---- overview ----

type summaryInput struct {
	Days *int `json:"days"`
}

const maxSummaryDays = 366

func (in *summaryInput) validate() error {
	if in.Days != nil && (*in.Days < 1 || *in.Days > maxSummaryDays) {
		return badRequest("days", fmt.Sprintf("days must be between 1 and %d.", maxSummaryDays))
	}
	return nil
}

// revenueView is one currency's takings over the window: amount received
// from succeeded payments created in it, how many, the refunds that
// succeeded in it (whenever their payment was), and amount less refunds.
type revenueView struct {
	Currency string `json:"currency"`
	Amount   int64  `json:"amount"`
	Count    int64  `json:"count"`
	Refunded int64  `json:"refunded"`
	Net      int64  `json:"net"`
}

// dayView is one UTC day of the chart: each currency's amount received
// (every currency of the window, 0 included) and the count of payments.
type dayView struct {
	Day     int64            `json:"day"` // midnight UTC, unix seconds
	Amounts map[string]int64 `json:"amounts"`
	Count   int64            `json:"count"`
}

type summaryView struct {
	Days       int           `json:"days"`
	From       int64         `json:"from"` // the first day's midnight (UTC)
	To         int64         `json:"to"`   // the midnight after the last day: [from, to)
	Currencies []string      `json:"currencies"`
	Revenue    []revenueView `json:"revenue"`
	Daily      []dayView     `json:"daily"`
	Recent     []paymentView `json:"recent"`
}

func (s *Server) overviewSummary(ctx context.Context, c *call, in summaryInput) (*summaryView, error) {
	days := 30
	if in.Days != nil {
		days = *in.Days
	}
	const day = 86400
	now := s.now().Unix()
	to := now - now%day + day
	from := to - int64(days)*day
	scope := c.scope()
	totals, err := s.db.RevenueSummary(ctx, scope, from)
	if err != nil {
		return nil, err
	}
	daily, err := s.db.DailyRevenue(ctx, scope, from, to)
	if err != nil {
		return nil, err
	}
	v := &summaryView{Days: days, From: from, To: to, Currencies: []string{}, Revenue: []revenueView{}, Daily: make([]dayView, days)}
	for _, t := range totals {
		v.Revenue = append(v.Revenue, revenueView{Currency: t.Currency, Amount: t.Amount, Count: t.Count, Refunded: t.Refunded, Net: t.Amount - t.Refunded})
		v.Currencies = append(v.Currencies, t.Currency)
	}
	for _, d := range daily {
		if !slices.Contains(v.Currencies, d.Currency) {
			v.Currencies = append(v.Currencies, d.Currency)
		}
	}
	slices.Sort(v.Currencies)
	for i := range v.Daily {
		v.Daily[i] = dayView{Day: from + int64(i)*day, Amounts: map[string]int64{}}
		for _, cur := range v.Currencies {
			v.Daily[i].Amounts[cur] = 0
		}
	}
	for _, d := range daily {
		i := (d.Day - from) / day
		if i < 0 || int(i) >= days {
			continue
		}
		v.Daily[i].Amounts[d.Currency] += d.Amount
		v.Daily[i].Count += d.Count
	}
	recent, err := viewsOf(paymentOf)(s.db.FindPaymentIntents(ctx, scope, store.PaymentIntentFilter{}, pay.Page{Limit: recentLimit}))
	if err != nil {
		return nil, err
	}
	v.Recent = recent.Data
	return v, s.withEmails(ctx, scope, v.Recent)
}

// ---- payments ----

var paymentStatuses = []string{pay.StatusRequiresPaymentMethod, pay.StatusRequiresConfirmation, pay.StatusRequiresAction,
	pay.StatusProcessing, pay.StatusRequiresCapture, pay.StatusSucceeded, pay.StatusCanceled}

type paymentsListInput struct {
	Status string `json:"status"`
	// CreatedFrom and CreatedTo bound the creation time (unix seconds,
	// inclusive).
	CreatedFrom *int64 `json:"createdFrom"`
	CreatedTo   *int64 `json:"createdTo"`
	// AmountMin and AmountMax bound the amount (minor units, inclusive).
	AmountMin     *int64 `json:"amountMin"`
	AmountMax     *int64 `json:"amountMax"`
	CustomerEmail string `json:"customerEmail"`
	Limit         *int   `json:"limit"`
	StartingAfter string `json:"startingAfter"`
}

func (in *paymentsListInput) validate() error {
	if in.Status != "" && !slices.Contains(paymentStatuses, in.Status) {
		return badRequest("status", "status must be one of "+joinOr(paymentStatuses)+".")
	}
	for _, b := range []struct {
		name string
		v    *int64
	}{{"createdFrom", in.CreatedFrom}, {"createdTo", in.CreatedTo}} {
		if b.v != nil && *b.v < 0 {
			return badRequest(b.name, b.name+" must be a unix time (seconds), not negative.")
		}
	}
	if in.CreatedFrom != nil && in.CreatedTo != nil && *in.CreatedFrom > *in.CreatedTo {
		return badRequest("createdTo", "createdTo must not be before createdFrom.")
	}
	if in.AmountMin != nil && *in.AmountMin < 0 {
		return badRequest("amountMin", "amountMin must not be negative.")
	}
	if in.AmountMax != nil && *in.AmountMax < 1 {
		return badRequest("amountMax", "amountMax must be a positive amount (minor units).")
	}
	if in.AmountMin != nil && in.AmountMax != nil && *in.AmountMin > *in.AmountMax {
		return badRequest("amountMax", "amountMax must not be less than amountMin.")
	}
	if len(in.CustomerEmail) > 512 {
		return badRequest("customerEmail", "customerEmail is too long.")
	}
	return checkLimit(in.Limit)
}

func joinOr(list []string) string {
	switch len(list) {
	case 0:
		return ""
	case 1:
		return list[0]
	}
	out := ""
	for i, s := range list[:len(list)-1] {
		if i > 0 {
			out += ", "
		}
		out += s
	}
	return out + " or " + list[len(list)-1]
}

func (s *Server) paymentsList(ctx context.Context, c *call, in paymentsListInput) (*listOf[paymentView], error) {
	f := store.PaymentIntentFilter{Status: in.Status, CustomerEmail: in.CustomerEmail}
	if in.AmountMin != nil {
		f.AmountGTE = *in.AmountMin
	}
	if in.AmountMax != nil {
		f.AmountLTE = *in.AmountMax
	}
	page := pageOf(in.Limit, in.StartingAfter)
	page.Created = pay.Range{Gte: in.CreatedFrom, Lte: in.CreatedTo}
	out, err := viewsOf(paymentOf)(s.db.FindPaymentIntents(ctx, c.scope(), f, page))
	if err != nil {
		return nil, err
	}
	return out, s.withEmails(ctx, c.scope(), out.Data)
}

func (s *Server) paymentsGet(ctx context.Context, c *call, in idInput) (*paymentDetail, error) {
	scope := c.scope()
	pi, err := s.db.FindPaymentIntent(ctx, scope, in.ID)
	if errors.Is(err, pay.ErrNotFound) {
		return nil, notFound("payment", in.ID)
	} else if err != nil {
		return nil, err
	}
	d := &paymentDetail{Payment: paymentOf(pi), Charges: []chargeView{}, Refunds: []refundView{}, Timeline: []timelineEntry{}}
	if pi.Customer != "" {
		ps := []paymentView{d.Payment}
		if err := s.withEmails(ctx, scope, ps); err != nil {
			return nil, err
		}
		d.Payment = ps[0]
	}
	charges, err := s.db.FindCharges(ctx, scope, store.ChargeFilter{PaymentIntent: pi.ID}, pay.Page{Limit: maxLimit})
	if err != nil {
		return nil, err
	}
	objects := []string{pi.ID}
	for _, ch := range charges.Data {
		d.Charges = append(d.Charges, chargeOf(ch))
		objects = append(objects, ch.ID)
		if ch.ID == pi.LatestCharge && ch.Refundable() {
			d.Refundable = ch.AmountCaptured - ch.AmountRefunded
		}
	}
	refunds, err := s.db.FindRefunds(ctx, scope, store.RefundFilter{PaymentIntent: pi.ID}, pay.Page{Limit: maxLimit})
	if err != nil {
		return nil, err
	}
	for _, r := range refunds.Data {
		d.Refunds = append(d.Refunds, refundOf(r))
		objects = append(objects, r.ID)
	}
	events, err := s.db.FindEventsOf(ctx, scope, objects, timelineLimit)
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		d.Timeline = append(d.Timeline, timelineEntry{At: e.Created, Source: "event", ID: e.ID, Object: e.ObjectID, Type: e.Type})
	}
	ops, err := s.db.FindGatewayOpsOf(ctx, scope, objects, timelineLimit)
	if err != nil {
		return nil, err
	}
	for _, op := range ops {
		d.Timeline = append(d.Timeline, timelineEntry{At: op.Created, Source: "gateway", ID: op.ID, Object: op.ObjectID, Type: op.Kind,
			State: op.State, Attempts: op.Attempts, Updated: op.Updated})
	}
	// Oldest first; within a second, in the order the IDs were made
	// (pay.NewID: their first 11 characters after the prefix count
	// milliseconds and IDs), so a gateway call comes before the events of
	// its outcome.
	slices.SortStableFunc(d.Timeline, func(a, b timelineEntry) int {
		return cmp.Or(cmp.Compare(a.At, b.At), strings.Compare(idOrder(a.ID), idOrder(b.ID)))
	})
	return d, nil
}

// idOrder is the part of an ID that orders it by creation (pay.NewID).
func idOrder(id string) string {
	_, rest, _ := strings.Cut(id, "_")
	return rest[:min(len(rest), 11)]
}

var refundReasons = []string{"duplicate", "fraudulent", "requested_by_customer"}

type refundInput struct {
	ID string `json:"id"`
	// Amount is in minor units; absent: all that is left.
	Amount         *int64 `json:"amount"`
	Reason         string `json:"reason"`
	IdempotencyKey string `json:"idempotencyKey"`
}

func (in *refundInput) validate() error {
	if err := requireID("id", in.ID); err != nil {
		return err
	}
	if in.Amount != nil && *in.Amount < 1 {
		return badRequest("amount", "amount must be a positive amount (minor units).")
	}
	if in.Reason != "" && !pay.IsRefundReason(in.Reason) {
		return badRequest("reason", "reason must be one of "+joinOr(refundReasons)+".")
	}
	return checkKey(in.IdempotencyKey)
}

type refundOut struct {
	Refund  refundView     `json:"refund"`
	Payment *paymentDetail `json:"payment"`
}

// paymentsRefund refunds a payment through the operation POST /v1/refunds
// uses, under the input's idempotency key, and audits it.
func (s *Server) paymentsRefund(ctx context.Context, c *call, in refundInput) (*refundOut, error) {
	scope := c.scope()
	if _, err := s.db.FindPaymentIntent(ctx, scope, in.ID); errors.Is(err, pay.ErrNotFound) {
		return nil, notFound("payment", in.ID)
	} else if err != nil {
		return nil, err
	}
	p := payments.RefundParams{PaymentIntent: in.ID, Amount: in.Amount}
	if in.Reason != "" {
		p.Reason = &in.Reason
	}
	call := payments.Call{Scope: scope, Key: s.idempotencyKey(c, "payments.refund", in.IdempotencyKey, in)}
	a, err := s.payments.CreateRefund(ctx, call, p)
	if err == nil {
		var id string
		id, err = answeredID(a)
		if err == nil {
			return s.refunded(ctx, c, in, id)
		}
	}
	// The operation names the payment (or its charge) as /v1's
	// parameters; here it is the input's id.
	if pe, ok := pay.AsError(err); ok && pe.Status < 500 && (pe.Param == "payment_intent" || pe.Param == "charge") {
		return nil, &trpcError{code: payError(pe).code, message: pe.Message, field: "id"}
	}
	return nil, err
}

// refunded audits a refund (once per idempotency key: see auditKeyed) and
// answers with it and its payment.
func (s *Server) refunded(ctx context.Context, c *call, in refundInput, id string) (*refundOut, error) {
	scope := c.scope()
	re, err := s.db.FindRefund(ctx, scope, id)
	if err != nil {
		return nil, err
	}
	detail := map[string]string{"payment_intent": re.PaymentIntent, "amount": fmt.Sprint(re.Amount), "currency": re.Currency,
		"status": re.Status}
	if re.Reason != "" {
		detail["reason"] = re.Reason
	}
	if err := s.auditKeyed(ctx, c, in.IdempotencyKey, "refund.created", re.ID, detail); err != nil {
		return nil, err
	}
	d, err := s.paymentsGet(ctx, c, idInput{ID: in.ID})
	if err != nil {
		return nil, err
	}
	return &refundOut{Refund: refundOf(re), Payment: d}, nil
}

// ---- customers ----

type customersListInput struct {
	Email         string `json:"email"`
	Limit         *int   `json:"limit"`
	StartingAfter string `json:"startingAfter"`
}

func (in *customersListInput) validate() error {
	if len(in.Email) > 512 {
		return badRequest("email", "email is too long.")
	}
	return checkLimit(in.Limit)
}

func (s *Server) customersList(ctx context.Context, c *call, in customersListInput) (*listOf[customerView], error) {
	return viewsOf(customerOf)(s.db.FindCustomers(ctx, c.scope(), store.CustomerFilter{Email: in.Email}, pageOf(in.Limit, in.StartingAfter)))
}

type customerDetail struct {
	Customer      customerView              `json:"customer"`
	Payments      *listOf[paymentView]      `json:"payments"`
	Subscriptions *listOf[subscriptionView] `json:"subscriptions"`
	Invoices      *listOf[invoiceView]      `json:"invoices"`
}

func (s *Server) customersGet(ctx context.Context, c *call, in idInput) (*customerDetail, error) {
	scope := c.scope()
	cus, err := s.db.FindCustomer(ctx, scope, in.ID)
	if errors.Is(err, pay.ErrNotFound) {
		return nil, notFound("customer", in.ID)
	} else if err != nil {
		return nil, err
	}
	d := &customerDetail{Customer: customerOf(cus)}
	first := pay.Page{Limit: recentLimit}
	if d.Payments, err = viewsOf(paymentOf)(s.db.FindPaymentIntents(ctx, scope, store.PaymentIntentFilter{Customer: cus.ID}, first)); err != nil {
		return nil, err
	}
	for i := range d.Payments.Data {
		d.Payments.Data[i].CustomerEmail = cus.Email
	}
	subs := store.SubscriptionFilter{Customer: cus.ID, Status: "all"}
	if d.Subscriptions, err = viewsOf(subscriptionOf)(s.db.FindSubscriptions(ctx, scope, subs, first)); err != nil {
		return nil, err
	}
	if d.Invoices, err = viewsOf(s.invoiceOf)(s.db.FindInvoices(ctx, scope, store.InvoiceFilter{Customer: cus.ID}, first)); err != nil {
		return nil, err
	}
	return d, nil
}

// ---- subscriptions ----

var subscriptionStatuses = []string{pay.SubscriptionActive, pay.SubscriptionPastDue, pay.SubscriptionUnpaid, pay.SubscriptionCanceled,
	pay.SubscriptionIncomplete, pay.SubscriptionIncompleteExpired, pay.SubscriptionTrialing, pay.SubscriptionPaused, "ended", "all"}

type subscriptionsListInput struct {
	// Status is a status, "ended" (canceled or incomplete_expired) or
	// "all" (the default).
	Status        string `json:"status"`
	Customer      string `json:"customer"`
	Limit         *int   `json:"limit"`
	StartingAfter string `json:"startingAfter"`
}

func (in *subscriptionsListInput) validate() error {
	if in.Status != "" && !slices.Contains(subscriptionStatuses, in.Status) {
		return badRequest("status", "status must be one of "+joinOr(subscriptionStatuses)+".")
	}
	if len(in.Customer) > 255 {
		return badRequest("customer", "customer is too long.")
	}
	return checkLimit(in.Limit)
}

func (s *Server) subscriptionsList(ctx context.Context, c *call, in subscriptionsListInput) (*listOf[subscriptionView], error) {
	f := store.SubscriptionFilter{Customer: in.Customer, Status: in.Status}
	if f.Status == "" {
		f.Status = "all"
	}
	return viewsOf(subscriptionOf)(s.db.FindSubscriptions(ctx, c.scope(), f, pageOf(in.Limit, in.StartingAfter)))
}

type cancelInput struct {
	ID string `json:"id"`
	// AtPeriodEnd cancels at the end of the current period
	// (cancel_at_period_end) instead of now.
	AtPeriodEnd    bool   `json:"atPeriodEnd"`
	IdempotencyKey string `json:"idempotencyKey"`
}

func (in *cancelInput) validate() error {
	if err := requireID("id", in.ID); err != nil {
		return err
	}
	return checkKey(in.IdempotencyKey)
}

// subscriptionsCancel cancels a subscription now (the operation DELETE
// /v1/subscriptions/{id} uses) or at its period's end (the update
// cancel_at_period_end=true makes), under the input's idempotency key, and
// audits it.
func (s *Server) subscriptionsCancel(ctx context.Context, c *call, in cancelInput) (*subscriptionView, error) {
	scope := c.scope()
	if _, err := s.db.FindSubscription(ctx, scope, in.ID); errors.Is(err, pay.ErrNotFound) {
		return nil, notFound("subscription", in.ID)
	} else if err != nil {
		return nil, err
	}
	call := payments.Call{Scope: scope, Key: s.idempotencyKey(c, "subscriptions.cancel", in.IdempotencyKey, in)}
	var (
		a   *payments.Answer
		err error
	)
	if in.AtPeriodEnd {
		yes := true
		a, err = s.billing.UpdateSubscription(ctx, call, in.ID, billing.SubscriptionParams{CancelAtPeriodEnd: &yes})
	} else {
		a, err = s.billing.CancelSubscription(ctx, call, in.ID, billing.CancelParams{})
	}
	if err != nil {
		return nil, err
	}
	if _, err := answeredID(a); err != nil {
		return nil, err
	}
	sub, err := s.db.FindSubscription(ctx, scope, in.ID)
	if err != nil {
		return nil, err
	}
	detail := map[string]string{"at_period_end": fmt.Sprint(in.AtPeriodEnd), "status": sub.Status, "customer": sub.Customer}
	if err := s.auditKeyed(ctx, c, in.IdempotencyKey, "subscription.canceled", sub.ID, detail); err != nil {
		return nil, err
	}
	v := subscriptionOf(sub)
	return &v, nil
}

// ---- invoices ----

var invoiceStatuses = []string{pay.InvoiceStatusDraft, pay.InvoiceStatusOpen, pay.InvoiceStatusPaid, pay.InvoiceStatusUncollectible,
	pay.InvoiceStatusVoid}

type invoicesListInput struct {
	Status        string `json:"status"`
	Customer      string `json:"customer"`
	Subscription  string `json:"subscription"`
	Limit         *int   `json:"limit"`
	StartingAfter string `json:"startingAfter"`
}

func (in *invoicesListInput) validate() error {
	if in.Status != "" && !slices.Contains(invoiceStatuses, in.Status) {
		return badRequest("status", "status must be one of "+joinOr(invoiceStatuses)+".")
	}
	if len(in.Customer) > 255 {
		return badRequest("customer", "customer is too long.")
	}
	if len(in.Subscription) > 255 {
		return badRequest("subscription", "subscription is too long.")
	}
	return checkLimit(in.Limit)
}

func (s *Server) invoicesList(ctx context.Context, c *call, in invoicesListInput) (*listOf[invoiceView], error) {
	f := store.InvoiceFilter{Status: in.Status, Customer: in.Customer, Subscription: in.Subscription}
	return viewsOf(s.invoiceOf)(s.db.FindInvoices(ctx, c.scope(), f, pageOf(in.Limit, in.StartingAfter)))
}
