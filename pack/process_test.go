package pack

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startProcess runs a real process that sleeps; args are extra argv
// entries it carries (sh puts them in $0, $1, ...).
func startProcess(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	// "; exit 0" keeps sh from exec'ing sleep in its place, which would
	// change the command line (and race the /proc reads) under the test.
	cmd := exec.Command("sh", append([]string{"-c", "sleep 30; exit 0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// Start returns once execve has closed the CLOEXEC descriptors, a moment
	// before the kernel sets up the new command line: wait for it, as a real
	// server's PID file is written long after.
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid))
		return err == nil && strings.Contains(string(b), "sleep 30")
	}, 5*time.Second, 5*time.Millisecond)
	return cmd
}

func writePID(t *testing.T, p *Pack, pid int) {
	t.Helper()
	require.NoError(t, os.WriteFile(p.PIDFile, []byte(strconv.Itoa(pid)+"\n"), 0o644))
}

func TestRunningPID(t *testing.T) {
	t.Parallel()
	home := tomlPack(t, "[server]\n")
	p, err := Open(home)
	require.NoError(t, err)

	pid, running, err := p.RunningPID()
	require.NoError(t, err)
	assert.Equal(t, 0, pid)
	assert.False(t, running, "no PID file")

	// A process whose command line names this home is the server.
	srv := startProcess(t, nil, "-Dcarbon.home="+p.Home)
	writePID(t, p, srv.Process.Pid)
	pid, running, err = p.RunningPID()
	require.NoError(t, err)
	assert.Equal(t, srv.Process.Pid, pid)
	assert.True(t, running)

	// So is one started with CARBON_HOME set to it.
	envSrv := startProcess(t, []string{"CARBON_HOME=" + p.Home + "/"})
	writePID(t, p, envSrv.Process.Pid)
	_, running, err = p.RunningPID()
	require.NoError(t, err)
	assert.True(t, running)

	// A recycled PID held by an unrelated process is not the server.
	other := startProcess(t, nil, "-Dcarbon.home="+filepath.Join(t.TempDir(), "other-pack"))
	writePID(t, p, other.Process.Pid)
	pid, running, err = p.RunningPID()
	require.NoError(t, err)
	assert.Equal(t, other.Process.Pid, pid)
	assert.False(t, running)

	// A stale PID file: the process is gone.
	gone := exec.Command("sh", "-c", "exit 0")
	require.NoError(t, gone.Run())
	writePID(t, p, gone.Process.Pid)
	pid, running, err = p.RunningPID()
	require.NoError(t, err)
	assert.Equal(t, gone.Process.Pid, pid)
	assert.False(t, running)

	// A zombie (exited, not yet reaped) is not running either.
	zombie := exec.Command("sh", "-c", "exit 0", "-Dcarbon.home="+p.Home)
	require.NoError(t, zombie.Start())
	t.Cleanup(func() { _ = zombie.Wait() })
	writePID(t, p, zombie.Process.Pid)
	require.Eventually(t, func() bool {
		_, running, _ := p.RunningPID()
		return !running
	}, 5*time.Second, 10*time.Millisecond)

	// Garbage in the PID file is an error that names the file.
	require.NoError(t, os.WriteFile(p.PIDFile, []byte("not-a-pid"), 0o644))
	_, _, err = p.RunningPID()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "wso2carbon.pid")

	// An empty one is no server.
	require.NoError(t, os.WriteFile(p.PIDFile, nil, 0o644))
	pid, running, err = p.RunningPID()
	require.NoError(t, err)
	assert.Zero(t, pid)
	assert.False(t, running)
}

func TestRunningPIDThroughSymlinkedHome(t *testing.T) {
	t.Parallel()
	real := tomlPack(t, "[server]\n")
	link := filepath.Join(t.TempDir(), "apim")
	require.NoError(t, os.Symlink(real, link))
	p, err := Open(link)
	require.NoError(t, err)
	srv := startProcess(t, nil, "-Dcarbon.home="+real)
	writePID(t, p, srv.Process.Pid)
	_, running, err := p.RunningPID()
	require.NoError(t, err)
	assert.True(t, running, "the server names the real path, the pack was opened through a link")
}
