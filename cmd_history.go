package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/hooks"
)

func historyCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "history",
		Usage: "the journal of update transactions",
		Description: `history lists the update transactions of the pack, oldest first: id, kind (update, hook, rollback),
state, update level before and after, pre-update snapshot, last change and its note. --format json
gives every transaction in full (u2 attempts, files changed, conflicts, boot verdicts, events).

` + exitStatusHelp,
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
	if o.format == "json" {
		if txs == nil {
			txs = []*hooks.Tx{}
		}
		return writeJSON(s.stdout, struct {
			SchemaVersion int         `json:"schema_version"`
			Transactions  []*hooks.Tx `json:"transactions"`
		}{1, txs})
	}
	if len(txs) == 0 {
		fmt.Fprintln(s.stdout, "no update transactions")
		return nil
	}
	tw := tabwriter.NewWriter(s.stdout, 0, 0, 2, ' ', 0)
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
