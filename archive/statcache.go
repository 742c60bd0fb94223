package archive

import (
	"encoding/hex"
	"path/filepath"
	"time"
)

// statCache lets Create take a file's hash from the newest verified
// snapshot instead of reading the file, when nothing about the file
// changed since: same path, type, size, mode, owner, mtime and ctime to the
// nanosecond, inode and device, as restic and git do. Its entries are read
// as a stream beside the walk (both are in the walk's order).
//
// A file changed within the timestamps' granularity of the moment it was
// read keeps the same times (Linux stamps files from a clock that ticks
// every few milliseconds), so an entry whose ctime is not clearly before
// the walk that recorded it is not trusted ("racy", as git calls it): such
// a file is read again.
type statCache struct {
	src     entrySource
	cur     *Entry
	horizon time.Time // entries changed at or after this are not trusted
	hits    int
	off     bool // the source ended or failed: no more hits
}

// racyMargin is how long before the recording walk a change must be for
// the entry to be trusted: far above the kernel's timestamp granularity.
const racyMargin = time.Second

func newStatCache(src entrySource, walkStarted time.Time) *statCache {
	return &statCache{src: src, horizon: walkStarted.Add(-racyMargin)}
}

// lookup returns the recorded hash of the file at n when n is unchanged.
// Nodes must come in the walk's order.
func (c *statCache) lookup(n *node) (sum [32]byte, ok bool) {
	if c == nil || c.off {
		return sum, false
	}
	for c.cur == nil || comparePaths(c.cur.Path, n.rel) < 0 {
		e, err := c.src.next()
		if err != nil { // io.EOF, or a damaged list: no cache from here on
			c.off = true
			return sum, false
		}
		c.cur = e
	}
	e := c.cur
	st := &n.st
	if e.Path != n.rel || e.Type != TypeFile || e.Size != st.Size || e.Mode != Mode(st.Mode&0o7777) ||
		e.UID != int(st.Uid) || e.GID != int(st.Gid) || e.Ino != st.Ino || e.Dev != st.Dev ||
		e.MTime.UnixNano() != time.Unix(st.Mtim.Sec, st.Mtim.Nsec).UnixNano() ||
		e.CTime.UnixNano() != time.Unix(st.Ctim.Sec, st.Ctim.Nsec).UnixNano() ||
		!e.CTime.Before(c.horizon) || !e.MTime.Before(c.horizon) {
		return sum, false
	}
	if _, err := hex.Decode(sum[:], []byte(e.Hash)); err != nil {
		return sum, false
	}
	c.hits++
	return sum, true
}

func (c *statCache) close() {
	if c != nil {
		c.src.Close()
	}
}

// statCacheFor opens the stat cache for a snapshot of root: the entries of
// the newest verified format-3 snapshot of the same root, or nil.
func (s *Store) statCacheFor(root string) (string, *statCache) {
	list, err := s.List()
	if err != nil {
		return "", nil
	}
	for i := len(list) - 1; i >= 0; i-- {
		in := list[i]
		if in.Incomplete || in.Storage != storagePacks || in.Verified == nil || !in.Verified.OK {
			continue
		}
		m, err := s.readManifest(in.ID)
		if err != nil || m.Root != root || m.walkStarted.IsZero() {
			continue
		}
		src, err := openEntries(filepath.Join(s.dir, in.ID), m)
		if err != nil {
			continue
		}
		return in.ID, newStatCache(src, m.walkStarted)
	}
	return "", nil
}
