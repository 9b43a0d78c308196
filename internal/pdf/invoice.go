package pdf

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/calmony/calmonypay/internal/pay"
)

// Page geometry, in millimetres (A4 portrait).
const (
	pageW, pageH = 210.0, 297.0
	margin       = 18.0
	contentW     = pageW - 2*margin
	right        = pageW - margin
	footerY      = pageH - 12 // baseline of the page footer
	bottom       = pageH - 20 // nothing but the footer goes below
	lineH        = 4.3        // a line of body text (9 pt)
	smallH       = 3.6        // a line of small text (7.5 pt)
	cellPad      = 1.6        // space inside a table cell
	bodyPt       = 9.0
	smallPt      = 7.5
	titlePt      = 20.0
	headlinePt   = 13.0
	stampPt      = 16.0
	totalsLabelX = 92.0 // where the totals' labels start
)

// Colours, as RGB.
var (
	black     = [3]int{20, 20, 20}
	grey      = [3]int{110, 110, 110}
	ruleGrey  = [3]int{215, 215, 215}
	headFill  = [3]int{243, 243, 243}
	paidGreen = [3]int{0, 122, 61}
	voidRed   = [3]int{190, 30, 45}
)

// column is one column of the lines table.
type column struct {
	title string
	w     float64
	align string // "L" or "R"
}

// Invoice renders inv, issued by biz, as an A4 PDF: a VAT invoice (UK
// style) when biz has a VAT number and a line carries VAT, an invoice
// otherwise. The output depends only on its arguments: the same invoice
// renders to the same bytes.
func Invoice(inv *pay.Invoice, biz pay.Business) (out []byte, err error) {
	defer func() {
		// fpdf panics on some input; a bad invoice must not take the
		// process (a billing run, say) down with it.
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("render invoice %s: %v", inv.ID, p)
		}
	}()
	r := newInvoiceRenderer(cleanInvoice(inv), cleanBusiness(biz))
	r.render()
	var buf bytes.Buffer
	if err := r.f.Output(&buf); err != nil {
		return nil, fmt.Errorf("render invoice %s: %w", inv.ID, err)
	}
	return buf.Bytes(), nil
}

// cleanInvoice returns a copy of inv with its text made safe to draw.
func cleanInvoice(inv *pay.Invoice) *pay.Invoice {
	c := *inv
	for _, s := range []*string{&c.Number, &c.Currency, &c.CustomerName, &c.CustomerEmail} {
		*s = clean(*s, false)
	}
	c.Description, c.Footer = clean(c.Description, true), clean(c.Footer, true)
	if c.CustomerAddress != nil {
		a := cleanAddress(*c.CustomerAddress)
		c.CustomerAddress = &a
	}
	c.Lines = slices.Clone(c.Lines)
	for i := range c.Lines {
		l := &c.Lines[i]
		l.Description = clean(l.Description, true)
		l.Taxes = slices.Clone(l.Taxes)
		for j := range l.Taxes {
			l.Taxes[j].DisplayName = clean(l.Taxes[j].DisplayName, false)
		}
	}
	return &c
}

func cleanBusiness(b pay.Business) pay.Business {
	for _, s := range []*string{&b.Name, &b.VATNumber, &b.Email, &b.Phone} {
		*s = clean(*s, false)
	}
	b.Address = cleanAddress(b.Address)
	return b
}

func cleanAddress(a pay.Address) pay.Address {
	for _, s := range []*string{&a.Line1, &a.Line2, &a.City, &a.State, &a.PostalCode, &a.Country} {
		*s = clean(*s, false)
	}
	return a
}

type invoiceRenderer struct {
	f     *fpdf.Fpdf
	inv   *pay.Invoice
	biz   pay.Business
	title string // "VAT invoice" or "Invoice"
	tax   string // "VAT" or "Tax": what the tax columns are called
	cols  []column
}

func newInvoiceRenderer(inv *pay.Invoice, biz pay.Business) *invoiceRenderer {
	r := &invoiceRenderer{inv: inv, biz: biz, title: "Invoice", tax: "VAT"}
	taxed := false
	for _, l := range inv.Lines {
		for _, t := range l.Taxes {
			taxed = true
			if name := strings.TrimSpace(t.DisplayName); name != "" && !strings.EqualFold(name, "VAT") {
				r.tax = "Tax"
			}
		}
	}
	if taxed && biz.VATNumber != "" && r.tax == "VAT" {
		r.title = "VAT invoice"
	}
	r.cols = []column{
		{"Description", 70, "L"}, {"Qty", 13, "R"}, {"Unit price", 25, "R"},
		{r.tax + " rate", 19, "R"}, {r.tax, 21, "R"}, {"Amount", 26, "R"},
	}
	if !taxed { // no tax columns
		r.cols = []column{{"Description", 110, "L"}, {"Qty", 13, "R"}, {"Unit price", 25, "R"}, {"Amount", 26, "R"}}
	}
	r.f = newDoc(time.Unix(cmp.Or(inv.FinalizedAt, inv.Created), 0).UTC(), r.title+" "+r.number(), biz.Name)
	r.f.SetMargins(margin, margin, margin)
	r.f.SetCellMargin(0)
	r.f.SetFooterFunc(r.pageFooter)
	return r
}

func (r *invoiceRenderer) number() string { return cmp.Or(r.inv.Number, "(draft)") }

func (r *invoiceRenderer) money(amount int64) string { return Money(amount, r.inv.Currency) }

func (r *invoiceRenderer) font(style string, pt float64, colour [3]int) {
	r.f.SetFont(family, style, pt)
	r.f.SetTextColor(colour[0], colour[1], colour[2])
}

func (r *invoiceRenderer) render() {
	r.f.AddPage()
	r.header()
	r.parties()
	r.headline()
	r.lines()
	r.totals()
	r.footerText()
}

// header draws the title, the status stamp and the invoice's numbers and dates.
func (r *invoiceRenderer) header() {
	f := r.f
	r.font("B", titlePt, black)
	f.SetXY(margin, margin)
	f.CellFormat(100, 9, r.title, "", 0, "L", false, 0, "")
	r.stamp()

	rows := [][2]string{{"Invoice number", r.number()}}
	if r.inv.FinalizedAt != 0 {
		rows = append(rows, [2]string{"Date of issue", date(r.inv.FinalizedAt)})
	} else {
		rows = append(rows, [2]string{"Date created", date(r.inv.Created)})
	}
	switch s, e := r.inv.PeriodStart, r.inv.PeriodEnd; {
	case s != 0 && e > s && date(s) != date(e):
		rows = append(rows, [2]string{"Supply period", date(s) + " – " + date(e)})
	case e != 0 || s != 0:
		rows = append(rows, [2]string{"Supply date", date(cmp.Or(e, s))})
	}
	if r.inv.DueDate != 0 {
		rows = append(rows, [2]string{"Date due", date(r.inv.DueDate)})
	}
	y := margin + 13
	for _, row := range rows {
		f.SetXY(margin, y)
		r.font("", bodyPt, grey)
		f.CellFormat(32, lineH, row[0], "", 0, "L", false, 0, "")
		r.font("", bodyPt, black)
		f.CellFormat(contentW-32, lineH, row[1], "", 0, "L", false, 0, "")
		y += lineH
	}
	f.SetY(y + 6)
}

// stamp marks a paid, void or draft invoice at the top right.
func (r *invoiceRenderer) stamp() {
	var (
		text   string
		colour [3]int
	)
	switch r.inv.Status {
	case pay.InvoiceStatusPaid:
		text, colour = "PAID", paidGreen
	case pay.InvoiceStatusVoid:
		text, colour = "VOID", voidRed
	case pay.InvoiceStatusDraft:
		text, colour = "DRAFT", grey
	default:
		return
	}
	f := r.f
	r.font("B", stampPt, colour)
	w := f.GetStringWidth(text) + 8
	f.SetDrawColor(colour[0], colour[1], colour[2])
	f.SetLineWidth(0.6)
	f.SetXY(right-w, margin)
	f.CellFormat(w, 9, text, "1", 0, "C", false, 0, "")
	f.SetLineWidth(0.2)
}

// parties draws who the invoice is from (with the VAT registration number)
// and who it is billed to, side by side.
func (r *invoiceRenderer) parties() {
	b := r.biz
	from := addressLines(b.Address)
	if b.VATNumber != "" {
		from = append(from, "VAT registration number: "+b.VATNumber)
	}
	from = append(from, nonEmpty(b.Email, b.Phone)...)

	inv := r.inv
	billTo := addressLines(derefAddress(inv.CustomerAddress))
	if inv.CustomerName != "" {
		billTo = append(billTo, inv.CustomerEmail)
	}
	billTo = nonEmpty(billTo...)

	y := r.f.GetY()
	const colW = contentW/2 - 4
	y1 := r.block(margin, y, colW, "From", b.Name, from)
	y2 := r.block(margin+contentW/2, y, colW, "Bill to", cmp.Or(inv.CustomerName, inv.CustomerEmail), billTo)
	r.f.SetY(max(y1, y2) + 6)
}

// block draws a heading, a bold first line and wrapped lines under it at
// x, y, and returns the y under it.
func (r *invoiceRenderer) block(x, y, w float64, heading, first string, lines []string) float64 {
	if first == "" && len(lines) == 0 {
		return y
	}
	f := r.f
	r.font("B", smallPt, grey)
	f.SetXY(x, y)
	f.CellFormat(w, smallH, strings.ToUpper(heading), "", 0, "L", false, 0, "")
	y += smallH + 1
	if first != "" {
		r.font("B", bodyPt, black)
		for _, l := range f.SplitText(first, w) {
			f.SetXY(x, y)
			f.CellFormat(w, lineH, l, "", 0, "L", false, 0, "")
			y += lineH
		}
	}
	r.font("", bodyPt, black)
	for _, line := range lines {
		for _, l := range f.SplitText(line, w) {
			f.SetXY(x, y)
			f.CellFormat(w, lineH, l, "", 0, "L", false, 0, "")
			y += lineH
		}
	}
	return y
}

// headline says in one line what the customer owes or paid, and the memo.
func (r *invoiceRenderer) headline() {
	inv := r.inv
	var s string
	switch inv.Status {
	case pay.InvoiceStatusVoid:
		s = "This invoice is void: nothing is due."
	case pay.InvoiceStatusDraft:
		s = "Draft: this invoice has not been issued."
	case pay.InvoiceStatusPaid:
		s = r.money(inv.AmountPaid) + " paid"
		if inv.PaidAt != 0 {
			s += " on " + date(inv.PaidAt)
		}
	default:
		s = r.money(inv.AmountRemaining) + " due"
		if inv.DueDate != 0 {
			s += " by " + date(inv.DueDate)
		}
	}
	f := r.f
	r.font("B", headlinePt, black)
	f.SetX(margin)
	f.CellFormat(contentW, 6, s, "", 1, "L", false, 0, "")
	if inv.Description != "" {
		f.Ln(1.5)
		r.font("", bodyPt, black)
		r.paragraph(inv.Description, lineH)
	}
	f.Ln(5)
}

// paragraph writes wrapped text at the left margin, going on to new pages
// as needed.
func (r *invoiceRenderer) paragraph(text string, h float64) {
	f := r.f
	for _, l := range f.SplitText(text, contentW) {
		if f.GetY()+h > bottom {
			r.newPage()
		}
		f.SetX(margin)
		f.CellFormat(contentW, h, l, "", 1, "L", false, 0, "")
	}
}

// newPage starts a continuation page.
func (r *invoiceRenderer) newPage() {
	f := r.f
	f.AddPage()
	r.font("", smallPt, grey)
	f.SetXY(margin, margin)
	f.CellFormat(contentW, smallH, r.title+" "+r.number()+" (continued)", "", 1, "L", false, 0, "")
	f.SetY(margin + smallH + 4)
}

// pageFooter writes who issued the invoice and the page number.
func (r *invoiceRenderer) pageFooter() {
	f := r.f
	r.font("", smallPt, grey)
	f.SetDrawColor(ruleGrey[0], ruleGrey[1], ruleGrey[2])
	f.Line(margin, footerY-2, right, footerY-2)
	page := "Page " + strconv.Itoa(f.PageNo()) + " of " + pagesAlias
	pageW := f.GetStringWidth("Page 9999 of 9999")
	who := r.fit(strings.TrimPrefix(r.biz.Name+" · ", " · ")+r.title+" "+r.number(), contentW-pageW-4)
	f.SetXY(margin, footerY)
	f.CellFormat(contentW-pageW, smallH, who, "", 0, "L", false, 0, "")
	f.CellFormat(pageW, smallH, page, "", 0, "R", false, 0, "")
}

// fit shortens s, in the current font, to at most w wide, ending it with
// "…" if it had to be cut.
func (r *invoiceRenderer) fit(s string, w float64) string {
	if r.f.GetStringWidth(s) <= w {
		return s
	}
	rs := []rune(s)
	for len(rs) > 0 && r.f.GetStringWidth(string(rs)+"…") > w {
		rs = rs[:len(rs)-1]
	}
	return string(rs) + "…"
}

// cell writes one line of s in a cell of width w at x, y, in a smaller
// font if s is too wide for it at pt (a huge amount).
func (r *invoiceRenderer) cell(x, y, w, h float64, s, style string, pt float64, align string) {
	f := r.f
	f.SetFont(family, style, pt)
	if sw := f.GetStringWidth(s); sw > w {
		f.SetFontSize(pt * w / sw)
	}
	f.SetXY(x, y)
	f.CellFormat(w, h, s, "", 0, align, false, 0, "")
	f.SetFontSize(pt)
}

// row is one invoice line laid out: the text of each column, line by line.
type row struct {
	desc  []string // 9 pt
	notes []string // 7.5 pt grey, under the description: the period, "Proration"
	cells [][]string
	h     float64
}

// maxDescLines bounds a line's description so that a row fits on a page.
const maxDescLines = 30

func (r *invoiceRenderer) layout(l pay.InvoiceLine) row {
	f := r.f
	descW := r.cols[0].w - 2*cellPad
	r.font("", bodyPt, black)
	desc := f.SplitText(cmp.Or(l.Description, "—"), descW)
	if len(desc) > maxDescLines {
		desc = append(desc[:maxDescLines-1], "…")
	}
	var note []string
	if l.Proration {
		note = append(note, "Proration")
	}
	if l.PeriodStart != 0 || l.PeriodEnd != 0 {
		note = append(note, shortDate(cmp.Or(l.PeriodStart, l.PeriodEnd))+" – "+shortDate(cmp.Or(l.PeriodEnd, l.PeriodStart)))
	}
	var notes []string
	if len(note) > 0 {
		r.font("", smallPt, grey)
		notes = f.SplitText(strings.Join(note, " · "), descW)
	}
	unit := ""
	if !l.Proration || l.Quantity*l.UnitAmount == l.Amount {
		unit = r.money(l.UnitAmount)
	}
	var rates, taxes []string
	for _, t := range l.Taxes {
		rate := t.Percent()
		if t.Inclusive {
			rate += " incl."
		}
		rates = append(rates, rate)
		taxes = append(taxes, r.money(t.Amount))
	}
	if len(l.Taxes) == 0 {
		rates, taxes = []string{"–"}, []string{"–"}
	}
	rw := row{desc: desc, notes: notes, cells: [][]string{
		{strconv.FormatInt(l.Quantity, 10)}, {unit}, rates, taxes, {r.money(l.Amount)},
	}}
	if len(r.cols) == 4 {
		rw.cells = slices.Delete(rw.cells, 2, 4)
	}
	h := float64(len(desc))*lineH + float64(len(notes))*smallH
	for _, c := range rw.cells {
		h = max(h, float64(len(c))*lineH)
	}
	rw.h = h + 2*cellPad
	return rw
}

// lines draws the table of lines, repeating its header on each page.
func (r *invoiceRenderer) lines() {
	f := r.f
	if f.GetY()+2*lineH+2*cellPad+2*lineH > bottom {
		r.newPage()
	}
	r.tableHeader()
	for _, l := range r.inv.Lines {
		rw := r.layout(l)
		if f.GetY()+rw.h > bottom {
			r.newPage()
			r.tableHeader()
		}
		r.drawRow(rw)
	}
	f.Ln(4)
}

func (r *invoiceRenderer) tableHeader() {
	f := r.f
	r.font("B", smallPt, black)
	f.SetFillColor(headFill[0], headFill[1], headFill[2])
	y := f.GetY()
	f.Rect(margin, y, contentW, lineH+2*cellPad, "F")
	x := margin
	for _, c := range r.cols {
		f.SetXY(x+cellPad, y+cellPad)
		f.CellFormat(c.w-2*cellPad, lineH, c.title, "", 0, c.align, false, 0, "")
		x += c.w
	}
	f.SetY(y + lineH + 2*cellPad)
}

func (r *invoiceRenderer) drawRow(rw row) {
	f := r.f
	y := f.GetY()
	x := margin + cellPad
	w := r.cols[0].w - 2*cellPad
	ty := y + cellPad
	r.font("", bodyPt, black)
	for _, l := range rw.desc {
		f.SetXY(x, ty)
		f.CellFormat(w, lineH, l, "", 0, "L", false, 0, "")
		ty += lineH
	}
	r.font("", smallPt, grey)
	for _, l := range rw.notes {
		f.SetXY(x, ty)
		f.CellFormat(w, smallH, l, "", 0, "L", false, 0, "")
		ty += smallH
	}
	r.font("", bodyPt, black)
	x = margin + r.cols[0].w
	for i, cell := range rw.cells {
		c := r.cols[i+1]
		for j, l := range cell {
			r.cell(x+cellPad, y+cellPad+float64(j)*lineH, c.w-2*cellPad, lineH, l, "", bodyPt, c.align)
		}
		x += c.w
	}
	f.SetDrawColor(ruleGrey[0], ruleGrey[1], ruleGrey[2])
	f.Line(margin, y+rw.h, right, y+rw.h)
	f.SetY(y + rw.h)
}

// rateTotal is the tax of one rate over the whole invoice.
type rateTotal struct {
	t             pay.LineTax
	amount, taxed int64
}

// rateTotals sums the lines' taxes by rate, in the order the rates first
// appear.
func rateTotals(lines []pay.InvoiceLine) []*rateTotal {
	var out []*rateTotal
	by := map[string]*rateTotal{}
	for _, l := range lines {
		for _, t := range l.Taxes {
			key := t.TaxRate
			if key == "" {
				key = fmt.Sprintf("%s|%d|%t", t.DisplayName, t.Percentage, t.Inclusive)
			}
			rt := by[key]
			if rt == nil {
				rt = &rateTotal{t: t}
				by[key] = rt
				out = append(out, rt)
			}
			rt.amount += t.Amount
			rt.taxed += t.TaxableAmount
		}
	}
	return out
}

// totals draws the subtotal, the tax by rate, the total and what was paid
// and is due, right-aligned under the table.
func (r *invoiceRenderer) totals() {
	inv := r.inv
	type total struct {
		label, amount string
		bold          bool
	}
	rows := []total{{"Subtotal", r.money(inv.Subtotal), false}}
	rts := rateTotals(inv.Lines)
	inclusive := false
	for _, rt := range rts {
		inclusive = inclusive || rt.t.Inclusive
	}
	if inclusive {
		rows = append(rows, total{"Total excluding " + r.tax, r.money(inv.Total - inv.Tax), false})
	}
	for _, rt := range rts {
		label := cmp.Or(strings.TrimSpace(rt.t.DisplayName), r.tax) + " at " + rt.t.Percent()
		if rt.t.Inclusive {
			label += " (included)"
		}
		rows = append(rows, total{label + " on " + r.money(rt.taxed), r.money(rt.amount), false})
	}
	rows = append(rows, total{"Total", r.money(inv.Total), true})
	if inv.AmountDue != inv.Total {
		rows = append(rows, total{"Applied balance", r.money(inv.AmountDue - inv.Total), false})
	}
	if inv.Status != pay.InvoiceStatusVoid && inv.Status != pay.InvoiceStatusDraft {
		rows = append(rows, total{"Amount paid", r.money(inv.AmountPaid), false},
			total{"Amount due", r.money(inv.AmountRemaining), true})
	}

	f := r.f
	if f.GetY()+float64(len(rows))*(lineH+1) > bottom {
		r.newPage()
	}
	labelW := right - totalsLabelX - r.cols[len(r.cols)-1].w
	for i, t := range rows {
		if t.bold && i > 0 {
			f.SetDrawColor(ruleGrey[0], ruleGrey[1], ruleGrey[2])
			f.Line(totalsLabelX, f.GetY(), right, f.GetY())
		}
		style := ""
		if t.bold {
			style = "B"
		}
		r.font(style, bodyPt, black)
		y := f.GetY() + 0.5
		r.cell(totalsLabelX, y, labelW-1, lineH, t.label, style, bodyPt, "L")
		r.cell(totalsLabelX+labelW, y, right-totalsLabelX-labelW-cellPad, lineH, t.amount, style, bodyPt, "R")
		f.SetY(y + lineH + 0.5)
	}
	f.Ln(6)
}

// footerText writes the invoice's footer (payment terms, for example).
func (r *invoiceRenderer) footerText() {
	if r.inv.Footer == "" {
		return
	}
	r.font("", smallPt, grey)
	r.paragraph(r.inv.Footer, smallH)
}

// addressLines lists an address's lines, UK style (the postcode on a line
// of its own).
func addressLines(a pay.Address) []string {
	return nonEmpty(a.Line1, a.Line2, a.City, a.State, a.PostalCode, countryName(a.Country))
}

func derefAddress(a *pay.Address) pay.Address {
	if a == nil {
		return pay.Address{}
	}
	return *a
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// countryName names the countries a UK merchant most often writes to; other
// codes print as they are.
func countryName(code string) string {
	switch strings.ToUpper(code) {
	case "GB":
		return "United Kingdom"
	case "IE":
		return "Ireland"
	case "US":
		return "United States"
	case "FR":
		return "France"
	case "DE":
		return "Germany"
	}
	return code
}
