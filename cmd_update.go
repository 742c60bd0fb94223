package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/clone"
	"github.com/carbonguard/carbonguard/hooks"
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

Arguments after -- go to u2 as they are (e.g. -- --level 13 --channel security); credentials
(-p..., --password, --pass=..., or a credential's value) and u2's short flags are refused there,
without echoing them, and nothing is run or kept.

Credentials: --username, with the password from --password-file or --password-stdin; else u2
reads UPDATE_TOOL_USERNAME and UPDATE_TOOL_PASSWORD from carbonguard's own environment. They are
masked in everything carbonguard prints or keeps, in every form u2 may print them (base64, a
Basic authorization header, percent-encoded, hex), and the server never gets them in its
environment. (u2 tools older than the 2026-05 docs may not read the variables; with stdin closed
they then fail instead of prompting, and the snapshot is restored.)

--rehearse (or [update] rehearse = true) makes the update a rehearsal first, while the live server
keeps running: a copy of the pack is laid down (from the newest verified snapshot when the pack's
code and configuration are still what it holds, else from a fresh one, used for the copy only),
u2 runs on the copy with a HOME of its own (u2's state in ~/.wso2-updates stays the live pack's),
and the updated copy boots isolated and is judged as carbonguard drill does ([drill] network and
overrides). A copy that does not boot up ends the update there: exit 35, the live pack and server
untouched, the copy's verdict and logs kept. Only after an up verdict is the live server stopped,
the pre-update snapshot taken, and what u2 changed (files added, removed, modified, modes) applied
to the live pack, journaled; then the server is started and judged as with --start (a failed boot
rolls back). If the live pack changed a file since the copy was made that the update changes too,
u2 runs on the live pack instead, as without --rehearse. The report gives the live outage (stop
to up verdict) beside the rehearsal's time and u2's. Conflicts stop the rehearsal with the copy
kept: merge in the copy, then update --continue. --rehearse-only stops after the copy's up verdict,
the server still running; update --continue then applies (with --stop-server --start, or between
a service manager's stop and start: what bin/carbonguard-update.sh --rehearse does for a systemd
unit).

The journal of transactions is in <state>/journal (carbonguard history); u2's output is kept
there too. A process killed at any step leaves a state that carbonguard status reports and the
next update, start or rollback finishes or undoes.

`

// guardNeeds: the update commands read a valid pack configuration (the
// production checks, the ports of the first boot's verdict).
var guardNeeds = needs{config: true, state: true, pack: packConfig}

func updateCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:        "update",
		Usage:       "run u2 as a guarded update: snapshot, update, and roll back if the first boot fails",
		ArgsUsage:   "[-- U2 ARGS...]",
		Description: updateHelp,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "start", Usage: "start the server after a successful update and judge its boot (commit or roll back)"},
			&cli.BoolFlag{Name: "stop-server", Usage: "stop a running server instead of refusing"},
			&cli.BoolFlag{Name: "continue", Usage: "continue the update that stopped on conflicts (after writing each FILE.final)"},
			&cli.BoolFlag{Name: "rehearse", Usage: "rehearse first: u2 on a copy booted isolated while the server runs; stop it only if the copy came up (default: [update] rehearse)"},
			&cli.BoolFlag{Name: "rehearse-only", Usage: "rehearse and stop after the copy's up verdict; update --continue applies it (for a server that systemd stops and starts)"},
			&cli.StringFlag{Name: "u2", Usage: "the update tool (default: [update] u2, else <home>/bin/wso2update_linux)"},
			&cli.StringFlag{Name: "username", Usage: "WSO2 account for u2 (passed as UPDATE_TOOL_USERNAME)"},
			&cli.StringFlag{Name: "password-file", Usage: "read the u2 password from this file (first line)"},
			&cli.BoolFlag{Name: "password-stdin", Usage: "read the u2 password from stdin (first line)"},
			&cli.IntFlag{Name: "self-update-max", Usage: "re-runs after u2 exit code 2 (default: [update] self_update_max, else 3)"},
			&cli.DurationFlag{Name: "u2-timeout", Usage: "kill u2 after this long and restore the snapshot (default: no limit)"},
			&cli.BoolFlag{Name: "no-checks", Usage: "skip the production-checks report (the safety preflight still runs)"},
			&cli.BoolFlag{Name: "allow-root", Usage: "with --start: let the server run as root (see start)"},
			textOrJSON.flag(),
		},
		Action: action(e, guardNeeds, newUpdateOptions, runUpdate),
	}
}

type updateOptions struct {
	format             string
	allowRoot          bool
	u2                 string
	u2Args             []string
	username, password string
	selfUpdateMax      int
	u2Backup           bool
	u2Timeout          time.Duration
	cont, stopServer   bool
	start, noChecks    bool
	rehearse           bool
	rehearseOnly       bool
	rehearsal          hooks.RehearseOptions
}

func newUpdateOptions(c *cli.Context, s *session) (updateOptions, error) {
	format, err := textOrJSON.of(c)
	if err != nil {
		return updateOptions{}, err
	}
	o := updateOptions{
		format: format, allowRoot: c.Bool("allow-root"),
		u2: c.String("u2"), u2Args: c.Args().Slice(), username: c.String("username"),
		selfUpdateMax: s.cfg.Update.SelfUpdateMax, u2Timeout: c.Duration("u2-timeout"),
		cont: c.Bool("continue"), stopServer: c.Bool("stop-server"), start: c.Bool("start"), noChecks: c.Bool("no-checks"),
	}
	if o.cont && len(o.u2Args) > 0 {
		return o, usagef("update --continue takes no u2 arguments: it continues with the ones the update began with")
	}
	if o.password, err = password(c, s.stdin); err != nil {
		return o, err
	}
	if o.u2 == "" {
		o.u2 = s.cfg.Update.U2
	}
	if s.cfg.Update.U2Backup != nil {
		o.u2Backup = *s.cfg.Update.U2Backup
	}
	if c.IsSet("self-update-max") {
		o.selfUpdateMax = c.Int("self-update-max")
	}
	o.rehearse = s.cfg.Update.Rehearse
	if c.IsSet("rehearse") {
		o.rehearse = c.Bool("rehearse")
	}
	o.rehearseOnly = c.Bool("rehearse-only")
	if o.rehearseOnly && o.cont {
		return o, usagef("update --rehearse-only --continue: --continue applies a rehearsal that stopped; give one of them")
	}
	if o.rehearsal, err = s.rehearseOptions(o.allowRoot); err != nil {
		return o, err
	}
	return o, nil
}

// rehearseOptions are how update --rehearse (and a --continue of one) lays
// its copy down and boots it: as a drill does, with [drill] network,
// timeout and overrides, the [start] settings, and [update] rehearse_dir.
func (s *session) rehearseOptions(allowRoot bool) (hooks.RehearseOptions, error) {
	network, err := clone.ParseNetwork(s.cfg.Drill.Network)
	if err != nil {
		return hooks.RehearseOptions{}, usagef("carbonguard.toml [drill] %v", err)
	}
	so := s.serverOptions()
	so.AllowRoot = so.AllowRoot || allowRoot
	if t := s.cfg.Drill.Timeout.Duration; t > 0 {
		so.Timeout = t
	}
	dir := s.cfg.Update.RehearseDir
	if dir != "" {
		if dir, err = filepath.Abs(dir); err != nil {
			return hooks.RehearseOptions{}, err
		}
	}
	return hooks.RehearseOptions{Dir: dir, Boot: clone.Options{Server: so, Network: network}, Overrides: s.cfg.Drill.Overrides}, nil
}

func runUpdate(ctx context.Context, s *session, o updateOptions) error {
	hx, bar, err := s.guardEnv(o.allowRoot)
	if err != nil {
		return err
	}
	defer bar.close()
	uo := hooks.UpdateOptions{
		Env: hx, U2: o.u2, U2Args: o.u2Args, Username: o.username, Password: o.password,
		SelfUpdateMax: o.selfUpdateMax, U2Backup: o.u2Backup, U2Timeout: o.u2Timeout,
		Continue: o.cont, StopServer: o.stopServer, Start: o.start,
		U2Env:    childEnviron(),
		Rehearse: o.rehearse && !o.cont, RehearseOnly: o.rehearseOnly, Rehearsal: o.rehearsal,
	}
	if !o.noChecks {
		uo.Preflight = s.updateChecksReport()
	}
	ctx, cancel := signalContext(ctx)
	defer cancel()
	res, err := hooks.Update(ctx, uo)
	bar.close()
	return s.reportGuarded(o.format, "update", res, err)
}

// password reads the u2 password from --password-file or --password-stdin.
func password(c *cli.Context, stdin io.Reader) (string, error) {
	file, fromStdin := c.String("password-file"), c.Bool("password-stdin")
	switch {
	case file != "" && fromStdin:
		return "", usagef("--password-file and --password-stdin: give one")
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			return "", usagef("--password-file: %v", err)
		}
		return firstLine(string(data)), nil
	case fromStdin:
		line, err := bufio.NewReader(stdin).ReadString('\n')
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
