package hooks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/internal/durable"
)

// A change set is what u2 changed on a rehearsal copy, made ready to be
// applied to the live pack: the operations, in the order they are taken,
// and the content they need, staged in a directory beside the live pack
// (the same file system, so that every operation that brings content is a
// rename, atomic for each file). It is captured right after u2, before the
// copy boots (a boot writes logs, databases and exploded web applications
// into the copy, none of which is u2's), and written once, durably, as
// plan.json in the staging directory.
//
// Applying is idempotent: each operation looks at the live pack first
// (content still staged? path still of the old type?), so a process killed
// half way is finished by running the plan again; a verification then reads
// back every path the plan touched.

// planFile is the change set's record in its staging directory.
const planFile = "plan.json"

// The operations of a change set.
const (
	opRemove  = "remove"  // move Path (whatever is there unless it already has type Keep) out of the pack
	opMkdir   = "mkdir"   // create the directory Path
	opFile    = "file"    // rename the staged file over Path
	opSymlink = "symlink" // rename the staged link over Path
	opMeta    = "meta"    // set Path's mode (and owner, as root)
)

// applyOp is one operation of a change set.
type applyOp struct {
	Op   string `json:"op"`
	Path string `json:"path"` // relative to the pack, forward slashes
	// Keep, for a remove: the type the path has once the plan has run (a
	// path whose type u2 changed is removed, then made again); a path that
	// already has it is left alone when the plan runs again.
	Keep   string    `json:"keep,omitempty"`
	Mode   uint32    `json:"mode,omitempty"` // permission bits (07777)
	UID    int       `json:"uid"`
	GID    int       `json:"gid"`
	Owner  bool      `json:"owner,omitempty"` // set UID/GID (only as root)
	MTime  time.Time `json:"mtime,omitzero"`
	Size   int64     `json:"size,omitempty"`
	Hash   string    `json:"sha256,omitempty"`
	Link   string    `json:"link,omitempty"`   // a symlink's target
	Staged string    `json:"staged,omitempty"` // in the staging directory: files/<n>, links/<n>, removed/<n>
}

// changePlan is a change set as plan.json keeps it.
type changePlan struct {
	Ops []applyOp `json:"ops"`
	// Files and Bytes count the staged content.
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

// captureOptions say how to capture a change set.
type captureOptions struct {
	// Copy is the rehearsal copy u2 ran on; Staging the directory to create
	// beside the live pack (it must not exist).
	Copy, Staging string
	// Detached are the copy's paths whose links out of the pack were
	// replaced before u2 ran (see detachLinks): they are not u2's changes,
	// but u2 writing below one of them is a change the live pack cannot
	// take without writing where the link leads.
	Detached []string
	// Leak is a path (the rehearsal's scratch directory) that must not be
	// found in the content u2 wrote outside its logs: a file that names the
	// copy would point the live pack at a directory about to be removed.
	Leak string
}

// unmergeable is why a change set cannot be applied file by file; the
// update then runs u2 on the live pack instead.
type unmergeable struct{ why string }

func (e *unmergeable) Error() string { return e.why }

// captureChanges turns the difference between the rehearsal's base snapshot
// and the copy after u2 into a change set in o.Staging. An *unmergeable
// error says the change set cannot be applied file by file (the plan is
// still returned when one was made); other errors mean the capture failed.
func captureChanges(ctx context.Context, d *archive.DiffReport, o captureOptions) (*changePlan, *Changes, error) {
	root := os.Geteuid() == 0
	changes := &Changes{}
	var why []string
	detached := func(p string) (string, bool) {
		for _, dp := range o.Detached {
			if p == dp || strings.HasPrefix(p, dp+"/") {
				return dp, true
			}
		}
		return "", false
	}
	var ops []applyOp
	var removes []applyOp
	var metas []applyOp
	add := func(c archive.Change) error {
		st, err := os.Lstat(filepath.Join(o.Copy, filepath.FromSlash(c.Path)))
		if err != nil {
			return fmt.Errorf("reading %s in the rehearsal copy: %w", c.Path, err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		op := applyOp{Path: c.Path, Mode: uint32(st.Mode().Perm()) | uint32(sys.Mode&0o7000), UID: int(sys.Uid), GID: int(sys.Gid), Owner: root,
			MTime: st.ModTime().UTC()}
		switch {
		case st.IsDir():
			op.Op = opMkdir
			ops = append(ops, op)
			meta := op
			meta.Op = opMeta
			metas = append(metas, meta)
		case st.Mode()&fs.ModeSymlink != 0:
			op.Op = opSymlink
			if op.Link, err = os.Readlink(filepath.Join(o.Copy, filepath.FromSlash(c.Path))); err != nil {
				return err
			}
			ops = append(ops, op)
		case st.Mode().IsRegular():
			op.Op = opFile
			op.Size = st.Size()
			ops = append(ops, op)
		default:
			return &unmergeable{why: fmt.Sprintf("u2 left %s in the copy, which is neither a file, a directory nor a link", c.Path)}
		}
		return nil
	}
	for _, c := range d.Removed {
		if dp, ok := detached(c.Path); ok {
			if c.Path != dp {
				why = append(why, fmt.Sprintf("u2 removed %s, below %s, a link out of the pack in the live node", c.Path, dp))
			}
			continue
		}
		removes = append(removes, applyOp{Op: opRemove, Path: c.Path})
		changes.Removed = append(changes.Removed, c.Path)
	}
	for _, c := range d.Added {
		if dp, ok := detached(c.Path); ok {
			why = append(why, fmt.Sprintf("u2 wrote %s, below %s, a link out of the pack in the live node", c.Path, dp))
			continue
		}
		if err := add(c); err != nil {
			return nil, nil, err
		}
		changes.Added = append(changes.Added, c.Path)
	}
	for _, c := range d.Changed {
		if dp, ok := detached(c.Path); ok {
			if c.Path != dp {
				why = append(why, fmt.Sprintf("u2 changed %s, below %s, a link out of the pack in the live node", c.Path, dp))
			}
			continue
		}
		what := map[string]bool{}
		for _, w := range c.What {
			what[w] = true
		}
		if !root {
			// Not root, the copy's files belong to whoever laid it down;
			// the live pack's owners stay as they are.
			delete(what, "owner")
		}
		if len(what) == 0 {
			continue
		}
		changes.Modified = append(changes.Modified, c.Path)
		switch {
		case what["type"]:
			removes = append(removes, applyOp{Op: opRemove, Path: c.Path, Keep: c.Type})
			if err := add(c); err != nil {
				return nil, nil, err
			}
		case what["content"] || what["link"]:
			if err := add(c); err != nil {
				return nil, nil, err
			}
		default: // mode, owner
			st, err := os.Lstat(filepath.Join(o.Copy, filepath.FromSlash(c.Path)))
			if err != nil {
				return nil, nil, fmt.Errorf("reading %s in the rehearsal copy: %w", c.Path, err)
			}
			sys := st.Sys().(*syscall.Stat_t)
			metas = append(metas, applyOp{Op: opMeta, Path: c.Path, Mode: uint32(st.Mode().Perm()) | uint32(sys.Mode&0o7000),
				UID: int(sys.Uid), GID: int(sys.Gid), Owner: root && what["owner"]})
		}
	}
	for _, op := range append(append(append([]applyOp{}, removes...), ops...), metas...) {
		for _, s := range []string{op.Path, op.Link} {
			if !utf8.ValidString(s) {
				why = append(why, fmt.Sprintf("u2 changed %q, a name the change set does not carry (not UTF-8)", op.Path))
			}
		}
	}

	// Removals first (only the topmost of a removed tree: its children go
	// with it), then new directories parents first, then content, then
	// modes deepest first (a directory made read-only last).
	removes = topmost(removes)
	sort.Slice(ops, func(i, j int) bool {
		oi, oj := ops[i].Op == opMkdir, ops[j].Op == opMkdir
		if oi != oj {
			return oi
		}
		return ops[i].Path < ops[j].Path
	})
	sort.Slice(metas, func(i, j int) bool { return metas[i].Path > metas[j].Path })
	plan := &changePlan{}
	plan.Ops = append(append(append(plan.Ops, removes...), ops...), metas...)
	if len(why) > 0 {
		return plan, changes, &unmergeable{why: strings.Join(why, "; ")}
	}

	// Stage the content.
	if err := os.Mkdir(o.Staging, 0o700); err != nil {
		return nil, nil, fmt.Errorf("creating the change set's staging directory: %w", err)
	}
	for _, sub := range []string{"files", "links", "removed"} {
		if err := os.Mkdir(filepath.Join(o.Staging, sub), 0o700); err != nil {
			return nil, nil, err
		}
	}
	n := 0
	var leaks []string
	for i := range plan.Ops {
		op := &plan.Ops[i]
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		n++
		switch op.Op {
		case opFile:
			op.Staged = fmt.Sprintf("files/%d", n)
			leak, err := stageFile(filepath.Join(o.Copy, filepath.FromSlash(op.Path)), filepath.Join(o.Staging, op.Staged), op, o.Leak)
			if err != nil {
				return nil, nil, err
			}
			if leak && !strings.HasPrefix(op.Path, "updates/logs/") {
				leaks = append(leaks, op.Path)
			}
			plan.Files++
			plan.Bytes += op.Size
		case opSymlink:
			op.Staged = fmt.Sprintf("links/%d", n)
			dst := filepath.Join(o.Staging, op.Staged)
			if err := os.Symlink(op.Link, dst); err != nil {
				return nil, nil, err
			}
			if op.Owner {
				if err := os.Lchown(dst, op.UID, op.GID); err != nil {
					return nil, nil, err
				}
			}
			if o.Leak != "" && strings.Contains(op.Link, o.Leak) {
				leaks = append(leaks, op.Path)
			}
		case opRemove:
			op.Staged = fmt.Sprintf("removed/%d", n)
		}
	}
	for _, sub := range []string{"files", "links", "removed", ""} {
		if err := durable.SyncDir(filepath.Join(o.Staging, sub)); err != nil {
			return nil, nil, err
		}
	}
	if err := durable.WriteJSON(filepath.Join(o.Staging, planFile), plan, 0o600); err != nil {
		return nil, nil, fmt.Errorf("writing the change set's plan: %w", err)
	}
	if len(leaks) > 0 {
		return plan, changes, &unmergeable{why: fmt.Sprintf("u2 wrote the rehearsal copy's own path (%s) into %s", o.Leak, strings.Join(leaks, ", "))}
	}
	return plan, changes, nil
}

// topmost keeps the removals that no other removal holds.
func topmost(rs []applyOp) []applyOp {
	sort.Slice(rs, func(i, j int) bool { return rs[i].Path < rs[j].Path })
	var out []applyOp
	for _, r := range rs {
		if len(out) > 0 {
			last := out[len(out)-1].Path
			if strings.HasPrefix(r.Path, last+"/") {
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

// stageFile copies src to dst (which must not exist) with op's mode, owner
// and time, synced, and records its size and SHA-256 in op. It reports
// whether the content holds leak.
func stageFile(src, dst string, op *applyOp, leak string) (bool, error) {
	in, err := os.Open(src)
	if err != nil {
		return false, fmt.Errorf("reading %s in the rehearsal copy: %w", op.Path, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return false, err
	}
	h := sha256.New()
	scan := &finder{pattern: []byte(leak)}
	size, err := io.Copy(io.MultiWriter(out, h, scan), in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("staging %s: %w", op.Path, err)
	}
	op.Size, op.Hash = size, hex.EncodeToString(h.Sum(nil))
	if err := setMeta(dst, op, true); err != nil {
		return false, fmt.Errorf("staging %s: %w", op.Path, err)
	}
	return scan.found, nil
}

// finder tells whether a stream holds pattern (across writes).
type finder struct {
	pattern []byte
	tail    []byte
	found   bool
}

func (f *finder) Write(p []byte) (int, error) {
	if f.found || len(f.pattern) == 0 {
		return len(p), nil
	}
	buf := append(f.tail, p...)
	if bytes.Contains(buf, f.pattern) {
		f.found = true
		return len(p), nil
	}
	keep := min(len(buf), len(f.pattern)-1)
	f.tail = append(f.tail[:0], buf[len(buf)-keep:]...)
	return len(p), nil
}

// setMeta gives path op's mode, owner (as root) and, for files, time.
func setMeta(p string, op *applyOp, times bool) error {
	if op.Owner {
		if err := os.Lchown(p, op.UID, op.GID); err != nil {
			return err
		}
	}
	if st, err := os.Lstat(p); err != nil {
		return err
	} else if st.Mode()&fs.ModeSymlink != 0 {
		return nil // a link has no mode of its own; chmod would change its target's
	}
	// chmod after chown: chown clears the setuid and setgid bits.
	if err := os.Chmod(p, fileMode(op.Mode)); err != nil {
		return err
	}
	if times && !op.MTime.IsZero() {
		return os.Chtimes(p, op.MTime, op.MTime)
	}
	return nil
}

// fileMode turns permission and special bits as stat gives them into an
// os.FileMode.
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&syscall.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&syscall.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&syscall.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// loadPlan reads a change set's plan from its staging directory.
func loadPlan(staging string) (*changePlan, error) {
	var plan changePlan
	data, err := os.ReadFile(filepath.Join(staging, planFile))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &plan); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(staging, planFile), err)
	}
	return &plan, nil
}

// applyPlan makes the live pack at home what the plan says, from
// whatever point a previous run stopped at. step is called after each
// operation that changed the pack (the crash tests kill the process
// there).
func applyPlan(home, staging string, plan *changePlan, step func(i int)) error {
	dirs := map[string]bool{}
	for i, op := range plan.Ops {
		target, err := inPack(home, op.Path)
		if err != nil {
			return err
		}
		changed := false
		switch op.Op {
		case opRemove:
			st, err := os.Lstat(target)
			if errors.Is(err, fs.ErrNotExist) {
				break
			}
			if err != nil {
				return err
			}
			if op.Keep != "" && typeOf(st) == op.Keep {
				break // removed and made again by an earlier run
			}
			dst := filepath.Join(staging, op.Staged)
			if _, err := os.Lstat(dst); err == nil {
				// An earlier run moved the old entry out already; this is
				// something else, e.g. made again half way: out with it too.
				if err := os.RemoveAll(dst); err != nil {
					return err
				}
			}
			if err := os.Rename(target, dst); err != nil {
				return fmt.Errorf("removing %s: %w", op.Path, err)
			}
			changed = true
		case opMkdir:
			st, err := os.Lstat(target)
			if err == nil && st.IsDir() {
				break
			}
			if err == nil {
				return fmt.Errorf("making directory %s: a %s is in the way", op.Path, typeOf(st))
			}
			if err := os.Mkdir(target, 0o700); err != nil {
				return fmt.Errorf("making directory %s: %w", op.Path, err)
			}
			changed = true
		case opFile, opSymlink:
			src := filepath.Join(staging, op.Staged)
			if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
				break // renamed into place by an earlier run
			}
			if st, err := os.Lstat(target); err == nil && st.IsDir() {
				return fmt.Errorf("replacing %s: a directory is in the way", op.Path)
			}
			if err := os.Rename(src, target); err != nil {
				return fmt.Errorf("replacing %s: %w", op.Path, err)
			}
			changed = true
		case opMeta:
			if err := setMeta(target, &op, false); err != nil {
				return fmt.Errorf("setting the mode of %s: %w", op.Path, err)
			}
		default:
			return fmt.Errorf("change set: unknown operation %q for %s", op.Op, op.Path)
		}
		dirs[filepath.Dir(target)] = true
		if changed && step != nil {
			step(i)
		}
	}
	for d := range dirs {
		if err := durable.SyncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// verifyPlan reads back every path the plan touched in the live pack.
func verifyPlan(home string, plan *changePlan) error {
	var bad []string
	h := sha256.New()
	for _, op := range plan.Ops {
		target, err := inPack(home, op.Path)
		if err != nil {
			return err
		}
		st, err := os.Lstat(target)
		switch op.Op {
		case opRemove:
			if err == nil && (op.Keep == "" || typeOf(st) != op.Keep) {
				bad = append(bad, op.Path+" is still there")
			}
			continue
		}
		if err != nil {
			bad = append(bad, op.Path+": "+err.Error())
			continue
		}
		switch op.Op {
		case opMkdir:
			if !st.IsDir() {
				bad = append(bad, op.Path+" is not a directory")
			}
		case opSymlink:
			if l, err := os.Readlink(target); err != nil || l != op.Link {
				bad = append(bad, op.Path+" does not link to "+op.Link)
			}
		case opFile:
			f, err := os.Open(target)
			if err != nil {
				bad = append(bad, op.Path+": "+err.Error())
				continue
			}
			h.Reset()
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil || hex.EncodeToString(h.Sum(nil)) != op.Hash {
				bad = append(bad, op.Path+" does not hold the content u2 gave it on the copy")
			}
			fallthrough
		case opMeta:
			sys := st.Sys().(*syscall.Stat_t)
			if uint32(sys.Mode&0o7777) != op.Mode {
				bad = append(bad, fmt.Sprintf("%s has mode %04o, want %04o", op.Path, sys.Mode&0o7777, op.Mode))
			}
			if op.Owner && (int(sys.Uid) != op.UID || int(sys.Gid) != op.GID) {
				bad = append(bad, fmt.Sprintf("%s is owned by %d:%d, want %d:%d", op.Path, sys.Uid, sys.Gid, op.UID, op.GID))
			}
		}
	}
	if len(bad) > 0 {
		if len(bad) > 10 {
			bad = append(bad[:10], fmt.Sprintf("and %d more", len(bad)-10))
		}
		return fmt.Errorf("the live pack is not what the change set makes it: %s", strings.Join(bad, "; "))
	}
	return nil
}

// inPack is the live path of rel, refused when rel could leave the pack or
// when a directory on the way is a link (a rename through it would write
// where it leads).
func inPack(home, rel string) (string, error) {
	if rel == "" || rel == "." || path.IsAbs(rel) || path.Clean(rel) != rel || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("change set: refusing the path %q", rel)
	}
	dir := home
	parts := strings.Split(rel, "/")
	for _, part := range parts[:len(parts)-1] {
		dir = filepath.Join(dir, part)
		st, err := os.Lstat(dir)
		if errors.Is(err, fs.ErrNotExist) {
			break // made by an earlier operation of the plan
		}
		if err != nil {
			return "", err
		}
		if !st.IsDir() {
			return "", fmt.Errorf("change set: %s is reached through %s, which is not a directory in the live pack", rel, strings.TrimPrefix(dir, home+"/"))
		}
	}
	return filepath.Join(home, filepath.FromSlash(rel)), nil
}

func typeOf(st fs.FileInfo) string {
	switch {
	case st.IsDir():
		return archive.TypeDir
	case st.Mode()&fs.ModeSymlink != 0:
		return archive.TypeSymlink
	case st.Mode().IsRegular():
		return archive.TypeFile
	}
	return "special"
}
