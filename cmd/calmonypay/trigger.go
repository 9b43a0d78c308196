package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/calmony/calmonypay/internal/pay"
)

// fixture makes, through the API, the objects whose changes emit one event
// type, and says what it did.
type fixture func(ctx context.Context, c *apiClient, say func(format string, args ...any)) error

// fixtures lists the event types `calmonypay trigger` can produce.
func fixtures() map[pay.EventType]fixture {
	all := map[pay.EventType]fixture{
		pay.EventCustomerCreated: func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
			_, err := triggerCustomer(ctx, c, say)
			return err
		},
		pay.EventCustomerUpdated: func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
			id, err := triggerCustomer(ctx, c, say)
			if err != nil {
				return err
			}
			return triggerUpdate(ctx, c, say, "customer", "/v1/customers/", id)
		},
		pay.EventCustomerDeleted: func(ctx context.Context, c *apiClient, say func(string, ...any)) error {
			id, err := triggerCustomer(ctx, c, say)
			if err != nil {
				return err
			}
			if err := c.do(ctx, http.MethodDelete, "/v1/customers/"+id, nil, nil); err != nil {
				return err
			}
			say("deleted customer %s", id)
			return nil
		},
	}
	maps.Copy(all, paymentFixtures())
	maps.Copy(all, taxRateFixtures())
	maps.Copy(all, catalogFixtures())
	maps.Copy(all, billingFixtures())
	maps.Copy(all, portalFixtures())
	return all
}

// triggerCustomer creates a test customer and returns its ID.
func triggerCustomer(ctx context.Context, c *apiClient, say func(string, ...any)) (string, error) {
	var cus struct {
		ID string `json:"id"`
	}
	params := url.Values{"name": {"Triggered Customer"}, "email": {"triggered@example.com"},
		"description": {"created by calmonypay trigger"}}
	if err := c.do(ctx, http.MethodPost, "/v1/customers", params, &cus); err != nil {
		return "", err
	}
	say("created customer %s", cus.ID)
	return cus.ID, nil
}

// triggerCommand is `calmonypay trigger EVENT`: it creates, in test mode,
// the objects that make the server emit EVENT, which is then delivered to
// the project's webhook endpoints (and to `calmonypay listen`).
func triggerCommand(ctx context.Context, args []string, e *env) error {
	fs := newFlagSet("trigger", e)
	key, base := bindAPIClient(fs, e)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	all := fixtures()
	var names []string
	for t := range all {
		names = append(names, t.String())
	}
	slices.Sort(names)
	if len(pos) != 1 {
		return fmt.Errorf("%w: trigger EVENT, where EVENT is one of %s", errUsage, strings.Join(names, ", "))
	}
	typ, known := pay.ParseEventType(pos[0])
	fx, ok := all[typ]
	switch {
	case !known:
		return fmt.Errorf("%w: %q is not an event type; trigger can produce %s", errUsage, pos[0], strings.Join(names, ", "))
	case !ok:
		return fmt.Errorf("%w: trigger cannot produce %s yet; it can produce %s", errUsage, pos[0], strings.Join(names, ", "))
	}
	c, err := newAPIClient(*key, *base)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Setting up fixtures for %s\n", pos[0])
	say := func(format string, args ...any) { fmt.Fprintf(e.stdout, "  "+format+"\n", args...) }
	if err := fx(ctx, c, say); err != nil {
		return fmt.Errorf("trigger %s: %w", pos[0], err)
	}
	fmt.Fprintf(e.stdout, "Trigger succeeded! The %s event is delivered to your test-mode webhook endpoints.\n", pos[0])
	return nil
}
