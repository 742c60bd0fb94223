package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/hooks"
	"github.com/carbonguard/carbonguard/internal/humanize"
)

// snapshotPullOp is the lock's operation while a pull imports.
const snapshotPullOp = "snapshot pull"

func snapshotPullCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "pull",
		Usage: "copy a snapshot back from the restic repository of [remote] into the state directory",
		Description: `Rebuilds the snapshot locally under its own ID from what snapshot push sent (manifest,
database dumps, tar stream), checks every entry and byte against its manifest and the stream's
length and SHA-256 against what was pushed, and lists it only then. It needs no pack: at a DR
site, give the state directory (--state) and then lay the pack down with
snapshot restore --target DIR ID.
`,
		ArgsUsage: "ID",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "pack", Usage: "the pack `NAME` (its home's base name) when several packs pushed the same ID"},
			textOrJSON.flag(),
		},
		Action: action(e, needs{config: true, state: true, pack: noPack}, newSnapshotPullOptions, runSnapshotPull),
	}
}

type snapshotPullOptions struct {
	format, id, pack string
}

func newSnapshotPullOptions(c *cli.Context, _ *session) (snapshotPullOptions, error) {
	format, err := textOrJSON.of(c)
	if err != nil {
		return snapshotPullOptions{}, err
	}
	if err := flagsFirst(c, "pull"); err != nil {
		return snapshotPullOptions{}, err
	}
	if c.Args().Len() != 1 {
		return snapshotPullOptions{}, usagef("snapshot pull needs exactly one snapshot ID (snapshot list --remote shows them)")
	}
	return snapshotPullOptions{format: format, id: c.Args().First(), pack: c.String("pack")}, nil
}

func runSnapshotPull(ctx context.Context, s *session, o snapshotPullOptions) error {
	repo, err := s.remoteRepo()
	if err != nil {
		return err
	}
	lock, err := hooks.AcquireLock(s.state, snapshotPullOp)
	if err != nil {
		return err
	}
	defer lock.Release()
	store, err := s.store()
	if err != nil {
		return err
	}
	ctx, cancel := signalContext(ctx)
	defer cancel()
	snap, err := repo.Find(ctx, o.pack, o.id)
	if err != nil {
		return err
	}
	bar := s.progressBar()
	m, err := repo.PullSnapshot(ctx, store, snap, s.state, archive.ImportOptions{Progress: bar.update})
	bar.close()
	if err != nil {
		return err
	}
	if o.format == "json" {
		return writeJSON(s.stdout, struct {
			SchemaVersion int          `json:"schema_version"`
			Snapshot      archive.Info `json:"snapshot"`
			From          string       `json:"from"`
		}{1, infoOf(m), repo.Repository()})
	}
	fmt.Fprintf(s.stdout, "pulled snapshot %s from %s (pushed by %s from %s): %d entries, %s, verified against its manifest\n",
		m.ID, repo.Repository(), orDash(snap.Host), orDash(snap.Home), m.Entries, humanize.Bytes(m.Bytes))
	for _, a := range dumpsOf(m) {
		fmt.Fprintf(s.stdout, "  with the database dump %s (%s)\n", a.Name, humanize.Bytes(a.Size))
	}
	return nil
}
