package config_test

import (
	"bytes"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/calmony/calmonypay/internal/config"
)

// SecureDataDir narrows an existing data folder to 0700, leaves a missing
// one alone, and warns when it cannot.
func TestSecureDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	open := filepath.Join(dir, "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		dir  string
		warn bool
	}{
		{open, false},
		{filepath.Join(dir, "missing"), false},
		{filepath.Join(notDir, "data"), true},
	} {
		var logs bytes.Buffer
		(&config.Config{DataDir: tt.dir}).SecureDataDir(slog.New(slog.NewTextHandler(&logs, nil)))
		if got := strings.Contains(logs.String(), "level=WARN"); got != tt.warn {
			t.Errorf("SecureDataDir(%s) warned %v, want %v: %s", tt.dir, got, tt.warn, logs.String())
		}
	}
	if fi, err := os.Stat(open); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data folder: mode %#o, %v; want 0700", fi.Mode().Perm(), err)
	}
}

// The dashboard's OpenID Connect settings: all three or none, an https
// issuer in production, the secret from the environment or a file.
func TestOIDCSettings(t *testing.T) {
	t.Parallel()
	secretFile := filepath.Join(t.TempDir(), "oidc-secret")
	if err := os.WriteFile(secretFile, []byte("from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	full := map[string]string{"CALMONY_OIDC_ISSUER": "https://accounts.google.com", "CALMONY_OIDC_CLIENT_ID": "client",
		"CALMONY_OIDC_CLIENT_SECRET": "s3cret", "CALMONY_OIDC_NAME": "Google"}
	with := func(base map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	for _, tt := range []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
		secret  string
	}{
		{"none", map[string]string{}, nil, "", ""},
		{"all", full, nil, "", "s3cret"},
		{"secret from a file", with(full, "CALMONY_OIDC_CLIENT_SECRET", "", "CALMONY_OIDC_CLIENT_SECRET_FILE", secretFile), nil, "", "from-a-file"},
		{"no secret", with(full, "CALMONY_OIDC_CLIENT_SECRET", ""), nil, "all of", ""},
		{"no client ID", with(full, "CALMONY_OIDC_CLIENT_ID", ""), nil, "all of", ""},
		{"a name alone", map[string]string{"CALMONY_OIDC_NAME": "Google"}, nil, "needs the OpenID Connect settings", ""},
		{"not a URL", with(full, "CALMONY_OIDC_ISSUER", "accounts.google.com"), nil, "issuer URL", ""},
		{"http in development", with(full, "CALMONY_OIDC_ISSUER", "http://127.0.0.1:5556/dex"), nil, "", "s3cret"},
		{"http in production", with(full, "CALMONY_OIDC_ISSUER", "http://idp.example"),
			[]string{"--env", "production", "--plain-http", "--public-url", "https://pay.example"}, "must be https", ""},
		{"a missing secret file", with(full, "CALMONY_OIDC_CLIENT_SECRET", "", "CALMONY_OIDC_CLIENT_SECRET_FILE", secretFile+".nope"), nil, "CALMONY_OIDC_CLIENT_SECRET_FILE", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var c config.Config
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			c.BindServe(fs, func(k string) string { return tt.env[k] })
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := c.Finish()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Finish: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Finish = %v, want an error saying %q", err, tt.wantErr)
			case tt.wantErr == "" && string(c.OIDCClientSecret) != tt.secret:
				t.Errorf("secret = %q, want %q", c.OIDCClientSecret, tt.secret)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
}

// The operations settings: --metrics-addr, --db-max-conns,
// --database-listen-url and --log-format, from flags or their environment
// variables, checked.
func TestOperationsSettings(t *testing.T) {
	t.Parallel()
	prod := []string{"--env", "production", "--plain-http", "--public-url", "https://pay.example"}
	for _, tt := range []struct {
		name    string
		env     map[string]string
		args    []string
		want    config.Config // MetricsAddr, DBMaxConns, DatabaseListenURL, LogFormat
		wantErr string
	}{
		{"defaults", nil, nil, config.Config{LogFormat: "text"}, ""},
		{"production logs JSON", nil, prod, config.Config{LogFormat: "json"}, ""},
		{"production asks for text", nil, append([]string{"--log-format", "text"}, prod...), config.Config{LogFormat: "text"}, ""},
		{"from the environment", map[string]string{"CALMONY_METRICS_ADDR": "127.0.0.1:9090", "CALMONY_DB_MAX_CONNS": "40", "CALMONY_LOG_FORMAT": "json"}, nil,
			config.Config{MetricsAddr: "127.0.0.1:9090", DBMaxConns: 40, LogFormat: "json"}, ""},
		{"flags over the environment", map[string]string{"CALMONY_METRICS_ADDR": "127.0.0.1:9090", "CALMONY_DB_MAX_CONNS": "40"},
			[]string{"--metrics-addr", ":9100", "--db-max-conns", "8"}, config.Config{MetricsAddr: ":9100", DBMaxConns: 8, LogFormat: "text"}, ""},
		{"a bad log format", map[string]string{"CALMONY_LOG_FORMAT": "xml"}, nil, config.Config{}, "--log-format"},
		{"negative connections", nil, []string{"--db-max-conns", "-1"}, config.Config{}, "--db-max-conns"},
		{"too many connections", nil, []string{"--db-max-conns", "5000"}, config.Config{}, "--db-max-conns"},
		{"a listener URL", map[string]string{"CALMONY_DATABASE": "postgres://pgbouncer:6432/pay", "CALMONY_DATABASE_LISTEN_URL": "postgres://db:5432/pay"}, nil,
			config.Config{DatabaseListenURL: "postgres://db:5432/pay", LogFormat: "text"}, ""},
		{"a listener URL that is not PostgreSQL's", map[string]string{"CALMONY_DATABASE": "postgres://pgbouncer:6432/pay"},
			[]string{"--database-listen-url", "db.sqlite"}, config.Config{}, "--database-listen-url"},
		{"a listener URL on SQLite", nil, []string{"--database-listen-url", "postgres://db:5432/pay"}, config.Config{}, "--database-listen-url"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var c config.Config
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			c.BindServe(fs, func(k string) string { return tt.env[k] })
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := c.Finish()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Finish: %v", err)
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Finish = %v, want an error naming %s", err, tt.wantErr)
				}
				return
			}
			if c.DatabaseListenURL != tt.want.DatabaseListenURL {
				t.Errorf("listener URL %q, want %q", c.DatabaseListenURL, tt.want.DatabaseListenURL)
			}
			if c.MetricsAddr != tt.want.MetricsAddr || c.DBMaxConns != tt.want.DBMaxConns || c.LogFormat != tt.want.LogFormat {
				t.Errorf("metrics %q, max conns %d, log format %q; want %q, %d, %q", c.MetricsAddr, c.DBMaxConns, c.LogFormat,
					tt.want.MetricsAddr, tt.want.DBMaxConns, tt.want.LogFormat)
			}
		})
	}
}
