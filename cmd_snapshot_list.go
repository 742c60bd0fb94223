package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/internal/humanize"
)

func snapshotListCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:   "list",
		Usage:  "list the snapshots: id, time, reason, product, update level, size, files, last verified",
		Flags:  []cli.Flag{textOrJSON.flag()},
		Action: action(e, snapshotNeeds, newFormatOnly, runSnapshotList),
	}
}

// formatOnly are the options of a command that has only --format.
type formatOnly struct{ format string }

func newFormatOnly(c *cli.Context, _ *session) (formatOnly, error) {
	f, err := textOrJSON.of(c)
	return formatOnly{f}, err
}

func runSnapshotList(ctx context.Context, s *session, o formatOnly) error {
	store, release, err := s.snapshotStore(ctx, "", false)
	if err != nil {
		return err
	}
	defer release()
	list, err := store.List()
	if err != nil {
		return err
	}
	if o.format == "json" {
		if list == nil {
			list = []archive.Info{}
		}
		return writeJSON(s.stdout, struct {
			SchemaVersion int            `json:"schema_version"`
			Snapshots     []archive.Info `json:"snapshots"`
		}{1, list})
	}
	if len(list) == 0 {
		fmt.Fprintln(s.stdout, "no snapshots")
		return nil
	}
	tw := tabwriter.NewWriter(s.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tREASON\tPRODUCT\tLEVEL\tSIZE\tARCHIVE\tFILES\tVERIFIED")
	for _, in := range list {
		if in.Incomplete {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t-\tINCOMPLETE: %s\n", in.ID, in.Problem)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", in.ID, in.Created.Local().Format("2006-01-02 15:04:05"),
			in.Reason, orDash(productOf(in.Meta)), orDash(in.Meta["update_level"]), humanize.Bytes(in.Bytes),
			humanize.Bytes(in.ArchiveSize), in.Files, verifiedText(in.Verified))
	}
	return tw.Flush()
}
