package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/hooks"
	"github.com/carbonguard/carbonguard/pack"
	"github.com/carbonguard/carbonguard/validate"
	"github.com/carbonguard/carbonguard/wrapper"
)

const startDescription = `start launches the stock startup script in the background, exactly as its own start does
(never edited), with the system properties carbonguard.toml [start] asks for, and returns once the
boot is judged:

   up        the success line ("WSO2 Carbon started in", "WSO2 Micro Integrator started in"), the
             process alive, the health endpoints answering on the offset ports (APIM /services/Version
             and the gateway startup health check; IS /api/health-check/v1.0/health; MI /healthz), and
             the process still alive through the stability window
   failed    the process exited, a failure line ("Error while performing configuration changes",
             "startup failed", "OutOfMemoryError", "Address already in use", a repeated "Waiting for
             required OSGi services"), or no success line within the timeout
   unknown   the success line came but the endpoints never answered, the log could not be read, or
             carbonguard was interrupted

The verdict and its evidence are printed (--format text or json) and saved in the state directory
(verdicts/last.json). A failed server is left running for inspection; stop it with carbonguard stop.

Before the launch the production checks run as a gate: findings at or above the fail threshold
([start] fail_on, else [check] fail_on, else high) refuse the start unless --force with
--force-reason (logged with who forced it). [start] gate = false turns the gate off. The server is
not started as root unless --allow-root or [start] allow_root; when carbonguard runs as root it
runs the server as [start] user. Hostname verification is switched on by default:
-Dorg.opensaml.httpclient.https.disableHostnameVerification=false and -Dhttpclient.hostnameVerifier=Strict
are passed as script arguments, which win over the script's own -D list. -Dsetup (destructive) is
passed only with --setup.

When an update awaits its first boot, an up verdict commits it and any other verdict rolls it back.

`

// startFlags are shared by start, run and restart.
func startFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "force", Usage: "start even when the checks find problems at or above the fail threshold (needs --force-reason)"},
		&cli.StringFlag{Name: "force-reason", Usage: "why the check gate is overridden (logged with who did it)"},
		&cli.StringFlag{Name: "fail-on", Usage: "lowest severity that blocks the start: info, low, medium, high or critical (default: [start] fail_on, else [check] fail_on, else high)"},
		&cli.BoolFlag{Name: "allow-root", Usage: "allow the server to run as root"},
		&cli.StringSliceFlag{Name: "D", Usage: "system property `key=value` passed as a script argument (repeatable; wins over [start] properties)"},
		&cli.BoolFlag{Name: "setup", Usage: "pass -Dsetup: cleans the registry and recreates and re-populates the databases (destructive)"},
		&cli.DurationFlag{Name: "timeout", Usage: "how long to wait for the success line and the health endpoints (default: [start] timeout, else 10m)"},
		&cli.DurationFlag{Name: "stability", Usage: "how long the server must stay up after the success line (default: [start] stability, else 10s)"},
	}
}

func formatFlag() cli.Flag {
	return &cli.StringFlag{Name: "format", Value: "text", Usage: "text or json"}
}

func stopTimeoutFlag() cli.Flag {
	return &cli.DurationFlag{Name: "stop-timeout", Usage: "how long to wait after SIGTERM before SIGKILL (default: [start] stop_timeout, else 2m)"}
}

func startCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:        "start",
		Usage:       "start the server in the background and judge its boot",
		ArgsUsage:   " ",
		Description: startDescription + exitStatusHelp,
		Flags:       append(startFlags(), formatFlag()),
		Action:      func(c *cli.Context) error { return e.runStart(c, false) },
	}
}

func restartCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "restart",
		Usage:     "stop the server if it runs, then start it and judge its boot",
		ArgsUsage: " ",
		Description: `restart is stop (SIGTERM, then SIGKILL after --stop-timeout) followed by start; see
carbonguard start --help for the launch, the gate and the verdict.

` + exitStatusHelp,
		Flags:  append(startFlags(), formatFlag(), stopTimeoutFlag()),
		Action: func(c *cli.Context) error { return e.runStart(c, true) },
	}
}

func runCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run the server in the foreground (systemd Type=notify, Ctrl+C stops it)",
		ArgsUsage: " ",
		Description: `run runs the stock startup script in the foreground (its 121 restart loop kept) with the
server's console on stdout and stderr. The boot is judged as by start (systemd: STATUS= while
waiting, READY=1 once up) and saved, but not printed: the console is the output. SIGINT, SIGTERM
and SIGHUP stop the server in order (SIGTERM to the JVM; a second Ctrl+C, or --stop-timeout,
kills it). A failed boot of a server that keeps running is stopped (exit 10). Otherwise
carbonguard exits with the server's own exit status (143 after SIGTERM, as every JVM does).

Recommended systemd unit: Type=notify, NotifyAccess=main, ExecStart=carbonguard --home H run,
KillMode=mixed, SuccessExitStatus=143, TimeoutStartSec and TimeoutStopSec above carbonguard's
timeout and stop timeout.

` + exitStatusHelp,
		Flags:  append(startFlags(), stopTimeoutFlag()),
		Action: func(c *cli.Context) error { return e.runRun(c) },
	}
}

func stopCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "stop",
		Usage:     "stop the server: SIGTERM, wait, then SIGKILL",
		ArgsUsage: " ",
		Description: `stop sends SIGTERM to the server named by the PID file (as the stock script's stop does),
waits up to --stop-timeout for it to exit (the stock stop does not wait), then sends SIGKILL. A
stale PID file (naming no running server of this pack) is removed, and so is the stopped server's
(the kernel leaves it behind). Stopping a server that does not run succeeds (exit 0).

` + exitStatusHelp,
		Flags:  []cli.Flag{formatFlag(), stopTimeoutFlag()},
		Action: func(c *cli.Context) error { return e.runStop(c) },
	}
}

func statusCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "is the server running: PID, uptime, listening ports, the last boot verdict",
		ArgsUsage: " ",
		Description: `status reports whether the pack's server runs (PID file and a live process whose
command line names this home), since when, which ports of the pack's port table listen (and
whether the server or another process holds them), the last boot verdict, and the update
transaction, if one is open. It exits 0 when the server runs and 5 when it does not.

` + exitStatusHelp,
		Flags:  []cli.Flag{formatFlag()},
		Action: func(c *cli.Context) error { return e.runStatus(c) },
	}
}

// startSession is what every server command opens.
type startSession struct {
	pack  *pack.Pack
	state string
	cfg   *fileConfig
	log   zerolog.Logger
	srv   *wrapper.Server
	opts  wrapper.Options
}

func checkFormat(c *cli.Context) (string, error) {
	f := c.String("format")
	if f == "" {
		f = "text"
	}
	if f != "text" && f != "json" {
		return "", usagef("--format %q: use text or json", f)
	}
	return f, nil
}

// serverSession builds the wrapper from the flags and carbonguard.toml.
// launching adds the launch flags (start, run, restart).
func (e *env) serverSession(c *cli.Context, launching bool) (*startSession, error) {
	if c.Args().Len() > 0 {
		return nil, usagef("%s takes no arguments (got %q)", c.Command.Name, c.Args().First())
	}
	log, err := e.logger(c)
	if err != nil {
		return nil, err
	}
	home, err := e.homeDir(c)
	if err != nil {
		return nil, err
	}
	cfg, err := e.loadConfig(c, home)
	if err != nil {
		return nil, err
	}
	state, err := e.stateDir(c, home)
	if err != nil {
		return nil, err
	}
	o := hookServerOptions(cfg, state, log, false)
	o.Properties = maps.Clone(cfg.Start.Properties)
	if d := c.Duration("stop-timeout"); d > 0 {
		o.StopTimeout = d
	}
	var userArgs []string
	if launching {
		if c.Bool("allow-root") {
			o.AllowRoot = true
		}
		if c.Bool("setup") {
			o.Setup = true
		}
		if d := c.Duration("timeout"); d > 0 {
			o.Timeout = d
		}
		if d := c.Duration("stability"); d > 0 {
			o.Stability = d
		}
		var props map[string]string
		userArgs, props, err = dProps(c.StringSlice("D"))
		if err != nil {
			return nil, err
		}
		if len(props) > 0 && o.Properties == nil {
			o.Properties = map[string]string{}
		}
		maps.Copy(o.Properties, props)
		o.Force, o.ForceReason = c.Bool("force"), c.String("force-reason")
		if o.Force && o.ForceReason == "" {
			return nil, usagef("--force needs --force-reason \"why\": the override is logged with who did it and why")
		}
		if !o.Force && o.ForceReason != "" {
			return nil, usagef("--force-reason without --force")
		}
		if fo := c.String("fail-on"); fo != "" {
			if _, err := validate.ParseSeverity(fo); err != nil {
				return nil, usagef("--fail-on: %v", err)
			}
		}
		n, err := wrapper.NewNotifier(e.getenv("NOTIFY_SOCKET"))
		if err != nil {
			log.Warn().Err(err).Msg("systemd notifications are off")
		}
		o.Notify = n
	}
	args, err := wrapper.ScriptArgs(o)
	if err != nil {
		return nil, usagef("carbonguard.toml [start] or flags: %v", err)
	}
	p, err := pack.OpenWith(home, pack.Options{SysProps: pack.ScriptArgProps(args), Logger: log})
	if err != nil {
		return nil, err
	}
	if launching {
		o.Gate = e.startGate(c, cfg, p, userArgs, log)
	}
	o.StatusSections = append(o.StatusSections, updateStatusSection(state))
	srv, err := wrapper.New(p, o)
	if err != nil {
		return nil, usagef("carbonguard.toml [start]: %v", err)
	}
	return &startSession{pack: p, state: state, cfg: cfg, log: log, srv: srv, opts: o}, nil
}

// startGate runs the production checks on the launch about to be made.
func (e *env) startGate(c *cli.Context, cfg *fileConfig, p *pack.Pack, userArgs []string, log zerolog.Logger) wrapper.GateFunc {
	if cfg.Start.Gate != nil && !*cfg.Start.Gate {
		return nil
	}
	failOn := c.String("fail-on")
	if failOn == "" {
		failOn = cfg.Start.FailOn
	}
	return func(ctx context.Context) (wrapper.GateResult, error) {
		policy, err := checkPolicy(cfg, failOn, false)
		if err != nil {
			return wrapper.GateResult{}, err
		}
		policy.ToolVersion, policy.Logger = version, log
		start, err := startFacts(cfg, e)
		if err != nil {
			return wrapper.GateResult{}, err
		}
		start.UserArgs = userArgs
		rep, blocked, err := validate.Gate(ctx, p, validate.GateOptions{Collect: validate.CollectOptions{Start: start, Logger: log}, Policy: policy})
		if err != nil {
			return wrapper.GateResult{}, err
		}
		summary := rep.SeveritySummary()
		if summary == "" {
			summary = "none"
		}
		return wrapper.GateResult{Blocked: blocked, Threshold: rep.FailOn.String(), Summary: summary, Findings: rep.BlockingLines()}, nil
	}
}

// updateStatusSection adds the update transaction to status.
func updateStatusSection(state string) func(context.Context) (wrapper.StatusSection, error) {
	return func(context.Context) (wrapper.StatusSection, error) {
		sec := wrapper.StatusSection{Name: "update"}
		rep, err := hooks.Status(state)
		if err != nil {
			return sec, err
		}
		sec.Data = rep
		switch {
		case rep.Open != nil:
			sec.Text = fmt.Sprintf("transaction %s is %s; %s", rep.Open.ID, rep.Open.State, rep.Next)
		case rep.Next != "":
			sec.Text = rep.Next
		default:
			sec.Text = "no update in progress"
		}
		return sec, nil
	}
}

func (e *env) runStart(c *cli.Context, restart bool) error {
	format, err := checkFormat(c)
	if err != nil {
		return err
	}
	s, err := e.serverSession(c, true)
	if err != nil {
		return err
	}
	ctx, stop := signalContext(c.Context)
	defer stop()
	hx, err := e.hooksEnvForStart(s.pack, s.state, s.cfg, s.log, s.srv)
	if err != nil {
		return err
	}
	var stopped *wrapper.StopResult
	launch := s.srv.Start
	if restart {
		launch = func(ctx context.Context) (*wrapper.Verdict, error) {
			sr, v, err := s.srv.Restart(ctx)
			stopped = sr
			return v, err
		}
	}
	v, err := e.guardStart(ctx, hx, launch)
	if v != nil {
		if perr := e.printVerdict(format, v, stopped); perr != nil {
			return perr
		}
	}
	return err
}

func (e *env) printVerdict(format string, v *wrapper.Verdict, stopped *wrapper.StopResult) error {
	if format == "json" {
		if stopped != nil {
			return writeJSON(e.stdout, struct {
				SchemaVersion int                 `json:"schema_version"`
				Stop          *wrapper.StopResult `json:"stop"`
				Verdict       *wrapper.Verdict    `json:"verdict"`
			}{wrapper.VerdictSchemaVersion, stopped, v})
		}
		return writeJSON(e.stdout, v)
	}
	if stopped != nil {
		if err := writeStopText(e.stdout, stopped); err != nil {
			return err
		}
	}
	return v.WriteText(e.stdout)
}

func (e *env) runRun(c *cli.Context) error {
	s, err := e.serverSession(c, true)
	if err != nil {
		return err
	}
	// Signals go to Run, which stops the server in order; the context is
	// left alone so that a signal does not also cut the verdict short.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	verdicts := make(chan *wrapper.Verdict, 1)
	o := s.opts
	o.Stdout, o.Stderr = e.stdout, e.stderr
	o.OnVerdict = func(v *wrapper.Verdict) {
		select {
		case verdicts <- v:
		default:
		}
	}
	srv, err := wrapper.New(s.pack, o)
	if err != nil {
		return usagef("carbonguard.toml [start]: %v", err)
	}
	hx, err := e.hooksEnvForStart(s.pack, s.state, s.cfg, s.log, srv)
	if err != nil {
		return err
	}
	type outcome struct {
		res *wrapper.RunResult
		err error
	}
	done := make(chan outcome, 1)
	ctx := c.Context
	if ctx == nil {
		ctx = context.Background()
	}
	launch := func(ctx context.Context) (*wrapper.Verdict, error) {
		go func() {
			res, err := srv.Run(context.WithoutCancel(ctx), sigs)
			done <- outcome{res, err}
		}()
		select {
		case v := <-verdicts:
			return v, nil
		case out := <-done:
			done <- out // runRun reads it again below
			if out.res != nil && out.res.Verdict != nil {
				return out.res.Verdict, nil
			}
			return nil, out.err
		}
	}
	v, gerr := e.guardStart(ctx, hx, launch)
	if v == nil {
		// Nothing was launched: refused (root, gate, already running) or
		// the update transaction could not begin.
		return gerr
	}
	out := <-done
	var rolledBack *hooks.RolledBackError
	if errors.As(gerr, &rolledBack) {
		// The first boot after an update failed and the pack was rolled
		// back; the restored server was started in the background. run is
		// the unit's main process under systemd: it stays in the
		// foreground over the restored server instead of exiting (which
		// would make systemd kill it), and stops it on a signal.
		s.log.Error().Err(gerr).Msg("the update was rolled back; supervising the restored server")
		res, aerr := srv.Attach(ctx, sigs)
		if aerr != nil {
			return errors.Join(gerr, aerr)
		}
		return codeError{code: res.ExitStatus}
	}
	if gerr != nil {
		// The update transaction stopped this run's server and could not
		// bring the old version up (needs attention), or failed: its
		// outcome is the answer.
		return gerr
	}
	if out.err != nil {
		return out.err
	}
	if st := out.res.ExitStatus; st != 0 {
		if st < 0 || st > 255 {
			st = exitFailure
		}
		return codeError{code: st}
	}
	return nil
}

func (e *env) runStop(c *cli.Context) error {
	format, err := checkFormat(c)
	if err != nil {
		return err
	}
	s, err := e.serverSession(c, false)
	if err != nil {
		return err
	}
	ctx, stop := signalContext(c.Context)
	defer stop()
	res, err := s.srv.Stop(ctx)
	if res != nil {
		var perr error
		if format == "json" {
			perr = writeJSON(e.stdout, struct {
				SchemaVersion int `json:"schema_version"`
				*wrapper.StopResult
			}{wrapper.VerdictSchemaVersion, res})
		} else {
			perr = writeStopText(e.stdout, res)
		}
		if perr != nil && err == nil {
			err = perr
		}
	}
	return err
}

func writeStopText(w io.Writer, r *wrapper.StopResult) error {
	var err error
	pf := func(format string, a ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, a...)
		}
	}
	switch {
	case !r.WasRunning:
		pf("not running\n")
	case r.Killed:
		pf("stopped: pid %d killed (SIGKILL) after ignoring SIGTERM, in %s\n", r.PID, time.Duration(r.TookMS)*time.Millisecond)
	default:
		pf("stopped: pid %d exited after SIGTERM in %s\n", r.PID, time.Duration(r.TookMS)*time.Millisecond)
	}
	for _, n := range r.Notes {
		pf("  note: %s\n", n)
	}
	return err
}

func (e *env) runStatus(c *cli.Context) error {
	format, err := checkFormat(c)
	if err != nil {
		return err
	}
	s, err := e.serverSession(c, false)
	if err != nil {
		return err
	}
	st, err := s.srv.Status(c.Context)
	if err != nil {
		return err
	}
	if format == "json" {
		err = writeJSON(e.stdout, st)
	} else {
		err = st.WriteText(e.stdout)
	}
	if err != nil {
		return err
	}
	if !st.Running {
		return codeError{code: exitServerState}
	}
	return nil
}
