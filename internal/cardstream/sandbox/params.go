package sandbox

import (
	"strconv"
	"strings"
	"time"

	cs "github.com/calmony/calmonypay/internal/cardstream"
)

// Missing-field codes (§7); the invalid code is each plus 256.
const (
	codeMissingAmount       = 66056
	codeMissingCurrency     = 66057
	codeMissingCardNumber   = 66058
	codeMissingExpiryMonth  = 66059
	codeMissingExpiryYear   = 66060
	codeMissingCVV          = 66064
	codeMissingCountry      = 66070
	codeMissingRedirectURL  = 66074
	codeMissingCallbackURL  = 66075
	codeMissingDupDelay     = 66078
	codeMissingXRef         = 66085
	codeMissingType         = 66086
	codeInvalidCaptureDelay = 66358
	codeMissingThreeDSRef   = 66592
	codeMissingThreeDSResp  = 66599
	defaultDuplicateDelay   = 300 * time.Second
)

// params is a validated new-transaction request.
type params struct {
	action   string
	typ      string
	amount   int64
	currency string
	country  string
	card     card
	// cvv is kept in memory only while a 3-D Secure challenge is pending.
	cvv          string
	captureDelay int
	hasDelay     bool
	dupWindow    time.Duration
	source       *txn
	// stored are the known request fields (cloned ones included).
	stored cs.Fields
}

// isStored reports whether the gateway keeps a request field with the
// transaction and returns it from QUERY; custom fields are echoed but not
// stored (§2).
func isStored(name string) bool {
	root := cs.Root(name)
	if strings.HasPrefix(root, "customer") {
		return true
	}
	switch root {
	case "type", "amount", "currencyCode", "countryCode", "transactionUnique", "orderRef", "orderDate",
		"merchantData", "rtAgreementType", "initiator", "captureDelay", "items", "avscv2CheckRequired",
		"cv2CheckPref", "addressCheckPref", "postcodeCheckPref", "threeDSCheckPref", "remoteAddress",
		"redirectURL", "callbackURL", "authorisationCode":
		return true
	}
	return false
}

// known returns the stored-field subset of f.
func known(f cs.Fields) cs.Fields {
	out := make(cs.Fields, 0, len(f))
	for _, fl := range f {
		if isStored(fl.Name) {
			out = append(out, fl)
		}
	}
	return out
}

// merge clones into req every stored field of source it lacks (§8.3),
// honouring cloneFields: a comma list of names to clone, or of
// "!name" exclusions.
func merge(req cs.Fields, source *txn) cs.Fields {
	out := known(req)
	if source == nil {
		return out
	}
	allow := cloneFilter(req.Get("cloneFields"))
	for _, fl := range unpackFields(source.stored, 0) {
		root := cs.Root(fl.Name)
		if cloneable(root) && !hasRoot(req, root) && allow(root) {
			out = append(out, fl)
		}
	}
	return out
}

// cloneable reports whether an xref copies a stored field into a new
// transaction: the order, customer and amount groups, never per-request
// settings such as transactionUnique, captureDelay or check preferences.
func cloneable(root string) bool {
	switch root {
	case "type", "amount", "currencyCode", "countryCode", "orderRef", "orderDate", "merchantData", "items":
		return true
	}
	return strings.HasPrefix(root, "customer")
}

func hasRoot(f cs.Fields, root string) bool {
	for _, fl := range f {
		if cs.Root(fl.Name) == root {
			return true
		}
	}
	return false
}

// cloneFilter interprets cloneFields. Group names are not supported; plain
// field names are.
func cloneFilter(spec string) func(string) bool {
	if strings.TrimSpace(spec) == "" {
		return func(string) bool { return true }
	}
	include, exclude := map[string]bool{}, map[string]bool{}
	for name := range strings.SplitSeq(spec, ",") {
		name = strings.TrimSpace(name)
		if rest, ok := strings.CutPrefix(name, "!"); ok {
			exclude[rest] = true
		} else if name != "" {
			include[name] = true
		}
	}
	return func(root string) bool {
		return !exclude[root] && (len(include) == 0 || include[root])
	}
}

// parseNew validates a SALE, PREAUTH or VERIFY request.
func (s *Sandbox) parseNew(c call) (params, *reply) {
	p := params{action: c.req.Get("action")}
	if xref := c.req.Get("xref"); xref != "" {
		t, ok := s.st.lookup(xref, c.m.id, c.now)
		if !ok {
			return p, invalid(codeMissingXRef, "xref")
		}
		p.source = t
	}
	p.stored = merge(c.req, p.source)
	for _, step := range []func(*params, call) *reply{parseOrder, parseCard, parseCVV} {
		if rp := step(&p, c); rp != nil {
			return p, rp
		}
	}
	return p, nil
}

// parseOrder validates type, amount, currency, country and the delays.
func parseOrder(p *params, c call) *reply {
	for _, step := range []func(*params, call) *reply{parseType, parseAmount, parseCurrency, parseDelays} {
		if rp := step(p, c); rp != nil {
			return rp
		}
	}
	return nil
}

func parseType(p *params, _ call) *reply {
	p.typ = p.stored.Get("type")
	switch p.typ {
	case "":
		return missing(codeMissingType, "type")
	case "1", "2", "9":
		return nil
	}
	return invalid(codeMissingType, "type")
}

func parseAmount(p *params, _ call) *reply {
	v := p.stored.Get("amount")
	if v == "" {
		return missing(codeMissingAmount, "amount")
	}
	n, err := strconv.ParseInt(v, 10, 64)
	switch {
	case err != nil || n < 0 || strings.Trim(v, "0123456789") != "":
		return invalid(codeMissingAmount, "amount")
	case p.action == "VERIFY" && n != 0:
		return invalid(codeMissingAmount, "amount: VERIFY amount must be 0")
	case p.action != "VERIFY":
		if _, ok := authoriseAmount(n, false, false); !ok {
			return invalid(codeMissingAmount, "amount: not a test amount")
		}
	}
	p.amount = n
	return nil
}

// currencies the sandbox supports, by numeric and alphabetic code.
func supportedCurrency(code string) bool {
	switch code {
	case "826", "GBP", "978", "EUR", "840", "USD":
		return true
	}
	return false
}

func parseCurrency(p *params, _ call) *reply {
	p.currency, p.country = p.stored.Get("currencyCode"), p.stored.Get("countryCode")
	switch {
	case p.currency == "":
		return missing(codeMissingCurrency, "currencyCode")
	case !isISOCode(p.currency):
		return invalid(codeMissingCurrency, "currencyCode")
	case !supportedCurrency(p.currency):
		return fail(65546, "CURRENCY NOT SUPPORTED")
	case p.country == "":
		return missing(codeMissingCountry, "countryCode")
	case !isISOCode(p.country) && !(len(p.country) == 2 && isUpper(p.country)):
		return invalid(codeMissingCountry, "countryCode")
	}
	return nil
}

// isISOCode accepts three digits or three uppercase letters.
func isISOCode(v string) bool {
	return len(v) == 3 && (strings.Trim(v, "0123456789") == "" || isUpper(v))
}

func isUpper(v string) bool { return strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" }

// parseDelays reads duplicateDelay (absent: 300s; 0 disables the check,
// which is what practice shows, §9.7) and captureDelay.
func parseDelays(p *params, c call) *reply {
	p.dupWindow = defaultDuplicateDelay
	if v, ok := c.req.Lookup("duplicateDelay"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 9999 {
			return invalid(codeMissingDupDelay, "duplicateDelay")
		}
		p.dupWindow = time.Duration(n) * time.Second
	}
	v := p.stored.Get("captureDelay")
	if v == "" || p.action != "SALE" {
		return nil
	}
	if v == "never" {
		v = "-1"
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < -1 || n > 30 {
		return fail(codeInvalidCaptureDelay, "INVALID captureDelay")
	}
	p.captureDelay, p.hasDelay = n, true
	return nil
}

// parseCard reads the card number and expiry, from the request or the
// transaction named by xref.
func parseCard(p *params, c call) *reply {
	// ReplaceAll allocates only when there is something to remove; a
	// strings.Replacer would be built on every request.
	number := strings.ReplaceAll(strings.ReplaceAll(c.req.Get("cardNumber"), " ", ""), "-", "")
	switch {
	case number == "" && p.source == nil:
		return missing(codeMissingCardNumber, "cardNumber")
	case number == "":
		p.card = p.source.card
	case len(number) < 12 || len(number) > 19 || strings.Trim(number, "0123456789") != "" || !luhn(number):
		return invalid(codeMissingCardNumber, "cardNumber")
	default:
		p.card = card{number: number}
	}
	return parseExpiry(p, c)
}

func parseExpiry(p *params, c call) *reply {
	month, year := c.req.Get("cardExpiryMonth"), c.req.Get("cardExpiryYear")
	if d := c.req.Get("cardExpiryDate"); d != "" && month == "" && year == "" {
		if len(d) != 4 {
			return invalid(codeMissingExpiryMonth, "cardExpiryDate")
		}
		month, year = d[:2], d[2:]
	}
	if month == "" && year == "" && p.source != nil && c.req.Get("cardNumber") == "" {
		return nil // cloned with the card
	}
	m, err := strconv.Atoi(month)
	switch {
	case month == "":
		return missing(codeMissingExpiryMonth, "cardExpiryMonth")
	case err != nil || m < 1 || m > 12:
		return invalid(codeMissingExpiryMonth, "cardExpiryMonth")
	}
	y, err := strconv.Atoi(year)
	switch {
	case year == "":
		return missing(codeMissingExpiryYear, "cardExpiryYear")
	case err != nil || y < 0 || (y > 99 && (y < 2000 || y > 2099)):
		return invalid(codeMissingExpiryYear, "cardExpiryYear")
	}
	p.card.month, p.card.year = uint8(m), uint8(y%100)
	return nil
}

// parseCVV requires a CVV with a new card; with an xref it is optional.
func parseCVV(p *params, c call) *reply {
	p.cvv = c.req.Get("cardCVV")
	switch {
	case p.cvv == "" && p.source == nil:
		return missing(codeMissingCVV, "cardCVV")
	case p.cvv != "" && (len(p.cvv) < 3 || len(p.cvv) > 4 || strings.Trim(p.cvv, "0123456789") != ""):
		return invalid(codeMissingCVV, "cardCVV")
	}
	return nil
}

// expired reports whether the card expired before now.
func (c card) expired(now time.Time) bool {
	end := time.Date(2000+int(c.year), time.Month(c.month)+1, 1, 0, 0, 0, 0, time.UTC)
	return !now.UTC().Before(end)
}

// dupKey is what makes two requests duplicates (§9.7).
func (p params) dupKey(c call) dupKey {
	return newDupKey(c.m.id, p.action, p.typ, strconv.FormatInt(p.amount, 10),
		c.req.Get("transactionUnique"), p.currency, c.req.Get("xref"), p.card.number)
}
