package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/config"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/safeurl"
)

// portalCommand serves support staff: "portal link" makes a customer
// portal session for a customer and prints its URL (alone, on the last
// line), as POST /v1/billing_portal/sessions does; "portal revoke" ends
// every working portal session of a customer at once.
func portalCommand(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 || args[0] != "link" && args[0] != "revoke" {
		return fmt.Errorf("%w: portal needs link or revoke", errUsage)
	}
	var customer, returnURL, configuration string
	allowLocalhost := e.getenv("CALMONY_ALLOW_LOCALHOST_URLS") == "true"
	db, pos, cfg, err := storeCommand(ctx, "portal "+args[0], args[1:], e, func(fs *flag.FlagSet) {
		fs.StringVar(&customer, "customer", "", "the customer (cus_…), required")
		if args[0] == "link" {
			fs.StringVar(&returnURL, "return-url", "", "link: where the portal's return link goes (https, public host)")
			fs.StringVar(&configuration, "configuration", "", "link: the configuration (bpc_…) instead of the default")
		}
	})
	if err != nil {
		return err
	}
	defer db.Close()
	if len(pos) != 0 || customer == "" {
		return fmt.Errorf("%w: portal %s --customer cus_…", errUsage, args[0])
	}
	if returnURL != "" {
		if _, err := safeurl.Check(returnURL, safeurl.Options{AllowLocalhost: allowLocalhost && cfg.Env != config.Production}); err != nil {
			return fmt.Errorf("--return-url must be an absolute https URL to a public host: %v", err)
		}
	}
	scope, err := db.CustomerScope(ctx, customer)
	if errors.Is(err, pay.ErrNotFound) {
		return fmt.Errorf("no such customer: %s", customer)
	}
	if err != nil {
		return err
	}
	svc, err := offlinePayments(cfg, e, db)
	if err != nil {
		return err
	}
	bill := billing.New(billing.Config{DB: db, Payments: svc, Logger: newLogger(e, cfg)})
	if args[0] == "revoke" {
		n, err := bill.RevokePortalSessions(ctx, scope, customer)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Revoked %d portal session(s) of %s.\n", n, customer)
		return nil
	}
	// The return URL was checked above, with --allow-localhost-urls'
	// development exception.
	a, err := bill.CreatePortalSession(ctx, payments.Plain(scope), billing.PortalSessionParams{Customer: customer, ReturnURL: returnURL,
		Configuration: configuration})
	if err != nil {
		return err
	}
	ps := a.Object.(*pay.PortalSession)
	fmt.Fprintf(e.stdout, "Portal session %s for %s, valid until %s UTC (revoke with: calmonypay portal revoke --customer %s):\n%s\n",
		ps.ID, customer, unixUTC(ps.ExpiresAt), customer, bill.PortalSessionURL(a))
	return nil
}

func unixUTC(t int64) string { return time.Unix(t, 0).UTC().Format("2006-01-02 15:04") }
