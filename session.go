package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/pack"
	"github.com/carbonguard/carbonguard/wrapper"
)

// A session is what a command runs against. It is opened in one place,
// openSession, and always in one order: home → config → state → pack (see
// HOME, STATE AND CONFIG in the app's help). A command declares what it
// needs; the session resolves that and no more.
type session struct {
	*env
	g     globals
	log   zerolog.Logger
	home  string      // the pack's home, absolute
	cfg   *fileConfig // carbonguard.toml; the built-in defaults unless needs.config
	state string      // the pack's state directory; "" unless needs.state
	need  packNeed
	pack  *pack.Pack // set by openPack
	// configReported: a lenient read's configuration error was reported.
	configReported bool
	// serverOpts are the wrapper's options of the session's server (server.go).
	serverOpts wrapper.Options
}

// needs is what a command declares it needs before it runs.
type needs struct {
	config bool     // carbonguard.toml
	state  bool     // the pack's state directory
	pack   packNeed // how much of the pack the command reads (openPack)
}

// packNeed is how much of the pack a command reads.
type packNeed int

const (
	// noPack: the command reads no pack (history reads the state directory).
	noPack packNeed = iota
	// packProcess: the pack's identity, files and server process, not its
	// configuration. stop, status, rollback and the snapshot commands act on
	// the state directory or the process; a broken deployment.toml must not
	// keep an operator from them (issue 11: read the pack leniently).
	packProcess
	// packConfig: a valid configuration (start, run, restart, check, pack,
	// ports, update, hook).
	packConfig
)

// globals are the app's global flags, read once from the app's context
// (check and ports have a --home of their own, which shadows the global one
// in the command's context).
type globals struct {
	// homes are the global --home values in order; home is the only one
	// (checkGlobals refuses several outside check, which reads homes).
	homes               []string
	home, state, config string
	logFormat, logLevel string
	quiet               bool
}

func globalsOf(c *cli.Context) globals {
	// The app's context is the outermost with a command (urfave puts an
	// empty context above it). A global flag given after the command is
	// set in that command's context, which wins.
	root := c
	for _, l := range c.Lineage() {
		if l.Command != nil {
			root = l
		}
	}
	from := func(name string) *cli.Context {
		for _, l := range c.Lineage() {
			if l == root || l.Command == nil {
				continue
			}
			for _, f := range l.Command.Flags {
				if sf, ok := f.(cli.CategorizableFlag); ok && sf.GetCategory() == globalCategory &&
					slices.Contains(f.Names(), name) && slices.Contains(l.LocalFlagNames(), name) {
					return l
				}
			}
		}
		return root
	}
	// --home adds up: before the command, then after it.
	homes := root.StringSlice("home")
	if l := from("home"); l != root {
		homes = append(append([]string{}, homes...), l.StringSlice("home")...)
	}
	home := ""
	if len(homes) > 0 {
		home = homes[len(homes)-1]
	}
	return globals{
		homes: homes, home: home, state: from("state").String("state"), config: from("config").String("config"),
		logFormat: from("log-format").String("log-format"), logLevel: from("log-level").String("log-level"), quiet: from("quiet").Bool("quiet"),
	}
}

// openSession resolves what n asks for. home is the pack's home; "" means
// the global one (--home, $CARBON_HOME, the current directory).
func (e *env) openSession(c *cli.Context, home string, n needs) (*session, error) {
	g := globalsOf(c)
	log, err := e.logger(g)
	if err != nil {
		return nil, err
	}
	if home == "" {
		if home, err = e.homeDir(g); err != nil {
			return nil, err
		}
	}
	s := &session{env: e, g: g, log: log, home: home, cfg: &fileConfig{}, need: n.pack}
	if n.config {
		if s.cfg, err = e.loadConfig(g, home); err != nil {
			return nil, err
		}
	}
	if n.state {
		if s.state, err = s.stateDirFor(home); err != nil {
			return nil, err
		}
		s.recoverRestore(contextOf(c))
	}
	return s, nil
}

// openPack reads the pack at the session's home, once: the command calls
// it as soon as it knows the system properties the server gets (nil when
// none); later calls return the same pack.
func (s *session) openPack(sysProps map[string]string) (*pack.Pack, error) {
	if s.pack == nil {
		p, err := s.readPack(s.home, sysProps)
		if err != nil {
			return nil, err
		}
		s.pack = p
	}
	return s.pack, nil
}

// readPack is the one place a pack is read, as the command declared it
// needs it. The commands over several homes (check, ports) read each here,
// and hooks reads the pack again through it (hooksEnv) once the lock is
// held.
func (s *session) readPack(home string, sysProps map[string]string) (*pack.Pack, error) {
	return s.readPackAs(s.need, home, sysProps)
}

// readPackAs reads the pack at home as need says. packProcess reads it
// leniently: stop, status, rollback and the snapshot commands act on the
// process and the state directory, and must keep working when a bad edit
// or an update broke deployment.toml (the moment carbonguard exists for);
// the configuration's error is reported once, not fatal.
func (s *session) readPackAs(need packNeed, home string, sysProps map[string]string) (*pack.Pack, error) {
	o := pack.Options{SysProps: sysProps, Logger: s.log}
	switch need {
	case noPack:
		return nil, errors.New("internal error: a command that declared it reads no pack read it")
	case packProcess:
		o.Lenient = true
	}
	p, err := pack.OpenWith(home, o)
	if err == nil && p.ConfigErr != nil && !s.configReported {
		s.configReported = true
		fmt.Fprintf(s.stderr, "carbonguard: warning: %s\n", p.ConfigErr)
		fmt.Fprintf(s.stderr, "carbonguard: warning: carrying on without the pack's configuration, which this command does not need (the server would not start with it; carbonguard check names the fix)\n")
	}
	return p, err
}

// store opens the pack's snapshot store, <state>/snapshots.
func (s *session) store() (*archive.Store, error) {
	return archive.OpenStore(filepath.Join(s.state, "snapshots"), s.log)
}

// logger builds the zerolog logger the global flags ask for. Logs go to stderr.
// Durations in logs carry their unit ("took":"1.42s", took=1.42s), under
// one naming rule: the field names what was measured, never its unit
// (took, timeout, boot, sync; not took_ms).
func init() { zerolog.DurationFieldFormat = zerolog.DurationFormatString }

func (e *env) logger(g globals) (zerolog.Logger, error) {
	level := g.logLevel
	if g.quiet {
		level = "warn"
	}
	lvl, err := zerolog.ParseLevel(strings.ToLower(level))
	if err != nil || level == "" {
		return zerolog.Nop(), usagef("--log-level %q: use debug, info, warn or error", level)
	}
	format := g.logFormat
	if format == "" {
		format = "json"
		if f, ok := e.stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			format = "console"
		}
	}
	var w io.Writer
	switch format {
	case "console":
		w = zerolog.ConsoleWriter{Out: e.statusLine(), TimeFormat: "15:04:05", NoColor: !e.colors(e.stderr)}
	case "json":
		w = e.statusLine()
	default:
		return zerolog.Nop(), usagef("--log-format %q: use console or json", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// homeDir resolves --home, $CARBON_HOME, or the current directory.
func (e *env) homeDir(g globals) (string, error) {
	home, given := g.home, "--home"
	if home == "" {
		home, given = e.getenv("CARBON_HOME"), "$CARBON_HOME"
	}
	if home == "" {
		given = ""
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
	if given != "" {
		switch st, err := os.Stat(abs); {
		case errors.Is(err, fs.ErrNotExist):
			return "", usageHint("give the product's home directory, the one holding bin/ and repository/ (MI: conf/)", "%s %s: the directory does not exist", given, home)
		case err == nil && !st.IsDir():
			return "", usageHint("give the product's home directory, the one holding bin/ and repository/ (MI: conf/)", "%s %s: not a directory", given, home)
		}
	}
	return abs, nil
}

// stateDirFor resolves the state directory of the pack at home (see the
// app description) and refuses one inside the pack: a restore would
// overwrite it.
func (s *session) stateDirFor(home string) (string, error) {
	dir := s.g.state
	if dir == "" {
		root := s.getenv("CARBONGUARD_STATE_DIR")
		if root == "" {
			if os.Geteuid() == 0 {
				root = "/var/lib/carbonguard"
			} else if x := s.getenv("XDG_STATE_HOME"); x != "" {
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
	if err := checkStateDir(abs); err != nil {
		return "", err
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
