package payments

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/calmony/calmonypay/internal/middleware"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// A project's API keys, webhook retries and settings: the writes the CLI
// (keys, origins, currencies, projects business and dunning) and the
// dashboard both make, with one set of rules. Each runs in the caller's
// transaction, so that the dashboard writes its audit line in the same one.
// Their errors are *pay.Error naming the parameter at fault.

// How long a rolled key keeps working beside its replacement: by default,
// and at most.
const (
	DefaultRollGrace = 24 * time.Hour
	MaxRollGrace     = 7 * 24 * time.Hour
)

// NewKey is a secret key just made: its record, and the secret itself,
// which is shown once and never stored.
type NewKey struct {
	Secret string
	Key    *pay.APIKey
}

// errLiveKeyBypass refuses a live key while hosted payments' callbacks
// may go unverified: a live key would take real payments on trust.
func errLiveKeyBypass() *pay.Error {
	return pay.InvalidParam("livemode", "A live key is refused while the checkout callback signature bypass is configured "+
		"(CALMONY_ENV=test or REQUIRE_SIGNATURE=false): unset it first.")
}

// CreateAPIKey makes a secret key of a project, live or test, in tx. A live
// key is refused while the callback signature bypass is configured
// (Config.SkipCallbackSignature).
func (s *Service) CreateAPIKey(ctx context.Context, tx *store.Tx, projectID string, live bool) (*NewKey, error) {
	if live && s.skipCallbackSignature {
		return nil, errLiveKeyBypass()
	}
	secret, rec := pay.NewSecretKey(live)
	rec.ProjectID = projectID
	if err := tx.CreateAPIKey(ctx, &rec); err != nil {
		return nil, err
	}
	return &NewKey{Secret: secret, Key: &rec}, nil
}

// RollAPIKey replaces an active key of a project (of any project when
// projectID is empty) with a new one of the same mode, in tx, and makes the
// old key stop working after grace (0: at once; at most MaxRollGrace), or
// when it was already due to stop if that is sooner. It returns the new key
// and the old key as it now is.
func (s *Service) RollAPIKey(ctx context.Context, tx *store.Tx, projectID, id string, grace time.Duration) (*NewKey, *pay.APIKey, error) {
	if grace < 0 || grace > MaxRollGrace {
		return nil, nil, pay.InvalidParam("expires_in", "The old key may keep working for 0 to %d hours.", int(MaxRollGrace/time.Hour))
	}
	old, err := s.findKey(ctx, tx, projectID, id)
	if err != nil {
		return nil, nil, err
	}
	if !old.Active(tx.Now.Unix()) {
		return nil, nil, pay.NoSuch("active API key", id, "id")
	}
	nk, err := s.CreateAPIKey(ctx, tx, old.ProjectID, old.Livemode)
	if err != nil {
		return nil, nil, err
	}
	until := tx.Now.Add(grace).Unix()
	if old.ExpiresAt != 0 && old.ExpiresAt < until {
		until = old.ExpiresAt
	}
	if err := tx.ExpireAPIKey(ctx, id, until); err != nil {
		return nil, nil, err
	}
	old.ExpiresAt = until
	return nk, old, nil
}

// RevokeAPIKey makes a key of a project (of any project when projectID is
// empty) stop working now, in tx, and returns it.
func (s *Service) RevokeAPIKey(ctx context.Context, tx *store.Tx, projectID, id string) (*pay.APIKey, error) {
	k, err := s.findKey(ctx, tx, projectID, id)
	if err != nil {
		return nil, err
	}
	if k.RevokedAt != 0 {
		return nil, pay.NoSuch("active API key", id, "id")
	}
	if err := tx.RevokeAPIKey(ctx, id); err != nil {
		return nil, pay.NotFoundAs(err, "active API key", id, "id")
	}
	k.RevokedAt = tx.Now.Unix()
	return k, nil
}

// findKey returns a key of the project (any project's when projectID is
// empty); another project's key is not found.
func (s *Service) findKey(ctx context.Context, tx *store.Tx, projectID, id string) (*pay.APIKey, error) {
	k, err := tx.FindAPIKey(ctx, id)
	if err != nil {
		return nil, pay.NotFoundAs(err, "API key", id, "id")
	}
	if projectID != "" && k.ProjectID != projectID {
		return nil, pay.NoSuch("API key", id, "id")
	}
	return k, nil
}

// RetryEvent queues an event for delivery again, now, in tx: to one
// endpoint (endpointID), or to every enabled endpoint of the scope that
// subscribes to its type. It returns the event.
func (s *Service) RetryEvent(ctx context.Context, tx *store.Tx, scope pay.Scope, eventID, endpointID string) (*pay.Event, error) {
	if endpointID != "" {
		if _, err := tx.FindWebhookEndpoint(ctx, scope, endpointID); err != nil {
			return nil, pay.NotFoundAs(err, "webhook_endpoint", endpointID, "webhook_endpoint")
		}
	}
	e, n, err := tx.RetryEvent(ctx, scope, eventID, endpointID)
	switch {
	case errors.Is(err, store.ErrEndpointDisabled):
		return nil, pay.InvalidParam("webhook_endpoint", "Webhook endpoint %s is disabled: enable it first.", endpointID)
	case err != nil:
		return nil, pay.NotFoundAs(err, "event", eventID, "id")
	case n == 0:
		return nil, pay.InvalidRequest("", "", "No enabled webhook endpoint subscribes to %s events.", e.Type)
	}
	return e, nil
}

// NormalizeBusiness tidies business details as people type them (spaces
// trimmed, the VAT number and country code upper-cased, GB for an address
// with no country) and checks them (pay.Business.Validate). The zero
// Business is valid: it removes the details.
func NormalizeBusiness(b pay.Business) (pay.Business, error) {
	trim := strings.TrimSpace
	b.Name, b.Email, b.Phone = trim(b.Name), trim(b.Email), trim(b.Phone)
	b.VATNumber = pay.NormalizeVATNumber(b.VATNumber)
	a := &b.Address
	a.Line1, a.Line2, a.City, a.State = trim(a.Line1), trim(a.Line2), trim(a.City), trim(a.State)
	a.PostalCode, a.Country = strings.ToUpper(trim(a.PostalCode)), strings.ToUpper(trim(a.Country))
	if *a != (pay.Address{}) && a.Country == "" {
		a.Country = "GB"
	}
	if b.IsZero() {
		return b, nil
	}
	return b, b.Validate()
}

// SetBusiness replaces the business details a project's invoices print, in
// tx, and returns them as kept (NormalizeBusiness).
func (s *Service) SetBusiness(ctx context.Context, tx *store.Tx, projectID string, b pay.Business) (pay.Business, error) {
	b, err := NormalizeBusiness(b)
	if err != nil {
		return b, err
	}
	return b, pay.NotFoundAs(tx.SetProjectBusiness(ctx, projectID, b), "project", projectID, "project")
}

// SetDunning replaces a project's dunning schedule, in tx, once checked.
func (s *Service) SetDunning(ctx context.Context, tx *store.Tx, projectID string, d pay.Dunning) error {
	if err := d.Check(); err != nil {
		return err
	}
	return pay.NotFoundAs(tx.SetProjectDunning(ctx, projectID, d), "project", projectID, "project")
}

// SetCurrencies replaces the currencies a project may charge in, in tx:
// at least one, each supported by this server (lower-cased, duplicates
// dropped). It returns the list as kept. The operations' cache of it
// reloads as soon as tx commits, on every instance (store.Change), and
// within a second at worst.
func (s *Service) SetCurrencies(ctx context.Context, tx *store.Tx, projectID string, codes []string) ([]string, error) {
	var out []string
	for _, c := range codes {
		c = strings.ToLower(strings.TrimSpace(c))
		if CurrencyNumeric(c) == "" {
			return nil, pay.InvalidParam("currencies", "Currency %q is not supported (supported: %s).", pay.Clip(c, 20), strings.Join(Currencies(), ", "))
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, pay.InvalidParam("currencies", "A project charges in at least one currency.")
	}
	return out, pay.NotFoundAs(tx.SetProjectCurrencies(ctx, projectID, out), "project", projectID, "project")
}

// AddOrigin puts a browser origin on a project's CORS allowlist, in tx, in
// its normal form (middleware.ParseOrigin), which it returns. The API's
// allowlist cache reloads as soon as tx commits, on every instance
// (store.Change), and within a second at worst.
func (s *Service) AddOrigin(ctx context.Context, tx *store.Tx, projectID, origin string) (string, error) {
	o, err := middleware.ParseOrigin(origin)
	if err != nil {
		return "", pay.InvalidParam("origin", "%s", err.Error())
	}
	return o, tx.AddOrigin(ctx, projectID, o)
}

// RemoveOrigin takes an origin off a project's CORS allowlist, in tx, and
// returns it in its normal form; one not on the list is not found.
func (s *Service) RemoveOrigin(ctx context.Context, tx *store.Tx, projectID, origin string) (string, error) {
	o, err := middleware.ParseOrigin(origin)
	if err != nil {
		return "", pay.InvalidParam("origin", "%s", err.Error())
	}
	if err := tx.RemoveOrigin(ctx, projectID, o); err != nil {
		return "", pay.NotFoundAs(err, "origin on the allowlist", o, "origin")
	}
	return o, nil
}

// maxSignInDomains bounds a project's sign-in domains.
const maxSignInDomains = 20

// SetSignInDomains replaces the e-mail domains whose verified addresses may
// sign in to a project without an invitation, in tx: lower-cased host
// names (no '@'), duplicates dropped; none turns it off. It returns the list
// as kept.
func (s *Service) SetSignInDomains(ctx context.Context, tx *store.Tx, projectID string, domains []string) ([]string, error) {
	out := []string{}
	for _, d := range domains {
		d = strings.ToLower(strings.TrimSpace(d))
		if !validDomain(d) {
			return nil, pay.InvalidParam("signin_domains", "%q is not a domain name: write it as example.com, with no '@'.", pay.Clip(d, 100))
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	if len(out) > maxSignInDomains {
		return nil, pay.InvalidParam("signin_domains", "A project has at most %d sign-in domains.", maxSignInDomains)
	}
	return out, pay.NotFoundAs(tx.SetProjectSignInDomains(ctx, projectID, out), "project", projectID, "project")
}

// validDomain reports whether d is a lower-case DNS name of two labels or
// more: letters, digits and hyphens, no label starting or ending with a
// hyphen.
func validDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(d) > 253 || len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' ||
			strings.ContainsFunc(l, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') }) {
			return false
		}
	}
	return true
}
