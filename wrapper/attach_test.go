package wrapper

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/internal/testpack"
)

func TestAttachStopsAdoptedServerOnSignal(t *testing.T) {
	t.Parallel()
	tp := testpack.New(t, "apim-4.2")
	s := newServer(t, tp, fastOptions(t, tp))
	v, err := s.Start(context.Background())
	require.NoError(t, err)
	requireState(t, v, Up)
	pid, alive := tp.PID()
	require.True(t, alive)

	sigs := make(chan os.Signal, 1)
	done := make(chan *RunResult, 1)
	go func() {
		res, err := s.Attach(context.Background(), sigs)
		assert.NoError(t, err)
		done <- res
	}()
	select {
	case <-done:
		t.Fatal("Attach returned while the server runs")
	case <-time.After(600 * time.Millisecond):
	}
	sigs <- syscall.SIGTERM
	select {
	case res := <-done:
		assert.Equal(t, "signal SIGTERM", res.StoppedBy)
		assert.Equal(t, 143, res.ExitStatus)
	case <-time.After(30 * time.Second):
		t.Fatal("Attach did not stop the server")
	}
	assert.False(t, processAlive(pid))
	assert.Contains(t, tp.Log(), "Shutdown complete")
}

func TestAttachReturnsWhenServerDiesOnItsOwn(t *testing.T) {
	t.Parallel()
	tp := testpack.New(t, "apim-4.2")
	s := newServer(t, tp, fastOptions(t, tp))
	v, err := s.Start(context.Background())
	require.NoError(t, err)
	requireState(t, v, Up)
	pid, _ := tp.PID()

	done := make(chan *RunResult, 1)
	go func() {
		res, err := s.Attach(context.Background(), nil)
		assert.NoError(t, err)
		done <- res
	}()
	// Let Attach find the server before it dies.
	time.Sleep(500 * time.Millisecond)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	select {
	case res := <-done:
		require.NotNil(t, res)
		assert.Empty(t, res.StoppedBy)
		assert.Equal(t, 1, res.ExitStatus)
	case <-time.After(30 * time.Second):
		t.Fatal("Attach did not notice the server's death")
	}
}

func TestAttachWithoutServerFails(t *testing.T) {
	t.Parallel()
	tp := testpack.New(t, "apim-4.2")
	s := newServer(t, tp, fastOptions(t, tp))
	_, err := s.Attach(context.Background(), nil)
	require.ErrorContains(t, err, "no server")
}
