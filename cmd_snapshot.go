package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/hooks"
	"github.com/carbonguard/carbonguard/internal/humanize"
	"github.com/carbonguard/carbonguard/pack"
)

// keepDataPaths are the live paths snapshot restore --keep-data keeps: the
// embedded H2 databases, the Solr index and the logs, so that a rollback of
// code and configuration does not lose data written since the snapshot.
var keepDataPaths = []string{"repository/database", "solr/data", "repository/logs"}

// The operations a running server refuses (hints.go gives each its advice).
const (
	snapshotCreateOp  = "snapshot create"
	snapshotRestoreOp = "snapshot restore"
)

func snapshotCommand(e *env) *cli.Command {
	formatFlag := &cli.StringFlag{Name: "format", Value: "text", Usage: "text or json"}
	return &cli.Command{
		Name:  "snapshot",
		Usage: "verified snapshots of the whole pack: create, list, show, verify, diff, restore, prune",
		Description: `A snapshot is a compressed tar of the whole pack (zstd by default) plus a manifest with every
entry's path, type, mode, size, mtime, link target and SHA-256, the pack's product, version and
update level, the reason and the time. Snapshots live in the state directory under snapshots/<id>/,
outside the pack; the manifest is written last and marks a snapshot complete.

Restore unpacks into a staging directory beside the pack, verifies it against the manifest, and
swaps it in with renames recorded beforehand, so an interrupted restore is finished (or, if it had
not started swapping, undone) by the next snapshot command. The previous tree is kept beside the
pack as <pack>.displaced-<id>-<time> until snapshot drop-displaced.

` + exitStatusHelp,
		Subcommands: []*cli.Command{
			{
				Name:      "create",
				Usage:     "snapshot the whole pack",
				ArgsUsage: " ",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "reason", Value: "manual", Usage: "why: manual, pre-update, pre-rollback... (part of the id)"},
					&cli.StringSliceFlag{Name: "exclude", Usage: "leave out `PATH` (relative to the home; repeatable; e.g. repository/logs, tmp); adds to [snapshot] exclude"},
					&cli.StringFlag{Name: "compression", Usage: "zstd (default) or gzip; default from [snapshot] compression"},
					&cli.BoolFlag{Name: "allow-running", Usage: "snapshot even while the server runs (its databases and index may be inconsistent)"},
					&cli.BoolFlag{Name: "verify", Usage: "verify the snapshot after creating it"},
					&cli.BoolFlag{Name: "no-sync", Hidden: true, Usage: "skip fsync (benchmarks only: not crash-safe)"},
					formatFlag,
				},
				Action: func(c *cli.Context) error { return e.snapshotCreate(c) },
			},
			{
				Name:  "list",
				Usage: "list the snapshots: id, time, reason, product, update level, size, files, last verified",
				Flags: []cli.Flag{formatFlag},
				Action: func(c *cli.Context) error {
					s, _, err := e.snapshotSetup(c, "", false)
					if err != nil {
						return err
					}
					return e.snapshotList(c, s.store)
				},
			},
			{
				Name:      "show",
				Usage:     "show one snapshot's manifest summary (--entries for every entry)",
				ArgsUsage: "ID|latest",
				Flags:     []cli.Flag{formatFlag, &cli.BoolFlag{Name: "entries", Usage: "list every entry (text format)"}},
				Action:    func(c *cli.Context) error { return e.snapshotShow(c) },
			},
			{
				Name:      "verify",
				Usage:     "re-read a snapshot and check every entry against its manifest",
				ArgsUsage: "ID|latest",
				Flags:     []cli.Flag{formatFlag, &cli.BoolFlag{Name: "all", Usage: "verify every snapshot"}},
				Action:    func(c *cli.Context) error { return e.snapshotVerify(c) },
			},
			{
				Name:      "diff",
				Usage:     "added, removed and changed files between two snapshots, or a snapshot and the live pack",
				ArgsUsage: "ID|latest [ID2]",
				Flags:     []cli.Flag{formatFlag},
				Action:    func(c *cli.Context) error { return e.snapshotDiff(c) },
			},
			{
				Name:      "restore",
				Usage:     "restore a snapshot over the pack (staged, verified, swapped in with renames)",
				ArgsUsage: "ID|latest",
				Flags: []cli.Flag{
					&cli.StringSliceFlag{Name: "paths", Usage: "restore only `PATH` (relative to the home; repeatable), e.g. repository/deployment"},
					&cli.BoolFlag{Name: "keep-data", Usage: "keep the live " + strings.Join(keepDataPaths, ", ") + " (a code-and-config-only rollback)"},
					&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
					&cli.BoolFlag{Name: "no-sync", Hidden: true, Usage: "skip the syncfs before the swap (benchmarks only: not crash-safe)"},
					formatFlag,
				},
				Action: func(c *cli.Context) error { return e.snapshotRestore(c) },
			},
			{
				Name:  "prune",
				Usage: "remove snapshots beyond the retention (never the newest verified one, nor one an open update needs)",
				Flags: []cli.Flag{
					&cli.IntFlag{Name: "keep-last", Usage: "keep the newest `N` snapshots; default from [snapshot] keep_last"},
					&cli.StringFlag{Name: "keep-within", Usage: "keep snapshots younger than `AGE` (e.g. 30d, 12h); default from [snapshot] keep_within"},
					&cli.BoolFlag{Name: "dry-run", Usage: "say what would be removed, remove nothing"},
					formatFlag,
				},
				Action: func(c *cli.Context) error { return e.snapshotPrune(c) },
			},
			{
				Name:   "drop-displaced",
				Usage:  "remove the displaced trees earlier restores kept beside the pack",
				Flags:  []cli.Flag{formatFlag},
				Action: func(c *cli.Context) error { return e.snapshotDropDisplaced(c) },
			},
		},
	}
}

// snapSession is what every snapshot subcommand works with.
type snapSession struct {
	pack  *pack.Pack
	state string
	cfg   *fileConfig
	store *archive.Store
	log   zerolog.Logger
	lock  *hooks.Lock
}

func (s *snapSession) release() {
	if s.lock != nil {
		_ = s.lock.Release()
	}
}

// snapshotSetup opens the pack, its state and the store. With op set it
// takes the pack's lock and finishes or undoes an interrupted restore first.
func (e *env) snapshotSetup(c *cli.Context, op string, recoverFirst bool) (*snapSession, func(), error) {
	if f := c.String("format"); f != "" && f != "text" && f != "json" {
		return nil, nil, usagef("--format %q: use text or json", f)
	}
	log, err := e.logger(c)
	if err != nil {
		return nil, nil, err
	}
	p, err := e.openPack(c)
	if err != nil {
		return nil, nil, err
	}
	state, err := e.stateDir(c, p.Home)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := e.loadConfig(c, p.Home)
	if err != nil {
		return nil, nil, err
	}
	s := &snapSession{pack: p, state: state, cfg: cfg, log: log}
	if op != "" {
		if s.lock, err = hooks.AcquireLock(state, op); err != nil {
			return nil, nil, err
		}
	}
	s.store, err = archive.OpenStore(filepath.Join(state, "snapshots"), log)
	if err != nil {
		s.release()
		return nil, nil, err
	}
	if recoverFirst {
		rr, err := s.store.Recover(c.Context)
		if err != nil {
			s.release()
			return nil, nil, fmt.Errorf("finishing an interrupted restore first: %w", err)
		}
		switch rr.Outcome {
		case archive.RecoveryFinished:
			fmt.Fprintf(e.stderr, "carbonguard: an interrupted restore of snapshot %s into %s was found and finished\n", rr.ID, rr.Target)
		case archive.RecoveryUndone:
			fmt.Fprintf(e.stderr, "carbonguard: an interrupted restore of snapshot %s into %s was found before its swap and undone; the pack was not touched\n", rr.ID, rr.Target)
		}
	}
	return s, s.release, nil
}

// signalContext cancels on SIGINT and SIGTERM so that a partial snapshot or
// staging directory is removed before exiting (exit status 7).
func signalContext(parent context.Context) (context.Context, context.CancelFunc) {
	if parent == nil {
		parent = context.Background()
	}
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}

func (e *env) refuseRunning(p *pack.Pack, op string) error {
	pid, running, err := p.RunningPID()
	if err != nil {
		return fmt.Errorf("checking whether the server runs: %w", err)
	}
	if running {
		return &pack.ServerRunningError{PID: pid, Op: op,
			Why: "the embedded H2 databases and the Solr index are written while it runs and would be captured or replaced half-way (inconsistent)"}
	}
	return nil
}

func (e *env) snapshotCreate(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return usagef("snapshot create takes no arguments (got %q)", c.Args().First())
	}
	s, done, err := e.snapshotSetup(c, "snapshot create", true)
	if err != nil {
		return err
	}
	defer done()
	if !c.Bool("allow-running") {
		if err := e.refuseRunning(s.pack, snapshotCreateOp); err != nil {
			return err
		}
	}
	comp := c.String("compression")
	if comp == "" {
		comp = s.cfg.Snapshot.Compression
	}
	if comp != "" && comp != archive.CompressionZstd && comp != archive.CompressionGzip {
		return usagef("compression %q: use zstd or gzip", comp)
	}
	ctx, cancel := signalContext(c.Context)
	defer cancel()
	bar := e.progressBar(c)
	m, err := s.store.Create(ctx, s.pack.Home, archive.CreateOptions{
		Reason:      c.String("reason"),
		Meta:        packMeta(s.pack),
		Exclude:     append(append([]string{}, s.cfg.Snapshot.Exclude...), c.StringSlice("exclude")...),
		Compression: comp,
		ToolVersion: version,
		NoSync:      c.Bool("no-sync"),
		Progress:    bar.update,
	})
	bar.close()
	if err != nil {
		var ue *archive.UsageError
		if errors.As(err, &ue) {
			return usagef("%v", err)
		}
		return err
	}
	var vr *archive.VerifyReport
	if c.Bool("verify") {
		bar := e.progressBar(c)
		vr, err = s.store.Verify(ctx, m.ID, bar.update)
		bar.close()
		if err != nil {
			return err
		}
	}
	if c.String("format") == "json" {
		return writeJSON(e.stdout, struct {
			SchemaVersion int                   `json:"schema_version"`
			Snapshot      archive.Info          `json:"snapshot"`
			Verified      *archive.VerifyReport `json:"verified,omitempty"`
		}{1, infoOf(m), vr})
	}
	fmt.Fprintf(e.stdout, "snapshot %s created: %d entries, %s in %d files, archive %s (%s)\n",
		m.ID, len(m.Entries), humanize.Bytes(m.Bytes), m.Files, humanize.Bytes(m.ArchiveSize), m.Compression)
	if vr != nil {
		fmt.Fprintf(e.stdout, "snapshot %s verified: %d entries, %s\n", m.ID, vr.Entries, humanize.Bytes(vr.Bytes))
	}
	return nil
}

// packMeta is what the manifest records about the pack.
func packMeta(p *pack.Pack) map[string]string {
	m := map[string]string{"product": string(p.Product), "home": p.Home}
	if p.Version != "" {
		m["version"] = p.Version
	}
	if p.ProductCode != "" {
		m["product_code"] = p.ProductCode
	}
	if p.UpdateLevelKnown {
		m["update_level"] = strconv.Itoa(p.UpdateLevel)
	}
	return m
}

func infoOf(m *archive.Manifest) archive.Info {
	return archive.Info{ID: m.ID, Created: m.Created, Reason: m.Reason, Meta: m.Meta, Compression: m.Compression,
		ArchiveSize: m.ArchiveSize, Bytes: m.Bytes, Files: m.Files, Entries: len(m.Entries)}
}

func (e *env) snapshotList(c *cli.Context, store *archive.Store) error {
	list, err := store.List()
	if err != nil {
		return err
	}
	if c.String("format") == "json" {
		if list == nil {
			list = []archive.Info{}
		}
		return writeJSON(e.stdout, struct {
			SchemaVersion int            `json:"schema_version"`
			Snapshots     []archive.Info `json:"snapshots"`
		}{1, list})
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "no snapshots")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tREASON\tPRODUCT\tLEVEL\tSIZE\tARCHIVE\tFILES\tVERIFIED")
	for _, in := range list {
		if in.Incomplete {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t-\tINCOMPLETE: %s\n", in.ID, in.Problem)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", in.ID, in.Created.Local().Format("2006-01-02 15:04:05"),
			in.Reason, orDashStr(productOf(in.Meta)), orDashStr(in.Meta["update_level"]), humanize.Bytes(in.Bytes),
			humanize.Bytes(in.ArchiveSize), in.Files, verifiedText(in.Verified))
	}
	return tw.Flush()
}

func productOf(meta map[string]string) string {
	if meta["product"] == "" {
		return ""
	}
	if meta["version"] != "" {
		return meta["product"] + " " + meta["version"]
	}
	return meta["product"]
}

func verifiedText(v *archive.VerifyRecord) string {
	switch {
	case v == nil:
		return "never"
	case v.OK:
		return "ok " + v.At.Local().Format("2006-01-02 15:04")
	default:
		return strings.ToUpper(v.Kind) + " " + v.At.Local().Format("2006-01-02 15:04")
	}
}

func orDashStr(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneArg(c *cli.Context, what string) (string, error) {
	if err := flagsFirst(c, what); err != nil {
		return "", err
	}
	if c.Args().Len() != 1 {
		return "", usagef("snapshot %s needs exactly one snapshot ID, or latest (snapshot list shows them)", what)
	}
	return c.Args().First(), nil
}

// flagsFirst explains urfave/cli's rule that flags come before arguments,
// instead of a confusing "needs one ID" for "restore ID --yes".
func flagsFirst(c *cli.Context, what string) error {
	for _, a := range c.Args().Slice()[min(1, c.Args().Len()):] {
		if strings.HasPrefix(a, "-") {
			return usagef("snapshot %s: flags go before the snapshot ID (write: snapshot %s %s %s)", what, what, a, c.Args().First())
		}
	}
	return nil
}

// resolveID turns "latest" into the newest complete snapshot's id.
func resolveID(store *archive.Store, id string) (string, error) {
	if id != "latest" {
		return id, nil
	}
	list, err := store.List()
	if err != nil {
		return "", err
	}
	for i := len(list) - 1; i >= 0; i-- {
		if !list[i].Incomplete {
			return list[i].ID, nil
		}
	}
	return "", usagef("there are no snapshots yet (snapshot create takes one)")
}

func (e *env) snapshotShow(c *cli.Context) error {
	id, err := oneArg(c, "show")
	if err != nil {
		return err
	}
	s, done, err := e.snapshotSetup(c, "", false)
	if err != nil {
		return err
	}
	defer done()
	if id, err = resolveID(s.store, id); err != nil {
		return err
	}
	m, err := s.store.Show(id)
	if err != nil {
		return err
	}
	vr, _ := s.store.LastVerified(id)
	if c.String("format") == "json" {
		return writeJSON(e.stdout, struct {
			*archive.Manifest
			Verified *archive.VerifyRecord `json:"last_verified,omitempty"`
		}{m, vr})
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	rows := [][2]string{
		{"id", m.ID}, {"created", m.Created.Local().Format(time.RFC3339)}, {"reason", m.Reason},
		{"root", m.Root}, {"product", orDashStr(productOf(m.Meta))}, {"update level", orDashStr(m.Meta["update_level"])},
		{"entries", strconv.Itoa(len(m.Entries))}, {"files", strconv.Itoa(m.Files)}, {"content", humanize.Bytes(m.Bytes)},
		{"archive", fmt.Sprintf("%s (%s, %s)", m.Archive, m.Compression, humanize.Bytes(m.ArchiveSize))},
		{"excluded", orDashStr(strings.Join(m.Exclude, ", "))}, {"tool version", orDashStr(m.ToolVersion)},
		{"last verified", verifiedText(vr)},
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], r[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if c.Bool("entries") {
		fmt.Fprintln(e.stdout)
		tw = tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TYPE\tMODE\tSIZE\tMTIME\tPATH")
		for _, en := range m.Entries {
			p := en.Path
			if en.Link != "" {
				p += " -> " + en.Link
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", en.Type, en.Mode, en.Size, en.MTime.Local().Format("2006-01-02 15:04:05"), p)
		}
		return tw.Flush()
	}
	return nil
}

func (e *env) snapshotVerify(c *cli.Context) error {
	if err := flagsFirst(c, "verify"); err != nil {
		return err
	}
	all := c.Bool("all")
	if all == (c.Args().Len() == 1) || c.Args().Len() > 1 {
		return usagef("snapshot verify needs one snapshot ID, or --all")
	}
	s, done, err := e.snapshotSetup(c, "", false)
	if err != nil {
		return err
	}
	defer done()
	first, err := resolveID(s.store, c.Args().First())
	if err != nil && !all {
		return err
	}
	ids := []string{first}
	if all {
		list, err := s.store.List()
		if err != nil {
			return err
		}
		ids = ids[:0]
		for _, in := range list {
			ids = append(ids, in.ID)
		}
	}
	ctx, cancel := signalContext(c.Context)
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
		bar := e.progressBar(c)
		rep, err := s.store.Verify(ctx, id, bar.update)
		bar.close()
		r := result{ID: id, OK: err == nil, Report: rep}
		if err != nil {
			if errors.Is(err, context.Canceled) || (!all && !isSnapshotVerdict(err)) {
				return err
			}
			r.Error = err.Error()
			r.Kind = verdictKind(err)
			if worst == nil || (r.Kind == "corrupt" && verdictKind(worst) != "corrupt") {
				worst = err
			}
		}
		results = append(results, r)
		if c.String("format") != "json" {
			if err != nil {
				fmt.Fprintf(e.stdout, "%s: %s: %v\n", id, strings.ToUpper(r.Kind), err)
			} else {
				fmt.Fprintf(e.stdout, "%s: ok (%d entries, %s in %s)\n", id, rep.Entries, humanize.Bytes(rep.Bytes), rep.Took.Round(time.Millisecond))
			}
		}
	}
	if c.String("format") == "json" {
		if results == nil {
			results = []result{}
		}
		if err := writeJSON(e.stdout, struct {
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
		if !all {
			return worst
		}
		// The per-snapshot lines said it all; the status says the worst.
		return codeError{code: classify(worst)}
	}
	return nil
}

func isSnapshotVerdict(err error) bool { return verdictKind(err) != "" }

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

func (e *env) snapshotDiff(c *cli.Context) error {
	if err := flagsFirst(c, "diff"); err != nil {
		return err
	}
	if c.Args().Len() < 1 || c.Args().Len() > 2 {
		return usagef("snapshot diff needs a snapshot ID, and optionally a second one (without it: the live pack)")
	}
	s, done, err := e.snapshotSetup(c, "", false)
	if err != nil {
		return err
	}
	defer done()
	a, err := resolveID(s.store, c.Args().Get(0))
	if err != nil {
		return err
	}
	var d *archive.DiffReport
	if c.Args().Len() == 2 {
		b, err := resolveID(s.store, c.Args().Get(1))
		if err != nil {
			return err
		}
		d, err = s.store.Diff(c.Context, a, b)
		if err != nil {
			return err
		}
	} else {
		d, err = s.store.DiffLive(c.Context, a, s.pack.Home)
	}
	if err != nil {
		return err
	}
	if c.String("format") == "json" {
		return writeJSON(e.stdout, struct {
			SchemaVersion int `json:"schema_version"`
			*archive.DiffReport
		}{1, d})
	}
	w := bufio.NewWriter(e.stdout)
	fmt.Fprintf(w, "from %s to %s: %d added, %d removed, %d changed\n", d.A, d.B, len(d.Added), len(d.Removed), len(d.Changed))
	for _, ch := range d.Added {
		fmt.Fprintf(w, "+ %s%s\n", ch.Path, dirSlash(ch.Type))
	}
	for _, ch := range d.Removed {
		fmt.Fprintf(w, "- %s%s\n", ch.Path, dirSlash(ch.Type))
	}
	for _, ch := range d.Changed {
		fmt.Fprintf(w, "~ %s%s (%s)\n", ch.Path, dirSlash(ch.Type), strings.Join(ch.What, ", "))
	}
	return w.Flush()
}

func dirSlash(t string) string {
	if t == archive.TypeDir {
		return "/"
	}
	return ""
}

func (e *env) snapshotRestore(c *cli.Context) error {
	id, err := oneArg(c, "restore")
	if err != nil {
		return err
	}
	paths := c.StringSlice("paths")
	if len(paths) > 0 && c.Bool("keep-data") {
		return usagef("--keep-data applies to a whole-pack restore; with --paths the rest of the pack is untouched anyway")
	}
	s, done, err := e.snapshotSetup(c, "snapshot restore", true)
	if err != nil {
		return err
	}
	defer done()
	if err := e.refuseRunning(s.pack, snapshotRestoreOp); err != nil {
		return err
	}
	if id, err = resolveID(s.store, id); err != nil {
		return err
	}
	m, err := s.store.Show(id)
	if err != nil {
		return err
	}
	if !c.Bool("yes") {
		what := "the whole pack " + s.pack.Home
		if len(paths) > 0 {
			what = strings.Join(paths, ", ") + " in " + s.pack.Home
		}
		ok, err := e.confirm(fmt.Sprintf("restore snapshot %s (%s, %s) over %s?", m.ID, m.Created.Local().Format("2006-01-02 15:04"), orDashStr(productOf(m.Meta)), what))
		if err != nil {
			return err
		}
		if !ok {
			return codeError{code: exitUsage, err: errors.New("restore not confirmed; nothing was changed")}
		}
	}
	o := archive.RestoreOptions{Paths: paths, KeepDisplaced: true, NoSync: c.Bool("no-sync")}
	if c.Bool("keep-data") {
		o.Keep = keepDataPaths
	}
	ctx, cancel := signalContext(c.Context)
	defer cancel()
	bar := e.progressBar(c)
	o.Progress = bar.update
	rep, err := s.store.Restore(ctx, id, s.pack.Home, o)
	bar.close()
	if err != nil {
		var ue *archive.UsageError
		if errors.As(err, &ue) {
			return usagef("%v", err)
		}
		return err
	}
	if c.String("format") == "json" {
		return writeJSON(e.stdout, struct {
			SchemaVersion int `json:"schema_version"`
			*archive.RestoreReport
		}{1, rep})
	}
	fmt.Fprintf(e.stdout, "restored snapshot %s into %s: %d entries, %s, verified against the manifest\n", rep.ID, rep.Target, rep.Entries, humanize.Bytes(rep.Bytes))
	if len(rep.Kept) > 0 {
		fmt.Fprintf(e.stdout, "kept the live %s\n", strings.Join(rep.Kept, ", "))
	}
	if rep.Displaced != "" {
		fmt.Fprintf(e.stdout, "the previous tree is kept at %s; remove it with: carbonguard snapshot drop-displaced\n", rep.Displaced)
	}
	return nil
}

// confirm asks on the terminal; without one it refuses (use --yes).
func (e *env) confirm(question string) (bool, error) {
	in, ok := e.stdin.(*os.File)
	if !ok || !isTerminal(in) || !isTerminal(e.stderr) {
		return false, usagef("restore replaces files of the pack and needs confirmation: pass --yes")
	}
	fmt.Fprintf(e.stderr, "%s [y/N] ", question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && err != io.EOF {
		return false, err
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}

func (e *env) snapshotPrune(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return usagef("snapshot prune takes no arguments (got %q)", c.Args().First())
	}
	s, done, err := e.snapshotSetup(c, "snapshot prune", false)
	if err != nil {
		return err
	}
	defer done()
	o := archive.PruneOptions{KeepLast: s.cfg.Snapshot.KeepLast, KeepWithin: s.cfg.Snapshot.KeepWithin.Duration, DryRun: c.Bool("dry-run")}
	if c.IsSet("keep-last") {
		o.KeepLast = c.Int("keep-last")
	}
	if v := c.String("keep-within"); v != "" {
		var d duration
		if err := d.UnmarshalText([]byte(v)); err != nil {
			return usagef("--keep-within: %v", err)
		}
		o.KeepWithin = d.Duration
	}
	if o.KeepLast < 0 {
		return usagef("--keep-last %d: must not be negative", o.KeepLast)
	}
	if o.KeepLast == 0 && o.KeepWithin == 0 {
		return usagef("snapshot prune needs a retention: --keep-last N and/or --keep-within AGE (or [snapshot] keep_last / keep_within in carbonguard.toml)")
	}
	// Never the snapshots an open update transaction depends on.
	protect, err := hooks.ProtectedSnapshots(s.state)
	if err != nil {
		return fmt.Errorf("reading the update journal: %w", err)
	}
	o.Protect = append(o.Protect, protect...)
	rep, err := s.store.Prune(o)
	if err != nil {
		var ue *archive.UsageError
		if errors.As(err, &ue) {
			return usagef("%v", err)
		}
		return err
	}
	if c.String("format") == "json" {
		return writeJSON(e.stdout, struct {
			SchemaVersion int `json:"schema_version"`
			*archive.PruneReport
		}{1, rep})
	}
	verb := "removed"
	if rep.DryRun {
		verb = "would remove"
	}
	for _, d := range rep.Removed {
		fmt.Fprintf(e.stdout, "%s %s: %s\n", verb, d.ID, d.Reason)
	}
	for _, d := range rep.Kept {
		fmt.Fprintf(e.stdout, "keep %s: %s\n", d.ID, d.Reason)
	}
	return nil
}

func (e *env) snapshotDropDisplaced(c *cli.Context) error {
	s, done, err := e.snapshotSetup(c, "snapshot drop-displaced", true)
	if err != nil {
		return err
	}
	defer done()
	dropped, err := s.store.DropDisplaced(s.pack.Home)
	if err != nil {
		return err
	}
	if c.String("format") == "json" {
		if dropped == nil {
			dropped = []string{}
		}
		return writeJSON(e.stdout, struct {
			SchemaVersion int      `json:"schema_version"`
			Removed       []string `json:"removed"`
		}{1, dropped})
	}
	if len(dropped) == 0 {
		fmt.Fprintln(e.stdout, "no displaced trees")
	}
	for _, p := range dropped {
		fmt.Fprintf(e.stdout, "removed %s\n", p)
	}
	return nil
}

// progressBar draws on stderr when it is a terminal and --quiet is off;
// otherwise it draws nothing.
type progressBar struct {
	w     io.Writer
	drawn bool
}

func (e *env) progressBar(c *cli.Context) *progressBar {
	if c.Bool("quiet") || !isTerminal(e.stderr) {
		return &progressBar{}
	}
	return &progressBar{w: e.stderr}
}

func (b *progressBar) update(p archive.Progress) {
	if b.w == nil {
		return
	}
	pct := ""
	if p.TotalBytes > 0 {
		pct = fmt.Sprintf(" %3d%%", min(100, p.Bytes*100/p.TotalBytes))
	}
	eta := ""
	if p.ETA > 0 && !p.Done {
		eta = " ETA " + p.ETA.Round(time.Second).String()
	}
	fmt.Fprintf(b.w, "\r%-8s %s / %s%s  %d/%d files  %s/s%s\033[K", p.Op, humanize.Bytes(p.Bytes), humanize.Bytes(p.TotalBytes), pct,
		p.Files, p.TotalFiles, humanize.Bytes(int64(p.Rate)), eta)
	b.drawn = true
}

func (b *progressBar) close() {
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}
