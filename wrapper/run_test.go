package wrapper

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/internal/testpack"
)

// syncBuffer is a console that the server writes to while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// notifyCollector is systemd's end of NOTIFY_SOCKET.
type notifyCollector struct {
	conn *net.UnixConn
	mu   sync.Mutex
	msgs []string
	done chan struct{}
}

func newNotifyCollector(t *testing.T) (*notifyCollector, *Notifier) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	require.NoError(t, err)
	nc := &notifyCollector{conn: c, done: make(chan struct{})}
	go func() {
		defer close(nc.done)
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			nc.mu.Lock()
			nc.msgs = append(nc.msgs, string(buf[:n]))
			nc.mu.Unlock()
		}
	}()
	t.Cleanup(func() { c.Close(); <-nc.done })
	n, err := NewNotifier(sock)
	require.NoError(t, err)
	t.Cleanup(func() { n.Close() })
	return nc, n
}

func (nc *notifyCollector) messages() []string {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	return append([]string(nil), nc.msgs...)
}

func (nc *notifyCollector) waitFor(t *testing.T, prefix string) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, m := range nc.messages() {
			if strings.HasPrefix(m, prefix) {
				return true
			}
		}
		return false
	}, 20*time.Second, 10*time.Millisecond, "no %q notification; got %q", prefix, nc.messages())
}

type runOutcome struct {
	res *RunResult
	err error
}

func runInBackground(s *Server, ctx context.Context, sigs chan os.Signal) <-chan runOutcome {
	ch := make(chan runOutcome, 1)
	go func() {
		res, err := s.Run(ctx, sigs)
		ch <- runOutcome{res, err}
	}()
	return ch
}

func waitRun(t *testing.T, ch <-chan runOutcome) runOutcome {
	t.Helper()
	select {
	case o := <-ch:
		return o
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return")
		return runOutcome{}
	}
}

func TestRunSignalStopsCleanly(t *testing.T) {
	t.Parallel()
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(signalName(sig), func(t *testing.T) {
			t.Parallel()
			tp := testpack.New(t, "apim-4.2")
			o := fastOptions(t, tp)
			console := &syncBuffer{}
			o.Stdout, o.Stderr = console, console
			nc, n := newNotifyCollector(t)
			o.Notify = n
			o.Environ = append(tp.Env(), "NOTIFY_SOCKET=/must/not/reach/the/server")
			s := newServer(t, tp, o)
			sigs := make(chan os.Signal, 2)
			ch := runInBackground(s, context.Background(), sigs)

			nc.waitFor(t, "READY=1")
			pid, alive := tp.PID()
			require.True(t, alive)
			sigs <- sig
			out := waitRun(t, ch)
			require.NoError(t, out.err)
			res := out.res
			requireState(t, res.Verdict, Up)
			assert.Equal(t, "run", res.Verdict.Command)
			assert.Equal(t, "signal "+signalName(sig), res.StoppedBy)
			assert.False(t, res.Killed)
			// The JVM got SIGTERM, shut down in order and exited 143; the
			// script's status is the JVM's.
			assert.Equal(t, 143, res.ExitStatus)
			assert.False(t, processAlive(pid))
			assert.Contains(t, tp.Log(), "Shutdown complete")
			assert.Contains(t, console.String(), "WSO2 Carbon started in", "the console reaches Stdout")

			msgs := nc.messages()
			ready := -1
			for i, m := range msgs {
				if strings.HasPrefix(m, "READY=1") {
					assert.Equal(t, -1, ready, "READY=1 sent once")
					ready = i
				}
			}
			require.GreaterOrEqual(t, ready, 0)
			assert.True(t, strings.HasPrefix(msgs[len(msgs)-1], "STOPPING=1"), "%q", msgs)
			inv := tp.Invocations()
			require.Len(t, inv, 1)
			assert.NotContains(t, inv[0].Env, "NOTIFY_SOCKET")
		})
	}
}

func TestRunPassesExitStatusThrough(t *testing.T) {
	t.Parallel()
	tp := testpack.New(t, "apim-4.2", testpack.WithBehaviour("fail-config"))
	o := fastOptions(t, tp)
	s := newServer(t, tp, o)
	out := waitRun(t, runInBackground(s, context.Background(), nil))
	require.NoError(t, out.err, "a server that exits by itself gives its status, not an error")
	assert.Equal(t, 1, out.res.ExitStatus)
	assert.Empty(t, out.res.StoppedBy)
	requireState(t, out.res.Verdict, Failed)
	assert.Contains(t, out.res.Verdict.Reason, "config-error")
}

func TestRunHonoursRestartLoop(t *testing.T) {
	t.Parallel()
	tp := testpack.New(t, "apim-4.2", testpack.WithBehaviour("restart-once"), testpack.WithCrashAfter(300*time.Millisecond))
	o := fastOptions(t, tp)
	o.Stability = 2 * time.Second // the restart comes inside the window
	s := newServer(t, tp, o)
	sigs := make(chan os.Signal, 1)
	ch := runInBackground(s, context.Background(), sigs)
	require.Eventually(t, func() bool { return len(tp.Invocations()) == 2 }, 20*time.Second, 20*time.Millisecond)
	tp.WaitLog(t, "Starting a new Carbon instance", 10*time.Second)
	// The verdict is on the relaunched JVM.
	require.Eventually(t, func() bool {
		v, _ := LoadLastVerdict(o.StateDir)
		return v != nil
	}, 20*time.Second, 20*time.Millisecond)
	sigs <- syscall.SIGTERM
	out := waitRun(t, ch)
	require.NoError(t, out.err)
	requireState(t, out.res.Verdict, Up)
	inv := tp.Invocations()
	require.Len(t, inv, 2)
	assert.Equal(t, inv[1].PID, out.res.Verdict.PID)
	assert.Contains(t, strings.Join(out.res.Verdict.Notes, "\n"), "restart")
	assert.Equal(t, 143, out.res.ExitStatus)
}

func TestRunStopsFailedBoot(t *testing.T) {
	t.Parallel()
	tp := testpack.New(t, "apim-4.2", testpack.WithBehaviour("hang-osgi"), testpack.WithOSGiInterval(150*time.Millisecond))
	s := newServer(t, tp, fastOptions(t, tp))
	out := waitRun(t, runInBackground(s, context.Background(), nil))
	var be *BootError
	require.ErrorAs(t, out.err, &be)
	assert.True(t, be.Stopped)
	requireState(t, be.Verdict, Failed)
	assert.Equal(t, "boot failed", out.res.StoppedBy)
	assert.Equal(t, 143, out.res.ExitStatus)
	pid, alive := tp.PID()
	assert.False(t, alive, "pid %d", pid)
}

func TestRunKillsServerIgnoringTERM(t *testing.T) {
	t.Parallel()
	tp := testpack.New(t, "apim-4.2", testpack.WithBehaviour("ignore-term"))
	o := fastOptions(t, tp)
	o.StopTimeout = 500 * time.Millisecond
	s := newServer(t, tp, o)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nc, n := newNotifyCollector(t)
	s.o.Notify = n
	ch := runInBackground(s, ctx, nil)
	nc.waitFor(t, "READY=1")
	cancel() // like a signal: the context ends the run
	out := waitRun(t, ch)
	require.NoError(t, out.err)
	assert.True(t, out.res.Killed)
	assert.Equal(t, 128+9, out.res.ExitStatus)
	assert.Contains(t, out.res.StoppedBy, "context")
}

func TestRunSecondInterruptKills(t *testing.T) {
	t.Parallel()
	tp := testpack.New(t, "apim-4.2", testpack.WithBehaviour("ignore-term"))
	o := fastOptions(t, tp)
	o.StopTimeout = time.Minute
	s := newServer(t, tp, o)
	nc, n := newNotifyCollector(t)
	s.o.Notify = n
	sigs := make(chan os.Signal, 2)
	ch := runInBackground(s, context.Background(), sigs)
	nc.waitFor(t, "READY=1")
	sigs <- os.Interrupt
	nc.waitFor(t, "STOPPING=1")
	sigs <- os.Interrupt
	out := waitRun(t, ch)
	require.NoError(t, out.err)
	assert.True(t, out.res.Killed)
	assert.Less(t, time.Since(out.res.Verdict.Timings.Decided), 30*time.Second)
}
