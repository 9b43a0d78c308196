package sandbox

import (
	"strconv"
	"strings"

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

// record stores a new transaction in state received. Its strings are
// copies or constants, never pieces of the request body (see txn).
func (s *Sandbox) record(c call, p params) *txn {
	t := &txn{
		xref: s.newXRef(c), id: s.st.nextID(), merchantID: c.m.id, state: cs.StateReceived, created: c.now,
		amount: p.amount, captureDelay: p.captureDelay, hasDelay: p.hasDelay,
		action: intern(p.action, "SALE", "PREAUTH", "VERIFY"), typ: intern(p.typ, "1", "2", "9"),
		currency: intern(p.currency, "826", "978", "840", "GBP", "EUR", "USD"),
		country:  intern(p.country, "826", "GBR", "GB"), card: p.card.kept(), stored: packFields(p.stored),
	}
	s.st.add(t)
	return t
}

// intern returns the constant among known equal to s, or else a copy of s,
// so that a stored string does not keep alive the request it came from.
func intern(s string, known ...string) string {
	for _, k := range known {
		if s == k {
			return k
		}
	}
	return strings.Clone(s)
}

// kept returns c with a number that can be stored: the test card's own
// constant, or a copy.
func (c card) kept() card {
	if tc, ok := findCard(c.number); ok {
		c.number = tc.number
	} else {
		c.number = strings.Clone(c.number)
	}
	return c
}

// newXRef returns a fresh xref shaped like the gateway's:
// yymmddhh followed by 15 random uppercase letters and digits.
func (s *Sandbox) newXRef(c call) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
	b := c.now.UTC().AppendFormat(make([]byte, 0, 8+15), "06010215")
	for _, v := range s.randomBytes(15) {
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
	t.answer = answer{kind: answerAuthorised, letter: keptLetter(letter), avs: avs}
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
	if c.decline {
		return cs.CodeDoNotHonour, "CARD DECLINED"
	}
	if p.action == "VERIFY" {
		return cs.CodeSuccess, "CARD OK"
	}
	sca := p.typ == "1" && p.stored.Get("initiator") != "merchant" && letter != "Y" && letter != "A"
	code, _ := authoriseAmount(p.amount, sca, c.req.Get("authorisationCode") != "")
	switch code {
	case cs.CodeSuccess:
		return code, "AUTHCODE:" + authCode(p.amount, p.card)
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
func authCode(amount int64, c card) string {
	n := amount*7919 + int64(len(c.number))*104729 + int64(c.month)
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

// answerKind says which response fields a transaction produced.
type answerKind uint8

const (
	answerNone       answerKind = iota // none yet, or refused before authorising
	answerChallenge                    // the card: a pending 3-D Secure challenge
	answerRefused3DS                   // the card and a refused 3-D Secure result
	answerAuthorised                   // a SALE, PREAUTH or VERIFY that was authorised or declined
	answerRefund                       // a REFUND_SALE
)

// answer is what a transaction needs to rebuild the response fields it
// produced (QUERY returns them again). They follow from the transaction's
// card, amount, merchant and code plus these few results, so storing this
// instead of the fields saves about 30 fields per transaction.
type answer struct {
	// letter is the 3-D Secure result ("" when none ran).
	letter string
	kind   answerKind
	avs    avsResult
}

// maxResultFields is the most fields resultFields returns: those of an
// authorised transaction with a 3-D Secure result (card 10, authorisation
// 2 + 5, 3-D Secure 5, AVS/CV2 6).
const maxResultFields = 10 + 2 + 5 + 5 + 6

// resultFields returns the response fields t produced.
func (t *txn) resultFields() cs.Fields {
	if t.answer.kind == answerNone {
		return nil
	}
	f := appendCardFields(make(cs.Fields, 0, maxResultFields), t.card)
	switch t.answer.kind {
	case answerRefused3DS:
		f = append(f, threeDSResultFields(t.answer.letter)...)
	case answerRefund:
		amount := strconv.FormatInt(t.amount, 10)
		f = append(f, cs.Field{Name: "amountRefunded", Value: amount}, cs.Field{Name: "amountReceived", Value: amount})
	case answerAuthorised:
		f = t.authorisationFields(f)
	}
	return f
}

// authorisationFields appends to f the response fields of a new
// transaction after its card fields.
func (t *txn) authorisationFields(f cs.Fields) cs.Fields {
	if t.code == cs.CodeSuccess {
		f = append(f, cs.Field{Name: "authorisationCode", Value: authCode(t.amount, t.card)},
			cs.Field{Name: "amountReceived", Value: strconv.FormatInt(t.amount, 10)})
	}
	f = append(f, cs.Fields{
		{Name: "currencyExponent", Value: "2"}, {Name: "requestMerchantID", Value: t.merchantID},
		{Name: "processMerchantID", Value: t.merchantID}, {Name: "vcsResponseCode", Value: "0"},
		{Name: "vcsResponseMessage", Value: "Success - no velocity check rules applied"},
	}...)
	if t.answer.letter != "" {
		f = append(f, threeDSResultFields(t.answer.letter)...)
	}
	return t.answer.avs.appendFields(f)
}

// fields returns t as a response: its stored request fields, the result
// fields and its current identity, state and amounts.
func (t *txn) fields() cs.Fields {
	result := t.resultFields()
	f := unpackFields(t.stored, len(result)+7) // room for what is set below
	for _, r := range result {
		f.Set(r.Name, r.Value)
	}
	f.Set("action", t.action)
	f.Set("xref", t.xref)
	f.Set("transactionID", strconv.FormatInt(t.id, 10))
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
