package main

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/carbonguard/carbonguard/internal/durable"
)

// Exit codes, as documented for u2.
const (
	exitOK       = 0
	exitError    = 1
	exitSelfUpd  = 2
	exitConflict = 3
	exitReverted = 4
)

const (
	fakeToolVersion = "1.4.2"
	toolReleaseDate = "2026-01-15"
)

type flags struct {
	level, backup, channel, username, password, template string
	cont, dryRun, revert, verbose, help, noBackup        bool
	noChangelog, getSummary                              bool
	command                                              string
	args                                                 []string
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func parseArgs(argv []string) (*flags, error) {
	f := &flags{}
	withValue := map[string]*string{
		"-l": &f.level, "--level": &f.level, "-b": &f.backup, "--backup": &f.backup,
		"-c": &f.channel, "--channel": &f.channel, "-u": &f.username, "--username": &f.username,
		"-p": &f.password, "--password": &f.password, "--template": &f.template,
	}
	boolean := map[string]*bool{
		"--continue": &f.cont, "--dry-run": &f.dryRun, "--revert": &f.revert, "-v": &f.verbose,
		"--verbose": &f.verbose, "-h": &f.help, "--help": &f.help, "--no-backup": &f.noBackup,
		"--no-changelog": &f.noChangelog, "--get-summary": &f.getSummary,
	}
	var pos []string
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			pos = append(pos, argv[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		if dst, ok := withValue[name]; ok {
			if !hasVal {
				if i+1 >= len(argv) {
					return nil, usageError{"flag needs an argument: " + name}
				}
				i++
				val = argv[i]
			}
			*dst = val
			continue
		}
		if dst, ok := boolean[name]; ok {
			if hasVal {
				b, err := strconv.ParseBool(val)
				if err != nil {
					return nil, usageError{fmt.Sprintf("invalid argument %q for %s", val, name)}
				}
				*dst = b
			} else {
				*dst = true
			}
			continue
		}
		return nil, usageError{"unknown flag: " + name}
	}
	if len(pos) > 0 {
		f.command, f.args = pos[0], pos[1:]
	}
	return f, nil
}

const usageText = `WSO2 Update 2.0 Tool (carbonguard fake)

Usage:
  wso2update_linux [--help|help] [<options>] <command> [<args>]

With no command, updates the product to the latest update level.

Commands:
  check           List the update levels available for the product
  current-state   Show the current update level
  version         Show the tool version
  help [command]  Show help

Options:
  -l, --level <level>       Update only up to this level (13 or 4.2.0.13)
  -b, --backup <dir>        Backup directory (remembered); must be outside the product
  -c, --channel <channel>   Update channel (default "full")
      --continue            Finish an update after resolving conflicts (file.final)
      --dry-run             Show what would change; change nothing
  -u, --username <user>     WSO2 account user name (or UPDATE_TOOL_USERNAME)
  -p, --password <pass>     WSO2 account password (or UPDATE_TOOL_PASSWORD)
      --revert              Go back to the update level before the last update
      --template <tmpl>     Go template for the result: {{.Added}} {{.Modified}} {{.Removed}} {{.Conflicts}}
      --no-backup           Do not back up the product
      --no-changelog        Do not write updates/changelog-<from>-<to>.md
      --get-summary         Also write updates/update-summary-<from>-<to>.md
  -v, --verbose             Verbose output
  -h, --help                Help

Exit codes: 0 success, 1 error, 2 the tool updated itself (run again), 3 conflicts, 4 reverted.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// tool is one run of the fake u2.
type tool struct {
	f          *flags
	stdin      io.Reader
	out, errw  io.Writer
	cwd        string
	credSource string
	username   string
	fromLevel  int
	toLevel    int
}

func run(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f, err := parseArgs(argv)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n\n%s", err, usageText)
		return exitError
	}
	cwd, _ := os.Getwd() // before a revert can remove the directory we run in
	t := &tool{f: f, stdin: stdin, out: stdout, errw: stderr, fromLevel: -2, toLevel: -2, cwd: cwd}
	code := t.dispatch()
	t.recordInvocation(argv, code)
	return code
}

func (t *tool) dispatch() int {
	f := t.f
	if f.help || f.command == "help" {
		fmt.Fprint(t.out, usageText)
		return exitOK
	}
	switch f.command {
	case "version":
		return t.version()
	case "check":
		return t.check()
	case "current-state":
		return t.currentState()
	case "":
		return t.update()
	case "create-update", "apply-update", "apply-hotfix", "revert-hotfix", "create-docker", "get-summary":
		return t.fail(fmt.Errorf("the carbonguard fake u2 does not implement %q", f.command))
	default:
		fmt.Fprintf(t.errw, "Error: unknown command %q for \"wso2update_linux\"\n\n%s", f.command, usageText)
		return exitError
	}
}

func (t *tool) fail(err error) int {
	fmt.Fprintf(t.errw, "Error: %v\n", err)
	return exitError
}

func (t *tool) say(format string, args ...any) {
	w := t.out
	if t.f.template != "" {
		w = t.errw // stdout carries only the template result
	}
	fmt.Fprintf(w, format+"\n", args...)
}

func (t *tool) version() int {
	v := fakeToolVersion
	if th, err := toolHome(); err == nil {
		if b, err := os.ReadFile(filepath.Join(th, ".fake-u2-self-updated")); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			v = strings.TrimSpace(string(b))
		}
	}
	fmt.Fprintf(t.out, "WSO2 Update 2.0 Tool\nVersion:       %s\nRelease date:  %s\nOS:            %s\nArchitecture:  %s\nGo version:    %s\n",
		v, toolReleaseDate, runtime.GOOS, runtime.GOARCH, runtime.Version())
	return exitOK
}

// credentials: flags, then UPDATE_TOOL_USERNAME/UPDATE_TOOL_PASSWORD, then a
// prompt on stdin. The real tool waits at the prompt forever when nobody
// answers; the fake fails at end of input instead, so a test cannot hang.
func (t *tool) credentials(srv *updateServer) error {
	user, pass := t.f.username, t.f.password
	switch {
	case user != "" && pass != "":
		t.credSource = "flags"
	case os.Getenv("UPDATE_TOOL_USERNAME") != "" && os.Getenv("UPDATE_TOOL_PASSWORD") != "":
		user, pass = os.Getenv("UPDATE_TOOL_USERNAME"), os.Getenv("UPDATE_TOOL_PASSWORD")
		t.credSource = "env"
	default:
		t.credSource = "prompt"
		rd := bufio.NewReader(t.stdin)
		if user == "" {
			fmt.Fprint(t.errw, "Enter your WSO2 email: ")
			line, err := rd.ReadString('\n')
			user = strings.TrimSpace(line)
			if user == "" {
				return fmt.Errorf("no credentials: the prompt for the user name got no input (%v); pass --username/--password or set UPDATE_TOOL_USERNAME and UPDATE_TOOL_PASSWORD (a real u2 would wait here)", errOrEOF(err))
			}
		}
		if pass == "" {
			fmt.Fprint(t.errw, "Enter your WSO2 password: ")
			line, err := rd.ReadString('\n')
			pass = strings.TrimRight(line, "\r\n")
			if pass == "" {
				return fmt.Errorf("no credentials: the prompt for the password got no input (%v); pass --username/--password or set UPDATE_TOOL_USERNAME and UPDATE_TOOL_PASSWORD (a real u2 would wait here)", errOrEOF(err))
			}
		}
	}
	t.username = user
	if os.Getenv("FAKE_U2_ECHO_AUTH") != "" {
		// A verbose HTTP client's debug lines: the credentials as tools
		// really leak them, never as they are (carbonguard's masking must
		// catch every form).
		fmt.Fprintf(t.out, "debug: POST https://api.updates.wso2.com/updates/1.0.0/login?user=%s&password=%s\n", url.QueryEscape(user), url.QueryEscape(pass))
		fmt.Fprintf(t.out, "debug: Authorization: Basic %s\n", base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
		fmt.Fprintf(t.out, "debug: token request body (base64): %s\n", base64.StdEncoding.EncodeToString([]byte(`{"grant_type":"password","password":"`+pass+`"}`)))
		fmt.Fprintf(t.errw, "debug: password bytes: %s\n", hex.EncodeToString([]byte(pass)))
	}
	want, err := srv.credentials()
	if err != nil {
		return err
	}
	if want != nil && (want.Username != user || want.Password != pass) {
		return errors.New("authentication failed: invalid username or password")
	}
	return nil
}

func errOrEOF(err error) error {
	if err == nil {
		return io.EOF
	}
	return err
}

// selfUpdate replaces bin/wso2update_linux (through a rename, never in place:
// the running binary and any hard link to it stay intact) and remembers the
// new version in the tool home. It reports whether it happened.
func (t *tool) selfUpdate(srv *updateServer) (bool, error) {
	spec, err := srv.tool()
	if err != nil || !spec.SelfUpdate {
		return false, err
	}
	th, err := toolHome()
	if err != nil {
		return false, err
	}
	marker := filepath.Join(th, ".fake-u2-self-updated")
	if _, err := os.Stat(marker); err == nil {
		return false, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return false, err
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		return false, err
	}
	if err := durable.WriteFile(exe, data, 0o755); err != nil {
		return false, fmt.Errorf("self-update: cannot replace %s: %w", exe, err)
	}
	v := spec.Version
	if v == "" {
		v = "1.5.0"
	}
	if err := os.MkdirAll(th, 0o755); err != nil {
		return false, err
	}
	return true, durable.WriteFile(marker, []byte(v+"\n"), 0o644)
}

// session is the common start of commands that need the pack and the server.
func (t *tool) session(needServer bool) (*pack, *configJSON, *updateServer, int) {
	p, err := findPack()
	if err != nil {
		return nil, nil, nil, t.fail(err)
	}
	cfg, err := p.loadConfig()
	if err != nil {
		return nil, nil, nil, t.fail(err)
	}
	if !needServer {
		return p, cfg, nil, -1
	}
	srv, err := openServer()
	if err != nil {
		return nil, nil, nil, t.fail(err)
	}
	if _, err := srv.levels(p.code); err != nil {
		return nil, nil, nil, t.fail(fmt.Errorf("%w %s: the update server does not know it", errUnknownProduct, p.code))
	}
	if err := t.credentials(srv); err != nil {
		return nil, nil, nil, t.fail(err)
	}
	return p, cfg, srv, -1
}

func (t *tool) check() int {
	p, cfg, srv, code := t.session(true)
	if code >= 0 {
		return code
	}
	if _, err := t.selfUpdate(srv); err != nil {
		return t.fail(err)
	}
	cur, err := cfg.level()
	if err != nil {
		return t.fail(err)
	}
	t.fromLevel, t.toLevel = cur, cur
	levels, _ := srv.levels(p.code)
	var avail []int
	for _, l := range levels {
		if l > cur {
			avail = append(avail, l)
		}
	}
	if len(avail) == 0 {
		fmt.Fprintf(t.out, "%s is at the latest update level %d. No updates available.\n", p.code, cur)
		return exitOK
	}
	fmt.Fprintf(t.out, "Updates available for %s (current update level %d):\n", p.code, cur)
	for _, l := range avail {
		u, err := srv.update(p.code, l)
		if err != nil {
			return t.fail(err)
		}
		fmt.Fprintf(t.out, "  %s.%d  %s\n", p.version, l, u.Description)
	}
	return exitOK
}

func (t *tool) currentState() int {
	p, cfg, _, code := t.session(false)
	if code >= 0 {
		return code
	}
	if srv, err := openServer(); err == nil {
		if _, err := t.selfUpdate(srv); err != nil {
			return t.fail(err)
		}
	}
	cur, err := cfg.level()
	if err != nil {
		return t.fail(err)
	}
	t.fromLevel, t.toLevel = cur, cur
	fmt.Fprintf(t.out, "Product:       %s\nUpdate level:  %d\nHotfixes:      none\n", p.code, cur)
	if ps, _ := p.loadPending(); ps != nil {
		fmt.Fprintf(t.out, "Pending:       update level %d has unresolved conflicts: %s\n", ps.Level, strings.Join(ps.Conflicts, " "))
	}
	return exitOK
}

type templateData struct {
	Added, Modified, Removed, Conflicts []string
}

func (t *tool) printTemplate(ch changes) error {
	if t.f.template == "" {
		return nil
	}
	tmpl, err := template.New("out").Parse(t.f.template)
	if err != nil {
		return fmt.Errorf("--template: %w", err)
	}
	norm := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	if err := tmpl.Execute(t.out, templateData{norm(ch.Added), norm(ch.Modified), norm(ch.Removed), norm(ch.Conflicts)}); err != nil {
		return fmt.Errorf("--template: %w", err)
	}
	fmt.Fprintln(t.out)
	return nil
}

// invocationRecord is one line of ~/.wso2-updates/fakeu2-invocations.jsonl.
// The password never appears: argv is masked and the source is named instead.
type invocationRecord struct {
	Time             time.Time `json:"time"`
	Argv             []string  `json:"argv"`
	Command          string    `json:"command"`
	Cwd              string    `json:"cwd"`
	CredentialSource string    `json:"credential_source,omitempty"`
	Username         string    `json:"username,omitempty"`
	FromLevel        *int      `json:"from_level,omitempty"`
	ToLevel          *int      `json:"to_level,omitempty"`
	ExitCode         int       `json:"exit_code"`
}

func (t *tool) recordInvocation(argv []string, code int) {
	th, err := toolHome()
	if err != nil {
		return
	}
	masked := make([]string, len(argv))
	copy(masked, argv)
	for i, a := range masked {
		if (a == "-p" || a == "--password") && i+1 < len(masked) {
			masked[i+1] = "****"
		}
		if strings.HasPrefix(a, "--password=") {
			masked[i] = "--password=****"
		}
	}
	rec := invocationRecord{Time: time.Now().UTC(), Argv: masked, Command: t.f.command, Cwd: t.cwd,
		CredentialSource: t.credSource, Username: t.username, ExitCode: code}
	if t.fromLevel > -2 {
		rec.FromLevel = &t.fromLevel
	}
	if t.toLevel > -2 {
		rec.ToLevel = &t.toLevel
	}
	b, _ := json.Marshal(rec)
	if os.MkdirAll(th, 0o755) != nil {
		return
	}
	fh, err := os.OpenFile(filepath.Join(th, "fakeu2-invocations.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer fh.Close()
	fh.Write(append(b, '\n')) //nolint:errcheck
}
