package wrapper

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWatchAcrossRotation judges a "server" that is a real sleeping process
// watched by PID (as for a server carbonguard did not launch), whose log is
// rotated between the first lines and the success line, with a health
// endpoint that answers only from its third request.
func TestWatchAcrossRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log := filepath.Join(dir, "wso2carbon.log")
	appendFile(t, log, "an old boot: "+lineSuccess+"\n") // before the launch: must not count
	tail, err := NewLogTail(log)
	require.NoError(t, err)
	defer tail.Close()

	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if hits.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	sleeper := exec.Command("sleep", "30")
	require.NoError(t, sleeper.Start())
	defer func() { _ = sleeper.Process.Kill(); _, _ = sleeper.Process.Wait() }()
	proc := WatchPID(sleeper.Process.Pid, 20*time.Millisecond)
	defer proc.Close()

	go func() {
		// Not appendFile: a helper goroutine must not end the test.
		write := func(s string) {
			f, err := os.OpenFile(log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
			if err == nil {
				_, _ = f.WriteString(s)
				_ = f.Close()
			}
		}
		time.Sleep(100 * time.Millisecond)
		write("[2024-05-01 10:11:00,000]  INFO {x} - Starting\n")
		time.Sleep(100 * time.Millisecond)
		_ = os.Rename(log, log+".1")
		write(lineSuccess + "\n")
	}()
	v := Watch(context.Background(), WatchSpec{
		Log: tail, Proc: proc, Health: []HealthCheck{{Name: "h", URL: srv.URL}},
		Rules: Rules{Timeout: 10 * time.Second, Stability: 200 * time.Millisecond},
		Poll:  20 * time.Millisecond, ProbeInterval: 30 * time.Millisecond,
	})
	requireState(t, v, Up)
	assert.Equal(t, 1, v.Log.Rotations)
	assert.Equal(t, 2, v.Log.LinesRead)
	assert.Equal(t, sleeper.Process.Pid, v.PID)
	require.Len(t, v.Health, 1)
	assert.Equal(t, 3, v.Health[0].Attempts)
	assert.True(t, v.Timings.HealthOK.After(*v.Timings.SuccessLine))
	assert.False(t, v.Timings.Decided.Before(v.Timings.SuccessLine.Add(200*time.Millisecond)))
}

func TestWatchProcessDiesUnwatched(t *testing.T) {
	t.Parallel()
	tail, err := NewLogTail(filepath.Join(t.TempDir(), "none.log"))
	require.NoError(t, err)
	sleeper := exec.Command("sleep", "30")
	require.NoError(t, sleeper.Start())
	proc := WatchPID(sleeper.Process.Pid, 20*time.Millisecond)
	defer proc.Close()
	go func() {
		time.Sleep(100 * time.Millisecond)
		_ = sleeper.Process.Kill()
		_, _ = sleeper.Process.Wait()
	}()
	v := Watch(context.Background(), WatchSpec{Log: tail, Proc: proc, Rules: Rules{Timeout: 10 * time.Second, Stability: time.Second}})
	requireState(t, v, Failed)
	require.NotNil(t, v.Exit)
	assert.False(t, v.Exit.Known, "not our child: the status is lost")
	assert.Contains(t, v.Reason, "status not known")
}

func TestWatchInterrupted(t *testing.T) {
	t.Parallel()
	tail, err := NewLogTail(filepath.Join(t.TempDir(), "none.log"))
	require.NoError(t, err)
	sleeper := exec.Command("sleep", "30")
	require.NoError(t, sleeper.Start())
	defer func() { _ = sleeper.Process.Kill(); _, _ = sleeper.Process.Wait() }()
	proc := WatchPID(sleeper.Process.Pid, 20*time.Millisecond)
	defer proc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	var progress []string
	v := Watch(ctx, WatchSpec{Log: tail, Proc: proc, Rules: Rules{Timeout: time.Minute, Stability: time.Second},
		OnProgress: func(s string) { progress = append(progress, s) }})
	requireState(t, v, Unknown)
	assert.Contains(t, v.Reason, "interrupted")
	require.NotEmpty(t, progress)
	assert.Contains(t, progress[0], "waiting for the success line")
}
