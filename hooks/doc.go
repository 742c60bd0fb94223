// Package hooks is the update transaction around WSO2's update tool (u2),
// which has no hooks of its own: the pack's lock, the journal, the guarded
// update, the first boot's judgement, and the rollback.
//
// Update takes the lock, makes sure the server is stopped, blocks on what
// makes an update unsafe, takes and verifies a pre-update snapshot, runs u2
// non-interactively (credentials only through its environment, output
// masked) and acts on its exit code: 0 leaves the update awaiting its first
// boot, 2 runs u2 again, 3 keeps the transaction open on conflicts, anything
// else restores the snapshot at once. PreUpdate and PostUpdate split the same
// steps around an operator's own u2 run. Start wraps a start (BeginStart,
// the launch, StartGuard.AfterBoot): the first boot after an update commits
// it when up, and otherwise rolls back (stop, keep the failed tree's logs,
// verdict and diff, restore, start again; a second failure stops and asks
// for a person; never a loop). Rollback restores by hand.
//
// Update with Rehearse (update --rehearse) keeps the live server running
// while it lays a copy of the pack down from a snapshot (the newest verified
// one when the pack's code and configuration are still what it holds, else
// one taken for the copy only), runs u2 on the copy with a HOME of its own,
// stages what u2 changed beside the live pack (a change set: apply.go), and
// boots the copy isolated through package clone, as a restore drill does. A
// copy that is not up ends the update with the live pack untouched
// (*RehearsalFailedError). After an up verdict it stops the live server,
// takes the pre-update snapshot, and applies the change set (renames,
// journaled as state applying, finished by the next command when
// interrupted), unless the live pack changed since the copy's snapshot a
// path the update changes: then u2 runs on the live pack as without
// --rehearse. The first boot is then judged as after any update. The
// journal keeps the rehearsal's figures: its time, u2's, the live outage.
//
// Every step is written to the journal (<state>/journal/<tx>/tx.json,
// atomically) before it is taken, so a process killed anywhere leaves a
// state that Status reports and the next Update, PreUpdate, PostUpdate,
// BeginStart or Rollback finishes or undoes, and then stops there with
// *RecoveredError (or *NeedsAttentionError): the recovery rule, whose one
// exception is a Rollback whose own work the recovery did. A manual
// rollback whose snapshot turns out unusable leaves the pack and its
// transaction as they were (*RollbackRefusedError). The journal never holds
// a secret, and u2's output is masked (internal/secrets) before it is kept.
//
// hooks drives snapshots through archive and the server through the small
// Server interface, which main implements with the wrapper; it judges boots
// by the wrapper's typed verdict (wrapper.Verdict), the one thing it takes
// from that package, and reads the pack through Env.OpenPack. A
// rehearsal's copy (never the live server) is booted through clone. The
// arrows: main → hooks → wrapper → pack, hooks → archive, hooks → clone. It
// never prints for the user and never exits; outcomes that need their own
// exit code come back as typed errors.
package hooks
