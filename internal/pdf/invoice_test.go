package pdf_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/pdf"
)

// requireToolsEnv makes a missing pdftotext a failure instead of a skip.
// CI sets it.
const requireToolsEnv = "CALMONY_REQUIRE_PDF_TOOLS"

// day is a fixed time, so that the dates printed are known.
var day = time.Date(2026, time.March, 5, 10, 0, 0, 0, time.UTC).Unix()

const dayLen = 24 * 60 * 60

func business() pay.Business {
	return pay.Business{Name: "Tea Shop Ltd", VATNumber: "GB123456789", Email: "accounts@tea.example", Phone: "020 7946 0000",
		Address: pay.Address{Line1: "1 High Street", Line2: "Shoreditch", City: "London", PostalCode: "E1 6AN", Country: "GB"}}
}

// exclusive is VAT at percentE4 added to amount.
func exclusive(amount, percentE4 int64) pay.LineTax {
	return pay.LineTax{TaxRate: fmt.Sprintf("txr_ex%d", percentE4), DisplayName: "VAT", Percentage: pay.Percent(percentE4),
		Amount: amount * percentE4 / 1000000, TaxableAmount: amount}
}

// inclusive is VAT at percentE4 included in amount.
func inclusive(amount, percentE4 int64) pay.LineTax {
	tax := amount * percentE4 / (1000000 + percentE4)
	return pay.LineTax{TaxRate: fmt.Sprintf("txr_in%d", percentE4), DisplayName: "VAT", Percentage: pay.Percent(percentE4), Inclusive: true,
		Amount: tax, TaxableAmount: amount - tax}
}

func line(desc string, qty, unit int64, tax func(amount, percentE4 int64) pay.LineTax, percentE4 int64) pay.InvoiceLine {
	l := pay.InvoiceLine{ID: "il_" + desc[:min(len(desc), 8)], Description: desc, Quantity: qty, UnitAmount: unit, Amount: qty * unit}
	if tax != nil {
		l.Taxes = []pay.LineTax{tax(l.Amount, percentE4)}
	}
	return l
}

// invoice is an open invoice of lines with its totals worked out.
func invoice(lines ...pay.InvoiceLine) *pay.Invoice {
	inv := &pay.Invoice{ID: "in_test", Scope: pay.Scope{ProjectID: "proj_test"}, Number: "TEA-0042", Status: pay.InvoiceStatusOpen,
		Currency: "gbp", Created: day - dayLen, FinalizedAt: day, DueDate: day + 30*dayLen,
		PeriodStart: day - 28*dayLen, PeriodEnd: day,
		Customer: "cus_test", CustomerName: "Zoë Łukasiewicz", CustomerEmail: "zoe@example.com",
		CustomerAddress: &pay.Address{Line1: "22 Acacia Avenue", City: "Leeds", PostalCode: "LS1 4AP", Country: "GB"},
		Lines:           lines}
	for _, l := range lines {
		inv.Subtotal += l.Amount
		for _, t := range l.Taxes {
			inv.Tax += t.Amount
			if !t.Inclusive {
				inv.Total += t.Amount
			}
		}
	}
	inv.Total += inv.Subtotal
	inv.AmountDue, inv.AmountRemaining = inv.Total, inv.Total
	return inv
}

func render(t testing.TB, inv *pay.Invoice, biz pay.Business) []byte {
	t.Helper()
	b, err := pdf.Invoice(inv, biz)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %.20q", b)
	}
	if dir := os.Getenv("CALMONY_PDF_OUT"); dir != "" { // keep the PDFs to look at
		os.WriteFile(filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+"_"+inv.Status+"_"+inv.Currency+".pdf"), b, 0o644)
	}
	return b
}

// text extracts a PDF's text with pdftotext, keeping the layout; pages are
// separated by form feeds.
func text(t *testing.T, b []byte) string {
	t.Helper()
	tool, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv(requireToolsEnv) == "1" {
			t.Fatalf("pdftotext is not on PATH (install poppler-utils), and %s=1 requires it", requireToolsEnv)
		}
		t.Skipf("skipping: pdftotext is not on PATH (install poppler-utils; set %s=1 to make this a failure)", requireToolsEnv)
	}
	path := filepath.Join(t.TempDir(), "invoice.pdf")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "-layout", "-enc", "UTF-8", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	return string(out)
}

var spaces = regexp.MustCompile(`[ \t]+`)

// has checks that text has each of want, with runs of spaces taken as one.
func has(t *testing.T, text string, want ...string) {
	t.Helper()
	flat := spaces.ReplaceAllString(text, " ")
	for _, w := range want {
		if !strings.Contains(flat, w) {
			t.Errorf("the PDF's text lacks %q:\n%s", w, text)
		}
	}
}

func hasNot(t *testing.T, text string, unwanted ...string) {
	t.Helper()
	flat := spaces.ReplaceAllString(text, " ")
	for _, w := range unwanted {
		if strings.Contains(flat, w) {
			t.Errorf("the PDF's text has %q:\n%s", w, text)
		}
	}
}

// lineWith returns the first line of text with s in it.
func lineWith(text, s string) string {
	for l := range strings.SplitSeq(text, "\n") {
		if strings.Contains(l, s) {
			return spaces.ReplaceAllString(strings.TrimSpace(l), " ")
		}
	}
	return ""
}

func TestInvoiceOneLine(t *testing.T) {
	t.Parallel()
	inv := invoice(line("Darjeeling, first flush (250 g)", 2, 2500, exclusive, 200000))
	txt := text(t, render(t, inv, business()))
	has(t, txt,
		"VAT invoice",
		"Tea Shop Ltd", "1 High Street", "Shoreditch", "London", "E1 6AN", "United Kingdom",
		"VAT registration number: GB123456789", "accounts@tea.example", "020 7946 0000",
		"Invoice number TEA-0042", "Date of issue 5 March 2026", "Supply period 5 February 2026 – 5 March 2026", "Date due 4 April 2026",
		"Zoë Łukasiewicz", "22 Acacia Avenue", "LS1 4AP", "zoe@example.com",
		"£60.00 due by 4 April 2026",
		"Description Qty Unit price VAT rate VAT Amount",
		"Subtotal £50.00", "VAT at 20% on £50.00 £10.00", "Total £60.00", "Amount paid £0.00", "Amount due £60.00",
		"Page 1 of 1")
	if got, want := lineWith(txt, "Darjeeling"), "Darjeeling, first flush (250 g) 2 £25.00 20% £10.00 £50.00"; got != want {
		t.Errorf("the line reads %q, want %q", got, want)
	}
	hasNot(t, txt, "PAID", "VOID", "Total excluding VAT", "Page 2")
}

func TestInvoiceManyLinesOverPages(t *testing.T) {
	t.Parallel()
	long := "Assam second flush, a long description that has to wrap onto further lines of its cell " +
		"because it goes on well past the width of the description column, as merchants' descriptions do"
	var lines []pay.InvoiceLine
	for i := range 40 {
		desc := fmt.Sprintf("Tea number %02d", i+1)
		if i == 3 {
			desc = long
		}
		lines = append(lines, line(desc, int64(i+1), 1000+int64(i), exclusive, 200000))
	}
	inv := invoice(lines...)
	txt := text(t, render(t, inv, business()))
	pages := strings.Split(strings.TrimSuffix(txt, "\f"), "\f")
	if len(pages) != 2 {
		t.Fatalf("%d pages, want 2:\n%s", len(pages), txt)
	}
	has(t, pages[0], "Page 1 of 2", "Description Qty Unit price")
	has(t, pages[1], "Page 2 of 2", "Description Qty Unit price", "VAT invoice TEA-0042 (continued)", "Total", "Amount due")
	for i, l := range lines {
		if i == 3 {
			continue
		}
		want := fmt.Sprintf("%s %d %s 20%% %s %s", l.Description, l.Quantity, pdf.Money(l.UnitAmount, "gbp"),
			pdf.Money(l.Taxes[0].Amount, "gbp"), pdf.Money(l.Amount, "gbp"))
		if got := lineWith(txt, l.Description); got != want {
			t.Errorf("line %d reads %q, want %q", i+1, got, want)
		}
	}
	// The long description wraps: its words are all there, on several lines.
	first, last := lineWith(txt, "Assam second flush"), lineWith(txt, "because it goes on")
	if first == "" || last == "" || first == last {
		t.Errorf("the long description did not wrap: first line %q, last %q", first, last)
	}
	has(t, txt, "Subtotal "+pdf.Money(inv.Subtotal, "gbp"), "VAT at 20% on "+pdf.Money(inv.Subtotal, "gbp")+" "+pdf.Money(inv.Tax, "gbp"),
		"Total "+pdf.Money(inv.Total, "gbp"))
}

func TestInvoiceInclusiveAndExclusiveVAT(t *testing.T) {
	t.Parallel()
	inv := invoice(
		line("Gift box (price includes VAT)", 1, 6000, inclusive, 200000),
		line("Tea towel", 1, 1000, exclusive, 200000),
		line("Children's book", 1, 1200, exclusive, 0),
		line("Energy-saving kettle", 1, 2100, exclusive, 50000),
	)
	txt := text(t, render(t, inv, business()))
	has(t, txt,
		"VAT invoice",
		"20% incl. £10.00 £60.00",
		"Subtotal £103.00",
		"Total excluding VAT £93.00",
		"VAT at 20% (included) on £50.00 £10.00",
		"VAT at 20% on £10.00 £2.00",
		"VAT at 0% on £12.00 £0.00",
		"VAT at 5% on £21.00 £1.05",
		"Total £106.05",
		"Amount due £106.05")
}

func TestInvoiceZeroRated(t *testing.T) {
	t.Parallel()
	inv := invoice(line("Printed tea guide", 3, 800, exclusive, 0))
	txt := text(t, render(t, inv, business()))
	has(t, txt, "VAT invoice", "Printed tea guide 3 £8.00 0% £0.00 £24.00", "VAT at 0% on £24.00 £0.00", "Total £24.00")
}

func TestInvoiceWithoutVATNumber(t *testing.T) {
	t.Parallel()
	biz := business()
	biz.VATNumber = ""
	inv := invoice(line("Consulting", 1, 30000, nil, 0))
	txt := text(t, render(t, inv, biz))
	has(t, txt, "Invoice", "Description Qty Unit price Amount", "Consulting 1 £300.00 £300.00", "Total £300.00")
	hasNot(t, txt, "VAT invoice", "VAT registration number", "VAT at", "VAT rate")
}

func TestInvoicePaidAndVoid(t *testing.T) {
	t.Parallel()
	paid := invoice(line("Sencha", 2, 2500, exclusive, 200000))
	paid.Status, paid.PaidAt = pay.InvoiceStatusPaid, day+2*dayLen
	paid.AmountPaid, paid.AmountRemaining = paid.AmountDue, 0
	txt := text(t, render(t, paid, business()))
	has(t, txt, "PAID", "£60.00 paid on 7 March 2026", "Amount paid £60.00", "Amount due £0.00")
	hasNot(t, txt, "VOID")

	void := invoice(line("Sencha", 2, 2500, exclusive, 200000))
	void.Status, void.VoidedAt = pay.InvoiceStatusVoid, day+dayLen
	txt = text(t, render(t, void, business()))
	has(t, txt, "VOID", "This invoice is void: nothing is due.", "Total £60.00")
	hasNot(t, txt, "PAID", "Amount due")
}

func TestInvoiceProrationsAndOtherCurrencies(t *testing.T) {
	t.Parallel()
	credit := pay.InvoiceLine{ID: "il_credit", Description: "Unused time on Standard", Quantity: 1, UnitAmount: 2000, Amount: -1000,
		Proration: true, PeriodStart: day, PeriodEnd: day + 14*dayLen}
	credit.Taxes = []pay.LineTax{exclusive(credit.Amount, 200000)}
	charge := pay.InvoiceLine{ID: "il_charge", Description: "Remaining time on Premium", Quantity: 1, UnitAmount: 4000, Amount: 2000,
		Proration: true, PeriodStart: day, PeriodEnd: day + 14*dayLen}
	charge.Taxes = []pay.LineTax{exclusive(charge.Amount, 200000)}
	inv := invoice(credit, charge)
	inv.Currency = "eur"
	inv.Description = "Your plan changed from Standard to Premium on 5 March."
	inv.Footer = "Thank you for your custom. Questions: accounts@tea.example."
	txt := text(t, render(t, inv, business()))
	has(t, txt, "Unused time on Standard 1 20% -€2.00 -€10.00", "Proration · 5 Mar 2026 – 19 Mar 2026",
		"Remaining time on Premium 1 20% €4.00 €20.00", "Total €12.00",
		"Your plan changed from Standard to Premium", "Thank you for your custom.")

	usd := invoice(line("Oolong", 1, 123456789, nil, 0))
	usd.Currency = "usd"
	has(t, text(t, render(t, usd, business())), "$1,234,567.89")
}

func TestMoney(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		amount   int64
		currency string
		want     string
	}{
		{0, "gbp", "£0.00"},
		{5, "gbp", "£0.05"},
		{123456, "gbp", "£1,234.56"},
		{-500, "eur", "-€5.00"},
		{100000000, "USD", "$1,000,000.00"},
		{1500, "chf", "CHF 15.00"},
		{500, "jpy", "JPY 500"},
		{1234567, "krw", "KRW 1,234,567"},
		{-9223372036854775808, "gbp", "-£92,233,720,368,547,758.08"},
	} {
		if got := pdf.Money(tt.amount, tt.currency); got != tt.want {
			t.Errorf("Money(%d, %s) = %q, want %q", tt.amount, tt.currency, got, tt.want)
		}
	}
}

// TestInvoiceIsByteStable: the same invoice renders to the same bytes, in
// parallel too, with the dates taken from the invoice, not the clock.
func TestInvoiceIsByteStable(t *testing.T) {
	t.Parallel()
	inv := invoice(line("Darjeeling", 2, 2500, exclusive, 200000), line("Tea towel", 1, 1000, inclusive, 200000))
	want := render(t, inv, business())
	var wg sync.WaitGroup
	got := make([][]byte, 2)
	for i := range got {
		wg.Go(func() { got[i] = render(t, inv, business()) })
	}
	wg.Wait()
	for i, b := range got {
		if !bytes.Equal(b, want) {
			t.Errorf("render %d differs from the first (%d bytes, want %d)", i, len(b), len(want))
		}
	}
	if !bytes.Contains(want, []byte("(D:20260305100000)")) {
		t.Error("the creation date is not the invoice's date of issue")
	}
	other := *inv
	other.Number = "TEA-0043"
	if bytes.Equal(render(t, &other, business()), want) {
		t.Error("another invoice number rendered the same bytes")
	}
}

// BenchmarkInvoice renders a five-line invoice.
func BenchmarkInvoice(b *testing.B) {
	inv := invoice(
		line("Darjeeling, first flush (250 g)", 2, 2500, exclusive, 200000),
		line("Gift box", 1, 6000, inclusive, 200000),
		line("Printed tea guide", 1, 800, exclusive, 0),
		line("Tea towel", 3, 1000, exclusive, 200000),
		line("Kettle descaler", 1, 450, exclusive, 50000),
	)
	for b.Loop() {
		if _, err := pdf.Invoice(inv, business()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "renders/s")
}

// TestInvoiceOddInput: text the fonts lack, control characters, words
// longer than a column, an empty invoice and hundreds of lines all render.
func TestInvoiceOddInput(t *testing.T) {
	t.Parallel()
	odd := line("茶 🍵 tab\there, nul\x00, "+strings.Repeat("W", 300), 1, 100, exclusive, 200000)
	odd.Description += "\n" + strings.Repeat("very long description ", 200)
	inv := invoice(odd)
	inv.CustomerName = strings.Repeat("Name ", 40)
	inv.CustomerAddress = nil
	inv.Number = ""
	inv.Status = pay.InvoiceStatusDraft
	biz := business()
	biz.Name = strings.Repeat("Business ", 20)
	txt := text(t, render(t, inv, biz))
	has(t, txt, "DRAFT", "Invoice number (draft)", "Draft: this invoice has not been issued.", "WWWW")
	hasNot(t, txt, "Amount due")

	empty := text(t, render(t, invoice(), pay.Business{}))
	has(t, empty, "Invoice", "BILL TO", "Total £0.00")
	hasNot(t, empty, "FROM")

	big := text(t, render(t, invoice(line("A very large order", 1000, 999999999999, nil, 0)), business()))
	has(t, big, "£9,999,999,999.99", "Total £9,999,999,999,990.00")

	var many []pay.InvoiceLine
	for i := range 100 {
		many = append(many, line(fmt.Sprintf("Item %03d", i+1), 1, 100, exclusive, 200000))
	}
	txt = text(t, render(t, invoice(many...), business()))
	n := strings.Count(txt, "\f")
	has(t, txt, fmt.Sprintf("Page %d of %d", n, n), "Item 100", "Total £120.00")
	if n < 3 {
		t.Errorf("100 lines on %d pages, want 3 or more", n)
	}
}
