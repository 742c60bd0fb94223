// Package remote keeps off-host copies of snapshots in a restic repository,
// by calling the restic binary: restic encrypts at rest, deduplicates,
// verifies (restic check) and speaks local paths, SFTP, its REST server, S3
// and the other object stores; carbonguard reimplements none of that.
//
// Push sends one snapshot as one restic snapshot: the caller writes the
// snapshot's uncompressed tar stream (manifest and attachments included)
// into restic backup --stdin, so restic's content-defined chunking finds the
// unchanged files of the previous push and stores only what changed (a
// compressed archive would defeat it). Tags carry what carbonguard needs to
// find it again: carbonguard, pack=, home=, snapshot=, reason=, level=,
// product=. Completion is marked last, like a manifest: once restic has
// saved the snapshot, a second call adds the tags sha256= and bytes= of the
// stream, so a push that was killed half way (restic saw an early end of
// its input) is listed as incomplete, never pulled, and pushed again. Pull
// streams the file back through restic dump and checks its length and
// SHA-256 against those tags; the caller rebuilds the local snapshot and
// verifies it against its manifest.
//
// Secrets: the repository string goes to restic in RESTIC_REPOSITORY (a
// rest: URL may hold a password), the password as RESTIC_PASSWORD_FILE (the
// configured file) or restic's own variables from carbonguard's environment;
// nothing secret is on restic's command line, and restic's child
// environment holds only what it needs (PATH, HOME, locale, the RESTIC_*
// variables and the storage back ends' own: AWS_*, B2_*, AZURE_*, GOOGLE_*,
// OS_*, ST_*, RCLONE_*, SSH_AUTH_SOCK, proxies). Messages show the
// repository with any URL password masked.
package remote
