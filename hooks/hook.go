package hooks

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/carbonguard/carbonguard/pack"
)

// HookOptions are hook pre-update's and hook post-update's, for operators
// who run u2 from their own scripts (WSO2's ansible-apim and puppet-apim
// update.sh, a Jenkins job).
type HookOptions struct {
	Env
	StopServer bool
	// U2Backup: the operator's u2 takes its own backup (only used for the
	// free-space estimate).
	U2Backup  bool
	Preflight func(ctx context.Context, p *pack.Pack) error
	// Start (post-update) starts the server after exit code 0 and judges
	// its first boot under the same lock, as UpdateOptions.Start does.
	Start bool
}

// PreUpdate does everything carbonguard update does before running u2:
// lock, server stopped, preflight, verified pre-update snapshot; and leaves
// the transaction open in u2-running (external) for the operator's u2 run.
//
// The lock is an flock held by a process, so it cannot span the two hook
// commands. The open transaction takes its place between them: while it is
// open, a second pre-update, an update and a start are refused, until hook
// post-update (or carbonguard rollback) closes it.
func PreUpdate(ctx context.Context, o HookOptions) (*Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	lock, j, rec, err := lockAndRecover(ctx, &o.Env, "hook pre-update")
	if lock == nil {
		return nil, err
	}
	defer lock.Release()
	if err != nil || rec != nil {
		return rec, err
	}
	if open, err := j.Open(); err != nil {
		return nil, err
	} else if open != nil {
		return nil, &OpenTxError{Tx: open}
	}
	if err := o.ensureStopped(ctx, "hook pre-update", o.StopServer); err != nil {
		return nil, err
	}
	p, err := o.openPack()
	if err != nil {
		return nil, err
	}
	uo := &UpdateOptions{Env: o.Env, U2Backup: o.U2Backup, Preflight: o.Preflight}
	if err := preflight(ctx, uo, p); err != nil {
		return nil, err
	}
	tx, err := j.Begin("hook", o.Home, "hook pre-update: taking the pre-update snapshot")
	if err != nil {
		return nil, err
	}
	describe(tx, p)
	tx.U2 = &U2Record{External: true}
	if res, err := o.recordPreUpdateSnapshot(ctx, j, tx, p, StateU2Running, func(id string) string {
		return "pre-update snapshot " + id + " taken and verified; waiting for the operator's u2 run and hook post-update --exit-code N"
	}); err != nil {
		return res, err
	}
	return &Result{Outcome: OutcomeNone, Tx: tx}, nil
}

// PostUpdate acts on the exit code of the operator's u2 run, as update
// would have: 0 → awaiting the first boot; 3 → conflicts (the transaction
// stays open; after merging, run u2 --continue and post-update again, or
// carbonguard update --continue); 2 → u2 updated itself, run it again
// (*PendingError); 1 after a --continue with conflicts left → still
// conflicts; 1, 4 or any other → restore the pre-update snapshot. With
// Start, exit code 0 goes on to the first boot: committed when up, rolled
// back otherwise.
func PostUpdate(ctx context.Context, o HookOptions, exitCode int) (*Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.Start && o.Server == nil {
		return nil, errors.New("hooks: HookOptions.Start needs a Server")
	}
	lock, j, rec, err := lockAndRecover(ctx, &o.Env, "hook post-update")
	if lock == nil {
		return nil, err
	}
	defer lock.Release()
	if err != nil || rec != nil {
		return rec, err
	}
	tx, err := j.Open()
	if err != nil {
		return nil, err
	}
	if tx == nil || tx.Kind != "hook" || (tx.State != StateU2Running && tx.State != StateConflicts) {
		if tx != nil {
			return nil, &OpenTxError{Tx: tx}
		}
		return nil, usageErr("hook post-update: no update begun by hook pre-update is open (carbonguard history shows the last one)")
	}
	wasConflicts := tx.State == StateConflicts
	code := exitCode
	end := now()
	tx.U2.Attempts = append(tx.U2.Attempts, U2Attempt{Started: end, Ended: &end, ExitCode: &code})
	if err := j.Save(tx); err != nil {
		return nil, err
	}
	uo := &UpdateOptions{Env: o.Env, Start: o.Start}
	switch code {
	case u2OK:
		return updated(ctx, uo, j, tx)
	case u2SelfUpdate:
		if err := j.Transition(tx, StateU2Running, "the operator's u2 exited 2 (it updated itself); waiting for the re-run"); err != nil {
			return nil, err
		}
		return &Result{Outcome: OutcomeNone, Tx: tx}, &PendingError{TxID: tx.ID}
	case u2Conflicts:
		return conflicts(uo, j, tx, "", "the operator's u2 stopped on conflicts (exit code 3)")
	case u2Error:
		if wasConflicts {
			if c, _ := FindConflicts(o.Home); len(c) > 0 {
				return conflicts(uo, j, tx, "", "the operator's u2 --continue exited 1: conflicts are still unresolved")
			}
		}
	}
	why := fmt.Sprintf("the operator's u2 exited %d", code)
	switch code {
	case u2Error:
		why += " (error)"
	case u2Reverted:
		why += " (reverted)"
	default:
		why += " (not a documented u2 exit code)"
	}
	return failAndRestore(ctx, uo, j, tx, code, strings.TrimSpace(why))
}
