package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/hooks"
	"github.com/carbonguard/carbonguard/internal/humanize"
)

func snapshotPruneCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "remove snapshots beyond the retention (never the newest verified one, one an open update needs, nor one a running drill, rehearsal, verify or push reads)",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "keep-last", Usage: "keep the newest `N` snapshots; default from [snapshot] keep_last"},
			&cli.StringFlag{Name: "keep-within", Usage: "keep snapshots younger than `AGE` (e.g. 30d, 12h); default from [snapshot] keep_within"},
			&cli.BoolFlag{Name: "dry-run", Usage: "say what would be removed, remove nothing"},
			textOrJSON.flag(),
		},
		Action: action(e, snapshotNeeds, newSnapshotPruneOptions, runSnapshotPrune),
	}
}

type snapshotPruneOptions struct {
	format string
	prune  archive.PruneOptions // the retention: [snapshot] keep_last and keep_within, then the flags
}

func newSnapshotPruneOptions(c *cli.Context, s *session) (snapshotPruneOptions, error) {
	format, err := textOrJSON.of(c)
	if err != nil {
		return snapshotPruneOptions{}, err
	}
	if err := noArgs(c, "snapshot prune"); err != nil {
		return snapshotPruneOptions{}, err
	}
	o := snapshotPruneOptions{format: format, prune: archive.PruneOptions{
		KeepLast: s.cfg.Snapshot.KeepLast, KeepWithin: s.cfg.Snapshot.KeepWithin.Duration, DryRun: c.Bool("dry-run")}}
	if c.IsSet("keep-last") {
		o.prune.KeepLast = c.Int("keep-last")
	}
	if v := c.String("keep-within"); v != "" {
		var d duration
		if err := d.UnmarshalText([]byte(v)); err != nil {
			return o, usagef("--keep-within: %v", err)
		}
		o.prune.KeepWithin = d.Duration
	}
	if o.prune.KeepLast < 0 {
		return o, usagef("--keep-last %d: must not be negative", o.prune.KeepLast)
	}
	if o.prune.KeepLast == 0 && o.prune.KeepWithin == 0 {
		return o, usagef("snapshot prune needs a retention: --keep-last N and/or --keep-within AGE (or [snapshot] keep_last / keep_within in carbonguard.toml)")
	}
	return o, nil
}

func runSnapshotPrune(ctx context.Context, s *session, o snapshotPruneOptions) error {
	store, release, err := s.snapshotStore(ctx, "snapshot prune", false)
	if err != nil {
		return err
	}
	defer release()
	// Never the snapshots an open update transaction depends on.
	protect, err := hooks.ProtectedSnapshots(s.state)
	if err != nil {
		return fmt.Errorf("reading the update journal: %w", err)
	}
	po := o.prune
	po.Protect = append(po.Protect, protect...)
	rep, err := store.Prune(po)
	if err != nil {
		return err
	}
	if o.format == "json" {
		return writeJSON(s.stdout, struct {
			SchemaVersion int `json:"schema_version"`
			*archive.PruneReport
		}{1, rep})
	}
	verb := "removed"
	if rep.DryRun {
		verb = "would remove"
	}
	for _, d := range rep.Removed {
		fmt.Fprintf(s.stdout, "%s %s: %s\n", verb, d.ID, d.Reason)
	}
	for _, d := range rep.Kept {
		fmt.Fprintf(s.stdout, "keep %s: %s\n", d.ID, d.Reason)
	}
	if sw := rep.Swept; sw != nil && (sw.PacksRemoved > 0 || sw.PacksRepacked > 0) {
		fmt.Fprintf(s.stdout, "freed %s of content no kept snapshot needs (%d packs removed, %d rewritten)\n",
			humanize.Bytes(sw.BytesFreed), sw.PacksRemoved, sw.PacksRepacked)
	}
	if sw := rep.Swept; sw != nil && sw.PacksInUse > 0 {
		fmt.Fprintf(s.stdout, "left %d pack(s) as they are: a snapshot in use reads them (a later prune frees what else they hold)\n", sw.PacksInUse)
	}
	seen := map[string]bool{} // one line a process and snapshot (a drill's mark and its extract's)
	for _, l := range rep.StaleLeases {
		if k := fmt.Sprint(l.Snapshot, "/", l.PID); !seen[k] {
			seen[k] = true
			fmt.Fprintf(s.stdout, "cleared a stale in-use mark of %s by %s: %s\n", l.Snapshot, l, l.Stale)
		}
	}
	return nil
}
