package main

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/carbonguard/carbonguard/pack"
	"github.com/carbonguard/carbonguard/validate"
	"github.com/carbonguard/carbonguard/wrapper"
)

// The production checks where they run besides check: as the gate of a
// launch (start, run, restart) and as the report before an update. Both
// judge the launch carbonguard would make, from carbonguard.toml.

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
func startFacts(cfg *fileConfig, getenv func(string) string) (validate.StartFacts, error) {
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
		sf.JavaOpts = getenv("JAVA_OPTS")
	}
	if sf.JVMMemOpts == "" {
		sf.JVMMemOpts = getenv("JVM_MEM_OPTS")
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

// startGate runs the production checks on the launch about to be made, on
// the pack the session opened for it.
func (s *session) startGate(o launchOptions) wrapper.GateFunc {
	return func(ctx context.Context) (wrapper.GateResult, error) {
		policy, err := checkPolicy(s.cfg, o.failOn, false)
		if err != nil {
			return wrapper.GateResult{}, err
		}
		policy.ToolVersion, policy.Logger = version, s.log
		start, err := startFacts(s.cfg, s.getenv)
		if err != nil {
			return wrapper.GateResult{}, err
		}
		start.UserArgs = o.userArgs
		rep, blocked, err := validate.Gate(ctx, s.pack, validate.GateOptions{Collect: validate.CollectOptions{Start: start, Snapshots: validate.SnapshotFacts{Dumps: s.cfg.dumpNames()}, Logger: s.log}, Policy: policy})
		if err != nil {
			return wrapper.GateResult{}, err
		}
		summary := rep.SeveritySummary()
		if summary == "" {
			summary = "none"
		}
		return wrapper.GateResult{Blocked: blocked, Threshold: rep.FailOn.String(), Summary: summary, Findings: bootFirst(rep.BlockingLines())}, nil
	}
}

// bootImpossible are the checks whose failure keeps the server from booting
// at all (the startup script refuses, the JVM does not start, a port cannot
// be bound), as opposed to a server that boots into a risk.
var bootImpossible = map[string]bool{
	"CG-HOST-060": true, // JAVA_HOME not set to a usable JDK: the script exits
	"CG-HOST-091": true, // heap settings the JVM cannot honour: the JVM exits
	"CG-NET-020":  true, // two listeners on one port: the second bind fails
	"CG-NET-030":  true, // a port already in use on this host
	"CG-NET-040":  true, // a privileged port without root: the bind fails
}

// bootFirst orders the gate's finding lines ("CG-HOST-060 high ...") so
// that those that make the boot impossible come first, the rest in the
// report's order.
func bootFirst(lines []string) []string {
	out := make([]string, 0, len(lines))
	for pass := 0; pass < 2; pass++ {
		for _, l := range lines {
			id, _, _ := strings.Cut(l, " ")
			if bootImpossible[id] == (pass == 0) {
				out = append(out, l)
			}
		}
	}
	return out
}

// updateChecksReport runs the production checks before an update as a
// report on stderr; they never block it (the update's own preflight does,
// on what makes it unsafe).
func (s *session) updateChecksReport() func(ctx context.Context, p *pack.Pack) error {
	return func(ctx context.Context, p *pack.Pack) error {
		policy, err := checkPolicy(s.cfg, "", false)
		if err != nil {
			return err
		}
		policy.ToolVersion, policy.Logger = version, s.log
		start, err := startFacts(s.cfg, s.getenv)
		if err != nil {
			return err
		}
		rep, _, err := validate.Gate(ctx, p, validate.GateOptions{Collect: validate.CollectOptions{Start: start, Snapshots: validate.SnapshotFacts{Dumps: s.cfg.dumpNames()}, Logger: s.log}, Policy: policy})
		if err != nil {
			s.log.Warn().Err(err).Msg("the production checks could not run; the update goes on")
			return nil
		}
		t := rep.Tally
		fmt.Fprintf(s.stderr, "carbonguard: checks before the update: %d passed, %d failed (%d at or above %s), %d unknown; they do not block an update (carbonguard check shows them)\n",
			t.Pass, t.Fail, t.Blocking, rep.FailOn, t.Unknown)
		return nil
	}
}
