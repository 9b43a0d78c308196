// Package config reads Calmony Pay's settings from command-line flags, each
// of which has a CALMONY_* environment variable as its default, and checks
// that they make sense together. There is no global configuration: the
// result is passed down explicitly.
package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/calmony/calmonypay/internal/fileperm"
	"github.com/calmony/calmonypay/internal/secret"
)

// Environments.
const (
	Development = "development"
	Test        = "test"
	Production  = "production"
)

// Config holds every setting of the calmonypay commands.
type Config struct {
	Addr      string // serve: listen address
	PublicURL string // serve: the base URL clients and browsers use; default http(s)://Addr
	Database  string // SQLite file path or postgres:// URL
	DataDir   string // folder of the embedded SQLite database and generated keys
	Env       string // development, test or production
	TLSCert   string
	TLSKey    string
	RateLimit int    // requests per second per key; 0 disables
	AppOrigin string // dashboard origin allowed on /api/trpc
	// ClientRateLimit is requests per second per client address on the
	// routes that know no key (checkout pages, the gateway's callback, the
	// sandbox); 0 disables.
	ClientRateLimit int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (a comma-separated list of addresses and CIDR prefixes).
	TrustedProxies string
	// SandboxAddr is where serve's in-process sandbox listens for browsers,
	// and SandboxURL where browsers reach it; both default from Addr.
	SandboxAddr string
	SandboxURL  string
	// SandboxMaxTransactions caps the transactions serve's in-process
	// sandbox keeps (sandbox.Options.MaxTransactions); 0 is its default.
	SandboxMaxTransactions int
	// AllowLocalhostURLs lets checkout success/cancel URLs be http://localhost
	// (development only; refused in production).
	AllowLocalhostURLs bool
	// AllowPrivateWebhookURLs lets test-mode webhook endpoints point at
	// loopback and private-network hosts (development only; refused in
	// production). Without it, webhooks go only to public https URLs.
	AllowPrivateWebhookURLs bool
	// SkipCallbackSignature is the explicit test-mode bypass of hosted payment
	// callback signatures: CALMONY_ENV=test or REQUIRE_SIGNATURE=false.
	SkipCallbackSignature bool

	// EncryptionKey is the master key for personal data. It is never logged.
	EncryptionKey secret.Value
	// OldEncryptionKeys are earlier master keys that still open data during
	// a rotation (CALMONY_ENCRYPTION_KEY_OLD); nothing is sealed with them.
	OldEncryptionKeys []secret.Value
	// GeneratedKey is the file a development key was generated into, if any.
	GeneratedKey string

	// PlainHTTP is production's explicit choice to serve HTTP without TLS,
	// behind a proxy that terminates TLS.
	PlainHTTP bool
	// serving is set for serve, whose listener the TLS rules concern.
	serving bool
	// oidcSecretErr is CALMONY_OIDC_CLIENT_SECRET_FILE's read error.
	oidcSecretErr error

	// ReconcileInterval is how often serve looks for gateway ops whose
	// owner's lease has lapsed.
	ReconcileInterval time.Duration

	// Webhooks (serve).
	WebhookTimeout     time.Duration // one delivery attempt
	WebhookConcurrency int           // deliveries in flight per instance
	EventRetentionDays int           // events older than this are pruned; 0 keeps them
	// WebhookEncryptionKey seals webhook signing secrets. It is never logged.
	WebhookEncryptionKey secret.Value
	// OldWebhookKeys: as OldEncryptionKeys, for webhook signing secrets.
	OldWebhookKeys []secret.Value
	// GeneratedWebhookKey is the file a development webhook key was
	// generated into, if any.
	GeneratedWebhookKey string

	// Dashboard sign-in through OpenID Connect (serve): all three of
	// OIDCIssuer, OIDCClientID and OIDCClientSecret, or none (sign-in
	// links and invites only). OIDCName labels the sign-in button.
	OIDCIssuer, OIDCClientID, OIDCName string
	// OIDCClientSecret is never logged.
	OIDCClientSecret secret.Value

	// MetricsAddr is where serve serves Prometheus metrics, a listener of
	// its own without authentication; "" (the default) serves none.
	MetricsAddr string
	// DBMaxConns bounds the database connection pool (store.Options.MaxConns):
	// PostgreSQL's pool, SQLite's readers. 0 is the store's default, 16.
	DBMaxConns int
	// DatabaseListenURL is serve's: the postgres:// URL the listener for
	// other instances' changes connects to (store.Options.ListenDSN), when
	// Database goes through a pooler in transaction mode, where LISTEN
	// does not work. Empty: Database.
	DatabaseListenURL string
	// LogFormat is text or json; "" is json in production, text elsewhere.
	LogFormat string
}

// Log formats.
const (
	LogText = "text"
	LogJSON = "json"
)

// DefaultClientRateLimit is --client-rate-limit's default: far above what
// a shopper's browser (a page view, a form post or two a payment) or the
// gateway's callbacks of a busy shop need, far below a flood.
const DefaultClientRateLimit = 10

// Getenv reads an environment variable.
type Getenv func(string) string

// BindStore defines the flags every command that opens the database needs.
func (c *Config) BindStore(fs *flag.FlagSet, getenv Getenv) {
	fs.StringVar(&c.DataDir, "data-dir", EnvOr(getenv, "CALMONY_DATA_DIR", "calmony-data"), "folder for the embedded SQLite database and generated keys (CALMONY_DATA_DIR)")
	fs.StringVar(&c.Database, "database", getenv("CALMONY_DATABASE"), "SQLite file path or postgres:// URL; default: calmony.db in the data folder (CALMONY_DATABASE)")
	fs.StringVar(&c.Env, "env", EnvOr(getenv, "CALMONY_ENV", Development), "development, test or production (CALMONY_ENV)")
	fs.StringVar(&c.LogFormat, "log-format", getenv("CALMONY_LOG_FORMAT"), "text or json (log/slog's handlers); default json with --env production, text otherwise (CALMONY_LOG_FORMAT)")
	// Every command knows whether the callback bypass is configured: keys
	// create refuses a live key while it is.
	c.SkipCallbackSignature = strings.EqualFold(getenv("REQUIRE_SIGNATURE"), "false")
}

// BindServe defines serve's own flags.
func (c *Config) BindServe(fs *flag.FlagSet, getenv Getenv) {
	c.BindStore(fs, getenv)
	fs.BoolVar(&c.PlainHTTP, "plain-http", getenv("CALMONY_PLAIN_HTTP") == "true",
		"production: serve plain HTTP behind a TLS-terminating proxy; --public-url must then be https (CALMONY_PLAIN_HTTP)")
	c.serving = true
	fs.IntVar(&c.RateLimit, "rate-limit", envInt(getenv, "CALMONY_RATE_LIMIT", 100), "requests per second per API key; 0 turns rate limiting off (CALMONY_RATE_LIMIT)")
	fs.StringVar(&c.AppOrigin, "app-origin", getenv("CALMONY_APP_ORIGIN"), "the dashboard's own origin, the only one allowed on /api/trpc (CALMONY_APP_ORIGIN)")
	fs.IntVar(&c.ClientRateLimit, "client-rate-limit", envInt(getenv, "CALMONY_CLIENT_RATE_LIMIT", DefaultClientRateLimit),
		"requests per second per client address on checkout pages, the gateway callback and the sandbox, in bursts of 5 seconds' worth; 0 turns it off (CALMONY_CLIENT_RATE_LIMIT)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", getenv("CALMONY_TRUSTED_PROXIES"),
		"comma-separated addresses or CIDR prefixes of reverse proxies whose X-Forwarded-For names the client; none by default (CALMONY_TRUSTED_PROXIES)")
	fs.StringVar(&c.SandboxAddr, "sandbox-addr", getenv("CALMONY_SANDBOX_ADDR"),
		"listen address of the Cardstream sandbox's pages, an origin of their own; default: --addr's host on a free port; not served with --env production (CALMONY_SANDBOX_ADDR)")
	fs.StringVar(&c.SandboxURL, "sandbox-url", getenv("CALMONY_SANDBOX_URL"), "URL browsers reach the sandbox at; default from --sandbox-addr (CALMONY_SANDBOX_URL)")
	fs.IntVar(&c.SandboxMaxTransactions, "sandbox-max-transactions", envInt(getenv, "CALMONY_SANDBOX_MAX_TRANSACTIONS", 0),
		"transactions the in-process sandbox keeps, about 650 bytes each; beyond it the least recently used are forgotten, saved cards included; 0: 10000 (CALMONY_SANDBOX_MAX_TRANSACTIONS)")
	fs.BoolVar(&c.AllowLocalhostURLs, "allow-localhost-urls", getenv("CALMONY_ALLOW_LOCALHOST_URLS") == "true",
		"development only: accept http://localhost checkout success and cancel URLs (CALMONY_ALLOW_LOCALHOST_URLS)")
	fs.BoolVar(&c.AllowPrivateWebhookURLs, "allow-private-webhook-urls", getenv("CALMONY_ALLOW_PRIVATE_WEBHOOK_URLS") == "true",
		"development only: let test-mode webhook endpoints use http and loopback or private-network hosts; calmonypay listen does not need it (CALMONY_ALLOW_PRIVATE_WEBHOOK_URLS)")
	fs.DurationVar(&c.ReconcileInterval, "reconcile-interval", envDuration(getenv, "CALMONY_RECONCILE_INTERVAL", 10*time.Second),
		"how often gateway operations whose outcome was lost are looked for (CALMONY_RECONCILE_INTERVAL)")
	fs.DurationVar(&c.WebhookTimeout, "webhook-timeout", envDuration(getenv, "CALMONY_WEBHOOK_TIMEOUT", 10*time.Second), "timeout of one webhook delivery attempt (CALMONY_WEBHOOK_TIMEOUT)")
	fs.IntVar(&c.WebhookConcurrency, "webhook-concurrency", envInt(getenv, "CALMONY_WEBHOOK_CONCURRENCY", 16), "webhook deliveries in flight at once, per instance (CALMONY_WEBHOOK_CONCURRENCY)")
	c.BindPublicURL(fs, getenv)
	fs.StringVar(&c.OIDCIssuer, "oidc-issuer", getenv("CALMONY_OIDC_ISSUER"),
		"dashboard sign-in: the OpenID Connect provider's issuer URL, e.g. https://accounts.google.com; with --oidc-client-id and CALMONY_OIDC_CLIENT_SECRET (CALMONY_OIDC_ISSUER)")
	fs.StringVar(&c.OIDCClientID, "oidc-client-id", getenv("CALMONY_OIDC_CLIENT_ID"), "dashboard sign-in: the OpenID Connect client ID (CALMONY_OIDC_CLIENT_ID)")
	fs.StringVar(&c.OIDCName, "oidc-name", getenv("CALMONY_OIDC_NAME"), `dashboard sign-in: the provider's name on the sign-in button, e.g. Google; default "single sign-on" (CALMONY_OIDC_NAME)`)
	if v, _, err := readSecret(getenv, "CALMONY_OIDC_CLIENT_SECRET"); err == nil && v != "" {
		c.OIDCClientSecret = secret.Value(v)
	} else if err != nil {
		c.oidcSecretErr = err
	}
	fs.StringVar(&c.MetricsAddr, "metrics-addr", getenv("CALMONY_METRICS_ADDR"),
		"serve Prometheus metrics at /metrics on this address, e.g. 127.0.0.1:9090; unauthenticated, so keep it private; off by default (CALMONY_METRICS_ADDR)")
	fs.IntVar(&c.DBMaxConns, "db-max-conns", envInt(getenv, "CALMONY_DB_MAX_CONNS", 0),
		"most database connections open at once: PostgreSQL's pool, or SQLite's readers beside its one writer; 0: 16 (CALMONY_DB_MAX_CONNS)")
	fs.StringVar(&c.DatabaseListenURL, "database-listen-url", getenv("CALMONY_DATABASE_LISTEN_URL"),
		"PostgreSQL: a postgres:// URL, direct or through a session-mode pooler, on which instances listen for each other's changes to keys and settings, when --database goes through a transaction-mode pooler such as PgBouncer's; default: --database (CALMONY_DATABASE_LISTEN_URL)")
	fs.IntVar(&c.EventRetentionDays, "event-retention-days", envInt(getenv, "CALMONY_EVENT_RETENTION_DAYS", 30), "delete events older than this many days, at least 30; 0 keeps them (CALMONY_EVENT_RETENTION_DAYS)")
}

// BindPublicURL defines the flags the server's public URL is made of:
// serve's, and those of commands that print links to it (dashboard link).
func (c *Config) BindPublicURL(fs *flag.FlagSet, getenv Getenv) {
	fs.StringVar(&c.Addr, "addr", EnvOr(getenv, "CALMONY_ADDR", "127.0.0.1:8080"), "listen address (CALMONY_ADDR)")
	fs.StringVar(&c.PublicURL, "public-url", getenv("CALMONY_PUBLIC_URL"), "base URL that clients and browsers reach the server at; default from --addr (CALMONY_PUBLIC_URL)")
	fs.StringVar(&c.TLSCert, "tls-cert", getenv("CALMONY_TLS_CERT"), "TLS certificate file; serve HTTPS when set with --tls-key (CALMONY_TLS_CERT)")
	fs.StringVar(&c.TLSKey, "tls-key", getenv("CALMONY_TLS_KEY"), "TLS private key file (CALMONY_TLS_KEY)")
}

func envDuration(getenv Getenv, name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(getenv(name)); err == nil {
		return d
	}
	return def
}

// EnvOr returns the environment variable name, or def when it is empty.
func EnvOr(getenv Getenv, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(getenv Getenv, name string, def int) int {
	if n, err := strconv.Atoi(getenv(name)); err == nil {
		return n
	}
	return def
}

// Finish fills derived defaults and validates the store settings.
func (c *Config) Finish() error {
	switch c.Env {
	case Development, Test, Production:
	default:
		return fmt.Errorf("--env must be development, test or production, not %q", c.Env)
	}
	if c.Database == "" {
		c.Database = filepath.Join(c.DataDir, "calmony.db")
	}
	switch c.LogFormat {
	case "":
		c.LogFormat = LogText
		if c.Env == Production {
			c.LogFormat = LogJSON
		}
	case LogText, LogJSON:
	default:
		return fmt.Errorf("--log-format (CALMONY_LOG_FORMAT) must be text or json, not %q", c.LogFormat)
	}
	if c.DatabaseListenURL != "" && (!isPostgresURL(c.DatabaseListenURL) || !isPostgresURL(c.Database)) {
		return errors.New("--database-listen-url (CALMONY_DATABASE_LISTEN_URL) must be a postgres:// URL, and --database one too")
	}
	if c.DBMaxConns < 0 || c.DBMaxConns > 1000 {
		return errors.New("--db-max-conns (CALMONY_DB_MAX_CONNS) must be between 1 and 1000, or 0 for the default")
	}
	if c.RateLimit < 0 {
		return errors.New("--rate-limit must be 0 (off) or more")
	}
	if c.SandboxMaxTransactions < 0 {
		return errors.New("--sandbox-max-transactions must be 0 or more")
	}
	if c.ClientRateLimit < 0 {
		return errors.New("--client-rate-limit must be 0 (off) or more")
	}
	if c.Env == Test {
		c.SkipCallbackSignature = true
	}
	if c.Env == Production && c.SkipCallbackSignature {
		return errors.New("the checkout callback signature bypass (CALMONY_ENV=test or REQUIRE_SIGNATURE=false) is refused with --env production")
	}
	if c.Env == Production && c.AllowLocalhostURLs {
		return errors.New("--allow-localhost-urls is for development and is refused with --env production")
	}
	if c.Env == Production && c.AllowPrivateWebhookURLs {
		return errors.New("--allow-private-webhook-urls (CALMONY_ALLOW_PRIVATE_WEBHOOK_URLS) is for development and is refused with --env production")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key must be given together")
	}
	if c.serving && c.Env == Production {
		switch {
		case c.TLSCert == "" && !c.PlainHTTP:
			return errors.New("production serves HTTPS: give --tls-cert and --tls-key, or --plain-http when a proxy in front terminates TLS")
		case c.TLSCert != "" && c.PlainHTTP:
			return errors.New("--plain-http and --tls-cert exclude each other")
		case c.PlainHTTP && !strings.HasPrefix(c.PublicURL, "https://"):
			return errors.New("with --plain-http in production, --public-url must be the https:// URL the proxy serves")
		}
	}
	if c.EventRetentionDays < 0 || c.EventRetentionDays > 0 && c.EventRetentionDays < 30 {
		return errors.New("--event-retention-days must be 30 or more (events are retrievable for 30 days), or 0 to keep events")
	}
	if c.WebhookTimeout < 0 || c.WebhookTimeout > time.Minute {
		return errors.New("--webhook-timeout must be at most 1m")
	}
	if c.ReconcileInterval != 0 && (c.ReconcileInterval < 100*time.Millisecond || c.ReconcileInterval > time.Minute) {
		return errors.New("--reconcile-interval must be between 100ms and 1m")
	}
	if c.WebhookConcurrency < 0 || c.WebhookConcurrency > 1024 {
		return errors.New("--webhook-concurrency must be between 1 and 1024")
	}
	if err := c.checkOIDC(); err != nil {
		return err
	}
	if c.PublicURL == "" && c.Addr != "" {
		scheme := "http"
		if c.TLSCert != "" {
			scheme = "https"
		}
		c.PublicURL = scheme + "://" + c.Addr
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	return nil
}

// checkOIDC checks the dashboard's OpenID Connect settings: all or none,
// and an https issuer (http only outside production, for a provider on
// this machine).
func (c *Config) checkOIDC() error {
	if c.oidcSecretErr != nil {
		return c.oidcSecretErr
	}
	c.OIDCIssuer, c.OIDCClientID, c.OIDCName = strings.TrimSpace(c.OIDCIssuer), strings.TrimSpace(c.OIDCClientID), strings.TrimSpace(c.OIDCName)
	set := 0
	for _, v := range []string{c.OIDCIssuer, c.OIDCClientID, string(c.OIDCClientSecret)} {
		if v != "" {
			set++
		}
	}
	switch {
	case set == 0:
		if c.OIDCName != "" {
			return errors.New("--oidc-name (CALMONY_OIDC_NAME) needs the OpenID Connect settings: CALMONY_OIDC_ISSUER, CALMONY_OIDC_CLIENT_ID and CALMONY_OIDC_CLIENT_SECRET")
		}
		return nil
	case set < 3:
		return errors.New("dashboard sign-in through OpenID Connect needs all of CALMONY_OIDC_ISSUER, CALMONY_OIDC_CLIENT_ID and CALMONY_OIDC_CLIENT_SECRET (or CALMONY_OIDC_CLIENT_SECRET_FILE), or none of them")
	}
	u, err := url.Parse(c.OIDCIssuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("--oidc-issuer (CALMONY_OIDC_ISSUER) must be the provider's issuer URL, e.g. https://accounts.google.com, not %q", c.OIDCIssuer)
	}
	if u.Scheme == "http" && c.Env == Production {
		return errors.New("--oidc-issuer (CALMONY_OIDC_ISSUER) must be https with --env production")
	}
	return nil
}

// LoadEncryptionKey reads CALMONY_ENCRYPTION_KEY or CALMONY_ENCRYPTION_KEY_FILE.
// Without either, production refuses to start; elsewhere the development
// key kept in the data folder is used, generated there if create is set
// (serve, migrate). serve warns that it is a development key.
func (c *Config) LoadEncryptionKey(getenv Getenv, log *slog.Logger, create bool) error {
	raw, from, err := c.devKey(getenv, log, "CALMONY_ENCRYPTION_KEY", "encryption.key", create)
	if err != nil {
		return err
	}
	if from == filepath.Join(c.DataDir, "encryption.key") {
		c.GeneratedKey = from
	}
	if c.OldEncryptionKeys, err = oldKeys(getenv, "CALMONY_ENCRYPTION_KEY_OLD"); err != nil {
		return err
	}
	key, err := c.parseKey(raw, from)
	if err != nil {
		return err
	}
	c.EncryptionKey = key
	return nil
}

// parseKey decodes a master key read from `from`; production also refuses
// one that is plainly not random.
func (c *Config) parseKey(raw, from string) ([]byte, error) {
	key, err := secret.ParseKey(raw)
	if err == nil && c.Env == Production {
		err = secret.CheckStrength(key)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", from, err)
	}
	return key, nil
}

// LoadWebhookKey reads CALMONY_WEBHOOK_ENCRYPTION_KEY or
// CALMONY_WEBHOOK_ENCRYPTION_KEY_FILE, the key that seals webhook signing
// secrets (the original product's WEBHOOK_ENCRYPTION_KEY). It behaves as
// LoadEncryptionKey: required in production, generated into the data folder
// elsewhere.
func (c *Config) LoadWebhookKey(getenv Getenv, log *slog.Logger, create bool) error {
	raw, from, err := c.devKey(getenv, log, "CALMONY_WEBHOOK_ENCRYPTION_KEY", "webhook-encryption.key", create)
	if err != nil {
		return err
	}
	if from == filepath.Join(c.DataDir, "webhook-encryption.key") {
		c.GeneratedWebhookKey = from
	}
	if c.OldWebhookKeys, err = oldKeys(getenv, "CALMONY_WEBHOOK_ENCRYPTION_KEY_OLD"); err != nil {
		return err
	}
	key, err := c.parseKey(raw, from)
	if err != nil {
		return err
	}
	if c.Env == Production && bytes.Equal(key, c.EncryptionKey) {
		return errors.New("CALMONY_WEBHOOK_ENCRYPTION_KEY must differ from CALMONY_ENCRYPTION_KEY in production: one leaked key must not open both personal data and webhook secrets")
	}
	c.WebhookEncryptionKey = key
	return nil
}

// devKey reads the key in the variable name (or name_FILE). Without it,
// production refuses; elsewhere it is the development key in file within
// the data folder, made if create is set. from says where it came from.
func (c *Config) devKey(getenv Getenv, log *slog.Logger, name, file string, create bool) (raw, from string, err error) {
	if raw, from, err = readSecret(getenv, name); err != nil || raw != "" {
		return raw, from, err
	}
	if c.Env == Production {
		return "", "", fmt.Errorf("%s (or %s_FILE) is required in production: generate one with `openssl rand -hex 32`", name, name)
	}
	path := filepath.Join(c.DataDir, file)
	if create {
		raw, err = loadOrCreateKeyFile(path)
	} else if raw, err = readKeyFile(path); errors.Is(err, os.ErrNotExist) {
		err = fmt.Errorf("no %s set and no development key at %s: set it as serve was started, or run in serve's folder (--data-dir)", name, path)
	}
	if err != nil {
		return "", "", err
	}
	// One made before with a wider mode (an earlier version, a copy) is
	// narrowed to what loadOrCreateKeyFile makes.
	if err := fileperm.Narrow(path, 0o600); err != nil {
		log.Warn("the development key file is readable by other users and its mode could not be changed", "file", path, "err", err)
	}
	if c.serving {
		log.Warn("no "+name+" set: using a development key kept in the data folder; set one for any real data", "file", path)
	}
	return raw, path, nil
}

// oldKeys reads the earlier master keys a rotation still needs: NAME (or
// NAME_FILE), separated by commas or white space.
func oldKeys(getenv Getenv, name string) ([]secret.Value, error) {
	raw, from, err := readSecret(getenv, name)
	if err != nil {
		return nil, err
	}
	var keys []secret.Value
	for _, s := range strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		key, err := secret.ParseKey(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", from, err)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// SecureDataDir makes the data folder, if it exists, accessible to its
// owner only (0700), as it is when Calmony Pay creates it, whoever made it
// before; if it cannot, it logs a warning.
func (c *Config) SecureDataDir(log *slog.Logger) {
	if err := fileperm.Narrow(c.DataDir, 0o700); err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Warn("the data folder is open to other users and its mode could not be changed", "folder", c.DataDir, "err", err)
	}
}

// readSecret reads NAME, or the file named by NAME_FILE.
func readSecret(getenv Getenv, name string) (value, from string, err error) {
	if v := getenv(name); v != "" {
		return v, name, nil
	}
	if path := getenv(name + "_FILE"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", "", fmt.Errorf("%s_FILE: %w", name, err)
		}
		return strings.TrimSpace(string(b)), path, nil
	}
	return "", "", nil
}

// readKeyFile reads a development key file; a missing one is
// os.ErrNotExist.
func readKeyFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}

func loadOrCreateKeyFile(path string) (string, error) {
	if key, err := readKeyFile(path); !errors.Is(err, os.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("create data folder: %w", err)
	}
	key := secret.NewKey()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) { // another process made it first
			return loadOrCreateKeyFile(path)
		}
		return "", fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.WriteString(key + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	return key, f.Close()
}

// isPostgresURL reports whether u selects PostgreSQL (as store.IsPostgresDSN).
func isPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}
