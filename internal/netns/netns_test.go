package netns

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// needRoot: network namespaces need root. CI runs the tests as root, so
// there a missing privilege is a failure, not a skip.
func needRoot(t *testing.T) {
	t.Helper()
	if ok, why := Supported(); !ok {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the tests as root: %s", why)
		}
		t.Skipf("needs root: %s", why)
	}
}

func newNS(t *testing.T) *NS {
	t.Helper()
	n, err := New()
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// TestOnlyLoopback: inside, lo is the only interface and it is up; a
// listener on the host's 127.0.0.1 cannot be reached from inside, and one
// inside cannot be reached from the host, even on the same port number.
func TestOnlyLoopback(t *testing.T) {
	needRoot(t)
	n := newNS(t)

	ifs, err := n.Interfaces()
	require.NoError(t, err)
	require.Len(t, ifs, 1, "%v", ifs)
	assert.Equal(t, "lo", ifs[0].Name)
	assert.NotZero(t, ifs[0].Flags&net.FlagUp, "lo is up")

	host, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer host.Close()
	go func() {
		for {
			c, err := host.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, "host\n")
			c.Close()
		}
	}()
	addr := host.Addr().String()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = n.DialContext(ctx, "tcp", addr)
	require.Error(t, err, "the host's 127.0.0.1 must not be reachable from inside")
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)

	// The same port inside: free there, and it answers inside only.
	inner, err := n.Listen("tcp", addr)
	require.NoError(t, err, "the host's port is free inside the namespace")
	defer inner.Close()
	go func() {
		for {
			c, err := inner.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, "inside\n")
			c.Close()
		}
	}()
	read := func(c net.Conn) string {
		defer c.Close()
		b, _ := io.ReadAll(c)
		return strings.TrimSpace(string(b))
	}
	c, err := n.DialContext(ctx, "tcp", addr)
	require.NoError(t, err)
	assert.Equal(t, "inside", read(c))
	c, err = net.Dial("tcp", addr)
	require.NoError(t, err)
	assert.Equal(t, "host", read(c), "the host still reaches its own listener")
}

// TestStartInside: a command started inside lives in the namespace (and
// so do its children); carbonguard's own threads stay outside.
func TestStartInside(t *testing.T) {
	needRoot(t)
	n := newNS(t)
	ino, err := n.Inode()
	require.NoError(t, err)
	self, err := InodeOf(os.Getpid())
	require.NoError(t, err)
	require.NotEqual(t, self, ino)

	cmd := exec.Command("/bin/sh", "-c", `readlink /proc/self/ns/net; sh -c 'readlink /proc/self/ns/net'`)
	var out strings.Builder
	cmd.Stdout = &out
	require.NoError(t, n.Start(cmd))
	require.NoError(t, cmd.Wait())
	want := fmt.Sprintf("net:[%d]", ino)
	assert.Equal(t, want+"\n"+want+"\n", out.String())

	// Many round trips later, carbonguard's threads are all outside.
	for range 50 {
		require.NoError(t, n.Do(func() error { return nil }))
	}
	after, err := InodeOf(os.Getpid())
	require.NoError(t, err)
	assert.Equal(t, self, after)
	tasks, err := os.ReadDir("/proc/self/task")
	require.NoError(t, err)
	for _, task := range tasks {
		var st syscall.Stat_t
		if syscall.Stat("/proc/self/task/"+task.Name()+"/ns/net", &st) == nil {
			assert.Equal(t, self, st.Ino, "thread %s left inside the namespace", task.Name())
		}
	}
}

func TestClosed(t *testing.T) {
	var n *NS
	assert.Error(t, n.Do(func() error { return nil }))
	assert.NoError(t, n.Close())
}
