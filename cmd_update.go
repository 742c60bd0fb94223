package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/hooks"
	"github.com/carbonguard/carbonguard/pack"
	"github.com/carbonguard/carbonguard/validate"
	"github.com/carbonguard/carbonguard/wrapper"
)

const updateHelp = `update runs WSO2's update tool (u2) as a transaction that can always be undone:

  1. take the pack's lock (one guarded operation at a time);
  2. make sure the server is stopped (--stop-server stops it);
  3. run the production checks and report them; block only on what makes the update unsafe
     (too little free space, no updates/product.txt, leftover conflict files, no update tool);
  4. snapshot the whole pack (reason pre-update) and verify the snapshot;
  5. run u2 non-interactively: stdin closed, long flags only, credentials through
     UPDATE_TOOL_USERNAME / UPDATE_TOOL_PASSWORD in its environment (never its command line),
     and --no-backup: carbonguard's verified snapshot is the backup ([update] u2_backup = true
     lets u2 take its own as well);
  6. act on u2's exit code:
       0  the update is applied and awaits its first boot (carbonguard start, or --start here):
          an up boot commits it, a failed one rolls it back automatically;
       2  u2 updated itself: the same command is run again (at most --self-update-max times);
       3  conflicts: the files are listed and the transaction stays open; merge each FILE with
          FILE.original and FILE.new into FILE.final, then run update --continue; or give up
          with carbonguard rollback;
       1, 4 or anything else: the pre-update snapshot is restored at once.

Arguments after -- go to u2 as they are (e.g. -- --level 13 --channel security); credentials and
u2's short flags are refused there.

Credentials: --username, with the password from --password-file or --password-stdin; else u2
reads UPDATE_TOOL_USERNAME and UPDATE_TOOL_PASSWORD from carbonguard's own environment. They are
masked in everything carbonguard prints or keeps. (u2 tools older than the 2026-05 docs may not
read the variables; with stdin closed they then fail instead of prompting, and the snapshot is
restored.)

The journal of transactions is in <state>/journal (carbonguard history); u2's output is kept
there too. A process killed at any step leaves a state that carbonguard status reports and the
next update, start or rollback finishes or undoes.

`

func updateCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:        "update",
		Usage:       "run u2 as a guarded update: snapshot, update, and roll back if the first boot fails",
		ArgsUsage:   "[-- U2 ARGS...]",
		Description: updateHelp + exitStatusHelp,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "start", Usage: "start the server after a successful update and judge its boot (commit or roll back)"},
			&cli.BoolFlag{Name: "stop-server", Usage: "stop a running server instead of refusing"},
			&cli.BoolFlag{Name: "continue", Usage: "continue the update that stopped on conflicts (after writing each FILE.final)"},
			&cli.StringFlag{Name: "u2", Usage: "the update tool (default: [update] u2, else <home>/bin/wso2update_linux)"},
			&cli.StringFlag{Name: "username", Usage: "WSO2 account for u2 (passed as UPDATE_TOOL_USERNAME)"},
			&cli.StringFlag{Name: "password-file", Usage: "read the u2 password from this file (first line)"},
			&cli.BoolFlag{Name: "password-stdin", Usage: "read the u2 password from stdin (first line)"},
			&cli.IntFlag{Name: "self-update-max", Usage: "re-runs after u2 exit code 2 (default: [update] self_update_max, else 3)"},
			&cli.DurationFlag{Name: "u2-timeout", Usage: "kill u2 after this long and restore the snapshot (default: no limit)"},
			&cli.BoolFlag{Name: "no-checks", Usage: "skip the production-checks report (the safety preflight still runs)"},
			&cli.BoolFlag{Name: "allow-root", Usage: "with --start: let the server run as root (see start)"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text or json"},
		},
		Action: func(c *cli.Context) error { return e.runUpdate(c) },
	}
}

func hookCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "hook",
		Usage: "pre- and post-update steps for operators who run u2 from their own scripts",
		Description: `hook pre-update and hook post-update split carbonguard update in two around an update tool
run by your own script (WSO2's ansible-apim or puppet-apim update.sh, a Jenkins job):

   carbonguard hook pre-update --home H          # lock, server stopped, checks, verified snapshot
   ./bin/wso2update_linux --no-backup ...; rc=$?  # your run (re-run it yourself on exit code 2)
   carbonguard hook post-update --home H --exit-code $rc

The pack's lock is an flock held by a process, so it cannot span the two commands. Instead, the
transaction pre-update opens in the journal stands for it: until post-update (or carbonguard
rollback) closes it, a second pre-update, an update and a start are refused (exit status 4).

post-update acts on the exit code as update does: 0 → the update awaits its first boot (--start
starts and judges it now); 3 → conflicts, the transaction stays open (merge, re-run u2 with
--continue, then post-update again; or carbonguard update --continue); 2 → run u2 again and call
post-update with its new code; 1 after a --continue that left conflicts → still conflicts;
1, 4 or anything else → the pre-update snapshot is restored at once.

` + exitStatusHelp,
		Subcommands: []*cli.Command{
			{
				Name:  "pre-update",
				Usage: "lock, check, snapshot and open the update transaction",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "stop-server", Usage: "stop a running server instead of refusing"},
					&cli.BoolFlag{Name: "u2-backup", Usage: "your u2 run takes its own backup (only changes the free-space estimate)"},
					&cli.BoolFlag{Name: "no-checks", Usage: "skip the production-checks report"},
					&cli.StringFlag{Name: "format", Value: "text", Usage: "text or json"},
				},
				Action: func(c *cli.Context) error { return e.runHook(c, true) },
			},
			{
				Name:  "post-update",
				Usage: "act on the exit code of your u2 run",
				Flags: []cli.Flag{
					&cli.IntFlag{Name: "exit-code", Usage: "u2's exit code (required)"},
					&cli.BoolFlag{Name: "start", Usage: "after exit code 0, start the server and judge its boot"},
					&cli.BoolFlag{Name: "allow-root", Usage: "with --start: let the server run as root"},
					&cli.StringFlag{Name: "format", Value: "text", Usage: "text or json"},
				},
				Action: func(c *cli.Context) error { return e.runHook(c, false) },
			},
		},
	}
}

func rollbackCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "rollback",
		Usage:     "restore the pack as it was before an update (or any snapshot)",
		ArgsUsage: "[TX-ID | SNAPSHOT-ID]",
		Description: `rollback restores a pre-update snapshot by hand. Without an argument it acts on the open update
transaction (stopped on conflicts, begun by hook pre-update, or awaiting its first boot), else on
the last committed one. With a transaction id it restores that update's pre-update snapshot; with a
snapshot id (carbonguard snapshot list), that snapshot.

The server must be stopped (--stop-server stops it). The tree the restore replaces is kept beside
the pack (<home>.displaced-...) until carbonguard snapshot drop-displaced. An interrupted update,
restore or rollback found first is finished; when that already is the rollback, nothing more is
done.

` + exitStatusHelp,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "stop-server", Usage: "stop a running server instead of refusing"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text or json"},
		},
		Action: func(c *cli.Context) error { return e.runRollback(c) },
	}
}

func historyCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "history",
		Usage: "the journal of update transactions",
		Description: `history lists the update transactions of the pack, oldest first: id, kind (update, hook, rollback),
state, update level before and after, pre-update snapshot, last change and its note. --format json
gives every transaction in full (u2 attempts, files changed, conflicts, boot verdicts, events).

` + exitStatusHelp,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text or json"},
			&cli.BoolFlag{Name: "last", Usage: "only the newest transaction (scripts: history --last | awk 'NR==2 {print $3}' is its state)"},
		},
		Action: func(c *cli.Context) error { return e.runHistory(c) },
	}
}

// guardSession is what the update commands share.
type guardSession struct {
	pack   *pack.Pack
	state  string
	cfg    *fileConfig
	log    zerolog.Logger
	hx     hooks.Env
	bar    *progressBar
	format string
}

// guardSetup opens the pack, its state, the store and the configuration,
// and builds the hooks environment with the wrapper as its server.
func (e *env) guardSetup(c *cli.Context, allowRoot bool) (*guardSession, error) {
	format := c.String("format")
	if format != "text" && format != "json" {
		return nil, usagef("--format %q: use text or json", format)
	}
	log, err := e.logger(c)
	if err != nil {
		return nil, err
	}
	p, err := e.openPack(c)
	if err != nil {
		return nil, err
	}
	state, err := e.stateDir(c, p.Home)
	if err != nil {
		return nil, err
	}
	cfg, err := e.loadConfig(c, p.Home)
	if err != nil {
		return nil, err
	}
	store, err := archive.OpenStore(filepath.Join(state, "snapshots"), log)
	if err != nil {
		return nil, err
	}
	s := &guardSession{pack: p, state: state, cfg: cfg, log: log, bar: e.progressBar(c), format: format}
	srv, err := wrapper.New(p, hookServerOptions(cfg, state, log, allowRoot))
	if err != nil {
		return nil, usagef("carbonguard.toml [start]: %v", err)
	}
	s.hx = hooks.Env{
		Home: p.Home, StateDir: state, Store: store, Server: hookServer{srv},
		Notify:      notifierFrom(cfg, log),
		Log:         log,
		ToolVersion: version,
		Compression: cfg.Snapshot.Compression,
		Exclude:     cfg.Snapshot.Exclude,
		KeepData:    cfg.Update.KeepData,
		Progress:    s.bar.update,
		Out:         e.stderr,
		CrashPoint:  crashPoint,
	}
	return s, nil
}

// hookServerOptions are the wrapper's options for the starts and stops an
// update or rollback makes: [start] of carbonguard.toml, without the check
// gate (the update ran the checks; a rollback must bring back the pack that
// ran before, whatever they say now).
func hookServerOptions(cfg *fileConfig, state string, log zerolog.Logger, allowRoot bool) wrapper.Options {
	s := cfg.Start
	o := wrapper.Options{
		JavaHome: s.JavaHome, JavaOpts: s.JavaOpts, JVMMemOpts: s.JVMMemOpts,
		NoHostnameVerification: s.HostnameVerification != nil && !*s.HostnameVerification,
		HostnameVerifier:       s.HostnameVerifier,
		Properties:             s.Properties, Args: s.Args,
		ProxyHost: s.ProxyHost, ProxyPort: s.ProxyPort, Profile: s.Profile, Setup: s.Setup,
		AllowRoot: s.AllowRoot || allowRoot, RunAsUser: s.User,
		Timeout: s.Timeout.Duration, Stability: s.Stability.Duration, StopTimeout: s.StopTimeout.Duration,
		StateDir: state, Logger: log,
	}
	for i, h := range s.Health {
		o.Health = append(o.Health, wrapper.HealthCheck{Name: "health-" + strconv.Itoa(i+1), URL: h.URL, Status: h.Status})
	}
	return o
}

func notifierFrom(cfg *fileConfig, log zerolog.Logger) *hooks.Notifier {
	if cfg.Notify.Command == "" && cfg.Notify.Webhook == "" {
		return nil
	}
	return &hooks.Notifier{Command: cfg.Notify.Command, Webhook: cfg.Notify.Webhook, Timeout: cfg.Notify.Timeout.Duration, Log: log}
}

// hookServer adapts the wrapper to hooks.Server.
type hookServer struct{ s *wrapper.Server }

func (h hookServer) Running(context.Context) (int, bool, error) { return h.s.Pack().RunningPID() }

func (h hookServer) Stop(ctx context.Context) error {
	_, err := h.s.Stop(ctx)
	return err
}

func (h hookServer) Start(ctx context.Context) (*wrapper.Verdict, error) { return h.s.Start(ctx) }

// guardStart runs a wrapped start inside the update transaction (the third
// flow, hooks.Start) and tells the operator what it does: launch starts the
// server and returns the verdict (nil with an error when no start was
// attempted). It returns the verdict to report and launch's error, or the
// transaction's typed error (exit 32 or 33).
func (e *env) guardStart(ctx context.Context, hx hooks.Env, launch func(context.Context) (*wrapper.Verdict, error)) (*wrapper.Verdict, error) {
	res, err := hooks.Start(ctx, hooks.StartOptions{Env: hx, Launch: launch, Starting: func(tx, recovered *hooks.Tx) {
		if recovered != nil {
			fmt.Fprintf(e.stderr, "carbonguard: an interrupted update (%s) was found and %s before this start\n", recovered.ID, recovered.State)
		}
		if tx != nil {
			fmt.Fprintf(e.stderr, "carbonguard: first boot after update %s (level %s -> %s): an up boot commits it, any other rolls it back\n",
				tx.ID, levelText(tx.LevelBefore), levelText(tx.LevelAfter))
		}
	}})
	if res == nil {
		return nil, err
	}
	if f := res.FailedFirstBoot; f != nil {
		// After a rollback the verdict that matters is the restored pack's
		// boot; the failed one is in the error and the failed directory.
		fmt.Fprintf(e.stderr, "carbonguard: first boot after update %s: %s: %s; rolled back, the verdict below is the restored pack's\n", res.Tx.ID, f.State, f.Reason)
	}
	if res.Outcome == hooks.OutcomeCommitted {
		fmt.Fprintf(e.stderr, "carbonguard: update %s committed\n", res.Tx.ID)
	}
	return res.Verdict, err
}

// hooksEnvForStart builds the hooks environment for a wrapped start with
// the wrapper server srv that start uses (cmd_start calls it).
func (e *env) hooksEnvForStart(p *pack.Pack, state string, cfg *fileConfig, log zerolog.Logger, srv *wrapper.Server) (hooks.Env, error) {
	store, err := archive.OpenStore(filepath.Join(state, "snapshots"), log)
	if err != nil {
		return hooks.Env{}, err
	}
	return hooks.Env{
		Home: p.Home, StateDir: state, Store: store, Server: hookServer{srv},
		Notify: notifierFrom(cfg, log), Log: log, ToolVersion: version,
		Compression: cfg.Snapshot.Compression, Exclude: cfg.Snapshot.Exclude, KeepData: cfg.Update.KeepData,
		Out: e.stderr, CrashPoint: crashPoint,
	}, nil
}

// password reads the u2 password from --password-file or --password-stdin.
func (e *env) password(c *cli.Context) (string, error) {
	file, stdin := c.String("password-file"), c.Bool("password-stdin")
	switch {
	case file != "" && stdin:
		return "", usagef("--password-file and --password-stdin: give one")
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			return "", usagef("--password-file: %v", err)
		}
		return firstLine(string(data)), nil
	case stdin:
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("reading the password from stdin: %w", err)
		}
		return firstLine(line), nil
	}
	return "", nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimRight(s, "\r")
}

// preflightChecks runs the production checks as a report on stderr; they
// never block an update (the update's own preflight does, on what makes it
// unsafe).
func (e *env) preflightChecks(cfg *fileConfig, log zerolog.Logger) func(ctx context.Context, p *pack.Pack) error {
	return func(ctx context.Context, p *pack.Pack) error {
		policy, err := checkPolicy(cfg, "", false)
		if err != nil {
			return err
		}
		policy.ToolVersion, policy.Logger = version, log
		start, err := startFacts(cfg, e)
		if err != nil {
			return err
		}
		rep, _, err := validate.Gate(ctx, p, validate.GateOptions{Collect: validate.CollectOptions{Start: start, Logger: log}, Policy: policy})
		if err != nil {
			log.Warn().Err(err).Msg("the production checks could not run; the update goes on")
			return nil
		}
		t := rep.Tally
		fmt.Fprintf(e.stderr, "carbonguard: checks before the update: %d passed, %d failed (%d at or above %s), %d unknown; they do not block an update (carbonguard check shows them)\n",
			t.Pass, t.Fail, t.Blocking, rep.FailOn, t.Unknown)
		return nil
	}
}

func (e *env) runUpdate(c *cli.Context) error {
	s, err := e.guardSetup(c, c.Bool("allow-root"))
	if err != nil {
		return err
	}
	defer s.bar.close()
	if c.Bool("continue") && c.Args().Len() > 0 {
		return usagef("update --continue takes no u2 arguments: it continues with the ones the update began with")
	}
	pw, err := e.password(c)
	if err != nil {
		return err
	}
	o := hooks.UpdateOptions{
		Env: s.hx, U2: c.String("u2"), U2Args: c.Args().Slice(),
		Username: c.String("username"), Password: pw,
		SelfUpdateMax: s.cfg.Update.SelfUpdateMax, U2Timeout: c.Duration("u2-timeout"),
		Continue: c.Bool("continue"), StopServer: c.Bool("stop-server"), Start: c.Bool("start"),
	}
	if o.U2 == "" {
		o.U2 = s.cfg.Update.U2
	}
	if s.cfg.Update.U2Backup != nil {
		o.U2Backup = *s.cfg.Update.U2Backup
	}
	if c.IsSet("self-update-max") {
		o.SelfUpdateMax = c.Int("self-update-max")
	}
	if !c.Bool("no-checks") {
		o.Preflight = e.preflightChecks(s.cfg, s.log)
	}
	ctx, cancel := signalContext(c.Context)
	defer cancel()
	res, err := hooks.Update(ctx, o)
	s.bar.close()
	return e.reportGuarded(s.format, "update", res, err)
}

func (e *env) runHook(c *cli.Context, pre bool) error {
	if c.Args().Len() > 0 {
		return usagef("hook %s takes no arguments (got %q)", c.Command.Name, c.Args().First())
	}
	if !pre && !c.IsSet("exit-code") {
		return usagef("hook post-update needs --exit-code N, the exit code of your u2 run")
	}
	s, err := e.guardSetup(c, c.Bool("allow-root"))
	if err != nil {
		return err
	}
	defer s.bar.close()
	o := hooks.HookOptions{Env: s.hx, StopServer: c.Bool("stop-server"), U2Backup: c.Bool("u2-backup"), Start: c.Bool("start")}
	ctx, cancel := signalContext(c.Context)
	defer cancel()
	var res *hooks.Result
	if pre {
		if !c.Bool("no-checks") {
			o.Preflight = e.preflightChecks(s.cfg, s.log)
		}
		res, err = hooks.PreUpdate(ctx, o)
		s.bar.close()
		return e.reportGuarded(s.format, "hook pre-update", res, err)
	}
	res, err = hooks.PostUpdate(ctx, o, c.Int("exit-code"))
	s.bar.close()
	return e.reportGuarded(s.format, "hook post-update", res, err)
}

func (e *env) runRollback(c *cli.Context) error {
	if c.Args().Len() > 1 {
		return usagef("rollback takes at most one argument, a transaction or snapshot id")
	}
	s, err := e.guardSetup(c, false)
	if err != nil {
		return err
	}
	defer s.bar.close()
	ctx, cancel := signalContext(c.Context)
	defer cancel()
	res, err := hooks.Rollback(ctx, hooks.RollbackOptions{Env: s.hx, Target: c.Args().First(), StopServer: c.Bool("stop-server")})
	s.bar.close()
	return e.reportGuarded(s.format, "rollback", res, err)
}

// guardedReport is the JSON form of an update, hook or rollback result.
type guardedReport struct {
	SchemaVersion int           `json:"schema_version"`
	Command       string        `json:"command"`
	Outcome       hooks.Outcome `json:"outcome,omitempty"`
	Error         string        `json:"error,omitempty"`
	ExitCode      int           `json:"exit_code"`
	Tx            *hooks.Tx     `json:"tx,omitempty"`
	Recovered     *hooks.Tx     `json:"recovered,omitempty"`
}

// reportGuarded prints what a guarded command did (stdout) and returns its
// error for the exit code. With a report printed, the error still goes to
// stderr as the one-line reason.
func (e *env) reportGuarded(format, command string, res *hooks.Result, err error) error {
	if res == nil && err != nil {
		if format == "json" {
			_ = writeJSON(e.stdout, guardedReport{SchemaVersion: 1, Command: command, Error: err.Error(), ExitCode: classify(err)})
		}
		return err
	}
	if res == nil {
		return nil
	}
	if format == "json" {
		r := guardedReport{SchemaVersion: 1, Command: command, Outcome: res.Outcome, Tx: res.Tx, Recovered: res.Recovered}
		if err != nil {
			r.Error, r.ExitCode = err.Error(), classify(err)
		}
		if werr := writeJSON(e.stdout, r); werr != nil {
			return werr
		}
		return err
	}
	writeTxText(e.stdout, res)
	return err
}

func writeTxText(w io.Writer, res *hooks.Result) {
	tx := res.Tx
	if tx == nil {
		return
	}
	fmt.Fprintf(w, "%s %s: %s\n", tx.Kind, tx.ID, describeState(tx))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  home\t%s\n", tx.Home)
	if tx.LevelBefore != nil || tx.LevelAfter != nil {
		fmt.Fprintf(tw, "  update level\t%s -> %s\n", levelText(tx.LevelBefore), levelText(tx.LevelAfter))
	}
	if tx.SnapshotID != "" {
		fmt.Fprintf(tw, "  pre-update snapshot\t%s\n", tx.SnapshotID)
	}
	if tx.Changes != nil {
		fmt.Fprintf(tw, "  files changed\t%d added, %d removed, %d modified\n", len(tx.Changes.Added), len(tx.Changes.Removed), len(tx.Changes.Modified))
	}
	if tx.U2 != nil && tx.U2.Changelog != "" {
		fmt.Fprintf(tw, "  changelog\t%s\n", filepath.Join(tx.Home, tx.U2.Changelog))
	}
	if tx.U2 != nil && len(tx.U2.Attempts) > 0 {
		a := tx.U2.Attempts[len(tx.U2.Attempts)-1]
		code := "-"
		if a.ExitCode != nil {
			code = strconv.Itoa(*a.ExitCode)
		}
		fmt.Fprintf(tw, "  u2 runs\t%d, last exit code %s\n", len(tx.U2.Attempts), code)
		if a.Log != "" {
			fmt.Fprintf(tw, "  u2 output\t%s\n", a.Log)
		}
	}
	if tx.Boot != nil {
		fmt.Fprintf(tw, "  first boot\t%s: %s\n", tx.Boot.State, tx.Boot.Summary)
	}
	if tx.AfterRollback != nil {
		fmt.Fprintf(tw, "  boot after rollback\t%s: %s\n", tx.AfterRollback.State, tx.AfterRollback.Summary)
	}
	if tx.FailedDir != "" {
		fmt.Fprintf(tw, "  evidence\t%s\n", tx.FailedDir)
	}
	if tx.FailedSnapshotID != "" {
		fmt.Fprintf(tw, "  failed tree snapshot\t%s\n", tx.FailedSnapshotID)
	}
	if tx.Displaced != "" {
		fmt.Fprintf(tw, "  replaced tree kept in\t%s\n", tx.Displaced)
	}
	_ = tw.Flush()
	if len(tx.Conflicts) > 0 && tx.State == hooks.StateConflicts {
		fmt.Fprintln(w, "conflicts (merge FILE.original and FILE.new into FILE.final):")
		for _, cf := range tx.Conflicts {
			mark := "unresolved"
			if cf.Resolved {
				mark = "resolved (.final written)"
			}
			fmt.Fprintf(w, "  %s  %s\n", filepath.Join(tx.Home, cf.Path), mark)
		}
	}
	if next := nextText(tx); next != "" {
		fmt.Fprintf(w, "next: %s\n", next)
	}
}

func describeState(tx *hooks.Tx) string {
	switch tx.State {
	case hooks.StateAwaitingBoot:
		return "updated, awaiting the first boot"
	case hooks.StateU2Running:
		if tx.U2 != nil && tx.U2.External {
			return "open, waiting for your u2 run"
		}
	case hooks.StateConflicts:
		return "stopped on conflicts"
	case hooks.StateRestored:
		return "restored: the pack is as it was before the update"
	case hooks.StateCommitted:
		return "committed"
	case hooks.StateRolledBack:
		return "rolled back: the first boot failed, the pre-update pack is back and up"
	case hooks.StateNeedsAttention:
		return "NEEDS ATTENTION: " + tx.Error
	case hooks.StateAborted:
		return "aborted before u2 ran"
	}
	return string(tx.State)
}

func nextText(tx *hooks.Tx) string {
	switch tx.State {
	case hooks.StateAwaitingBoot:
		return "start the server (carbonguard start): an up boot commits the update, a failed one rolls it back"
	case hooks.StateU2Running:
		if tx.U2 != nil && tx.U2.External {
			return "run u2, then carbonguard hook post-update --exit-code <its exit code>"
		}
	case hooks.StateConflicts:
		return "write each FILE.final, then carbonguard update --continue; or give up with carbonguard rollback"
	case hooks.StateNeedsAttention:
		return "the server is stopped; look at the evidence, fix, and start it by hand"
	}
	return ""
}

func levelText(l *int) string {
	if l == nil {
		return "?"
	}
	return strconv.Itoa(*l)
}

func (e *env) runHistory(c *cli.Context) error {
	format := c.String("format")
	if format != "text" && format != "json" {
		return usagef("--format %q: use text or json", format)
	}
	if c.Args().Len() > 0 {
		return usagef("history takes no arguments")
	}
	home, err := e.homeDir(c)
	if err != nil {
		return err
	}
	state, err := e.stateDir(c, home)
	if err != nil {
		return err
	}
	txs, err := hooks.History(state)
	if err != nil {
		return err
	}
	if c.Bool("last") && len(txs) > 1 {
		txs = txs[len(txs)-1:]
	}
	if format == "json" {
		if txs == nil {
			txs = []*hooks.Tx{}
		}
		return writeJSON(e.stdout, struct {
			SchemaVersion int         `json:"schema_version"`
			Transactions  []*hooks.Tx `json:"transactions"`
		}{1, txs})
	}
	if len(txs) == 0 {
		fmt.Fprintln(e.stdout, "no update transactions")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTATE\tLEVEL\tSNAPSHOT\tUPDATED\tNOTE")
	for _, tx := range txs {
		note := ""
		if n := len(tx.Events); n > 0 {
			note = tx.Events[n-1].Message
		}
		if len(note) > 100 {
			note = note[:97] + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s->%s\t%s\t%s\t%s\n", tx.ID, tx.Kind, tx.State, levelText(tx.LevelBefore), levelText(tx.LevelAfter),
			orDashStr(tx.SnapshotID), tx.Updated.Format(time.DateTime), note)
	}
	return tw.Flush()
}
