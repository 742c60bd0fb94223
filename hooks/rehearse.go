package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/clone"
	"github.com/carbonguard/carbonguard/internal/durable"
	"github.com/carbonguard/carbonguard/internal/humanize"
	"github.com/carbonguard/carbonguard/pack"
	"github.com/carbonguard/carbonguard/wrapper"
)

// RehearseOptions say how update --rehearse lays its copy down and boots it.
type RehearseOptions struct {
	// Dir is where the rehearsal's scratch directory is made: the copy of
	// the pack and u2's HOME, <Dir>/<pack>-rehearsal-<tx>. "" is
	// <state>/rehearsals.
	Dir string
	// Boot is how the copy boots, exactly as a restore drill boots its
	// copy: the [start] settings and the network ([drill] network). Live,
	// Overridden, Evidence and Logger are set by the rehearsal.
	Boot clone.Options
	// Overrides is the [drill] overrides fragment merged over the copy's
	// deployment.toml before it boots (after u2's changes are captured, so
	// that they never reach the live pack).
	Overrides map[string]any
}

// Rehearsal is what the journal keeps of update --rehearse.
type Rehearsal struct {
	// Dir is the scratch directory (the copy and u2's HOME), removed once
	// the copy has booted; DirCreated says this rehearsal made it (only
	// then is it ever removed).
	Dir        string `json:"dir"`
	DirCreated bool   `json:"dir_created,omitempty"`
	Copy       string `json:"copy"`
	U2Home     string `json:"u2_home"`
	// Base is the snapshot the copy was laid down from.
	Base RehearsalBase `json:"base"`
	// Detached are the copy's links out of the pack, replaced by an empty
	// directory or file before u2 ran, so that neither u2 nor the copy's
	// boot writes where they lead (the live pack's own targets).
	Detached []string `json:"detached,omitempty"`
	// Staging, beside the live pack, holds the change set (what u2 changed
	// on the copy) until it is applied.
	Staging string       `json:"staging,omitempty"`
	Plan    *PlanSummary `json:"plan,omitempty"`
	// Changes is what u2 changed on the copy.
	Changes *Changes `json:"changes,omitempty"`
	// Overrides are the configuration keys [drill] overrides set in the
	// copy before it booted.
	Overrides []string `json:"overrides,omitempty"`
	// Boot is the copy's boot: isolation, ports, verdict.
	Boot *clone.Result `json:"boot,omitempty"`
	// Evidence is the directory with the copy's boot log, console, verdict
	// and u2's own logs from the copy.
	Evidence string `json:"evidence,omitempty"`
	// LivePID is the live server's process during the rehearsal (0: it was
	// not running).
	LivePID int `json:"live_pid,omitempty"`
	// Fallback says why the change set was not applied file by file, u2
	// running on the live pack instead (as without --rehearse).
	Fallback string `json:"fallback,omitempty"`
	// Applied is set once the change set is in the live pack.
	Applied bool             `json:"applied,omitempty"`
	Timings RehearsalTimings `json:"timings"`
}

// RehearsalBase is the snapshot a rehearsal's copy came from.
type RehearsalBase struct {
	Snapshot string `json:"snapshot"`
	// Fresh is set when it was taken for the rehearsal, while the server
	// ran: it serves the copy only, never as a pre-update snapshot.
	Fresh bool   `json:"fresh"`
	Why   string `json:"why"`
}

// PlanSummary counts a change set.
type PlanSummary struct {
	Ops   int   `json:"ops"`
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

// RehearsalTimings are what a rehearsed update took, in milliseconds.
type RehearsalTimings struct {
	Started time.Time `json:"started"`
	BaseMS  int64     `json:"base_ms"` // choosing or taking the base snapshot
	CopyMS  int64     `json:"copy_ms"` // laying the copy down
	// U2MS is u2's run time on the copy (all attempts).
	U2MS      int64 `json:"u2_ms"`
	CaptureMS int64 `json:"capture_ms"`
	BootMS    int64 `json:"boot_ms"` // the copy's launch to its verdict
	// TotalMS is the rehearsal: from its start to the copy's verdict and
	// stop. The live server ran all along.
	TotalMS int64   `json:"total_ms"`
	Outage  *Outage `json:"outage,omitempty"`
}

// Outage is the live server's: from its stop to the up verdict of the
// updated pack (or, after a rollback, of the restored one).
type Outage struct {
	From       time.Time `json:"from"`
	StopMS     int64     `json:"stop_ms"`
	SnapshotMS int64     `json:"snapshot_ms"` // the pre-update snapshot, taken and verified
	ApplyMS    int64     `json:"apply_ms"`    // the change set (or, on a fallback, u2 on the live pack)
	BootMS     int64     `json:"boot_ms"`     // the live server's launch to its verdict
	// ServingMS is from the stop to the health endpoints answering again;
	// TotalMS to the up verdict (which waits the stability window too).
	// AlreadyStopped: the server was not running when this began (stopped
	// by its service manager before update --continue, or not running at
	// all): the outage counts from there.
	AlreadyStopped bool  `json:"already_stopped,omitempty"`
	ServingMS      int64 `json:"serving_ms,omitempty"`
	TotalMS        int64 `json:"total_ms,omitempty"`
	// Until says which boot ended it: "update" (committed), "rollback"
	// (the restored pack up), "" (still down: needs attention).
	Until string `json:"until,omitempty"`
}

// runtimePaths are what a running server writes all the time: a snapshot
// taken for the rehearsal leaves them out, and they do not count as a
// change of the pack. u2 writes none of them (its logs are in updates/).
var runtimePaths = []string{"repository/logs", "tmp", "wso2carbon.pid"}

// dataPaths change while the server runs (its embedded databases and
// index) without being a change u2 cares about: the newest verified
// snapshot still serves as the copy's base when only they differ.
var dataPaths = append(append([]string{}, runtimePaths...), "repository/database", "solr/data")

// rehearse is update --rehearse: the copy, u2 on it, its boot, and only
// after an up verdict the live pack.
func rehearse(ctx context.Context, o *UpdateOptions, j *Journal) (*Result, error) {
	if o.Server == nil {
		return nil, errors.New("hooks: update --rehearse needs a Server")
	}
	started := now()
	p, err := o.openPack()
	if err != nil {
		return nil, err
	}
	u2, err := FindU2(o.Home, o.U2)
	if err != nil {
		return nil, err
	}
	scratch := o.Rehearsal.Dir
	if scratch == "" {
		scratch = filepath.Join(o.StateDir, "rehearsals")
	}
	if err := preflight(ctx, o, p); err != nil {
		return nil, err
	}
	if err := rehearsalSpace(o.Home, scratch); err != nil {
		return nil, err
	}
	// Refuse before laying hundreds of MB down when the live pack already
	// tells (production databases, no isolation); Boot checks the copy again.
	bo := o.Rehearsal.Boot
	bo.Overridden = clone.OverrideKeys(o.Rehearsal.Overrides)
	if _, err := clone.Admit(p, bo); err != nil {
		return nil, err
	}
	pid, running, err := o.serverPID(ctx)
	if err != nil {
		return nil, fmt.Errorf("finding out whether the server runs: %w", err)
	}
	msg := "update begun as a rehearsal; the live server is not running"
	if running {
		msg = fmt.Sprintf("update begun as a rehearsal; the live server (PID %d) keeps running until the updated copy has booted up", pid)
	}
	tx, err := j.Begin("update", o.Home, msg)
	if err != nil {
		return nil, err
	}
	describe(tx, p)
	tx.U2 = &U2Record{Path: u2, Args: u2Args(o.U2Args, false, false)}
	name := filepath.Base(o.Home)
	dir := filepath.Join(scratch, name+"-rehearsal-"+tx.ID)
	tx.Rehearsal = &Rehearsal{
		Dir: dir, Copy: filepath.Join(dir, name), U2Home: filepath.Join(dir, "home"),
		Staging:  filepath.Join(filepath.Dir(o.Home), "."+name+".rehearsal-"+tx.ID),
		Evidence: filepath.Join(j.TxDir(tx.ID), "rehearsal"),
		Timings:  RehearsalTimings{Started: started},
	}
	if running {
		tx.Rehearsal.LivePID = pid
	}
	if err := j.Rehearse(tx, StepBase, "choosing the snapshot the copy is laid down from"); err != nil {
		return nil, err
	}
	r := &rehearsal{o: o, j: j, tx: tx, rh: tx.Rehearsal, live: p, running: running}
	defer r.release()
	return r.fromBase(ctx)
}

// rehearsal is one update --rehearse at work.
type rehearsal struct {
	o       *UpdateOptions
	j       *Journal
	tx      *Tx
	rh      *Rehearsal
	live    *pack.Pack
	running bool
	plan    *changePlan
	// lease marks the copy's snapshot in use while this process needs it
	// (the extract, the diffs of the copy and of the live pack against
	// it): see holdBase.
	lease *archive.Lease
}

// holdBase marks the copy's snapshot in use (archive.Store.Lease) for as
// long as this process goes on with the rehearsal; a prune meanwhile keeps
// it and the content it needs. The journal protects it too while the
// transaction is open (ProtectedSnapshots), across processes.
func (r *rehearsal) holdBase() error {
	if r.lease != nil || r.rh.Base.Snapshot == "" {
		return nil
	}
	l, err := r.o.Store.Lease(r.rh.Base.Snapshot, "update rehearsal "+r.tx.ID)
	if err != nil {
		return err
	}
	r.lease = l
	return nil
}

// holdBaseAgain is holdBase for update --continue. A base it cannot
// lease (removed by hand) only matters to the diffs, which then fail and
// say so; the journal protected it from prune meanwhile.
func (r *rehearsal) holdBaseAgain() {
	if err := r.holdBase(); err != nil {
		r.o.Log.Warn().Err(err).Str("snapshot", r.rh.Base.Snapshot).Msg("the rehearsal copy's snapshot could not be marked in use")
	}
}

// release ends the lease of holdBase.
func (r *rehearsal) release() {
	r.lease.Release()
	r.lease = nil
}

func (r *rehearsal) fromBase(ctx context.Context) (*Result, error) {
	o, rh := r.o, r.rh
	t0 := time.Now()
	base, err := chooseBase(ctx, &o.Env, r.live, r.running)
	if err != nil {
		return r.abort(ctx, "the copy's snapshot could not be had: "+err.Error(), err)
	}
	rh.Base = *base
	if err := r.holdBase(); err != nil {
		return r.abort(ctx, "marking the copy's snapshot in use: "+err.Error(), err)
	}
	rh.Timings.BaseMS = time.Since(t0).Milliseconds()
	o.Log.Info().Str("snapshot", base.Snapshot).Bool("fresh", base.Fresh).Str("why", base.Why).Msg("the rehearsal copy's snapshot")

	// The copy, and u2's HOME beside it.
	if err := r.j.Rehearse(r.tx, StepCopying, "laying the copy down from snapshot "+base.Snapshot+" ("+base.Why+")"); err != nil {
		return nil, err
	}
	t0 = time.Now()
	if err := os.MkdirAll(filepath.Dir(rh.Dir), 0o755); err != nil {
		return r.abort(ctx, "creating the rehearsal's directory: "+err.Error(), err)
	}
	rh.DirCreated = true // from here on the directory is this rehearsal's to remove
	if err := r.j.Save(r.tx); err != nil {
		return nil, err
	}
	if err := os.Mkdir(rh.Dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			rh.DirCreated = false // someone else's
		}
		return r.abort(ctx, "creating the rehearsal's directory: "+err.Error(), err)
	}
	if _, err := o.Store.Extract(ctx, base.Snapshot, rh.Copy, archive.ExtractOptions{NoSync: true, Progress: o.Progress, Holder: "update rehearsal " + r.tx.ID}); err != nil {
		return r.abort(ctx, "laying the copy down: "+err.Error(), err)
	}
	if err := os.Mkdir(rh.U2Home, 0o700); err != nil {
		return r.abort(ctx, "creating u2's HOME for the copy: "+err.Error(), err)
	}
	if rh.Detached, err = detachLinks(rh.Copy); err != nil {
		return r.abort(ctx, "detaching the copy's links out of the pack: "+err.Error(), err)
	}
	if len(rh.Detached) > 0 {
		o.Log.Info().Strs("paths", rh.Detached).Msg("links out of the pack replaced in the copy (u2 and the copy's boot would write where they lead)")
	}
	rh.Timings.CopyMS = time.Since(t0).Milliseconds()
	return r.runU2(ctx, false)
}

// runU2 runs u2 on the copy and acts on its exit code as an update does,
// except that nothing has to be restored.
func (r *rehearsal) runU2(ctx context.Context, cont bool) (*Result, error) {
	o, rh, tx := r.o, r.rh, r.tx
	u2 := tx.U2.Path
	if rel, err := filepath.Rel(o.Home, u2); err == nil && !strings.HasPrefix(rel, "..") {
		// The pack's own tool: the copy's. Its docs say to run it from the
		// pack's bin/ (which u2Command does); the tool of the copy then
		// works on the copy.
		u2 = filepath.Join(rh.Copy, rel)
	}
	// An explicit tool outside the pack runs from the copy's bin/ too; the
	// facts do not say whether u2 finds the product from its working
	// directory or from its own location (the tool lives in <pack>/bin).
	res, runErr, jerr := runU2(ctx, o, r.j, tx, u2Run{path: u2, home: rh.Copy, env: rehearsalEnv(o.U2Env, rh), cont: cont,
		mark: func(msg string) error { return r.j.Rehearse(tx, StepU2OnCopy, msg) }})
	if jerr != nil {
		return nil, jerr
	}
	rh.Timings.U2MS = 0
	for _, a := range tx.U2.Attempts {
		if a.Home == rh.Copy && a.Ended != nil {
			rh.Timings.U2MS += a.Ended.Sub(a.Started).Milliseconds()
		}
	}
	if runErr != nil {
		if ctx.Err() != nil {
			return r.abort(ctx, "interrupted while u2 ran on the copy", runErr)
		}
		return r.u2Failed(ctx, -1, runErr.Error())
	}
	switch code := res.ExitCode; code {
	case u2OK:
		return r.capture(ctx)
	case u2Conflicts:
		return r.conflicts("u2 stopped on conflicts in the rehearsal copy (exit code 3)", res.Output)
	case u2Error:
		if cont {
			if c, _ := FindConflicts(rh.Copy); len(c) > 0 {
				return r.conflicts("u2 --continue exited 1: conflicts in the rehearsal copy are still unresolved", res.Output)
			}
		}
		return r.u2Failed(ctx, code, "u2 exited 1 (error) on the rehearsal copy")
	case u2SelfUpdate:
		return r.u2Failed(ctx, code, fmt.Sprintf("u2 still asked to be run again (exit code 2) after %d re-runs", o.selfUpdateMax()))
	case u2Reverted:
		return r.u2Failed(ctx, code, "u2 exited 4 (reverted) on the rehearsal copy")
	default:
		return r.u2Failed(ctx, code, fmt.Sprintf("u2 exited %d on the rehearsal copy, which its documentation does not define", code))
	}
}

// rehearsalEnv is u2's environment on the copy. HOME is the rehearsal's:
// u2 keeps its state in ~/.wso2-updates of the user who runs it (the facts:
// its default backup location, the updates it downloads, the binary of a
// self-update), and that state belongs to the live pack; the copy's run
// must leave it alone. Its other state is in the pack (updates/config.json,
// updates/logs), which is the copy's. CARBON_HOME, when set, names the
// copy (the facts do not say whether u2 reads it).
func rehearsalEnv(base []string, rh *Rehearsal) []string {
	if base == nil {
		base = os.Environ()
	}
	env := make([]string, 0, len(base)+1)
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "HOME":
			continue
		case "CARBON_HOME":
			kv = "CARBON_HOME=" + rh.Copy
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+rh.U2Home)
}

// conflicts keeps the transaction open on conflicts in the copy: the
// operator merges there, then update --continue goes on with the
// rehearsal.
func (r *rehearsal) conflicts(msg, output string) (*Result, error) {
	rh, tx := r.rh, r.tx
	found, err := FindConflicts(rh.Copy)
	if err != nil {
		r.o.Log.Warn().Err(err).Msg("listing conflicts")
	}
	tx.Conflicts = mergeConflicts(rh.Copy, found, parseTemplateConflicts(output))
	if err := r.j.Transition(tx, StateConflicts, fmt.Sprintf("%s: %d file(s) to merge in %s; the live pack and server are untouched", msg, len(tx.Conflicts), rh.Copy)); err != nil {
		return nil, err
	}
	return &Result{Outcome: OutcomeConflicts, Tx: tx}, &ConflictsError{TxID: tx.ID, Conflicts: tx.Conflicts, Copy: rh.Copy}
}

// continueRehearsal is update --continue of a rehearsal stopped on
// conflicts: u2 --continue on the copy, then as after any u2 run.
func continueRehearsal(ctx context.Context, o *UpdateOptions, j *Journal, tx *Tx) (*Result, error) {
	rh := tx.Rehearsal
	found, err := FindConflicts(rh.Copy)
	if err != nil {
		return nil, err
	}
	for _, c := range found {
		if !c.Resolved {
			tx.Conflicts = found
			_ = j.Save(tx)
			return &Result{Outcome: OutcomeConflicts, Tx: tx}, &ConflictsError{TxID: tx.ID, Conflicts: found, Copy: rh.Copy}
		}
	}
	if o.Server == nil {
		return nil, errors.New("hooks: update --rehearse needs a Server")
	}
	p, err := o.openPack()
	if err != nil {
		return nil, err
	}
	pid, running, err := o.serverPID(ctx)
	if err != nil {
		return nil, fmt.Errorf("finding out whether the server runs: %w", err)
	}
	rh.LivePID = 0
	if running {
		rh.LivePID = pid
	}
	if len(o.U2Args) == 0 {
		o.U2Args = userArgsOf(tx.U2.Args)
	}
	r := &rehearsal{o: o, j: j, tx: tx, rh: rh, live: p, running: running}
	r.holdBaseAgain()
	defer r.release()
	return r.runU2(ctx, true)
}

// u2Failed ends a rehearsal whose u2 failed on the copy: its logs are kept,
// the copy removed; the live pack was never touched.
func (r *rehearsal) u2Failed(ctx context.Context, code int, why string) (*Result, error) {
	ev := r.keepCopyU2Logs()
	r.removeCopy()
	removeStaging(r.rh)
	tx := r.tx
	tx.Error = why
	tx.FailedDir = r.rh.Evidence
	r.rh.Timings.TotalMS = time.Since(r.rh.Timings.Started).Milliseconds()
	if err := r.j.Transition(tx, StateRehearsalFailed, why+"; the live pack and server were never touched"); err != nil {
		return nil, err
	}
	logPath := ""
	if n := len(tx.U2.Attempts); n > 0 {
		logPath = tx.U2.Attempts[n-1].Log
	}
	return &Result{Outcome: OutcomeRehearsalFailed, Tx: tx}, &UpdateFailedError{TxID: tx.ID, ExitCode: code, Reason: why, Log: logPath, Rehearsal: true, Evidence: ev}
}

// capture stages what u2 changed on the copy beside the live pack, before
// the copy boots.
func (r *rehearsal) capture(ctx context.Context) (*Result, error) {
	o, rh, tx := r.o, r.rh, r.tx
	if err := r.j.Rehearse(tx, StepCapturing, "u2 succeeded on the copy; staging what it changed beside the live pack in "+rh.Staging); err != nil {
		return nil, err
	}
	t0 := time.Now()
	d, err := o.Store.DiffLive(ctx, rh.Base.Snapshot, rh.Copy)
	if err != nil {
		return r.abort(ctx, "comparing the copy after u2 with its snapshot: "+err.Error(), err)
	}
	if err := sameFileSystem(o.Home, filepath.Dir(rh.Staging)); err != nil {
		return r.abort(ctx, err.Error(), err)
	}
	plan, ch, err := captureChanges(ctx, d, captureOptions{Copy: rh.Copy, Staging: rh.Staging, Detached: rh.Detached, Leak: rh.Dir})
	var um *unmergeable
	switch {
	case errors.As(err, &um):
		rh.Fallback = um.why
		o.Log.Warn().Str("why", um.why).Msg("the change set cannot be applied file by file; if the copy boots up, u2 will run on the live pack instead")
		removeStaging(rh)
	case err != nil:
		return r.abort(ctx, "staging what u2 changed: "+err.Error(), err)
	default:
		r.plan = plan
		rh.Plan = &PlanSummary{Ops: len(plan.Ops), Files: plan.Files, Bytes: plan.Bytes}
	}
	rh.Changes = ch
	if p, err := pack.Open(rh.Copy); err == nil {
		tx.LevelAfter = levelOf(p)
	}
	rh.Timings.CaptureMS = time.Since(t0).Milliseconds()
	if nothingToApply(ch) {
		// Already at the level asked for: u2 wrote at most its own logs.
		// Booting the copy would prove the pack the live server runs.
		r.keepCopyU2Logs()
		r.removeCopy()
		removeStaging(rh)
		rh.Timings.TotalMS = time.Since(rh.Timings.Started).Milliseconds()
		tx.Changes = &Changes{}
		if err := r.j.Transition(tx, StateCommitted, "u2 changed nothing on the copy (the pack is at the level asked for): nothing to apply; the live pack and server were left alone"); err != nil {
			return nil, err
		}
		return &Result{Outcome: OutcomeNone, Tx: tx}, nil
	}
	return r.bootCopy(ctx)
}

// nothingToApply: u2 changed nothing but its own logs.
func nothingToApply(ch *Changes) bool {
	if ch == nil {
		return true
	}
	for _, list := range [][]string{ch.Added, ch.Removed, ch.Modified} {
		for _, p := range list {
			if p != "updates/logs" && !strings.HasPrefix(p, "updates/logs/") {
				return false
			}
		}
	}
	return true
}

// bootCopy boots the updated copy isolated, exactly as a drill does, and
// judges it; only an up verdict goes on to the live pack.
func (r *rehearsal) bootCopy(ctx context.Context) (*Result, error) {
	o, rh, tx := r.o, r.rh, r.tx
	keys, err := clone.Override(rh.Copy, o.Rehearsal.Overrides)
	if err != nil {
		return r.abort(ctx, "refused: "+err.Error(), err)
	}
	rh.Overrides = keys
	if err := r.j.Rehearse(tx, StepBootingCopy, "booting the updated copy isolated"); err != nil {
		return nil, err
	}
	bo := o.Rehearsal.Boot
	bo.Live, bo.Overridden, bo.Evidence, bo.Logger = r.live, keys, rh.Evidence, o.Log
	res, err := clone.Boot(ctx, rh.Copy, bo)
	if err != nil {
		return r.abort(ctx, "the copy was not booted: "+err.Error(), err)
	}
	rh.Boot = res
	rh.Timings.BootMS = res.BootMS
	r.keepCopyU2Logs()
	r.removeCopy()
	rh.Timings.TotalMS = time.Since(rh.Timings.Started).Milliseconds()
	if !res.Up() {
		if ctx.Err() != nil {
			return r.abort(ctx, "interrupted while the copy booted", context.Cause(ctx))
		}
		state, summary := "unknown", "no verdict"
		if res.Verdict != nil {
			state, summary = string(res.Verdict.State), res.Verdict.Reason
			if data, err := json.MarshalIndent(res.Verdict, "", "  "); err == nil {
				_ = durable.WriteFile(filepath.Join(rh.Evidence, "verdict.json"), append(data, '\n'), 0o600)
			}
		}
		removeStaging(rh)
		tx.FailedDir = rh.Evidence
		tx.Error = "the rehearsal copy's boot was " + state + ": " + summary
		if err := r.j.Transition(tx, StateRehearsalFailed, tx.Error+"; the update was not applied, the live pack and server were never touched"); err != nil {
			return nil, err
		}
		o.Log.Warn().Str("verdict", state).Str("summary", summary).Str("evidence", rh.Evidence).Msg("the updated copy did not boot up; the live pack is untouched")
		o.Notify.Notify(ctx, eventFor(tx, "rehearsal-failed", tx.Error))
		return &Result{Outcome: OutcomeRehearsalFailed, Tx: tx, Verdict: res.Verdict},
			&RehearsalFailedError{TxID: tx.ID, Verdict: state, Summary: summary, Evidence: rh.Evidence, LivePID: rh.LivePID}
	}
	o.Log.Info().Int64("boot_ms", res.BootMS).Str("network", res.Network).Msg("the updated copy booted up")
	if o.RehearseOnly {
		msg := "the updated copy booted up; the change set waits in " + rh.Staging + " for carbonguard update --continue"
		if rh.Fallback != "" {
			msg = "the updated copy booted up; update --continue runs u2 on the live pack (" + rh.Fallback + ")"
		}
		if err := r.j.Transition(tx, StateRehearsed, msg); err != nil {
			return nil, err
		}
		return &Result{Outcome: OutcomeRehearsed, Tx: tx, Verdict: res.Verdict}, nil
	}
	return r.goLive(ctx)
}

// continueRehearsed is update --continue of a rehearsal that stopped after
// the copy's up verdict (--rehearse-only): the server stopped (as by
// --stop-server, or already by its service manager), the pre-update
// snapshot, the change set.
func continueRehearsed(ctx context.Context, o *UpdateOptions, j *Journal, tx *Tx) (*Result, error) {
	rh := tx.Rehearsal
	pid, running, err := o.serverPID(ctx)
	if err != nil {
		return nil, fmt.Errorf("finding out whether the server runs: %w", err)
	}
	if running && (!o.StopServer || o.Server == nil) {
		return nil, runningErr(pid, "update --continue")
	}
	p, err := o.openPack()
	if err != nil {
		return nil, err
	}
	r := &rehearsal{o: o, j: j, tx: tx, rh: rh, live: p, running: running}
	r.holdBaseAgain()
	defer r.release()
	if rh.Fallback == "" {
		if r.plan, err = loadPlan(rh.Staging); err != nil {
			return nil, fmt.Errorf("the rehearsed change set in %s: %w (carbonguard rollback gives the rehearsal up)", rh.Staging, err)
		}
	}
	if len(o.U2Args) == 0 {
		o.U2Args = userArgsOf(tx.U2.Args)
	}
	if o.Server == nil {
		return nil, errors.New("hooks: update --continue of a rehearsal needs a Server")
	}
	return r.goLive(ctx)
}

// goLive is the outage: the live server stopped, the pre-update snapshot
// (consistent now), the change set (or u2 on the live pack), the boot.
func (r *rehearsal) goLive(ctx context.Context) (*Result, error) {
	o, rh, tx, j := r.o, r.rh, r.tx, r.j
	msg := "the updated copy booted up; taking the pre-update snapshot"
	if r.running {
		msg = "the updated copy booted up; stopping the live server and taking the pre-update snapshot"
	}
	if err := j.Transition(tx, StatePending, msg); err != nil {
		return nil, err
	}
	out := &Outage{From: now(), AlreadyStopped: !r.running}
	rh.Timings.Outage = out
	t0 := time.Now()
	if err := o.ensureStopped(ctx, "update", true); err != nil {
		return r.abort(ctx, "stopping the live server: "+err.Error(), err)
	}
	out.StopMS = time.Since(t0).Milliseconds()
	if o.CrashPoint != nil {
		o.CrashPoint("live-stopped", "")
	}
	t0 = time.Now()
	p, err := o.openPack()
	if err != nil {
		return r.abort(ctx, "reading the pack: "+err.Error(), err)
	}
	m, afterErr, err := o.preUpdateSnapshot(ctx, p, tx)
	if err == nil && afterErr != nil {
		why, err := afterSnapshotFailed(m.ID, afterErr, "the update was not applied")
		return r.abort(ctx, why+": "+afterErr.Error(), err)
	}
	if err != nil {
		return r.abort(ctx, "the pre-update snapshot failed: "+err.Error(), err)
	}
	out.SnapshotMS = time.Since(t0).Milliseconds()
	if err := j.Transition(tx, StatePending, "pre-update snapshot "+m.ID+" taken and verified"); err != nil {
		// As recordPreUpdateSnapshot: a snapshot the journal cannot record
		// is removed again (or, should this process die first, by the next
		// command's dropUnrecordedSnapshots), and the live node is left as
		// it was, its server started again.
		tx.SnapshotID, tx.Dumps = "", nil
		if derr := o.Store.Delete(m.ID); derr != nil {
			err = errors.Join(err, fmt.Errorf("removing the pre-update snapshot %s, which the journal could not record: %w", m.ID, derr))
		}
		return r.abort(ctx, "the journal could not record the pre-update snapshot: "+err.Error(), err)
	}
	o.Start = o.Start || r.running

	if rh.Fallback == "" {
		if why, err := liveChangedToo(ctx, o.Store, rh.Base.Snapshot, m.ID, r.plan); err != nil {
			rh.Fallback = "the live pack could not be compared with the copy's snapshot: " + err.Error()
		} else if why != "" {
			rh.Fallback = why
		}
	}
	t0 = time.Now()
	if rh.Fallback != "" {
		o.Log.Warn().Str("why", rh.Fallback).Msg("not applying the rehearsed change set: running u2 on the live pack instead, as without --rehearse (the outage now includes u2's run)")
		removeStaging(rh)
		tx.Rehearsal.Fallback = rh.Fallback
		res, err := runAndAct(ctx, o, j, tx, false)
		r.endOutage(t0)
		return res, err
	}
	if err := j.Transition(tx, StateApplying, fmt.Sprintf("applying the rehearsed change set to the live pack: %d operation(s), %d file(s)", rh.Plan.Ops, rh.Plan.Files)); err != nil {
		return nil, err
	}
	res, err := finishApply(ctx, o, j, tx)
	out.ApplyMS = time.Since(t0).Milliseconds()
	if err != nil || !o.Start {
		return res, err
	}
	return bootAndJudge(ctx, &o.Env, j, tx)
}

// endOutage records, after a fallback, u2's run on the live pack as the
// outage's apply.
func (r *rehearsal) endOutage(applyStarted time.Time) {
	tx, out := r.tx, r.rh.Timings.Outage
	if out == nil || tx.U2 == nil {
		return
	}
	for _, a := range tx.U2.Attempts {
		if a.Home == "" && a.Ended != nil && !a.Started.Before(applyStarted) {
			out.ApplyMS += a.Ended.Sub(a.Started).Milliseconds()
		}
	}
	_ = r.j.Save(tx)
}

// closeOutage records, as the first boot's judgement ends a rehearsed
// update, when the live outage ended: the up verdict of the updated pack,
// or of the restored one after a rollback (none when it needs attention).
// Whichever command judges that boot (update --start, start, run) calls it.
func closeOutage(tx *Tx, until string, b *BootRecord) {
	if tx.Rehearsal == nil || tx.Rehearsal.Timings.Outage == nil {
		return
	}
	out := tx.Rehearsal.Timings.Outage
	if tx.Boot != nil && tx.Boot.Verdict != nil {
		out.BootMS = tx.Boot.Verdict.Timings.BootMS
	}
	if b == nil || b.Verdict == nil || b.State != wrapper.Up {
		return
	}
	out.Until = until
	out.TotalMS = b.Verdict.Timings.Decided.Sub(out.From).Milliseconds()
	if b.Verdict.Timings.HealthOK != nil {
		out.ServingMS = b.Verdict.Timings.HealthOK.Sub(out.From).Milliseconds()
	}
}

// finishApply applies a transaction's staged change set to the live pack
// (from wherever an interrupted run stopped), reads it back, and leaves the
// update awaiting its first boot. When the change set cannot be applied,
// the pre-update snapshot is restored.
func finishApply(ctx context.Context, o *UpdateOptions, j *Journal, tx *Tx) (*Result, error) {
	rh := tx.Rehearsal
	plan, err := loadPlan(rh.Staging)
	if err == nil {
		n := 0
		err = applyPlan(o.Home, rh.Staging, plan, func(int) {
			if n++; n == 1 && o.CrashPoint != nil {
				o.CrashPoint(string(StateApplying), "first-change")
			}
		})
	}
	if err == nil {
		err = verifyPlan(o.Home, plan)
	}
	if err != nil {
		return failAndRestore(ctx, o, j, tx, -1, "applying the rehearsed change set failed: "+err.Error())
	}
	removeStaging(rh)
	rh.Applied = true
	tx.Changes = rh.Changes
	if tx.Changes != nil {
		for _, a := range tx.Changes.Added {
			if strings.HasPrefix(a, "updates/changelog-") && strings.HasSuffix(a, ".md") {
				tx.U2.Changelog = a
			}
		}
	}
	if p, err := o.openPack(); err == nil {
		tx.LevelAfter = levelOf(p)
	}
	tx.Conflicts = nil
	msg := fmt.Sprintf("the rehearsed change set is applied: update level %s -> %s, %d file(s) changed; awaiting the first boot",
		levelString(tx.LevelBefore), levelString(tx.LevelAfter), tx.Changes.Count())
	if err := j.Transition(tx, StateAwaitingBoot, msg); err != nil {
		return nil, err
	}
	return &Result{Outcome: OutcomeUpdated, Tx: tx}, nil
}

// liveChangedToo compares what changed on the live pack since the copy's
// snapshot (that snapshot against the pre-update one) with what u2 changed
// on the copy, and says, when they meet, why the change set must not be
// applied.
func liveChangedToo(ctx context.Context, store *archive.Store, base, pre string, plan *changePlan) (string, error) {
	d, err := store.Diff(ctx, base, pre)
	if err != nil {
		return "", err
	}
	live := map[string]bool{}
	for _, list := range [][]archive.Change{d.Added, d.Removed, d.Changed} {
		for _, c := range list {
			live[c.Path] = true
		}
	}
	var hits []string
	for _, op := range plan.Ops {
		p := op.Path
		hit := live[p]
		for dir := p; !hit && strings.Contains(dir, "/"); {
			dir = dir[:strings.LastIndexByte(dir, '/')]
			// A directory on the way that the live pack removed or turned
			// into something else.
			hit = live[dir] && !isDirChangeOnly(d, dir)
		}
		if !hit && (op.Op == opRemove || op.Op == opMkdir) {
			// Something the live pack added below a directory u2 removes.
			for l := range live {
				if strings.HasPrefix(l, p+"/") {
					hit = true
					break
				}
			}
		}
		if hit {
			hits = append(hits, p)
		}
	}
	if len(hits) == 0 {
		return "", nil
	}
	sort.Strings(hits)
	if len(hits) > 5 {
		hits = append(hits[:5], fmt.Sprintf("and %d more", len(hits)-5))
	}
	return fmt.Sprintf("the live pack changed %s since the copy's snapshot %s, and the update changes it too: the copy's version would overwrite that change",
		strings.Join(hits, ", "), base), nil
}

// isDirChangeOnly says that dir is, in d, a directory whose mode or owner
// changed (not one removed or turned into something else).
func isDirChangeOnly(d *archive.DiffReport, dir string) bool {
	for _, c := range d.Changed {
		if c.Path == dir {
			for _, w := range c.What {
				if w == "type" {
					return false
				}
			}
			return c.Type == archive.TypeDir
		}
	}
	return false
}

// abort ends a rehearsal before the live pack was touched: the copy and
// the staging are removed, the transaction is aborted, and err (the cause)
// is returned.
func (r *rehearsal) abort(ctx context.Context, why string, err error) (*Result, error) {
	r.keepCopyU2Logs()
	r.removeCopy()
	removeStaging(r.rh)
	tx := r.tx
	tx.Error = why
	if tx.SnapshotID != "" {
		why += "; the live pack was not changed"
	} else {
		why += "; the live pack was never touched"
	}
	if r.restartLive(ctx) {
		why += "; the live server, stopped for it, was started again"
	}
	if jerr := r.j.Transition(tx, StateAborted, why); jerr != nil {
		return nil, errors.Join(err, jerr)
	}
	return &Result{Outcome: OutcomeNone, Tx: tx}, err
}

// restartLive starts the live server again when the rehearsal stopped it
// and then could not go on (before the pack was changed): a rehearsal
// never leaves down a node it found running. It reports whether it tried.
func (r *rehearsal) restartLive(ctx context.Context) bool {
	if !r.running || r.rh.Timings.Outage == nil || r.o.Server == nil {
		return false
	}
	ctx = context.WithoutCancel(ctx)
	if _, running, err := r.o.Server.Running(ctx); err == nil && running {
		return false
	}
	v, err := r.o.Server.Start(ctx)
	switch {
	case v == nil:
		r.o.Log.Error().Err(err).Msg("starting the live server again after the rehearsal stopped")
	case v.State != wrapper.Up:
		r.o.Log.Error().Str("verdict", string(v.State)).Str("summary", v.Reason).Msg("the live server, started again, is not up")
	default:
		r.o.Log.Info().Int("pid", v.PID).Msg("the live server is up again")
	}
	return true
}

// keepCopyU2Logs copies u2's own logs from the copy into the evidence
// directory; it returns where, or "".
func (r *rehearsal) keepCopyU2Logs() string {
	src := filepath.Join(r.rh.Copy, "updates", "logs")
	if _, err := os.Stat(src); err != nil {
		return ""
	}
	dst := filepath.Join(r.rh.Evidence, "u2-logs")
	if _, err := os.Stat(dst); err == nil {
		_ = os.RemoveAll(dst) // a second run (after --continue) keeps the newest
	}
	if err := copyEvidence(src, dst); err != nil {
		r.o.Log.Warn().Err(err).Str("from", src).Msg("keeping u2's logs from the copy")
		return ""
	}
	return dst
}

// removeCopy removes the rehearsal's scratch directory (never one it did
// not create), killing anything still running from the copy first.
func (r *rehearsal) removeCopy() { removeScratch(r.o.Log, r.rh) }

func removeScratch(log zerolog.Logger, rh *Rehearsal) {
	if rh == nil || rh.Copy == "" {
		return
	}
	if _, err := os.Lstat(rh.Copy); err == nil {
		if killed := clone.Cleanup(rh.Copy); len(killed) > 0 {
			log.Warn().Ints("pids", killed).Msg("killed processes of the rehearsal copy before removing it")
		}
	}
	if !rh.DirCreated {
		return
	}
	if err := os.RemoveAll(rh.Dir); err != nil {
		log.Warn().Err(err).Str("dir", rh.Dir).Msg("removing the rehearsal's copy")
		return
	}
	_ = durable.SyncDir(filepath.Dir(rh.Dir))
}

// removeStaging removes a change set's staging directory.
func removeStaging(rh *Rehearsal) {
	if rh == nil || rh.Staging == "" {
		return
	}
	_ = os.RemoveAll(rh.Staging)
	_ = durable.SyncDir(filepath.Dir(rh.Staging))
}

// chooseBase picks the snapshot the copy is laid down from: the newest
// verified snapshot of this pack when the live pack's code and
// configuration still are what it holds, else a fresh one.
//
// A fresh snapshot is taken while the server runs: its embedded databases
// (H2) and Solr index may be caught mid-write, and a file the server
// writes while it is read fails the snapshot (it is tried three times).
// It is used for the rehearsal's copy only (reason "rehearsal"), never as
// the pre-update snapshot, which is taken once the server is stopped; a
// copy that does not boot from it is a failed rehearsal, never a change of
// the live pack.
func chooseBase(ctx context.Context, e *Env, p *pack.Pack, running bool) (*RehearsalBase, error) {
	why := "no verified snapshot of this pack to lay the copy down from"
	if id, err := newestBase(e); err != nil {
		return nil, err
	} else if id != "" {
		d, err := e.Store.DiffLive(ctx, id, e.Home)
		if err != nil {
			return nil, fmt.Errorf("comparing the live pack with snapshot %s: %w", id, err)
		}
		var changed []string
		for _, list := range [][]archive.Change{d.Added, d.Removed, d.Changed} {
			for _, c := range list {
				if !underAny(c.Path, dataPaths) {
					changed = append(changed, c.Path)
				}
			}
		}
		if len(changed) == 0 {
			return &RehearsalBase{Snapshot: id, Why: "the newest verified snapshot; the live pack's code and configuration are still what it holds"}, nil
		}
		sort.Strings(changed)
		why = fmt.Sprintf("the live pack changed since the newest verified snapshot %s (%d path(s), e.g. %s)", id, len(changed), changed[0])
	}
	meta := packMeta(p)
	meta["server_running"] = fmt.Sprint(running)
	var last error
	for attempt := 1; attempt <= 3; attempt++ {
		m, err := e.Store.Create(ctx, e.Home, archive.CreateOptions{
			Reason: "rehearsal", Meta: meta, Compression: e.Compression, Exclude: runtimePaths,
			ToolVersion: e.ToolVersion, Progress: e.Progress,
		})
		var ce *archive.ChangedError
		if errors.As(err, &ce) && ctx.Err() == nil {
			e.Log.Info().Str("path", ce.Path).Int("attempt", attempt).Msg("a file changed while the running pack was snapshotted; again")
			last = err
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("taking a snapshot for the rehearsal copy: %w", err)
		}
		how := "taken now"
		if running {
			how = "taken now, the server running (its databases may be mid-write: the snapshot serves the copy only, never as the pre-update snapshot)"
		}
		return &RehearsalBase{Snapshot: m.ID, Fresh: true, Why: why + "; a fresh snapshot " + how}, nil
	}
	return nil, fmt.Errorf("taking a snapshot of the running pack for the rehearsal copy: %w (the server writes it all the time: take a snapshot with the server stopped, carbonguard snapshot create, and rehearse again)", last)
}

// newestBase is the newest verified snapshot of the pack itself (not of a
// failed tree, not one taken for a rehearsal while the server ran) whose
// excludes leave nothing out but what the server writes as it runs (a
// copy without an excluded tree would not be the pack; and u2's changes
// there would be missed).
func newestBase(e *Env) (string, error) {
	infos, err := e.Store.List()
	if err != nil {
		return "", err
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Created.After(infos[j].Created) })
	home := filepath.Clean(e.Home)
	for _, in := range infos {
		if in.Incomplete || in.Verified == nil || !in.Verified.OK || in.Reason == "pre-rollback" || in.Reason == "rehearsal" {
			continue
		}
		m, err := e.Store.Show(in.ID)
		if err != nil || filepath.Clean(m.Root) != home {
			continue
		}
		ok := true
		for _, x := range m.Exclude {
			ok = ok && underAny(x, runtimePaths)
		}
		if ok {
			return in.ID, nil
		}
	}
	return "", nil
}

// detachLinks replaces, in the copy, every link that leads out of it (an
// absolute target, or a relative one climbing out) by an empty directory
// (when it leads to one) or an empty file: u2 follows links (the facts:
// "symlinks inside the pack may be changed, so back up their targets"),
// and the copy's boot writes through them (repository/logs ->
// /var/log/wso2am), and where they lead is the live pack's. It returns
// their paths relative to the copy.
func detachLinks(copyHome string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(copyHome, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		dest := target
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(p), target)
		}
		dest = filepath.Clean(dest)
		if dest == copyHome || strings.HasPrefix(dest, copyHome+string(filepath.Separator)) {
			return nil
		}
		isDir := false
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			isDir = true
		}
		if err := os.Remove(p); err != nil {
			return err
		}
		if isDir {
			err = os.Mkdir(p, 0o755)
		} else {
			err = os.WriteFile(p, nil, 0o644)
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(copyHome, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	return out, err
}

// sameFileSystem refuses a staging directory on another file system than
// the pack: the change set is applied by renames.
func sameFileSystem(home, dir string) error {
	var a, b syscall.Stat_t
	if err := syscall.Stat(home, &a); err != nil {
		return err
	}
	if err := syscall.Stat(dir, &b); err != nil {
		return err
	}
	if a.Dev != b.Dev {
		return fmt.Errorf("the pack %s is not on the file system of its parent directory: the change set is staged beside the pack and applied by renames (a restore needs the same)", home)
	}
	return nil
}

// rehearsalSpace checks that the scratch directory's file system has room
// for the copy and u2's downloads (the pack's size and 500 MB), on top of
// what the update needs beside the pack when both are the same.
func rehearsalSpace(home, scratch string) error {
	dir := scratch
	for {
		if _, err := os.Stat(dir); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
	size := treeSize(home)
	need := size + 500<<20
	var hs, ds syscall.Statfs_t
	if syscall.Statfs(dir, &ds) != nil {
		return nil
	}
	if syscall.Statfs(home, &hs) == nil && hs.Fsid == ds.Fsid {
		need += size + 500<<20
	}
	free := int64(ds.Bavail) * int64(ds.Bsize)
	if free < need {
		return &PreflightError{Problems: []string{fmt.Sprintf("the rehearsal's copy goes to %s, whose file system has %s free; the copy, u2's downloads and the update need about %s",
			scratch, humanize.Bytes(free), humanize.Bytes(need))}}
	}
	return nil
}
