package config_test

import (
	"bytes"
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
