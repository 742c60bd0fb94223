package hooks

import (
	"fmt"
	"strings"
)

// NoSuchTxError names a transaction the journal does not hold.
type NoSuchTxError struct{ ID string }

func (e *NoSuchTxError) Error() string {
	return fmt.Sprintf("no update transaction %q in the journal", e.ID)
}

// Hint tells where to look.
func (e *NoSuchTxError) Hint() string {
	return "carbonguard history lists the transactions; carbonguard snapshot list the snapshots"
}

// OpenTxError: another update transaction is open, so a new one may not
// begin. Between hook pre-update and hook post-update the open transaction
// is what keeps a second update out (a flock cannot span two processes).
type OpenTxError struct{ Tx *Tx }

func (e *OpenTxError) Error() string {
	return fmt.Sprintf("update transaction %s is open (state %s, since %s)", e.Tx.ID, e.Tx.State, e.Tx.Created.Format("2006-01-02 15:04:05Z"))
}

// Hint says how to close it.
func (e *OpenTxError) Hint() string {
	return nextStepHint(e.Tx)
}

// nextStepHint tells the operator how to move an open transaction on.
func nextStepHint(tx *Tx) string {
	switch tx.State {
	case StateConflicts:
		if tx.Rehearsal != nil && tx.SnapshotID == "" {
			return "resolve the conflicts in the rehearsal copy " + tx.Rehearsal.Copy + " (write each FILE.final) and run carbonguard update --continue, or give up with carbonguard rollback; the live pack and server are untouched"
		}
		return "resolve the conflicts (write each FILE.final) and run carbonguard update --continue, or give up with carbonguard rollback"
	case StateRehearsing:
		return "carbonguard update, start or rollback removes the interrupted rehearsal's copy (the live pack was never touched)"
	case StateRehearsed:
		return "the updated copy booted up: carbonguard update --continue --stop-server --start applies it (or stop the server yourself, e.g. systemctl stop, run update --continue, and start it), or carbonguard rollback gives it up; the live pack is untouched"
	case StateApplying:
		return "carbonguard update, start or rollback finishes applying the rehearsed change set"
	case StateU2Running:
		if tx.U2 != nil && tx.U2.External {
			return "finish it with carbonguard hook post-update --exit-code N (N = u2's exit code), or abandon it with carbonguard rollback"
		}
		return "carbonguard update or carbonguard rollback restores the pre-update snapshot of the interrupted update"
	case StateAwaitingBoot, StateBooting:
		return "start the server (carbonguard start) to judge the first boot and commit or roll back, or roll back now with carbonguard rollback"
	default:
		return "carbonguard status shows it; carbonguard update, start or rollback finishes or undoes it"
	}
}

// PreflightError: a condition that makes the update unsafe; nothing was
// changed.
type PreflightError struct {
	Problems []string
}

func (e *PreflightError) Error() string {
	return "the update is unsafe, nothing was changed: " + strings.Join(e.Problems, "; ")
}

// U2ArgsError refuses an argument of the u2 command line the operator
// gave (credentials, short flags): nothing was run.
type U2ArgsError struct{ Arg, Why string }

func (e *U2ArgsError) Error() string {
	return fmt.Sprintf("u2 argument %q: %s", e.Arg, e.Why)
}

// UpdateFailedError: u2 failed (or was interrupted) and the pre-update
// snapshot was restored, so the pack is as it was before the update.
type UpdateFailedError struct {
	TxID     string
	ExitCode int // u2's exit code; -1 when it did not exit by itself
	Reason   string
	Log      string // u2's output, masked
	// Rehearsal is set when u2 failed on a rehearsal's copy: the live pack
	// was never touched, so nothing had to be restored.
	Rehearsal bool
	Evidence  string // a rehearsal's evidence: u2's own logs from the copy
}

func (e *UpdateFailedError) Error() string {
	if e.Rehearsal {
		return fmt.Sprintf("update %s failed on the rehearsal copy (%s); the live pack and server were never touched", e.TxID, e.Reason)
	}
	return fmt.Sprintf("update %s failed (%s); the pre-update snapshot was restored, the pack is as it was", e.TxID, e.Reason)
}

// Hint points at the evidence.
func (e *UpdateFailedError) Hint() string {
	if e.Rehearsal {
		h := "carbonguard history --format json shows the transaction"
		if e.Log != "" {
			h = "u2's output is in " + e.Log
		}
		if e.Evidence != "" {
			h += "; its own logs from the copy are in " + e.Evidence
		}
		return h
	}
	if e.Log != "" {
		return "u2's output is in " + e.Log + "; its own logs are in <home>/updates/logs of the snapshot (carbonguard history --format json names it)"
	}
	return "carbonguard history --format json shows the transaction"
}

// ConflictsError: u2 left conflicts; the transaction stays open.
type ConflictsError struct {
	TxID      string
	Conflicts []Conflict
	// Copy is set when u2 stopped on a rehearsal's copy: the conflicts are
	// to be resolved there, and the live pack was not touched.
	Copy string
}

func (e *ConflictsError) Error() string {
	var open []string
	for _, c := range e.Conflicts {
		if !c.Resolved {
			open = append(open, c.Path)
		}
	}
	if e.Copy != "" {
		return fmt.Sprintf("update %s stopped on %d conflict(s) in the rehearsal copy %s, %d unresolved: %s; the live pack and server were not touched",
			e.TxID, len(e.Conflicts), e.Copy, len(open), strings.Join(open, ", "))
	}
	return fmt.Sprintf("update %s stopped on %d conflict(s), %d unresolved: %s", e.TxID, len(e.Conflicts), len(open), strings.Join(open, ", "))
}

// Hint says how to resolve or give up.
func (e *ConflictsError) Hint() string {
	if e.Copy != "" {
		return "in " + e.Copy + ", for each FILE, merge FILE.original (previous level) and FILE.new (new level) with your FILE into FILE.final, then run carbonguard update --continue (the rehearsal goes on from there); or give up with carbonguard rollback (the copy is removed)"
	}
	return "for each FILE, merge FILE.original (previous level) and FILE.new (new level) with your FILE into FILE.final, then run carbonguard update --continue; or give up with carbonguard rollback"
}

// RehearsalFailedError: update --rehearse booted the updated copy and it
// did not come up (verdict failed or unknown). The live pack and server
// were never touched: the update was not applied.
type RehearsalFailedError struct {
	TxID     string
	Verdict  string // failed or unknown
	Summary  string
	Evidence string // the copy's verdict, logs and u2's logs
	LivePID  int    // the live server, still running (0: it was not running)
}

func (e *RehearsalFailedError) Error() string {
	live := "the live pack was never touched"
	if e.LivePID > 0 {
		live = fmt.Sprintf("the live pack was never touched and its server (PID %d) kept running", e.LivePID)
	}
	return fmt.Sprintf("update %s not applied: the rehearsal copy's boot was %s (%s); %s", e.TxID, e.Verdict, e.Summary, live)
}

// Hint points at the evidence.
func (e *RehearsalFailedError) Hint() string {
	return "the copy's verdict, boot log and console, and u2's logs are in " + e.Evidence
}

// RolledBackError: the first boot after the update failed, the pack was
// rolled back and the old version is up.
type RolledBackError struct {
	TxID      string
	FailedDir string
	Summary   string
}

func (e *RolledBackError) Error() string {
	return fmt.Sprintf("the first boot after update %s failed (%s); the pre-update pack was restored and is up", e.TxID, e.Summary)
}

// Hint points at the evidence.
func (e *RolledBackError) Hint() string {
	return "the failed boot's logs, verdict and diff are in " + e.FailedDir
}

// NeedsAttentionError: something a person must look at; the server is
// stopped (or was never started again).
type NeedsAttentionError struct {
	TxID      string
	Reason    string
	FailedDir string
}

func (e *NeedsAttentionError) Error() string {
	return fmt.Sprintf("update %s needs attention: %s", e.TxID, e.Reason)
}

// Hint points at the evidence.
func (e *NeedsAttentionError) Hint() string {
	h := "the server was left stopped; carbonguard history --format json shows the transaction"
	if e.FailedDir != "" {
		h += "; the failed boot's logs, verdict and diff are in " + e.FailedDir
	}
	return h
}

// RecoveredError: an interrupted operation was found and finished or undone;
// the command that found it did not go on with its own work.
//
// The recovery rule, the same for every guarded operation (Update,
// PreUpdate, PostUpdate, Rollback, BeginStart): the operation first
// finishes or undoes what an interrupted one left, and then stops there
// with *RecoveredError when that left the pack in a known state (as it was
// before the update, or rolled back and up), or *NeedsAttentionError when
// it could not. The one exception is Rollback when the recovery already
// restored the pre-update snapshot of the transaction it was asked to roll
// back: that is its own work, done, and it succeeds.
type RecoveredError struct {
	TxID string
	// State is the transaction's state after the recovery: aborted,
	// restored, or rolled-back (the old pack is up).
	State State
	What  string
}

func (e *RecoveredError) Error() string {
	return fmt.Sprintf("an interrupted operation was found and %s (transaction %s)", e.What, e.TxID)
}

// Hint says what to do next.
func (e *RecoveredError) Hint() string {
	if e.State == StateRolledBack {
		return "the server runs the restored pre-update pack (carbonguard status); carbonguard history shows the failed update and where its evidence is"
	}
	return "the pack is as it was before the update; run the command again"
}

// PendingError: hook post-update was given u2's exit code 2 (the tool updated
// itself and the update still has to be run).
type PendingError struct{ TxID string }

func (e *PendingError) Error() string {
	return fmt.Sprintf("u2 exit code 2 means it updated itself and did not update the pack; transaction %s stays open", e.TxID)
}

// Hint says what to do.
func (e *PendingError) Hint() string {
	return "run the same u2 command again, then carbonguard hook post-update --exit-code with its new exit code"
}

// RollbackRefusedError: a manual rollback could not restore its snapshot
// (corrupt, incomplete, not found, no room) and left the pack as it was;
// the transaction it acted on is as it was too. Err is the cause, which
// decides the exit code.
type RollbackRefusedError struct {
	SnapshotID string
	Err        error
}

func (e *RollbackRefusedError) Error() string {
	return fmt.Sprintf("rollback refused, the pack was not changed: snapshot %s cannot be restored: %v", e.SnapshotID, e.Err)
}

func (e *RollbackRefusedError) Unwrap() error { return e.Err }
