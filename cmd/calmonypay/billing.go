package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/calmony/calmonypay/internal/billing"
)

// billingCommand runs one pass of the billing scheduler, for a cron job
// beside (or instead of) the scheduler inside serve: renewals, trial ends,
// retries and expiries due now on the wall clock. Several passes, and
// serve instances, may run at once on one database.
func billingCommand(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 || args[0] != "run" {
		return fmt.Errorf("%w: billing needs run", errUsage)
	}
	db, pos, cfg, err := storeCommand(ctx, "billing run", args[1:], e, func(*flag.FlagSet) {})
	if err != nil {
		return err
	}
	defer db.Close()
	if len(pos) != 0 {
		return fmt.Errorf("%w: billing run takes no arguments", errUsage)
	}
	svc, err := offlinePayments(cfg, e, db)
	if err != nil {
		return err
	}
	bill := billing.New(billing.Config{DB: db, Payments: svc, Logger: newLogger(e, cfg)})
	st, err := bill.RunDue(ctx)
	// Charges that answered before the gateway did record their outcome
	// before the process ends; any left are the reconciler's.
	drainCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := svc.Drain(drainCtx); err != nil {
		fmt.Fprintln(e.stderr, "calmonypay: charges still waiting for the gateway are left to the reconciler:", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Billing run: %d due subscriptions and invoices worked on, %d left for a later run.\n", st.Jobs, st.Failed)
	if st.Failed > 0 {
		return fmt.Errorf("%d billing jobs failed (see the log); the next run retries them", st.Failed)
	}
	return nil
}
