package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/internal/humanize"
)

func snapshotRestoreCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "restore a snapshot over the pack (staged, verified, swapped in with renames)",
		ArgsUsage: "ID|latest",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "paths", Usage: "restore only `PATH` (relative to the home; repeatable), e.g. repository/deployment"},
			&cli.BoolFlag{Name: "keep-data", Usage: "keep the live " + strings.Join(keepDataPaths, ", ") + " (a code-and-config-only rollback)"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
			&cli.BoolFlag{Name: "no-sync", Hidden: true, Usage: "skip the syncfs before the swap (benchmarks only: not crash-safe)"},
			textOrJSON.flag(),
		},
		Action: action(e, snapshotNeeds, newSnapshotRestoreOptions, runSnapshotRestore),
	}
}

type snapshotRestoreOptions struct {
	format   string
	id       string // or "latest"
	paths    []string
	keepData bool
	yes      bool
	noSync   bool
}

func newSnapshotRestoreOptions(c *cli.Context, _ *session) (snapshotRestoreOptions, error) {
	id, err := oneArg(c, "restore")
	if err != nil {
		return snapshotRestoreOptions{}, err
	}
	o := snapshotRestoreOptions{id: id, paths: c.StringSlice("paths"), keepData: c.Bool("keep-data"), yes: c.Bool("yes"), noSync: c.Bool("no-sync")}
	if len(o.paths) > 0 && o.keepData {
		return o, usagef("--keep-data applies to a whole-pack restore; with --paths the rest of the pack is untouched anyway")
	}
	o.format, err = textOrJSON.of(c)
	return o, err
}

func runSnapshotRestore(ctx context.Context, s *session, o snapshotRestoreOptions) error {
	store, release, err := s.snapshotStore(ctx, snapshotRestoreOp, true)
	if err != nil {
		return err
	}
	defer release()
	if err := refuseRunning(s.pack, snapshotRestoreOp); err != nil {
		return err
	}
	id, err := resolveID(store, o.id)
	if err != nil {
		return err
	}
	m, err := store.Show(id)
	if err != nil {
		return err
	}
	if !o.yes {
		what := "the whole pack " + s.pack.Home
		if len(o.paths) > 0 {
			what = strings.Join(o.paths, ", ") + " in " + s.pack.Home
		}
		ok, err := s.confirm(fmt.Sprintf("restore snapshot %s (%s, %s) over %s?", m.ID, m.Created.Local().Format("2006-01-02 15:04"), orDash(productOf(m.Meta)), what))
		if err != nil {
			return err
		}
		if !ok {
			return codeError{code: exitUsage, err: errors.New("restore not confirmed; nothing was changed")}
		}
	}
	ro := archive.RestoreOptions{Paths: o.paths, KeepDisplaced: true, NoSync: o.noSync}
	if o.keepData {
		ro.Keep = keepDataPaths
	}
	ctx, cancel := signalContext(ctx)
	defer cancel()
	bar := s.progressBar()
	ro.Progress = bar.update
	rep, err := store.Restore(ctx, id, s.pack.Home, ro)
	bar.close()
	if err != nil {
		return err
	}
	if o.format == "json" {
		return writeJSON(s.stdout, struct {
			SchemaVersion int `json:"schema_version"`
			*archive.RestoreReport
		}{1, rep})
	}
	fmt.Fprintf(s.stdout, "restored snapshot %s into %s: %d entries, %s, verified against the manifest\n", rep.ID, rep.Target, rep.Entries, humanize.Bytes(rep.Bytes))
	if len(rep.Kept) > 0 {
		kept := make([]string, len(rep.Kept))
		for i, k := range rep.Kept {
			kept[i] = printableName(k)
		}
		fmt.Fprintf(s.stdout, "kept the live %s\n", strings.Join(kept, ", "))
	}
	if rep.Displaced != "" {
		fmt.Fprintf(s.stdout, "the previous tree is kept at %s; remove it with: carbonguard snapshot drop-displaced\n", rep.Displaced)
	}
	return nil
}
