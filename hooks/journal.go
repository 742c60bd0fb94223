package hooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/carbonguard/carbonguard/internal/durable"
	"github.com/carbonguard/carbonguard/wrapper"
)

// State is where an update transaction stands. Every state is written to
// the journal before the step it names is taken, so a process killed at any
// point leaves a record of what it was doing.
type State string

// The transaction states, in the order a transaction meets them.
const (
	// StatePending: the lock is held and the pre-update snapshot is being
	// taken (SnapshotID empty) or is taken and verified (SnapshotID set);
	// u2 has not started, the pack is untouched.
	StatePending State = "pending"
	// StateU2Running: u2 is (or may be) changing the pack. With External
	// set, the operator runs u2 between hook pre-update and post-update.
	StateU2Running State = "u2-running"
	// StateConflicts: u2 exited 3; the pack holds .original/.new pairs and
	// waits for the operator (update --continue, or rollback).
	StateConflicts State = "conflicts"
	// StateAwaitingBoot: u2 succeeded; the first boot will tell whether to
	// commit or roll back.
	StateAwaitingBoot State = "updated-awaiting-boot"
	// StateBooting: the first boot after the update is being judged.
	StateBooting State = "booting"
	// StateRestoring: the pre-update snapshot is being restored without a
	// boot (u2 failed, conflicts given up, a manual rollback, a crash).
	StateRestoring State = "restoring"
	// StateRollingBack: the first boot failed; the failed tree is being kept
	// and the pre-update snapshot restored and started.
	StateRollingBack State = "rolling-back"

	// StateRehearsing: update --rehearse is laying a copy of the pack
	// down, running u2 on it or booting it (Step says which); the live pack
	// and server are untouched.
	StateRehearsing State = "rehearsing"
	// StateRehearsed: update --rehearse-only: the copy booted up and the
	// change set waits beside the live pack, untouched, for update
	// --continue (or rollback, which gives it up).
	StateRehearsed State = "rehearsed"
	// StateApplying: the copy booted up, the live server is stopped and
	// the pre-update snapshot taken; the change set u2 made on the copy is
	// being applied to the live pack (Rehearsal.Staging holds its plan).
	StateApplying State = "applying"

	// Terminal states.
	StateAborted        State = "aborted"         // stopped before u2 touched the pack
	StateRestored       State = "restored"        // the pre-update snapshot is back; no boot involved
	StateCommitted      State = "committed"       // the first boot after the update was up
	StateRolledBack     State = "rolled-back"     // the first boot failed; the old pack is back and up
	StateNeedsAttention State = "needs-attention" // the boot after the rollback failed too; the server is stopped
	// StateRehearsalFailed: u2 failed on the rehearsal copy, or the copy did
	// not boot up; the live pack and server were never touched.
	StateRehearsalFailed State = "rehearsal-failed"
)

// Terminal reports whether a transaction in state s is finished: nothing
// will act on it again by itself.
func (s State) Terminal() bool {
	switch s {
	case StateAborted, StateRestored, StateCommitted, StateRolledBack, StateNeedsAttention, StateRehearsalFailed:
		return true
	}
	return false
}

// RollbackStep is where a rollback after a failed boot stands, so that an
// interrupted rollback continues rather than starts over.
type RollbackStep string

// The steps of a rollback after a failed boot, in order.
const (
	StepStopping     RollbackStep = "stopping"
	StepKeepingLogs  RollbackStep = "keeping-verdict"
	StepSnapshotting RollbackStep = "snapshotting-failed-tree"
	StepRestoring    RollbackStep = "restoring"
	StepStarting     RollbackStep = "starting"
	// StepEvidence: the old pack is back and judged; the failed tree (kept
	// beside the pack by the restore) gives up its logs and is diffed and
	// snapshotted.
	StepEvidence RollbackStep = "keeping-evidence"
)

// The steps of a rehearsal (State rehearsing), in order; the live pack is
// untouched through all of them.
const (
	StepBase        RollbackStep = "base-snapshot" // choosing (or taking) the snapshot the copy comes from
	StepCopying     RollbackStep = "copying"       // laying the copy down
	StepU2OnCopy    RollbackStep = "u2-on-copy"    // u2 runs on the copy
	StepCapturing   RollbackStep = "capturing"     // what u2 changed is staged beside the live pack
	StepBootingCopy RollbackStep = "booting-copy"  // the copy boots isolated and is judged
)

// Tx is one update transaction as the journal keeps it. It never holds a
// secret: u2's command line is stored with credentials masked and its
// environment is never stored.
type Tx struct {
	SchemaVersion int    `json:"schema_version"`
	ID            string `json:"id"`
	// Kind is "update" (carbonguard update), "hook" (hook pre-update and
	// post-update around an operator's own u2 run) or "rollback" (a manual
	// rollback to a snapshot no update transaction names).
	Kind  string `json:"kind"`
	State State  `json:"state"`
	// Step is the rollback's progress while State is rolling-back, the
	// rehearsal's while it is rehearsing.
	Step RollbackStep `json:"step,omitempty"`

	Home        string `json:"home"`
	Product     string `json:"product,omitempty"`
	ProductCode string `json:"product_code,omitempty"`

	LevelBefore *int `json:"level_before,omitempty"` // nil when updates/config.json had no level
	LevelAfter  *int `json:"level_after,omitempty"`

	// SnapshotID is the verified pre-update snapshot every undo restores.
	SnapshotID string `json:"snapshot_id,omitempty"`
	// Dumps names the database dumps the pre-update snapshot holds (its
	// attachments): a rollback restores them only when asked.
	Dumps []string `json:"dumps,omitempty"`
	// FailedSnapshotID is the snapshot of the failed tree taken before a
	// rollback (reason pre-rollback).
	FailedSnapshotID string `json:"failed_snapshot_id,omitempty"`
	// FailedDir keeps the failed tree's logs, verdict and diff.
	FailedDir string `json:"failed_dir,omitempty"`
	// Displaced is where a restore left the tree it replaced (a sibling of
	// the pack), until it is snapshotted or dropped.
	Displaced string `json:"displaced,omitempty"`

	// Rehearsal is set for update --rehearse: the copy u2 ran on and that
	// booted first, and what its change set did to the live pack.
	Rehearsal *Rehearsal `json:"rehearsal,omitempty"`

	U2        *U2Record  `json:"u2,omitempty"`
	Conflicts []Conflict `json:"conflicts,omitempty"`
	Changes   *Changes   `json:"changes,omitempty"`

	// Boot is the verdict of the first boot after the update; AfterRollback
	// the verdict of the boot after the rollback.
	Boot          *BootRecord `json:"boot,omitempty"`
	AfterRollback *BootRecord `json:"after_rollback,omitempty"`

	Error   string    `json:"error,omitempty"` // why the transaction ended as it did, for people
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	Events  []Event   `json:"events"`
}

// U2Record is what the journal keeps of u2's runs.
type U2Record struct {
	Path string `json:"path"`
	// Args is the command line without the program, credentials masked.
	Args      []string    `json:"args"`
	External  bool        `json:"external,omitempty"` // run by the operator between hook pre-update and post-update
	Attempts  []U2Attempt `json:"attempts,omitempty"`
	Changelog string      `json:"changelog,omitempty"` // relative to the home, e.g. updates/changelog-0000-0002.md
}

// U2Attempt is one run of u2.
type U2Attempt struct {
	Args     []string   `json:"args"` // masked
	PID      int        `json:"pid,omitempty"`
	Started  time.Time  `json:"started"`
	Ended    *time.Time `json:"ended,omitempty"`
	ExitCode *int       `json:"exit_code,omitempty"`
	Log      string     `json:"log,omitempty"` // the run's output (masked), absolute path in the state directory
	// Path and Home are the tool run and the pack it ran on when they are
	// not U2Record.Path and the transaction's home: a rehearsal's copy.
	Path string `json:"path,omitempty"`
	Home string `json:"home,omitempty"`
}

// Conflict is a file u2 could not merge: Path (relative to the home) is the
// operator's version, Path.original the previous level's, Path.new the new
// level's. Resolved means Path.final exists.
type Conflict struct {
	Path     string `json:"path"`
	Resolved bool   `json:"resolved"`
}

// Changes is what the update changed in the pack: the pre-update snapshot
// against the live tree.
type Changes struct {
	Added    []string `json:"added,omitempty"`
	Removed  []string `json:"removed,omitempty"`
	Modified []string `json:"modified,omitempty"`
}

// Count is the number of paths changed.
func (c *Changes) Count() int {
	if c == nil {
		return 0
	}
	return len(c.Added) + len(c.Removed) + len(c.Modified)
}

// BootRecord is a boot verdict as the journal keeps it.
type BootRecord struct {
	State   wrapper.State    `json:"state"`
	Summary string           `json:"summary,omitempty"`
	Time    time.Time        `json:"time"`
	Verdict *wrapper.Verdict `json:"verdict,omitempty"` // the wrapper's full verdict; nil when no start was attempted
}

// Event is one line of a transaction's history.
type Event struct {
	Time    time.Time `json:"time"`
	State   State     `json:"state"`
	Step    string    `json:"step,omitempty"`
	Message string    `json:"message"`
}

const txSchemaVersion = 1

// Journal is the directory of update transactions, <state>/journal: one
// directory per transaction, named by its ID (IDs sort by time), holding
// tx.json (rewritten atomically at every step) and u2's logs. Nothing is
// ever deleted from it.
type Journal struct {
	dir string
	now func() time.Time
	// crashPoint is Env.CrashPoint for the journals guarded operations open.
	crashPoint func(state, step string)
}

// OpenJournal opens (creating if needed) the journal of a state directory.
func OpenJournal(stateDir string) (*Journal, error) {
	dir := filepath.Join(stateDir, "journal")
	if err := durable.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating journal %s: %w", dir, err)
	}
	return &Journal{dir: dir, now: func() time.Time { return time.Now().UTC() }}, nil
}

// Dir is the journal's directory.
func (j *Journal) Dir() string { return j.dir }

// TxDir is the directory that holds a transaction's record and logs.
func (j *Journal) TxDir(id string) string { return filepath.Join(j.dir, id) }

// Begin creates a new transaction in state pending and writes it.
func (j *Journal) Begin(kind, home, message string) (*Tx, error) {
	now := j.now()
	base := now.Format("20060102T150405Z") + "-" + kind
	id := base
	for i := 2; ; i++ {
		err := os.Mkdir(filepath.Join(j.dir, id), 0o700)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("creating transaction %s: %w", id, err)
		}
		id = fmt.Sprintf("%s-%d", base, i)
	}
	if err := durable.SyncDir(j.dir); err != nil {
		return nil, err
	}
	tx := &Tx{SchemaVersion: txSchemaVersion, ID: id, Kind: kind, State: StatePending, Home: home, Created: now}
	if err := j.Transition(tx, StatePending, message); err != nil {
		return nil, err
	}
	return tx, nil
}

// Transition moves tx to state s, notes why, and writes it durably. Call it
// before taking the step s names.
func (j *Journal) Transition(tx *Tx, s State, message string) error {
	tx.State = s
	if s != StateRollingBack && s != StateRehearsing {
		tx.Step = ""
	}
	return j.record(tx, string(tx.Step), message)
}

// Step records the next step of a rollback before it is taken.
func (j *Journal) Step(tx *Tx, step RollbackStep, message string) error {
	tx.State = StateRollingBack
	tx.Step = step
	return j.record(tx, string(step), message)
}

// Rehearse records the next step of a rehearsal before it is taken.
func (j *Journal) Rehearse(tx *Tx, step RollbackStep, message string) error {
	tx.State = StateRehearsing
	tx.Step = step
	return j.record(tx, string(step), message)
}

// Save writes tx as it is, adding no event (details filled in within a step).
func (j *Journal) Save(tx *Tx) error {
	tx.Updated = j.now()
	return j.write(tx)
}

func (j *Journal) record(tx *Tx, step, message string) error {
	now := j.now()
	tx.Updated = now
	tx.Events = append(tx.Events, Event{Time: now, State: tx.State, Step: step, Message: message})
	if err := j.write(tx); err != nil {
		return err
	}
	if j.crashPoint != nil {
		j.crashPoint(string(tx.State), step)
	}
	return nil
}

func (j *Journal) write(tx *Tx) error {
	data, err := json.MarshalIndent(tx, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding transaction %s: %w", tx.ID, err)
	}
	path := filepath.Join(j.dir, tx.ID, "tx.json")
	if err := durable.WriteFile(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// Load reads one transaction.
func (j *Journal) Load(id string) (*Tx, error) {
	if id == "" || strings.ContainsAny(id, `/\`) || id == "." || id == ".." {
		return nil, &NoSuchTxError{ID: id}
	}
	path := filepath.Join(j.dir, id, "tx.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, &NoSuchTxError{ID: id}
	}
	if err != nil {
		return nil, fmt.Errorf("reading transaction %s: %w", path, err)
	}
	var tx Tx
	if err := json.Unmarshal(data, &tx); err != nil {
		return nil, fmt.Errorf("%s: corrupt transaction record: %w", path, err)
	}
	if tx.SchemaVersion > txSchemaVersion {
		return nil, fmt.Errorf("%s: written by a newer carbonguard (schema %d); upgrade carbonguard", path, tx.SchemaVersion)
	}
	return &tx, nil
}

// List returns every transaction, oldest first. A transaction directory
// without tx.json (killed between creating it and the first write) is
// skipped: nothing was done under it.
func (j *Journal) List() ([]*Tx, error) {
	entries, err := os.ReadDir(j.dir)
	if err != nil {
		return nil, fmt.Errorf("reading journal %s: %w", j.dir, err)
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	txs := make([]*Tx, 0, len(ids))
	for _, id := range ids {
		tx, err := j.Load(id)
		var nst *NoSuchTxError
		if errors.As(err, &nst) {
			continue
		}
		if err != nil {
			return nil, err
		}
		txs = append(txs, tx)
	}
	return txs, nil
}

// Open returns the newest transaction that is not terminal, or nil. The
// guarded commands keep at most one open at a time.
func (j *Journal) Open() (*Tx, error) {
	txs, err := j.List()
	if err != nil {
		return nil, err
	}
	for i := len(txs) - 1; i >= 0; i-- {
		if !txs[i].State.Terminal() {
			return txs[i], nil
		}
	}
	return nil, nil
}

// Latest returns the newest transaction, or nil when there is none.
func (j *Journal) Latest() (*Tx, error) {
	txs, err := j.List()
	if err != nil || len(txs) == 0 {
		return nil, err
	}
	return txs[len(txs)-1], nil
}
