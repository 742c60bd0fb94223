package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// Config is the [remote] section of carbonguard.toml, minus what only the
// command layer uses (push, required).
type Config struct {
	// Repository is any restic repository string ("/srv/restic",
	// "sftp:backup@dr:/srv/restic", "rest:https://...", "s3:..."). Empty:
	// RESTIC_REPOSITORY or RESTIC_REPOSITORY_FILE from Env.
	Repository string
	// PasswordFile is the repository's password file. Empty: restic's own
	// RESTIC_PASSWORD_FILE, RESTIC_PASSWORD or RESTIC_PASSWORD_COMMAND
	// from Env.
	PasswordFile string
	// Restic is the binary; empty: restic on PATH.
	Restic string
	// Options are restic's extended options ("sftp.command=ssh ..."),
	// passed as -o. They are on restic's command line: no secrets.
	Options []string
	// Env is the environment restic's variables are taken from (nil:
	// os.Environ()).
	Env []string
	Log zerolog.Logger
}

// Repo is a restic repository that carbonguard pushes to and pulls from.
type Repo struct {
	cfg      Config
	bin      string
	env      []string
	redacted string
	masks    []string
}

// Open checks the configuration (a repository, a password source, the
// binary) without contacting the repository.
func Open(cfg Config) (*Repo, error) {
	if cfg.Env == nil {
		cfg.Env = os.Environ()
	}
	r := &Repo{cfg: cfg}
	repo := cfg.Repository
	if repo == "" && envValue(cfg.Env, "RESTIC_REPOSITORY") == "" && envValue(cfg.Env, "RESTIC_REPOSITORY_FILE") == "" {
		return nil, &ConfigError{Key: "repository", Msg: "no repository is configured",
			Fix: "set [remote] repository to a restic repository (a path, sftp:user@host:/path, rest:https://..., s3:...)"}
	}
	if cfg.PasswordFile != "" {
		f, err := os.Open(cfg.PasswordFile)
		if err != nil {
			return nil, &ConfigError{Key: "password_file", Msg: "the password file cannot be read: " + err.Error(),
				Fix: "make it readable by the user carbonguard runs as, and by nobody else (mode 0600)"}
		}
		f.Close()
	} else if envValue(cfg.Env, "RESTIC_PASSWORD") == "" && envValue(cfg.Env, "RESTIC_PASSWORD_FILE") == "" &&
		envValue(cfg.Env, "RESTIC_PASSWORD_COMMAND") == "" {
		return nil, &ConfigError{Key: "password_file", Msg: "no password for the repository",
			Fix: "set [remote] password_file, or RESTIC_PASSWORD_FILE (or RESTIC_PASSWORD) in carbonguard's environment"}
	}
	bin := cfg.Restic
	if bin == "" {
		bin = "restic"
	}
	if !strings.Contains(bin, "/") {
		p, err := lookPath(bin, envValue(cfg.Env, "PATH"))
		if err != nil {
			return nil, &ConfigError{Key: "restic", Msg: fmt.Sprintf("%v: %s not found on PATH", ErrNotInstalled, bin),
				Fix: "install restic (apt-get install restic) or set [remote] restic to its path"}
		}
		bin = p
	} else if st, err := os.Stat(bin); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return nil, &ConfigError{Key: "restic", Msg: fmt.Sprintf("%v: %s is not an executable file", ErrNotInstalled, bin),
			Fix: "install restic (apt-get install restic) or fix [remote] restic"}
	}
	r.bin = bin
	r.env = resticEnv(cfg)
	shown := repo
	if shown == "" {
		shown = envValue(cfg.Env, "RESTIC_REPOSITORY")
		if shown == "" {
			shown = "(RESTIC_REPOSITORY_FILE " + envValue(cfg.Env, "RESTIC_REPOSITORY_FILE") + ")"
		}
	}
	r.redacted = RedactRepository(shown)
	for _, k := range []string{"RESTIC_PASSWORD"} {
		if v := envValue(cfg.Env, k); len(v) >= 3 {
			r.masks = append(r.masks, v)
		}
	}
	if u, err := url.Parse(strings.TrimPrefix(shown, "rest:")); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && len(pw) >= 3 {
			r.masks = append(r.masks, pw)
		}
	}
	return r, nil
}

// Repository is the repository as messages show it (URL password masked).
func (r *Repo) Repository() string { return r.redacted }

// RedactRepository masks the password of a URL repository string
// ("rest:https://user:pw@host/" -> "rest:https://user:***@host/").
func RedactRepository(repo string) string {
	i := strings.Index(repo, "://")
	if i < 0 {
		return repo
	}
	rest := repo[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	auth := rest[:end]
	at := strings.LastIndex(auth, "@")
	if at < 0 {
		return repo
	}
	user, _, hasPw := strings.Cut(auth[:at], ":")
	if !hasPw {
		return repo
	}
	return repo[:i+3] + user + ":***" + rest[at:]
}

// envPassthrough are the variables restic and its back ends read; prefixes
// end with "_" or are whole names.
var envPassthrough = []string{
	"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "XDG_CACHE_HOME", "SSH_AUTH_SOCK",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
	"RESTIC_", "AWS_", "B2_", "AZURE_", "GOOGLE_", "OS_", "ST_", "RCLONE_", "LC_",
}

// resticEnv is restic's child environment: the passthrough variables of
// cfg.Env, the repository and, when configured, the password file (which
// then replaces the operator's RESTIC_PASSWORD* variables).
func resticEnv(cfg Config) []string {
	var out []string
	for _, kv := range cfg.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		keep := false
		for _, p := range envPassthrough {
			if k == p || (strings.HasSuffix(p, "_") && strings.HasPrefix(k, p)) {
				keep = true
			}
		}
		if cfg.Repository != "" && (k == "RESTIC_REPOSITORY" || k == "RESTIC_REPOSITORY_FILE") {
			keep = false
		}
		if cfg.PasswordFile != "" && (k == "RESTIC_PASSWORD" || k == "RESTIC_PASSWORD_FILE" || k == "RESTIC_PASSWORD_COMMAND") {
			keep = false
		}
		if keep {
			out = append(out, kv)
		}
	}
	if cfg.Repository != "" {
		out = append(out, "RESTIC_REPOSITORY="+cfg.Repository)
	}
	if cfg.PasswordFile != "" {
		out = append(out, "RESTIC_PASSWORD_FILE="+cfg.PasswordFile)
	}
	if envValue(out, "PATH") == "" {
		out = append(out, "PATH=/usr/local/bin:/usr/bin:/bin")
	}
	return out
}

// command builds a restic command: global options first, then the
// subcommand's arguments. restic runs in its own process group, and is
// killed with carbonguard (Pdeathsig) so that it never finishes a backup on
// its own after carbonguard died mid-stream.
func (r *Repo) command(ctx context.Context, op string, args ...string) *exec.Cmd {
	argv := []string{op}
	for _, o := range r.cfg.Options {
		argv = append(argv, "-o", o)
	}
	argv = append(argv, args...)
	cmd := exec.CommandContext(ctx, r.bin, argv...)
	cmd.Env = r.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// restic handles SIGINT by removing its lock and exiting without
	// saving anything; KILL only when it does not go within WaitDelay.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	return cmd
}

// run runs a restic command that reads nothing and returns its stdout.
func (r *Repo) run(ctx context.Context, op string, args ...string) ([]byte, error) {
	cmd := r.command(ctx, op, args...)
	var out bytes.Buffer
	tail := &tailBuffer{max: 16 << 10}
	cmd.Stdout, cmd.Stderr = &out, tail
	r.cfg.Log.Debug().Str("repository", r.redacted).Strs("args", cmd.Args[1:]).Msg("restic")
	err := cmd.Run()
	if err != nil {
		return out.Bytes(), r.failure(ctx, op, err, tail)
	}
	return out.Bytes(), nil
}

// exitInterrupted is restic's exit status after SIGINT.
const exitInterrupted = 130

// ansiRE matches the terminal control sequences restic writes on stderr.
var ansiRE = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

func (r *Repo) failure(ctx context.Context, op string, err error, tail *tailBuffer) error {
	stderr := ansiRE.ReplaceAllString(tail.String(), "")
	for _, m := range r.masks {
		stderr = strings.ReplaceAll(stderr, m, "***")
	}
	e := &ResticError{Op: op, Repo: r.redacted, ExitCode: -1, Kind: classify(stderr), Stderr: stderr, Err: err}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() > 0 {
		e.ExitCode = ee.ExitCode()
	}
	if ctx.Err() != nil {
		e.Err = ctx.Err()
	}
	return e
}

// Init creates the repository (restic init).
func (r *Repo) Init(ctx context.Context) error {
	_, err := r.run(ctx, "init")
	return err
}

// Check runs restic check; readData reads every pack file back.
func (r *Repo) Check(ctx context.Context, readData bool) error {
	args := []string{}
	if readData {
		args = append(args, "--read-data")
	}
	_, err := r.run(ctx, "check", args...)
	return err
}

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

func lookPath(name, path string) (string, error) {
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", ErrNotInstalled
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

var _ io.Writer = (*tailBuffer)(nil)
