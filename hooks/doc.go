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
// from that package, and reads the pack through Env.OpenPack. The arrows:
// main → hooks → wrapper → pack, hooks → archive. It never prints for the
// user and never exits; outcomes that need their own exit code come back as
// typed errors.
package hooks
