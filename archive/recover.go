package archive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/carbonguard/carbonguard/internal/durable"
)

const (
	phaseStaging  = "staging"  // unpacking; the target is untouched
	phaseSwapping = "swapping" // the staged tree is verified and synced; the swap may have begun

	opRename   = "rename"   // A -> B
	opExchange = "exchange" // A <-> B
)

// restoreRecord is <state>/restore.json: written before the staging
// directory is made, rewritten with the planned renames before the first of
// them, removed when the swap is complete.
type restoreRecord struct {
	Schema        int        `json:"schema_version"`
	ID            string     `json:"id"`
	Target        string     `json:"target"`
	Staging       string     `json:"staging"`
	Displaced     string     `json:"displaced,omitempty"`
	Phase         string     `json:"phase"`
	Steps         []swapStep `json:"steps,omitempty"`
	KeepDisplaced bool       `json:"keep_displaced"`
	Started       time.Time  `json:"started"`
	PID           int        `json:"pid"`
}

// swapStep is one rename of the swap. InoA (and InoB for an exchange) are
// the inodes found at A (and B) when the step was planned: after a crash
// they tell whether the step happened, without trusting anything else.
type swapStep struct {
	Op   string `json:"op"`
	A    string `json:"a"`
	B    string `json:"b"`
	InoA uint64 `json:"ino_a"`
	InoB uint64 `json:"ino_b,omitempty"`
}

// Recover finishes or undoes a restore that was interrupted (killed, power
// lost). A restore interrupted while unpacking is undone: the staging
// directory is removed and the target was never touched. One interrupted
// after its swap was recorded is finished: the staged tree was verified and
// synced before the record was written. The report says which.
func (s *Store) Recover(ctx context.Context) (*RecoveryReport, error) {
	unlock, err := s.lockRestore()
	if err != nil {
		return nil, err
	}
	defer unlock()
	return s.recoverLocked()
}

// Pending reports whether an interrupted restore waits for Recover.
func (s *Store) Pending() (bool, error) {
	_, err := os.Stat(s.record)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (s *Store) recoverLocked() (*RecoveryReport, error) {
	data, err := os.ReadFile(s.record)
	if errors.Is(err, fs.ErrNotExist) {
		return &RecoveryReport{Outcome: RecoveryNone}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the restore record: %w", err)
	}
	var rec restoreRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("restore record %s is unreadable (%v): look at the target and its staging and displaced siblings, then remove the record by hand", s.record, err)
	}
	if !filepath.IsAbs(rec.Target) || !stagingName(rec.Staging, rec.Target) {
		return nil, fmt.Errorf("restore record %s names an unexpected staging directory %q for %q; not touching it", s.record, rec.Staging, rec.Target)
	}
	rep := &RecoveryReport{ID: rec.ID, Target: rec.Target}
	switch rec.Phase {
	case phaseStaging:
		if err := os.RemoveAll(rec.Staging); err != nil {
			return nil, fmt.Errorf("removing the staging directory of an interrupted restore: %w", err)
		}
		if err := s.removeRecord(); err != nil {
			return nil, err
		}
		rep.Outcome = RecoveryUndone
		s.log.Warn().Str("id", rec.ID).Str("target", rec.Target).Msg("an interrupted restore had not begun its swap: staging removed, target untouched")
	case phaseSwapping:
		if err := s.finishSwap(&rec); err != nil {
			return nil, err
		}
		rep.Outcome = RecoveryFinished
		if rec.KeepDisplaced {
			rep.Displaced = rec.Displaced
		}
		s.log.Warn().Str("id", rec.ID).Str("target", rec.Target).Msg("an interrupted restore was in its swap: the swap was completed")
	default:
		return nil, fmt.Errorf("restore record %s has unknown phase %q", s.record, rec.Phase)
	}
	return rep, nil
}

// finishSwap runs (or resumes) the recorded renames, then drops the record
// and, unless asked to keep it, the displaced tree.
func (s *Store) finishSwap(rec *restoreRecord) error {
	// A later step can move what an earlier one produced (the old tree is
	// exchanged out, then renamed away), so progress is judged from the
	// last step back: the newest step whose outcome is in place is done, and
	// so is everything before it.
	first := 0
	for i := len(rec.Steps) - 1; i >= 0; i-- {
		if stepDone(rec.Steps[i]) {
			first = i + 1
			break
		}
	}
	for i := first; i < len(rec.Steps); i++ {
		st := rec.Steps[i]
		if err := runStep(st); err != nil {
			return fmt.Errorf("restore of %s into %s, step %d of %d: %w", rec.ID, rec.Target, i+1, len(rec.Steps), err)
		}
		testHook("restore:step", "")
	}
	if err := s.removeRecord(); err != nil {
		return err
	}
	if !rec.KeepDisplaced && rec.Displaced != "" {
		if err := os.RemoveAll(rec.Displaced); err != nil {
			s.log.Warn().Err(err).Str("path", rec.Displaced).Msg("removing the displaced tree; remove it with drop-displaced")
		}
	}
	return nil
}

// abandonStaging undoes a restore that failed before its swap.
func (s *Store) abandonStaging(rec *restoreRecord) {
	if err := os.RemoveAll(rec.Staging); err != nil {
		s.log.Warn().Err(err).Str("path", rec.Staging).Msg("removing the staging directory")
		return // the record stays, so Recover retries
	}
	if err := s.removeRecord(); err != nil {
		s.log.Warn().Err(err).Msg("removing the restore record")
	}
}

func (s *Store) removeRecord() error {
	if err := os.Remove(s.record); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the restore record: %w", err)
	}
	return durable.SyncDir(filepath.Dir(s.record))
}

func inoAt(p string) uint64 {
	var st unix.Stat_t
	if unix.Lstat(p, &st) != nil {
		return 0
	}
	return st.Ino
}

// stepDone reports whether a step's outcome is in place.
func stepDone(st swapStep) bool {
	switch st.Op {
	case opRename:
		return inoAt(st.B) == st.InoA
	case opExchange:
		return inoAt(st.B) == st.InoA && inoAt(st.A) == st.InoB
	}
	return false
}

// runStep performs one rename unless it already happened.
func runStep(st swapStep) error {
	switch st.Op {
	case opRename:
		switch {
		case inoAt(st.B) == st.InoA:
			return nil
		case inoAt(st.A) != st.InoA:
			return fmt.Errorf("cannot tell the state of rename %s -> %s: neither holds the expected inode; look at both by hand", st.A, st.B)
		case inoAt(st.B) != 0:
			return fmt.Errorf("cannot rename %s -> %s: %s exists", st.A, st.B, st.B)
		}
		if err := os.Rename(st.A, st.B); err != nil {
			return err
		}
	case opExchange:
		tmp := st.B + ".cg-exchange"
		a, b, t := inoAt(st.A), inoAt(st.B), inoAt(tmp)
		switch {
		case a == st.InoB && b == st.InoA:
			return nil
		case a == st.InoA && b == st.InoB:
			err := unix.Renameat2(unix.AT_FDCWD, st.A, unix.AT_FDCWD, st.B, unix.RENAME_EXCHANGE)
			if err == nil {
				break
			}
			if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EOPNOTSUPP) {
				return &os.LinkError{Op: "exchange", Old: st.A, New: st.B, Err: err}
			}
			// No atomic exchange on this file system: three renames, each
			// state of which the inode checks above recognise.
			if err := os.Rename(st.A, tmp); err != nil {
				return err
			}
			fallthrough
		case t == st.InoA && b == st.InoB && a == 0:
			if err := os.Rename(st.B, st.A); err != nil {
				return err
			}
			fallthrough
		case t == st.InoA && a == st.InoB && b == 0:
			if err := os.Rename(tmp, st.B); err != nil {
				return err
			}
		default:
			return fmt.Errorf("cannot tell the state of exchange %s <-> %s: unexpected inodes; look at both by hand", st.A, st.B)
		}
	default:
		return fmt.Errorf("unknown step %q", st.Op)
	}
	if err := durable.SyncDir(filepath.Dir(st.A)); err != nil {
		return err
	}
	if filepath.Dir(st.B) != filepath.Dir(st.A) {
		return durable.SyncDir(filepath.Dir(st.B))
	}
	return nil
}

// Displaced lists the displaced trees kept beside target.
func (s *Store) Displaced(target string) ([]string, error) {
	target, err := filepath.Abs(target)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(filepath.Dir(target))
	if err != nil {
		return nil, err
	}
	prefix := filepath.Base(target) + ".displaced-"
	var out []string
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), prefix) {
			out = append(out, filepath.Join(filepath.Dir(target), e.Name()))
		}
	}
	return out, nil
}

// DropDisplaced removes the displaced trees kept beside target and returns
// what it removed. It refuses while an interrupted restore is pending.
func (s *Store) DropDisplaced(target string) ([]string, error) {
	unlock, err := s.lockRestore()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if pending, err := s.Pending(); err != nil {
		return nil, err
	} else if pending {
		return nil, ErrRestorePending
	}
	list, err := s.Displaced(target)
	if err != nil {
		return nil, err
	}
	var done []string
	for _, p := range list {
		if err := os.RemoveAll(p); err != nil {
			return done, fmt.Errorf("removing %s: %w", p, err)
		}
		done = append(done, p)
	}
	if len(done) > 0 {
		_ = durable.SyncDir(filepath.Dir(done[0]))
	}
	return done, nil
}

// lockRestore serialises restores and recoveries on one store across
// processes.
func (s *Store) lockRestore() (func(), error) {
	fd, err := unix.Open(filepath.Join(s.dir, restoreLock), unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("restore lock: %w", err)
	}
	// A child forked elsewhere in this process holds a copy of the lock's
	// descriptor between fork and exec (O_CLOEXEC closes it only at exec), so
	// a busy lock is retried briefly before it counts as another restore.
	deadline := time.Now().Add(2 * time.Second)
	for {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { unix.Close(fd) }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			unix.Close(fd)
			return nil, fmt.Errorf("restore lock: %w", err)
		}
		if time.Now().After(deadline) {
			unix.Close(fd)
			return nil, ErrBusy
		}
		time.Sleep(20 * time.Millisecond)
	}
}
