package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/internal/humanize"
)

func snapshotVerifyCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "re-read a snapshot and check every entry against its manifest",
		ArgsUsage: "ID|latest",
		Flags:     []cli.Flag{textOrJSON.flag(), &cli.BoolFlag{Name: "all", Usage: "verify every snapshot"}},
		Action:    action(e, snapshotNeeds, newSnapshotVerifyOptions, runSnapshotVerify),
	}
}

type snapshotVerifyOptions struct {
	format string
	id     string // or "latest"; "" with all
	all    bool
}

func newSnapshotVerifyOptions(c *cli.Context, _ *session) (snapshotVerifyOptions, error) {
	if err := flagsFirst(c, "verify"); err != nil {
		return snapshotVerifyOptions{}, err
	}
	all := c.Bool("all")
	if all == (c.Args().Len() == 1) || c.Args().Len() > 1 {
		return snapshotVerifyOptions{}, usagef("snapshot verify needs one snapshot ID, or --all")
	}
	format, err := textOrJSON.of(c)
	return snapshotVerifyOptions{format: format, id: c.Args().First(), all: all}, err
}

func runSnapshotVerify(ctx context.Context, s *session, o snapshotVerifyOptions) error {
	store, release, err := s.snapshotStore(ctx, "", false)
	if err != nil {
		return err
	}
	defer release()
	first, err := resolveID(store, o.id)
	if err != nil && !o.all {
		return err
	}
	ids := []string{first}
	if o.all {
		list, err := store.List()
		if err != nil {
			return err
		}
		ids = ids[:0]
		for _, in := range list {
			ids = append(ids, in.ID)
		}
	}
	ctx, cancel := signalContext(ctx)
	defer cancel()
	type result struct {
		ID     string                `json:"id"`
		OK     bool                  `json:"ok"`
		Kind   string                `json:"kind,omitempty"`
		Error  string                `json:"error,omitempty"`
		Report *archive.VerifyReport `json:"report,omitempty"`
	}
	var results []result
	var worst error
	for _, id := range ids {
		bar := s.progressBar()
		rep, err := store.Verify(ctx, id, bar.update)
		bar.close()
		r := result{ID: id, OK: err == nil, Report: rep}
		if err != nil {
			if errors.Is(err, context.Canceled) || (!o.all && verdictKind(err) == "") {
				return err
			}
			r.Error = err.Error()
			r.Kind = verdictKind(err)
			if worst == nil || (r.Kind == "corrupt" && verdictKind(worst) != "corrupt") {
				worst = err
			}
		}
		results = append(results, r)
		if o.format != "json" {
			if err != nil {
				fmt.Fprintf(s.stdout, "%s: %s: %v\n", id, strings.ToUpper(r.Kind), err)
			} else {
				fmt.Fprintf(s.stdout, "%s: ok (%d entries, %s in %s)\n", id, rep.Entries, humanize.Bytes(rep.Bytes), rep.Took.Round(time.Millisecond))
			}
		}
	}
	if o.format == "json" {
		if results == nil {
			results = []result{}
		}
		if err := writeJSON(s.stdout, struct {
			SchemaVersion int      `json:"schema_version"`
			Results       []result `json:"results"`
		}{1, results}); err != nil {
			return err
		}
		if worst != nil {
			return codeError{code: classify(worst)}
		}
		return nil
	}
	if worst != nil {
		if !o.all {
			return worst
		}
		// The per-snapshot lines said it all; the status says the worst.
		return codeError{code: classify(worst)}
	}
	return nil
}

// verdictKind is "corrupt" or "incomplete" for a snapshot that failed its
// verification, "" for any other error.
func verdictKind(err error) string {
	var ce *archive.CorruptError
	var ie *archive.IncompleteError
	switch {
	case errors.As(err, &ce):
		return "corrupt"
	case errors.As(err, &ie):
		return "incomplete"
	}
	return ""
}
