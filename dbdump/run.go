package dbdump

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// Runner runs dump and restore commands.
type Runner struct {
	// Env is the environment the tools' own variables are taken from
	// (nil: os.Environ()). Only the variables they need pass: see toolEnv.
	Env []string
	// TempDir holds the private directory with the password files while a
	// command runs ("": os.TempDir()).
	TempDir string
	Log     zerolog.Logger
}

// Result describes one dump.
type Result struct {
	Name    string        `json:"name"`
	File    string        `json:"file"` // the name the dump is stored under
	Conn    Conn          `json:"conn"` // without the password
	Command string        `json:"command"`
	Bytes   int64         `json:"bytes"`
	SHA256  string        `json:"sha256"`
	Took    time.Duration `json:"took"`
}

// Dump runs the dump command and writes its standard output to w. A command
// that fails, or succeeds without output, is a *RunError; w may then hold a
// partial dump that the caller must discard.
func (r *Runner) Dump(ctx context.Context, s *Spec, w io.Writer) (Result, error) {
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, h)}
	start := time.Now()
	prog, err := r.run(ctx, s, "dump", s.Dump, nil, cw)
	res := Result{Name: s.Name, File: s.FileName(), Conn: s.Conn, Command: prog, Bytes: cw.n, Took: time.Since(start)}
	res.Conn.Password = ""
	if err != nil {
		return res, err
	}
	if cw.n == 0 {
		return res, &RunError{Name: s.Name, Op: "dump", Command: prog, Err: errors.New("it wrote nothing to its standard output (the dump)")}
	}
	res.SHA256 = hex.EncodeToString(h.Sum(nil))
	r.Log.Info().Str("database", s.Name).Str("conn", s.Conn.String()).Int64("bytes", cw.n).Dur("took", res.Took).Msg("database dumped")
	return res, nil
}

// Restore runs the restore command with the dump on its standard input.
func (r *Runner) Restore(ctx context.Context, s *Spec, dump io.Reader) error {
	start := time.Now()
	if _, err := r.run(ctx, s, "restore", s.Restore, dump, io.Discard); err != nil {
		return err
	}
	r.Log.Info().Str("database", s.Name).Str("conn", s.Conn.String()).Dur("took", time.Since(start)).Msg("database restored")
	return nil
}

func (r *Runner) run(ctx context.Context, s *Spec, op string, tmpl []string, stdin io.Reader, stdout io.Writer) (string, error) {
	fail := func(prog string, err error) (string, error) {
		return prog, &RunError{Name: s.Name, Op: op, Command: prog, ExitCode: -1, Err: err}
	}
	if len(tmpl) == 0 {
		return fail("", errors.New("no command"))
	}
	password := s.Conn.Password
	if s.passwordFile != "" {
		pw, err := readPasswordFile(s.passwordFile)
		if err != nil {
			return fail(tmpl[0], err)
		}
		password = pw
	}
	base := r.Env
	if base == nil {
		base = os.Environ()
	}
	secrets, cleanup, err := writeSecrets(r.TempDir, password)
	if err != nil {
		return fail(tmpl[0], err)
	}
	defer cleanup()
	env := toolEnv(base, s.Conn.Engine, s.Env, password != "")
	if password != "" {
		env = append(env, "PGPASSFILE="+secrets.pgpass)
	}
	argv := expand(tmpl, map[string]string{
		"name": s.Name, "host": s.Conn.Host, "port": itoa(s.Conn.Port), "database": s.Conn.Database, "user": s.Conn.User,
		"defaults_file": secrets.mycnf, "password_file": secrets.password,
	})
	prog, err := lookTool(argv[0], s.Conn.Engine, envValue(env, "PATH"))
	if err != nil {
		return fail(argv[0], err)
	}
	cmd := exec.CommandContext(ctx, prog, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Env = env
	cmd.Dir = secrets.dir
	cmd.Stdin = stdin
	cmd.Stdout = stdout
	tail := &tailBuffer{max: 16 << 10}
	cmd.Stderr = tail
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	r.Log.Debug().Str("database", s.Name).Strs("argv", argv).Msg(op)
	err = cmd.Run()
	if err == nil {
		return argv[0], nil
	}
	re := &RunError{Name: s.Name, Op: op, Command: argv[0], ExitCode: -1, Stderr: mask(tail.String(), password), Err: err}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() > 0 {
		re.ExitCode = ee.ExitCode()
	}
	if ctx.Err() != nil {
		re.Err = ctx.Err()
	}
	return argv[0], re
}

// secretFiles are the password files of one run, in a private directory.
type secretFiles struct {
	dir, pgpass, mycnf, password string
}

func writeSecrets(tmp, password string) (secretFiles, func(), error) {
	dir, err := os.MkdirTemp(tmp, "carbonguard-db-")
	if err != nil {
		return secretFiles{}, func() {}, fmt.Errorf("creating the directory for the password files: %w", err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	s := secretFiles{dir: dir, pgpass: filepath.Join(dir, "pgpass"), mycnf: filepath.Join(dir, "my.cnf"), password: filepath.Join(dir, "password")}
	files := map[string]string{
		s.pgpass:   "",
		s.mycnf:    "[client]\n",
		s.password: password,
	}
	if password != "" {
		// pgpass: every field may be *, and ':' and '\' in a field are escaped.
		files[s.pgpass] = "*:*:*:*:" + strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(password) + "\n"
		files[s.mycnf] = "[client]\npassword=" + mysqlOptionValue(password) + "\n"
	}
	for path, text := range files {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			cleanup()
			return secretFiles{}, func() {}, fmt.Errorf("writing a password file: %w", err)
		}
	}
	return s, cleanup, nil
}

// mysqlOptionValue quotes a value for a MySQL/MariaDB option file: inside
// double quotes the parsers undo \\, \", \n, \r, \t and \b, and a "#" is not
// a comment.
func mysqlOptionValue(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "\b", `\b`).Replace(s) + `"`
}

// baseEnv are the variables any tool may need.
var baseEnv = []string{"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR"}

// enginePrefixes are the variables the engines' tools read.
var enginePrefixes = map[Engine][]string{
	PostgreSQL: {"PG"},
	MySQL:      {"MYSQL", "MARIADB"},
	MariaDB:    {"MYSQL", "MARIADB"},
	Oracle:     {"ORACLE_", "TNS_ADMIN", "NLS_", "LD_LIBRARY_PATH", "SQLPATH"},
	MSSQL:      {"SQLCMD", "ODBC"},
	DB2:        {"DB2", "LD_LIBRARY_PATH"},
}

// toolEnv picks from base what a dump tool needs: the base variables, the
// locale, its engine's variables and the extra names the entry lists. When
// carbonguard supplies the password itself, the operator's password
// variables are dropped so they cannot compete with it.
func toolEnv(base []string, e Engine, extra []string, ownPassword bool) []string {
	var out []string
	for _, kv := range base {
		k, _, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		keep := slicesContains(baseEnv, k) || strings.HasPrefix(k, "LC_") || slicesContains(extra, k)
		for _, p := range enginePrefixes[e] {
			if strings.HasPrefix(k, p) {
				keep = true
			}
		}
		if ownPassword && (k == "PGPASSFILE" || k == "PGPASSWORD" || k == "MYSQL_PWD") {
			keep = false
		}
		if keep {
			out = append(out, kv)
		}
	}
	if envValue(out, "PATH") == "" {
		out = append(out, "PATH=/usr/local/bin:/usr/bin:/bin")
	}
	return out
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// toolAlternatives are the names MariaDB installs its MySQL-compatible
// tools under (MariaDB 11 ships the mysql* names only in a compat package).
var toolAlternatives = map[string]string{"mysqldump": "mariadb-dump", "mysql": "mariadb", "mariadb-dump": "mysqldump", "mariadb": "mysql"}

// lookTool finds prog in the tools' PATH, falling back to the other name of a
// MySQL/MariaDB client tool.
func lookTool(prog string, e Engine, path string) (string, error) {
	if strings.Contains(prog, "/") {
		return prog, nil
	}
	names := []string{prog}
	if alt, ok := toolAlternatives[prog]; ok && (e == MySQL || e == MariaDB) {
		names = append(names, alt)
	}
	for _, name := range names {
		for _, dir := range filepath.SplitList(path) {
			if dir == "" {
				continue
			}
			p := filepath.Join(dir, name)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("%s is not installed (not found in PATH %s)", strings.Join(names, " or "), path)
}

// mask hides the password in a tool's error output.
func mask(s, password string) string {
	if len(password) < 3 {
		return s
	}
	return strings.ReplaceAll(s, password, "***")
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
