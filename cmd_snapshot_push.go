package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/remote"
)

func snapshotPushCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "push",
		Usage: "copy snapshots off the host, into the restic repository of [remote]",
		Description: `Each snapshot goes as one restic snapshot: its manifest and database dumps, then its
uncompressed tar stream, through restic backup --stdin, so that restic's deduplication stores only
what changed since the last push. The snapshot is checked against its manifest as it is read; a
snapshot already in the repository is not sent again. No ID: the newest snapshot.
`,
		ArgsUsage: "[ID...|latest]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "push every snapshot (those in the repository already are skipped)"},
			textOrJSON.flag(),
		},
		Action: action(e, snapshotNeeds, newSnapshotPushOptions, runSnapshotPush),
	}
}

type snapshotPushOptions struct {
	format string
	ids    []string
	all    bool
}

func newSnapshotPushOptions(c *cli.Context, _ *session) (snapshotPushOptions, error) {
	format, err := textOrJSON.of(c)
	if err != nil {
		return snapshotPushOptions{}, err
	}
	if err := flagsFirst(c, "push"); err != nil {
		return snapshotPushOptions{}, err
	}
	o := snapshotPushOptions{format: format, ids: c.Args().Slice(), all: c.Bool("all")}
	if o.all && len(o.ids) > 0 {
		return o, usagef("snapshot push: give IDs or --all, not both")
	}
	if !o.all && len(o.ids) == 0 {
		o.ids = []string{"latest"}
	}
	return o, nil
}

func runSnapshotPush(ctx context.Context, s *session, o snapshotPushOptions) error {
	repo, err := s.remoteRepo()
	if err != nil {
		return err
	}
	store, release, err := s.snapshotStore(ctx, "", false)
	if err != nil {
		return err
	}
	defer release()
	ids := o.ids
	if o.all {
		list, err := store.List()
		if err != nil {
			return err
		}
		ids = nil
		for _, in := range list {
			if !in.Incomplete {
				ids = append(ids, in.ID)
			}
		}
		if len(ids) == 0 {
			return usagef("there are no snapshots yet (snapshot create takes one)")
		}
	}
	ctx, cancel := signalContext(ctx)
	defer cancel()
	var reports []remote.PushReport
	for _, id := range ids {
		id, err := resolveID(store, id)
		if err != nil {
			return err
		}
		rep, err := s.pushSnapshot(ctx, repo, store, id)
		if err != nil {
			return err
		}
		reports = append(reports, rep)
		if o.format != "json" {
			fmt.Fprintln(s.stdout, pushText(rep, repo.Repository()))
		}
	}
	if o.format == "json" {
		return writeJSON(s.stdout, struct {
			SchemaVersion int                 `json:"schema_version"`
			Repository    string              `json:"repository"`
			Pushed        []remote.PushReport `json:"pushed"`
		}{1, repo.Repository(), reports})
	}
	return nil
}
