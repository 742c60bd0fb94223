package hooks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/carbonguard/carbonguard/internal/humanize"
	"github.com/carbonguard/carbonguard/pack"
	"github.com/carbonguard/carbonguard/wrapper"
)

// UpdateOptions are the guarded update's.
type UpdateOptions struct {
	Env
	// U2 is the update tool; "" = <home>/bin/wso2update_linux.
	U2 string
	// U2Args are passed to u2 as they are (after CheckU2Args).
	U2Args []string
	// Username and Password reach u2 through UPDATE_TOOL_USERNAME and
	// UPDATE_TOOL_PASSWORD, never its argv. Empty: u2 inherits those
	// variables from carbonguard's own environment.
	Username, Password string
	// U2Env is the environment u2 starts from; nil = os.Environ().
	U2Env []string
	// U2Backup lets u2 take its own backup too. Off by default:
	// carbonguard's verified snapshot is the backup, and u2's needs three
	// times the pack's size in ~/.wso2-updates.
	U2Backup bool
	// SelfUpdateMax bounds the re-runs after exit code 2 (u2 updated
	// itself); default 3.
	SelfUpdateMax int
	// U2Timeout kills u2 after this long (0 = no limit); the update then
	// counts as failed and the snapshot is restored.
	U2Timeout time.Duration
	// Continue runs u2 --continue in the open transaction that stopped on
	// conflicts.
	Continue bool
	// StopServer stops a running server instead of refusing.
	StopServer bool
	// Start starts the server after a successful update and judges the
	// boot: commit, or roll back (see AfterBoot).
	Start bool
	// Preflight runs the production checks and returns a *PreflightError to
	// block the update; other findings are its to report. Optional.
	Preflight func(ctx context.Context, p *pack.Pack) error
	// Rehearse makes the update a rehearsal first: u2 runs on a copy of
	// the pack, which boots isolated while the live server keeps running;
	// only an up verdict stops the live server and applies what u2 changed
	// (see rehearse.go). Rehearsal says how; it is also what
	// --continue of a rehearsal stopped on conflicts uses.
	Rehearse  bool
	Rehearsal RehearseOptions
	// RehearseOnly stops a rehearsal after the copy's up verdict, the
	// change set waiting (state rehearsed) for update --continue: for a
	// server that a service manager stops and starts (systemd), between the
	// two.
	RehearseOnly bool
}

// Outcome says how an operation ended.
type Outcome string

// The outcomes.
const (
	OutcomeNone           Outcome = "none"            // nothing to do (no update awaited its first boot)
	OutcomeUpdated        Outcome = "updated"         // u2 succeeded; the first boot will decide
	OutcomeConflicts      Outcome = "conflicts"       // u2 stopped on conflicts; the transaction is open
	OutcomeRestored       Outcome = "restored"        // the pre-update snapshot is back (no boot involved)
	OutcomeCommitted      Outcome = "committed"       // the first boot was up
	OutcomeRolledBack     Outcome = "rolled-back"     // the first boot failed; the old pack is back and up
	OutcomeNeedsAttention Outcome = "needs-attention" // the boot after the rollback failed too
	OutcomeRecovered      Outcome = "recovered"       // an interrupted operation was finished or undone
	// OutcomeRehearsalFailed: update --rehearse stopped before the live
	// pack: u2 failed on the copy, or the copy did not boot up.
	OutcomeRehearsalFailed Outcome = "rehearsal-failed"
	// OutcomeRehearsed: update --rehearse-only: the copy booted up; update
	// --continue applies the change set.
	OutcomeRehearsed Outcome = "rehearsed"
)

// Result is what a guarded operation did.
type Result struct {
	Outcome Outcome `json:"outcome"`
	Tx      *Tx     `json:"tx,omitempty"`
	// Verdict is the boot a start judged (BeginStart/AfterBoot, Start).
	Verdict *wrapper.Verdict `json:"-"`
	// Recovered is set when an interrupted transaction was found first.
	Recovered *Tx `json:"recovered,omitempty"`
}

// Update runs a guarded update: lock, server stopped, preflight, verified
// snapshot, u2, and what its exit code calls for. The error is typed for
// the outcomes that need an exit code of their own: *ConflictsError,
// *UpdateFailedError, *RolledBackError, *NeedsAttentionError,
// *RecoveredError, *LockedError, *OpenTxError, *pack.ServerRunningError,
// *PreflightError.
func Update(ctx context.Context, o UpdateOptions) (*Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if err := CheckU2Args(o.U2Args); err != nil {
		return nil, err
	}
	if err := checkArgsHoldNoSecret(o.U2Args, credentialValues(o.Username, o.Password, o.U2Env)); err != nil {
		return nil, err
	}
	if o.Start && o.Server == nil {
		return nil, errors.New("hooks: UpdateOptions.Start needs a Server")
	}
	lock, j, rec, err := lockAndRecover(ctx, &o.Env, "update")
	if lock == nil {
		return nil, err
	}
	defer lock.Release()
	if err != nil || rec != nil {
		return rec, err
	}
	open, err := j.Open()
	if err != nil {
		return nil, err
	}
	if o.Continue {
		if open != nil && open.State == StateRehearsed {
			return continueRehearsed(ctx, &o, j, open)
		}
		if open == nil || open.State != StateConflicts {
			if open == nil {
				return nil, usageErr("update --continue: no update is waiting on conflicts (carbonguard history shows the last one)")
			}
			return nil, &OpenTxError{Tx: open}
		}
		if open.Rehearsal != nil && open.SnapshotID == "" {
			return continueRehearsal(ctx, &o, j, open)
		}
		return continueUpdate(ctx, &o, j, open)
	}
	if open != nil {
		return nil, &OpenTxError{Tx: open}
	}
	if o.Rehearse || o.RehearseOnly {
		return rehearse(ctx, &o, j)
	}

	if err := o.ensureStopped(ctx, "update", o.StopServer); err != nil {
		return nil, err
	}
	p, err := o.openPack()
	if err != nil {
		return nil, err
	}
	u2, err := FindU2(o.Home, o.U2)
	if err != nil {
		return nil, err
	}
	if err := preflight(ctx, &o, p); err != nil {
		return nil, err
	}

	tx, err := j.Begin("update", o.Home, "update begun; taking the pre-update snapshot")
	if err != nil {
		return nil, err
	}
	describe(tx, p)
	tx.U2 = &U2Record{Path: u2, Args: u2Args(o.U2Args, o.U2Backup, false)}
	if err := j.Save(tx); err != nil {
		return nil, err
	}
	if res, err := o.recordPreUpdateSnapshot(ctx, j, tx, p, StatePending, func(id string) string {
		return "pre-update snapshot " + id + " taken and verified"
	}); err != nil {
		return res, err
	}
	return runAndAct(ctx, &o, j, tx, false)
}

// describe fills what a transaction records about the pack before.
func describe(tx *Tx, p *pack.Pack) {
	tx.Product = string(p.Product)
	tx.ProductCode = p.ProductCode
	tx.LevelBefore = levelOf(p)
}

// usageError is a mistake in how the operation was asked for.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

func usageErr(msg string) error { return &UsageError{msg: msg} }

// preflight blocks on what makes the update unsafe, then runs the
// caller's checks.
func preflight(ctx context.Context, o *UpdateOptions, p *pack.Pack) error {
	var problems []string
	if p.UpdateTool == "u2" || p.UpdateTool == "" {
		if _, err := os.Stat(filepath.Join(o.Home, "updates", "product.txt")); err != nil {
			problems = append(problems, "updates/product.txt is missing: u2 fails with \"Unable to identify the product\"; restore it from the product distribution")
		}
	}
	if conflicts, err := FindConflicts(o.Home); err == nil && len(conflicts) > 0 {
		problems = append(problems, fmt.Sprintf("the pack already holds unresolved u2 conflict files (%s.original/.new); finish or clean up that earlier update first", conflicts[0].Path))
	}
	if need, free, ok := spaceForUpdate(o.Home, o.U2Backup); !ok {
		problems = append(problems, fmt.Sprintf("the file system of %s has %s free, the update needs about %s (restore staging beside the pack, u2's downloads%s, 500 MB margin)",
			o.Home, humanize.Bytes(free), humanize.Bytes(need), map[bool]string{true: ", u2's own backup", false: ""}[o.U2Backup]))
	}
	if len(problems) > 0 {
		return &PreflightError{Problems: problems}
	}
	if o.Preflight != nil {
		return o.Preflight(ctx, p)
	}
	return nil
}

// spaceForUpdate checks free space on the pack's file system: a restore
// stages a full copy beside the pack, and u2 needs room for its downloads
// plus, when it backs up itself, two more copies (its documented
// requirement is 3 x pack size + 500 MB). The snapshot's own space is the
// archive's to check.
func spaceForUpdate(home string, u2Backup bool) (need, free int64, ok bool) {
	size := treeSize(home)
	need = size + 500<<20
	if u2Backup {
		need = 3*size + 500<<20
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(home, &st); err != nil {
		return need, 0, true // cannot tell; the restore checks again
	}
	free = int64(st.Bavail) * int64(st.Bsize)
	return need, free, free >= need
}

func treeSize(root string) int64 {
	var n int64
	_ = filepath.Walk(root, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
		return nil
	})
	return n
}

// runAndAct runs u2 (re-running after a self-update) and acts on its exit
// code.
func runAndAct(ctx context.Context, o *UpdateOptions, j *Journal, tx *Tx, cont bool) (*Result, error) {
	if tx.U2 == nil {
		tx.U2 = &U2Record{}
	}
	res, runErr, jerr := runU2(ctx, o, j, tx, u2Run{path: tx.U2.Path, home: o.Home, env: o.U2Env, cont: cont,
		mark: func(msg string) error { return j.Transition(tx, StateU2Running, msg) }})
	if jerr != nil {
		return nil, jerr
	}
	if runErr != nil {
		return failAndRestore(ctx, o, j, tx, -1, runErr.Error())
	}
	switch code := res.ExitCode; code {
	case u2OK:
		return updated(ctx, o, j, tx)
	case u2Conflicts:
		return conflicts(o, j, tx, res.Output, "u2 stopped on conflicts (exit code 3)")
	case u2Error:
		if cont {
			// WSO2's own update.sh reads 1 after --continue as "ran without
			// resolving the conflicts": the merge is still to be done, so
			// the transaction stays open rather than being thrown away.
			if c, _ := FindConflicts(o.Home); len(c) > 0 {
				return conflicts(o, j, tx, res.Output, "u2 --continue exited 1: conflicts are still unresolved")
			}
		}
		return failAndRestore(ctx, o, j, tx, code, "u2 exited 1 (error)")
	case u2SelfUpdate:
		return failAndRestore(ctx, o, j, tx, code, fmt.Sprintf("u2 still asked to be run again (exit code 2) after %d re-runs", o.selfUpdateMax()))
	case u2Reverted:
		return failAndRestore(ctx, o, j, tx, code, "u2 exited 4 (reverted)")
	default:
		return failAndRestore(ctx, o, j, tx, code, fmt.Sprintf("u2 exited %d, which its documentation does not define", code))
	}
}

// u2Run is where and how runU2 runs the tool.
type u2Run struct {
	path, home string
	env        []string // nil: carbonguard's own
	cont       bool
	// mark journals an attempt before it starts (the state it runs in).
	mark func(msg string) error
}

func (o *UpdateOptions) selfUpdateMax() int {
	if o.SelfUpdateMax <= 0 {
		return 3
	}
	return o.SelfUpdateMax
}

// runU2 runs u2 on r.home, again after each exit code 2 (it updated
// itself) up to SelfUpdateMax times, journaling every attempt. runErr is
// u2's (it could not run, or did not finish); jerr the journal's.
func runU2(ctx context.Context, o *UpdateOptions, j *Journal, tx *Tx, r u2Run) (res u2Result, runErr, jerr error) {
	max := o.selfUpdateMax()
	args := u2Args(o.U2Args, o.U2Backup && r.home == o.Home, r.cont)
	for attempt := 0; ; attempt++ {
		n := len(tx.U2.Attempts) + 1
		logPath := filepath.Join(j.TxDir(tx.ID), fmt.Sprintf("u2-%d.log", n))
		a := U2Attempt{Args: args, Started: now(), Log: logPath}
		if r.home != o.Home {
			a.Path, a.Home = r.path, r.home
		}
		tx.U2.Attempts = append(tx.U2.Attempts, a)
		msg := fmt.Sprintf("running u2 (attempt %d): %s %s", n, r.path, strings.Join(args, " "))
		if r.home != o.Home {
			msg = fmt.Sprintf("running u2 on the rehearsal copy (attempt %d): %s %s", n, r.path, strings.Join(args, " "))
		}
		if err := r.mark(msg); err != nil {
			return res, nil, err
		}
		o.Log.Info().Str("u2", r.path).Strs("args", args).Int("attempt", n).Str("pack", r.home).Msg("running u2")
		cmd := &u2Command{
			Path: r.path, Home: r.home, Args: args, Username: o.Username, Password: o.Password,
			Env: r.env, Timeout: o.U2Timeout, Output: o.Out, LogPath: logPath,
			OnStart: func(pid int) error {
				tx.U2.Attempts[len(tx.U2.Attempts)-1].PID = pid
				if err := j.Save(tx); err != nil {
					return err
				}
				if o.CrashPoint != nil {
					o.CrashPoint("u2-started", "")
				}
				return nil
			},
		}
		res, runErr = cmd.run(ctx)
		a2 := &tx.U2.Attempts[len(tx.U2.Attempts)-1]
		end := now()
		a2.Ended = &end
		code := res.ExitCode
		a2.ExitCode = &code
		if err := j.Save(tx); err != nil {
			return res, nil, err
		}
		o.Log.Info().Int("exit_code", code).Int("attempt", n).Msg("u2 finished")
		if runErr == nil && code == u2SelfUpdate && attempt < max {
			o.Log.Info().Msg("u2 updated itself (exit code 2); running the same command again")
			continue
		}
		return res, runErr, nil
	}
}

// continueUpdate resumes a transaction stopped on conflicts with u2
// --continue, once every conflict has its .final file.
func continueUpdate(ctx context.Context, o *UpdateOptions, j *Journal, tx *Tx) (*Result, error) {
	found, err := FindConflicts(o.Home)
	if err != nil {
		return nil, err
	}
	var open []string
	for _, c := range found {
		if !c.Resolved {
			open = append(open, c.Path)
		}
	}
	if len(open) > 0 {
		tx.Conflicts = found
		_ = j.Save(tx)
		return &Result{Outcome: OutcomeConflicts, Tx: tx}, &ConflictsError{TxID: tx.ID, Conflicts: found}
	}
	if err := o.ensureStopped(ctx, "update --continue", o.StopServer); err != nil {
		return nil, err
	}
	if tx.U2 != nil && tx.U2.Path != "" && o.U2 == "" {
		o.U2 = tx.U2.Path
	}
	u2, err := FindU2(o.Home, o.U2)
	if err != nil {
		return nil, err
	}
	if tx.U2 == nil {
		tx.U2 = &U2Record{}
	}
	tx.U2.Path = u2
	if len(o.U2Args) == 0 && !tx.U2.External {
		o.U2Args = userArgsOf(tx.U2.Args)
	}
	return runAndAct(ctx, o, j, tx, true)
}

// userArgsOf strips what carbonguard added to the operator's u2 arguments.
func userArgsOf(args []string) []string {
	var out []string
	for _, a := range args {
		if a == "--continue" || a == "--no-backup" {
			continue
		}
		out = append(out, a)
	}
	return out
}

// updated records a successful u2 run: level after, files changed,
// changelog; then starts and judges when asked.
func updated(ctx context.Context, o *UpdateOptions, j *Journal, tx *Tx) (*Result, error) {
	if p, err := o.openPack(); err == nil {
		tx.LevelAfter = levelOf(p)
	} else {
		o.Log.Warn().Err(err).Msg("reading the update level after the update")
	}
	if d, err := o.Store.DiffLive(ctx, tx.SnapshotID, o.Home); err == nil {
		tx.Changes = changesOf(d)
		for _, a := range tx.Changes.Added {
			if strings.HasPrefix(a, "updates/changelog-") && strings.HasSuffix(a, ".md") {
				tx.U2.Changelog = a
			}
		}
	} else {
		o.Log.Warn().Err(err).Msg("comparing the pack with the pre-update snapshot")
	}
	tx.Conflicts = nil
	msg := fmt.Sprintf("u2 succeeded: update level %s -> %s, %d file(s) changed; awaiting the first boot",
		levelString(tx.LevelBefore), levelString(tx.LevelAfter), tx.Changes.Count())
	if err := j.Transition(tx, StateAwaitingBoot, msg); err != nil {
		return nil, err
	}
	if !o.Start {
		return &Result{Outcome: OutcomeUpdated, Tx: tx}, nil
	}
	return bootAndJudge(ctx, &o.Env, j, tx)
}

func levelString(l *int) string {
	if l == nil {
		return "unknown"
	}
	return fmt.Sprint(*l)
}

// conflicts records u2's conflicts and keeps the transaction open.
func conflicts(o *UpdateOptions, j *Journal, tx *Tx, output, msg string) (*Result, error) {
	found, err := FindConflicts(o.Home)
	if err != nil {
		o.Log.Warn().Err(err).Msg("listing conflicts")
	}
	tx.Conflicts = mergeConflicts(o.Home, found, parseTemplateConflicts(output))
	if err := j.Transition(tx, StateConflicts, fmt.Sprintf("%s: %d file(s) to merge", msg, len(tx.Conflicts))); err != nil {
		return nil, err
	}
	return &Result{Outcome: OutcomeConflicts, Tx: tx}, &ConflictsError{TxID: tx.ID, Conflicts: tx.Conflicts}
}

// failAndRestore puts the pre-update snapshot back after u2 failed (or was
// interrupted), keeping u2's logs for support. The restore runs to its end
// even when ctx is cancelled: a half-restored pack is worse than a late one.
func failAndRestore(ctx context.Context, o *UpdateOptions, j *Journal, tx *Tx, code int, why string) (*Result, error) {
	ctx = context.WithoutCancel(ctx)
	tx.Error = why
	if err := j.Transition(tx, StateRestoring, why+"; restoring the pre-update snapshot "+tx.SnapshotID); err != nil {
		return nil, err
	}
	if dst := o.keepU2Logs(tx); dst != "" {
		tx.FailedDir = filepath.Dir(dst)
	}
	if _, err := o.restore(ctx, tx.SnapshotID, false); err != nil {
		tx.Error = why + "; the restore failed: " + err.Error()
		_ = j.Transition(tx, StateNeedsAttention, "restoring the pre-update snapshot failed: "+err.Error())
		o.Notify.Notify(ctx, eventFor(tx, "needs-attention", tx.Error))
		return &Result{Outcome: OutcomeNeedsAttention, Tx: tx}, &NeedsAttentionError{TxID: tx.ID, Reason: tx.Error, FailedDir: tx.FailedDir}
	}
	if err := j.Transition(tx, StateRestored, "pre-update snapshot restored; the pack is as it was"); err != nil {
		return nil, err
	}
	logPath := ""
	if tx.U2 != nil && len(tx.U2.Attempts) > 0 {
		logPath = tx.U2.Attempts[len(tx.U2.Attempts)-1].Log
	}
	return &Result{Outcome: OutcomeRestored, Tx: tx}, &UpdateFailedError{TxID: tx.ID, ExitCode: code, Reason: why, Log: logPath}
}
