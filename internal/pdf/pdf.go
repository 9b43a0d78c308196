// Package pdf renders documents a merchant sends its customers, invoices
// first, as PDF. It imports pay, the PDF library (codeberg.org/go-pdf/fpdf)
// and the Go fonts, nothing of the store or the HTTP layers: callers hand
// it the domain objects to draw.
package pdf

import (
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
)

// family is the font family every document uses: the Go fonts, embedded as
// UTF-8 TrueType (subset to the characters used), so that £, €, – and
// accented names render.
const family = "go"

// newDoc returns an A4 document in millimetres with the fonts added and
// the metadata that would otherwise vary between runs fixed: created is
// both its creation and modification date.
//
// fpdf parses a UTF-8 font when it is added to a document and changes the
// parsed font while it subsets it on output, so a parsed font cannot be
// shared between documents: each render parses the two fonts again (about
// 4 ms each; BenchmarkInvoice).
func newDoc(created time.Time, title, author string) *fpdf.Fpdf {
	f := fpdf.New("P", "mm", "A4", "")
	f.AddUTF8FontFromBytes(family, "", goregular.TTF)
	f.AddUTF8FontFromBytes(family, "B", gobold.TTF)
	f.SetCreationDate(created)
	f.SetModificationDate(created)
	f.SetCatalogSort(true)
	f.SetProducer("Calmony Pay", true)
	f.SetCreator("Calmony Pay", true)
	f.SetTitle(title, true)
	f.SetAuthor(author, true)
	f.SetLang("en-GB")
	f.SetAutoPageBreak(false, 0)
	f.AliasNbPages(pagesAlias)
	return f
}

// glyphs is the set of runes both fonts draw (709 of them: Latin, Greek,
// Cyrillic, punctuation, £ € and U+FFFD), read from the fonts once per
// process.
var glyphs = sync.OnceValue(func() map[rune]bool {
	var out map[rune]bool
	for _, ttf := range [][]byte{goregular.TTF, gobold.TTF} {
		f, err := sfnt.Parse(ttf)
		if err != nil {
			panic("pdf: the embedded Go font does not parse: " + err.Error())
		}
		var buf sfnt.Buffer
		has := map[rune]bool{}
		for r := rune(0x20); r <= 0xFFFD; r++ {
			if i, err := f.GlyphIndex(&buf, r); err == nil && i != 0 && (out == nil || out[r]) {
				has[r] = true
			}
		}
		out = has
	}
	return out
})

// clean makes text safe to draw: a rune the fonts lack (a CJK character,
// an emoji) becomes U+FFFD, which they have, instead of an empty box or,
// beyond U+FFFF, a panic in fpdf; tabs and line breaks become spaces
// unless multiline keeps line breaks; other control and format characters
// go.
func clean(s string, multiline bool) string {
	has := glyphs()
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' && multiline:
			return r
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			return -1
		case !has[r]:
			return '\uFFFD'
		}
		return r
	}, s)
}

// pagesAlias is replaced by the number of pages when the document is written.
const pagesAlias = "{nb}"

// zeroDecimal lists the currencies Stripe counts in whole units (no minor
// unit): an amount of 500 JPY is ¥500.
var zeroDecimal = map[string]bool{
	"bif": true, "clp": true, "djf": true, "gnf": true, "jpy": true, "kmf": true, "krw": true, "mga": true,
	"pyg": true, "rwf": true, "ugx": true, "vnd": true, "vuv": true, "xaf": true, "xof": true, "xpf": true,
}

// MinorDigits is the number of decimal places of currency's amounts in
// major units: 0 for the currencies Stripe counts in whole units (JPY …),
// 2 for the others.
func MinorDigits(currency string) int {
	if zeroDecimal[strings.ToLower(currency)] {
		return 0
	}
	return 2
}

// symbols are the currency symbols printed before an amount; other
// currencies print their code.
var symbols = map[string]string{"gbp": "£", "eur": "€", "usd": "$"}

// Money formats an amount in minor units of currency with its symbol and
// thousands separators, with integer arithmetic only: 123456 gbp is
// "£1,234.56", -500 eur "-€5.00", 1500 chf "CHF 15.00", 500 jpy "JPY 500".
func Money(amount int64, currency string) string {
	currency = strings.ToLower(currency)
	neg := amount < 0
	u := uint64(amount)
	if neg {
		u = -u // two's complement: right for math.MinInt64 too
	}
	var s string
	if zeroDecimal[currency] {
		s = group(u)
	} else {
		frac := strconv.FormatUint(100+u%100, 10)[1:]
		s = group(u/100) + "." + frac
	}
	if sym, ok := symbols[currency]; ok {
		s = sym + s
	} else {
		s = strings.ToUpper(currency) + " " + s
	}
	if neg {
		s = "-" + s
	}
	return s
}

// group writes n with a comma between each three digits.
func group(n uint64) string {
	d := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, c := range d {
		if i > 0 && (len(d)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// dates are printed in UTC, the same day wherever the document is made.
func date(unix int64) string      { return time.Unix(unix, 0).UTC().Format("2 January 2006") }
func shortDate(unix int64) string { return time.Unix(unix, 0).UTC().Format("2 Jan 2006") }
