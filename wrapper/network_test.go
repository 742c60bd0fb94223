package wrapper

import (
	"context"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/internal/netns"
	"github.com/carbonguard/carbonguard/internal/testpack"
)

// TestStartInNetworkNamespace: with Options.Network the server runs in its
// own network namespace and the verdict's probes go there: up, although
// the server's ports cannot be reached from the host.
func TestStartInNetworkNamespace(t *testing.T) {
	if ok, why := netns.Supported(); !ok {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the tests as root: %s", why)
		}
		t.Skipf("needs root: %s", why)
	}
	t.Parallel()
	ns, err := netns.New()
	require.NoError(t, err)
	defer ns.Close()
	tp := testpack.New(t, "apim-4.2")
	o := fastOptions(t, tp)
	o.Network = ns
	s := newServer(t, tp, o)
	ctx := context.Background()

	v, err := s.Start(ctx)
	require.NoError(t, err)
	requireState(t, v, Up)
	require.NotEmpty(t, v.Health)
	for _, h := range v.Health {
		assert.True(t, h.OK, h.URL)
	}
	ino, err := ns.Inode()
	require.NoError(t, err)
	jvmNS, err := netns.InodeOf(v.PID)
	require.NoError(t, err)
	assert.Equal(t, ino, jvmNS, "the JVM runs inside the namespace")

	_, err = net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(tp.Port(9443)), time.Second)
	assert.Error(t, err, "the server's port is not reachable from the host")

	sr, err := s.Stop(ctx)
	require.NoError(t, err)
	assert.True(t, sr.WasRunning)
	assert.False(t, sr.Killed)
}
