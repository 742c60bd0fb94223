package archive

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/carbonguard/carbonguard/internal/humanize"
)

// The errors say what is wrong with a tree or a snapshot; the hints that
// name the commands and settings of a program using the store are that
// program's to add (carbonguard's are in its hints.go).

// CorruptError means a snapshot's archive does not match its manifest, or
// holds an entry that must not be trusted (see UnsafeEntryError). The
// snapshot must not be restored.
type CorruptError struct {
	ID       string // snapshot id
	Path     string // the entry concerned; "" for the archive as a whole
	Field    string // what differs: "sha256", "size", "mode", "type", "order", "stream", "unsafe"...
	Expected string // from the manifest
	Got      string // from the archive
	Err      error  // the cause, when there is one
}

func (e *CorruptError) Error() string {
	where := "snapshot " + e.ID
	if e.Path != "" {
		where += ": entry " + strconv.Quote(e.Path)
	}
	switch {
	case e.Err != nil && e.Expected == "" && e.Got == "":
		return fmt.Sprintf("%s is corrupt: %s: %v", where, e.Field, e.Err)
	case e.Err != nil:
		return fmt.Sprintf("%s is corrupt: %s is %s, manifest says %s: %v", where, e.Field, e.Got, e.Expected, e.Err)
	default:
		return fmt.Sprintf("%s is corrupt: %s is %s, manifest says %s", where, e.Field, e.Got, e.Expected)
	}
}

func (e *CorruptError) Unwrap() error { return e.Err }

// Hint suggests what to do.
func (e *CorruptError) Hint() string {
	return "do not restore this snapshot; take a new one (the live tree is unchanged) or restore an older snapshot that verifies"
}

// IncompleteError means a snapshot lacks its manifest or its archive is
// shorter than the manifest records (truncated). It cannot be restored.
type IncompleteError struct {
	ID     string
	Reason string // what is missing, for people
	Err    error
}

func (e *IncompleteError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("snapshot %s is incomplete: %s: %v", e.ID, e.Reason, e.Err)
	}
	return fmt.Sprintf("snapshot %s is incomplete: %s", e.ID, e.Reason)
}

func (e *IncompleteError) Unwrap() error { return e.Err }

// UnsafeEntryError is an archive or manifest entry that could write outside
// the restore root or create something a snapshot never holds: an absolute
// path, "..", a device file, a write through a symlink. It is wrapped in a
// CorruptError for verify and restore. (Symlinks themselves may point
// anywhere: they are restored as links and nothing is written through them.)
type UnsafeEntryError struct {
	Path   string
	Reason string
}

func (e *UnsafeEntryError) Error() string {
	return fmt.Sprintf("unsafe entry %q: %s", e.Path, e.Reason)
}

// Hint suggests what to do.
func (e *UnsafeEntryError) Hint() string {
	return "do not restore this snapshot: its archive or manifest was crafted or damaged; restore an older snapshot that verifies"
}

// UnstorableError lists every entry of a tree that a snapshot cannot hold:
// device files, FIFOs and sockets (a restore never creates them), and files
// or directories that cannot be read. Create finds them all in its walk,
// before it archives anything, and refuses the snapshot: the caller
// excludes them (a whole restore then carries the live ones over) or fixes
// their permissions. It is a usage error, not a failure of the store.
type UnstorableError struct {
	Root    string
	Entries []Unstorable // in walk order
}

// Unstorable is one entry a snapshot cannot hold and why.
type Unstorable struct {
	Path   string `json:"path"` // relative to the root
	Reason string `json:"reason"`
}

func (e *UnstorableError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "snapshot of %s refused: %d %s cannot be stored:", strconv.Quote(e.Root), len(e.Entries), plural(len(e.Entries), "entry", "entries"))
	for _, u := range e.Entries {
		fmt.Fprintf(&b, "\n  %s: %s", strconv.Quote(u.Path), u.Reason)
	}
	return b.String()
}

// Hint suggests what to do.
func (e *UnstorableError) Hint() string {
	return "exclude them from the snapshot (a whole restore keeps the live ones), or make them readable; nothing was written"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ChangedError means a file changed while Create read it; the snapshot was
// abandoned rather than stored inconsistent.
type ChangedError struct {
	Path string
	What string // e.g. "size 10 -> 12", "modification time", "file replaced", "short read"
}

func (e *ChangedError) Error() string {
	return fmt.Sprintf("%s changed while it was being read (%s); the snapshot was abandoned", strconv.Quote(e.Path), e.What)
}

// Hint suggests what to do.
func (e *ChangedError) Hint() string {
	return "stop whatever writes to the tree (the server?) and take the snapshot again"
}

// InsufficientSpaceError means the file system holding Dir has less free
// space than the operation needs.
type InsufficientSpaceError struct {
	Dir  string
	Need int64 // -1 when the space ran out while writing
	Free int64
	What string // "snapshot" or "restore staging"
}

func (e *InsufficientSpaceError) Error() string {
	if e.Need < 0 {
		return fmt.Sprintf("the file system holding %s filled up while writing the %s; the partial %s was removed", e.Dir, e.What, e.What)
	}
	return fmt.Sprintf("not enough free space for the %s in %s: need about %s, %s free", e.What, e.Dir, humanize.Bytes(e.Need), humanize.Bytes(e.Free))
}

// NotFoundError means no snapshot has the id.
type NotFoundError struct{ ID string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("no snapshot %q", e.ID) }

// ErrBusy is returned when another process is restoring or recovering with
// the same store.
var ErrBusy = errors.New("another process is restoring or recovering in this state directory")

// ErrContentBusy is returned by a prune while another process creates,
// imports, verifies, restores or exports a snapshot of the same store (the
// content they use must not be swept from under them).
var ErrContentBusy = errors.New("another process is using this snapshot store's content; prune it later")

// ErrRestorePending is returned by operations that must not run while an
// interrupted restore waits for Recover.
var ErrRestorePending = errors.New("an interrupted restore is pending; run Recover first")

// InUseError means a snapshot was not deleted because a running process
// reads it (a restore drill, an update rehearsal, a verify or push: see
// Store.Lease).
type InUseError struct {
	ID     string
	Leases []LeaseInfo // the live leases, oldest first
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("snapshot %s is in use by %s; it was not deleted", e.ID, describeLeases(e.Leases))
}

// Hint suggests what to do.
func (e *InUseError) Hint() string {
	return "wait until that process ends (a lease of a process that is gone no longer counts, and the next prune removes it)"
}
