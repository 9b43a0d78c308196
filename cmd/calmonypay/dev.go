package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/calmony/calmonypay/internal/config"
	"github.com/calmony/calmonypay/internal/seed"
)

// devCommand runs the development tools: dev seed.
func devCommand(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 || args[0] != "seed" {
		return fmt.Errorf("%w: dev seed [--project ID] [--customers N] [--payments N] [--subscriptions N]", errUsage)
	}
	var (
		project                   string
		customers, payments, subs int
		randSeed                  uint64
	)
	db, pos, cfg, err := storeCommand(ctx, "dev seed", args[1:], e, func(fs *flag.FlagSet) {
		fs.StringVar(&project, "project", "", "project ID (default: the only project, made if there is none)")
		fs.IntVar(&customers, "customers", seed.DefaultCustomers, "customers to add")
		fs.IntVar(&payments, "payments", seed.DefaultPayments, "payment intents to add over two years, the subscriptions' invoice payments among them")
		fs.IntVar(&subs, "subscriptions", seed.DefaultSubscriptions, "subscriptions to add, each with a paid invoice a month")
		fs.Uint64Var(&randSeed, "seed", 0, "random seed, to repeat a run's data (0: a new one)")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	switch {
	case len(pos) > 0:
		return fmt.Errorf("%w: dev seed takes no arguments", errUsage)
	case customers < 1:
		return fmt.Errorf("%w: --customers must be at least 1", errUsage)
	case payments < 0:
		return fmt.Errorf("%w: --payments must not be negative", errUsage)
	case subs < 0 || subs > customers:
		return fmt.Errorf("%w: --subscriptions must be between 0 and --customers (%d)", errUsage, customers)
	}
	// A database that takes live payments is no place for a million made-up
	// test payments: they would slow its lists and fill its backups.
	if cfg.Env == config.Production {
		return errors.New("dev seed refuses --env production: seed a development database")
	}
	live, err := db.HasLiveKeys(ctx)
	if err != nil {
		return err
	}
	if live {
		return errors.New("dev seed refuses a database with live API keys: seed a development database (or a copy)")
	}
	projectID, err := resolveProject(ctx, db, project, true)
	if err != nil {
		return err
	}
	start := time.Now()
	n, err := seed.Run(ctx, db, seed.Options{Project: projectID, Customers: customers, Payments: payments, Subscriptions: subs,
		Seed: randSeed, Progress: e.stderr})
	if err != nil {
		return err
	}
	took := time.Since(start)
	fmt.Fprintf(e.stdout, "Seeded project %s (test mode) in %.1f s (%s, %.0f rows/s):\n", projectID, took.Seconds(), db.Dialect(),
		float64(n.Total())/took.Seconds())
	fmt.Fprintf(e.stdout, "  %d customers, %d payment methods, %d payment intents, %d charges, %d refunds,\n",
		n.Customers, n.PaymentMethods, n.PaymentIntents, n.Charges, n.Refunds)
	fmt.Fprintf(e.stdout, "  %d products, %d prices, %d subscriptions, %d invoices, %d events (the last 30 days'; no webhooks sent)\n",
		n.Products, n.Prices, n.Subscriptions, n.Invoices, n.Events)
	return nil
}
