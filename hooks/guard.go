package hooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/internal/copytree"
	"github.com/carbonguard/carbonguard/pack"
)

// Env is what every guarded operation on one pack needs.
type Env struct {
	Home     string // the pack, absolute
	StateDir string // its state directory (lock, journal, snapshots, failed/)
	Store    *archive.Store
	// Server drives the pack's server. Needed to stop it (--stop-server),
	// to start and judge after an update (--start) and to roll back after a
	// failed boot; without it the server is only checked to be stopped.
	Server Server
	Notify *Notifier
	Log    zerolog.Logger

	ToolVersion string
	// Compression and Exclude are used for the pre-update snapshot
	// ([snapshot] in carbonguard.toml). The failed tree's snapshot is always
	// taken whole.
	Compression string
	Exclude     []string
	// KeepData makes every restore keep the live repository/database,
	// solr/data and repository/logs ([update] keep_data): a code-and-config
	// rollback that loses no data written since the snapshot.
	KeepData bool
	// Progress reports snapshot, verify and restore progress (a progress bar
	// on a terminal); nil = quiet.
	Progress func(archive.Progress)
	// Out receives u2's output as it runs (masked); nil = only the journal.
	Out io.Writer
	// OpenPack reads the pack at Home as it is now. hooks reads the pack
	// only under the lock, where recovering an interrupted operation or u2
	// may have changed it since the command's own read, and reads it again
	// after u2 (the update level after). The command passes its session's
	// reader, so these reads take the options of its own (system
	// properties, and how strictly the configuration is read). nil =
	// pack.Open(Home).
	OpenPack func() (*pack.Pack, error)
	// Attachments, when set, produces what the pre-update snapshot keeps
	// beside the pack: the database dumps, taken while the server is stopped
	// so that pack and databases agree. It may add to meta (the manifest's).
	// A source that fails fails the snapshot, and the update does not start.
	Attachments func(ctx context.Context, p *pack.Pack, meta map[string]string) ([]archive.AttachmentSource, error)
	// AfterSnapshot, when set, runs once the pre-update snapshot is taken
	// and verified, before u2: the push off the host. Its error stops the
	// update before u2 runs (the caller returns one only when it must:
	// [remote] required).
	AfterSnapshot func(ctx context.Context, m *archive.Manifest) error
	// CrashPoint is for the crash tests only, which kill carbonguard at each
	// step: it is called each time the journal has recorded a state (or a
	// step of one), before the step is taken, once u2 has started
	// ("u2-started"), and in a rehearsal once the live server is stopped
	// ("live-stopped") and once the change set made its first change to
	// the live pack ("applying/first-change"). carbonguard leaves it nil;
	// no flag or environment variable sets it.
	CrashPoint func(state, step string)
}

// keepDataPaths are what KeepData keeps live through a restore.
var keepDataPaths = []string{"repository/database", "solr/data", "repository/logs"}

func (e *Env) openPack() (*pack.Pack, error) {
	if e.OpenPack != nil {
		return e.OpenPack()
	}
	return pack.Open(e.Home)
}

func (e *Env) check() error {
	if e.Home == "" || e.StateDir == "" || e.Store == nil {
		return errors.New("hooks: Env needs Home, StateDir and Store")
	}
	return nil
}

// serverPID reports whether the pack's server runs: through the Server
// when there is one, else from the pack's PID file and process table.
func (e *Env) serverPID(ctx context.Context) (int, bool, error) {
	if e.Server != nil {
		return e.Server.Running(ctx)
	}
	p, err := e.openPack()
	if err != nil {
		return 0, false, err
	}
	return p.RunningPID()
}

// ensureStopped refuses (or, with stop, stops) a running server.
func (e *Env) ensureStopped(ctx context.Context, op string, stop bool) error {
	pid, running, err := e.serverPID(ctx)
	if err != nil {
		return fmt.Errorf("finding out whether the server runs: %w", err)
	}
	if !running {
		return nil
	}
	if !stop || e.Server == nil {
		return runningErr(pid, op)
	}
	e.Log.Info().Int("pid", pid).Str("op", op).Msg("stopping the server")
	if err := e.Server.Stop(ctx); err != nil {
		return fmt.Errorf("stopping the server (PID %d): %w", pid, err)
	}
	if pid, running, err := e.serverPID(ctx); err == nil && running {
		return runningErr(pid, op)
	}
	return nil
}

func runningErr(pid int, op string) error {
	return &pack.ServerRunningError{PID: pid, Op: op,
		Why: "u2 replaces jars under a running JVM and a snapshot of live H2 and Solr files would be inconsistent"}
}

// snapshot takes a snapshot of root and verifies it.
func (e *Env) snapshot(ctx context.Context, root, reason string, meta map[string]string, whole bool, attach ...archive.AttachmentSource) (*archive.Manifest, error) {
	o := archive.CreateOptions{
		Reason: reason, Meta: meta, Compression: e.Compression,
		ToolVersion: e.ToolVersion, Progress: e.Progress, Attachments: attach,
	}
	if !whole {
		o.Exclude = e.Exclude
	}
	e.Log.Info().Str("root", root).Str("reason", reason).Msg("taking a snapshot")
	m, err := e.Store.Create(ctx, root, o)
	if err != nil {
		return nil, fmt.Errorf("taking the %s snapshot of %s: %w", reason, root, err)
	}
	if _, err := e.Store.Verify(ctx, m.ID, e.Progress); err != nil {
		return nil, fmt.Errorf("verifying the %s snapshot %s: %w", reason, m.ID, err)
	}
	e.Log.Info().Str("snapshot", m.ID).Int("files", m.Files).Int64("bytes", m.Bytes).Msg("snapshot taken and verified")
	return m, nil
}

// recordPreUpdateSnapshot takes tx's pre-update snapshot (preUpdateSnapshot)
// and records it in the journal with state next. The snapshot carries the
// transaction's id (meta "tx"): when the journal cannot record it (a full
// disk), it is removed again here, or, should this process die first, by
// the next command's recovery (dropUnrecordedSnapshots), so that no
// complete snapshot stays listed that no transaction references. A
// snapshot that failed (or what must follow it) aborts the transaction.
func (e *Env) recordPreUpdateSnapshot(ctx context.Context, j *Journal, tx *Tx, p *pack.Pack, next State, msg func(id string) string) (*Result, error) {
	m, afterErr, err := e.preUpdateSnapshot(ctx, p, tx)
	why := "the pre-update snapshot failed; u2 was not run"
	if err == nil && afterErr != nil {
		why, err = afterSnapshotFailed(m.ID, afterErr, "u2 was not run")
	}
	if err != nil {
		tx.Error = err.Error()
		if jerr := j.Transition(tx, StateAborted, why); jerr != nil {
			return nil, errors.Join(err, jerr)
		}
		return &Result{Outcome: OutcomeNone, Tx: tx}, err
	}
	if err := j.Transition(tx, next, msg(m.ID)); err != nil {
		tx.SnapshotID, tx.Dumps = "", nil
		if derr := e.Store.Delete(m.ID); derr != nil {
			return nil, errors.Join(err, fmt.Errorf("removing the pre-update snapshot %s, which the journal could not record: %w", m.ID, derr))
		}
		return nil, fmt.Errorf("%w; the pre-update snapshot %s was removed again and u2 was not run: the pack is unchanged", err, m.ID)
	}
	return nil, nil
}

// dropUnrecordedSnapshots removes the pre-update snapshots of tx that the
// journal never recorded (the process died, or the disk was full, between
// the snapshot and the journal write): u2 never ran under them, so they
// hold the pack as it still is, and nothing references them.
func (e *Env) dropUnrecordedSnapshots(tx *Tx) {
	if tx.SnapshotID != "" {
		return
	}
	list, err := e.Store.List()
	if err != nil {
		e.Log.Warn().Err(err).Msg("listing snapshots for ones the journal never recorded")
		return
	}
	for _, in := range list {
		if in.Reason != "pre-update" || in.Meta["tx"] != tx.ID {
			continue
		}
		if err := e.Store.Delete(in.ID); err != nil {
			e.Log.Warn().Err(err).Str("snapshot", in.ID).Msg("removing a pre-update snapshot the journal never recorded")
			continue
		}
		e.Log.Warn().Str("snapshot", in.ID).Str("tx", tx.ID).Msg("removed a pre-update snapshot the journal never recorded (u2 never ran)")
	}
}

// restore puts snapshot id back in place of the pack. keepDisplaced keeps
// the tree it replaces as a sibling of the pack and returns its path.
func (e *Env) restore(ctx context.Context, id string, keepDisplaced bool) (*archive.RestoreReport, error) {
	o := archive.RestoreOptions{KeepDisplaced: keepDisplaced, Progress: e.Progress}
	if e.KeepData {
		o.Keep = keepDataPaths
	}
	e.Log.Info().Str("snapshot", id).Str("home", e.Home).Msg("restoring the pre-update snapshot")
	rep, err := e.Store.Restore(ctx, id, e.Home, o)
	if err != nil {
		return nil, fmt.Errorf("restoring snapshot %s into %s: %w", id, e.Home, err)
	}
	e.Log.Info().Str("snapshot", id).Dur("took", rep.Took).Str("displaced", rep.Displaced).Msg("snapshot restored")
	return rep, nil
}

// preUpdateSnapshot takes and verifies the pre-update snapshot of p with
// its attachments (Env.Attachments), records it in tx, and runs
// AfterSnapshot. A failure of AfterSnapshot comes back as afterErr, with the
// snapshot taken.
func (e *Env) preUpdateSnapshot(ctx context.Context, p *pack.Pack, tx *Tx) (m *archive.Manifest, afterErr, err error) {
	meta := packMeta(p)
	meta["tx"] = tx.ID // see recordPreUpdateSnapshot
	var attach []archive.AttachmentSource
	if e.Attachments != nil {
		if attach, err = e.Attachments(ctx, p, meta); err != nil {
			return nil, nil, fmt.Errorf("taking the pre-update snapshot of %s: %w", e.Home, err)
		}
	}
	if m, err = e.snapshot(ctx, e.Home, "pre-update", meta, false, attach...); err != nil {
		return nil, nil, err
	}
	tx.SnapshotID = m.ID
	for _, a := range m.Attachments {
		tx.Dumps = append(tx.Dumps, a.Name)
	}
	if e.AfterSnapshot != nil {
		afterErr = e.AfterSnapshot(ctx, m)
	}
	return m, afterErr, nil
}

// afterSnapshotFailed is the error and the journal's message when what
// must follow the pre-update snapshot failed (AfterSnapshot: the off-host
// push that [remote] required asks for): the snapshot itself was taken and
// verified, and is kept (the transaction records it); notDone says what
// did not happen because of it.
func afterSnapshotFailed(id string, err error, notDone string) (string, error) {
	return fmt.Sprintf("the off-host push required after the pre-update snapshot failed; %s; the snapshot %s is kept", notDone, id),
		fmt.Errorf("the off-host push required after the pre-update snapshot %s failed (%s; the snapshot is kept): %w", id, notDone, err)
}

// packMeta is what the manifest records about the pack.
func packMeta(p *pack.Pack) map[string]string {
	m := map[string]string{"product": string(p.Product), "version": p.Version}
	if p.ProductCode != "" {
		m["product_code"] = p.ProductCode
	}
	if p.UpdateLevelKnown {
		m["update_level"] = strconv.Itoa(p.UpdateLevel)
	}
	return m
}

func levelOf(p *pack.Pack) *int {
	if !p.UpdateLevelKnown {
		return nil
	}
	l := p.UpdateLevel
	return &l
}

func changesOf(d *archive.DiffReport) *Changes {
	c := &Changes{}
	for _, a := range d.Added {
		c.Added = append(c.Added, a.Path)
	}
	for _, r := range d.Removed {
		c.Removed = append(c.Removed, r.Path)
	}
	for _, m := range d.Changed {
		c.Modified = append(c.Modified, m.Path)
	}
	return c
}

// failedDir is where a transaction's evidence is kept for support.
func (e *Env) failedDir(txID string) string {
	return filepath.Join(e.StateDir, "failed", txID)
}

// copyEvidence copies a tree of evidence (logs) into the failed directory:
// private modes, synced.
func copyEvidence(src, dst string) error {
	return copytree.Copy(src, dst, copytree.Options{Private: true, Sync: true})
}

// keepU2Logs copies u2's own logs (<home>/updates/logs) into the failed
// directory before a restore puts the old ones back: support asks for them.
func (e *Env) keepU2Logs(tx *Tx) string {
	src := filepath.Join(e.Home, "updates", "logs")
	if _, err := os.Stat(src); err != nil {
		return ""
	}
	dst := filepath.Join(e.failedDir(tx.ID), "u2-logs")
	if err := copyEvidence(src, dst); err != nil {
		e.Log.Warn().Err(err).Str("from", src).Msg("keeping u2's logs")
		return ""
	}
	return dst
}

// displacedOf finds the newest sibling a restore of snapshot id displaced.
func displacedOf(home, id string) string {
	matches, _ := filepath.Glob(home + ".displaced-" + id + "-*")
	sort.Strings(matches)
	for i := len(matches) - 1; i >= 0; i-- {
		if st, err := os.Stat(matches[i]); err == nil && st.IsDir() {
			return matches[i]
		}
	}
	return ""
}

// sameAsSnapshot reports whether the live pack holds exactly what snapshot
// id holds (modification times aside), ignoring the paths a restore keeps
// live with KeepData.
func (e *Env) sameAsSnapshot(ctx context.Context, id string) (bool, error) {
	d, err := e.Store.DiffLive(ctx, id, e.Home)
	if err != nil {
		return false, err
	}
	n := 0
	for _, list := range [][]archive.Change{d.Added, d.Removed, d.Changed} {
		for _, c := range list {
			if e.KeepData && underAny(c.Path, keepDataPaths) {
				continue
			}
			n++
		}
	}
	return n == 0, nil
}

func underAny(p string, roots []string) bool {
	for _, r := range roots {
		if p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}

func now() time.Time { return time.Now().UTC() }
