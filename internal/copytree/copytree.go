// Package copytree copies a directory tree: directories, regular files with
// their permission bits, and symbolic links as links (never followed);
// sockets, FIFOs and devices are skipped. It is the one tree copy of the
// module: fixture packs in tests, the fake u2's backup, and the evidence
// hooks keeps of a failed boot. Snapshots are not copies: archive owns them.
package copytree

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Options tune Copy.
type Options struct {
	// Private makes every directory 0700 and every file 0600 (evidence kept
	// for support, which may hold secrets); otherwise a directory keeps its
	// permission bits plus the owner's rwx, and a file its permission bits.
	Private bool
	// Sync fsyncs every file written.
	Sync bool
}

// Copy copies the tree at src to dst (created, or merged into when it
// exists: files are overwritten, links replaced).
func Copy(src, dst string, o Options) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch mode := info.Mode(); {
		case mode.IsDir():
			perm := mode.Perm() | 0o700
			if o.Private {
				perm = 0o700
			}
			return os.MkdirAll(target, perm)
		case mode&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			_ = os.Remove(target)
			return os.Symlink(link, target)
		case mode.IsRegular():
			perm := mode.Perm()
			if o.Private {
				perm = 0o600
			}
			return copyFile(p, target, perm, o.Sync)
		}
		return nil
	})
}

func copyFile(src, dst string, perm fs.FileMode, sync bool) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if sync {
		if err := out.Sync(); err != nil {
			out.Close()
			return err
		}
	}
	return out.Close()
}
