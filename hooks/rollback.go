package hooks

import (
	"context"
	"errors"
	"fmt"

	"github.com/carbonguard/carbonguard/archive"
)

// RollbackOptions are a manual rollback's.
type RollbackOptions struct {
	Env
	// Target is a transaction id (restore its pre-update snapshot), a
	// snapshot id, or "" for the open transaction, else the newest one that
	// can be rolled back (committed or needing attention).
	Target string
	// StopServer stops a running server instead of refusing.
	StopServer bool
}

// Rollback restores a pre-update snapshot by hand: to give up an update
// stopped on conflicts or begun by hook pre-update, to undo an update
// awaiting its first boot or already committed, or to go back to any
// snapshot. The tree it replaces is kept beside the pack (the restore's
// displaced sibling) and named in the result. An interrupted operation is
// finished first; when that already is the rollback asked for, it is the
// result.
func Rollback(ctx context.Context, o RollbackOptions) (*Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	lock, j, rec, err := lockAndRecover(ctx, &o.Env, "rollback")
	if lock == nil {
		return nil, err
	}
	defer lock.Release()
	if rec != nil || err != nil {
		// The recovery rule (RecoveredError), with its one exception: when
		// the recovery restored the pre-update snapshot of the transaction
		// this rollback is about, that is this rollback, done.
		var re *RecoveredError
		if rec != nil && rec.Tx != nil && errors.As(err, &re) && (o.Target == "" || o.Target == rec.Tx.ID) {
			switch rec.Tx.State {
			case StateRestored:
				return &Result{Outcome: OutcomeRestored, Tx: rec.Tx, Recovered: rec.Tx}, nil
			case StateRolledBack:
				return &Result{Outcome: OutcomeRolledBack, Tx: rec.Tx, Recovered: rec.Tx}, nil
			}
		}
		return rec, err
	}

	tx, err := rollbackTarget(j, &o)
	if err != nil {
		return nil, err
	}
	if tx.Rehearsal != nil && tx.SnapshotID == "" && !tx.State.Terminal() {
		// A rehearsal waiting on conflicts in its copy: giving up removes
		// the copy; the live pack was never touched.
		removeScratch(o.Log, tx.Rehearsal)
		removeStaging(tx.Rehearsal)
		if err := j.Transition(tx, StateAborted, "rehearsal given up (rollback): its copy was removed; the live pack and server were never touched"); err != nil {
			return nil, err
		}
		return &Result{Outcome: OutcomeNone, Tx: tx}, nil
	}
	if err := o.ensureStopped(ctx, "rollback", o.StopServer); err != nil {
		return nil, err
	}
	ctx = context.WithoutCancel(ctx)
	before := *tx
	midUpdate := tx.State == StateConflicts || tx.State == StateU2Running
	if err := j.Transition(tx, StateRestoring, "manual rollback: restoring snapshot "+tx.SnapshotID); err != nil {
		return nil, err
	}
	if midUpdate {
		if dst := o.keepU2Logs(tx); dst != "" {
			tx.FailedDir = o.failedDir(tx.ID)
		}
	}
	rep, err := o.restore(ctx, tx.SnapshotID, true)
	if err != nil {
		if o.packUntouched(err) {
			return refused(j, tx, &before, err)
		}
		return attention(ctx, &o.Env, j, tx, "manual rollback: restoring snapshot "+tx.SnapshotID+": "+err.Error())
	}
	tx.Displaced = rep.Displaced
	msg := "manual rollback: snapshot " + tx.SnapshotID + " restored"
	if rep.Displaced != "" {
		msg += "; the replaced tree is kept in " + rep.Displaced
	}
	if err := j.Transition(tx, StateRestored, msg); err != nil {
		return nil, err
	}
	return &Result{Outcome: OutcomeRestored, Tx: tx}, nil
}

// rollbackTarget finds (or, for a bare snapshot id, begins) the
// transaction a manual rollback acts on.
func rollbackTarget(j *Journal, o *RollbackOptions) (*Tx, error) {
	if o.Target == "" {
		open, err := j.Open()
		if err != nil {
			return nil, err
		}
		if open != nil {
			return open, nil
		}
		txs, err := j.List()
		if err != nil {
			return nil, err
		}
		for i := len(txs) - 1; i >= 0; i-- {
			tx := txs[i]
			if tx.SnapshotID == "" || tx.State == StateAborted {
				continue
			}
			switch tx.State {
			case StateCommitted, StateNeedsAttention:
				return tx, nil
			default: // restored, rolled-back: already at the pre-update snapshot
				return nil, usageErr(fmt.Sprintf("the last update (%s) is already %s; name a transaction or snapshot to go back further (carbonguard history, carbonguard snapshot list)", tx.ID, tx.State))
			}
		}
		return nil, usageErr("no update to roll back: the journal holds none; name a snapshot (carbonguard snapshot list)")
	}
	tx, err := j.Load(o.Target)
	var nst *NoSuchTxError
	if err == nil {
		if tx.SnapshotID == "" {
			return nil, usageErr(fmt.Sprintf("transaction %s has no pre-update snapshot (it ended %s before one was taken)", tx.ID, tx.State))
		}
		if open, _ := j.Open(); open != nil && open.ID != tx.ID {
			return nil, &OpenTxError{Tx: open}
		}
		return tx, nil
	}
	if !errors.As(err, &nst) {
		return nil, err
	}
	m, serr := o.Store.Show(o.Target)
	if serr != nil {
		var nf *archive.NotFoundError
		if errors.As(serr, &nf) {
			return nil, usageErr(fmt.Sprintf("%q is neither an update transaction nor a snapshot (carbonguard history, carbonguard snapshot list)", o.Target))
		}
		return nil, serr
	}
	if open, _ := j.Open(); open != nil {
		return nil, &OpenTxError{Tx: open}
	}
	tx, err = j.Begin("rollback", o.Home, "manual rollback to snapshot "+m.ID)
	if err != nil {
		return nil, err
	}
	tx.SnapshotID = m.ID
	if p, err := o.openPack(); err == nil {
		describe(tx, p)
	}
	return tx, j.Save(tx)
}

// packUntouched reports whether a restore that failed with err left the
// pack as it was: the archive checks the snapshot (its manifest, every
// entry's path, type and hash) while staging beside the pack, and only a
// staged tree that passed is swapped in. A corrupt, incomplete or unsafe
// snapshot, one not found, or too little room are found before the swap;
// any other failure leaves no restore record once the staging is given up.
func (e *Env) packUntouched(err error) bool {
	var (
		corrupt    *archive.CorruptError
		incomplete *archive.IncompleteError
		unsafe     *archive.UnsafeEntryError
		notFound   *archive.NotFoundError
		space      *archive.InsufficientSpaceError
		usage      *archive.UsageError
	)
	if errors.As(err, &corrupt) || errors.As(err, &incomplete) || errors.As(err, &unsafe) ||
		errors.As(err, &notFound) || errors.As(err, &space) || errors.As(err, &usage) || errors.Is(err, archive.ErrBusy) {
		return true
	}
	pending, perr := e.Store.Pending()
	return perr == nil && !pending
}

// refused ends a manual rollback whose restore could not start: the pack
// was not changed, so the transaction goes back to where it was (a rollback
// begun for a bare snapshot id is aborted) instead of needing attention,
// and a later plain rollback still finds the update it is about. The error
// keeps its cause (a corrupt snapshot is exit 20, an incomplete one 21).
func refused(j *Journal, tx, before *Tx, cause error) (*Result, error) {
	msg := "manual rollback to snapshot " + tx.SnapshotID + " refused, the pack was not changed: " + cause.Error()
	state := before.State
	if tx.Kind == "rollback" && state == StatePending {
		state = StateAborted
		tx.Error = msg
	}
	tx.Step, tx.FailedDir = before.Step, before.FailedDir
	if err := j.Transition(tx, state, msg); err != nil {
		return nil, errors.Join(&RollbackRefusedError{SnapshotID: tx.SnapshotID, Err: cause}, err)
	}
	return &Result{Outcome: OutcomeNone, Tx: tx}, &RollbackRefusedError{SnapshotID: tx.SnapshotID, Err: cause}
}
