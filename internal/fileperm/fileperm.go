// Package fileperm keeps Calmony Pay's files private to the user it runs
// as: the data folder, the SQLite database and the generated keys.
package fileperm

import (
	"io/fs"
	"os"
)

// Narrow takes from path's permission bits any that perm does not have
// (perm is 0o600 for a file, 0o700 for a folder), so group and others lose
// access to a file made before, or by another program; it never adds any.
// Its error, from os.Stat or os.Chmod, matches fs.ErrNotExist when there is
// no such file, and fs.ErrPermission when it belongs to another user.
func Narrow(path string, perm fs.FileMode) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if mode := fi.Mode().Perm(); mode&^perm != 0 {
		return os.Chmod(path, mode&perm)
	}
	return nil
}
