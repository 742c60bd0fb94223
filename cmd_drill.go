package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/clone"
	"github.com/carbonguard/carbonguard/drill"
	"github.com/carbonguard/carbonguard/internal/durable"
	"github.com/carbonguard/carbonguard/internal/humanize"
	"github.com/carbonguard/carbonguard/pack"
	"github.com/carbonguard/carbonguard/validate"
	"github.com/carbonguard/carbonguard/wrapper"
)

func drillCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "drill",
		Usage:     "prove that a snapshot restores and boots, and measure the RTO, while the live server runs on",
		ArgsUsage: "[SNAPSHOT|latest]",
		Description: `drill lays a snapshot (default: the newest verified one) down as a copy in a scratch directory,
never the live pack, checking every entry against the manifest as it is written; compares the copy
with the manifest bit for bit; runs the production checks on it; boots it through its own stock
startup script and judges the boot with the same verdict as start; stops it and removes it. The
live server keeps running and is never touched: not its PID file, ports, logs, lock, verdicts or
journal. The report says which level was reached (restored, verified, checked, booted) and the
measured RTO: restore time + boot time. The record is kept in <state>/drills/<id>/ with the copy's
verdict and evidence; history lists the drills and status shows the last one.

ISOLATION:
   The copy carries the live node's database URLs, cluster members, Traffic Manager, key manager
   and notification targets. As root (the default network "namespace") it boots in a network
   namespace of its own with only loopback up, keeping its own ports, and the verdict's probes run
   inside: it reaches nothing outside. Without root no namespace can be made, and the drill refuses
   to boot unless --network namespace-or-host or host accepts the host's network; the copy then
   runs at a free port offset, and can reach whatever the live node reaches.

DATABASES:
   A pack whose product databases are external (a datasource that is not embedded H2 inside the
   pack) is refused before anything is laid down, unless [drill] overrides in carbonguard.toml
   point them elsewhere (a fragment merged over the copy's deployment.toml, e.g. the DR databases
   or H2 inside the copy), or --no-boot is given: restore, verify and check only.

   [drill]
   network = "namespace"          # or "namespace-or-host", "host"
   scratch_dir = "/srv/drills"    # copies go to <dir>/<pack>-drill-<id>; default <state>/drills/<id>/pack
   timeout = "10m"                # the copy's boot verdict timeout; default [start] timeout
   [drill.overrides.database.apim_db]
   url = "jdbc:h2:./repository/database/WSO2AM_DB;DB_CLOSE_ON_EXIT=FALSE"

check reports CG-HOST-140 when no drill passed within [check] drill_max_age (default 30d).
`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "target", Usage: "lay the copy down at `DIR`, which must not exist (its parent must), outside the live pack"},
			&cli.BoolFlag{Name: "keep", Usage: "keep the copy for inspection (default: [drill] keep, else removed)"},
			&cli.BoolFlag{Name: "no-boot", Usage: "restore, verify and check the copy; do not boot it"},
			&cli.StringFlag{Name: "network", Usage: "where the copy boots: namespace, namespace-or-host or host (default: [drill] network, else namespace)"},
			&cli.DurationFlag{Name: "timeout", Usage: "the copy's boot verdict timeout (default: [drill] timeout, else [start] timeout, else 10m)"},
			textOrJSON.flag(),
		},
		Action: action(e, needs{config: true, state: true, pack: packConfig}, newDrillOptions, runDrill),
	}
}

type drillOptions struct {
	format   string
	snapshot string // "" = newest verified; "latest" = newest
	target   string
	keep     bool
	noBoot   bool
	network  clone.Network
	server   wrapper.Options
}

func newDrillOptions(c *cli.Context, s *session) (drillOptions, error) {
	if c.Args().Len() > 1 {
		return drillOptions{}, usagef("drill takes at most one snapshot ID (flags go before it)")
	}
	if a := c.Args().First(); c.Args().Len() == 1 && strings.HasPrefix(a, "-") {
		return drillOptions{}, usagef("drill: flags go before the snapshot ID (%s is not a snapshot)", a)
	}
	o := drillOptions{snapshot: c.Args().First(), target: c.String("target"), keep: c.Bool("keep") || s.cfg.Drill.Keep, noBoot: c.Bool("no-boot")}
	var err error
	if o.format, err = textOrJSON.of(c); err != nil {
		return o, err
	}
	net := s.cfg.Drill.Network
	if c.IsSet("network") {
		net = c.String("network")
	}
	if o.network, err = clone.ParseNetwork(net); err != nil {
		if c.IsSet("network") {
			return o, usagef("--network: %v", err)
		}
		return o, usagef("carbonguard.toml [drill] %v", err)
	}
	if o.target != "" {
		if o.target, err = filepath.Abs(o.target); err != nil {
			return o, err
		}
	}
	o.server = s.serverOptions()
	if t := s.cfg.Drill.Timeout.Duration; t > 0 {
		o.server.Timeout = t
	}
	if c.IsSet("timeout") {
		o.server.Timeout = c.Duration("timeout")
	}
	return o, nil
}

func runDrill(ctx context.Context, s *session, o drillOptions) error {
	args, err := wrapper.ScriptArgs(o.server)
	if err != nil {
		return usagef("carbonguard.toml [start]: %v", err)
	}
	live, err := s.openPack(pack.ScriptArgProps(args))
	if err != nil {
		return err
	}
	store, err := s.store()
	if err != nil {
		return err
	}
	snap := o.snapshot
	if snap == "latest" {
		if snap, err = resolveID(store, snap); err != nil {
			return err
		}
	}
	ctx, cancel := signalContext(ctx)
	defer cancel()
	bar := s.progressBar()
	rec, err := drill.Run(ctx, drill.Options{
		StateDir: s.state, Store: store, Snapshot: snap, Home: s.home, Live: live,
		Target: o.target, ScratchDir: s.cfg.Drill.ScratchDir, Keep: o.keep, NoBoot: o.noBoot,
		Overrides: s.cfg.Drill.Overrides,
		Boot:      clone.Options{Server: o.server, Network: o.network},
		Check:     s.drillCheck(),
		Progress:  bar.update,
		Logger:    s.log, ToolVersion: version,
	})
	bar.close()
	if rec != nil {
		var werr error
		if o.format == "json" {
			werr = writeJSON(s.stdout, struct {
				SchemaVersion int           `json:"schema_version"`
				Drill         *drill.Record `json:"drill"`
			}{1, rec})
		} else {
			werr = writeDrillText(s.stdout, rec)
		}
		if werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

// drillCheck runs the production checks on the copy, with the policy of
// carbonguard.toml, and keeps their JSON report in the drill's directory.
// They never stop a drill: the level "checked" says they ran.
func (s *session) drillCheck() drill.CheckFunc {
	return func(ctx context.Context, home, report string) (*drill.Check, error) {
		policy, err := checkPolicy(s.cfg, "", false)
		if err != nil {
			return nil, err
		}
		policy.ToolVersion, policy.Logger = version, s.log
		start, err := startFacts(s.cfg, s.getenv)
		if err != nil {
			return nil, err
		}
		p, err := pack.OpenWith(home, pack.Options{Logger: s.log})
		if err != nil {
			return nil, err
		}
		rep, blocked, err := validate.Gate(ctx, p, validate.GateOptions{Collect: validate.CollectOptions{Start: start, Logger: s.log}, Policy: policy})
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := rep.WriteJSON(&buf); err != nil {
			return nil, err
		}
		if err := durable.WriteFile(report, buf.Bytes(), 0o644); err != nil {
			return nil, err
		}
		summary := rep.SeveritySummary()
		if summary == "" {
			summary = "no findings"
		}
		return &drill.Check{Summary: summary, Blocked: blocked, Report: report}, nil
	}
}

// writeDrillText is the drill's report for people.
func writeDrillText(w io.Writer, r *drill.Record) error {
	var b strings.Builder
	verdict := map[string]string{drill.StatePassed: "PASSED", drill.StateFailed: "FAILED", drill.StateRefused: "REFUSED",
		drill.StateError: "ERROR", drill.StateInterrupted: "INTERRUPTED", drill.StateRunning: "RUNNING"}[r.State]
	fmt.Fprintf(&b, "drill %s of snapshot %s: %s\n", r.ID, orDash(r.Snapshot.ID), verdict)
	if r.Reason != "" {
		fmt.Fprintf(&b, "  %-10s %s\n", "outcome:", indentRest(r.Reason))
	}
	var reached []string
	for _, l := range drill.Levels {
		if r.Reached(l) {
			reached = append(reached, l)
		}
	}
	fmt.Fprintf(&b, "  %-10s %s\n", "level:", orDash(strings.Join(reached, ", ")))
	if !r.Snapshot.Created.IsZero() {
		fmt.Fprintf(&b, "  %-10s %s, %s, %s, %s\n", "snapshot:", r.Snapshot.ID, r.Snapshot.Reason, r.Snapshot.Created.Local().Format("2006-01-02 15:04"), orDash(productOf(r.Snapshot.Meta)))
	}
	if r.Restore != nil {
		fmt.Fprintf(&b, "  %-10s %d entries, %s in %s (sync %s) into %s\n", "restored:", r.Restore.Entries, humanize.Bytes(r.Restore.Bytes),
			ms(r.Restore.TookMS), ms(r.Restore.SyncMS), r.Copy)
	}
	if r.Verify != nil {
		if r.Verify.Count == 0 {
			fmt.Fprintf(&b, "  %-10s the copy matches the snapshot's manifest bit for bit (%s)\n", "verified:", ms(r.Verify.TookMS))
		} else {
			fmt.Fprintf(&b, "  %-10s %d difference(s) from the manifest: %s\n", "verified:", r.Verify.Count, strings.Join(r.Verify.Differences, "; "))
		}
	}
	if c := r.Check; c != nil {
		if c.Error != "" {
			fmt.Fprintf(&b, "  %-10s could not run: %s\n", "checked:", c.Error)
		} else {
			gate := ""
			if c.Blocked {
				gate = " (the start gate would refuse it, as it would the live pack)"
			}
			fmt.Fprintf(&b, "  %-10s %s%s in %s; report %s\n", "checked:", c.Summary, gate, ms(c.TookMS), c.Report)
		}
	}
	if bt := r.Boot; bt != nil && bt.Verdict != nil {
		v := bt.Verdict
		fmt.Fprintf(&b, "  %-10s %s in %s: %s\n", "booted:", strings.ToUpper(string(v.State)), ms(bt.BootMS), v.Reason)
		where := "its own network namespace (only loopback; nothing outside reachable)"
		if bt.Network != "namespace" {
			where = "the host's network (NOT isolated: " + bt.NoIsolation + ")"
		}
		fmt.Fprintf(&b, "  %-10s %s; port offset %d (%s)\n", "network:", where, bt.Offset, bt.OffsetFrom)
		for _, h := range v.Health {
			fmt.Fprintf(&b, "  %-10s %s %s\n", "health:", h.URL, map[bool]string{true: "OK", false: "NOT OK"}[h.OK])
		}
		if len(r.Overrides) > 0 {
			fmt.Fprintf(&b, "  %-10s %s\n", "overrides:", strings.Join(r.Overrides, ", "))
		}
		if v.State != wrapper.Up {
			for _, l := range v.Log.Tail {
				fmt.Fprintf(&b, "  %-10s %s\n", "log:", l)
			}
		}
	}
	if r.RTO != nil {
		fmt.Fprintf(&b, "  %-10s %s = restore %s + boot %s", "RTO:", ms(r.RTO.TotalMS), ms(r.RTO.RestoreMS), ms(r.RTO.BootMS))
		if r.RTO.ServingMS > 0 {
			fmt.Fprintf(&b, " (serving after %s)", ms(r.RTO.ServingMS))
		}
		b.WriteString("\n")
	}
	if r.Evidence != "" {
		fmt.Fprintf(&b, "  %-10s %s\n", "evidence:", r.Evidence)
	}
	copyState := "removed"
	switch {
	case !r.CopyCreated:
		copyState = "not laid down"
	case !r.Removed:
		copyState = "kept at " + r.Copy
	}
	fmt.Fprintf(&b, "  %-10s %s\n", "copy:", copyState)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "  %-10s %s\n", "note:", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func ms(n int64) string {
	return (time.Duration(n) * time.Millisecond).Round(10 * time.Millisecond).String()
}

func indentRest(s string) string { return strings.ReplaceAll(s, "\n", "\n             ") }

// drillHint says what to do after a drill that did not pass.
func drillHint(err error) string {
	var fe *drill.FailedError
	var re *drill.RefusedError
	var cr *clone.RefusedError
	switch {
	case errors.As(err, &cr) && len(cr.Datasources) > 0:
		return "point the copy elsewhere with [drill.overrides.database.<name>] in carbonguard.toml (the DR database, or H2 inside the copy), or run carbonguard drill --no-boot to restore, verify and check only"
	case errors.As(err, &cr) && cr.NoIsolation:
		return "run the drill as root (the server itself runs as [start] user), or accept the host's network with --network namespace-or-host (the copy can then reach what the live node reaches)"
	case errors.As(err, &re):
		return ""
	case errors.As(err, &fe) && fe.Record.Evidence != "":
		return "the copy's verdict is in " + filepath.Join(filepath.Dir(fe.Record.Evidence), "drill.json") + " and its console and boot log in " + fe.Record.Evidence + "; carbonguard drill --keep keeps the copy to look at"
	}
	return ""
}
