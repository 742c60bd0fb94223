package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/carbonguard/carbonguard/internal/durable"
)

// StartGuard is what a wrapped start holds from before it starts the server
// until its boot verdict has been acted on: the pack's lock, and the update
// transaction awaiting its first boot, if any. Get one with BeginStart; end
// it with AfterBoot (or Release when the start could not be attempted).
type StartGuard struct {
	env  *Env
	lock *Lock
	j    *Journal
	tx   *Tx
	// Recovered is an interrupted transaction BeginStart found and finished
	// or undone before this start.
	Recovered *Tx
}

// BeginStart prepares a wrapped start: it takes the lock, finishes or undoes
// an interrupted operation, refuses while the pack is mid-update (conflicts
// to merge, or an operator's own u2 run between hook pre-update and
// post-update), and marks an update awaiting its first boot as booting.
//
// A transaction already rolled back or needing attention is terminal: the
// start that follows is an ordinary start and never rolls back again.
//
// When recovering found a rollback interrupted after its restore, finishing
// it starts the server itself; BeginStart then returns that result's error
// (*RolledBackError or *NeedsAttentionError) and no guard: the caller must
// not start again.
func BeginStart(ctx context.Context, env Env) (*StartGuard, error) {
	if err := env.check(); err != nil {
		return nil, err
	}
	lock, err := AcquireLock(env.StateDir, "start")
	if err != nil {
		return nil, err
	}
	g := &StartGuard{env: &env, lock: lock}
	ok := false
	defer func() {
		if !ok {
			_ = lock.Release()
		}
	}()
	if g.j, err = OpenJournal(env.StateDir); err != nil {
		return nil, err
	}
	rec, err := recoverLocked(ctx, g.env, g.j, lock)
	if rec != nil {
		var re *RecoveredError
		if err != nil && !errors.As(err, &re) {
			return nil, err // the recovery ended the matter (e.g. a rollback finished)
		}
		g.Recovered = rec.Tx
		env.Log.Warn().Str("tx", rec.Tx.ID).Str("state", string(rec.Tx.State)).Msg("an interrupted operation was found and finished or undone before this start")
	} else if err != nil {
		return nil, err
	}
	open, err := g.j.Open()
	if err != nil {
		return nil, err
	}
	if open != nil {
		switch open.State {
		case StateAwaitingBoot, StateBooting:
			msg := "first boot after the update: starting the server"
			if open.State == StateBooting {
				msg = "first boot after the update: starting again (the previous start was interrupted)"
				// The interrupted start may have left the updated server
				// running, unjudged: stop it so that this start judges a
				// boot from the beginning instead of refusing as "already
				// running".
				if env.Server != nil {
					if pid, running, err := env.Server.Running(ctx); err == nil && running {
						env.Log.Warn().Str("tx", open.ID).Int("pid", pid).Msg("the interrupted first boot left the server running unjudged; stopping it to judge the boot again")
						if err := env.Server.Stop(ctx); err != nil {
							return nil, fmt.Errorf("stopping the unjudged server of update %s: %w", open.ID, err)
						}
					}
				}
			}
			if err := g.j.Transition(open, StateBooting, msg); err != nil {
				return nil, err
			}
			g.tx = open
		default:
			return nil, &OpenTxError{Tx: open}
		}
	}
	ok = true
	return g, nil
}

// Tx is the update transaction this start will judge, or nil for an
// ordinary start.
func (g *StartGuard) Tx() *Tx { return g.tx }

// Release gives the lock back without judging (the start could not be
// attempted). The transaction stays booting; the next start judges it.
func (g *StartGuard) Release() error {
	if g == nil {
		return nil
	}
	return g.lock.Release()
}

// AfterBoot acts on the boot verdict of the start BeginStart prepared. With
// no update awaiting its first boot it does nothing (OutcomeNone). Up:
// commit. Failed or unknown: stop the server, keep the failed tree's logs,
// verdict and diff, restore the pre-update snapshot, start again and judge
// again; up gives *RolledBackError (the old pack is up), anything else stops
// the server and gives *NeedsAttentionError. Either way the transaction is
// then terminal, so no later start rolls back again.
func (g *StartGuard) AfterBoot(ctx context.Context, boot Boot) (*Result, error) {
	defer g.lock.Release()
	if g.tx == nil {
		return &Result{Outcome: OutcomeNone, Boot: &boot}, nil
	}
	return judge(ctx, g.env, g.j, g.tx, boot)
}

// bootAndJudge is update --start: the first boot, under the update's lock.
func bootAndJudge(ctx context.Context, e *Env, j *Journal, tx *Tx) (*Result, error) {
	if err := j.Transition(tx, StateBooting, "first boot after the update: starting the server"); err != nil {
		return nil, err
	}
	boot, err := e.Server.Start(ctx)
	if err != nil {
		return &Result{Outcome: OutcomeUpdated, Tx: tx}, fmt.Errorf("starting the server after update %s: %w (the update awaits its first boot; carbonguard start judges it)", tx.ID, err)
	}
	return judge(ctx, e, j, tx, boot)
}

func bootRecord(b Boot) *BootRecord {
	st := b.State
	if st == "" {
		st = BootUnknown
	}
	return &BootRecord{State: st, Summary: b.Summary, Time: now(), Verdict: b.Verdict}
}

// judge commits on up and rolls back on anything else.
func judge(ctx context.Context, e *Env, j *Journal, tx *Tx, boot Boot) (*Result, error) {
	tx.Boot = bootRecord(boot)
	if tx.Boot.State == BootUp {
		msg := "the first boot after the update was up; update committed"
		if boot.Summary != "" {
			msg += " (" + boot.Summary + ")"
		}
		if err := j.Transition(tx, StateCommitted, msg); err != nil {
			return nil, err
		}
		e.Log.Info().Str("tx", tx.ID).Msg("update committed")
		return &Result{Outcome: OutcomeCommitted, Tx: tx, Boot: &boot}, nil
	}
	e.Log.Warn().Str("tx", tx.ID).Str("verdict", string(tx.Boot.State)).Str("summary", boot.Summary).Msg("the first boot after the update failed; rolling back")
	return rollbackFrom(ctx, e, j, tx, StepStopping)
}

// rollbackFrom runs the rollback after a failed first boot from step on.
// Each step is journaled before it is taken, so an interrupted rollback is
// continued by the next command from where it stopped. The restore comes
// before the slow evidence work (copying the failed boot's logs, which can
// be gigabytes; diffing and snapshotting the failed tree), which reads the
// displaced tree while the old pack is already up again: the restore keeps
// the failed tree whole beside the pack (a rename), so nothing is lost by
// the order, and the service comes back as fast as a restore allows.
func rollbackFrom(ctx context.Context, e *Env, j *Journal, tx *Tx, step RollbackStep) (*Result, error) {
	ctx = context.WithoutCancel(ctx) // a rollback half done is worse than one finished late
	if e.Server == nil {
		return nil, errors.New("hooks: a rollback after a failed boot needs a Server")
	}
	tx.FailedDir = e.failedDir(tx.ID)
	order := []RollbackStep{StepStopping, StepKeepingLogs, StepRestoring, StepStarting, StepEvidence}
	at := 0
	for i, s := range order {
		if s == step {
			at = i
		}
	}
	for _, s := range order[at:] {
		switch s {
		case StepStopping:
			if err := j.Step(tx, StepStopping, "the first boot was "+string(tx.Boot.State)+": stopping the server"); err != nil {
				return nil, err
			}
			if err := e.Server.Stop(ctx); err != nil {
				return attention(ctx, e, j, tx, "stopping the failed server: "+err.Error())
			}
		case StepKeepingLogs:
			if err := j.Step(tx, StepKeepingLogs, "keeping the failed boot's verdict in "+tx.FailedDir); err != nil {
				return nil, err
			}
			if err := keepVerdict(tx); err != nil {
				e.Log.Warn().Err(err).Str("dir", tx.FailedDir).Msg("keeping the failed boot's verdict")
			}
		case StepRestoring:
			if err := j.Step(tx, StepRestoring, "restoring the pre-update snapshot "+tx.SnapshotID); err != nil {
				return nil, err
			}
			rep, err := e.restore(ctx, tx.SnapshotID, true)
			if err != nil {
				return attention(ctx, e, j, tx, "restoring the pre-update snapshot: "+err.Error())
			}
			tx.Displaced = rep.Displaced
			if err := j.Save(tx); err != nil {
				return nil, err
			}
		case StepStarting:
			if err := j.Step(tx, StepStarting, "starting the restored pack"); err != nil {
				return nil, err
			}
			// A rollback resumed here may find the server its killed
			// predecessor started; judge a fresh start, not a stale one.
			if _, running, err := e.Server.Running(ctx); err == nil && running {
				if err := e.Server.Stop(ctx); err != nil {
					return attention(ctx, e, j, tx, "stopping the server before starting the restored pack: "+err.Error())
				}
			}
			boot, err := e.Server.Start(ctx)
			if err != nil {
				boot = Boot{State: BootUnknown, Summary: "the start could not be attempted: " + err.Error()}
			}
			tx.AfterRollback = bootRecord(boot)
			if err := j.Save(tx); err != nil {
				return nil, err
			}
		case StepEvidence:
			if err := j.Step(tx, StepEvidence, "keeping the failed tree: diff and pre-rollback snapshot"); err != nil {
				return nil, err
			}
			keepTreeEvidence(ctx, e, j, tx)
		}
	}
	return finishRollback(ctx, e, j, tx)
}

// finishRollback records the outcome of the boot after the rollback.
func finishRollback(ctx context.Context, e *Env, j *Journal, tx *Tx) (*Result, error) {
	if tx.AfterRollback != nil && tx.AfterRollback.State == BootUp {
		msg := "rolled back: the pre-update pack is restored and up; the failed boot's evidence is in " + tx.FailedDir
		if err := j.Transition(tx, StateRolledBack, msg); err != nil {
			return nil, err
		}
		e.Log.Warn().Str("tx", tx.ID).Str("failed_dir", tx.FailedDir).Msg("update rolled back")
		e.Notify.Notify(ctx, eventFor(tx, "rolled-back", msg))
		summary := ""
		if tx.Boot != nil {
			summary = tx.Boot.Summary
		}
		return &Result{Outcome: OutcomeRolledBack, Tx: tx}, &RolledBackError{TxID: tx.ID, FailedDir: tx.FailedDir, Summary: orDefault(summary, "boot "+string(tx.Boot.State))}
	}
	why := "the boot after the rollback was not up either"
	if tx.AfterRollback != nil && tx.AfterRollback.Summary != "" {
		why += " (" + tx.AfterRollback.Summary + ")"
	}
	if err := e.Server.Stop(ctx); err != nil {
		why += "; stopping it failed: " + err.Error()
	}
	return attention(ctx, e, j, tx, why)
}

// attention ends a transaction in needs-attention and tells someone.
func attention(ctx context.Context, e *Env, j *Journal, tx *Tx, why string) (*Result, error) {
	tx.Error = why
	if err := j.Transition(tx, StateNeedsAttention, why+"; the server is left stopped for a person to look at"); err != nil {
		return nil, err
	}
	e.Log.Error().Str("tx", tx.ID).Str("reason", why).Msg("update needs attention")
	e.Notify.Notify(ctx, eventFor(tx, "needs-attention", why))
	return &Result{Outcome: OutcomeNeedsAttention, Tx: tx}, &NeedsAttentionError{TxID: tx.ID, Reason: why, FailedDir: tx.FailedDir}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// keepVerdict writes the failed boot's verdict into the failed directory.
func keepVerdict(tx *Tx) error {
	if err := os.MkdirAll(tx.FailedDir, 0o700); err != nil {
		return err
	}
	if tx.Boot == nil {
		return nil
	}
	return durable.WriteFile(filepath.Join(tx.FailedDir, "verdict.json"), append(verdictJSON(tx.Boot), '\n'), 0o600)
}

// keepLogs copies the failed tree's repository/logs into the failed
// directory: from the tree the restore displaced, or, when the restore kept
// the live logs (KeepData), from the pack.
func keepLogs(e *Env, tx *Tx) error {
	src := ""
	if tx.Displaced != "" {
		src = filepath.Join(tx.Displaced, "repository", "logs")
	}
	if _, err := os.Stat(src); src == "" || err != nil {
		if !e.KeepData {
			return fmt.Errorf("the failed tree's repository/logs is not there to copy (%s)", orDefault(src, "no displaced tree"))
		}
		src = filepath.Join(e.Home, "repository", "logs")
	}
	return copyTree(src, filepath.Join(tx.FailedDir, "logs"))
}

// keepTreeEvidence diffs the failed tree (displaced beside the pack by the
// restore) against the pre-update snapshot, and snapshots it with reason
// pre-rollback. Once that snapshot is verified the displaced copy is
// removed: the snapshot keeps everything, compressed and checked. Failures
// are logged: the service is back, and the displaced tree stays for a
// person when its snapshot could not be taken.
func keepTreeEvidence(ctx context.Context, e *Env, j *Journal, tx *Tx) {
	if tx.Displaced == "" {
		tx.Displaced = displacedOf(e.Home, tx.SnapshotID)
	}
	if err := keepLogs(e, tx); err != nil {
		e.Log.Warn().Err(err).Str("dir", tx.FailedDir).Msg("keeping the failed boot's logs")
	}
	if tx.Displaced == "" {
		e.Log.Warn().Str("tx", tx.ID).Msg("the failed tree displaced by the restore was not found; no diff or pre-rollback snapshot")
		return
	}
	if d, err := e.Store.DiffLive(ctx, tx.SnapshotID, tx.Displaced); err == nil {
		data, _ := json.MarshalIndent(d, "", "  ")
		if err := durable.WriteFile(filepath.Join(tx.FailedDir, "diff.json"), append(data, '\n'), 0o600); err != nil {
			e.Log.Warn().Err(err).Msg("writing the failed tree's diff")
		}
	} else {
		e.Log.Warn().Err(err).Msg("comparing the failed tree with the pre-update snapshot")
	}
	if tx.FailedSnapshotID == "" {
		meta := map[string]string{"tx": tx.ID, "failed_tree_of": e.Home}
		if tx.LevelAfter != nil {
			meta["update_level"] = fmt.Sprint(*tx.LevelAfter)
		}
		m, err := e.snapshot(ctx, tx.Displaced, "pre-rollback", meta, true)
		if err != nil {
			e.Log.Warn().Err(err).Str("kept", tx.Displaced).Msg("snapshotting the failed tree; it stays beside the pack")
			_ = j.Save(tx)
			return
		}
		tx.FailedSnapshotID = m.ID
		if err := j.Save(tx); err != nil {
			e.Log.Warn().Err(err).Msg("journal")
			return
		}
	}
	if err := os.RemoveAll(tx.Displaced); err != nil {
		e.Log.Warn().Err(err).Str("path", tx.Displaced).Msg("removing the failed tree after its snapshot")
		return
	}
	tx.Displaced = ""
	_ = j.Save(tx)
}
