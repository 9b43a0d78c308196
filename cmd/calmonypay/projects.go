package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// projectsCommand creates, lists and renames projects (one per shop, each
// with its own keys, customers and payments) and sets the business details
// their invoices print and the dunning schedule of their failed renewals.
func projectsCommand(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 || !slices.Contains([]string{"create", "list", "rename", "business", "dunning"}, args[0]) {
		return fmt.Errorf("%w: projects needs create, list, rename, business or dunning", errUsage)
	}
	var (
		name string
		bf   businessFlags
		df   dunningFlags
		fs   *flag.FlagSet
	)
	db, pos, _, err := storeCommand(ctx, "projects "+args[0], args[1:], e, func(f *flag.FlagSet) {
		fs = f
		fs.StringVar(&name, "name", "", "create: the project's name; business: the business's name")
		bf.bind(fs)
		df.bind(fs)
	})
	if err != nil {
		return err
	}
	defer db.Close()
	for _, f := range setFlags(fs) {
		switch {
		case args[0] != "business" && f != "name" && slices.Contains(businessFlagNames, f):
			return fmt.Errorf("%w: --%s is a flag of projects business", errUsage, f)
		case args[0] != "dunning" && slices.Contains(dunningFlagNames, f):
			return fmt.Errorf("%w: --%s is a flag of projects dunning", errUsage, f)
		}
	}
	switch args[0] {
	case "list":
		ps, err := db.FindProjects(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PROJECT\tNAME\tCREATED\tCURRENCIES\tBUSINESS")
		for _, p := range ps {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.ID, p.Name, unixTime(p.Created), strings.Join(p.Currencies, ","), cmp.Or(p.Business.Name, "-"))
		}
		return tw.Flush()
	case "create":
		if len(pos) != 0 {
			return fmt.Errorf("%w: projects create [--name NAME]", errUsage)
		}
		p := &pay.Project{Name: name}
		if p.Name == "" {
			ps, err := db.FindProjects(ctx)
			if err != nil {
				return err
			}
			p.Name = fmt.Sprintf("Project %d", len(ps)+1)
		}
		if err := checkProjectName(p.Name); err != nil {
			return err
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.CreateProject(ctx, p) }); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Created project %s (%s). Make its keys with: calmonypay keys create --project %s --mode test\n%s\n", p.ID, p.Name, p.ID, p.ID)
		return nil
	case "business":
		bf.name = name
		return projectBusiness(ctx, db, pos, bf, setFlags(fs), e)
	case "dunning":
		return projectDunning(ctx, db, pos, df, setFlags(fs), e)
	}
	if len(pos) != 2 {
		return fmt.Errorf("%w: projects rename PROJECT_ID NAME", errUsage)
	}
	if err := checkProjectName(pos[1]); err != nil {
		return err
	}
	err = db.Tx(ctx, func(tx *store.Tx) error { return tx.RenameProject(ctx, pos[0], pos[1]) })
	if errors.Is(err, pay.ErrNotFound) {
		return fmt.Errorf("no project %s", pos[0])
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Renamed %s to %s.\n", pos[0], pos[1])
	return nil
}

// checkProjectName allows 1 to 100 printable characters.
func checkProjectName(name string) error {
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > 100 || strings.TrimSpace(name) == "" ||
		strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return errors.New("a project name is 1 to 100 printable characters")
	}
	return nil
}

// businessFlags are the flags of projects business (and --name).
type businessFlags struct {
	name, address, country, vatNumber, email, phone string
	clear                                           bool
}

var businessFlagNames = []string{"name", "address", "country", "vat-number", "email", "phone", "clear"}

func (bf *businessFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&bf.address, "address", "", `business: the postal address, comma-separated: "1 High Street, London, E1 6AN"`)
	fs.StringVar(&bf.country, "country", "", "business: the address's country code (default GB)")
	fs.StringVar(&bf.vatNumber, "vat-number", "", "business: the VAT registration number (GB123456789)")
	fs.StringVar(&bf.email, "email", "", "business: the email address printed on invoices")
	fs.StringVar(&bf.phone, "phone", "", "business: the phone number printed on invoices")
	fs.BoolVar(&bf.clear, "clear", false, "business: remove the business details")
}

// setFlags lists the flags given on the command line.
func setFlags(fs *flag.FlagSet) []string {
	var out []string
	fs.Visit(func(f *flag.Flag) { out = append(out, f.Name) })
	return out
}

// projectBusiness shows a project's business details, or changes those
// given by flags (an empty value removes one) and shows the result.
func projectBusiness(ctx context.Context, db *store.DB, pos []string, bf businessFlags, set []string, e *env) error {
	if len(pos) != 1 {
		return fmt.Errorf("%w: projects business PROJECT_ID [--name NAME] [--address ADDRESS] [--country CC] [--vat-number NUMBER] [--email EMAIL] [--phone PHONE] [--clear]", errUsage)
	}
	p, err := db.FindProject(ctx, pos[0])
	if errors.Is(err, pay.ErrNotFound) {
		return fmt.Errorf("no project %s", pos[0])
	}
	if err != nil {
		return err
	}
	if len(set) > 0 {
		if p.Business, err = bf.apply(p.Business, set); err != nil {
			return err
		}
		err := db.Tx(ctx, func(tx *store.Tx) error { return tx.SetProjectBusiness(ctx, p.ID, p.Business) })
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Saved the business details of %s.\n", p.ID)
	}
	printBusiness(e, p)
	return nil
}

// apply changes b by the flags given and checks the result.
func (bf businessFlags) apply(b pay.Business, set []string) (pay.Business, error) {
	if bf.clear {
		if len(set) > 1 {
			return b, fmt.Errorf("%w: --clear takes no other flag", errUsage)
		}
		return pay.Business{}, nil
	}
	country := b.Address.Country
	for _, f := range set {
		switch f {
		case "name":
			b.Name = bf.name
		case "address":
			b.Address = parseAddress(bf.address)
		case "country":
			country = bf.country
		case "vat-number":
			b.VATNumber = bf.vatNumber
		case "email":
			b.Email = bf.email
		case "phone":
			b.Phone = bf.phone
		}
	}
	b.Address.Country = country
	// The operations tidy and check the details (the dashboard's too); the
	// CLI always sets a name, so the zero Business is not an answer here.
	b, err := payments.NormalizeBusiness(b)
	if err == nil && b.IsZero() {
		err = b.Validate()
	}
	if err != nil {
		var pe *pay.Error
		switch {
		case errors.As(err, &pe) && pe.Code == "parameter_missing":
			return b, errors.New("a business needs a name: --name NAME")
		case pe != nil:
			return b, errors.New(pe.Message)
		}
		return b, err
	}
	return b, nil
}

// ukPostcode matches a UK postcode, with or without its space.
var ukPostcode = regexp.MustCompile(`^(?i)[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$`)

// parseAddress reads an address written on one line, comma-separated: the
// first part is the first line, a UK postcode at the end is the postcode,
// the part before it the city and any parts between them the second line.
func parseAddress(s string) pay.Address {
	var parts []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.Join(strings.Fields(p), " "); p != "" {
			parts = append(parts, p)
		}
	}
	var a pay.Address
	if n := len(parts); n > 1 && ukPostcode.MatchString(parts[n-1]) {
		a.PostalCode = strings.ToUpper(parts[n-1])
		parts = parts[:n-1]
	}
	switch n := len(parts); {
	case n == 1:
		a.Line1 = parts[0]
	case n >= 2:
		a.Line1, a.City = parts[0], parts[n-1]
		a.Line2 = strings.Join(parts[1:n-1], ", ")
	}
	return a
}

func printBusiness(e *env, p *pay.Project) {
	b := p.Business
	if b.IsZero() {
		fmt.Fprintf(e.stdout, "%s has no business details. Set those its invoices print with:\n  calmonypay projects business %s --name NAME --address \"1 High Street, London, E1 6AN\" --vat-number GB123456789 [--email EMAIL]\n", p.ID, p.ID)
		return
	}
	a := b.Address
	var lines []string
	for _, l := range []string{a.Line1, a.Line2, a.City, a.State, a.PostalCode, a.Country} {
		if l != "" {
			lines = append(lines, l)
		}
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	for _, row := range [][2]string{{"Name", b.Name}, {"Address", strings.Join(lines, ", ")}, {"VAT number", b.VATNumber}, {"Email", b.Email}, {"Phone", b.Phone}} {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], cmp.Or(row[1], "-"))
	}
	tw.Flush()
}

// dunningFlags are the flags of projects dunning.
type dunningFlags struct{ retries, finalAction, invoiceAction string }

var dunningFlagNames = []string{"retries", "final-action", "invoice-action"}

func (df *dunningFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&df.retries, "retries", "", `dunning: when to retry a failed renewal, each after the attempt before: "1h,1d,3d" (units m, h, d), or none`)
	fs.StringVar(&df.finalAction, "final-action", "", "dunning: the subscription once every retry failed: cancel, mark_unpaid or leave_past_due")
	fs.StringVar(&df.invoiceAction, "invoice-action", "", "dunning: the invoice then: leave_open or mark_uncollectible")
}

// projectDunning shows a project's dunning schedule, or changes what the
// flags give and shows the result.
func projectDunning(ctx context.Context, db *store.DB, pos []string, df dunningFlags, set []string, e *env) error {
	if len(pos) != 1 {
		return fmt.Errorf("%w: projects dunning PROJECT_ID [--retries 1h,1d,3d] [--final-action ACTION] [--invoice-action ACTION]", errUsage)
	}
	p, err := db.FindProject(ctx, pos[0])
	if errors.Is(err, pay.ErrNotFound) {
		return fmt.Errorf("no project %s", pos[0])
	}
	if err != nil {
		return err
	}
	d := p.Dunning
	if len(set) > 0 {
		if slices.Contains(set, "retries") {
			if d.Retries, err = pay.ParseRetries(df.retries); err != nil {
				return fmt.Errorf("--retries: %w", err)
			}
		}
		if slices.Contains(set, "final-action") {
			d.FinalAction = df.finalAction
		}
		if slices.Contains(set, "invoice-action") {
			d.InvoiceAction = df.invoiceAction
		}
		if err := d.Check(); err != nil {
			return err
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.SetProjectDunning(ctx, p.ID, d) }); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "Retries:        %s\nFinal action:   %s\nInvoice action: %s\n", pay.FormatRetries(d.Retries), d.FinalAction, d.InvoiceAction)
	return nil
}
