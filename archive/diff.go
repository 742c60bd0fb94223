package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"
)

// Diff compares two snapshots: what was added, removed and changed from a
// to b (for instance what an update changed between the pre-update snapshot
// and a later one). Both entry lists are read as streams, side by side
// (they are in the same order): memory grows with the differences only.
func (s *Store) Diff(ctx context.Context, a, b string) (*DiffReport, error) {
	for _, id := range []string{a, b} {
		lease, err := s.leaseFor(id, "diff")
		if err != nil {
			return nil, err
		}
		defer lease.Release()
	}
	ma, err := s.Show(a)
	if err != nil {
		return nil, err
	}
	mb, err := s.Show(b)
	if err != nil {
		return nil, err
	}
	sa, err := openEntries(filepath.Join(s.dir, a), ma)
	if err != nil {
		return nil, err
	}
	defer sa.Close()
	sb, err := openEntries(filepath.Join(s.dir, b), mb)
	if err != nil {
		return nil, err
	}
	defer sb.Close()
	return diffStreams(ctx, a, b, sa.next, sb.next)
}

// DiffLive compares a snapshot with the tree at root as it is now (which
// files were edited since). The live tree is read with the snapshot's own
// excludes, and every file is hashed: equal sizes and times prove nothing.
func (s *Store) DiffLive(ctx context.Context, id, root string) (*DiffReport, error) {
	lease, err := s.leaseFor(id, "diff")
	if err != nil {
		return nil, err
	}
	defer lease.Release()
	m, err := s.Show(id)
	if err != nil {
		return nil, err
	}
	root, err = filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	exclude := map[string]bool{}
	for _, p := range m.Exclude {
		exclude[p] = true
	}
	src, err := openEntries(filepath.Join(s.dir, id), m)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	next, stop := iter.Pull2(liveEntries(ctx, root, exclude))
	defer stop()
	live := func() (*Entry, error) {
		e, err, ok := next()
		if !ok {
			return nil, io.EOF
		}
		return e, err
	}
	return diffStreams(ctx, id, "live:"+root, src.next, live)
}

// liveEntries describes a tree as a manifest would, without archiving it,
// in the walk's order.
func liveEntries(ctx context.Context, root string, exclude map[string]bool) iter.Seq2[*Entry, error] {
	return func(yield func(*Entry, error) bool) {
		h := sha256.New()
		buf := make([]byte, 1<<20)
		stopped := false
		err := walkTree(ctx, root, exclude, func(n *node) error {
			if n.listErr != nil {
				return n.listErr
			}
			e := entryOf(n)
			switch n.kind() {
			case unix.S_IFDIR:
				e.Type = TypeDir
			case unix.S_IFLNK:
				e.Type, e.Link = TypeSymlink, n.link
			case unix.S_IFREG:
				f, err := os.Open(n.abs)
				if err != nil {
					return err
				}
				h.Reset()
				size, err := io.CopyBuffer(h, f, buf)
				f.Close()
				if err != nil {
					return fmt.Errorf("reading %s: %w", n.abs, err)
				}
				e.Type, e.Size, e.Hash = TypeFile, size, hex.EncodeToString(h.Sum(nil))
			default:
				e.Type = "special"
			}
			if !yield(&e, nil) {
				stopped = true
				return errStopWalk
			}
			return nil
		})
		if err != nil && !stopped {
			yield(nil, err)
		}
	}
}

var errStopWalk = errors.New("stop")

// diffStreams merges two entry streams in the walk's order.
func diffStreams(ctx context.Context, a, b string, nextA, nextB func() (*Entry, error)) (*DiffReport, error) {
	rep := &DiffReport{A: a, B: b, Added: []Change{}, Removed: []Change{}, Changed: []Change{}}
	read := func(next func() (*Entry, error)) (*Entry, error) {
		e, err := next()
		if err == io.EOF {
			return nil, nil
		}
		return e, err
	}
	ea, err := read(nextA)
	if err != nil {
		return nil, err
	}
	eb, err := read(nextB)
	if err != nil {
		return nil, err
	}
	for ea != nil || eb != nil {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c := 0
		switch {
		case ea == nil:
			c = 1
		case eb == nil:
			c = -1
		default:
			c = comparePaths(ea.Path, eb.Path)
		}
		switch {
		case c < 0:
			rep.Removed = append(rep.Removed, Change{Path: ea.Path, Type: contentType(ea.Type)})
		case c > 0:
			rep.Added = append(rep.Added, Change{Path: eb.Path, Type: contentType(eb.Type)})
		default:
			if what := entryChanges(ea, eb); len(what) > 0 {
				rep.Changed = append(rep.Changed, Change{Path: eb.Path, Type: contentType(eb.Type), What: what})
			}
		}
		if c <= 0 {
			if ea, err = read(nextA); err != nil {
				return nil, err
			}
		}
		if c >= 0 {
			if eb, err = read(nextB); err != nil {
				return nil, err
			}
		}
	}
	for _, l := range [][]Change{rep.Added, rep.Removed, rep.Changed} {
		sort.Slice(l, func(i, j int) bool { return l[i].Path < l[j].Path })
	}
	return rep, nil
}

// contentType folds hard links into files: which name of an inode came
// first is an accident of directory order, not a change.
func contentType(t string) string {
	if t == TypeHardlink {
		return TypeFile
	}
	return t
}

func entryChanges(o, n *Entry) []string {
	var what []string
	if contentType(o.Type) != contentType(n.Type) {
		return []string{"type"}
	}
	if o.Hash != n.Hash || o.Size != n.Size {
		what = append(what, "content")
	}
	if o.Type == TypeSymlink && o.Link != n.Link {
		what = append(what, "link")
	}
	if o.Mode != n.Mode && o.Type != TypeSymlink {
		what = append(what, "mode")
	}
	if o.UID != n.UID || o.GID != n.GID {
		what = append(what, "owner")
	}
	return what
}

// MarshalJSON writes the path as a manifest name (bytes that are not UTF-8
// in base64, see names.go).
func (c Change) MarshalJSON() ([]byte, error) {
	type plain Change
	return json.Marshal(struct {
		Path name `json:"path"`
		plain
	}{name(c.Path), plain(c)})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (c *Change) UnmarshalJSON(data []byte) error {
	type plain Change
	var v struct {
		Path name `json:"path"`
		plain
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*c = Change(v.plain)
	c.Path = string(v.Path)
	return nil
}
