// Package archive is a snapshot store for any directory tree: create,
// verify, list, show, diff, restore and prune. It knows nothing of WSO2; the
// caller gives it a root, metadata to record (product, version, update
// level) and, for a code-only rollback, the live paths to keep.
//
// A snapshot is a directory <store>/<id>/ holding its entry list
// (entries.jsonl.zst: every entry's path, type, mode, size, mtime, owner,
// link target and SHA-256, one JSON line each, in walk order), any
// attachments (named extra files such as a database dump, see
// AttachmentSource), and manifest.json, which records the entry list's
// count and SHA-256 and each attachment's, and is written last: a snapshot
// without it is incomplete and is never listed as restorable. Creation
// happens in <store>/.tmp-<id>/, held by an flock, and is renamed into place
// only when complete, so a killed Create leaves nothing that lists as
// complete; the next OpenStore removes it.
//
// File contents (format 3, the default) are blobs keyed by SHA-256, stored
// once in the store's pack files (<store>/packs, see packs.go) whatever
// snapshots hold them: a snapshot costs what changed since the store last
// held that content. Create takes a file's hash from the newest verified
// snapshot of the same tree without reading it when its size, mode, owner,
// mtime and ctime (to the nanosecond), inode and device are unchanged (the
// stat cache, with git's guard against changes within the clock's
// granularity); any other file is read once, hashed, and stored only when
// the store does not hold its content. Blobs are zstd frames, compressed
// or (content that does not compress, such as jars) raw blocks, chosen by
// a sample of the content; reading and hashing overlap encoding and writing
// (see blobSink). Verify reads back every blob a snapshot needs; Prune
// removes the snapshots no rule keeps, then the content no remaining
// snapshot needs, rewriting mostly-dead packs (see sweep), under a lock
// that keeps it from running beside anything that reads or adds content.
// Format 2 (one compressed tar per snapshot, data.tar.zst/.gz) is still
// written for gzip and read; format 1 (entries inline in manifest.json)
// is read. manifest.go describes the formats; docs/recover-by-hand.md says
// how to restore each with standard tools.
//
// Memory does not grow with the number of entries: Create walks the tree
// once, spilling what it found to a file before it archives (so that
// everything a snapshot cannot hold is refused before any work), and
// writes the entry list as it goes; Verify, Restore, Diff and Show read the
// list as a stream, checking it as they go with state bounded by the
// tree's depth (see validator). The content index (about 64 bytes a blob)
// is the one table that grows with the store. Names are bytes: the entry
// list keeps names that are not UTF-8 exactly (in base64), and messages
// quote them.
//
// ExportTar, ExportManifest and Import move a snapshot to other storage
// and back as its uncompressed tar stream and a portable manifest (see
// transfer.go), checking everything on both ends; a format-3 snapshot's
// stream is the tar format 2 would have stored, byte for byte.
//
// For format 2, compression goes through github.com/mholt/archives
// (archives.Gz) and, for zstd, 2 MiB segments compressed as independent
// frames by klauspost/compress on two goroutines. The tar layer uses the
// standard archive/tar directly (its headers; the contents, padding and
// end blocks are written around them) rather than archives.Tar, whose
// Archive opens and reads files itself, leaving no room to hash each file
// in the same single read, to detect a file changing while it is read
// (fstat before and after, short reads), or to emit hard links by device
// and inode; and whose Extract hands out entries through io/fs, whereas
// verify and restore need the exact headers.
//
// Symlinks are stored as the links they are, wherever they point (into the
// tree, at absolute paths such as repository/logs -> /var/log/wso2am,
// dangling), as tar and restic do: Create never follows one, and Restore
// recreates the same link. Create refuses what a snapshot cannot hold
// (device files, FIFOs, sockets, entries it cannot read), listing every one
// in a single UnstorableError before it archives anything.
//
// Archive entries are untrusted. Verify and Restore refuse absolute paths,
// "..", entries whose parent is not a directory seen earlier in the archive
// (so nothing is ever written through a symlink, wherever it points), hard
// links to anything but an earlier regular file, and device files, FIFOs
// and sockets.
//
// Restore first reads the whole entry list (planning what to unpack and
// refusing a bad list before anything is written), then unpacks into a
// staging directory beside the target (same file system), hashing each
// file as it writes it (on a writer goroutine, while the next content is
// decoded) and checking it against the manifest, syncs the file system, records the planned swap durably in
// <state>/restore.json, and then swaps with renames (renameat2
// RENAME_EXCHANGE where the file system has it). Recover, which Restore runs
// first, finishes a swap that was recorded (the staged tree was verified) or
// removes a staging directory whose swap never started; the target is then
// either exactly the old tree or exactly the restored one.
//
// Extract lays a snapshot down as a new directory elsewhere (a restore
// drill's copy, an update rehearsal's): the same verifying unpack, with no
// swap, so no restore lock and no restore record; it never touches the
// tree the snapshot was taken from.
//
// A reader that runs beside a prune marks the snapshot in use with a lease
// (<store>/.in-use/<id>.<pid>.<n>, see lease.go): Extract, Verify,
// ExportTar, Restore, Diff and DiffLive hold one while they read, and a
// caller that needs a snapshot for longer (a drill, a rehearsal) takes one
// with Lease. Prune keeps a snapshot in use, and the packs holding content
// it needs as they are; Delete refuses it (InUseError). The lease of a
// process that is gone does not count, and the next prune removes it.
package archive
