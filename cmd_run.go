package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/hooks"
	"github.com/carbonguard/carbonguard/wrapper"
)

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
`,
		Flags:  append(startFlags(), stopTimeoutFlag()),
		Action: action(e, launchNeeds, newLaunchOptions, runRun),
	}
}

func runRun(ctx context.Context, s *session, o launchOptions) error {
	// Signals go to Run, which stops the server in order; the context is
	// left alone so that a signal does not also cut the verdict short.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	verdicts := make(chan *wrapper.Verdict, 1)
	o.server.Stdout, o.server.Stderr = s.stdout, s.stderr
	o.server.OnVerdict = func(v *wrapper.Verdict) {
		select {
		case verdicts <- v:
		default:
		}
	}
	srv, err := s.launcher(o)
	if err != nil {
		return err
	}
	hx, err := s.hooksEnv(srv, nil)
	if err != nil {
		return err
	}
	type outcome struct {
		res *wrapper.RunResult
		err error
	}
	done := make(chan outcome, 1)
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
	v, gerr := s.guardStart(ctx, hx, launch)
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
