package fileperm_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/calmony/calmonypay/internal/fileperm"
)

func TestNarrow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tt := range []struct {
		mode, perm, want fs.FileMode
	}{
		{0o644, 0o600, 0o600},
		{0o666, 0o600, 0o600},
		{0o600, 0o600, 0o600},
		{0o400, 0o600, 0o400}, // never widened
		{0o755, 0o700, 0o700},
		{0o711, 0o700, 0o700},
	} {
		path := filepath.Join(dir, tt.mode.String())
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, tt.mode); err != nil {
			t.Fatal(err)
		}
		if err := fileperm.Narrow(path, tt.perm); err != nil {
			t.Errorf("Narrow(%v, %v) = %v", tt.mode, tt.perm, err)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != tt.want {
			t.Errorf("Narrow(%v, %v): mode %v, want %v (%v)", tt.mode, tt.perm, fi.Mode().Perm(), tt.want, err)
		}
	}
	if err := fileperm.Narrow(filepath.Join(dir, "missing"), 0o600); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Narrow(missing) = %v, want fs.ErrNotExist", err)
	}
}
