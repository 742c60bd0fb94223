package main

import (
	"context"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"
)

// version is stamped at release time with -ldflags "-X main.version=...";
// an unstamped build names itself from its build information (buildVersion).
var version = "dev"

func init() {
	if version == "dev" {
		version = buildVersion(debug.ReadBuildInfo())
	}
}

// buildVersion is the version of an unstamped build: the module version a
// "go install ...@v1.2.3" records, else 0.0.0-dev with the VCS revision
// when the build has one. Reports (SARIF's tool.driver.version, snapshot
// manifests) need a version that starts with a number.
func buildVersion(bi *debug.BuildInfo, ok bool) string {
	if !ok || bi == nil {
		return "0.0.0-dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return strings.TrimPrefix(v, "v")
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "0.0.0-dev"
	}
	v := "0.0.0-dev+" + rev[:min(12, len(rev))]
	if dirty {
		v += ".dirty"
	}
	return v
}

// env is the process environment a command talks to; tests replace it.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	lineOnce sync.Once
	line     *statusLine // stderr's progress line, shared by the bar and the logger
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	app := &cli.App{
		Name:    "carbonguard",
		Usage:   "safe updates and starts for WSO2 Carbon products",
		Version: version,
		Description: `carbonguard guards a WSO2 Carbon product home ("the pack": API Manager, Identity Server,
Micro Integrator). It snapshots the whole pack before every update, checks production settings
before every start, supervises the start and judges the boot, and rolls back automatically when
the first boot after an update fails.

HOME, STATE AND CONFIG:
   --home      the pack: --home, else $CARBON_HOME, else the current directory if it is a pack.
   --state     carbonguard's state for this pack (snapshots, journal, lock, verdicts). It must be
               outside the pack. Default: $CARBONGUARD_STATE_DIR/<pack>-<hash> if set, else
               /var/lib/carbonguard/<pack>-<hash> for root, else
               ${XDG_STATE_HOME:-~/.local/state}/carbonguard/<pack>-<hash>, where <pack> is the
               home's base name and <hash> the first 12 hex digits of the SHA-256 of its real path.
   --config    carbonguard.toml: --config, else $CARBONGUARD_CONFIG, else <home>/carbonguard.toml,
               else /etc/carbonguard/carbonguard.toml; none found means the built-in defaults.

` + exitStatusHelp,
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		HideHelpCommand:      true,
		Flags:                append(globalFlags(), cli.HelpFlag), // urfave adds it only beside its own help command
		ExitErrHandler:       func(*cli.Context, error) {},        // main maps errors to exit codes, not cli
		OnUsageError:         onUsageError,
		Before:               e.checkGlobals,
		Action:               parentAction,
		Commands:             append(commands(e), helpCommand()),
	}
	// Every command takes the global flags too (carbonguard status --quiet),
	// answers flag mistakes in one line (usage.go), and a command with
	// subcommands answers an unknown one.
	var typed func(string, []*cli.Command)
	typed = func(parent string, cmds []*cli.Command) {
		for _, c := range cmds {
			path := strings.TrimSpace(parent + " " + c.Name)
			completeHelp(path, c)
			c.OnUsageError = onUsageError
			own := map[string]bool{}
			for _, f := range c.Flags {
				for _, n := range f.Names() {
					own[n] = true
				}
			}
			for _, f := range globalFlags() {
				if !own[f.Names()[0]] {
					c.Flags = append(c.Flags, f)
				}
			}
			if len(c.Subcommands) > 0 && c.Action == nil {
				c.Action = parentAction
			}
			// Global flags given after the command are checked there.
			before := c.Before
			c.Before = func(ctx *cli.Context) error {
				if err := e.checkGlobals(ctx); err != nil {
					return err
				}
				if before != nil {
					return before(ctx)
				}
				return nil
			}
			typed(path, c.Subcommands)
		}
	}
	typed("", app.Commands)
	return app
}

// globalCategory groups the global flags in a command's help.
const globalCategory = "GLOBAL OPTIONS (before or after the command)"

// globalFlags are the app's flags; every command takes them as well, so
// each call makes new ones (urfave/cli keeps a flag's state in the flag).
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "home", Category: globalCategory, Usage: "the product home (default: $CARBON_HOME, else the current directory if it is a pack); only check takes it more than once"},
		&cli.StringFlag{Name: "state", Category: globalCategory, Usage: "carbonguard's state directory for this pack (default: see HOME, STATE AND CONFIG)"},
		&cli.StringFlag{Name: "config", Category: globalCategory, Usage: "carbonguard.toml (default: see HOME, STATE AND CONFIG)"},
		&cli.StringFlag{Name: "log-format", Category: globalCategory, Usage: "console or json (default: console on a terminal, else json)"},
		&cli.StringFlag{Name: "log-level", Category: globalCategory, Value: "info", Usage: "debug, info, warn or error"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Category: globalCategory, Usage: "log only warnings and errors; no progress bars"},
	}
}

// commands lists every subcommand; each lives in its own cmd_*.go file.
func commands(e *env) []*cli.Command {
	return []*cli.Command{
		versionCommand(e),
		packCommand(e),
		snapshotCommand(e),
		checkCommand(e),
		startCommand(e),
		runCommand(e),
		stopCommand(e),
		restartCommand(e),
		statusCommand(e),
		checksCommand(e),
		portsCommand(e),
		updateCommand(e),
		hookCommand(e),
		rollbackCommand(e),
		drillCommand(e),
		historyCommand(e),
		completionCommand(e),
		completeCommand(e),
	}
}

// action is the Action of a command that runs on a pack: open the session
// it needs, fill its options from the flags and carbonguard.toml (the one
// place that reads them), and run it. Tests call the run function directly
// with a session and options of their own.
func action[O any](e *env, n needs, options func(*cli.Context, *session) (O, error), run func(context.Context, *session, O) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		s, err := e.openSession(c, "", n)
		if err != nil {
			return err
		}
		o, err := options(c, s)
		if err != nil {
			return err
		}
		return run(contextOf(c), s, o)
	}
}

func contextOf(c *cli.Context) context.Context {
	if c.Context == nil {
		return context.Background()
	}
	return c.Context
}

// checkGlobals refuses bad global flags and an unreadable or invalid
// --config before any command runs, so a typo never half-runs a command.
func (e *env) checkGlobals(c *cli.Context) error {
	g := globalsOf(c)
	if _, err := e.logger(g); err != nil {
		return err
	}
	// --home a --home b names several packs; only check judges several at
	// once. Any other command would act on one of them only: refuse.
	if len(g.homes) > 1 {
		if cmd := c.Args().First(); cmd != "check" && cmd != "" && cmd != "help" {
			return usagef("--home is given %d times (%s), but %s acts on one pack; name one home (only check takes several: carbonguard --home a --home b check)",
				len(g.homes), strings.Join(g.homes, ", "), cmd)
		}
	}
	if g.config != "" || e.getenv("CARBONGUARD_CONFIG") != "" {
		if _, err := e.loadConfig(g, ""); err != nil {
			return err
		}
	}
	return nil
}
