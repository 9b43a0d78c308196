package sandbox

import (
	"strconv"
	"time"

	cs "github.com/calmony/calmonypay/internal/cardstream"
)

// target resolves the xref of a management request.
func (s *Sandbox) target(c call) (*txn, *reply) {
	xref := c.req.Get("xref")
	if xref == "" {
		return nil, missing(codeMissingXRef, "xref")
	}
	t, ok := s.st.lookup(xref, c.m.id, c.now)
	if !ok {
		return nil, invalid(codeMissingXRef, "xref")
	}
	return t, nil
}

// management answers a CAPTURE, CANCEL or QUERY about t with action
// "REQUESTED:ORIGINAL" (§5.1).
func management(c call, t *txn, code int, msg string) reply {
	f := t.fields()
	f.Set("action", c.req.Get("action")+":"+t.action)
	return reply{code: code, message: msg, fields: f}
}

// notAllowed refuses an action in t's state with 65541. The request's own
// fields (amount included) are echoed unchanged; only the transaction's
// identity and state are added.
func notAllowed(c call, t *txn) reply {
	msg := "ACTION NOT ALLOWED: " + c.req.Get("action") + " of a " + t.action + " in state " + string(t.state)
	return reply{code: cs.CodeActionNotAllowed, message: msg, fields: cs.Fields{
		{Name: "xref", Value: t.xref}, {Name: "transactionID", Value: strconv.FormatInt(t.id, 10)},
		{Name: "state", Value: string(t.state)},
	}}
}

// capture captures an approved SALE or lowers a captured one, before
// settlement; the amount may not exceed the authorised amount (§5.1).
func (s *Sandbox) capture(c call) reply {
	t, rp := s.target(c)
	if rp != nil {
		return *rp
	}
	if t.action != "SALE" || (t.state != cs.StateApproved && t.state != cs.StateCaptured) {
		return notAllowed(c, t)
	}
	amount := t.amount
	if v := c.req.Get("amount"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n > t.amount {
			return *invalid(codeMissingAmount, "amount: must be 1 to the authorised amount")
		}
		amount = n
	}
	t.state, t.captured, t.capturedAt = cs.StateCaptured, amount, c.now
	s.st.track(t)
	return management(c, t, cs.CodeSuccess, "CAPTURED")
}

// cancel voids a transaction that has not been sent for settlement.
func (s *Sandbox) cancel(c call) reply {
	t, rp := s.target(c)
	if rp != nil {
		return *rp
	}
	switch t.state {
	case cs.StateReceived, cs.StateApproved, cs.StateCaptured:
	default:
		return notAllowed(c, t)
	}
	t.state = cs.StateCanceled
	if t.threeDS != nil {
		s.st.challenges.remove(t.threeDS.ref)
		t.threeDS = nil
	}
	return management(c, t, cs.CodeSuccess, "CANCELLED")
}

// query returns the stored transaction as if just run; it changes nothing.
func (s *Sandbox) query(c call) reply {
	t, rp := s.target(c)
	if rp != nil {
		return *rp
	}
	return management(c, t, t.code, t.message)
}

// refundSale refunds a settled SALE, fully or in part, as a new
// transaction (§5.1). A different card or currency gives 65542.
func (s *Sandbox) refundSale(c call) reply {
	orig, rp := s.target(c)
	if rp != nil {
		return *rp
	}
	if orig.action != "SALE" || orig.state != cs.StateAccepted {
		return notAllowed(c, orig)
	}
	if mismatch(c.req, orig) {
		return *fail(cs.CodeRequestMismatch, "REQUEST MISMATCH")
	}
	amount, rp := refundAmount(c, orig)
	if rp != nil {
		return *rp
	}
	key := refundKey(c, orig, amount)
	if c.req.Get("transactionUnique") != "" && s.st.duplicate(key, c.now, dupWindow(c)) {
		return *fail(cs.CodeDuplicate, "DUPLICATE REQUEST")
	}
	orig.refunded += amount
	t := s.refundTxn(c, orig, amount)
	return reply{code: t.code, message: t.message, fields: t.fields()}
}

// mismatch reports a refund that names other payment details.
func mismatch(req cs.Fields, orig *txn) bool {
	number := req.Get("cardNumber")
	currency := req.Get("currencyCode")
	return (number != "" && number != orig.card.number) || (currency != "" && currency != orig.currency)
}

func refundAmount(c call, orig *txn) (int64, *reply) {
	left := orig.captured - orig.refunded
	v := c.req.Get("amount")
	if v == "" {
		if left <= 0 {
			return 0, fail(cs.CodeActionNotAllowed, "ACTION NOT ALLOWED: nothing left to refund")
		}
		return left, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n > left {
		return 0, invalid(codeMissingAmount, "amount: exceeds the amount left to refund")
	}
	return n, nil
}

func refundKey(c call, orig *txn, amount int64) dupKey {
	return newDupKey(c.m.id, "REFUND_SALE", orig.xref, strconv.FormatInt(amount, 10), c.req.Get("transactionUnique"))
}

func dupWindow(c call) time.Duration {
	p := params{}
	if rp := parseDelays(&p, c); rp != nil {
		return defaultDuplicateDelay
	}
	return p.dupWindow
}

// refundTxn stores the refund, queued for settlement.
func (s *Sandbox) refundTxn(c call, orig *txn, amount int64) *txn {
	stored := unpackFields(orig.stored, 2) // room for the fields set below
	stored.Set("amount", strconv.FormatInt(amount, 10))
	stored.SetNonEmpty("transactionUnique", c.req.Get("transactionUnique"))
	t := &txn{
		xref: s.newXRef(c), id: s.st.nextID(), merchantID: c.m.id, action: "REFUND_SALE", typ: orig.typ,
		state: cs.StateCaptured, created: c.now, capturedAt: c.now, amount: amount, captured: amount,
		currency: orig.currency, country: orig.country, card: orig.card, stored: packFields(stored),
		code: cs.CodeSuccess, message: "REFUND ACCEPTED", answer: answer{kind: answerRefund},
	}
	s.st.add(t)
	return t
}
