package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"text/tabwriter"

	"github.com/carbonguard/carbonguard/hooks"
)

// What update, hook, rollback and history print about update transactions.

// guardedReport is the JSON form of an update, hook or rollback result.
type guardedReport struct {
	SchemaVersion int           `json:"schema_version"`
	Command       string        `json:"command"`
	Outcome       hooks.Outcome `json:"outcome,omitempty"`
	Error         string        `json:"error,omitempty"`
	ExitCode      int           `json:"exit_code"`
	Tx            *hooks.Tx     `json:"tx,omitempty"`
	Recovered     *hooks.Tx     `json:"recovered,omitempty"`
}

// reportGuarded prints what a guarded command did (stdout) and returns its
// error for the exit code. With a report printed, the error still goes to
// stderr as the one-line reason.
func (e *env) reportGuarded(format, command string, res *hooks.Result, err error) error {
	if res == nil && err != nil {
		if format == "json" {
			_ = writeJSON(e.stdout, guardedReport{SchemaVersion: 1, Command: command, Error: err.Error(), ExitCode: classify(err)})
		}
		return err
	}
	if res == nil {
		return nil
	}
	if format == "json" {
		r := guardedReport{SchemaVersion: 1, Command: command, Outcome: res.Outcome, Tx: res.Tx, Recovered: res.Recovered}
		if err != nil {
			r.Error, r.ExitCode = err.Error(), classify(err)
		}
		if werr := writeJSON(e.stdout, r); werr != nil {
			return werr
		}
		return err
	}
	writeTxText(e.stdout, res)
	return err
}

func writeTxText(w io.Writer, res *hooks.Result) {
	tx := res.Tx
	if tx == nil {
		return
	}
	fmt.Fprintf(w, "%s %s: %s\n", tx.Kind, tx.ID, describeState(tx))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  home\t%s\n", tx.Home)
	if tx.LevelBefore != nil || tx.LevelAfter != nil {
		fmt.Fprintf(tw, "  update level\t%s -> %s\n", levelText(tx.LevelBefore), levelText(tx.LevelAfter))
	}
	if tx.SnapshotID != "" {
		fmt.Fprintf(tw, "  pre-update snapshot\t%s\n", tx.SnapshotID)
	}
	if tx.Changes != nil {
		fmt.Fprintf(tw, "  files changed\t%d added, %d removed, %d modified\n", len(tx.Changes.Added), len(tx.Changes.Removed), len(tx.Changes.Modified))
	}
	if tx.U2 != nil && tx.U2.Changelog != "" {
		fmt.Fprintf(tw, "  changelog\t%s\n", filepath.Join(tx.Home, tx.U2.Changelog))
	}
	if tx.U2 != nil && len(tx.U2.Attempts) > 0 {
		a := tx.U2.Attempts[len(tx.U2.Attempts)-1]
		code := "-"
		if a.ExitCode != nil {
			code = strconv.Itoa(*a.ExitCode)
		}
		fmt.Fprintf(tw, "  u2 runs\t%d, last exit code %s\n", len(tx.U2.Attempts), code)
		if a.Log != "" {
			fmt.Fprintf(tw, "  u2 output\t%s\n", a.Log)
		}
	}
	if tx.Boot != nil {
		fmt.Fprintf(tw, "  first boot\t%s: %s\n", tx.Boot.State, tx.Boot.Summary)
	}
	if tx.AfterRollback != nil {
		fmt.Fprintf(tw, "  boot after rollback\t%s: %s\n", tx.AfterRollback.State, tx.AfterRollback.Summary)
	}
	writeRehearsal(tw, tx)
	if tx.FailedDir != "" {
		fmt.Fprintf(tw, "  evidence\t%s\n", tx.FailedDir)
	}
	if tx.FailedSnapshotID != "" {
		fmt.Fprintf(tw, "  failed tree snapshot\t%s\n", tx.FailedSnapshotID)
	}
	if tx.Displaced != "" {
		fmt.Fprintf(tw, "  replaced tree kept in\t%s\n", tx.Displaced)
	}
	_ = tw.Flush()
	if len(tx.Conflicts) > 0 && tx.State == hooks.StateConflicts {
		home := tx.Home
		if rehearsing(tx) {
			home = tx.Rehearsal.Copy
			fmt.Fprintln(w, "conflicts in the rehearsal copy (merge FILE.original and FILE.new into FILE.final there):")
		} else {
			fmt.Fprintln(w, "conflicts (merge FILE.original and FILE.new into FILE.final):")
		}
		for _, cf := range tx.Conflicts {
			mark := "unresolved"
			if cf.Resolved {
				mark = "resolved (.final written)"
			}
			fmt.Fprintf(w, "  %s  %s\n", filepath.Join(home, cf.Path), mark)
		}
	}
	if next := nextText(tx); next != "" {
		fmt.Fprintf(w, "next: %s\n", next)
	}
}

// rehearsing: a rehearsal that has not touched the live pack (it has no
// pre-update snapshot yet).
func rehearsing(tx *hooks.Tx) bool { return tx.Rehearsal != nil && tx.SnapshotID == "" }

// writeRehearsal gives a rehearsed update's figures: where its copy came
// from and how it booted, the rehearsal's time and u2's, and the live
// outage.
func writeRehearsal(tw io.Writer, tx *hooks.Tx) {
	rh := tx.Rehearsal
	if rh == nil {
		return
	}
	base := "the newest verified snapshot " + rh.Base.Snapshot
	if rh.Base.Fresh {
		base = "snapshot " + rh.Base.Snapshot + ", taken for it"
	}
	fmt.Fprintf(tw, "  rehearsal copy\tfrom %s\n", base)
	if rh.Boot != nil && rh.Boot.Verdict != nil {
		fmt.Fprintf(tw, "  copy's boot\t%s in %s (%s network): %s\n", rh.Boot.Verdict.State, secs(rh.Boot.BootMS), rh.Boot.Network, rh.Boot.Verdict.Reason)
	}
	t := rh.Timings
	if t.TotalMS > 0 {
		live := "the live server ran throughout"
		if rh.LivePID == 0 {
			live = "the live server was not running"
		}
		boot := ", not booted (nothing to apply)"
		if rh.Boot != nil {
			boot = ", copy boot " + secs(t.BootMS)
		}
		fmt.Fprintf(tw, "  rehearsal time\t%s: u2 on the copy %s, copy laid down %s%s; %s\n",
			secs(t.TotalMS), secs(t.U2MS), secs(t.BaseMS+t.CopyMS), boot, live)
	}
	if rh.Fallback != "" {
		fmt.Fprintf(tw, "  not applied as rehearsed\t%s; u2 ran on the live pack instead\n", rh.Fallback)
	}
	if o := t.Outage; o != nil && o.TotalMS > 0 {
		apply := "apply " + secs(o.ApplyMS)
		if rh.Fallback != "" {
			apply = "u2 " + secs(o.ApplyMS)
		}
		serving := ""
		if o.ServingMS > 0 {
			serving = fmt.Sprintf(" (serving again after %s)", secs(o.ServingMS))
		}
		until := "up verdict"
		if o.Until == "rollback" {
			until = "rolled-back pack's up verdict"
		}
		from := "the stop"
		if o.AlreadyStopped {
			from = "the apply (the server was already stopped)"
		}
		fmt.Fprintf(tw, "  live outage\t%s from %s to the %s%s: stop %s, pre-update snapshot %s, %s, boot %s\n",
			secs(o.TotalMS), from, until, serving, secs(o.StopMS), secs(o.SnapshotMS), apply, secs(o.BootMS))
	}
}

func secs(ms int64) string { return strconv.FormatFloat(float64(ms)/1000, 'f', 1, 64) + "s" }

func describeState(tx *hooks.Tx) string {
	switch tx.State {
	case hooks.StateRehearsalFailed:
		return "not applied: " + tx.Error + "; the live pack and server were never touched"
	case hooks.StateRehearsing:
		return "rehearsing (" + string(tx.Step) + "); the live pack is untouched"
	case hooks.StateRehearsed:
		return "rehearsed: the updated copy booted up; the live pack is untouched until update --continue"
	case hooks.StateAwaitingBoot:
		return "updated, awaiting the first boot"
	case hooks.StateU2Running:
		if tx.U2 != nil && tx.U2.External {
			return "open, waiting for your u2 run"
		}
	case hooks.StateConflicts:
		if rehearsing(tx) {
			return "stopped on conflicts in the rehearsal copy; the live pack and server are untouched"
		}
		return "stopped on conflicts"
	case hooks.StateRestored:
		return "restored: the pack is as it was before the update"
	case hooks.StateCommitted:
		if tx.Rehearsal != nil && tx.Rehearsal.Boot == nil && tx.Changes.Count() == 0 {
			return "nothing to apply: u2 changed nothing on the copy (the pack is at the level asked for); the live node was left alone"
		}
		return "committed"
	case hooks.StateRolledBack:
		return "rolled back: the first boot failed, the pre-update pack is back and up"
	case hooks.StateNeedsAttention:
		return "NEEDS ATTENTION: " + tx.Error
	case hooks.StateAborted:
		if tx.Rehearsal != nil && len(tx.Events) > 0 {
			return "aborted: " + tx.Events[len(tx.Events)-1].Message
		}
		return "aborted before u2 ran"
	}
	return string(tx.State)
}

func nextText(tx *hooks.Tx) string {
	switch tx.State {
	case hooks.StateAwaitingBoot:
		return "start the server (carbonguard start): an up boot commits the update, a failed one rolls it back"
	case hooks.StateU2Running:
		if tx.U2 != nil && tx.U2.External {
			return "run u2, then carbonguard hook post-update --exit-code <its exit code>"
		}
	case hooks.StateRehearsed:
		return "carbonguard update --continue --stop-server --start applies it (or stop the server, update --continue, start it); carbonguard rollback gives it up"
	case hooks.StateConflicts:
		if rehearsing(tx) {
			return "write each FILE.final in " + tx.Rehearsal.Copy + ", then carbonguard update --continue (the rehearsal goes on from there); or give up with carbonguard rollback"
		}
		return "write each FILE.final, then carbonguard update --continue; or give up with carbonguard rollback"
	case hooks.StateNeedsAttention:
		return "the server is stopped; look at the evidence, fix, and start it by hand"
	}
	return ""
}

func levelText(l *int) string {
	if l == nil {
		return "?"
	}
	return strconv.Itoa(*l)
}
