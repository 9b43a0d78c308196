package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/calmony/calmonypay/internal/middleware"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// defaultRollGrace is how long a rolled key keeps working beside its
// replacement, long enough to deploy the new key everywhere.
const defaultRollGrace = 24 * time.Hour

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
		fs.DurationVar(&grace, "expires-in", defaultRollGrace, "roll: how long the old key keeps working")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	switch args[0] {
	case "create":
		if mode != "test" && mode != "live" {
			return fmt.Errorf("%w: --mode must be test or live", errUsage)
		}
		if mode == "live" && cfg.SkipCallbackSignature {
			return errors.New("a live key is refused while the checkout callback signature bypass is configured (CALMONY_ENV=test or REQUIRE_SIGNATURE=false): unset it first")
		}
		projectID, err := resolveProject(ctx, db, project, true)
		if err != nil {
			return err
		}
		key, rec, err := createKey(ctx, db, projectID, mode == "live")
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Created %s key %s for project %s. It is shown once: store it now.\n%s\n", mode, rec.ID, projectID, key)
		return nil
	case "list":
		return listKeys(ctx, db, project, e)
	case "revoke":
		if len(pos) != 1 {
			return fmt.Errorf("%w: keys revoke KEY_ID", errUsage)
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.RevokeAPIKey(ctx, pos[0]) }); err != nil {
			return keyNotFound(err, pos[0])
		}
		fmt.Fprintf(e.stdout, "Revoked %s.\n", pos[0])
		return nil
	case "roll":
		if len(pos) != 1 || grace < 0 {
			return fmt.Errorf("%w: keys roll KEY_ID [--expires-in DURATION]", errUsage)
		}
		return rollKey(ctx, db, pos[0], grace, e)
	}
	return fmt.Errorf("%w: unknown keys command %q", errUsage, args[0])
}

func keyNotFound(err error, id string) error {
	if errors.Is(err, pay.ErrNotFound) {
		return fmt.Errorf("no active key %s", id)
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

func createKey(ctx context.Context, db *store.DB, projectID string, live bool) (string, *pay.APIKey, error) {
	key, rec := pay.NewSecretKey(live)
	rec.ProjectID = projectID
	return key, &rec, db.Tx(ctx, func(tx *store.Tx) error { return tx.CreateAPIKey(ctx, &rec) })
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
func rollKey(ctx context.Context, db *store.DB, id string, grace time.Duration, e *env) error {
	key, rec := "", pay.APIKey{}
	err := db.Tx(ctx, func(tx *store.Tx) error {
		old, err := tx.FindAPIKey(ctx, id)
		if err != nil || !old.Active(tx.Now.Unix()) {
			return pay.ErrNotFound
		}
		key, rec = pay.NewSecretKey(old.Livemode)
		rec.ProjectID = old.ProjectID
		if err := tx.CreateAPIKey(ctx, &rec); err != nil {
			return err
		}
		return tx.ExpireAPIKey(ctx, id, tx.Now.Add(grace).Unix())
	})
	if err != nil {
		return keyNotFound(err, id)
	}
	fmt.Fprintf(e.stdout, "Rolled %s: it stops working at %s. New key %s, shown once: store it now.\n%s\n",
		id, unixTime(db.Now().Add(grace).Unix()), rec.ID, key)
	return nil
}

func originsCommand(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: origins needs add, list or remove", errUsage)
	}
	var project string
	db, pos, _, err := storeCommand(ctx, "origins "+args[0], args[1:], e, func(fs *flag.FlagSet) {
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
	origin, err := middleware.ParseOrigin(pos[0])
	if err != nil {
		return err
	}
	projectID, err := resolveProject(ctx, db, project, false)
	if err != nil {
		return err
	}
	err = db.Tx(ctx, func(tx *store.Tx) error {
		if args[0] == "add" {
			return tx.AddOrigin(ctx, projectID, origin)
		}
		return tx.RemoveOrigin(ctx, projectID, origin)
	})
	if errors.Is(err, pay.ErrNotFound) {
		return fmt.Errorf("%s is not on the allowlist of %s", origin, projectID)
	}
	if err != nil {
		return err
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
	db, pos, _, err := storeCommand(ctx, "currencies "+args[0], args[1:], e, func(fs *flag.FlagSet) {
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
	var codes []string
	for _, c := range strings.Split(strings.ToLower(pos[0]), ",") {
		c = strings.TrimSpace(c)
		if payments.CurrencyNumeric(c) == "" {
			return fmt.Errorf("currency %q is not supported (supported: %s)", c, strings.Join(payments.Currencies(), ", "))
		}
		if !slices.Contains(codes, c) {
			codes = append(codes, c)
		}
	}
	if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.SetProjectCurrencies(ctx, projectID, codes) }); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Project %s may now charge in %s. Changes apply within a second.\n", projectID, strings.Join(codes, ", "))
	return nil
}
