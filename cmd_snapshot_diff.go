package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/archive"
)

func snapshotDiffCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "added, removed and changed files between two snapshots, or a snapshot and the live pack",
		ArgsUsage: "ID|latest [ID2]",
		Flags:     []cli.Flag{textOrJSON.flag()},
		Action:    action(e, snapshotNeeds, newSnapshotDiffOptions, runSnapshotDiff),
	}
}

type snapshotDiffOptions struct {
	format string
	a, b   string // b "" = the live pack
}

func newSnapshotDiffOptions(c *cli.Context, _ *session) (snapshotDiffOptions, error) {
	if err := flagsFirst(c, "diff"); err != nil {
		return snapshotDiffOptions{}, err
	}
	if c.Args().Len() < 1 || c.Args().Len() > 2 {
		return snapshotDiffOptions{}, usagef("snapshot diff needs a snapshot ID, and optionally a second one (without it: the live pack)")
	}
	format, err := textOrJSON.of(c)
	return snapshotDiffOptions{format: format, a: c.Args().Get(0), b: c.Args().Get(1)}, err
}

func runSnapshotDiff(ctx context.Context, s *session, o snapshotDiffOptions) error {
	store, release, err := s.snapshotStore(ctx, "", false)
	if err != nil {
		return err
	}
	defer release()
	a, err := resolveID(store, o.a)
	if err != nil {
		return err
	}
	var d *archive.DiffReport
	if o.b != "" {
		b, err := resolveID(store, o.b)
		if err != nil {
			return err
		}
		d, err = store.Diff(ctx, a, b)
		if err != nil {
			return err
		}
	} else {
		d, err = store.DiffLive(ctx, a, s.pack.Home)
	}
	if err != nil {
		return err
	}
	if o.format == "json" {
		return writeJSON(s.stdout, struct {
			SchemaVersion int `json:"schema_version"`
			*archive.DiffReport
		}{1, d})
	}
	w := bufio.NewWriter(s.stdout)
	fmt.Fprintf(w, "from %s to %s: %d added, %d removed, %d changed\n", d.A, d.B, len(d.Added), len(d.Removed), len(d.Changed))
	for _, ch := range d.Added {
		fmt.Fprintf(w, "+ %s%s\n", printableName(ch.Path), dirSlash(ch.Type))
	}
	for _, ch := range d.Removed {
		fmt.Fprintf(w, "- %s%s\n", printableName(ch.Path), dirSlash(ch.Type))
	}
	for _, ch := range d.Changed {
		fmt.Fprintf(w, "~ %s%s (%s)\n", printableName(ch.Path), dirSlash(ch.Type), strings.Join(ch.What, ", "))
	}
	return w.Flush()
}

func dirSlash(t string) string {
	if t == archive.TypeDir {
		return "/"
	}
	return ""
}
