package hooks

import (
	"context"
	"errors"
	"fmt"

	"github.com/carbonguard/carbonguard/wrapper"
)

// StartOptions is a wrapped start (start, run, restart).
type StartOptions struct {
	Env
	// Launch starts the server and judges its boot. It returns the verdict
	// (a boot that is not up is still a verdict, with or without an error),
	// or nil and the error when no start was attempted (refused as root, by
	// the check gate, a server already running).
	Launch func(context.Context) (*wrapper.Verdict, error)
	// Starting, when set, is called once the start is cleared, just before
	// Launch, with the update whose first boot this is (nil for an ordinary
	// start), so that the command can tell the operator.
	Starting func(firstBootOf *Tx)
}

// StartResult is what a wrapped start did.
type StartResult struct {
	// Verdict is the boot the command reports: Launch's, or, after a
	// rollback, the restored pack's boot.
	Verdict *wrapper.Verdict
	// FailedFirstBoot is, after a rollback, the failed first boot's verdict
	// (also kept in the journal and the failed directory).
	FailedFirstBoot *wrapper.Verdict
	// Outcome is OutcomeNone for an ordinary start, else what the first
	// boot after an update led to: committed, rolled back, needs attention.
	Outcome Outcome
	// Tx is the update whose first boot was judged; nil for an ordinary start.
	Tx *Tx
}

// Start is a wrapped start inside the update transaction (the third flow):
// BeginStart, Launch, AfterBoot. With no update awaiting its first boot it
// returns Launch's verdict and error unchanged. After an update it returns
// the transaction's outcome: no error when the boot was up and the update
// committed, *RolledBackError when the pack was rolled back and is up again
// (the result's Verdict is then the restored pack's boot), or
// *NeedsAttentionError. A result is nil only when nothing was launched.
func Start(ctx context.Context, o StartOptions) (*StartResult, error) {
	g, err := BeginStart(ctx, o.Env)
	if err != nil {
		return nil, err
	}
	if o.Starting != nil {
		o.Starting(g.Tx())
	}
	v, lerr := o.Launch(ctx)
	if v == nil {
		_ = g.Release()
		if lerr == nil {
			lerr = errors.New("hooks: Launch returned neither a verdict nor an error")
		}
		return nil, lerr
	}
	res, herr := g.AfterBoot(ctx, v)
	sr := &StartResult{Verdict: v}
	if res != nil {
		sr.Outcome, sr.Tx = res.Outcome, res.Tx
	}
	if herr != nil {
		if res != nil && res.Tx != nil && res.Tx.AfterRollback != nil && res.Tx.AfterRollback.Verdict != nil {
			sr.FailedFirstBoot, sr.Verdict = v, res.Tx.AfterRollback.Verdict
		}
		return sr, herr
	}
	return sr, lerr
}

// StartGuard is what a wrapped start holds from before it starts the server
// until its boot verdict has been acted on: the pack's lock, and the update
// transaction awaiting its first boot, if any. Get one with BeginStart; end
// it with AfterBoot (or Release when the start could not be attempted).
type StartGuard struct {
	env  *Env
	lock *Lock
	j    *Journal
	tx   *Tx
}

// BeginStart prepares a wrapped start: it takes the lock, refuses while the
// pack is mid-update (conflicts to merge, or an operator's own u2 run
// between hook pre-update and post-update), and marks an update awaiting
// its first boot as booting.
//
// A transaction already rolled back or needing attention is terminal: the
// start that follows is an ordinary start and never rolls back again.
//
// An interrupted operation found first is finished or undone, and
// BeginStart returns that recovery's error (*RecoveredError, or
// *NeedsAttentionError) and no guard: the caller does not start (the
// recovery rule, see RecoveredError). Finishing an interrupted rollback may
// itself have started the restored server.
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
	g.j.crashPoint = env.CrashPoint
	// The recovery rule (RecoveredError): what an interrupted operation
	// left is finished or undone, and the start stops there.
	if rec, err := recoverLocked(ctx, g.env, g.j, lock); rec != nil || err != nil {
		if rec != nil && rec.Tx != nil {
			env.Log.Warn().Str("tx", rec.Tx.ID).Str("state", string(rec.Tx.State)).Msg("an interrupted operation was found and finished or undone; not starting")
		}
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
		case StateConflicts, StateRehearsed:
			if open.Rehearsal == nil || open.SnapshotID != "" {
				return nil, &OpenTxError{Tx: open}
			}
			// A rehearsal waiting on conflicts in its copy has not touched
			// the live pack: this is an ordinary start.
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
func (g *StartGuard) AfterBoot(ctx context.Context, v *wrapper.Verdict) (*Result, error) {
	defer g.lock.Release()
	if g.tx == nil {
		return &Result{Outcome: OutcomeNone, Verdict: v}, nil
	}
	return judge(ctx, g.env, g.j, g.tx, v)
}
