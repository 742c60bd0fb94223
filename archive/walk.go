package archive

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
)

// node is one file-system object met while walking a tree.
type node struct {
	rel      string // relative path, "." for the root
	abs      string
	st       unix.Stat_t
	link     string // symlink target
	excluded bool   // a directory whose contents are excluded
}

func (n *node) kind() uint32 { return n.st.Mode & unix.S_IFMT }

// walkTree visits root and everything below it in a fixed order (a
// directory, then its children sorted by name, depth first), so that parents
// always come before their contents. Paths in exclude are visited (as
// directories without contents) or skipped (anything else).
func walkTree(ctx context.Context, root string, exclude map[string]bool, fn func(*node) error) error {
	var visit func(rel, abs string) error
	visit = func(rel, abs string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := &node{rel: rel, abs: abs}
		if err := unix.Lstat(abs, &n.st); err != nil {
			return &os.PathError{Op: "lstat", Path: abs, Err: err}
		}
		isDir := n.kind() == unix.S_IFDIR
		if exclude[rel] {
			if !isDir {
				return nil
			}
			n.excluded = true
		}
		if n.kind() == unix.S_IFLNK {
			t, err := os.Readlink(abs)
			if err != nil {
				return err
			}
			n.link = t
		}
		if err := fn(n); err != nil {
			return err
		}
		if !isDir || n.excluded {
			return nil
		}
		names, err := readNames(abs)
		if err != nil {
			return err
		}
		for _, name := range names {
			childRel := name
			if rel != "." {
				childRel = rel + "/" + name
			}
			if err := visit(childRel, filepath.Join(abs, name)); err != nil {
				return err
			}
		}
		return nil
	}
	return visit(".", root)
}

func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	slices.Sort(names)
	return names, nil
}

// estimate sums what a walk would archive, for the space check and the
// progress bar's totals.
func estimate(ctx context.Context, root string, exclude map[string]bool) (bytes int64, files int, err error) {
	seen := map[[2]uint64]bool{}
	err = walkTree(ctx, root, exclude, func(n *node) error {
		if n.kind() != unix.S_IFREG {
			return nil
		}
		files++
		if n.st.Nlink > 1 {
			k := [2]uint64{n.st.Dev, n.st.Ino}
			if seen[k] {
				return nil
			}
			seen[k] = true
		}
		bytes += n.st.Size
		return nil
	})
	return bytes, files, err
}

func mtimeOf(st *unix.Stat_t) (sec, nsec int64) { return st.Mtim.Sec, st.Mtim.Nsec }
