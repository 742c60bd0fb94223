package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/carbonguard/carbonguard/internal/durable"
	"github.com/carbonguard/carbonguard/wrapper"
)

// bootAndJudge is update --start: the first boot, under the update's lock.
func bootAndJudge(ctx context.Context, e *Env, j *Journal, tx *Tx) (*Result, error) {
	if err := j.Transition(tx, StateBooting, "first boot after the update: starting the server"); err != nil {
		return nil, err
	}
	v, err := e.Server.Start(ctx)
	if v == nil {
		return &Result{Outcome: OutcomeUpdated, Tx: tx}, fmt.Errorf("starting the server after update %s: %w (the update awaits its first boot; carbonguard start judges it)", tx.ID, err)
	}
	return judge(ctx, e, j, tx, v)
}

func bootRecord(v *wrapper.Verdict) *BootRecord {
	st := v.State
	if st == "" {
		st = wrapper.Unknown
	}
	return &BootRecord{State: st, Summary: v.Reason, Time: now(), Verdict: v}
}

// judge commits on up and rolls back on anything else.
func judge(ctx context.Context, e *Env, j *Journal, tx *Tx, v *wrapper.Verdict) (*Result, error) {
	tx.Boot = bootRecord(v)
	if tx.Boot.State == wrapper.Up {
		closeOutage(tx, "update", tx.Boot)
		msg := "the first boot after the update was up; update committed"
		if v.Reason != "" {
			msg += " (" + v.Reason + ")"
		}
		if err := j.Transition(tx, StateCommitted, msg); err != nil {
			return nil, err
		}
		e.Log.Info().Str("tx", tx.ID).Msg("update committed")
		return &Result{Outcome: OutcomeCommitted, Tx: tx, Verdict: v}, nil
	}
	e.Log.Warn().Str("tx", tx.ID).Str("verdict", string(tx.Boot.State)).Str("summary", v.Reason).Msg("the first boot after the update failed; rolling back")
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
			v, err := e.Server.Start(ctx)
			if v != nil {
				tx.AfterRollback = bootRecord(v)
			} else {
				tx.AfterRollback = &BootRecord{State: wrapper.Unknown, Summary: "the start could not be attempted: " + err.Error(), Time: now()}
			}
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
	if tx.AfterRollback != nil && tx.AfterRollback.State == wrapper.Up {
		closeOutage(tx, "rollback", tx.AfterRollback)
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
	data, err := json.Marshal(verdictOf(tx.Boot))
	if err != nil {
		return err
	}
	return durable.WriteFile(filepath.Join(tx.FailedDir, "verdict.json"), append(data, '\n'), 0o600)
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
	return copyEvidence(src, filepath.Join(tx.FailedDir, "logs"))
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
