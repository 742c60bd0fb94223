package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/user"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/hooks"
	"github.com/carbonguard/carbonguard/validate"
	"github.com/carbonguard/carbonguard/wrapper"
)

// What start, run and restart share: the launch flags, their options, and
// the wrapped start inside the update transaction.

// launchNeeds: a launch reads a valid pack configuration (the ports the
// verdict probes, the checks of the gate).
var launchNeeds = needs{config: true, state: true, pack: packConfig}

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

// launchOptions are a launch's: the wrapper's options from [start] and the
// flags, and the check gate's.
type launchOptions struct {
	server   wrapper.Options
	userArgs []string // the operator's -D key=value, as script arguments
	gate     bool     // run the checks before the launch ([start] gate)
	failOn   string   // the gate's threshold: --fail-on, else [start] fail_on ("" = [check] fail_on, else high)
}

func newLaunchOptions(c *cli.Context, s *session) (launchOptions, error) {
	if err := noArgs(c, c.Command.Name); err != nil {
		return launchOptions{}, err
	}
	o := launchOptions{server: s.serverOptions(), gate: s.cfg.Start.Gate == nil || *s.cfg.Start.Gate, failOn: s.cfg.Start.FailOn}
	so := &o.server
	so.Properties = maps.Clone(so.Properties)
	if d := c.Duration("stop-timeout"); d > 0 {
		so.StopTimeout = d
	}
	if c.Bool("allow-root") {
		so.AllowRoot = true
	}
	if c.Bool("setup") {
		so.Setup = true
	}
	if d := c.Duration("timeout"); d > 0 {
		so.Timeout = d
	}
	if d := c.Duration("stability"); d > 0 {
		so.Stability = d
	}
	args, props, err := dProps(c.StringSlice("D"))
	if err != nil {
		return o, err
	}
	o.userArgs = args
	if len(props) > 0 && so.Properties == nil {
		so.Properties = map[string]string{}
	}
	maps.Copy(so.Properties, props)
	so.Force, so.ForceReason = c.Bool("force"), c.String("force-reason")
	if so.Force && so.ForceReason == "" {
		return o, usagef("--force needs --force-reason \"why\": the override is logged with who did it and why")
	}
	if !so.Force && so.ForceReason != "" {
		return o, usagef("--force-reason without --force")
	}
	if fo := c.String("fail-on"); fo != "" {
		if _, err := validate.ParseSeverity(fo); err != nil {
			return o, usagef("--fail-on: %v", err)
		}
		o.failOn = fo
	}
	return o, nil
}

// launcher builds the wrapper for a launch: systemd notifications when
// $NOTIFY_SOCKET is set, and the check gate.
func (s *session) launcher(o launchOptions) (*wrapper.Server, error) {
	n, err := wrapper.NewNotifier(s.getenv("NOTIFY_SOCKET"))
	if err != nil {
		s.log.Warn().Err(err).Msg("systemd notifications are off")
	}
	o.server.Notify = n
	if o.gate {
		o.server.Gate = s.startGate(o)
	}
	return s.server(o.server)
}

// guardStart runs a wrapped start inside the update transaction (the third
// flow, hooks.Start) and tells the operator what it does. launch starts the
// server and returns the verdict (nil with an error when no start was
// attempted). guardStart returns the verdict to report and launch's error,
// or the transaction's typed error (exit 32 or 33).
func (s *session) guardStart(ctx context.Context, hx hooks.Env, launch func(context.Context) (*wrapper.Verdict, error)) (*wrapper.Verdict, error) {
	res, err := hooks.Start(ctx, hooks.StartOptions{Env: hx, Launch: launch, Starting: func(tx *hooks.Tx) {
		if tx != nil {
			fmt.Fprintf(s.stderr, "carbonguard: first boot after update %s (level %s -> %s): an up boot commits it, any other rolls it back\n",
				tx.ID, levelText(tx.LevelBefore), levelText(tx.LevelAfter))
		}
	}})
	if res == nil {
		return nil, err
	}
	if f := res.FailedFirstBoot; f != nil {
		// After a rollback the verdict that matters is the restored pack's
		// boot; the failed one is in the error and the failed directory.
		fmt.Fprintf(s.stderr, "carbonguard: first boot after update %s: %s: %s; rolled back, the verdict below is the restored pack's\n", res.Tx.ID, f.State, f.Reason)
	}
	if res.Outcome == hooks.OutcomeCommitted {
		fmt.Fprintf(s.stderr, "carbonguard: update %s committed\n", res.Tx.ID)
	}
	return res.Verdict, err
}

// lockForServer takes the pack's lock for op, a change of the server's
// state (stop): for as long as the change takes, not for the server's
// lifetime. While a guarded operation holds it (an update, a first boot
// being judged, a rollback starting the old version) op is refused with
// exit 4, unless force, which is logged with who forced it. start, run and
// restart take the same lock through hooks.Start.
func (s *session) lockForServer(op string, force bool) (release func(), err error) {
	lock, err := hooks.AcquireLock(s.state, op)
	var locked *hooks.LockedError
	switch {
	case err == nil:
		return func() { _ = lock.Release() }, nil
	case errors.As(err, &locked) && force:
		s.log.Warn().Str("op", op).Str("user", currentUser()).Str("holder", locked.Holder.String()).
			Msg("--force: going on although another guarded operation holds the pack's lock")
		fmt.Fprintf(s.stderr, "carbonguard: warning: --force: %s while %s holds the pack's lock\n", op, locked.Holder)
		return func() {}, nil
	case errors.As(err, &locked):
		return nil, &serverLockedError{op: op, err: locked}
	default:
		return nil, err
	}
}

// serverLockedError refuses a change of the server's state while a guarded
// operation holds the lock; it is the LockedError (exit 4) with the advice
// of the command.
type serverLockedError struct {
	op  string
	err *hooks.LockedError
}

func (e *serverLockedError) Error() string {
	return fmt.Sprintf("not going to %s the server: %v", e.op, e.err)
}

func (e *serverLockedError) Unwrap() error { return e.err }

func (e *serverLockedError) Hint() string {
	return fmt.Sprintf("let PID %d finish (carbonguard status shows what it does): a server stopped under an update's first boot is judged failed and rolled back, and one stopped after a rollback stays down; carbonguard %s --force does it anyway", e.err.Holder.PID, e.op)
}

// currentUser names who runs carbonguard, for the log of an override.
func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "uid " + strconv.Itoa(os.Getuid())
}
