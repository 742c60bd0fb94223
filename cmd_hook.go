package main

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/hooks"
)

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
`,
		Subcommands: []*cli.Command{
			{
				Name:  "pre-update",
				Usage: "lock, check, snapshot and open the update transaction",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "stop-server", Usage: "stop a running server instead of refusing"},
					&cli.BoolFlag{Name: "u2-backup", Usage: "your u2 run takes its own backup (only changes the free-space estimate)"},
					&cli.BoolFlag{Name: "no-checks", Usage: "skip the production-checks report"},
					textOrJSON.flag(),
				},
				Action: action(e, guardNeeds, newHookOptions, runPreUpdate),
			},
			{
				Name:  "post-update",
				Usage: "act on the exit code of your u2 run",
				Flags: []cli.Flag{
					&cli.IntFlag{Name: "exit-code", Usage: "u2's exit code (required)"},
					&cli.BoolFlag{Name: "start", Usage: "after exit code 0, start the server and judge its boot"},
					&cli.BoolFlag{Name: "allow-root", Usage: "with --start: let the server run as root"},
					textOrJSON.flag(),
				},
				Action: action(e, guardNeeds, newHookOptions, runPostUpdate),
			},
		},
	}
}

// hookOptions are hook pre-update's and post-update's (each reads its own).
type hookOptions struct {
	format     string
	stopServer bool // pre-update
	u2Backup   bool // pre-update
	noChecks   bool // pre-update
	exitCode   int  // post-update
	start      bool // post-update
	allowRoot  bool // post-update
}

func newHookOptions(c *cli.Context, s *session) (hookOptions, error) {
	format, err := textOrJSON.of(c)
	if err != nil {
		return hookOptions{}, err
	}
	if err := noArgs(c, "hook "+c.Command.Name); err != nil {
		return hookOptions{}, err
	}
	if c.Command.Name == "post-update" && !c.IsSet("exit-code") {
		return hookOptions{}, usagef("hook post-update needs --exit-code N, the exit code of your u2 run")
	}
	return hookOptions{
		format: format, stopServer: c.Bool("stop-server"), u2Backup: c.Bool("u2-backup"), noChecks: c.Bool("no-checks"),
		exitCode: c.Int("exit-code"), start: c.Bool("start"), allowRoot: c.Bool("allow-root"),
	}, nil
}

func runPreUpdate(ctx context.Context, s *session, o hookOptions) error {
	hx, bar, err := s.guardEnv(false)
	if err != nil {
		return err
	}
	defer bar.close()
	ho := hooks.HookOptions{Env: hx, StopServer: o.stopServer, U2Backup: o.u2Backup}
	if !o.noChecks {
		ho.Preflight = s.updateChecksReport()
	}
	ctx, cancel := signalContext(ctx)
	defer cancel()
	res, err := hooks.PreUpdate(ctx, ho)
	bar.close()
	return s.reportGuarded(o.format, "hook pre-update", res, err)
}

func runPostUpdate(ctx context.Context, s *session, o hookOptions) error {
	hx, bar, err := s.guardEnv(o.allowRoot)
	if err != nil {
		return err
	}
	defer bar.close()
	ctx, cancel := signalContext(ctx)
	defer cancel()
	res, err := hooks.PostUpdate(ctx, hooks.HookOptions{Env: hx, Start: o.start}, o.exitCode)
	bar.close()
	return s.reportGuarded(o.format, "hook post-update", res, err)
}
