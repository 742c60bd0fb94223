package hooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// recoverLocked finishes or undoes a transaction left by a process that
// died mid-step. The caller holds the lock, so no live process is working on
// the transaction: whatever non-terminal state it is in, other than those
// that wait for a person or a boot, was left by a crash. It returns nil, nil
// when there is nothing to recover.
//
//	pending       u2 never ran, the pack is untouched      -> aborted
//	u2-running    the pack may be half updated             -> restore the snapshot -> restored
//	restoring     the restore may be half done             -> archive recovery, restore again if needed -> restored
//	rolling-back  continue the rollback from its last step  -> rolled-back | needs-attention
//
// conflicts, updated-awaiting-boot, booting, and u2-running begun by hook
// pre-update wait for the operator or the next start and are left alone.
func recoverLocked(ctx context.Context, e *Env, j *Journal, lock *Lock) (*Result, error) {
	if lock != nil && lock.Previous != nil {
		e.Log.Warn().Int("pid", lock.Previous.PID).Str("operation", lock.Previous.Operation).
			Time("since", lock.Previous.Since).Msg("the previous holder of the pack's lock died mid-operation; checking what it left")
	}
	tx, err := j.Open()
	if err != nil || tx == nil {
		return nil, err
	}
	switch tx.State {
	case StateRehearsing:
		e.Log.Warn().Str("tx", tx.ID).Str("step", string(tx.Step)).Msg("found a rehearsal interrupted before the live pack was touched; removing its copy")
		killLeftoverU2(tx)
		removeScratch(e.Log, tx.Rehearsal)
		removeStaging(tx.Rehearsal)
		tx.Error = "interrupted while rehearsing (" + string(tx.Step) + ")"
		if err := j.Transition(tx, StateAborted, "the rehearsal was interrupted at step "+string(tx.Step)+"; the live pack and server were never touched; its copy was removed by the next command"); err != nil {
			return nil, err
		}
		return &Result{Outcome: OutcomeRecovered, Tx: tx, Recovered: tx},
			&RecoveredError{TxID: tx.ID, What: "closed (the rehearsal was interrupted before it touched the live pack; its copy was removed)"}

	case StateApplying:
		e.Log.Warn().Str("tx", tx.ID).Msg("found the rehearsed change set interrupted half way into the live pack; finishing it")
		res, err := finishApply(ctx, &UpdateOptions{Env: *e}, j, tx)
		var re *UpdateFailedError
		switch {
		case errors.As(err, &re):
			return &Result{Outcome: OutcomeRecovered, Tx: tx, Recovered: tx},
				&RecoveredError{TxID: tx.ID, What: "undone (the rehearsed change set could not be finished; the pre-update snapshot was restored)"}
		case err != nil:
			return res, err
		}
		return &Result{Outcome: OutcomeRecovered, Tx: tx, Recovered: tx},
			&RecoveredError{TxID: tx.ID, What: "finished (the interrupted apply of the rehearsed change set was completed; the update awaits its first boot)"}

	case StatePending:
		if tx.Rehearsal != nil {
			removeScratch(e.Log, tx.Rehearsal)
			removeStaging(tx.Rehearsal)
		}
		e.Log.Warn().Str("tx", tx.ID).Msg("found an update interrupted before u2 ran; the pack was not changed")
		if err := j.Transition(tx, StateAborted, "interrupted before u2 ran (the pack was not changed); closed by the next command"); err != nil {
			return nil, err
		}
		e.dropUnrecordedSnapshots(tx)
		return &Result{Outcome: OutcomeRecovered, Tx: tx, Recovered: tx},
			&RecoveredError{TxID: tx.ID, State: tx.State, What: "closed (the update was interrupted before u2 ran; the pack was not changed)"}

	case StateU2Running:
		if tx.U2 != nil && tx.U2.External {
			return nil, nil
		}
		e.Log.Warn().Str("tx", tx.ID).Msg("found an update interrupted while u2 ran; the pack may be half updated: restoring the pre-update snapshot")
		killLeftoverU2(tx)
		tx.Error = "interrupted while u2 ran"
		if err := j.Transition(tx, StateRestoring, "interrupted while u2 ran; restoring the pre-update snapshot "+tx.SnapshotID); err != nil {
			return nil, err
		}
		if dst := e.keepU2Logs(tx); dst != "" {
			tx.FailedDir = e.failedDir(tx.ID)
		}
		return finishRestore(ctx, e, j, tx, "undone (u2 was interrupted; the pre-update snapshot was restored)")

	case StateRestoring:
		e.Log.Warn().Str("tx", tx.ID).Msg("found an interrupted restore; finishing it")
		return finishRestore(ctx, e, j, tx, "finished (the interrupted restore of the pre-update snapshot was completed)")

	case StateRollingBack:
		e.Log.Warn().Str("tx", tx.ID).Str("step", string(tx.Step)).Msg("found an interrupted rollback; continuing it")
		step := tx.Step
		if step == StepRestoring {
			done, err := restoreDone(ctx, e, tx)
			if err != nil {
				return attention(ctx, e, j, tx, "recovering the interrupted restore: "+err.Error())
			}
			if done {
				tx.Displaced = displacedOf(e.Home, tx.SnapshotID)
				step = StepStarting
			}
		}
		if e.Server == nil {
			return nil, &OpenTxError{Tx: tx}
		}
		res, err := rollbackFrom(ctx, e, j, tx, step)
		var rb *RolledBackError
		if errors.As(err, &rb) {
			// The rollback the dead process had begun is finished and the
			// old pack is up: a recovery like any other (needs attention,
			// the other way it can end, keeps its own error).
			return &Result{Outcome: OutcomeRecovered, Tx: tx, Recovered: tx},
				&RecoveredError{TxID: tx.ID, State: tx.State, What: "finished (the interrupted rollback after the failed first boot: the pre-update pack is restored and up)"}
		}
		return res, err
	}
	return nil, nil
}

// restoreDone finishes or undoes the archive's interrupted restore, then
// tells whether the pack now holds the snapshot.
func restoreDone(ctx context.Context, e *Env, tx *Tx) (bool, error) {
	rep, err := e.Store.Recover(ctx)
	if err != nil {
		return false, err
	}
	if rep.Outcome != "" && rep.Outcome != "none" {
		e.Log.Info().Str("outcome", rep.Outcome).Str("snapshot", rep.ID).Msg("archive recovery")
	}
	return e.sameAsSnapshot(ctx, tx.SnapshotID)
}

// finishRestore makes sure the pack holds the pre-update snapshot and
// records restored.
func finishRestore(ctx context.Context, e *Env, j *Journal, tx *Tx, what string) (*Result, error) {
	ctx = context.WithoutCancel(ctx)
	done, err := restoreDone(ctx, e, tx)
	if err != nil {
		return attention(ctx, e, j, tx, "recovering the interrupted restore: "+err.Error())
	}
	if !done {
		if _, err := e.restore(ctx, tx.SnapshotID, false); err != nil {
			return attention(ctx, e, j, tx, "restoring the pre-update snapshot: "+err.Error())
		}
	}
	if err := j.Transition(tx, StateRestored, "pre-update snapshot restored by the next command after an interruption; the pack is as it was"); err != nil {
		return nil, err
	}
	return &Result{Outcome: OutcomeRecovered, Tx: tx, Recovered: tx}, &RecoveredError{TxID: tx.ID, State: tx.State, What: what}
}

// killLeftoverU2 kills a u2 that outlived the carbonguard that started it
// (it should not: it dies with its parent), so that it cannot change the
// pack under the restore. The PID is trusted only when its command line
// still names the tool.
func killLeftoverU2(tx *Tx) {
	if tx.U2 == nil || len(tx.U2.Attempts) == 0 {
		return
	}
	a := tx.U2.Attempts[len(tx.U2.Attempts)-1]
	if a.PID <= 0 || a.ExitCode != nil {
		return
	}
	path := tx.U2.Path
	if a.Path != "" {
		path = a.Path
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(a.PID) + "/cmdline")
	if err != nil || !bytes.Contains(cmdline, []byte(path)) {
		return
	}
	_ = syscall.Kill(-a.PID, syscall.SIGKILL)
	_ = syscall.Kill(a.PID, syscall.SIGKILL)
	for i := 0; i < 50; i++ {
		if err := syscall.Kill(a.PID, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Recover finishes or undoes an interrupted operation, if any, under the
// pack's lock; used by commands that have nothing else to do (rollback,
// status --recover). nil, nil when there was nothing to recover.
func Recover(ctx context.Context, env Env) (*Result, error) {
	if err := env.check(); err != nil {
		return nil, err
	}
	lock, _, res, err := lockAndRecover(ctx, &env, "recover")
	if lock == nil {
		return nil, err
	}
	defer lock.Release()
	if res == nil && err == nil {
		return nil, nil
	}
	if res == nil {
		return nil, fmt.Errorf("recovering: %w", err)
	}
	return res, err
}

// lockAndRecover begins every guarded operation: it takes the pack's lock
// for op, opens the journal and finishes or undoes whatever an interrupted
// operation left. When it recovered something, rec says what, with a
// *RecoveredError (or *NeedsAttentionError when the recovery could not
// bring the pack to a known state), and the caller stops there: that is
// the recovery rule (see RecoveredError). The caller releases the lock.
func lockAndRecover(ctx context.Context, e *Env, op string) (lock *Lock, j *Journal, rec *Result, err error) {
	lock, err = AcquireLock(e.StateDir, op)
	if err != nil {
		return nil, nil, nil, err
	}
	j, err = OpenJournal(e.StateDir)
	if err != nil {
		lock.Release()
		return nil, nil, nil, err
	}
	j.crashPoint = e.CrashPoint
	rec, err = recoverLocked(ctx, e, j, lock)
	return lock, j, rec, err
}
