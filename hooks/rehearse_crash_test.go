package hooks

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/clone"
	"github.com/carbonguard/carbonguard/internal/testpack"
	"github.com/carbonguard/carbonguard/wrapper"
)

// TestRehearsalCrashHelperProcess is not a test: it is the carbonguard the
// rehearsal's crash tests kill. It runs update --rehearse on the pack named
// by the environment (whose live server the test started) and pauses at the
// step pauseAtEnv names; "copy-up" is while the updated copy runs.
func TestRehearsalCrashHelperProcess(t *testing.T) {
	home := os.Getenv("CARBONGUARD_REHEARSE_CRASH_HOME")
	if home == "" {
		t.Skip("helper process only")
	}
	o := rehearsalOptions(t, home, os.Environ())
	o.CrashPoint = testpack.PauseAt(os.Getenv(pauseAtEnv), os.Getenv(pauseFileEnv))
	o.Rehearsal.Boot.WhileUp = func(context.Context, *clone.Result, wrapper.DialFunc) { o.CrashPoint("copy-up", "") }
	_, err := Update(context.Background(), o)
	fmt.Println("finished without pausing:", err)
	os.Exit(3)
}

// crashRehearsalAt runs update --rehearse in a helper process with env,
// waits until it pauses at step, and kills it with SIGKILL.
func crashRehearsalAt(t *testing.T, home string, env []string, step string) {
	t.Helper()
	pauseFile := filepath.Join(t.TempDir(), "paused")
	cmd := exec.Command(os.Args[0], "-test.run=^TestRehearsalCrashHelperProcess$")
	cmd.Env = append(env, "CARBONGUARD_REHEARSE_CRASH_HOME="+home, pauseAtEnv+"="+step, pauseFileEnv+"="+pauseFile)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(2 * time.Minute)
	for {
		if _, err := os.Stat(pauseFile); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the helper ended before pausing at %s: %v\n%s", step, err, out)
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("the helper did not pause at %s\n%s", step, out)
		case <-time.After(20 * time.Millisecond):
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	<-done
}

// A rehearsed update killed at any step leaves the live pack as it was (and
// its server running, when the kill came before the outage) or as it is
// meant to be; the next command says which and finishes the job, and
// nothing of the copy is left.
func TestRehearsalKilledAtEachStepLeavesTheLivePackWhole(t *testing.T) {
	needNamespace(t)
	t.Parallel()
	for _, tc := range []struct {
		name, step string
		slowU2     bool
		next       string // update or start
		final      State
		meant      bool // the live pack is updated (else as it was)
		stillUp    bool // the live server was never stopped
		waits      bool // not interrupted: the transaction waits for the next start
	}{
		{"just begun", "pending", false, "update", StateAborted, false, true, false},
		{"choosing the base snapshot", "rehearsing/base-snapshot", false, "update", StateAborted, false, true, false},
		{"laying the copy down", "rehearsing/copying", false, "update", StateAborted, false, true, false},
		{"about to run u2 on the copy", "rehearsing/u2-on-copy", false, "start", StateAborted, false, true, false},
		{"while u2 runs on the copy", "u2-started", true, "update", StateAborted, false, true, false},
		{"staging the change set", "rehearsing/capturing", false, "update", StateAborted, false, true, false},
		{"about to boot the copy", "rehearsing/booting-copy", false, "start", StateAborted, false, true, false},
		{"while the copy is up", "copy-up", false, "update", StateAborted, false, true, false},
		{"the live server stopped", "live-stopped", false, "update", StateAborted, false, false, false},
		{"about to apply", "applying", false, "start", StateCommitted, true, false, false},
		{"half applied", "applying/first-change", false, "update", StateAwaitingBoot, true, false, false},
		{"applied, not booted", "updated-awaiting-boot", false, "start", StateCommitted, true, false, true},
		{"about to boot the live server", "booting", false, "start", StateCommitted, true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var opts []testpack.Option
			if tc.slowU2 {
				opts = append(opts, testpack.WithEnv("FAKE_U2_DELAY=2m"))
			}
			tp := u2Fixture(t, "clean", opts...)
			o := rehearsalOptions(t, tp.Home, tp.Env())
			ref, err := o.snapshot(context.Background(), tp.Home, "manual", nil, false)
			require.NoError(t, err)
			pid := startLive(t, o)

			crashRehearsalAt(t, tp.Home, tp.Env(), tc.step)

			st, err := Status(o.StateDir)
			require.NoError(t, err)
			require.NotNil(t, st.Open)
			assert.Equal(t, !tc.waits, st.Interrupted, "status: %s", st.Next)
			if tc.step == "copy-up" {
				require.NotNil(t, st.Open.Rehearsal)
				assert.True(t, runningFrom(st.Open.Rehearsal.Copy), "the copy's server outlived the carbonguard that booted it")
			}

			ctx := context.Background()
			switch tc.next {
			case "update":
				_, err = Update(ctx, o)
				var re *RecoveredError
				require.ErrorAs(t, err, &re, "%v", err)
			case "start":
				var g *StartGuard
				g, err = BeginStart(ctx, o.Env)
				if !tc.waits && tc.step != "booting" {
					// The recovery rule: this start finishes or undoes
					// what was interrupted, says so and stops there (34);
					// the operator's next start goes on. A first boot
					// left unjudged ("booting") is not a recovery: this
					// start judges it.
					var re *RecoveredError
					require.ErrorAs(t, err, &re, "%v", err)
					g, err = BeginStart(ctx, o.Env)
				}
				require.NoError(t, err)
				if g.Tx() == nil {
					// Nothing awaits a boot: the live server still runs, so
					// this start has nothing to do.
					require.NoError(t, g.Release())
					break
				}
				v, serr := o.Server.Start(ctx)
				require.NoError(t, serr)
				_, err = g.AfterBoot(ctx, v)
				require.NoError(t, err)
			}

			j, err := OpenJournal(o.StateDir)
			require.NoError(t, err)
			last, err := j.Latest()
			require.NoError(t, err)
			assert.Equal(t, tc.final, last.State, "%s", last.Error)
			if tc.meant {
				requireUpdated(t, o.Store, last, tp.Home)
			} else {
				requireWhole(t, o.Store, ref.ID, tp.Home)
			}
			if last.Rehearsal != nil {
				requireNoCopyLeft(t, last)
			}
			requireU2StateUntouched(t, tp)
			now, up := tp.PID()
			if tc.stillUp {
				assert.True(t, up)
				assert.Equal(t, pid, now, "the live server was never stopped")
			}
			if tc.final == StateCommitted {
				assert.True(t, up && answers(tp), "the updated live server is up")
			}
			for _, a := range attemptsOf(last) {
				assert.False(t, a.PID > 0 && alive(a.PID) && a.ExitCode == nil, "u2 (PID %d) died with the carbonguard that ran it", a.PID)
			}
			st, err = Status(o.StateDir)
			require.NoError(t, err)
			if tc.final.Terminal() {
				assert.Nil(t, st.Open)
			}
			assert.False(t, st.Interrupted)
		})
	}
}

func attemptsOf(tx *Tx) []U2Attempt {
	if tx.U2 == nil {
		return nil
	}
	return tx.U2.Attempts
}

// runningFrom reports whether a process runs with its working directory in
// dir (the stock script runs the JVM from the product home).
func runningFrom(dir string) bool {
	procs, _ := filepath.Glob("/proc/[0-9]*/cwd")
	for _, p := range procs {
		if l, err := os.Readlink(p); err == nil && (l == dir || strings.HasPrefix(l, dir+"/")) {
			return true
		}
	}
	return false
}
