package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/carbonguard/carbonguard/internal/durable"
)

// Restore puts snapshot id back at target. It unpacks into a staging
// directory beside the target (same file system), checking every entry
// against the manifest as it writes it (so the staged tree is verified in
// the same pass), syncs the file system, records the swap durably in the
// restore record, and then swaps with renames. The old tree (or, with
// Paths, the old versions of those paths) ends up in the displaced
// directory named in the report.
//
// Any interrupted restore found first is recovered (see Recover). A corrupt
// or incomplete snapshot, or an unsafe entry, is refused before the target
// is touched, with the staging directory removed.
func (s *Store) Restore(ctx context.Context, id, target string, o RestoreOptions) (*RestoreReport, error) {
	start := time.Now()
	unlock, err := s.lockRestore()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if rr, err := s.recoverLocked(); err != nil {
		return nil, err
	} else if rr.Outcome != RecoveryNone {
		s.log.Warn().Str("outcome", rr.Outcome).Str("target", rr.Target).Msg("an interrupted restore was recovered first")
	}
	lease, err := s.leaseFor(id, "restore")
	if err != nil {
		return nil, err
	}
	defer lease.Release()

	m, err := s.Show(id)
	if err != nil {
		return nil, err
	}
	target, err = filepath.Abs(target)
	if err != nil {
		return nil, err
	}
	// The plan reads the whole entry list (checking it) before the target
	// or its parent is touched.
	pl, err := planRestore(filepath.Join(s.dir, id), m, target, o)
	if err != nil {
		return nil, err
	}
	if err := checkFree(pl.parent, pl.needBytes, "restore staging"); err != nil {
		return nil, err
	}

	staging := filepath.Join(pl.parent, "."+filepath.Base(target)+".restore-"+id)
	if err := os.RemoveAll(staging); err != nil {
		return nil, fmt.Errorf("removing an old staging directory %s: %w", staging, err)
	}
	rec := &restoreRecord{
		Schema: 1, ID: id, Target: target, Staging: staging, Phase: phaseStaging,
		Displaced:     target + ".displaced-" + id + "-" + time.Now().UTC().Format(idTimeLayout),
		KeepDisplaced: o.KeepDisplaced, Started: time.Now().UTC(), PID: os.Getpid(),
	}
	if !pl.targetExists {
		rec.Displaced = ""
	}
	for i := 2; rec.Displaced != "" && exists(rec.Displaced); i++ {
		rec.Displaced = fmt.Sprintf("%s.displaced-%s-%s-%d", target, id, rec.Started.Format(idTimeLayout), i)
	}
	if err := durable.WriteJSON(s.record, rec, 0o600); err != nil {
		return nil, err
	}
	swapped := false
	defer func() {
		if !swapped {
			s.abandonStaging(rec)
		}
	}()
	if err := os.Mkdir(staging, 0o700); err != nil {
		return nil, fmt.Errorf("creating the staging directory: %w", err)
	}
	ex := &extractor{staging: staging, chown: os.Geteuid() == 0}
	rep := &RestoreReport{ID: id, Target: target, Paths: pl.paths, Kept: pl.kept}
	if m.Storage == storagePacks {
		unlockContent, err := s.lockContent(false)
		if err != nil {
			return nil, err
		}
		defer unlockContent()
	}
	if err := ex.run(ctx, s, m, pl, newProgress("restore", o.Progress, pl.needFileBytes, pl.needFiles)); err != nil {
		return nil, err
	}
	rep.Entries, rep.Bytes = ex.entries, ex.bytes
	// Kept paths move into the new tree; make sure their parents exist there.
	for _, k := range pl.kept {
		if err := os.MkdirAll(filepath.Join(staging, filepath.Dir(k)), 0o755); err != nil {
			return nil, err
		}
	}
	testHook("restore:staged", "")
	if !o.NoSync {
		t0 := time.Now()
		if err := syncFS(staging); err != nil {
			return nil, err
		}
		rep.SyncTook = time.Since(t0)
	}
	steps, err := pl.steps(staging, target, rec.Displaced)
	if err != nil {
		return nil, err
	}
	rec.Phase, rec.Steps = phaseSwapping, steps
	if err := durable.WriteJSON(s.record, rec, 0o600); err != nil {
		return nil, err
	}
	swapped = true // from here on the record finishes the job, whatever happens
	testHook("restore:recorded", "")
	if err := s.finishSwap(rec); err != nil {
		return nil, err
	}
	if rec.KeepDisplaced {
		rep.Displaced = rec.Displaced
	}
	rep.Took = time.Since(start)
	s.log.Info().Str("id", id).Str("target", target).Int("entries", rep.Entries).Dur("took", rep.Took).
		Dur("sync", rep.SyncTook).Str("displaced", rep.Displaced).Msg("snapshot restored")
	return rep, nil
}

// restorePlan is what a restore will write and swap.
type restorePlan struct {
	parent        string
	targetExists  bool
	paths         []string        // subset restore
	kept          []string        // kept live paths that exist
	extras        map[string]bool // subset: first names of hard links in the paths, unpacked too
	scaffold      map[string]bool // subset: directories unpacked only to hold a selected path below them
	needBytes     int64
	needFileBytes int64
	needFiles     int
	liveIno       map[string]uint64
}

// selected says whether the entry at p is unpacked, and whether only as a
// scaffold directory (kept at its working mode: the swap renames below it,
// and it becomes the displaced tree).
func (pl *restorePlan) selected(p string) (sel, scaffold bool) {
	if len(pl.paths) == 0 {
		return !underAny(p, pl.kept), false
	}
	switch {
	case underAny(p, pl.paths), pl.extras[p]:
		return true, false
	case pl.scaffold[p]:
		return true, true
	}
	return false, false
}

func underAny(p string, list []string) bool {
	return slices.ContainsFunc(list, func(q string) bool { return under(p, q) })
}

// keepCandidate is a path a whole restore would keep live.
type keepCandidate struct {
	path    string
	carried bool // from the manifest's excludes (else the caller's Keep)
	ino     uint64
	bytes   int64  // what the snapshot holds below it
	blocker *Entry // a non-directory the snapshot holds above it
	dropped bool
}

// planRestore decides what to unpack, from the live tree and one pass over
// the entry list (which is checked as it is read): memory grows with the
// number of paths asked for and kept, not with the snapshot.
func planRestore(dir string, m *Manifest, target string, o RestoreOptions) (*restorePlan, error) {
	paths, err := cleanRelList("restore path", o.Paths)
	if err != nil {
		return nil, err
	}
	keep, err := cleanRelList("kept path", o.Keep)
	if err != nil {
		return nil, err
	}
	if len(paths) > 0 && len(keep) > 0 {
		return nil, &UsageError{What: "kept path", Value: keep[0], Why: "keeping live paths applies to a full restore only, not together with restore paths"}
	}
	pl := &restorePlan{parent: filepath.Dir(target), paths: dropNested(paths), liveIno: map[string]uint64{},
		extras: map[string]bool{}, scaffold: map[string]bool{}}
	var pst unix.Stat_t
	if err := unix.Stat(pl.parent, &pst); err != nil {
		return nil, fmt.Errorf("restore target's parent %s: %w", pl.parent, err)
	}
	var tst unix.Stat_t
	switch err := unix.Lstat(target, &tst); {
	case err == nil:
		if tst.Mode&unix.S_IFMT != unix.S_IFDIR {
			return nil, fmt.Errorf("restore target %s is not a directory", target)
		}
		pl.targetExists = true
	case errors.Is(err, unix.ENOENT):
		if len(pl.paths) > 0 || len(keep) > 0 {
			return nil, fmt.Errorf("restore target %s does not exist: restoring paths or keeping live data needs the live tree", target)
		}
	default:
		return nil, fmt.Errorf("restore target %s: %w", target, err)
	}
	var cands []*keepCandidate
	for _, k := range keep {
		cands = append(cands, &keepCandidate{path: k})
	}
	if len(pl.paths) == 0 && pl.targetExists && len(m.Exclude) > 0 {
		// Paths left out of the snapshot when it was made are not the
		// snapshot's to replace: a whole-tree restore carries the live ones
		// over like kept paths (else a snapshot that excludes
		// repository/logs would drop the live logs on every rollback). The
		// manifest is untrusted: its excludes pass the same checks as the
		// caller's.
		excl, err := cleanRelList("manifest exclude", m.Exclude)
		if err != nil {
			return nil, &CorruptError{ID: m.ID, Field: "exclude", Expected: "paths inside the tree", Got: err.Error(), Err: err}
		}
		for _, x := range excl {
			if !slices.Contains(keep, x) {
				cands = append(cands, &keepCandidate{path: x, carried: true})
			}
		}
	}
	if pl.targetExists && tst.Dev != pst.Dev && len(pl.paths) == 0 {
		return nil, fmt.Errorf("restore target %s is a mount point: a whole-tree restore swaps it with a sibling by rename, which cannot cross file systems; restore with --paths, or unmount and restore into the parent's file system", target)
	}
	// Kept paths first on the live side: only those that exist are kept.
	var live []*keepCandidate
	if len(pl.paths) == 0 {
		for _, c := range cands {
			switch _, state := liveParents(target, c.path); {
			case state == parentMissing:
				continue // absent live: the snapshot's copy, if any, is restored
			case state == parentNotDir && c.carried:
				// An excluded path below a link (repository/logs/audit
				// under repository/logs -> /var/log/wso2am) was never in
				// the tree: the walk does not follow links. Carrying it
				// over would move something through a link.
				continue
			case state == parentNotDir:
				if err := checkLiveParents(target, c.path); err != nil {
					return nil, err
				}
			}
			var st unix.Stat_t
			if err := unix.Lstat(filepath.Join(target, c.path), &st); err != nil {
				continue
			}
			c.ino = st.Ino
			live = append(live, c)
		}
	}

	// One pass over the entries.
	src, err := openEntries(dir, m)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	type hardlink struct{ path, link string }
	var intoKept []hardlink // hard links whose first name lies in a kept path
	found := map[string]bool{}
	var subsetBytes int64
	var subsetFiles int
	for {
		e, err := src.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		cost := int64(4096)
		if e.Type == TypeFile {
			cost += e.Size
		}
		if len(pl.paths) > 0 {
			if slices.Contains(pl.paths, e.Path) {
				found[e.Path] = true
			}
			if !underAny(e.Path, pl.paths) {
				continue
			}
			subsetBytes += cost
			if e.Type == TypeFile || e.Type == TypeHardlink {
				subsetFiles++
				if e.Type == TypeFile {
					pl.needFileBytes += e.Size
				}
			}
			// A hard link whose first name lies outside the subset needs
			// that file's content: unpack it too (it stays in the staging
			// area).
			if e.Type == TypeHardlink && !underAny(e.Link, pl.paths) && !pl.extras[e.Link] {
				pl.extras[e.Link] = true
				subsetBytes += 4096 + e.Size
				pl.needFileBytes += e.Size
			}
			continue
		}
		inKept := false
		for _, c := range live {
			if under(e.Path, c.path) {
				c.bytes += cost
				inKept = true
			} else if e.Type != TypeDir && c.blocker == nil && under(c.path, e.Path) {
				c.blocker = e
			}
			if e.Type == TypeHardlink && under(e.Link, c.path) && !under(e.Path, c.path) {
				intoKept = append(intoKept, hardlink{e.Path, e.Link})
			}
		}
		if !inKept {
			pl.needBytes += cost
			if e.Type == TypeFile || e.Type == TypeHardlink {
				pl.needFiles++
				if e.Type == TypeFile {
					pl.needFileBytes += e.Size
				}
			}
		}
	}

	if len(pl.paths) > 0 {
		for _, p := range pl.paths {
			if !found[p] {
				return nil, &UsageError{What: "restore path", Value: p, Why: "not in snapshot " + m.ID}
			}
		}
		for _, p := range pl.paths {
			if err := checkLiveParents(target, p); err != nil {
				return nil, err
			}
			var st unix.Stat_t
			if err := unix.Lstat(filepath.Join(target, p), &st); err == nil {
				pl.liveIno[p] = st.Ino
			}
		}
		for p := range pl.extras {
			if underAny(p, pl.paths) {
				delete(pl.extras, p)
			}
		}
		for _, p := range append(slices.Clone(pl.paths), slices.Collect(maps.Keys(pl.extras))...) {
			for a := parentOf(p); ; a = parentOf(a) {
				if !underAny(a, pl.paths) {
					pl.scaffold[a] = true
				}
				if a == "." {
					break
				}
			}
		}
		pl.needBytes, pl.needFiles = subsetBytes+int64(len(pl.scaffold))*4096, subsetFiles+len(pl.extras)
		return pl, nil
	}
	for _, c := range live {
		if c.blocker != nil {
			if c.carried {
				// The snapshot holds a link (or a file) above the excluded
				// path: restored as it is, it covers the path.
				c.dropped = true
				pl.needBytes += c.bytes
				continue
			}
			return nil, fmt.Errorf("cannot keep %s: %s is a %s in the snapshot, not a directory", quote(c.path), quote(c.blocker.Path), c.blocker.Type)
		}
		pl.kept = append(pl.kept, c.path)
		pl.liveIno[c.path] = c.ino
	}
	// A kept path inside another kept path moves with it.
	pl.kept = slices.DeleteFunc(pl.kept, func(k string) bool {
		return slices.ContainsFunc(pl.kept, func(q string) bool { return q != k && under(k, q) })
	})
	for _, h := range intoKept {
		if !underAny(h.path, pl.kept) && underAny(h.link, pl.kept) {
			return nil, fmt.Errorf("cannot keep the live %s: the snapshot's %s is a hard link to %s inside it", quote(h.link), quote(h.path), quote(h.link))
		}
	}
	return pl, nil
}

// checkLiveParents refuses a live path reached through a symlink or a
// non-directory: a rename there would land outside the tree.
func checkLiveParents(target, p string) error {
	switch a, state := liveParents(target, p); state {
	case parentMissing:
		return fmt.Errorf("%s: its parent %s is missing from the live tree; restore the parent instead", quote(p), quote(a))
	case parentNotDir:
		return fmt.Errorf("%s: its parent %s in the live tree is not a directory (a symlink?); restore the parent instead", quote(p), quote(a))
	}
	return nil
}

const (
	parentsOK = iota
	parentMissing
	parentNotDir
)

// liveParents looks at the parents of p in the live tree, from the top, and
// returns the first that is missing or not a real directory.
func liveParents(target, p string) (string, int) {
	var parents []string
	for a := parentOf(p); a != "."; a = parentOf(a) {
		parents = append(parents, a)
	}
	for _, a := range slices.Backward(parents) {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(target, a), &st); err != nil {
			return a, parentMissing
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return a, parentNotDir
		}
	}
	return "", parentsOK
}

// dropNested removes paths that lie below another path of the list.
func dropNested(paths []string) []string {
	slices.Sort(paths)
	paths = slices.Compact(paths)
	var out []string
	for _, p := range paths {
		if !slices.ContainsFunc(out, func(q string) bool { return under(p, q) }) {
			out = append(out, p)
		}
	}
	return out
}

// steps are the renames of the swap, with the inode each path holds now so
// that Recover can tell, after a crash, which of them already happened.
func (pl *restorePlan) steps(staging, target, displaced string) ([]swapStep, error) {
	ino := func(p string) (uint64, error) {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return 0, fmt.Errorf("planning the swap: %w", err)
		}
		return st.Ino, nil
	}
	stIno, err := ino(staging)
	if err != nil {
		return nil, err
	}
	if !pl.targetExists {
		return []swapStep{{Op: opRename, A: staging, B: target, InoA: stIno}}, nil
	}
	var steps []swapStep
	if len(pl.paths) == 0 {
		tIno, err := ino(target)
		if err != nil {
			return nil, err
		}
		for _, k := range pl.kept {
			steps = append(steps, swapStep{Op: opRename, A: filepath.Join(target, k), B: filepath.Join(staging, k), InoA: pl.liveIno[k]})
		}
		steps = append(steps,
			swapStep{Op: opExchange, A: staging, B: target, InoA: stIno, InoB: tIno},
			swapStep{Op: opRename, A: staging, B: displaced, InoA: tIno})
		return steps, nil
	}
	for _, p := range pl.paths {
		a := filepath.Join(staging, p)
		aIno, err := ino(a)
		if err != nil {
			return nil, err
		}
		if live, ok := pl.liveIno[p]; ok {
			steps = append(steps, swapStep{Op: opExchange, A: a, B: filepath.Join(target, p), InoA: aIno, InoB: live})
		} else {
			steps = append(steps, swapStep{Op: opRename, A: a, B: filepath.Join(target, p), InoA: aIno})
		}
	}
	return append(steps, swapStep{Op: opRename, A: staging, B: displaced, InoA: stIno}), nil
}

// extractor unpacks the selected entries into staging, verifying each
// against the manifest as it goes. The tar stream is read on this
// goroutine (decoded ahead on another); regular files are written and
// hashed on a writer goroutine (see fileWriters), because creating and
// writing thousands of files is mostly kernel time that would otherwise
// stall the decoding.
type extractor struct {
	staging string
	chown   bool
	// leased: the caller holds a lease on the snapshot, not the content
	// lock; the content index is loaded under the shared content lock,
	// which is then given back (see sweep).
	leased  bool
	entries int
	bytes   int64
}

func (x *extractor) run(ctx context.Context, s *Store, m *Manifest, pl *restorePlan, prog *progress) (err error) {
	var st contentStream
	if x.leased && m.Storage == storagePacks {
		unlock, err := s.lockContent(false)
		if err != nil {
			return err
		}
		st, err = s.openContent(m)
		unlock()
		if err != nil {
			return err
		}
	} else if st, err = s.openContent(m); err != nil {
		return err
	}
	defer st.Close()
	fw, err := newFileWriters(x.staging, m.ID, x.chown)
	if err != nil {
		return err
	}
	defer func() {
		// A worker's error concerns an entry earlier in the stream than
		// anything this goroutine met since: report it first, as a
		// sequential restore would have.
		if werr := fw.close(); werr != nil {
			err = werr
		}
	}()
	// The directories being filled, outermost first. Entries come depth
	// first, so a directory is complete when an entry outside it arrives:
	// its mode and time are then set by the writer, after every file in it
	// (a read-only directory must not be read-only while it is filled, and
	// its contents change its mtime). Memory: the tree's depth.
	type openDir struct {
		e        *Entry
		path     string
		scaffold bool
	}
	var open []openDir
	closeDirs := func(p string) {
		for len(open) > 0 {
			top := open[len(open)-1]
			if p != "" && under(p, top.e.Path) {
				return
			}
			open = open[:len(open)-1]
			if !top.scaffold {
				fw.finishDir(top.path, top.e)
			}
		}
	}
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if fw.failed() {
			return nil // close reports the worker's error
		}
		e, err := st.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		sel, scaffold := pl.selected(e.Path)
		if !sel {
			continue // its bytes are skipped; the stream checksum still covers them
		}
		closeDirs(e.Path)
		x.entries++
		p := x.staging
		if e.Path != "." {
			p = filepath.Join(x.staging, e.Path)
		}
		switch e.Type {
		case TypeDir:
			if e.Path != "." {
				if err := unix.Mkdir(p, 0o700); err != nil {
					return &os.PathError{Op: "mkdir", Path: p, Err: err}
				}
			}
			open = append(open, openDir{e: e, path: p, scaffold: scaffold})
		case TypeFile:
			r, err := st.content(e)
			if err != nil {
				return err
			}
			n, err := fw.write(i, p, e, r, st.errf, prog)
			x.bytes += n
			if err != nil {
				return err
			}
			prog.add(0, 1)
		case TypeSymlink:
			if err := unix.Symlink(e.Link, p); err != nil {
				return &os.PathError{Op: "symlink", Path: p, Err: err}
			}
			if err := x.finishMeta(p, e, false); err != nil {
				return err
			}
		case TypeHardlink:
			// The first name may still be with a worker.
			fw.wait()
			if err := os.Link(filepath.Join(x.staging, e.Link), p); err != nil {
				return err
			}
			prog.add(0, 1)
		}
	}
	closeDirs("")
	fw.wait()
	if fw.failed() {
		return nil
	}
	prog.finish()
	return nil
}

func (x *extractor) finishMeta(p string, e *Entry, chmod bool) error {
	if x.chown {
		if err := unix.Lchown(p, e.UID, e.GID); err != nil {
			return &os.PathError{Op: "chown", Path: p, Err: err}
		}
	}
	if chmod {
		if err := unix.Chmod(p, uint32(e.Mode)); err != nil {
			return &os.PathError{Op: "chmod", Path: p, Err: err}
		}
	}
	return setMTime(p, e)
}

func setMTime(p string, e *Entry) error {
	ts := unix.NsecToTimespec(e.MTime.UnixNano())
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "utimes", Path: p, Err: err}
	}
	return nil
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// syncFS flushes the whole file system holding dir: one call instead of an
// fsync per file, before the swap makes the staged tree live.
func syncFS(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	if err := unix.Syncfs(fd); err != nil {
		return &os.PathError{Op: "syncfs", Path: dir, Err: err}
	}
	return nil
}

// checkFree compares the free space of dir's file system with need.
func checkFree(dir string, need int64, what string) error {
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		return fmt.Errorf("free space in %s: %w", dir, err)
	}
	free := int64(fs.Bavail) * int64(fs.Bsize)
	if need+16<<20 > free {
		return &InsufficientSpaceError{Dir: dir, Need: need, Free: free, What: what}
	}
	return nil
}

// stagingName reports whether p looks like a staging directory this
// package made for target: Recover removes only such paths.
func stagingName(p, target string) bool {
	return filepath.Dir(p) == filepath.Dir(target) &&
		strings.HasPrefix(filepath.Base(p), "."+filepath.Base(target)+".restore-")
}
