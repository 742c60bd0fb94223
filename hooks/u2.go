package hooks

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/carbonguard/carbonguard/internal/secrets"
)

// The u2 exit codes (docs-updates update-commands.md; unchanged since 2020).
const (
	u2OK         = 0
	u2Error      = 1
	u2SelfUpdate = 2
	u2Conflicts  = 3
	u2Reverted   = 4
)

// The environment variables u2 reads credentials from (docs-updates
// authentication.md). carbonguard never puts credentials on u2's argv,
// where any user can read them in /proc.
const (
	envU2User     = "UPDATE_TOOL_USERNAME"
	envU2Password = "UPDATE_TOOL_PASSWORD"
)

// U2Name is the update tool's file name under <home>/bin for this machine.
func U2Name() string {
	name := "wso2update_" + runtime.GOOS
	if runtime.GOARCH == "arm64" {
		name += "_arm64"
	}
	return name
}

// FindU2 returns the update tool to run: explicit when given, else
// <home>/bin/wso2update_<os>[_arm64].
func FindU2(home, explicit string) (string, error) {
	path := explicit
	if path == "" {
		path = filepath.Join(home, "bin", U2Name())
	}
	st, err := os.Stat(path)
	if err != nil {
		why := fmt.Sprintf("update tool %s not found", path)
		if explicit == "" {
			if _, serr := os.Stat(filepath.Join(home, "bin", "update_tool_setup.sh")); serr == nil {
				why += " (this pack ships bin/update_tool_setup.sh: run it to download the tool, or pass --u2 PATH)"
			} else {
				why += " (pass --u2 PATH)"
			}
		}
		return "", &PreflightError{Problems: []string{why}}
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return "", &PreflightError{Problems: []string{fmt.Sprintf("update tool %s is not an executable file", path)}}
	}
	return path, nil
}

// CheckU2Args refuses, in the arguments an operator passes through to u2,
// what carbonguard must own: credentials (they would be visible on the
// command line, and kept in the journal and u2's log; use the environment),
// short flags (their meaning changed between u2 versions: -c was
// --continue, is now --channel) and --continue (use carbonguard update
// --continue, which knows the open transaction). An argument that holds a
// credential is named without its value: the error never echoes a secret.
func CheckU2Args(args []string) error {
	const credentials = "credentials must not go on u2's command line (any user can read it, and the journal keeps it); set UPDATE_TOOL_USERNAME and UPDATE_TOOL_PASSWORD, or use carbonguard's --username and --password-file/--password-stdin"
	for _, a := range args {
		name, _, _ := strings.Cut(a, "=")
		switch {
		case strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && a != "-":
			// A short flag, maybe with its value attached (-psecret):
			// only the flag is named.
			flag := a[:min(2, len(a))]
			if flag == "-p" || flag == "-u" {
				return &U2ArgsError{Arg: flag, Why: credentials}
			}
			return &U2ArgsError{Arg: flag, Why: "use u2's long flags (--level, --channel, --backup, ...): its short flags changed meaning between versions (-c was --continue and is now --channel)"}
		case strings.HasPrefix(a, "--") && credentialFlag(name):
			return &U2ArgsError{Arg: name, Why: credentials}
		case name == "--continue":
			return &U2ArgsError{Arg: name, Why: "use carbonguard update --continue, which continues the open transaction"}
		}
	}
	return nil
}

// credentialFlag reports whether a long flag's name says it carries a
// credential (--username, --password, --pass=, --token, ...). u2's own
// flags (--level, --channel, --backup, --no-backup, --dry-run, --revert,
// --template, --verbose, --no-changelog, --get-summary) say none of it.
func credentialFlag(name string) bool {
	n := strings.ToLower(strings.TrimLeft(name, "-"))
	for _, w := range []string{"pass", "pwd", "secret", "token", "user", "cred", "auth", "login", "email", "account"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// checkArgsHoldNoSecret refuses an argument that holds a credential's
// value (after "--password", or pasted by mistake), without echoing it.
func checkArgsHoldNoSecret(args []string, values []string) error {
	for i, a := range args {
		for _, v := range values {
			if v == "" {
				continue
			}
			if a == v || (len(v) >= 6 && strings.Contains(a, v)) {
				return &U2ArgsError{Arg: fmt.Sprintf("#%d", i+1), Why: "it holds a credential's value; credentials reach u2 through its environment only (UPDATE_TOOL_USERNAME, UPDATE_TOOL_PASSWORD)"}
			}
		}
	}
	return nil
}

// u2Command is one run of u2.
type u2Command struct {
	Path     string
	Home     string
	Args     []string // complete, including --no-backup / --continue
	Username string   // empty: inherit UPDATE_TOOL_USERNAME from Env
	Password string   // empty: inherit UPDATE_TOOL_PASSWORD from Env
	Env      []string // base environment; nil = os.Environ()
	Timeout  time.Duration
	Output   io.Writer // u2's output, masked, as it comes; may be nil
	LogPath  string    // u2's output, masked, kept in the journal
	// OnStart is called with u2's PID once it runs (to journal it).
	OnStart func(pid int) error
}

// u2Result is what a run of u2 gave.
type u2Result struct {
	ExitCode int    // -1 when it did not exit by itself (killed, timed out)
	Output   string // masked, the last 1 MiB
}

// u2Args builds the command line carbonguard gives u2: the operator's
// arguments, --no-backup unless u2's own backup is wanted (carbonguard's
// verified snapshot is the backup), and --continue to finish a merge.
func u2Args(user []string, backup, cont bool) []string {
	var args []string
	if cont {
		args = append(args, "--continue")
	}
	args = append(args, user...)
	has := func(flag string) bool {
		for _, a := range user {
			if a == flag || strings.HasPrefix(a, flag+"=") {
				return true
			}
		}
		return false
	}
	if !backup && !has("--no-backup") && !has("--backup") {
		args = append(args, "--no-backup")
	}
	return args
}

// masker hides, in anything u2 prints, its credentials and every other
// secret of carbonguard's in the environment, in every form a tool may
// print them (base64, a Basic authorization header, percent-encoded, hex).
func (c *u2Command) masker() *secrets.Masker {
	env := c.Env
	if env == nil {
		env = os.Environ()
	}
	user, pass := c.Username, c.Password
	if user == "" {
		user = envValue(env, envU2User)
	}
	if pass == "" {
		pass = envValue(env, envU2Password)
	}
	return secrets.NewMasker(append(secrets.Values(env), c.Username, c.Password), [2]string{user, pass})
}

// credentialValues are the u2 credentials this run would use, from the
// options or the environment.
func credentialValues(username, password string, env []string) []string {
	if env == nil {
		env = os.Environ()
	}
	return []string{username, password, envValue(env, envU2User), envValue(env, envU2Password)}
}

func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, _ := strings.Cut(kv, "="); k == key {
			v = val
		}
	}
	return v
}

// environ is u2's environment: its credentials, none of carbonguard's
// other secrets, everything else (proxy settings, HOME for
// ~/.wso2-updates).
func (c *u2Command) environ() []string {
	env := c.Env
	if env == nil {
		env = os.Environ()
	}
	env = secrets.Scrub(env, envU2User, envU2Password)
	out := make([]string, 0, len(env)+2)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if (k == envU2User && c.Username != "") || (k == envU2Password && c.Password != "") {
			continue
		}
		out = append(out, kv)
	}
	if c.Username != "" {
		out = append(out, envU2User+"="+c.Username)
	}
	if c.Password != "" {
		out = append(out, envU2Password+"="+c.Password)
	}
	return out
}

// run runs u2 from <home>/bin (where its docs say to run it) with stdin
// closed, so a credential prompt fails at once instead of hanging.
func (c *u2Command) run(ctx context.Context) (u2Result, error) {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	var logf *os.File
	if c.LogPath != "" {
		f, err := os.OpenFile(c.LogPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return u2Result{ExitCode: -1}, fmt.Errorf("creating u2 log %s: %w", c.LogPath, err)
		}
		logf = f
		defer logf.Close()
	}
	tail := &tailBuffer{max: 1 << 20}
	sinks := []io.Writer{tail}
	if logf != nil {
		sinks = append(sinks, logf)
	}
	if c.Output != nil {
		sinks = append(sinks, c.Output)
	}
	out := newMaskWriter(io.MultiWriter(sinks...), c.masker())

	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	cmd.Dir = filepath.Join(c.Home, "bin")
	cmd.Env = c.environ()
	cmd.Stdin = nil // /dev/null
	cmd.Stdout = out
	cmd.Stderr = out
	// Its own process group, so that a cancel reaches whatever u2 started;
	// and killed with us if we die, so that a crashed carbonguard never
	// leaves u2 changing a pack that the next command is restoring.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second

	// Pdeathsig fires when the thread that forked the child exits; keep it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		return u2Result{ExitCode: -1}, fmt.Errorf("starting %s: %w", c.Path, err)
	}
	if c.OnStart != nil {
		if err := c.OnStart(cmd.Process.Pid); err != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
			return u2Result{ExitCode: -1}, err
		}
	}
	err := cmd.Wait()
	_ = out.Flush()
	res := u2Result{ExitCode: cmd.ProcessState.ExitCode(), Output: tail.String()}
	if logf != nil {
		_ = logf.Sync()
	}
	if ctx.Err() != nil {
		res.ExitCode = -1
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && c.Timeout > 0 {
			return res, fmt.Errorf("u2 did not finish within %s and was killed", c.Timeout)
		}
		return res, ctx.Err()
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return res, fmt.Errorf("running %s: %w", c.Path, err)
	}
	return res, nil
}

// maskWriter replaces secrets in what passes through it. It works on whole
// lines so that a secret split across two writes is still caught.
type maskWriter struct {
	mu  sync.Mutex
	w   io.Writer
	m   *secrets.Masker
	buf []byte
}

func newMaskWriter(w io.Writer, m *secrets.Masker) *maskWriter {
	return &maskWriter{w: w, m: m}
}

func (m *maskWriter) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.buf = append(m.buf, p...)
	for {
		i := bytes.IndexByte(m.buf, '\n')
		if i < 0 {
			break
		}
		line := append([]byte(nil), m.buf[:i+1]...)
		if _, err := m.w.Write(m.m.Bytes(line)); err != nil {
			return len(p), err
		}
		m.buf = m.buf[i+1:]
	}
	// A very long line without a newline is flushed in pieces; keep enough
	// back that a secret cannot straddle the cut.
	if len(m.buf) > 64<<10 {
		cut := len(m.buf) - m.m.Longest()
		if _, err := m.w.Write(m.m.Bytes(append([]byte(nil), m.buf[:cut]...))); err != nil {
			return len(p), err
		}
		m.buf = append([]byte(nil), m.buf[cut:]...)
	}
	return len(p), nil
}

// Flush writes what is left of an unterminated last line.
func (m *maskWriter) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.buf) == 0 {
		return nil
	}
	_, err := m.w.Write(m.m.Bytes(m.buf))
	m.buf = nil
	return err
}

// tailBuffer keeps the last max bytes written.
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

// FindConflicts lists the files u2 left unmerged in the pack: each FILE
// with FILE.original (the previous level) and FILE.new (the new level)
// beside it; Resolved when the operator has written FILE.final.
func FindConflicts(home string) ([]Conflict, error) {
	var out []Conflict
	err := filepath.WalkDir(home, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".original") {
			return nil
		}
		base := strings.TrimSuffix(path, ".original")
		if _, err := os.Lstat(base + ".new"); err != nil {
			return nil
		}
		rel, err := filepath.Rel(home, base)
		if err != nil {
			return err
		}
		_, ferr := os.Lstat(base + ".final")
		out = append(out, Conflict{Path: filepath.ToSlash(rel), Resolved: ferr == nil})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("looking for conflict files in %s: %w", home, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// parseTemplateConflicts reads the conflict list from u2 output made with
// --template "Modified: {{.Modified}}, Conflicts: {{.Conflicts}}", the form
// WSO2's ansible-apim and puppet-apim update.sh parse: a Go slice printed as
// [a b c].
func parseTemplateConflicts(output string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(output))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, "Conflicts: [")
		if i < 0 {
			continue
		}
		rest := line[i+len("Conflicts: ["):]
		j := strings.Index(rest, "]")
		if j < 0 {
			continue
		}
		out = append(out, strings.Fields(rest[:j])...)
	}
	return out
}

// mergeConflicts adds to the scanned pairs the paths u2 named in its
// template output that the scan did not find.
func mergeConflicts(home string, scanned []Conflict, named []string) []Conflict {
	seen := map[string]bool{}
	for _, c := range scanned {
		seen[c.Path] = true
	}
	for _, n := range named {
		rel := filepath.ToSlash(n)
		if filepath.IsAbs(n) {
			if r, err := filepath.Rel(home, n); err == nil {
				rel = filepath.ToSlash(r)
			}
		}
		if seen[rel] {
			continue
		}
		seen[rel] = true
		_, ferr := os.Lstat(filepath.Join(home, filepath.FromSlash(rel)+".final"))
		scanned = append(scanned, Conflict{Path: rel, Resolved: ferr == nil})
	}
	sort.Slice(scanned, func(i, j int) bool { return scanned[i].Path < scanned[j].Path })
	return scanned
}
