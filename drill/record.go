package drill

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/carbonguard/carbonguard/clone"
	"github.com/carbonguard/carbonguard/internal/durable"
)

// RecordSchemaVersion versions the JSON form of Record.
const RecordSchemaVersion = 1

// KeepRecords is how many drill records (with their evidence) are kept.
const KeepRecords = 30

// The levels a drill reaches, in order.
const (
	LevelRestored = "restored" // the snapshot was laid down, each entry checked as it was written
	LevelVerified = "verified" // the copy on disk matches the manifest bit for bit
	LevelChecked  = "checked"  // the production checks ran on the copy
	LevelBooted   = "booted"   // the copy booted and the verdict was up
)

// Levels are the levels in order.
var Levels = []string{LevelRestored, LevelVerified, LevelChecked, LevelBooted}

// The outcomes of a drill.
const (
	StateRunning     = "running"     // in progress (or its process died: the next drill says interrupted)
	StatePassed      = "passed"      // every level asked for was reached
	StateFailed      = "failed"      // the copy did not boot up, or did not match the snapshot
	StateRefused     = "refused"     // not booted: production databases, no isolation, a bad target
	StateError       = "error"       // could not run (a corrupt snapshot, I/O, ...)
	StateInterrupted = "interrupted" // killed midway; the next drill cleaned up after it
)

// Record is one drill, as kept in <state>/drills/<id>/drill.json.
type Record struct {
	SchemaVersion int       `json:"schema_version"`
	ID            string    `json:"id"`
	State         string    `json:"state"`
	Level         string    `json:"level,omitempty"` // the highest level reached
	Started       time.Time `json:"started"`
	Finished      time.Time `json:"finished,omitzero"`
	// Home is the live pack; Snapshot what was drilled.
	Home     string      `json:"home"`
	Snapshot SnapshotRef `json:"snapshot"`
	// Copy is where the copy was laid down; CopyCreated is set once the
	// drill starts to create it there (only then is it the drill's to
	// remove); Removed whether it is gone.
	Copy        string `json:"copy"`
	CopyCreated bool   `json:"copy_created,omitempty"`
	Removed     bool   `json:"removed"`
	Keep        bool   `json:"keep,omitempty"`
	NoBoot      bool   `json:"no_boot,omitempty"`
	// Overrides are the configuration keys [drill] overrides set in the
	// copy (never their values).
	Overrides []string `json:"overrides,omitempty"`
	Restore   *Step    `json:"restore,omitempty"`
	Verify    *Verify  `json:"verify,omitempty"`
	Check     *Check   `json:"check,omitempty"`
	// Boot is the copy's boot: where it ran, its ports, its verdict.
	Boot *clone.Result `json:"boot,omitempty"`
	RTO  *RTO          `json:"rto,omitempty"`
	// Reason says, for people, why the drill ended as it did.
	Reason string `json:"reason,omitempty"`
	// Evidence is <state>/drills/<id>/evidence when the boot left any.
	Evidence string `json:"evidence,omitempty"`
	PID      int    `json:"pid"` // the carbonguard process that ran it
	Tool     string `json:"tool_version,omitempty"`
	// Notes are remarks that do not change the outcome.
	Notes []string `json:"notes,omitempty"`
}

// SnapshotRef names the snapshot a drill used.
type SnapshotRef struct {
	ID          string            `json:"id"`
	Created     time.Time         `json:"created,omitzero"`
	Reason      string            `json:"reason,omitempty"`
	Meta        map[string]string `json:"meta,omitempty"`
	Bytes       int64             `json:"bytes,omitempty"`
	Entries     int               `json:"entries,omitempty"`
	LastVerfied *time.Time        `json:"last_verified,omitempty"`
}

// Step is a timed step.
type Step struct {
	TookMS  int64 `json:"took_ms"`
	SyncMS  int64 `json:"sync_ms,omitempty"`
	Entries int   `json:"entries,omitempty"`
	Bytes   int64 `json:"bytes,omitempty"`
}

// Verify is the comparison of the copy with the manifest.
type Verify struct {
	TookMS      int64    `json:"took_ms"`
	Differences []string `json:"differences,omitempty"` // "changed conf/x (content)", at most 50
	Count       int      `json:"count"`
}

// Check is what the production checks said about the copy.
type Check struct {
	TookMS  int64  `json:"took_ms"`
	Summary string `json:"summary"`          // e.g. "2 high, 5 medium, 40 passed"
	Blocked bool   `json:"blocked"`          // a start of the copy would have been refused by the gate
	Error   string `json:"error,omitempty"`  // the checks could not run
	Report  string `json:"report,omitempty"` // file name of the JSON report in the drill's directory
}

// RTO is the recovery time measured by the drill: restoring the snapshot
// and booting it to an up verdict, what a real recovery of this node
// takes on this host.
type RTO struct {
	RestoreMS int64 `json:"restore_ms"`
	BootMS    int64 `json:"boot_ms"`  // launch → up verdict (includes the stability window)
	TotalMS   int64 `json:"total_ms"` // restore + boot
	// ServingMS is restore + launch → health endpoints answering.
	ServingMS int64 `json:"serving_ms,omitempty"`
}

// Passed reports whether the drill reached every level it was asked for.
func (r *Record) Passed() bool { return r != nil && r.State == StatePassed }

func (r *Record) reach(level string) { r.Level = level }

// Reached reports whether the drill got to level.
func (r *Record) Reached(level string) bool {
	if r == nil || r.Level == "" {
		return false
	}
	at, want := -1, -1
	for i, l := range Levels {
		if l == r.Level {
			at = i
		}
		if l == level {
			want = i
		}
	}
	return want >= 0 && at >= want
}

// Dir is the drills' directory in a state directory.
func Dir(stateDir string) string { return filepath.Join(stateDir, "drills") }

func recordPath(stateDir, id string) string { return filepath.Join(Dir(stateDir), id, "drill.json") }

func (r *Record) save(stateDir string) error {
	return durable.WriteJSON(recordPath(stateDir, r.ID), r, 0o644)
}

// Load reads one drill record.
func Load(stateDir, id string) (*Record, error) {
	b, err := os.ReadFile(recordPath(stateDir, id))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &NotFoundError{ID: id}
		}
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("drill record %s: %w", recordPath(stateDir, id), err)
	}
	return &r, nil
}

// List returns every drill record, newest first. A state directory
// without drills gives none.
func List(stateDir string) ([]*Record, error) {
	ents, err := os.ReadDir(Dir(stateDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Record
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		r, err := Load(stateDir, e.Name())
		if err != nil {
			var nf *NotFoundError
			if errors.As(err, &nf) {
				continue // a drill that had not written its record yet
			}
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.After(out[j].Started) })
	return out, nil
}

// Last is the newest drill record, nil when there is none.
func Last(stateDir string) (*Record, error) {
	l, err := List(stateDir)
	if err != nil || len(l) == 0 {
		return nil, err
	}
	return l[0], nil
}

// LastPassed is the newest drill that passed, nil when none did. A drill
// with NoBoot passes at the checked level; boot says whether only drills
// that booted count.
func LastPassed(stateDir string, boot bool) (*Record, error) {
	l, err := List(stateDir)
	if err != nil {
		return nil, err
	}
	for _, r := range l {
		if r.Passed() && (!boot || r.Reached(LevelBooted)) {
			return r, nil
		}
	}
	return nil, nil
}

// prune removes the oldest records beyond KeepRecords (never a running
// one, never one whose copy was kept and still exists).
func prune(stateDir string, keep int) {
	l, err := List(stateDir)
	if err != nil {
		return
	}
	for i, r := range l {
		if i < keep || r.State == StateRunning {
			continue
		}
		if r.Keep && !r.Removed && r.Copy != "" {
			if _, err := os.Lstat(r.Copy); err == nil {
				continue
			}
		}
		_ = os.RemoveAll(filepath.Join(Dir(stateDir), r.ID))
	}
}
