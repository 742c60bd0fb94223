package wrapper

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// listenNotify is systemd's side: a unixgram socket that collects datagrams.
func listenNotify(t *testing.T, name string) (*net.UnixConn, func() string) {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c, func() string {
		t.Helper()
		buf := make([]byte, 4096)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
		n, err := c.Read(buf)
		require.NoError(t, err)
		return string(buf[:n])
	}
}

func TestNotifierPathSocket(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "notify")
	_, recv := listenNotify(t, sock)
	n, err := NewNotifier(sock)
	require.NoError(t, err)
	defer n.Close()

	require.NoError(t, n.Status("boot: waiting"))
	assert.Equal(t, "STATUS=boot: waiting", recv())
	require.NoError(t, n.Status("boot: waiting")) // same status: not sent again
	require.NoError(t, n.Status("two\nlines"))
	assert.Equal(t, "STATUS=two lines", recv())
	require.NoError(t, n.Ready("up", 4242))
	assert.Equal(t, "READY=1\nSTATUS=up\nMAINPID=4242", recv())
	require.NoError(t, n.Ready("up again", 0)) // READY=1 only once
	require.NoError(t, n.Stopping("stopping: signal SIGTERM"))
	assert.Equal(t, "STOPPING=1\nSTATUS=stopping: signal SIGTERM", recv())
}

func TestNotifierAbstractSocket(t *testing.T) {
	t.Parallel()
	name := fmt.Sprintf("@carbonguard-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	_, recv := listenNotify(t, name)
	n, err := NewNotifier(name)
	require.NoError(t, err)
	defer n.Close()
	require.NoError(t, n.Send("READY=1"))
	assert.Equal(t, "READY=1", recv())
}

func TestNotifierReconnects(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "notify")
	c, recv := listenNotify(t, sock)
	n, err := NewNotifier(sock)
	require.NoError(t, err)
	defer n.Close()
	require.NoError(t, n.Send("STATUS=a"))
	assert.Equal(t, "STATUS=a", recv())
	// systemd re-executed: the socket is gone and made anew.
	c.Close()
	require.NoError(t, os.Remove(sock))
	_, recv2 := listenNotify(t, sock)
	require.NoError(t, n.Send("STATUS=b"))
	assert.Equal(t, "STATUS=b", recv2())
}

func TestNotifierNone(t *testing.T) {
	t.Parallel()
	n, err := NewNotifier("")
	require.NoError(t, err)
	assert.Nil(t, n)
	// A nil notifier is a no-op, so callers need not check.
	assert.NoError(t, n.Status("x"))
	assert.NoError(t, n.Ready("x", 1))
	assert.NoError(t, n.Stopping("x"))
	assert.NoError(t, n.Close())

	_, err = NewNotifier("vsock:2:1234")
	assert.ErrorContains(t, err, "only a socket path")

	n, err = NewNotifier(filepath.Join(t.TempDir(), "nobody-listens"))
	require.NoError(t, err)
	assert.Error(t, n.Send("READY=1"), "a missing socket is reported, not swallowed")
}
