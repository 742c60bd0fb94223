package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/pack"
)

// version is stamped at release time with -ldflags "-X main.version=...".
var version = "dev"

// env is the process environment; tests replace it.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
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
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "home", Usage: "the product home (default: $CARBON_HOME, else the current directory if it is a pack)"},
			&cli.StringFlag{Name: "state", Usage: "carbonguard's state directory for this pack (default: see HOME, STATE AND CONFIG)"},
			&cli.StringFlag{Name: "config", Usage: "carbonguard.toml (default: see HOME, STATE AND CONFIG)"},
			&cli.StringFlag{Name: "log-format", Usage: "console or json (default: console on a terminal, else json)"},
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "log only warnings and errors; no progress bars"},
		},
		ExitErrHandler: func(*cli.Context, error) {}, // main maps errors to exit codes, not cli
		OnUsageError:   onUsageError,
		Before:         e.checkGlobals,
		Commands:       commands(e),
	}
	var typed func([]*cli.Command)
	typed = func(cmds []*cli.Command) {
		for _, c := range cmds {
			c.OnUsageError = onUsageError
			typed(c.Subcommands)
		}
	}
	typed(app.Commands)
	return app
}

// onUsageError makes urfave/cli's flag errors (an unknown flag, a bad or
// missing value) usage errors, exit 2, after printing what urfave prints
// for them: the error and the command's help, on stdout.
func onUsageError(c *cli.Context, err error, isSubcommand bool) error {
	fmt.Fprintf(c.App.Writer, "Incorrect Usage: %s\n\n", err)
	if lineage := c.Lineage(); isSubcommand && len(lineage) > 1 {
		_ = cli.ShowCommandHelp(lineage[1], c.Command.Name)
	} else {
		_ = cli.ShowAppHelp(c)
	}
	return usageError{err}
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
		historyCommand(e),
		completionCommand(e),
	}
}

func versionCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print carbonguard's version",
		Action: func(c *cli.Context) error {
			fmt.Fprintf(e.stdout, "carbonguard %s\n", version)
			return nil
		},
	}
}

// checkGlobals refuses bad global flags and an unreadable or invalid
// --config before any command runs, so a typo never half-runs a command.
func (e *env) checkGlobals(c *cli.Context) error {
	if _, err := e.logger(c); err != nil {
		return err
	}
	if c.String("config") != "" || e.getenv("CARBONGUARD_CONFIG") != "" {
		if _, err := e.loadConfig(c, ""); err != nil {
			return err
		}
	}
	return nil
}

// logger builds the zerolog logger the global flags ask for. Logs go to stderr.
func (e *env) logger(c *cli.Context) (zerolog.Logger, error) {
	level := c.String("log-level")
	if c.Bool("quiet") {
		level = "warn"
	}
	lvl, err := zerolog.ParseLevel(strings.ToLower(level))
	if err != nil || level == "" {
		return zerolog.Nop(), usagef("--log-level %q: use debug, info, warn or error", level)
	}
	format := c.String("log-format")
	if format == "" {
		format = "json"
		if f, ok := e.stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			format = "console"
		}
	}
	var w io.Writer
	switch format {
	case "console":
		w = zerolog.ConsoleWriter{Out: e.stderr, TimeFormat: "15:04:05", NoColor: !isTerminal(e.stderr)}
	case "json":
		w = e.stderr
	default:
		return zerolog.Nop(), usagef("--log-format %q: use console or json", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// homeDir resolves --home, $CARBON_HOME, or the current directory.
func (e *env) homeDir(c *cli.Context) (string, error) {
	home := c.String("home")
	if home == "" {
		home = e.getenv("CARBON_HOME")
	}
	if home == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("finding the current directory: %w", err)
		}
		home = wd
	}
	abs, err := filepath.Abs(home)
	if err != nil {
		return "", fmt.Errorf("resolving --home %s: %w", home, err)
	}
	return abs, nil
}

// openPack opens the pack named by the global flags.
func (e *env) openPack(c *cli.Context) (*pack.Pack, error) {
	home, err := e.homeDir(c)
	if err != nil {
		return nil, err
	}
	return pack.Open(home)
}

// stateDir resolves the per-pack state directory (see the app description)
// and refuses one inside the pack: a restore would overwrite it.
func (e *env) stateDir(c *cli.Context, home string) (string, error) {
	dir := c.String("state")
	if dir == "" {
		root := e.getenv("CARBONGUARD_STATE_DIR")
		if root == "" {
			if os.Geteuid() == 0 {
				root = "/var/lib/carbonguard"
			} else if x := e.getenv("XDG_STATE_HOME"); x != "" {
				root = filepath.Join(x, "carbonguard")
			} else {
				h, err := os.UserHomeDir()
				if err != nil {
					return "", usagef("no --state given and no home directory to put state in: %v", err)
				}
				root = filepath.Join(h, ".local", "state", "carbonguard")
			}
		}
		real := home
		if r, err := filepath.EvalSymlinks(home); err == nil {
			real = r
		}
		sum := sha256.Sum256([]byte(real))
		dir = filepath.Join(root, filepath.Base(real)+"-"+hex.EncodeToString(sum[:])[:12])
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("resolving --state %s: %w", dir, err)
	}
	if inside(abs, home) {
		return "", usagef("state directory %s is inside the pack %s: a snapshot would contain it and a restore would overwrite it; choose --state outside the pack", abs, home)
	}
	return abs, nil
}

// inside reports whether path is dir or below it, after resolving symlinks
// where the paths exist.
func inside(path, dir string) bool {
	resolve := func(p string) string {
		// Resolve the longest existing prefix so that a not-yet-created state
		// directory below a symlink is judged by where it would really be.
		rest := ""
		for cur := p; ; {
			if r, err := filepath.EvalSymlinks(cur); err == nil {
				return filepath.Join(r, rest)
			}
			parent := filepath.Dir(cur)
			if parent == cur {
				return p
			}
			rest = filepath.Join(filepath.Base(cur), rest)
			cur = parent
		}
	}
	p, d := resolve(path), resolve(dir)
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// writeJSON prints v as indented JSON followed by a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
