package sandbox

import (
	"strconv"

	cs "github.com/calmony/calmonypay/internal/cardstream"
)

// newTransaction runs SALE, PREAUTH and VERIFY. Callers hold the lock.
func (s *Sandbox) newTransaction(c call) reply {
	p, rp := s.parseNew(c)
	if rp != nil {
		return *rp
	}
	if rp := checkThreeDSRedirect(c, p); rp != nil {
		return *rp
	}
	if c.req.Get("checkOnly") == "Y" {
		return reply{code: cs.CodeSuccess, message: "REQUEST VALID (checkOnly)"}
	}
	if c.req.Get("transactionUnique") != "" && s.st.duplicate(p.dupKey(c), c.now, p.dupWindow) {
		return *fail(cs.CodeDuplicate, "DUPLICATE REQUEST")
	}
	t := s.record(c, p)
	letter, rp := s.threeDSStage(c, p, t)
	if rp != nil {
		return *rp
	}
	return s.complete(c, p, t, letter)
}

// record stores a new transaction in state received.
func (s *Sandbox) record(c call, p params) *txn {
	t := &txn{
		xref: s.newXRef(c), id: s.st.nextID(), merchantID: c.m.id, action: p.action, typ: p.typ,
		state: cs.StateReceived, created: c.now, amount: p.amount, currency: p.currency,
		country: p.country, card: p.card, captureDelay: p.captureDelay, hasDelay: p.hasDelay,
		stored: p.stored,
	}
	s.st.add(t)
	return t
}

// newXRef returns a fresh xref shaped like the gateway's:
// yymmddhh followed by 15 random uppercase letters and digits.
func (s *Sandbox) newXRef(c call) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
	raw := s.token(15)
	b := []byte(c.now.UTC().Format("06010215"))
	for i := 0; i < 15; i++ {
		v, _ := strconv.ParseUint(raw[2*i:2*i+2], 16, 8)
		b = append(b, alphabet[int(v)%len(alphabet)])
	}
	if _, taken := s.st.txns[string(b)]; taken {
		return s.newXRef(c)
	}
	return string(b)
}

// complete authorises t after any 3-D Secure stage and sets its final
// state. letter is the 3-D Secure result ("" when none ran).
func (s *Sandbox) complete(c call, p params, t *txn, letter string) reply {
	code, msg := authorise(c, p, letter)
	avs := checkAVS(p.card, p.cvv, p.stored)
	t.state = stateFor(p, code)
	if code == cs.CodeSuccess && !avs.accepted(p.stored) {
		code, msg, t.state = cs.CodeDoNotHonour, "CARD DECLINED: AVS/CV2 CHECK FAILED", cs.StateReversed
	}
	if t.state == cs.StateCaptured {
		t.captured, t.capturedAt = t.amount, c.now
	}
	s.st.track(t)
	t.result = resultFields(c, p, t, code, letter)
	t.result = append(t.result, avs.fields()...)
	t.threeDS, t.code, t.message = nil, code, msg
	return reply{code: code, message: msg, fields: t.fields()}
}

// authorise decides the authorisation code (§11.2, §11.3).
func authorise(c call, p params, letter string) (int, string) {
	if _, ok := findCard(p.card.number); !ok {
		return cs.CodeDoNotHonour, "CARD DECLINED: NOT A TEST CARD"
	}
	if p.card.expired(c.now) {
		return cs.CodeExpiredCard, "EXPIRED CARD"
	}
	if p.action == "VERIFY" {
		return cs.CodeSuccess, "CARD OK"
	}
	sca := p.typ == "1" && p.stored.Get("initiator") != "merchant" && letter != "Y" && letter != "A"
	code, _ := authoriseAmount(p.amount, sca, c.req.Get("authorisationCode") != "")
	switch code {
	case cs.CodeSuccess:
		return code, "AUTHCODE:" + authCode(p)
	case cs.CodeReferred:
		return code, "CARD REFERRED"
	case cs.CodePickUp:
		return code, "CARD DECLINED - KEEP CARD"
	case cs.CodeSCARequired:
		return code, "SCA REQUIRED"
	}
	return code, "CARD DECLINED"
}

// authCode derives a stable six-digit authorisation code.
func authCode(p params) string {
	n := p.amount*7919 + int64(len(p.card.number))*104729 + int64(p.card.month)
	return strconv.FormatInt(100000+n%900000, 10)
}

// stateFor maps an authorisation to a transaction state (§8.1).
func stateFor(p params, code int) cs.State {
	switch {
	case code == cs.CodeReferred || code == cs.CodeReferredSpecial:
		return cs.StateReferred
	case code != cs.CodeSuccess:
		return cs.StateDeclined
	case p.action == "VERIFY":
		return cs.StateVerified
	case p.action == "PREAUTH":
		return cs.StateReversed
	case p.hasDelay:
		return cs.StateApproved
	}
	return cs.StateCaptured
}

// resultFields are the response fields a new transaction produced.
func resultFields(c call, p params, t *txn, code int, letter string) cs.Fields {
	f := cardFields(p.card)
	if code == cs.CodeSuccess {
		f = append(f, cs.Field{Name: "authorisationCode", Value: authCode(p)},
			cs.Field{Name: "amountReceived", Value: strconv.FormatInt(p.amount, 10)})
	}
	f = append(f, cs.Fields{
		{Name: "currencyExponent", Value: "2"}, {Name: "requestMerchantID", Value: c.m.id},
		{Name: "processMerchantID", Value: c.m.id}, {Name: "vcsResponseCode", Value: "0"},
		{Name: "vcsResponseMessage", Value: "Success - no velocity check rules applied"},
	}...)
	if letter != "" {
		f = append(f, threeDSResultFields(letter)...)
	}
	return f
}

// fields returns t as a response: its stored request fields, the result
// fields and its current identity, state and amounts.
func (t *txn) fields() cs.Fields {
	f := t.stored.Clone()
	for _, r := range t.result {
		f.Set(r.Name, r.Value)
	}
	f.Set("action", t.action)
	f.Set("xref", t.xref)
	f.Set("transactionID", t.id)
	f.Set("state", string(t.state))
	f.Set("amount", strconv.FormatInt(t.currentAmount(), 10))
	f.Set("currencyCode", t.currency)
	if t.refunded > 0 {
		f.Set("amountRefunded", strconv.FormatInt(t.refunded, 10))
	}
	return f
}

// currentAmount is what will settle (or did) once captured; before that
// the authorised amount.
func (t *txn) currentAmount() int64 {
	switch t.state {
	case cs.StateCaptured, cs.StateTendered, cs.StateDeferred, cs.StateAccepted, cs.StateRejected:
		return t.captured
	}
	return t.amount
}
