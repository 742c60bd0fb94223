package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/internal/humanize"
	"github.com/carbonguard/carbonguard/remote"
)

func snapshotListCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the snapshots: id, time, reason, product, update level, size, compressed size, bytes each added to the store, files, last verified; then the store's total",
		Flags: []cli.Flag{textOrJSON.flag(), &cli.BoolFlag{Name: "remote", Usage: "list the snapshots in the restic repository of [remote] instead (every pack's)"}},
		Action: func(c *cli.Context) error {
			if c.Bool("remote") {
				return action(e, needs{config: true, pack: noPack}, newFormatOnly, runSnapshotListRemote)(c)
			}
			return action(e, snapshotNeeds, newFormatOnly, runSnapshotList)(c)
		},
	}
}

func runSnapshotListRemote(ctx context.Context, s *session, o formatOnly) error {
	repo, err := s.remoteRepo()
	if err != nil {
		return err
	}
	list, err := repo.List(ctx, "")
	if err != nil {
		return err
	}
	if o.format == "json" {
		if list == nil {
			list = []remote.Snapshot{}
		}
		return writeJSON(s.stdout, struct {
			SchemaVersion int               `json:"schema_version"`
			Repository    string            `json:"repository"`
			Snapshots     []remote.Snapshot `json:"snapshots"`
		}{1, repo.Repository(), list})
	}
	if len(list) == 0 {
		fmt.Fprintf(s.stdout, "no snapshots in %s\n", repo.Repository())
		return nil
	}
	tw := tabwriter.NewWriter(s.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPACK\tPUSHED\tHOST\tREASON\tPRODUCT\tLEVEL\tSTREAM\tRESTIC\tSTATUS")
	for _, r := range list {
		status, size := "complete", humanize.Bytes(r.Bytes)
		if !r.Complete {
			status, size = "INCOMPLETE (interrupted push: push it again)", "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Pack, r.Time.Local().Format("2006-01-02 15:04:05"), orDash(r.Host),
			orDash(r.Reason), orDash(r.Product), orDash(r.Level), size, short(r.ResticID), status)
	}
	return tw.Flush()
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
	usage, err := store.Usage()
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
			Store         *archive.Usage `json:"store"`
		}{1, list, usage})
	}
	if len(list) == 0 {
		fmt.Fprintln(s.stdout, "no snapshots")
		return nil
	}
	tw := tabwriter.NewWriter(s.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tREASON\tPRODUCT\tLEVEL\tSIZE\tARCHIVE\tNEW\tFILES\tVERIFIED")
	for _, in := range list {
		if in.Incomplete {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t-\t-\tINCOMPLETE: %s\n", in.ID, in.Problem)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", in.ID, in.Created.Local().Format("2006-01-02 15:04:05"),
			in.Reason, orDash(productOf(in.Meta)), orDash(in.Meta["update_level"]), humanize.Bytes(in.Bytes),
			humanize.Bytes(in.ArchiveSize), humanize.Bytes(in.NewBytes), in.Files, verifiedText(in.Verified))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// SIZE is each snapshot's content, ARCHIVE what it weighs compressed,
	// NEW what it added to the store when it was made (content shared with
	// earlier snapshots is stored once).
	_, err = fmt.Fprintf(s.stdout, "store: %s in all for %d snapshots (%s of shared content in %d packs)\n",
		humanize.Bytes(usage.Bytes), len(list), humanize.Bytes(usage.PackBytes), usage.Packs)
	return err
}
