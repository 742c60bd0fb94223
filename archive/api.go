package archive

import (
	"context"
	"io"
	"time"
)

// Entry types in a manifest.
const (
	TypeDir      = "dir"
	TypeFile     = "file"
	TypeSymlink  = "symlink"
	TypeHardlink = "hardlink" // a further name of a file stored earlier (Link names it)
)

// Compression names accepted by CreateOptions.Compression.
const (
	CompressionZstd = "zstd" // the default: fastest level, two encoder goroutines
	CompressionGzip = "gzip" // for sites whose tooling only reads .tar.gz
)

// Manifest describes one complete snapshot. It is written last, after the
// archive and the entry list are on disk and synced; its presence marks the
// snapshot complete. The entries themselves are read as a stream
// (Store.Entries): a manifest holds only their count, so that memory does
// not grow with the size of the tree.
type Manifest struct {
	SchemaVersion int               `json:"schema_version"` // 1: entries inline (before December 2026); 2: streamed entry list
	ID            string            `json:"id"`
	Created       time.Time         `json:"created"` // UTC
	Reason        string            `json:"reason"`
	ToolVersion   string            `json:"tool_version,omitempty"`
	Root          string            `json:"root"`           // the tree snapshotted, as given (absolute)
	Meta          map[string]string `json:"meta,omitempty"` // from the caller: product, version, update_level...
	Exclude       []string          `json:"exclude,omitempty"`
	Compression   string            `json:"compression"`
	Archive       string            `json:"archive"`      // file name inside the snapshot directory
	ArchiveSize   int64             `json:"archive_size"` // bytes of the compressed file
	Files         int               `json:"files"`        // regular files and hard links
	Bytes         int64             `json:"bytes"`        // content bytes (each inode once)
	Entries       int               `json:"entries"`      // how many entries; the root is one
	Attachments   []Attachment      `json:"attachments,omitempty"`
	// Format 3: the content lives in the store's packs, shared with the
	// other snapshots (Storage "packs"); Archive is then empty and
	// ArchiveSize is the stored size of the content this snapshot holds.
	Storage  string     `json:"storage,omitempty"`
	NewBytes int64      `json:"new_bytes,omitempty"` // what this snapshot added to the store when it was made
	NewPacks []packInfo `json:"new_packs,omitempty"` // the packs it wrote
	Parent   string     `json:"parent,omitempty"`    // the snapshot whose entries served as stat cache
	Reused   int        `json:"reused,omitempty"`    // files not read: unchanged since Parent

	list        *entryList // formats 2 and 3: the entry list file; nil for format 1
	walkStarted time.Time  // format 3: when the walk began (for the stat cache's racy check)
}

// Entry is one member of a snapshot. Paths are relative to the root, with
// forward slashes, cleaned; the root itself is ".". Path and Link are the
// file system's bytes, which need not be UTF-8 (see Entry.MarshalJSON).
type Entry struct {
	Path  string    `json:"path"`
	Type  string    `json:"type"`
	Mode  Mode      `json:"mode"` // permission and setuid/setgid/sticky bits (07777)
	Size  int64     `json:"size,omitempty"`
	MTime time.Time `json:"mtime"`
	Link  string    `json:"link,omitempty"`   // symlink target, or the first name of a hard link
	Hash  string    `json:"sha256,omitempty"` // hex SHA-256 of the content (files and hard links)
	UID   int       `json:"uid"`
	GID   int       `json:"gid"`
	// The inode's identity and status change time when the snapshot was
	// taken (format 2): with size, mode and mtime they tell whether a file
	// is unchanged since, without reading it.
	CTime time.Time `json:"ctime,omitzero"`
	Ino   uint64    `json:"ino,omitempty"`
	Dev   uint64    `json:"dev,omitempty"`
	// NLink is set (> 1) on the first name of a file with several names:
	// only such entries may be named by a later hard link.
	NLink int `json:"nlink,omitempty"`
}

// Attachment is a named extra file kept with a snapshot (a database dump
// taken at the same time, say), in <id>/attachments/<name>, hashed in the
// manifest, checked by Verify and carried by export and import.
type Attachment struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Info is the summary of a snapshot that list shows.
type Info struct {
	ID          string            `json:"id"`
	Created     time.Time         `json:"created"`
	Reason      string            `json:"reason"`
	Meta        map[string]string `json:"meta,omitempty"`
	Compression string            `json:"compression"`
	Storage     string            `json:"storage,omitempty"` // "packs" for format 3
	ArchiveSize int64             `json:"archive_size"`
	// NewBytes is what the snapshot added to the store when it was made:
	// for format 3 its new packs, entry list and attachments; for the
	// others its whole directory.
	NewBytes int64         `json:"new_bytes"`
	Bytes    int64         `json:"bytes"`
	Files    int           `json:"files"`
	Entries  int           `json:"entries"`
	Verified *VerifyRecord `json:"last_verified,omitempty"` // nil when never verified
	// Incomplete is set for a directory in the store without a readable
	// manifest (never produced by Create; the result of tampering or a disk
	// error). Such snapshots cannot be verified or restored.
	Incomplete bool   `json:"incomplete,omitempty"`
	Problem    string `json:"problem,omitempty"`
}

// VerifyRecord is the outcome of the last verification, kept beside the
// manifest (verified.json) so the manifest itself is never rewritten.
type VerifyRecord struct {
	At    time.Time `json:"at"`
	OK    bool      `json:"ok"`
	Error string    `json:"error,omitempty"`
	Kind  string    `json:"kind,omitempty"` // "corrupt" or "incomplete" when not OK
	Tool  string    `json:"tool_version,omitempty"`
	Bytes int64     `json:"bytes"`
	Took  Duration  `json:"took"`
}

// CreateOptions tune Create.
type CreateOptions struct {
	// Reason says why the snapshot is taken: "manual", "pre-update",
	// "pre-rollback"... Lower-case letters, digits and dashes; default "manual".
	Reason string
	// Meta is recorded verbatim in the manifest (the caller's product,
	// version, update level...). The archive package gives it no meaning.
	Meta map[string]string
	// Exclude lists paths relative to the root (forward slashes) whose
	// contents are left out. An excluded directory is kept as an empty
	// directory so the tree's shape survives; an excluded file is omitted.
	Exclude []string
	// Compression is "zstd" (default) or "gzip".
	Compression string
	// ToolVersion is recorded in the manifest.
	ToolVersion string
	// Progress, when set, is called from the creating goroutine about every
	// 100 ms and once at the end.
	Progress func(Progress)
	// Now overrides the clock for the snapshot's id and time (tests).
	Now func() time.Time
	// Attachments are produced after the tree is archived and kept with
	// the snapshot (see AttachmentSource).
	Attachments []AttachmentSource
	// Reread reads every file, trusting no hash recorded by an earlier
	// snapshot (by default a file whose size, mode, owner, times, inode
	// and device match the newest verified snapshot's is not read).
	Reread bool
	// NoSync skips the fsync of the archive before the manifest is written.
	// Only benchmarks use it: a crash could then leave a complete-looking
	// snapshot whose archive lost data (Verify would catch it).
	NoSync bool
}

// Progress is reported while creating, verifying or restoring.
type Progress struct {
	Op         string        `json:"op"` // "create", "verify", "restore"
	Bytes      int64         `json:"bytes"`
	TotalBytes int64         `json:"total_bytes"` // estimate for create
	Files      int           `json:"files"`
	TotalFiles int           `json:"total_files"`
	Rate       float64       `json:"rate"` // bytes per second so far
	ETA        time.Duration `json:"eta"`
	Done       bool          `json:"done"`
}

// VerifyReport is the result of a successful Verify (or ExportTar, which
// checks what it exports the same way).
type VerifyReport struct {
	ID              string        `json:"id"`
	Entries         int           `json:"entries"`
	Files           int           `json:"files"`
	Bytes           int64         `json:"bytes"`
	Attachments     int           `json:"attachments,omitempty"`
	AttachmentBytes int64         `json:"attachment_bytes,omitempty"`
	Took            time.Duration `json:"took"`
}

// Change is one difference between two trees.
type Change struct {
	Path string   `json:"path"`
	Type string   `json:"type"`           // the entry's type (the newer one for changes)
	What []string `json:"what,omitempty"` // for Changed: "type", "content", "mode", "link", "owner"
}

// DiffReport lists the differences from A (older) to B (newer). Entries
// whose only difference is the modification time are not reported.
type DiffReport struct {
	A       string   `json:"a"`
	B       string   `json:"b"` // a snapshot id, or "live:<root>"
	Added   []Change `json:"added"`
	Removed []Change `json:"removed"`
	Changed []Change `json:"changed"`
}

// RestoreOptions tune Restore.
type RestoreOptions struct {
	// Paths restores only these paths (relative to the root, forward
	// slashes) and what lies below them; the rest of the target is left
	// alone. Empty means the whole tree.
	Paths []string
	// Keep lists live paths (relative to the target) that survive a full
	// restore as they are, e.g. a database directory and logs for a
	// code-and-config-only rollback. A kept path absent from the live tree
	// is restored from the snapshot. Not allowed together with Paths.
	Keep []string
	// KeepDisplaced leaves the displaced tree in place as a sibling of the
	// target (<target>.displaced-<id>-<time>) for inspection until
	// DropDisplaced. When false it is removed after a successful swap.
	KeepDisplaced bool
	// NoSync skips the syncfs before the swap. Only benchmarks use it: a
	// crash after the swap could then leave files with missing content.
	NoSync bool
	// Progress as for Create.
	Progress func(Progress)
}

// RestoreReport says what a restore did.
type RestoreReport struct {
	ID        string        `json:"id"`
	Target    string        `json:"target"`
	Paths     []string      `json:"paths,omitempty"`
	Kept      []string      `json:"kept,omitempty"`      // Keep paths that existed and were kept
	Displaced string        `json:"displaced,omitempty"` // where the old tree (or the replaced paths) now live; "" when removed
	Entries   int           `json:"entries"`
	Bytes     int64         `json:"bytes"`
	Took      time.Duration `json:"took"`
	SyncTook  time.Duration `json:"sync_took"`
}

// Recovery outcomes.
const (
	RecoveryNone     = "none"     // no interrupted restore
	RecoveryUndone   = "undone"   // interrupted while staging: staging removed, target untouched
	RecoveryFinished = "finished" // interrupted during the swap: the swap was completed
)

// RecoveryReport says what Recover found and did.
type RecoveryReport struct {
	Outcome   string `json:"outcome"`
	ID        string `json:"id,omitempty"` // the snapshot being restored
	Target    string `json:"target,omitempty"`
	Displaced string `json:"displaced,omitempty"`
}

// PruneOptions are the retention rules. A snapshot is kept when any rule
// keeps it; at least one of KeepLast and KeepWithin must be set.
type PruneOptions struct {
	KeepLast   int           // the newest N complete snapshots
	KeepWithin time.Duration // snapshots younger than this
	Protect    []string      // ids an open update depends on
	DryRun     bool
	Now        func() time.Time // tests
}

// PruneReport lists the decisions, newest first.
type PruneReport struct {
	Kept    []PruneDecision `json:"kept"`
	Removed []PruneDecision `json:"removed"`
	DryRun  bool            `json:"dry_run"`
	Swept   *SweepReport    `json:"swept,omitempty"` // the content freed (not on a dry run)
	// StaleLeases are the leases removed because their process is gone
	// (see Store.Lease).
	StaleLeases []LeaseInfo `json:"stale_leases,omitempty"`
}

// PruneDecision is one snapshot and why it was kept or removed.
type PruneDecision struct {
	ID     string `json:"id"`
	Reason string `json:"reason"` // e.g. "keep-last 3", "newest verified", "protected", "older than 720h0m0s", "in use by drill (pid 4711)"
	// InUse are the live leases that kept a snapshot no rule keeps.
	InUse []LeaseInfo `json:"in_use,omitempty"`
}

// Compile-time reminder of the Store's full surface, in one place for
// readers; the methods live in the files named beside each.
var _ interface {
	Dir() string                                                                                   // store.go
	Create(ctx context.Context, root string, o CreateOptions) (*Manifest, error)                   // create.go
	List() ([]Info, error)                                                                         // store.go
	Show(id string) (*Manifest, error)                                                             // store.go
	Verify(ctx context.Context, id string, progress func(Progress)) (*VerifyReport, error)         // verify.go
	Diff(ctx context.Context, a, b string) (*DiffReport, error)                                    // diff.go
	DiffLive(ctx context.Context, id, root string) (*DiffReport, error)                            // diff.go
	Restore(ctx context.Context, id, target string, o RestoreOptions) (*RestoreReport, error)      // restore.go
	Extract(ctx context.Context, id, dir string, o ExtractOptions) (*RestoreReport, error)         // extract.go
	Recover(ctx context.Context) (*RecoveryReport, error)                                          // recover.go
	DropDisplaced(target string) ([]string, error)                                                 // recover.go
	Prune(o PruneOptions) (*PruneReport, error)                                                    // prune.go
	Lease(id, holder string) (*Lease, error)                                                       // lease.go
	InUse(id string) ([]LeaseInfo, error)                                                          // lease.go
	Delete(id string) error                                                                        // store.go
	Entries(id string, fn func(*Entry) error) error                                                // store.go
	Usage() (*Usage, error)                                                                        // store.go
	ExportTar(ctx context.Context, id string, w io.Writer) (*VerifyReport, error)                  // transfer.go
	ExportManifest(id string, w io.Writer) error                                                   // transfer.go
	Import(ctx context.Context, manifest, tarStream io.Reader, o ImportOptions) (*Manifest, error) // transfer.go
	OpenAttachment(id, name string) (io.ReadCloser, error)                                         // attachments.go
} = (*Store)(nil)
