// Package archive is a snapshot store for any directory tree: create,
// verify, list, show, diff, restore and prune. It knows nothing of WSO2; the
// caller gives it a root, metadata to record (product, version, update
// level) and, for a code-only rollback, the live paths to keep.
//
// A snapshot is a directory <store>/<id>/ holding a compressed tar
// (data.tar.zst by default, data.tar.gz on request), its entry list
// (entries.jsonl.zst: every entry's path, type, mode, size, mtime, owner,
// link target and SHA-256, one JSON line each, in archive order), any
// attachments (named extra files such as a database dump, see
// AttachmentSource), and manifest.json, which records the entry list's
// count and SHA-256 and each attachment's, and is written last: a snapshot
// without it is incomplete and is never listed as restorable. Creation
// happens in <store>/.tmp-<id>/, held by an flock, and is renamed into place
// only when complete, so a killed Create leaves nothing that lists as
// complete; the next OpenStore removes it. manifest.go describes the
// format and its versions; snapshots of format 1 (every entry inline in
// manifest.json) stay readable.
//
// Memory does not grow with the number of entries: Create walks the tree
// once, spilling what it found to a file before it archives (so that
// everything a snapshot cannot hold is refused before any work), and
// writes the entry list as it writes the archive; Verify, Restore, Diff and
// Show read the list as a stream, checking it as they go with state bounded
// by the tree's depth (see validator). Names are bytes: the entry list
// keeps names that are not UTF-8 exactly (in base64), and messages quote
// them.
//
// ExportTar, ExportManifest and Import move a snapshot to other storage
// and back as its uncompressed tar stream and a portable manifest (see
// transfer.go), checking everything on both ends.
//
// Compression goes through github.com/mholt/archives (archives.Zstd and
// archives.Gz, with their OpenWriter/OpenReader), except zstd compression:
// it cuts the stream into 2 MiB segments compressed as independent frames
// by klauspost/compress on two goroutines and written in order (one valid
// zstd stream that any decoder reads), because a single zstd stream
// encoder compresses on one core. Create, verify and restore are
// pipelines over small fixed pools of buffers (see pipe.go and
// filewriters.go): files are read straight into the compressor's input
// and hashed there; decoding runs ahead on its own goroutine; restored
// files are written and hashed by a writer goroutine while the tar stream
// is parsed. The tar layer uses the standard archive/tar directly (its
// headers; Create writes the contents, padding and end blocks itself)
// rather than archives.Tar: Tar.Archive opens
// and reads files itself from a list of FileInfo, which leaves no room to
// hash each file in the same single read, to detect a file changing while it
// is read (fstat before and after, short reads), to emit hard links by
// device and inode, or to stream the tar and the manifest in one pass with
// bounded memory. On the way back, Tar.Extract hands out entries through
// io/fs, whereas verify and restore need the exact headers (mode bits,
// nanosecond mtimes, link names) to compare with the manifest.
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
// file as it writes it and checking it against the manifest, syncs the
// file system, records the planned swap durably in
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
package archive
