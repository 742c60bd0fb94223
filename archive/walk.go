package archive

import (
	"context"
	"errors"
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
	listErr  error  // a directory that could not be listed (it has no children then)
}

func (n *node) kind() uint32 { return n.st.Mode & unix.S_IFMT }

// walkTree visits root and everything below it in a fixed order (a
// directory, then its children sorted by name, depth first), so that parents
// always come before their contents. Paths in exclude are visited (as
// directories without contents) or skipped (anything else). A directory that
// cannot be listed is visited with listErr set and no children: fn decides
// whether that ends the walk.
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
		var names []string
		if isDir && !n.excluded {
			names, n.listErr = readNames(abs)
		}
		if err := fn(n); err != nil {
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

// scan sums what a walk would archive, for the space check and the
// progress bar's totals, and lists every entry a snapshot cannot hold (see
// unstorable), so that Create refuses them all at once before it archives
// anything.
func scan(ctx context.Context, root string, exclude map[string]bool) (bytes int64, files int, problems []Unstorable, err error) {
	seen := map[[2]uint64]bool{}
	err = walkTree(ctx, root, exclude, func(n *node) error {
		if why := unstorable(n); why != "" {
			problems = append(problems, Unstorable{Path: n.rel, Reason: why})
			return nil
		}
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
	return bytes, files, problems, err
}

// unstorable says why a snapshot cannot hold n, or "". Links are stored as
// links whatever they point at; device files, FIFOs and sockets are not
// stored (a restore never creates them), nor is anything carbonguard
// cannot read.
func unstorable(n *node) string {
	switch n.kind() {
	case unix.S_IFDIR:
		if n.listErr != nil {
			return "directory cannot be listed: " + errnoText(n.listErr)
		}
	case unix.S_IFREG:
		if err := unix.Faccessat(unix.AT_FDCWD, n.abs, unix.R_OK, unix.AT_EACCESS); err != nil {
			return "file cannot be read: " + errnoText(err)
		}
	case unix.S_IFLNK:
	case unix.S_IFCHR:
		return "character device"
	case unix.S_IFBLK:
		return "block device"
	case unix.S_IFIFO:
		return "FIFO (named pipe)"
	case unix.S_IFSOCK:
		return "socket"
	default:
		return fmt.Sprintf("unknown file type %o", n.kind())
	}
	return ""
}

// errnoText is the system's text for an error, without the path (which the
// caller quotes itself).
func errnoText(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}

func mtimeOf(st *unix.Stat_t) (sec, nsec int64) { return st.Mtim.Sec, st.Mtim.Nsec }
