package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/calmony/calmonypay/internal/middleware"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

func keysCommand(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: keys needs create, list, revoke or roll", errUsage)
	}
	var (
		mode, project string
		grace         time.Duration
	)
	db, pos, cfg, err := storeCommand(ctx, "keys "+args[0], args[1:], e, func(fs *flag.FlagSet) {
		fs.StringVar(&mode, "mode", "test", "key mode: test or live")
		fs.StringVar(&project, "project", "", "project ID (default: the only project)")
		fs.DurationVar(&grace, "expires-in", payments.DefaultRollGrace, "roll: how long the old key keeps working (at most 168h)")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	// The key rules are the operations' (the dashboard's too); they need no
	// gateway.
	svc := payments.New(payments.Config{DB: db, SkipCallbackSignature: cfg.SkipCallbackSignature, Logger: newLogger(e, cfg)})
	switch args[0] {
	case "create":
		if mode != "test" && mode != "live" {
			return fmt.Errorf("%w: --mode must be test or live", errUsage)
		}
		projectID, err := resolveProject(ctx, db, project, true)
		if err != nil {
			return err
		}
		var nk *payments.NewKey
		err = db.Tx(ctx, func(tx *store.Tx) (err error) {
			nk, err = svc.CreateAPIKey(ctx, tx, projectID, mode == "live")
			return err
		})
		if err != nil {
			return opError(err)
		}
		fmt.Fprintf(e.stdout, "Created %s key %s for project %s. It is shown once: store it now.\n%s\n", mode, nk.Key.ID, projectID, nk.Secret)
		return nil
	case "list":
		return listKeys(ctx, db, project, e)
	case "revoke":
		if len(pos) != 1 {
			return fmt.Errorf("%w: keys revoke KEY_ID", errUsage)
		}
		err := db.Tx(ctx, func(tx *store.Tx) error { _, err := svc.RevokeAPIKey(ctx, tx, "", pos[0]); return err })
		if err != nil {
			return keyNotFound(err, pos[0])
		}
		fmt.Fprintf(e.stdout, "Revoked %s.\n", pos[0])
		return nil
	case "roll":
		if len(pos) != 1 || grace < 0 {
			return fmt.Errorf("%w: keys roll KEY_ID [--expires-in DURATION]", errUsage)
		}
		return rollKey(ctx, db, svc, pos[0], grace, e)
	}
	return fmt.Errorf("%w: unknown keys command %q", errUsage, args[0])
}

func keyNotFound(err error, id string) error {
	if pe, ok := pay.AsError(err); ok && pe.Status == http.StatusNotFound {
		return fmt.Errorf("no active key %s", id)
	}
	return opError(err)
}

// opError turns an operation's refusal (*pay.Error) into its message, in
// lower case as the CLI's other errors are.
func opError(err error) error {
	if pe, ok := pay.AsError(err); ok {
		msg := strings.TrimSuffix(pe.Message, ".")
		if msg != "" {
			msg = strings.ToLower(msg[:1]) + msg[1:]
		}
		return errors.New(msg)
	}
	return err
}

// resolveProject returns the project named, or the only one. With create set,
// an empty database gets its default project.
func resolveProject(ctx context.Context, db *store.DB, id string, create bool) (string, error) {
	if id != "" {
		p, err := db.FindProject(ctx, id)
		if err != nil {
			return "", fmt.Errorf("no project %s", id)
		}
		return p.ID, nil
	}
	ps, err := db.FindProjects(ctx)
	if err != nil {
		return "", err
	}
	switch {
	case len(ps) == 1:
		return ps[0].ID, nil
	case len(ps) > 1:
		return "", fmt.Errorf("%w: there are %d projects: choose one with --project", errUsage, len(ps))
	case !create:
		return "", errors.New("there is no project yet: run calmonypay serve or keys create first")
	}
	p, err := createDefaultProject(ctx, db)
	if err != nil {
		return "", err
	}
	return p.ID, nil
}

func createDefaultProject(ctx context.Context, db *store.DB) (*pay.Project, error) {
	p := &pay.Project{Name: "Default project"}
	return p, db.Tx(ctx, func(tx *store.Tx) error { return tx.CreateProject(ctx, p) })
}

func listKeys(ctx context.Context, db *store.DB, project string, e *env) error {
	keys, err := db.FindAPIKeys(ctx, project)
	if err != nil {
		return err
	}
	now := db.Now().Unix()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPROJECT\tMODE\tKEY\tCREATED\tSTATUS")
	for _, k := range keys {
		mode := "test"
		if k.Livemode {
			mode = "live"
		}
		status := "active"
		switch {
		case k.RevokedAt != 0:
			status = "revoked " + unixTime(k.RevokedAt)
		case k.ExpiresAt != 0 && k.ExpiresAt <= now:
			status = "expired " + unixTime(k.ExpiresAt)
		case k.ExpiresAt != 0:
			status = "expires " + unixTime(k.ExpiresAt)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.ProjectID, mode, k.Hint, unixTime(k.Created), status)
	}
	return tw.Flush()
}

func unixTime(t int64) string { return time.Unix(t, 0).UTC().Format(time.RFC3339) }

// rollKey creates a replacement for a key and makes the old one expire after grace.
func rollKey(ctx context.Context, db *store.DB, svc *payments.Service, id string, grace time.Duration, e *env) error {
	var (
		nk  *payments.NewKey
		old *pay.APIKey
	)
	err := db.Tx(ctx, func(tx *store.Tx) (err error) { nk, old, err = svc.RollAPIKey(ctx, tx, "", id, grace); return err })
	if err != nil {
		return keyNotFound(err, id)
	}
	fmt.Fprintf(e.stdout, "Rolled %s: it stops working at %s. New key %s, shown once: store it now.\n%s\n",
		id, unixTime(old.ExpiresAt), nk.Key.ID, nk.Secret)
	return nil
}

func originsCommand(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: origins needs add, list or remove", errUsage)
	}
	var project string
	db, pos, cfg, err := storeCommand(ctx, "origins "+args[0], args[1:], e, func(fs *flag.FlagSet) {
		fs.StringVar(&project, "project", "", "project ID (default: the only project)")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	if args[0] == "list" {
		return listOrigins(ctx, db, project, e)
	}
	if (args[0] != "add" && args[0] != "remove") || len(pos) != 1 {
		return fmt.Errorf("%w: origins add|remove ORIGIN [--project ID]", errUsage)
	}
	if _, err := middleware.ParseOrigin(pos[0]); err != nil {
		return err
	}
	projectID, err := resolveProject(ctx, db, project, false)
	if err != nil {
		return err
	}
	svc := payments.New(payments.Config{DB: db, Logger: newLogger(e, cfg)})
	var origin string
	err = db.Tx(ctx, func(tx *store.Tx) (err error) {
		if args[0] == "add" {
			origin, err = svc.AddOrigin(ctx, tx, projectID, pos[0])
		} else {
			origin, err = svc.RemoveOrigin(ctx, tx, projectID, pos[0])
		}
		return err
	})
	if pe, ok := pay.AsError(err); ok && pe.Status == http.StatusNotFound {
		origin, _ = middleware.ParseOrigin(pos[0])
		return fmt.Errorf("%s is not on the allowlist of %s", origin, projectID)
	}
	if err != nil {
		return opError(err)
	}
	verb := map[string]string{"add": "Added", "remove": "Removed"}[args[0]]
	fmt.Fprintf(e.stdout, "%s %s (project %s). Changes apply within a second.\n", verb, origin, projectID)
	return nil
}

func listOrigins(ctx context.Context, db *store.DB, project string, e *env) error {
	byProject, err := db.FindOrigins(ctx, project)
	if err != nil {
		return err
	}
	for _, p := range slices.Sorted(maps.Keys(byProject)) {
		for _, o := range byProject[p] {
			fmt.Fprintf(e.stdout, "%s\t%s\n", p, o)
		}
	}
	return nil
}

// currenciesCommand shows or sets the currencies a project may charge in.
func currenciesCommand(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "set") {
		return fmt.Errorf("%w: currencies list|set CODES [--project ID]", errUsage)
	}
	var project string
	db, pos, cfg, err := storeCommand(ctx, "currencies "+args[0], args[1:], e, func(fs *flag.FlagSet) {
		fs.StringVar(&project, "project", "", "project ID (default: the only project)")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	projectID, err := resolveProject(ctx, db, project, false)
	if err != nil {
		return err
	}
	if args[0] == "list" {
		p, err := db.FindProject(ctx, projectID)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, strings.Join(p.Currencies, ","))
		return nil
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: currencies set gbp,eur [--project ID]", errUsage)
	}
	svc := payments.New(payments.Config{DB: db, Logger: newLogger(e, cfg)})
	var codes []string
	err = db.Tx(ctx, func(tx *store.Tx) (err error) {
		codes, err = svc.SetCurrencies(ctx, tx, projectID, strings.Split(pos[0], ","))
		return err
	})
	if err != nil {
		return opError(err)
	}
	fmt.Fprintf(e.stdout, "Project %s may now charge in %s. Changes apply within a second.\n", projectID, strings.Join(codes, ", "))
	return nil
}

// createKey makes a key of a project through the operations, for the
// first serve's banner (a test key: no bypass rule applies).
func createKey(ctx context.Context, db *store.DB, projectID string, live bool) (string, *pay.APIKey, error) {
	svc := payments.New(payments.Config{DB: db})
	var nk *payments.NewKey
	err := db.Tx(ctx, func(tx *store.Tx) (err error) { nk, err = svc.CreateAPIKey(ctx, tx, projectID, live); return err })
	if err != nil {
		return "", nil, err
	}
	return nk.Secret, nk.Key, nil
}
