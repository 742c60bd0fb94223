package drill

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/clone"
	"github.com/carbonguard/carbonguard/pack"
)

// CheckFunc runs the production checks on the copy at home, writes their
// JSON report to report, and says what they found. An error means they
// could not run.
type CheckFunc func(ctx context.Context, home, report string) (*Check, error)

// Options say what to drill and how.
type Options struct {
	// StateDir is the live pack's state directory: the records go to
	// <StateDir>/drills. Store is its snapshot store.
	StateDir string
	Store    *archive.Store
	// Snapshot is the snapshot to drill; "" is the newest verified one.
	Snapshot string
	// Home is the live pack's home, Live the pack read from it (nil at a
	// site without the live pack: then the copy is judged on its own).
	Home string
	Live *pack.Pack
	// Target is where the copy is laid down: a directory that does not
	// exist yet, whose parent does, outside the live pack. "" is
	// <ScratchDir>/<pack>-drill-<id> when ScratchDir is set, else
	// <StateDir>/drills/<id>/pack.
	Target     string
	ScratchDir string
	// Keep leaves the copy in place; NoBoot stops after the checks.
	Keep   bool
	NoBoot bool
	// Overrides is the [drill] overrides fragment merged over the copy's
	// deployment.toml before it boots (see clone.Override).
	Overrides map[string]any
	// Boot is how the copy is booted: the wrapper's options from [start],
	// the network (Live, Overridden and Evidence are set by Run).
	Boot clone.Options
	// Check runs the production checks on the copy (required).
	Check CheckFunc
	// Progress receives the restore's progress.
	Progress    func(archive.Progress)
	Logger      zerolog.Logger
	ToolVersion string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Run runs one drill (see the package documentation) and returns its
// record. The outcomes that are not a pass come back as typed errors with
// the record: *FailedError (the copy did not boot up or did not match),
// *RefusedError; other errors mean the drill could not run (the record,
// when one was started, says how far it got).
func Run(ctx context.Context, o Options) (*Record, error) {
	if o.Store == nil || o.StateDir == "" {
		return nil, errors.New("drill: Run needs the state directory and its store")
	}
	if o.Check == nil {
		return nil, errors.New("drill: Run needs a CheckFunc")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	log := o.Logger
	unlock, err := lock(o.StateDir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	recoverStale(o.StateDir, o.Now, log)

	snap, lease, err := leaseSnapshot(o.Store, o.Snapshot)
	if err != nil {
		return nil, err
	}
	defer lease.Release()
	r := &Record{
		SchemaVersion: RecordSchemaVersion, ID: newID(o.StateDir, o.Now()), State: StateRunning, Started: o.Now().UTC(),
		Home: o.Home, Keep: o.Keep, NoBoot: o.NoBoot, PID: os.Getpid(), Tool: o.ToolVersion,
		Snapshot: SnapshotRef{ID: snap.ID, Created: snap.Created, Reason: snap.Reason, Meta: snap.Meta, Bytes: snap.Bytes, Entries: snap.Entries},
	}
	if snap.Verified != nil && snap.Verified.OK {
		t := snap.Verified.At
		r.Snapshot.LastVerfied = &t
	} else {
		r.Notes = append(r.Notes, "the snapshot was never verified before; laying it down verifies it")
	}
	dir := filepath.Join(Dir(o.StateDir), r.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r.Copy = o.Target
	switch {
	case r.Copy != "":
	case o.ScratchDir != "":
		name := "pack"
		if o.Home != "" {
			name = filepath.Base(o.Home)
		}
		r.Copy = filepath.Join(o.ScratchDir, name+"-drill-"+r.ID)
	default:
		r.Copy = filepath.Join(dir, "pack")
	}
	d := &run{o: o, r: r, dir: dir, log: log.With().Str("drill", r.ID).Logger()}
	err = d.checkTarget()
	if err == nil && o.Live != nil && !o.NoBoot {
		// Refuse before laying 100s of MB down when the live pack already
		// tells: the copy is checked again before it boots.
		bo := o.Boot
		bo.Overridden = clone.OverrideKeys(o.Overrides)
		_, err = clone.Admit(o.Live, bo)
	}
	if err != nil {
		err = d.refuse(err)
		d.finish()
		_ = d.save()
		return r, err
	}
	if err := d.save(); err != nil {
		return r, err
	}
	return r, d.steps(ctx)
}

type run struct {
	o   Options
	r   *Record
	dir string
	log zerolog.Logger
}

func (d *run) save() error {
	if err := d.r.save(d.o.StateDir); err != nil {
		d.log.Error().Err(err).Msg("writing the drill record")
		return err
	}
	return nil
}

func (d *run) steps(ctx context.Context) (err error) {
	r, o := d.r, d.o
	defer func() {
		if r.State == StateRunning {
			switch {
			case ctx.Err() != nil:
				r.State, r.Reason = StateInterrupted, joinNonEmpty(r.Reason, "interrupted: "+context.Cause(ctx).Error())
			case err != nil:
				r.State, r.Reason = StateError, joinNonEmpty(r.Reason, err.Error())
			}
		}
		d.finish()
		if serr := d.save(); serr != nil && err == nil {
			err = serr
		}
		prune(o.StateDir, KeepRecords)
	}()

	// Restored: laid down, each entry checked against the manifest.
	d.log.Info().Str("snapshot", r.Snapshot.ID).Str("copy", r.Copy).Msg("laying the snapshot down")
	r.CopyCreated = true // from here on the copy is this drill's to remove
	if err := d.save(); err != nil {
		return err
	}
	rep, err := o.Store.Extract(ctx, r.Snapshot.ID, r.Copy, archive.ExtractOptions{Progress: o.Progress})
	if err != nil {
		var ue *archive.UsageError
		if errors.As(err, &ue) {
			r.CopyCreated = false // someone else's directory appeared there
		}
		return err
	}
	r.Restore = &Step{TookMS: rep.Took.Milliseconds(), SyncMS: rep.SyncTook.Milliseconds(), Entries: rep.Entries, Bytes: rep.Bytes}
	r.reach(LevelRestored)
	if err := d.save(); err != nil {
		return err
	}

	// Verified: the copy on disk, read back, is the snapshot.
	t0 := time.Now()
	diff, err := o.Store.DiffLive(ctx, r.Snapshot.ID, r.Copy)
	if err != nil {
		return fmt.Errorf("comparing the copy with the snapshot: %w", err)
	}
	r.Verify = &Verify{TookMS: time.Since(t0).Milliseconds()}
	d.differences(diff)
	if r.Verify.Count > 0 {
		r.State, r.Reason = StateFailed, fmt.Sprintf("the copy differs from snapshot %s in %s", r.Snapshot.ID, plural(r.Verify.Count, "entry", "entries"))
		return &FailedError{Record: r}
	}
	r.reach(LevelVerified)
	if err := d.save(); err != nil {
		return err
	}

	// The overrides make the copy the one that boots; --no-boot checks the
	// snapshot as it is.
	if !o.NoBoot {
		keys, err := clone.Override(r.Copy, o.Overrides)
		if err != nil {
			return d.refuse(err)
		}
		r.Overrides = keys
	}

	// Checked: the production checks ran on the copy.
	t0 = time.Now()
	ck, err := o.Check(ctx, r.Copy, filepath.Join(d.dir, "check.json"))
	if err != nil {
		r.Check = &Check{TookMS: time.Since(t0).Milliseconds(), Error: err.Error()}
		r.State, r.Reason = StateFailed, "the production checks could not run on the copy: "+err.Error()
		return &FailedError{Record: r}
	}
	ck.TookMS = time.Since(t0).Milliseconds()
	r.Check = ck
	r.reach(LevelChecked)
	if err := d.save(); err != nil {
		return err
	}
	if o.NoBoot {
		r.State, r.Reason = StatePassed, "restored, verified and checked; not booted (--no-boot)"
		return nil
	}

	// Booted: the copy came up, isolated, judged as a start is.
	bo := o.Boot
	bo.Live, bo.Overridden, bo.Evidence = o.Live, r.Overrides, filepath.Join(d.dir, "evidence")
	bo.Logger = d.log
	res, err := clone.Boot(ctx, r.Copy, bo)
	if err != nil {
		return d.refuse(err)
	}
	r.Boot = res
	if len(res.Evidence) > 0 {
		r.Evidence = bo.Evidence
	}
	if res.NoIsolation != "" {
		r.Notes = append(r.Notes, "not isolated: "+res.NoIsolation)
	}
	if !res.Up() {
		st := "no verdict"
		if res.Verdict != nil {
			st = string(res.Verdict.State) + ": " + res.Verdict.Reason
		}
		if ctx.Err() != nil {
			r.State, r.Reason = StateInterrupted, "interrupted while the copy booted: "+st
			return fmt.Errorf("drill %s interrupted: %w", r.ID, context.Cause(ctx))
		}
		r.State, r.Reason = StateFailed, "the copy's boot verdict is "+st
		return &FailedError{Record: r}
	}
	// The RTO is the time of a recovery that works: a boot that is not up
	// has its time in Boot.
	r.RTO = &RTO{RestoreMS: r.Restore.TookMS, BootMS: res.BootMS, TotalMS: r.Restore.TookMS + res.BootMS}
	if res.ServingMS > 0 {
		r.RTO.ServingMS = r.Restore.TookMS + res.ServingMS
	}
	r.reach(LevelBooted)
	r.State, r.Reason = StatePassed, "restored, verified, checked and booted up"
	return nil
}

// refuse ends the drill as refused when err is a refusal (the copy's
// databases or network, the overrides, the target), and returns the error
// to give back.
func (d *run) refuse(err error) error {
	var cr *clone.RefusedError
	var oe *clone.OverrideError
	var te *TargetError
	if errors.As(err, &cr) || errors.As(err, &oe) || errors.As(err, &te) {
		d.r.State, d.r.Reason = StateRefused, err.Error()
		return &RefusedError{Record: d.r, Err: err}
	}
	return err
}

// finish removes the copy (unless kept; never a directory this drill did
// not create) and stamps the end.
func (d *run) finish() {
	r := d.r
	if !r.Keep && r.CopyCreated && r.Copy != "" {
		if _, err := os.Lstat(r.Copy); err == nil {
			if killed := clone.Cleanup(r.Copy); len(killed) > 0 {
				d.log.Warn().Ints("pids", killed).Msg("killed processes of the copy before removing it")
			}
			if err := os.RemoveAll(r.Copy); err != nil {
				d.log.Warn().Err(err).Str("copy", r.Copy).Msg("removing the copy")
				r.Notes = append(r.Notes, "the copy could not be removed: "+err.Error())
			} else {
				r.Removed = true
			}
		} else if errors.Is(err, fs.ErrNotExist) {
			r.Removed = true
		}
	}
	if r.Finished.IsZero() {
		r.Finished = d.o.Now().UTC()
	}
}

// differences records what the comparison found. Ownership is only
// restored by root: run by another user, the copy belongs to that user,
// and owners are left out of the comparison (noted).
func (d *run) differences(rep *archive.DiffReport) {
	v := d.r.Verify
	add := func(s string) {
		v.Count++
		if len(v.Differences) < 50 {
			v.Differences = append(v.Differences, s)
		}
	}
	for _, c := range rep.Added {
		add("added " + c.Path)
	}
	for _, c := range rep.Removed {
		add("missing " + c.Path)
	}
	ownersSkipped := false
	for _, c := range rep.Changed {
		what := c.What
		if os.Geteuid() != 0 {
			var kept []string
			for _, w := range what {
				if w == "owner" {
					ownersSkipped = true
					continue
				}
				kept = append(kept, w)
			}
			what = kept
		}
		if len(what) > 0 {
			add("changed " + c.Path + " (" + strings.Join(what, ", ") + ")")
		}
	}
	if ownersSkipped {
		d.r.Notes = append(d.r.Notes, "file owners were not compared: only root restores them, and this drill did not run as root")
	}
}

// checkTarget refuses a copy where it must not go: the live pack, inside
// it, around it, or a path that exists.
func (d *run) checkTarget() error {
	t := d.r.Copy
	if !filepath.IsAbs(t) {
		return &TargetError{Target: t, Why: "give an absolute path"}
	}
	t = filepath.Clean(t)
	d.r.Copy = t
	if d.o.Home != "" {
		live := realPath(d.o.Home)
		real := realPath(t)
		switch {
		case real == live:
			return &TargetError{Target: t, Why: "is the live pack"}
		case strings.HasPrefix(real, live+string(filepath.Separator)):
			return &TargetError{Target: t, Why: "lies inside the live pack " + live + "; a drill never writes into the live pack"}
		case strings.HasPrefix(live, real+string(filepath.Separator)):
			return &TargetError{Target: t, Why: "holds the live pack " + live}
		}
	}
	if _, err := os.Lstat(t); err == nil {
		return &TargetError{Target: t, Why: "already exists; give a directory that does not exist yet (the drill creates it and removes it afterwards)"}
	}
	parent := filepath.Dir(t)
	if st, err := os.Stat(parent); err != nil || !st.IsDir() {
		return &TargetError{Target: t, Why: "its parent " + parent + " is not an existing directory"}
	}
	return nil
}

// realPath resolves the links of the longest part of p that exists.
func realPath(p string) string {
	rest := ""
	for cur := filepath.Clean(p); ; cur = filepath.Dir(cur) {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest)
		}
		if cur == filepath.Dir(cur) {
			return filepath.Clean(p)
		}
		rest = filepath.Join(filepath.Base(cur), rest)
	}
}

// pickSnapshot is the snapshot id, or the newest verified one.
// leaseSnapshot picks the snapshot to drill and marks it in use for the
// whole drill (archive.Store.Lease): a prune meanwhile keeps it and the
// content it needs, and deleting it is refused. The newest verified one
// is picked again when a prune removed it between the pick and the lease.
func leaseSnapshot(s *archive.Store, id string) (archive.Info, *archive.Lease, error) {
	for tries := 0; ; tries++ {
		snap, err := pickSnapshot(s, id)
		if err != nil {
			return archive.Info{}, nil, err
		}
		lease, err := s.Lease(snap.ID, "drill")
		var nf *archive.NotFoundError
		if errors.As(err, &nf) && id == "" && tries < 3 {
			continue
		}
		if err != nil {
			return archive.Info{}, nil, fmt.Errorf("marking snapshot %s in use for the drill: %w", snap.ID, err)
		}
		return snap, lease, nil
	}
}

func pickSnapshot(s *archive.Store, id string) (archive.Info, error) {
	list, err := s.List()
	if err != nil {
		return archive.Info{}, err
	}
	var best *archive.Info
	for i := range list {
		in := &list[i]
		if id != "" {
			if in.ID == id {
				if in.Incomplete {
					return archive.Info{}, &archive.IncompleteError{ID: id, Err: errors.New(in.Problem)}
				}
				return *in, nil
			}
			continue
		}
		if in.Incomplete || in.Verified == nil || !in.Verified.OK {
			continue
		}
		if best == nil || in.Created.After(best.Created) {
			best = in
		}
	}
	if id != "" {
		return archive.Info{}, &archive.NotFoundError{ID: id}
	}
	if best == nil {
		return archive.Info{}, &NoSnapshotError{Count: len(list)}
	}
	return *best, nil
}

// newID is the drill's id: its start time, made unique.
func newID(stateDir string, now time.Time) string {
	base := now.UTC().Format("20060102T150405Z")
	id := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(filepath.Join(Dir(stateDir), id)); errors.Is(err, fs.ErrNotExist) {
			return id
		}
		id = base + "-" + strconv.Itoa(i)
	}
}

// lock takes <state>/drills/lock: one drill per pack at a time. It is not
// the pack's lock: a drill never blocks a start, stop or update.
func lock(stateDir string) (func(), error) {
	if err := os.MkdirAll(Dir(stateDir), 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", Dir(stateDir), err)
	}
	path := filepath.Join(Dir(stateDir), "lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			return nil, &BusyError{Path: path, PID: pid}
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		_ = f.Truncate(0)
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}, nil
}

// recoverStale ends the records of drills whose process died (under the
// lock, every running record is one): what is left of their copy is
// stopped and removed (unless it was to be kept), the record says
// interrupted.
func recoverStale(stateDir string, now func() time.Time, log zerolog.Logger) {
	l, err := List(stateDir)
	if err != nil {
		log.Warn().Err(err).Msg("reading the drill records")
		return
	}
	for _, r := range l {
		if r.State != StateRunning {
			continue
		}
		d := &run{o: Options{StateDir: stateDir, Now: now}, r: r, log: log.With().Str("drill", r.ID).Logger()}
		killed := clone.Cleanup(r.Copy)
		r.State = StateInterrupted
		r.Reason = joinNonEmpty(r.Reason, fmt.Sprintf("the drill's process (PID %d) ended before the drill did", r.PID))
		if len(killed) > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("the next drill stopped what was left of the copy (PIDs %v)", killed))
		}
		d.finish()
		_ = d.save()
		log.Warn().Str("drill", r.ID).Msg("an interrupted drill was found and cleaned up")
	}
}
