package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// projectsCommand creates, lists and renames projects: one per shop, each
// with its own keys, customers and payments.
func projectsCommand(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "list" && args[0] != "rename") {
		return fmt.Errorf("%w: projects needs create, list or rename", errUsage)
	}
	var name string
	db, pos, _, err := storeCommand(ctx, "projects "+args[0], args[1:], e, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "create: the project's name")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	switch args[0] {
	case "list":
		ps, err := db.FindProjects(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PROJECT\tNAME\tCREATED\tCURRENCIES")
		for _, p := range ps {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.ID, p.Name, unixTime(p.Created), strings.Join(p.Currencies, ","))
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
