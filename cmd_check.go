package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/drill"
	"github.com/carbonguard/carbonguard/internal/durable"
	"github.com/carbonguard/carbonguard/pack"
	"github.com/carbonguard/carbonguard/validate"
)

func checkCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "check the pack and its host against WSO2's production checklist",
		ArgsUsage: " ",
		Description: `check reads the pack (read-only) and the host, runs every check of the registry
(carbonguard checks lists them; docs/checks.md explains each) and prints a report: findings
grouped by category with the file and line, the effective value and where it came from, and the
fix. Results are pass, fail, skipped (with the reason), not applicable, or unknown (a fact could
not be read, or a value is externalised with $secret{}, $env{}, $sys{} or {{ }}).

The checks judge the launch carbonguard's wrapped start would make: carbonguard.toml's [start]
properties (hostname verification on by default), java_opts, java_home and user count, and
-D key=value adds a system property as a script argument would.

Several homes (--home a --home b) are checked in one report, with the checks that compare them
(port conflicts, shared Solr index, RAM for every instance). [check] in carbonguard.toml sets
fail_on, per-check severity overrides, disabled checks, the snapshot RPO and accepted risks:

   [check]
   fail_on = "high"
   disable = ["CG-HOST-010"]
   [check.severity]
   CG-SEC-100 = "low"
   [[check.accept]]
   id = "CG-SEC-050"
   key = "port 8280"          # optional: only this subject or key
   reason = "HTTP APIs stay on the internal network; ticket OPS-123"
   expires = "2025-12-31"     # optional; the acceptance lapses after this day

Acceptances naming an unknown check are errors (exit 2); expired and unused ones are warned about.
--no-accept ignores them all (CI).
`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "home", Usage: "product home to check (repeatable; default: the global --home, $CARBON_HOME or the current directory)"},
			checkFormats.flag(),
			&cli.StringFlag{Name: "fail-on", Usage: "lowest severity that fails the check: info, low, medium, high or critical (default: [check] fail_on, else high)"},
			&cli.BoolFlag{Name: "no-accept", Usage: "ignore the accepted risks of carbonguard.toml"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the report to `FILE` (atomically) instead of stdout"},
			&cli.StringSliceFlag{Name: "D", Usage: "system property `key=value` the server would get as a script argument (repeatable)"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "text: also list passed and not-applicable results"},
			&cli.StringFlag{Name: "host-facts", Hidden: true, Usage: "read the host facts from a JSON `FILE` instead of probing this host (reproducing a report)"},
		},
		Action: func(c *cli.Context) error {
			o, err := newCheckOptions(c, e)
			if err != nil {
				return err
			}
			// The session carries the first home's carbonguard.toml; runCheck
			// loads each other home's own, and resolves each state directory.
			s, err := e.openSession(c, o.homes[0], needs{config: true, pack: packConfig})
			if err != nil {
				return err
			}
			return runCheck(contextOf(c), s, o)
		},
	}
}

type checkOptions struct {
	format    string
	homes     []string
	failOn    string
	noAccept  bool
	output    string            // a file for the report; "" = stdout
	userArgs  []string          // -D key=value as script arguments
	props     map[string]string // the same as system properties
	verbose   bool
	hostFacts string // a JSON file of host facts instead of probing this host
}

func newCheckOptions(c *cli.Context, e *env) (checkOptions, error) {
	format, err := checkFormats.of(c)
	if err != nil {
		return checkOptions{}, err
	}
	if c.Args().Len() > 0 {
		return checkOptions{}, usagef("check takes no arguments (got %q); name homes with --home", c.Args().First())
	}
	o := checkOptions{format: format, failOn: c.String("fail-on"), noAccept: c.Bool("no-accept"), output: c.String("output"),
		verbose: c.Bool("verbose"), hostFacts: c.String("host-facts")}
	if o.failOn != "" {
		if _, err := validate.ParseSeverity(o.failOn); err != nil {
			return o, usagef("--fail-on: %v", err)
		}
	}
	if o.userArgs, o.props, err = dProps(c.StringSlice("D")); err != nil {
		return o, err
	}
	o.homes, err = e.homesOf(c)
	return o, err
}

func runCheck(ctx context.Context, s *session, o checkOptions) error {
	var probe validate.HostProbe
	if o.hostFacts != "" {
		sp, err := readHostFacts(o.hostFacts)
		if err != nil {
			return err
		}
		probe = sp
	}

	// Each home is judged with its own carbonguard.toml (the session's is
	// the first home's): its [start] (the launch the checks judge, -Dprofile
	// included) and its [check] policy.
	type home struct {
		cfg    *fileConfig
		start  validate.StartFacts
		policy validate.Options
		pack   *pack.Pack
		snap   validate.SnapshotFacts
	}
	homes := make([]home, len(o.homes))
	packs := make([]*pack.Pack, len(o.homes))
	for i, dir := range o.homes {
		h := &homes[i]
		h.cfg = s.cfg
		if i > 0 {
			cfg, err := s.loadConfig(s.g, dir)
			if err != nil {
				return err
			}
			h.cfg = cfg
		}
		policy, err := checkPolicy(h.cfg, o.failOn, o.noAccept)
		if err != nil {
			return err
		}
		policy.ToolVersion = version
		policy.Logger = s.log
		h.policy = policy
		if h.start, err = startFacts(h.cfg, s.getenv); err != nil {
			return err
		}
		h.start.UserArgs = o.userArgs
		// The pack sees the properties the JVM will get as script
		// arguments: carbonguard's start properties ([start] profile
		// becomes -Dprofile), then the operator's -D, which win.
		props := pack.ScriptArgProps(h.start.ScriptArgs)
		for k, v := range o.props {
			props[k] = v
		}
		if h.pack, err = s.readPack(dir, props); err != nil {
			return err
		}
		packs[i] = h.pack
		h.snap = validate.SnapshotFacts{RPO: h.cfg.Check.RPO.Duration}
		if len(o.homes) == 1 || s.g.state == "" {
			if sd, err := s.stateDirFor(dir); err == nil {
				h.snap = snapshotFacts(filepath.Join(sd, "snapshots"), h.snap.RPO, s.log)
				drillFacts(&h.snap, sd, h.cfg.Check.DrillMaxAge.Duration)
			} else {
				h.snap.ReadError = err.Error()
			}
		} else {
			h.snap.ReadError = "--state names one pack's state directory; the snapshot store of " + dir + " was not read"
		}
		h.snap.Dumps = h.cfg.dumpNames()
	}
	var reports []*validate.Report
	for i, h := range homes {
		others := make([]*pack.Pack, 0, len(packs)-1)
		for j, q := range packs {
			if j != i {
				others = append(others, q)
			}
		}
		f, err := validate.Collect(ctx, h.pack, others, validate.CollectOptions{Probe: probe, Start: h.start, Snapshots: h.snap, Logger: s.log})
		if err != nil {
			return err
		}
		r, err := validate.Run([]*validate.Facts{f}, h.policy)
		if err != nil {
			return err
		}
		reports = append(reports, r)
	}
	report := validate.MergeReports(reports...)
	var out bytes.Buffer
	var err error
	switch o.format {
	case "json":
		err = report.WriteJSON(&out)
	case "sarif":
		err = report.WriteSARIF(&out, "")
	default:
		err = report.WriteText(&out, validate.TextOptions{Verbose: o.verbose, Color: o.output == "" && s.colors(s.stdout), Width: terminalWidth(s.stdout)})
	}
	if err != nil {
		return fmt.Errorf("rendering the report: %w", err)
	}
	if o.output != "" {
		if err := durable.WriteFile(o.output, out.Bytes(), 0o644); err != nil {
			return fmt.Errorf("writing the report to %s: %w", o.output, err)
		}
		fmt.Fprintln(s.stderr, report.Summary())
	} else if _, err := s.stdout.Write(out.Bytes()); err != nil {
		return err
	}
	for _, w := range report.Warnings {
		s.log.Warn().Msg(w)
	}
	if report.Blocking {
		return codeError{code: exitFindings}
	}
	return nil
}

// snapshotFacts summarises the pack's snapshot store for the backup
// checks. A store that does not exist is reported as such and not created.
func snapshotFacts(dir string, rpo time.Duration, log zerolog.Logger) validate.SnapshotFacts {
	sf := validate.SnapshotFacts{RPO: rpo}
	if _, err := os.Stat(dir); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			sf.ReadError = err.Error()
		}
		return sf
	}
	sf.StoreExists = true
	store, err := archive.OpenStore(dir, log)
	if err != nil {
		sf.ReadError = err.Error()
		return sf
	}
	infos, err := store.List()
	if err != nil {
		sf.ReadError = err.Error()
		return sf
	}
	for _, in := range infos {
		if in.Incomplete {
			continue
		}
		sf.Count++
		if in.Verified != nil && in.Verified.OK && in.Created.After(sf.NewestVerified) {
			sf.NewestVerified, sf.NewestVerifiedID = in.Created, in.ID
		}
	}
	return sf
}

// drillFacts adds the pack's restore drills (<state>/drills) for
// CG-HOST-140: the newest drill that passed, and the newest drill.
func drillFacts(sf *validate.SnapshotFacts, stateDir string, maxAge time.Duration) {
	sf.DrillMaxAge = maxAge
	list, err := drill.List(stateDir)
	if err != nil {
		sf.DrillReadError = err.Error()
		return
	}
	if len(list) > 0 {
		sf.LastDrill = list[0].ID + " " + list[0].State
	}
	for _, r := range list {
		if r.Passed() {
			sf.LastDrillPassed, sf.LastDrillPassedID, sf.LastDrillLevel = r.Started, r.ID, r.Level
			return
		}
	}
}

// readHostFacts loads a Host (as in a JSON report's facts, or Go field
// names) for a StaticProbe.
func readHostFacts(path string) (validate.StaticProbe, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return validate.StaticProbe{}, usagef("--host-facts: %v", err)
	}
	var h validate.Host
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return validate.StaticProbe{}, usagef("--host-facts %s: %v", path, err)
	}
	return validate.StaticProbe{Host: h}, nil
}
