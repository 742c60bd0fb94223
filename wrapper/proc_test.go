package wrapper

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func startSleep(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", append([]string{"30"}, args...)...)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	return cmd
}

func TestProcessAliveAndZombie(t *testing.T) {
	t.Parallel()
	cmd := startSleep(t)
	pid := cmd.Process.Pid
	assert.True(t, processAlive(pid))

	st, err := readProcStat(pid)
	require.NoError(t, err)
	assert.Equal(t, os.Getpid(), st.PPID)

	start, err := processStartTime(pid)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), start, 5*time.Second)

	assert.Contains(t, childrenOf(os.Getpid()), pid)
	assert.True(t, isDescendant(pid, os.Getpid()))
	assert.False(t, isDescendant(os.Getpid(), pid))

	// Killed but not yet waited for: a zombie, which is not alive.
	require.NoError(t, cmd.Process.Kill())
	require.Eventually(t, func() bool { return !processAlive(pid) }, 5*time.Second, 10*time.Millisecond)
	_, _ = cmd.Process.Wait()
	assert.False(t, processAlive(pid))
	assert.False(t, processAlive(0))
	assert.False(t, processAlive(-1))
}

func TestReadPIDFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	require.NoError(t, os.WriteFile(good, []byte(" 1234\n"), 0o644))
	pid, err := readPIDFile(good)
	require.NoError(t, err)
	assert.Equal(t, 1234, pid)
	bad := filepath.Join(dir, "bad")
	require.NoError(t, os.WriteFile(bad, []byte("abc"), 0o644))
	_, err = readPIDFile(bad)
	assert.ErrorContains(t, err, `"abc" is not a process id`)
	_, err = readPIDFile(filepath.Join(dir, "missing"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestTCPListenersFindsOurSocket(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	ls, err := tcpListeners()
	require.NoError(t, err)
	var found *listener
	for i := range ls {
		if ls[i].Port == port {
			found = &ls[i]
		}
	}
	require.NotNil(t, found, "port %d not in /proc/net/tcp", port)
	assert.Equal(t, "127.0.0.1", found.Addr)
	inodes, err := socketInodes(os.Getpid())
	require.NoError(t, err)
	assert.True(t, inodes[found.Inode], "the listening socket belongs to this process")
}
