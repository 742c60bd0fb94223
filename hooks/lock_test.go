package hooks

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLockHolderProcess is not a test: it is the body of the helper process
// the lock tests start. It takes the lock, says so, and waits to be killed.
func TestLockHolderProcess(t *testing.T) {
	dir := os.Getenv("CARBONGUARD_LOCK_HOLDER_DIR")
	if dir == "" {
		t.Skip("helper process only")
	}
	l, err := AcquireLock(dir, "update")
	if err != nil {
		os.Stdout.WriteString("error: " + err.Error() + "\n")
		os.Exit(1)
	}
	_ = l
	os.Stdout.WriteString("locked\n")
	select {}
}

func startHolder(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHolderProcess$")
	cmd.Env = append(os.Environ(), "CARBONGUARD_LOCK_HOLDER_DIR="+dir)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked\n", line)
	return cmd
}

func TestLockRefusesSecondHolder(t *testing.T) {
	dir := t.TempDir()
	holder := startHolder(t, dir)

	_, err := AcquireLock(dir, "snapshot create")
	var locked *LockedError
	require.True(t, errors.As(err, &locked), "want LockedError, got %v", err)
	assert.Equal(t, holder.Process.Pid, locked.Holder.PID)
	assert.Equal(t, "update", locked.Holder.Operation)
	assert.Contains(t, locked.Error(), "update")
	assert.Contains(t, locked.Hint(), "carbonguard status")
}

func TestLockOfKilledHolderIsTakenOverAndReported(t *testing.T) {
	dir := t.TempDir()
	holder := startHolder(t, dir)
	pid := holder.Process.Pid
	require.NoError(t, holder.Process.Signal(syscall.SIGKILL))
	_ = holder.Wait()

	l, err := AcquireLock(dir, "update")
	require.NoError(t, err)
	require.NotNil(t, l.Previous, "a holder that died must be reported")
	assert.Equal(t, pid, l.Previous.PID)
	assert.Equal(t, "update", l.Previous.Operation)
	require.NoError(t, l.Release())

	// A clean release leaves no previous holder behind.
	l2, err := AcquireLock(dir, "update")
	require.NoError(t, err)
	assert.Nil(t, l2.Previous)
	require.NoError(t, l2.Release())
}

func TestLockIsExclusiveWithinOneProcess(t *testing.T) {
	dir := t.TempDir()
	l, err := AcquireLock(dir, "update")
	require.NoError(t, err)
	// flock locks belong to the open file description, so a second open in
	// the same process is refused too: two goroutines cannot both update.
	_, err = AcquireLock(dir, "rollback")
	var locked *LockedError
	require.ErrorAs(t, err, &locked)
	require.NoError(t, l.Release())
	l, err = AcquireLock(dir, "rollback")
	require.NoError(t, err)
	require.NoError(t, l.Release())
}
