// Package seed fills a project's test mode with realistic data, for
// development and for measuring the dashboard's queries (calmonypay dev
// seed, calmony-bench -scenario dashboard.queries): customers with a card
// each, two years of payment intents with their charges and refunds,
// subscriptions with their paid monthly invoices, and the events of the
// last 30 days (Stripe keeps events for 30 days). Every row is test mode.
//
// Rows go in through store.InsertBulk, sealed and indexed as the store's
// Create methods do, many to a statement and thousands to a transaction.
// No webhook delivery is queued. A second run adds as much again, with new
// IDs and emails. The cards are made up (no gateway knows them), so the
// subscriptions are left out of the billing scheduler (they never renew)
// and the payments cannot be refunded or captured through the gateway.
package seed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// Options say what to make (the Default… constants are the numbers).
type Options struct {
	Project   string
	Customers int
	// Payments counts every payment intent, the subscriptions' invoice
	// payments among them (one-off payments make up the rest).
	Payments      int
	Subscriptions int // at most one per customer
	// Now is the end of the two years (default time.Now).
	Now time.Time
	// Seed makes a run repeatable (the same rows but for IDs and sealed
	// values); 0 draws one.
	Seed uint64
	// Progress receives a line now and then (nil: none).
	Progress io.Writer
}

// Defaults are the numbers.
const (
	DefaultCustomers     = 200_000
	DefaultPayments      = 1_000_000
	DefaultSubscriptions = 20_000
)

// Span is how far back the data goes.
const Span = 730 * 24 * time.Hour

// EventWindow is how far back events are made.
const EventWindow = 30 * 24 * time.Hour

// Counts are the rows a run wrote.
type Counts struct {
	Customers, PaymentMethods, PaymentIntents, Charges, Refunds int
	Products, Prices, Subscriptions, Invoices, Events           int
}

// Total is the number of rows.
func (c Counts) Total() int {
	return c.Customers + c.PaymentMethods + c.PaymentIntents + c.Charges + c.Refunds + c.Products + c.Prices +
		2*c.Subscriptions + c.Invoices + c.Events
}

func (c *Counts) add(b *store.Bulk) {
	c.Customers += len(b.Customers)
	c.PaymentMethods += len(b.PaymentMethods)
	c.PaymentIntents += len(b.PaymentIntents)
	c.Charges += len(b.Charges)
	c.Refunds += len(b.Refunds)
	c.Subscriptions += len(b.Subscriptions)
	c.Invoices += len(b.Invoices)
	c.Events += len(b.Events)
}

// batch is how many payments (or customers) go in one transaction.
const batch = 5000

// seeder holds a run's state.
type seeder struct {
	db     *store.DB
	o      Options
	scope  pay.Scope
	rng    *rand.Rand
	now    int64
	from   int64
	events int64 // events are made for objects created at or after this
	tag    string
	start  time.Time
	counts Counts
	custs  []customer
	prices []*pay.Price
}

// customer is what later rows need of a customer.
type customer struct {
	id, pm, name, email string
	created             int64
	card                pay.CardDetails
}

// Run seeds the project's test mode and returns what it wrote.
func Run(ctx context.Context, db *store.DB, o Options) (Counts, error) {
	if o.Project == "" {
		return Counts{}, errors.New("seed: no project")
	}
	if o.Customers < 0 || o.Payments < 0 || o.Subscriptions < 0 {
		return Counts{}, errors.New("seed: counts must not be negative")
	}
	o.Subscriptions = min(o.Subscriptions, o.Customers)
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Seed == 0 {
		o.Seed = rand.Uint64()
	}
	s := &seeder{db: db, o: o, scope: pay.Scope{ProjectID: o.Project, Livemode: false}, rng: rand.New(rand.NewPCG(o.Seed, o.Seed>>1|1)),
		now: o.Now.Unix(), start: time.Now()}
	s.from = s.now - int64(Span/time.Second)
	s.events = s.now - int64(EventWindow/time.Second)
	// The emails' tag is new each run, even with the same Seed, so that a
	// second run's customers have emails of their own.
	s.tag = strconv.FormatUint(rand.Uint64()%(36*36*36*36), 36)
	if err := s.catalog(ctx); err != nil {
		return s.counts, err
	}
	s.planCustomers()
	subs := s.planSubscriptions()
	invoicePayments := 0
	for _, p := range subs {
		invoicePayments += p.periods
	}
	if err := s.writeCustomers(ctx, subs); err != nil {
		return s.counts, err
	}
	if err := s.writePayments(ctx, max(0, o.Payments-invoicePayments)); err != nil {
		return s.counts, err
	}
	if err := s.writeSubscriptions(ctx, subs); err != nil {
		return s.counts, err
	}
	s.logf("analyzing the tables")
	if err := db.Analyze(ctx); err != nil {
		return s.counts, err
	}
	s.logf("done: %d rows", s.counts.Total())
	return s.counts, nil
}

func (s *seeder) logf(format string, args ...any) {
	if s.o.Progress != nil {
		fmt.Fprintf(s.o.Progress, "seed %6.1fs: %s\n", time.Since(s.start).Seconds(), fmt.Sprintf(format, args...))
	}
}

// write inserts b in one transaction.
func (s *seeder) write(ctx context.Context, b *store.Bulk) error {
	if err := s.db.Tx(ctx, func(tx *store.Tx) error { return tx.InsertBulk(ctx, b) }); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	s.counts.add(b)
	return nil
}

// catalog makes three monthly plans (through the store's Create methods).
func (s *seeder) catalog(ctx context.Context) error {
	plans := []struct {
		name   string
		amount int64
	}{{"Starter", 900}, {"Pro", 2900}, {"Business", 9900}}
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		for _, p := range plans {
			prod := &pay.Product{Scope: s.scope, Name: p.name + " plan", Active: true, Metadata: map[string]string{"seed": s.tag}}
			if err := tx.CreateProduct(ctx, prod); err != nil {
				return err
			}
			price := &pay.Price{Scope: s.scope, Product: prod.ID, Active: true, Currency: "gbp", UnitAmount: p.amount,
				Recurring: &pay.Recurring{Interval: "month", IntervalCount: 1}, TaxBehavior: "unspecified"}
			if err := tx.CreatePrice(ctx, price); err != nil {
				return err
			}
			s.prices = append(s.prices, price)
			s.counts.Products++
			s.counts.Prices++
		}
		return nil
	})
}

var (
	firstNames = []string{"Olivia", "Amelia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Isabella", "Rosie", "Sophia", "Grace", "Freya",
		"Noah", "Oliver", "George", "Arthur", "Muhammad", "Leo", "Harry", "Oscar", "Archie", "Henry", "Theodore", "Freddie",
		"Aisha", "Priya", "Chloe", "Emily", "Jack", "Thomas", "James", "William", "Zara", "Ruby", "Ella", "Jacob"}
	lastNames = []string{"Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson",
		"Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall", "Lewis", "Harris",
		"Clarke", "Patel", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark", "Khan", "Ali"}
	brands = []struct {
		brand string
		share float64
	}{{"visa", 0.6}, {"mastercard", 0.32}, {"amex", 0.08}}
	declines = []string{"insufficient_funds", "do_not_honor", "generic_decline", "expired_card", "lost_card"}
)

// planCustomers draws the customers' creation times (in order) and names.
func (s *seeder) planCustomers() {
	created := make([]int64, s.o.Customers)
	for i := range created {
		created[i] = s.from + s.rng.Int64N(s.now-s.from)
	}
	slices.Sort(created)
	s.custs = make([]customer, s.o.Customers)
	for i, t := range created {
		first, last := firstNames[s.rng.IntN(len(firstNames))], lastNames[s.rng.IntN(len(lastNames))]
		s.custs[i] = customer{
			id: pay.NewID(pay.PrefixCustomer), pm: pay.NewID(pay.PrefixPaymentMethod), created: t,
			name:  first + " " + last,
			email: strings.ToLower(first+"."+last) + "." + s.tag + strconv.Itoa(i) + "@example.com",
			card:  s.card(),
		}
	}
}

// card draws a card's details.
func (s *seeder) card() pay.CardDetails {
	r, brand := s.rng.Float64(), brands[len(brands)-1].brand
	for _, b := range brands {
		if r < b.share {
			brand = b.brand
			break
		}
		r -= b.share
	}
	return pay.CardDetails{Brand: brand, Last4: fmt.Sprintf("%04d", s.rng.IntN(10000)), ExpMonth: 1 + s.rng.IntN(12),
		ExpYear: time.Unix(s.now, 0).Year() + s.rng.IntN(5), Funding: []string{"credit", "debit"}[s.rng.IntN(2)], Country: "GB",
		Fingerprint: pay.RandomString(16), CVCCheck: "pass", AddressLine1Check: "pass", PostalCheck: "pass"}
}

// planned is a subscription to be written: its customer, price, start,
// and number of monthly periods so far (each with a paid invoice).
type planned struct {
	cust     int
	price    *pay.Price
	quantity int64
	start    int64
	periods  int
	canceled bool
}

// periodStart is the start of period k of a subscription that started at start.
func periodStart(start int64, k int) int64 {
	return time.Unix(start, 0).UTC().AddDate(0, k, 0).Unix()
}

// planSubscriptions picks the subscribers and their starts: one in ten
// has been canceled since.
func (s *seeder) planSubscriptions() []planned {
	picks := s.rng.Perm(len(s.custs))[:s.o.Subscriptions]
	slices.Sort(picks) // in the customers' order, hence roughly in time order
	out := make([]planned, 0, len(picks))
	for _, ci := range picks {
		c := s.custs[ci]
		start := c.created + s.rng.Int64N(min(s.now-c.created, 90*86400)+1)
		p := planned{cust: ci, price: s.prices[s.rng.IntN(len(s.prices))], quantity: 1, start: start}
		if s.rng.IntN(10) == 0 {
			p.quantity = 2 + s.rng.Int64N(4)
		}
		for periodStart(start, p.periods) <= s.now {
			p.periods++
		}
		if p.periods > 1 && s.rng.IntN(10) == 0 {
			p.canceled = true
			p.periods = 1 + s.rng.IntN(p.periods-1)
		}
		out = append(out, p)
	}
	return out
}

// writeCustomers writes the customers and their cards; subscribers get
// the invoice sequence their invoices will have used.
func (s *seeder) writeCustomers(ctx context.Context, subs []planned) error {
	seq := make(map[int]int, len(subs))
	for _, p := range subs {
		seq[p.cust] = p.periods
	}
	b := &store.Bulk{}
	for i, c := range s.custs {
		cus := &pay.Customer{ID: c.id, Scope: s.scope, Created: c.created, Name: c.name, Email: c.email, TaxExempt: "none",
			DefaultPaymentMethod: c.pm, Metadata: map[string]string{}}
		if n, ok := seq[i]; ok {
			cus.InvoicePrefix, cus.InvoiceSequence = invoicePrefix(c.id), int64(n)
		}
		if s.rng.IntN(4) == 0 {
			cus.Phone = fmt.Sprintf("+447700%06d", s.rng.IntN(1000000))
		}
		b.Customers = append(b.Customers, cus)
		b.PaymentMethods = append(b.PaymentMethods, &pay.PaymentMethod{ID: c.pm, Scope: s.scope, Created: c.created, Customer: c.id,
			Type: "card", Card: c.card, XRef: "seed_" + c.pm, Metadata: map[string]string{}})
		if c.created >= s.events {
			b.Events = append(b.Events, s.event(pay.EventCustomerCreated, c.id, c.created, cus))
		}
		if len(b.Customers) == batch || i == len(s.custs)-1 {
			if err := s.write(ctx, b); err != nil {
				return err
			}
			b = &store.Bulk{}
			if s.counts.Customers%(batch*8) == 0 || s.counts.Customers == len(s.custs) {
				s.logf("customers %d of %d", s.counts.Customers, len(s.custs))
			}
		}
	}
	return nil
}

// invoicePrefix is the customer's invoice number prefix, as billing makes it.
func invoicePrefix(id string) string {
	c := pay.Customer{ID: id}
	return c.NumberPrefix()
}

// event makes an event of obj's view, created at t.
func (s *seeder) event(typ pay.EventType, objectID string, t int64, obj any) *pay.Event {
	view, err := json.Marshal(pay.View(obj, ""))
	if err != nil {
		panic(err) // views are plain data
	}
	data := make([]byte, 0, len(view)+11)
	data = append(append(append(data, `{"object":`...), view...), '}')
	return &pay.Event{ID: pay.NewID(pay.PrefixEvent), Scope: s.scope, Type: typ.String(), Created: t, ObjectID: objectID, Data: data}
}

// customerBefore returns a customer created at or before t, at random, or
// -1 (a guest) one time in five or when there is none.
func (s *seeder) customerBefore(t int64) int {
	n, _ := slices.BinarySearchFunc(s.custs, t+1, func(c customer, t int64) int { return cmpInt(c.created, t) })
	if n == 0 || s.rng.IntN(5) == 0 {
		return -1
	}
	return s.rng.IntN(n)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// amount draws a payment amount in minor units: log-normal around £35,
// half of them at a price point (…99).
func (s *seeder) amount() int64 {
	a := int64(math.Exp(s.rng.NormFloat64()*0.9 + math.Log(3500)))
	if s.rng.IntN(2) == 0 {
		a = a/100*100 + 99
	}
	return min(max(a, 100), 2_000_000)
}

func (s *seeder) currency() string {
	switch r := s.rng.IntN(100); {
	case r < 85:
		return "gbp"
	case r < 95:
		return "eur"
	}
	return "usd"
}

// writePayments writes n one-off payments spread over the span, in time
// order, batch by batch.
func (s *seeder) writePayments(ctx context.Context, n int) error {
	chunks := (n + batch - 1) / batch
	step := (s.now - s.from) / int64(max(chunks, 1))
	for k := range chunks {
		size := min(batch, n-k*batch)
		lo := s.from + int64(k)*step
		times := make([]int64, size)
		for i := range times {
			times[i] = lo + s.rng.Int64N(step)
		}
		slices.Sort(times)
		b := &store.Bulk{}
		for _, t := range times {
			s.payment(b, t)
		}
		if err := s.write(ctx, b); err != nil {
			return err
		}
		if (k+1)%20 == 0 || k == chunks-1 {
			s.logf("payment intents %d of %d one-off", (k*batch)+size, n)
		}
	}
	return nil
}

// payment adds one one-off payment created at t: a succeeded one (with a
// refund now and then), a declined one, a canceled one or an abandoned one.
func (s *seeder) payment(b *store.Bulk, t int64) {
	pi := &pay.PaymentIntent{ID: pay.NewID(pay.PrefixPaymentIntent), Scope: s.scope, Created: t, Amount: s.amount(),
		Currency: s.currency(), CaptureMethod: "automatic", Metadata: map[string]string{"order_id": strconv.Itoa(100000 + s.rng.IntN(900000))},
		Description: "Order"}
	pi.ClientSecret = pi.ID + "_secret_" + pay.RandomString(24)
	var card pay.CardDetails
	if ci := s.customerBefore(t); ci >= 0 {
		c := s.custs[ci]
		pi.Customer, pi.PaymentMethod, pi.ReceiptEmail, card = c.id, c.pm, c.email, c.card
	} else {
		card = s.card()
		pm := &pay.PaymentMethod{ID: pay.NewID(pay.PrefixPaymentMethod), Scope: s.scope, Created: t, Type: "card", Card: card,
			XRef: "seed_guest", Metadata: map[string]string{}}
		b.PaymentMethods = append(b.PaymentMethods, pm)
		pi.PaymentMethod = pm.ID
	}
	r := s.rng.IntN(100)
	switch {
	case r < 86:
		pi.Status, pi.AmountReceived, pi.Attempt = pay.StatusSucceeded, pi.Amount, 1
		ch := s.charge(b, pi, card, "")
		ev := pay.EventPaymentIntentSucceeded
		if s.rng.IntN(100) < 3 {
			s.refund(b, pi, ch)
		}
		s.addEvent(b, ev, pi)
	case r < 93:
		decline := declines[s.rng.IntN(len(declines))]
		pi.Status, pi.Attempt = pay.StatusRequiresPaymentMethod, 1
		pi.LastError = &pay.LastPaymentError{Type: "card_error", Code: "card_declined", DeclineCode: decline,
			Message: "Your card was declined.", PaymentMethod: pi.PaymentMethod}
		s.charge(b, pi, card, decline)
		s.addEvent(b, pay.EventPaymentIntentPaymentFailed, pi)
	case r < 97:
		pi.Status, pi.CanceledAt = pay.StatusCanceled, t+int64(s.rng.IntN(86400))
		pi.CancellationReason = []string{"abandoned", "requested_by_customer", "duplicate"}[s.rng.IntN(3)]
		s.addEvent(b, pay.EventPaymentIntentCanceled, pi)
	default:
		pi.Status, pi.PaymentMethod = pay.StatusRequiresPaymentMethod, ""
	}
	b.PaymentIntents = append(b.PaymentIntents, pi)
}

// addEvent adds the payment intent's event if it is recent.
func (s *seeder) addEvent(b *store.Bulk, typ pay.EventType, pi *pay.PaymentIntent) {
	if pi.Created >= s.events {
		b.Events = append(b.Events, s.event(typ, pi.ID, pi.Created, pi))
	}
}

// charge adds the payment intent's charge: succeeded, or declined with
// decline.
func (s *seeder) charge(b *store.Bulk, pi *pay.PaymentIntent, card pay.CardDetails, decline string) *pay.Charge {
	ch := &pay.Charge{ID: pay.NewID(pay.PrefixCharge), Scope: s.scope, Created: pi.Created, PaymentIntent: pi.ID, Customer: pi.Customer,
		PaymentMethod: pi.PaymentMethod, Amount: pi.Amount, Currency: pi.Currency, Card: card, Description: pi.Description,
		Metadata: pi.Metadata, GatewayTxnID: strconv.Itoa(10000000 + s.rng.IntN(90000000))}
	if decline == "" {
		ch.Status, ch.Captured, ch.AmountCaptured, ch.AuthCode = "succeeded", true, pi.Amount, fmt.Sprintf("%06d", s.rng.IntN(1000000))
	} else {
		ch.Status, ch.FailureCode, ch.FailureMessage, ch.DeclineCode = "failed", "card_declined", "Your card was declined.", decline
	}
	pi.LatestCharge = ch.ID
	b.Charges = append(b.Charges, ch)
	return ch
}

// refund refunds a succeeded payment, in full two times in three, some
// days after it.
func (s *seeder) refund(b *store.Bulk, pi *pay.PaymentIntent, ch *pay.Charge) {
	amount := pi.AmountReceived
	if s.rng.IntN(3) == 0 {
		amount = max(1, amount*int64(1+s.rng.IntN(9))/10)
	}
	t := min(pi.Created+int64(s.rng.IntN(14*86400)), s.now)
	r := &pay.Refund{ID: pay.NewID(pay.PrefixRefund), Scope: s.scope, Created: t, Charge: ch.ID, PaymentIntent: pi.ID, Amount: amount,
		Currency: pi.Currency, Reason: "requested_by_customer", Status: "succeeded", Method: "refund_sale",
		GatewayTxnID: strconv.Itoa(10000000 + s.rng.IntN(90000000)), Metadata: map[string]string{}}
	ch.AmountRefunded = amount
	b.Refunds = append(b.Refunds, r)
	if t >= s.events {
		b.Events = append(b.Events, s.event(pay.EventChargeRefunded, ch.ID, t, ch))
	}
}

// writeSubscriptions writes the subscriptions, their items, and a paid
// invoice per period with its payment.
func (s *seeder) writeSubscriptions(ctx context.Context, subs []planned) error {
	b := &store.Bulk{}
	for i, p := range subs {
		s.subscription(b, p)
		if len(b.PaymentIntents) >= batch || i == len(subs)-1 {
			if err := s.write(ctx, b); err != nil {
				return err
			}
			b = &store.Bulk{}
			s.logf("subscriptions %d of %d (%d invoices)", i+1, len(subs), s.counts.Invoices)
		}
	}
	return nil
}

// subscription adds one planned subscription and its invoices.
func (s *seeder) subscription(b *store.Bulk, p planned) {
	c := s.custs[p.cust]
	sub := &pay.Subscription{ID: pay.NewID(pay.PrefixSubscription), Scope: s.scope, Created: p.start, Customer: c.id,
		Status: pay.SubscriptionActive, Currency: "gbp", CollectionMethod: pay.CollectCharge, DefaultPaymentMethod: c.pm,
		BillingCycleAnchor: p.start, StartDate: p.start, Metadata: map[string]string{}}
	sub.CurrentPeriodStart, sub.CurrentPeriodEnd = periodStart(p.start, p.periods-1), periodStart(p.start, p.periods)
	// NextActionAt stays 0: the billing scheduler leaves seeded
	// subscriptions alone, since their cards are in no gateway and every
	// renewal would be declined into dunning.
	if p.canceled {
		sub.Status, sub.CanceledAt, sub.EndedAt = pay.SubscriptionCanceled, sub.CurrentPeriodEnd, sub.CurrentPeriodEnd
		sub.CancellationReason = "cancellation_requested"
	}
	item := &pay.SubscriptionItem{ID: pay.NewID(pay.PrefixSubscriptionItem), Subscription: sub.ID, Created: p.start, Price: p.price,
		Quantity: p.quantity, Metadata: map[string]string{}}
	sub.Items = []*pay.SubscriptionItem{item}
	prefix := invoicePrefix(c.id)
	for k := range p.periods {
		start, end := periodStart(p.start, k), periodStart(p.start, k+1)
		amount := p.price.UnitAmount * p.quantity
		paidAt := start + 3600
		pi := &pay.PaymentIntent{ID: pay.NewID(pay.PrefixPaymentIntent), Scope: s.scope, Created: paidAt, Amount: amount,
			AmountReceived: amount, Currency: "gbp", Status: pay.StatusSucceeded, CaptureMethod: "automatic", Customer: c.id,
			PaymentMethod: c.pm, Description: "Subscription update", Attempt: 1, Metadata: map[string]string{}}
		reason := pay.BillingReasonSubscriptionCycle
		if k == 0 {
			pi.Description, reason, paidAt = "Subscription creation", pay.BillingReasonSubscriptionCreate, start
			pi.Created = start
		}
		pi.ClientSecret = pi.ID + "_secret_" + pay.RandomString(24)
		s.charge(b, pi, c.card, "")
		b.PaymentIntents = append(b.PaymentIntents, pi)
		inv := &pay.Invoice{ID: pay.NewID(pay.PrefixInvoice), Scope: s.scope, Number: fmt.Sprintf("%s-%04d", prefix, k+1),
			Status: pay.InvoiceStatusPaid, Currency: "gbp", Created: start, FinalizedAt: paidAt, PaidAt: paidAt, PeriodStart: start,
			PeriodEnd: end, Customer: c.id, CustomerName: c.name, CustomerEmail: c.email, Subtotal: amount, Total: amount,
			AmountPaid: amount, AmountDue: amount, Metadata: map[string]string{}, CollectionMethod: pay.CollectCharge, AutoAdvance: true,
			AttemptCount: 1, Attempted: true, Token: pay.RandomString(24), Subscription: sub.ID, BillingReason: reason,
			Lines: []pay.InvoiceLine{{ID: pay.NewID(pay.PrefixInvoiceLine), Description: fmt.Sprintf("%d × %s", p.quantity, p.price.ID),
				Quantity: p.quantity, UnitAmount: p.price.UnitAmount, Amount: amount, PeriodStart: start, PeriodEnd: end,
				Price: p.price.ID, Product: p.price.Product, SubscriptionItem: item.ID}},
			Payments: []pay.InvoicePayment{{ID: pay.NewID(pay.PrefixInvoicePayment), PaymentIntent: pi.ID, PaymentMethod: c.pm,
				AmountRequested: amount, AmountPaid: amount, Status: "paid", Created: paidAt, PaidAt: paidAt}}}
		b.Invoices = append(b.Invoices, inv)
		sub.LatestInvoice = inv.ID
		if paidAt >= s.events {
			b.Events = append(b.Events, s.event(pay.EventPaymentIntentSucceeded, pi.ID, paidAt, pi),
				s.event(pay.EventInvoicePaid, inv.ID, paidAt, inv))
		}
	}
	b.Subscriptions = append(b.Subscriptions, sub)
	if p.start >= s.events {
		b.Events = append(b.Events, s.event(pay.EventCustomerSubscriptionCreated, sub.ID, p.start, sub))
	}
}
