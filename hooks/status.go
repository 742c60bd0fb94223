package hooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// StatusReport is the update side of carbonguard status.
type StatusReport struct {
	// Open is the transaction not yet finished, if any.
	Open *Tx `json:"open_tx,omitempty"`
	// Last is the newest transaction (the open one, or the last finished).
	Last *Tx `json:"last_tx,omitempty"`
	// Interrupted is true when Open was left mid-step by a process that
	// died; the next update, start or rollback finishes or undoes it.
	Interrupted bool `json:"interrupted"`
	// Holder is the live process holding the pack's lock, if any.
	Holder *LockInfo `json:"lock_holder,omitempty"`
	// DeadHolder is a lock holder that died without releasing. Nothing is to
	// be deleted: the kernel freed its lock; the next guarded command
	// reports it and deals with what it left.
	DeadHolder *LockInfo `json:"dead_lock_holder,omitempty"`
	// Next says, for people, what happens next or what to do.
	Next string `json:"next,omitempty"`
}

// Status reads the journal and the lock without changing anything.
func Status(stateDir string) (*StatusReport, error) {
	rep := &StatusReport{}
	if _, err := os.Stat(filepath.Join(stateDir, "journal")); errors.Is(err, os.ErrNotExist) {
		rep.Next = "no update has been run through carbonguard for this pack"
		return rep, nil
	}
	j, err := OpenJournal(stateDir)
	if err != nil {
		return nil, err
	}
	if rep.Last, err = j.Latest(); err != nil {
		return nil, err
	}
	if rep.Open, err = j.Open(); err != nil {
		return nil, err
	}
	held, info := probeLock(stateDir)
	if held {
		rep.Holder = info
	} else if info != nil {
		rep.DeadHolder = info
	}
	switch {
	case rep.Open == nil:
		if rep.Last != nil {
			rep.Next = "no update in progress; the last one is " + string(rep.Last.State)
		}
	case held:
		rep.Next = "in progress: " + info.String()
	default:
		rep.Interrupted, rep.Next = interrupted(rep.Open)
		if rep.Interrupted && rep.DeadHolder != nil {
			rep.Next = fmt.Sprintf("%s (left by PID %d, %q, which died; its lock was freed with it, nothing to delete by hand)",
				rep.Next, rep.DeadHolder.PID, rep.DeadHolder.Operation)
		}
	}
	return rep, nil
}

// interrupted says whether an open transaction found with no live lock
// holder was cut short, and what the next command will do with it.
func interrupted(tx *Tx) (bool, string) {
	switch tx.State {
	case StateRehearsing:
		return true, "a rehearsal was interrupted at step " + string(tx.Step) + " (the live pack and server were never touched); the next update, start or rollback removes its copy"
	case StateApplying:
		return true, "interrupted while the rehearsed change set was applied to the live pack; the next update, start or rollback finishes it"
	case StatePending:
		return true, "interrupted before u2 ran (the pack was not changed); the next update, start or rollback closes it"
	case StateU2Running:
		if tx.U2 != nil && tx.U2.External {
			return false, "waiting for the operator's u2 run: " + nextStepHint(tx)
		}
		return true, "interrupted while u2 ran (the pack may be half updated); the next update, start or rollback restores the pre-update snapshot " + tx.SnapshotID
	case StateRestoring:
		return true, "interrupted while restoring the pre-update snapshot; the next update, start or rollback finishes the restore"
	case StateRollingBack:
		return true, "a rollback after a failed boot was interrupted at step " + string(tx.Step) + "; the next start or rollback continues it"
	case StateBooting:
		return true, "the first boot after the update was not judged (the start was interrupted); the next start judges it"
	default:
		return false, nextStepHint(tx)
	}
}

// probeLock tells, without taking the lock, whether a live process holds it
// and who holds or last held it.
func probeLock(stateDir string) (bool, *LockInfo) {
	path := filepath.Join(stateDir, "lock")
	f, err := os.Open(path)
	if err != nil {
		return false, nil
	}
	defer f.Close()
	var info *LockInfo
	if data, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(data)) != "" {
		var li LockInfo
		if json.Unmarshal(data, &li) == nil && li.PID != 0 {
			info = &li
		}
	}
	// A shared lock is refused while an exclusive one is held, and takes
	// nothing from anyone when it is granted (it is dropped at once).
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			if info == nil {
				info = &LockInfo{}
			}
			return true, info
		}
		return false, info
	}
	_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false, info
}

// ProtectedSnapshots lists the snapshots that open transactions depend on:
// snapshot prune must keep them. Once a transaction is committed (or
// otherwise finished) its pre-update snapshot is an ordinary one.
func ProtectedSnapshots(stateDir string) ([]string, error) {
	if _, err := os.Stat(filepath.Join(stateDir, "journal")); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	j, err := OpenJournal(stateDir)
	if err != nil {
		return nil, err
	}
	txs, err := j.List()
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, tx := range txs {
		if tx.State.Terminal() {
			continue
		}
		deps := []string{tx.SnapshotID, tx.FailedSnapshotID}
		if tx.Rehearsal != nil {
			deps = append(deps, tx.Rehearsal.Base.Snapshot) // the copy's changes are diffed against it
		}
		for _, id := range deps {
			if id != "" {
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}

// History returns every transaction in the journal, oldest first.
func History(stateDir string) ([]*Tx, error) {
	if _, err := os.Stat(filepath.Join(stateDir, "journal")); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	j, err := OpenJournal(stateDir)
	if err != nil {
		return nil, err
	}
	return j.List()
}
