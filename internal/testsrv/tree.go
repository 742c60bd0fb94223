package testsrv

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TreeDigest describes every entry under root, one line each in walk order:
// path, type, permission bits, owner, size, modification time to the
// nanosecond, and the SHA-256 of a file's content or a link's target. Two
// trees with equal digests are the same bit for bit, as far as a restore
// can tell (hard links included: the same content under each name).
func TreeDigest(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		line := fmt.Sprintf("%s %s %04o %d:%d", rel, fi.Mode().Type(), fi.Mode().Perm()|fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky), st.Uid, st.Gid)
		switch {
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			line += fmt.Sprintf(" %d %d %s", fi.Size(), fi.ModTime().UnixNano(), hex.EncodeToString(sum[:]))
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			line += " -> " + target
		case fi.IsDir():
			if rel != "." {
				line += fmt.Sprintf(" %d", fi.ModTime().UnixNano())
			}
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatalf("testsrv: digest of %s: %v", root, err)
	}
	return out
}
