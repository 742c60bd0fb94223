package testsrv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Need returns the path of a server or client binary the test needs, or
// fails the test naming the Debian package that provides it. dirs are
// searched before PATH (PostgreSQL's server binaries live in
// /usr/lib/postgresql/<version>/bin, not on PATH).
func Need(t testing.TB, bin, debianPackage string, dirs ...string) string {
	t.Helper()
	for _, d := range dirs {
		p := filepath.Join(d, bin)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	if p, err := exec.LookPath(bin); err == nil {
		return p
	}
	t.Fatalf("testsrv: %s is not installed; this test needs a real server: apt-get install -y %s (.ci/run installs it)", bin, debianPackage)
	return ""
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on, held by
// an flock in the directory testpack uses for its port offsets until the test
// ends, so parallel test processes never pick the same one. Ports stay below
// Linux's ephemeral range (32768+), where outgoing connections would collide.
func FreePort(t testing.TB) int {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "carbonguard-testpack-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatalf("testsrv: %v", err)
	}
	for range 500 {
		port := 12000 + rand.IntN(20000)
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("%d.lock", port)), os.O_CREATE|os.O_RDWR, 0o666)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close()
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			f.Close()
			continue
		}
		ln.Close()
		t.Cleanup(func() { f.Close() })
		return port
	}
	t.Fatalf("testsrv: no free port on 127.0.0.1 in 500 attempts")
	return 0
}

// dir makes a temporary directory that an unprivileged server user can
// traverse (t.TempDir's parents are 0700 and owned by the test's user), and
// removes it when the test ends.
func dir(t testing.TB, prefix string) string {
	t.Helper()
	d, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatalf("testsrv: %v", err)
	}
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatalf("testsrv: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// account is the user a server process runs as.
type account struct {
	name     string
	uid, gid int
}

// serverAccount returns the account a server runs as: the named system
// account when the test runs as root, else the test's own user.
func serverAccount(t testing.TB, name, debianPackage string) *account {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("testsrv: running as root, the server must run as the %q user, which Debian's %s package creates: %v", name, debianPackage, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &account{name: name, uid: uid, gid: gid}
}

// chown gives paths to the server's account (a no-op when not root).
func (a *account) chown(t testing.TB, paths ...string) {
	t.Helper()
	if a == nil {
		return
	}
	for _, p := range paths {
		if err := os.Chown(p, a.uid, a.gid); err != nil {
			t.Fatalf("testsrv: %v", err)
		}
	}
}

// command builds a command that runs as the account, in its own process
// group so a cleanup can stop everything it started.
func (a *account) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if a != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid)}
	}
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "TZ=UTC"}
	return cmd
}

// run runs a short command to completion, failing the test with its output.
func run(t testing.TB, cmd *exec.Cmd) string {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("testsrv: %s: %v\n%s", strings.Join(cmd.Args, " "), err, out.String())
	}
	return out.String()
}

// daemon is a server process started for one test.
type daemon struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// start starts a long-running server, its output to logPath, and stops it
// (TERM, then KILL of its process group after 15s) when the test ends.
func start(t testing.TB, name string, cmd *exec.Cmd, logPath string) *daemon {
	t.Helper()
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("testsrv: %v", err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("testsrv: starting %s: %v", name, err)
	}
	d := &daemon{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		d.err = cmd.Wait()
		f.Close()
		close(d.done)
	}()
	t.Cleanup(func() {
		pgid := cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-d.done
		}
	})
	return d
}

// waitReady polls ready until it succeeds, the daemon exits or timeout.
func (d *daemon) waitReady(t testing.TB, timeout time.Duration, ready func(ctx context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-d.done:
			t.Fatalf("testsrv: %s exited before it was ready (%v); its log %s:\n%s", d.name, d.err, d.log, tail(d.log))
		default:
		}
		// Generous: on a loaded machine (CI shares two cores with parallel
		// packages) one ssh handshake or psql connection can take seconds.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		last = ready(ctx)
		cancel()
		if last == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("testsrv: %s not ready after %v: %v; its log %s:\n%s", d.name, timeout, last, d.log, tail(d.log))
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// output runs cmd and returns its stdout, or an error carrying its stderr.
func output(ctx context.Context, name string, args []string, env []string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), errors.New(strings.TrimSpace(fmt.Sprintf("%v: %s", err, errb.String())))
	}
	return out.String(), nil
}

// ResticInit creates a restic repository (restic init) with the password in
// passwordFile; opts are restic -o options (sftp.command=...).
func ResticInit(t testing.TB, repository, passwordFile string, opts ...string) (string, error) {
	t.Helper()
	restic := Need(t, "restic", "restic")
	args := []string{"init"}
	for _, o := range opts {
		args = append(args, "-o", o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return output(ctx, restic, args, append(os.Environ(), "RESTIC_REPOSITORY="+repository, "RESTIC_PASSWORD_FILE="+passwordFile))
}
