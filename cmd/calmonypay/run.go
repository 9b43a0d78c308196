package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/calmony/calmonypay/internal/config"
	"github.com/calmony/calmonypay/internal/secret"
	"github.com/calmony/calmonypay/internal/store"
)

const usage = `usage: calmonypay <command> [flags]

commands:
  serve                               run the API, hosted pages and the in-process Cardstream sandbox
  migrate                             apply database migrations and exit
  projects create [--name NAME]       a project per shop; prints its ID alone on the last line
  projects list
  projects rename PROJECT_ID NAME
  projects business PROJECT_ID [--name NAME] [--address "1 High Street, London, E1 6AN"] [--country GB]
                    [--vat-number GB123456789] [--email EMAIL] [--phone PHONE] [--clear]
                                      the business details invoices print; with no flags, shows them
  reencrypt                           seal all stored data again under the current keys (ends a key rotation)
  keys create --mode test|live [--project ID]
  keys list [--project ID]
  keys revoke KEY_ID
  keys roll KEY_ID [--expires-in 24h]
  origins add|remove ORIGIN [--project ID]
  origins list [--project ID]
  dashboard link [--email EMAIL] [--project ID] [--role admin|developer|viewer]
                                      a one-time dashboard sign-in link, valid 15 minutes, alone on the last line
  currencies list|set CODES [--project ID]   currencies a project may charge in (default gbp)
  billing run                         one pass of the billing scheduler (renewals, trial ends, retries), for cron
  portal link --customer cus_… [--return-url URL]
                                      print a customer portal URL for the customer (valid 24 hours)
  portal revoke --customer cus_…      end every working customer portal session of the customer
  gateway ops [--state attention|pending|done|all]
  gateway resolve OP_ID [--xref XREF | --not-charged]
  sandbox [--addr ADDR] [--merchant ID:SECRET]...
  listen --forward-to URL [--events TYPES] [--api-key KEY] [--api-url URL]   forward test-mode webhooks to a local app
  trigger EVENT [--api-key KEY] [--api-url URL]   create test objects that emit EVENT (customer.created, …)
  dev seed [--project ID] [--customers 200000] [--payments 1000000] [--subscriptions 20000]
                                      fill a project's test mode with realistic data (refused with live keys)

Every flag also reads a CALMONY_* environment variable; run a command with -h for its flags.
`

// errUsage marks errors whose fix is reading the usage text.
var errUsage = errors.New("usage")

// run runs one command and returns the process exit code.
func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], e)
	case "migrate":
		err = migrate(ctx, args[1:], e)
	case "keys":
		err = keysCommand(ctx, args[1:], e)
	case "reencrypt":
		err = reencrypt(ctx, args[1:], e)
	case "projects":
		err = projectsCommand(ctx, args[1:], e)
	case "origins":
		err = originsCommand(ctx, args[1:], e)
	case "sandbox":
		err = sandboxCommand(ctx, args[1:], e)
	case "gateway":
		err = gatewayCommand(ctx, args[1:], e)
	case "billing":
		err = billingCommand(ctx, args[1:], e)
	case "portal":
		err = portalCommand(ctx, args[1:], e)
	case "currencies":
		err = currenciesCommand(ctx, args[1:], e)
	case "listen":
		err = listenCommand(ctx, args[1:], e)
	case "trigger":
		err = triggerCommand(ctx, args[1:], e)
	case "dashboard":
		err = dashboardCommand(ctx, args[1:], e)
	case "dev":
		err = devCommand(ctx, args[1:], e)
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
		return 0
	default:
		err = fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(e.stderr, "calmonypay: %v\n\n%s", err, usage)
		return 2
	default:
		fmt.Fprintf(e.stderr, "calmonypay: %v\n", err)
		return 1
	}
}

// parseFlags parses flags that may come before or after positional
// arguments ("origins add https://x --project p") and returns the positionals.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func newFlagSet(name string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet("calmonypay "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

func newLogger(e *env, cfg *config.Config) *slog.Logger { return newLoggerTo(e.stderr, cfg) }

func newLoggerTo(w io.Writer, cfg *config.Config) *slog.Logger {
	if cfg.LogFormat == config.LogJSON {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// openStore makes the data folder private, loads the encryption key
// (unless loaded already), opens the database and applies migrations.
// Webhook signing secrets are sealed with cfg.WebhookEncryptionKey when it
// was loaded (serve). Only with create
// (serve and migrate) may it make a new database and a development key;
// other commands refuse, saying where they looked, so that one run from
// another folder does not work on an empty database of its own.
func openStore(ctx context.Context, cfg *config.Config, e *env, log *slog.Logger, create bool) (*store.DB, *secret.Keyring, error) {
	cfg.SecureDataDir(log)
	if !create && !store.IsPostgresDSN(cfg.Database) {
		if _, err := os.Stat(cfg.Database); err != nil {
			return nil, nil, noDatabase(cfg.Database)
		}
	}
	if cfg.EncryptionKey == nil {
		if err := cfg.LoadEncryptionKey(e.getenv, log, create); err != nil {
			return nil, nil, err
		}
	}
	keys, err := keyring(cfg.EncryptionKey, cfg.OldEncryptionKeys)
	if err != nil {
		return nil, nil, err
	}
	opts := store.Options{DSN: cfg.Database, Keys: keys, Logger: log, MaxConns: cfg.DBMaxConns, ListenDSN: cfg.DatabaseListenURL}
	if cfg.WebhookEncryptionKey != nil {
		if opts.WebhookKeys, err = keyring(cfg.WebhookEncryptionKey, cfg.OldWebhookKeys); err != nil {
			return nil, nil, err
		}
	}
	db, err := store.Open(ctx, opts)
	if err != nil {
		return nil, nil, err
	}
	if !create {
		if applied, _, err := db.SchemaVersion(ctx); err != nil || applied == 0 {
			db.Close()
			return nil, nil, cmp.Or(err, noDatabase("the PostgreSQL database given"))
		}
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		if errors.Is(err, store.ErrWrongKey) {
			err = fmt.Errorf("%w\nGive the keys this database was written with (CALMONY_ENCRYPTION_KEY, CALMONY_WEBHOOK_ENCRYPTION_KEY). "+
				"To rotate a key, give the new one and the old one in CALMONY_ENCRYPTION_KEY_OLD (or CALMONY_WEBHOOK_ENCRYPTION_KEY_OLD), "+
				"then run `calmonypay reencrypt`", err)
		}
		return nil, nil, err
	}
	return db, keys, nil
}

// keyring is the keyring of a current master key and older ones.
func keyring(current secret.Value, old []secret.Value) (*secret.Keyring, error) {
	olds := make([][]byte, len(old))
	for i, k := range old {
		olds[i] = k
	}
	return secret.New(current, olds...)
}

// noDatabase is the refusal of a command that will not create a database.
func noDatabase(where string) error {
	if abs, err := filepath.Abs(where); err == nil && !store.IsPostgresDSN(where) {
		where = abs
	}
	return fmt.Errorf("no Calmony Pay database at %s: run this in the folder `calmonypay serve` uses, or pass --data-dir or --database "+
		"(CALMONY_DATA_DIR, CALMONY_DATABASE); `calmonypay migrate` or `serve` creates a new one", where)
}

// storeCommand parses flags for a command that needs the database and opens it.
func storeCommand(ctx context.Context, name string, args []string, e *env, bind func(*flag.FlagSet)) (*store.DB, []string, *config.Config, error) {
	return openCommand(ctx, name, args, e, bind, false)
}

// openCommand is storeCommand; create lets it make a new database (migrate).
func openCommand(ctx context.Context, name string, args []string, e *env, bind func(*flag.FlagSet), create bool) (*store.DB, []string, *config.Config, error) {
	cfg := &config.Config{}
	fs := newFlagSet(name, e)
	cfg.BindStore(fs, e.getenv)
	if bind != nil {
		bind(fs)
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := cfg.Finish(); err != nil {
		return nil, nil, nil, err
	}
	db, _, err := openStore(ctx, cfg, e, newLogger(e, cfg), create)
	if err != nil {
		return nil, nil, nil, err
	}
	return db, pos, cfg, nil
}

// reencrypt seals every stored value again under the current keys, the
// end of a key rotation (see README, Configuration).
func reencrypt(ctx context.Context, args []string, e *env) error {
	cfg := &config.Config{}
	fs := newFlagSet("reencrypt", e)
	cfg.BindStore(fs, e.getenv)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := cfg.Finish(); err != nil {
		return err
	}
	log := newLogger(e, cfg)
	if err := cfg.LoadWebhookKey(e.getenv, log, false); err != nil {
		return err
	}
	db, _, err := openStore(ctx, cfg, e, log, false)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.Reencrypt(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Sealed %d values again under the current keys. The old keys are no longer needed: remove CALMONY_ENCRYPTION_KEY_OLD and CALMONY_WEBHOOK_ENCRYPTION_KEY_OLD.\n", n)
	return nil
}

func migrate(ctx context.Context, args []string, e *env) error {
	db, _, _, err := openCommand(ctx, "migrate", args, e, nil, true)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, _, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "database schema is at version %d (%s)\n", applied, db.Dialect())
	return nil
}
