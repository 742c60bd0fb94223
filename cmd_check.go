package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/internal/durable"
	"github.com/carbonguard/carbonguard/pack"
	"github.com/carbonguard/carbonguard/validate"
	"github.com/carbonguard/carbonguard/wrapper"
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

` + exitStatusHelp,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "home", Usage: "product home to check (repeatable; default: the global --home, $CARBON_HOME or the current directory)"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text, json or sarif"},
			&cli.StringFlag{Name: "fail-on", Usage: "lowest severity that fails the check: info, low, medium, high or critical (default: [check] fail_on, else high)"},
			&cli.BoolFlag{Name: "no-accept", Usage: "ignore the accepted risks of carbonguard.toml"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the report to `FILE` (atomically) instead of stdout"},
			&cli.StringSliceFlag{Name: "D", Usage: "system property `key=value` the server would get as a script argument (repeatable)"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "text: also list passed and not-applicable results"},
			&cli.StringFlag{Name: "host-facts", Hidden: true, Usage: "read the host facts from a JSON `FILE` instead of probing this host (reproducing a report)"},
		},
		Action: func(c *cli.Context) error { return runCheck(c, e) },
	}
}

func runCheck(c *cli.Context, e *env) error {
	format := c.String("format")
	if format != "text" && format != "json" && format != "sarif" {
		return usagef("--format %q: use text, json or sarif", format)
	}
	if c.Args().Len() > 0 {
		return usagef("check takes no arguments (got %q); name homes with --home", c.Args().First())
	}
	if fo := c.String("fail-on"); fo != "" {
		if _, err := validate.ParseSeverity(fo); err != nil {
			return usagef("--fail-on: %v", err)
		}
	}
	userArgs, props, err := dProps(c.StringSlice("D"))
	if err != nil {
		return err
	}
	log, err := e.logger(c)
	if err != nil {
		return err
	}
	homes, err := checkHomes(c, e)
	if err != nil {
		return err
	}
	cfg, err := e.loadConfig(c, homes[0])
	if err != nil {
		return err
	}
	policy, err := checkPolicy(cfg, c.String("fail-on"), c.Bool("no-accept"))
	if err != nil {
		return err
	}
	policy.ToolVersion = version
	policy.Logger = log
	start, err := startFacts(cfg, e)
	if err != nil {
		return err
	}
	start.UserArgs = userArgs

	var probe validate.HostProbe
	if hf := c.String("host-facts"); hf != "" {
		sp, err := readHostFacts(hf)
		if err != nil {
			return err
		}
		probe = sp
	}

	packs := make([]*pack.Pack, 0, len(homes))
	snaps := make([]validate.SnapshotFacts, 0, len(homes))
	for _, home := range homes {
		p, err := pack.OpenWith(home, pack.Options{SysProps: props, Logger: log})
		if err != nil {
			return err
		}
		packs = append(packs, p)
		sf := validate.SnapshotFacts{RPO: cfg.Check.RPO.Duration}
		if len(homes) == 1 || c.String("state") == "" {
			if dir, err := e.stateDir(c, home); err == nil {
				sf = snapshotFacts(filepath.Join(dir, "snapshots"), sf.RPO, log)
			} else {
				sf.ReadError = err.Error()
			}
		} else {
			sf.ReadError = "--state names one pack's state directory; the snapshot store of " + home + " was not read"
		}
		snaps = append(snaps, sf)
	}
	facts, err := validate.CollectAll(c.Context, packs, snaps, validate.CollectOptions{Probe: probe, Start: start, Logger: log})
	if err != nil {
		return err
	}
	report, err := validate.Run(facts, policy)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	switch format {
	case "json":
		err = report.WriteJSON(&out)
	case "sarif":
		err = report.WriteSARIF(&out, "")
	default:
		err = report.WriteText(&out, validate.TextOptions{Verbose: c.Bool("verbose")})
	}
	if err != nil {
		return fmt.Errorf("rendering the report: %w", err)
	}
	if path := c.String("output"); path != "" {
		if err := durable.WriteFile(path, out.Bytes(), 0o644); err != nil {
			return fmt.Errorf("writing the report to %s: %w", path, err)
		}
		fmt.Fprintln(e.stderr, report.Summary())
	} else if _, err := e.stdout.Write(out.Bytes()); err != nil {
		return err
	}
	for _, w := range report.Warnings {
		log.Warn().Msg(w)
	}
	if report.Blocking {
		return codeError{code: exitFindings}
	}
	return nil
}

// dProps reads the -D key=value flags (the flag's value is key=value; a
// leading -D is tolerated) into script arguments and a property map. The
// flag always needs a value: a bare key, which Carbon would read as "true"
// (pack.ParseSysProp), is refused as a likely mistake.
func dProps(kvs []string) ([]string, map[string]string, error) {
	var args []string
	props := map[string]string{}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		k = strings.TrimPrefix(strings.TrimSpace(k), "-D")
		p, ok := pack.ParseSysProp("-D"+k+"="+v, pack.ReadByCarbonMain)
		if !ok || !strings.Contains(kv, "=") {
			return nil, nil, usagef("-D %q: write -D key=value, e.g. -D portOffset=2", kv)
		}
		props[p.Key] = p.Value
		args = append(args, "-D"+p.Key+"="+p.Value)
	}
	return args, props, nil
}

// checkHomes is the command's --home list, else the global home.
func checkHomes(c *cli.Context, e *env) ([]string, error) {
	var homes []string
	seen := map[string]bool{}
	for _, h := range c.StringSlice("home") {
		abs, err := filepath.Abs(h)
		if err != nil {
			return nil, usagef("--home %s: %v", h, err)
		}
		if seen[abs] {
			return nil, usagef("--home %s is named twice", h)
		}
		seen[abs] = true
		homes = append(homes, abs)
	}
	if len(homes) > 0 {
		return homes, nil
	}
	// The command's own --home shadows the global one in c; the parent (the
	// app's context) holds the global flag.
	parent := c
	if lineage := c.Lineage(); len(lineage) > 1 {
		parent = lineage[1]
	}
	home, err := e.homeDir(parent)
	if err != nil {
		return nil, err
	}
	return []string{home}, nil
}

// checkPolicy turns carbonguard.toml's [check] and the flags into the
// validate policy. Errors are usage errors (exit 2).
func checkPolicy(cfg *fileConfig, failOn string, noAccept bool) (validate.Options, error) {
	where := "carbonguard.toml"
	if cfg.path != "" {
		where = cfg.path
	}
	o := validate.Options{
		FailOn:   cfg.Check.FailOn,
		Severity: cfg.Check.Severity,
		Disable:  cfg.Check.Disable,
		NoAccept: noAccept,
	}
	if failOn != "" {
		o.FailOn = failOn
	}
	for i, a := range cfg.Check.Accept {
		acc, err := validate.ParseAcceptance(a.ID, a.Key, a.Reason, a.Expires, fmt.Sprintf("%s [[check.accept]] #%d", where, i+1))
		if err != nil {
			return o, err
		}
		o.Accept = append(o.Accept, acc)
	}
	return o, nil
}

// startFacts is the launch carbonguard's wrapped start would make, from
// carbonguard.toml's [start] section: the same script arguments the wrapper
// builds (wrapper.ScriptArgs), JAVA_OPTS, JVM_MEM_OPTS, JAVA_HOME and the
// run-as user.
func startFacts(cfg *fileConfig, e *env) (validate.StartFacts, error) {
	s := cfg.Start
	o := wrapper.Options{
		NoHostnameVerification: s.HostnameVerification != nil && !*s.HostnameVerification,
		HostnameVerifier:       s.HostnameVerifier,
		Properties:             s.Properties,
		Args:                   s.Args,
		ProxyHost:              s.ProxyHost,
		ProxyPort:              s.ProxyPort,
		Profile:                s.Profile,
		Setup:                  s.Setup,
	}
	args, err := wrapper.ScriptArgs(o)
	if err != nil {
		return validate.StartFacts{}, usagef("carbonguard.toml [start]: %v", err)
	}
	sf := validate.StartFacts{ScriptArgs: args, JavaOpts: s.JavaOpts, JVMMemOpts: s.JVMMemOpts, JavaHome: s.JavaHome, RunAsUID: -1}
	if sf.JavaOpts == "" {
		sf.JavaOpts = e.getenv("JAVA_OPTS")
	}
	if sf.JVMMemOpts == "" {
		sf.JVMMemOpts = e.getenv("JVM_MEM_OPTS")
	}
	// The wrapper switches to [start] user only when it runs as root.
	if s.User != "" && os.Geteuid() == 0 {
		sf.RunAsUser = s.User
		if u, err := user.Lookup(s.User); err == nil {
			if uid, err := strconv.Atoi(u.Uid); err == nil {
				sf.RunAsUID = uid
			}
		} else if uid, err := strconv.Atoi(s.User); err == nil {
			sf.RunAsUID = uid
		}
	}
	return sf, nil
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
