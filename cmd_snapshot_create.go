package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/internal/humanize"
)

func snapshotCreateCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "snapshot the whole pack",
		ArgsUsage: " ",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "reason", Value: "manual", Usage: "why: manual, pre-update, pre-rollback... (part of the id)"},
			&cli.StringSliceFlag{Name: "exclude", Usage: "leave out `PATH` (relative to the home; repeatable; e.g. repository/logs, tmp); adds to [snapshot] exclude"},
			&cli.StringFlag{Name: "compression", Usage: "zstd (default) or gzip; default from [snapshot] compression"},
			&cli.BoolFlag{Name: "allow-running", Usage: "snapshot even while the server runs (its databases and index may be inconsistent)"},
			&cli.BoolFlag{Name: "verify", Usage: "verify the snapshot after creating it"},
			&cli.BoolFlag{Name: "with-databases", Usage: "dump every [[snapshot.database]] into the snapshot too (pre-update snapshots always do)"},
			&cli.BoolFlag{Name: "reread", Usage: "read every file (by default a file unchanged since the newest verified snapshot, by size, mode, owner, times, inode and device, is not read again)"},
			&cli.BoolFlag{Name: "no-sync", Hidden: true, Usage: "skip fsync (benchmarks only: not crash-safe)"},
			textOrJSON.flag(),
		},
		Action: action(e, snapshotNeeds, newSnapshotCreateOptions, runSnapshotCreate),
	}
}

type snapshotCreateOptions struct {
	format       string
	reason       string
	exclude      []string // [snapshot] exclude, then --exclude
	compression  string
	allowRunning bool
	verify       bool
	withDBs      bool
	reread       bool
	noSync       bool
}

func newSnapshotCreateOptions(c *cli.Context, s *session) (snapshotCreateOptions, error) {
	format, err := textOrJSON.of(c)
	if err != nil {
		return snapshotCreateOptions{}, err
	}
	if err := noArgs(c, "snapshot create"); err != nil {
		return snapshotCreateOptions{}, err
	}
	o := snapshotCreateOptions{
		format: format, reason: c.String("reason"),
		exclude:     append(append([]string{}, s.cfg.Snapshot.Exclude...), c.StringSlice("exclude")...),
		compression: c.String("compression"), allowRunning: c.Bool("allow-running"), verify: c.Bool("verify"), withDBs: c.Bool("with-databases"), reread: c.Bool("reread"), noSync: c.Bool("no-sync"),
	}
	if o.compression == "" {
		o.compression = s.cfg.Snapshot.Compression
	}
	if o.compression != "" && o.compression != archive.CompressionZstd && o.compression != archive.CompressionGzip {
		return o, usagef("compression %q: use zstd or gzip", o.compression)
	}
	if o.withDBs && len(s.cfg.Snapshot.Databases) == 0 {
		return o, usagef("--with-databases: carbonguard.toml has no [[snapshot.database]] entry to dump")
	}
	return o, nil
}

func runSnapshotCreate(ctx context.Context, s *session, o snapshotCreateOptions) error {
	store, release, err := s.snapshotStore(ctx, snapshotCreateOp, true)
	if err != nil {
		return err
	}
	defer release()
	if !o.allowRunning {
		if err := refuseRunning(s.pack, snapshotCreateOp); err != nil {
			return err
		}
	}
	ctx, cancel := signalContext(ctx)
	defer cancel()
	meta := packMeta(s.pack)
	var attach []archive.AttachmentSource
	if o.withDBs {
		if attach, err = s.databaseAttachments(s.pack, meta); err != nil {
			return err
		}
	}
	bar := s.progressBar()
	m, err := store.Create(ctx, s.pack.Home, archive.CreateOptions{
		Reason:      o.reason,
		Meta:        meta,
		Attachments: attach,
		Exclude:     o.exclude,
		Compression: o.compression,
		ToolVersion: version,
		Reread:      o.reread,
		NoSync:      o.noSync,
		Progress:    bar.update,
	})
	bar.close()
	if err != nil {
		return err
	}
	var vr *archive.VerifyReport
	if o.verify {
		bar := s.progressBar()
		vr, err = store.Verify(ctx, m.ID, bar.update)
		bar.close()
		if err != nil {
			return err
		}
	}
	pushErr := s.pushAfterCreate(ctx, store, m.ID)
	if o.format == "json" {
		if err := writeJSON(s.stdout, struct {
			SchemaVersion int                   `json:"schema_version"`
			Snapshot      archive.Info          `json:"snapshot"`
			Verified      *archive.VerifyReport `json:"verified,omitempty"`
		}{1, infoOf(m), vr}); err != nil {
			return err
		}
		return pushErr
	}
	fmt.Fprintf(s.stdout, "snapshot %s created: %d entries, %s in %d files, archive %s (%s)\n",
		m.ID, m.Entries, humanize.Bytes(m.Bytes), m.Files, humanize.Bytes(m.ArchiveSize), m.Compression)
	if m.Storage != "" {
		reused := ""
		if m.Parent != "" {
			reused = fmt.Sprintf("; %d files unchanged since %s, not read", m.Reused, m.Parent)
		}
		fmt.Fprintf(s.stdout, "added %s to the store%s\n", humanize.Bytes(m.NewBytes), reused)
	}
	for _, a := range dumpsOf(m) {
		fmt.Fprintf(s.stdout, "  with the database dump %s (%s)\n", a.Name, humanize.Bytes(a.Size))
	}
	if vr != nil {
		fmt.Fprintf(s.stdout, "snapshot %s verified: %d entries, %s\n", m.ID, vr.Entries, humanize.Bytes(vr.Bytes))
	}
	return pushErr
}
