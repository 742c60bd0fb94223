package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/hooks"
	"github.com/carbonguard/carbonguard/internal/humanize"
	"github.com/carbonguard/carbonguard/pack"
)

// A snapshot restore killed half-way leaves its record (<state>/restore.json)
// and a staging tree as large as the pack beside it. An update transaction
// that was restoring is the next guarded command's to finish (hooks'
// recovery); a bare snapshot restore has no transaction, and its leftovers
// used to wait for the next restore or create. Every command that has the
// state directory finishes or undoes it first (recoverRestore), and status
// reports whatever is still there (restoreLeftovers).

// recoverRestore finishes or undoes an interrupted snapshot restore before
// the command runs, when it is safe: no guarded operation is running (the
// pack's lock is free), no update transaction is open (hooks finishes its
// own restores, in order, under its journal), and the server does not run
// (a swap must not happen under it). Otherwise it is left for the command
// that can, and status reports it.
func (s *session) recoverRestore(ctx context.Context) {
	record := filepath.Join(s.state, "restore.json")
	if _, err := os.Lstat(record); err != nil {
		return
	}
	if txs, err := hooks.History(s.state); err == nil {
		for _, tx := range txs {
			if !tx.State.Terminal() {
				return
			}
		}
	}
	if p, err := pack.OpenWith(s.home, pack.Options{Lenient: true}); err == nil {
		if _, running, err := p.RunningPID(); err != nil || running {
			return
		}
	}
	lock, err := hooks.AcquireLock(s.state, "finish an interrupted snapshot restore")
	if err != nil {
		return // a running guarded operation: it is its own restore, or it finishes it
	}
	defer func() { _ = lock.Release() }()
	store, err := s.store()
	if err != nil {
		s.log.Warn().Err(err).Msg("opening the snapshot store to finish an interrupted restore")
		return
	}
	rr, err := store.Recover(ctx)
	if err != nil {
		fmt.Fprintf(s.stderr, "carbonguard: warning: an interrupted snapshot restore could not be finished or undone: %v\n", err)
		return
	}
	reportRecovery(s, rr)
}

// reportRecovery tells the operator what finishing an interrupted restore did.
func reportRecovery(s *session, rr *archive.RecoveryReport) {
	switch rr.Outcome {
	case archive.RecoveryFinished:
		fmt.Fprintf(s.stderr, "carbonguard: an interrupted restore of snapshot %s into %s was found and finished\n", rr.ID, rr.Target)
	case archive.RecoveryUndone:
		fmt.Fprintf(s.stderr, "carbonguard: an interrupted restore of snapshot %s into %s was found before its swap and undone (its staging tree removed); the pack was not touched\n", rr.ID, rr.Target)
	}
}

// restoreLeftover is what an interrupted restore still holds.
type restoreLeftover struct {
	Record  string   `json:"record,omitempty"` // restore.json, when present
	Staging []string `json:"staging,omitempty"`
	Bytes   int64    `json:"bytes"`
}

// restoreLeftovers finds an interrupted restore's record and the staging
// trees beside the pack (.<pack>.restore-<id>, archive's naming), with the
// space they hold; nil when there are none.
func restoreLeftovers(state, home string) *restoreLeftover {
	var lo restoreLeftover
	if _, err := os.Lstat(filepath.Join(state, "restore.json")); err == nil {
		lo.Record = filepath.Join(state, "restore.json")
	}
	lo.Staging, _ = filepath.Glob(filepath.Join(filepath.Dir(home), "."+filepath.Base(home)+".restore-*"))
	if lo.Record == "" && len(lo.Staging) == 0 {
		return nil
	}
	for _, dir := range lo.Staging {
		_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					lo.Bytes += fi.Size()
				}
			}
			return nil
		})
	}
	return &lo
}

func (lo *restoreLeftover) text() string {
	t := "an interrupted snapshot restore"
	if len(lo.Staging) > 0 {
		t += fmt.Sprintf(" left %s in %s", humanize.Bytes(lo.Bytes), lo.Staging[0])
		if len(lo.Staging) > 1 {
			t += fmt.Sprintf(" and %d more", len(lo.Staging)-1)
		}
	}
	return t + "; the next update, start, rollback or snapshot command finishes or undoes it (it is left alone while the server runs or an update is open)"
}
