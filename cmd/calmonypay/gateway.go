package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/calmony/calmonypay/internal/api"
	"github.com/calmony/calmonypay/internal/config"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// gatewayCommand lists gateway operations and lets an operator settle the
// ones whose outcome could not be known safely (see README, "Gateway safety").
func gatewayCommand(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 || (args[0] != "ops" && args[0] != "resolve") {
		return fmt.Errorf("%w: gateway needs ops or resolve", errUsage)
	}
	var (
		state, xref string
		notCharged  bool
	)
	db, pos, cfg, err := storeCommand(ctx, "gateway "+args[0], args[1:], e, func(fs *flag.FlagSet) {
		fs.StringVar(&state, "state", "attention", "ops: pending, done, attention or all")
		fs.StringVar(&xref, "xref", "", "resolve: the xref of the gateway transaction found for the op")
		fs.BoolVar(&notCharged, "not-charged", false, "resolve: the gateway moved no money for the op (no sale, no refund)")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	if args[0] == "ops" {
		if state == "all" {
			state = ""
		}
		ops, err := db.FindGatewayOps(ctx, state, 200)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "OP\tKIND\tOBJECT\tTRANSACTION_UNIQUE\tSTATE\tCREATED\tNOTE")
		for _, op := range ops {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", op.ID, op.Kind, op.ObjectID, op.TransactionUnique, op.State, unixTime(op.Created), op.Note)
		}
		return tw.Flush()
	}
	if len(pos) != 1 || xref != "" && notCharged {
		return fmt.Errorf("%w: gateway resolve OP_ID [--xref XREF | --not-charged]", errUsage)
	}
	svc, err := offlinePayments(cfg, e, db)
	if err != nil {
		return err
	}
	if err := svc.ResolveGatewayOp(ctx, pos[0], xref, notCharged); err != nil {
		if errors.Is(err, pay.ErrNotFound) {
			return fmt.Errorf("no gateway op %s", pos[0])
		}
		return err
	}
	fmt.Fprintf(e.stdout, "Resolved %s.\n", pos[0])
	return nil
}

// offlinePayments builds the payments service without a server, for
// commands that run payment operations. The answers it keeps under
// idempotency keys are rendered as the API renders them.
func offlinePayments(cfg *config.Config, e *env, db *store.DB) (*payments.Service, error) {
	log := newLogger(e, cfg)
	publicURL := cmp.Or(e.getenv("CALMONY_PUBLIC_URL"), "http://"+cmp.Or(e.getenv("CALMONY_ADDR"), "127.0.0.1:8080"))
	// No browser reaches this process: test keys reach the in-process
	// sandbox in memory, and it serves no pages.
	gws, _, err := configureGateways(e.getenv, gatewayOptions{publicURL: publicURL, requireLive: cfg.Env == config.Production, log: log})
	if err != nil {
		return nil, err
	}
	return payments.New(payments.Config{DB: db, Keys: db.Keys(), Gateways: gws, Logger: log, PublicURL: publicURL,
		Render: api.Renderer(publicURL)}), nil
}
