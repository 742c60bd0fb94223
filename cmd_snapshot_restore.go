package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/hooks"
	"github.com/carbonguard/carbonguard/internal/humanize"
	"github.com/carbonguard/carbonguard/pack"
)

func snapshotRestoreCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "restore a snapshot over the pack (staged, verified, swapped in with renames)",
		ArgsUsage: "ID|latest",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "paths", Usage: "restore only `PATH` (relative to the home; repeatable), e.g. repository/deployment"},
			&cli.BoolFlag{Name: "keep-data", Usage: "keep the live " + strings.Join(keepDataPaths, ", ") + " (a code-and-config-only rollback)"},
			&cli.StringFlag{Name: "target", Usage: "lay the snapshot down in `DIR` instead of the pack's home (a DR site, a copy to inspect); DIR is created if missing, needs no pack"},
			&cli.BoolFlag{Name: "with-databases", Usage: "also restore the database dumps the snapshot holds, with the restore commands of [[snapshot.database]] (each asked for, unless --yes)"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
			&cli.BoolFlag{Name: "no-sync", Hidden: true, Usage: "skip the syncfs before the swap (benchmarks only: not crash-safe)"},
			textOrJSON.flag(),
		},
		Action: func(c *cli.Context) error {
			n := snapshotNeeds
			if c.String("target") != "" {
				// A restore elsewhere reads no pack at the home (a DR site has none yet).
				n.pack = noPack
			}
			return action(e, n, newSnapshotRestoreOptions, runSnapshotRestore)(c)
		},
	}
}

type snapshotRestoreOptions struct {
	format   string
	id       string // or "latest"
	paths    []string
	keepData bool
	target   string // "" = the pack's home
	withDBs  bool
	yes      bool
	noSync   bool
}

func newSnapshotRestoreOptions(c *cli.Context, _ *session) (snapshotRestoreOptions, error) {
	id, err := oneArg(c, "restore")
	if err != nil {
		return snapshotRestoreOptions{}, err
	}
	o := snapshotRestoreOptions{id: id, paths: c.StringSlice("paths"), keepData: c.Bool("keep-data"), yes: c.Bool("yes"), noSync: c.Bool("no-sync"),
		target: c.String("target"), withDBs: c.Bool("with-databases")}
	if o.target != "" {
		if o.target, err = filepath.Abs(o.target); err != nil {
			return o, err
		}
	}
	if len(o.paths) > 0 && o.keepData {
		return o, usagef("--keep-data applies to a whole-pack restore; with --paths the rest of the pack is untouched anyway")
	}
	o.format, err = textOrJSON.of(c)
	return o, err
}

func runSnapshotRestore(ctx context.Context, s *session, o snapshotRestoreOptions) error {
	if o.target != "" {
		return runSnapshotRestoreTarget(ctx, s, o)
	}
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
	if o.withDBs {
		return s.restoreDatabases(ctx, store, id, s.pack, o.yes)
	}
	return sayDumps(s, m)
}

// sayDumps tells that a restore left the snapshot's database dumps alone.
func sayDumps(s *session, m *archive.Manifest) error {
	if d := dumpsOf(m); len(d) > 0 {
		names := make([]string, len(d))
		for i, a := range d {
			names[i] = a.Name
		}
		fmt.Fprintf(s.stdout, "the snapshot also holds database dumps (%s); the databases were not touched (--with-databases restores them)\n", strings.Join(names, ", "))
	}
	return nil
}

// runSnapshotRestoreTarget lays a snapshot down in a directory other than
// the pack's home: at a DR site after snapshot pull, or to inspect a copy.
func runSnapshotRestoreTarget(ctx context.Context, s *session, o snapshotRestoreOptions) error {
	if len(o.paths) > 0 || o.keepData {
		return usagef("--target lays a whole snapshot down: --paths and --keep-data do not apply")
	}
	if inside(o.target, s.state) || inside(s.state, o.target) {
		return usagef("--target %s and the state directory %s must not contain each other", o.target, s.state)
	}
	lock, err := hooks.AcquireLock(s.state, snapshotRestoreOp)
	if err != nil {
		return err
	}
	defer lock.Release()
	store, err := s.store()
	if err != nil {
		return err
	}
	if _, err := store.Recover(ctx); err != nil {
		return fmt.Errorf("finishing an interrupted restore first: %w", err)
	}
	id, err := resolveID(store, o.id)
	if err != nil {
		return err
	}
	m, err := store.Show(id)
	if err != nil {
		return err
	}
	if err := os.Mkdir(o.target, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return usagef("--target %s: %v (its parent directory must exist)", o.target, err)
	}
	if !o.yes {
		ok, err := s.confirm(fmt.Sprintf("restore snapshot %s (%s, %s, taken from %s) into %s?", m.ID, m.Created.Local().Format("2006-01-02 15:04"),
			orDash(productOf(m.Meta)), m.Root, o.target))
		if err != nil {
			return err
		}
		if !ok {
			return codeError{code: exitUsage, err: errors.New("restore not confirmed; nothing was changed")}
		}
	}
	ctx, cancel := signalContext(ctx)
	defer cancel()
	bar := s.progressBar()
	rep, err := store.Restore(ctx, id, o.target, archive.RestoreOptions{KeepDisplaced: true, NoSync: o.noSync, Progress: bar.update})
	bar.close()
	if err != nil {
		return err
	}
	if o.format == "json" {
		if err := writeJSON(s.stdout, struct {
			SchemaVersion int `json:"schema_version"`
			*archive.RestoreReport
		}{1, rep}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(s.stdout, "restored snapshot %s into %s: %d entries, %s, verified against the manifest\n", rep.ID, rep.Target, rep.Entries, humanize.Bytes(rep.Bytes))
		if rep.Displaced != "" {
			fmt.Fprintf(s.stdout, "what was in %s is kept at %s\n", o.target, rep.Displaced)
		}
	}
	if !o.withDBs {
		return sayDumps(s, m)
	}
	// The restored pack's datasources, with [[snapshot.database]]'s
	// overrides (at a DR site: the DR database servers).
	p, err := pack.Open(o.target)
	if err != nil {
		return err
	}
	return s.restoreDatabases(ctx, store, id, p, o.yes)
}
