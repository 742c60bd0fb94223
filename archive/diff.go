package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"golang.org/x/sys/unix"
)

// Diff compares two snapshots: what was added, removed and changed from a
// to b (for instance what an update changed between the pre-update snapshot
// and a later one).
func (s *Store) Diff(ctx context.Context, a, b string) (*DiffReport, error) {
	ma, err := s.Show(a)
	if err != nil {
		return nil, err
	}
	mb, err := s.Show(b)
	if err != nil {
		return nil, err
	}
	return diffEntries(a, b, ma.Entries, mb.Entries), nil
}

// DiffLive compares a snapshot with the tree at root as it is now (which
// files were edited since). The live tree is read with the snapshot's own
// excludes, and every file is hashed: equal sizes and times prove nothing.
func (s *Store) DiffLive(ctx context.Context, id, root string) (*DiffReport, error) {
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
	live, err := liveEntries(ctx, root, exclude)
	if err != nil {
		return nil, err
	}
	return diffEntries(id, "live:"+root, m.Entries, live), nil
}

// liveEntries describes a tree as a manifest would, without archiving it.
func liveEntries(ctx context.Context, root string, exclude map[string]bool) ([]Entry, error) {
	var out []Entry
	h := sha256.New()
	buf := make([]byte, 1<<20)
	err := walkTree(ctx, root, exclude, func(n *node) error {
		if n.listErr != nil {
			return n.listErr
		}
		sec, nsec := mtimeOf(&n.st)
		e := Entry{Path: n.rel, Mode: Mode(n.st.Mode & 0o7777), MTime: time.Unix(sec, nsec).UTC(), UID: int(n.st.Uid), GID: int(n.st.Gid)}
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
		out = append(out, e)
		return nil
	})
	return out, err
}

func diffEntries(a, b string, ea, eb []Entry) *DiffReport {
	rep := &DiffReport{A: a, B: b, Added: []Change{}, Removed: []Change{}, Changed: []Change{}}
	old := make(map[string]*Entry, len(ea))
	for i := range ea {
		old[ea[i].Path] = &ea[i]
	}
	seen := make(map[string]bool, len(eb))
	for i := range eb {
		n := &eb[i]
		seen[n.Path] = true
		o, ok := old[n.Path]
		if !ok {
			rep.Added = append(rep.Added, Change{Path: n.Path, Type: contentType(n.Type)})
			continue
		}
		if what := entryChanges(o, n); len(what) > 0 {
			rep.Changed = append(rep.Changed, Change{Path: n.Path, Type: contentType(n.Type), What: what})
		}
	}
	for i := range ea {
		if !seen[ea[i].Path] {
			rep.Removed = append(rep.Removed, Change{Path: ea[i].Path, Type: contentType(ea[i].Type)})
		}
	}
	for _, l := range [][]Change{rep.Added, rep.Removed, rep.Changed} {
		sort.Slice(l, func(i, j int) bool { return l[i].Path < l[j].Path })
	}
	return rep
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
