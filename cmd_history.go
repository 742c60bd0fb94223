package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/drill"
	"github.com/carbonguard/carbonguard/hooks"
)

func historyCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "history",
		Usage: "the journal of update transactions, and the restore drills",
		Description: `history lists the update transactions of the pack, oldest first: id, kind (update, hook, rollback),
state, update level before and after, pre-update snapshot, last change and its note. Then the
restore drills, oldest first: id, outcome, level reached, snapshot, RTO, when, and why. --format
json gives every transaction and drill in full (u2 attempts, files changed, conflicts, boot
verdicts, events; the drills' records with the copy's verdict). --last keeps the newest of each.
`,
		Flags: []cli.Flag{
			textOrJSON.flag(),
			&cli.BoolFlag{Name: "last", Usage: "only the newest transaction (scripts: history --last | awk 'NR==2 {print $3}' is its state)"},
		},
		// The journal is in the state directory: no pack, no carbonguard.toml.
		Action: action(e, needs{state: true}, newHistoryOptions, runHistory),
	}
}

type historyOptions struct {
	format string
	last   bool
}

func newHistoryOptions(c *cli.Context, s *session) (historyOptions, error) {
	format, err := textOrJSON.of(c)
	if err != nil {
		return historyOptions{}, err
	}
	if c.Args().Len() > 0 {
		return historyOptions{}, usagef("history takes no arguments")
	}
	return historyOptions{format: format, last: c.Bool("last")}, nil
}

func runHistory(ctx context.Context, s *session, o historyOptions) error {
	txs, err := hooks.History(s.state)
	if err != nil {
		return err
	}
	if o.last && len(txs) > 1 {
		txs = txs[len(txs)-1:]
	}
	drills, err := drill.List(s.state) // newest first
	if err != nil {
		return err
	}
	slices.Reverse(drills)
	if o.last && len(drills) > 1 {
		drills = drills[len(drills)-1:]
	}
	if o.format == "json" {
		if txs == nil {
			txs = []*hooks.Tx{}
		}
		if drills == nil {
			drills = []*drill.Record{}
		}
		return writeJSON(s.stdout, struct {
			SchemaVersion int             `json:"schema_version"`
			Transactions  []*hooks.Tx     `json:"transactions"`
			Drills        []*drill.Record `json:"drills"`
		}{1, txs, drills})
	}
	if err := writeTxHistory(s.stdout, txs); err != nil {
		return err
	}
	if len(drills) == 0 {
		return nil
	}
	fmt.Fprintln(s.stdout)
	tw := tabwriter.NewWriter(s.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DRILL\tOUTCOME\tLEVEL\tSNAPSHOT\tRTO\tSTARTED\tNOTE")
	for _, r := range drills {
		rto := "-"
		if r.RTO != nil {
			rto = ms(r.RTO.TotalMS)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.State, orDash(r.Level), orDash(r.Snapshot.ID), rto,
			r.Started.Local().Format(time.DateTime), shorten(strings.TrimSuffix(firstLine(r.Reason), ":"), 100))
	}
	return tw.Flush()
}

func writeTxHistory(w io.Writer, txs []*hooks.Tx) error {
	if len(txs) == 0 {
		fmt.Fprintln(w, "no update transactions")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTATE\tLEVEL\tSNAPSHOT\tUPDATED\tNOTE")
	for _, tx := range txs {
		note := ""
		if n := len(tx.Events); n > 0 {
			note = tx.Events[n-1].Message
		}
		if len(note) > 100 {
			note = note[:97] + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s->%s\t%s\t%s\t%s\n", tx.ID, tx.Kind, tx.State, levelText(tx.LevelBefore), levelText(tx.LevelAfter),
			orDash(tx.SnapshotID), tx.Updated.Format(time.DateTime), note)
	}
	return tw.Flush()
}

func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n-3] + "..."
	}
	return s
}
