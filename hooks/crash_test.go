package hooks

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/internal/testpack"
)

// The helper process learns where to pause from these variables, which
// only the tests read: they set Env.CrashPoint, which carbonguard never does.
const (
	pauseAtEnv   = "CARBONGUARD_TEST_PAUSE_AT"   // <state>[/<step>]
	pauseFileEnv = "CARBONGUARD_TEST_PAUSE_FILE" // the helper writes its PID here once paused
)

// TestCrashHelperProcess is not a test: it is the carbonguard the crash
// tests kill. It runs one guarded operation on the pack named by the
// environment and pauses at the step pauseAtEnv names.
func TestCrashHelperProcess(t *testing.T) {
	op := os.Getenv("CARBONGUARD_CRASH_OP")
	if op == "" {
		t.Skip("helper process only")
	}
	env := testEnv(t, os.Getenv("CARBONGUARD_CRASH_HOME"))
	env.CrashPoint = testpack.PauseAt(os.Getenv(pauseAtEnv), os.Getenv(pauseFileEnv))
	ctx := context.Background()
	var err error
	switch op {
	case "update":
		_, err = Update(ctx, UpdateOptions{Env: env})
	case "update-start":
		_, err = Update(ctx, UpdateOptions{Env: env, Start: true})
	case "start":
		var g *StartGuard
		if g, err = BeginStart(ctx, env); err == nil {
			v, _ := env.Server.Start(ctx)
			_, err = g.AfterBoot(ctx, v)
		}
	}
	fmt.Println("finished without pausing:", err)
	os.Exit(3)
}

// crashAt runs op in a helper process, waits until it pauses at step,
// (and, when waitFile is given, until that file exists), and kills it with
// SIGKILL.
func crashAt(t *testing.T, home, op, step, waitFile string) {
	t.Helper()
	pauseFile := filepath.Join(t.TempDir(), "paused")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelperProcess$")
	cmd.Env = append(os.Environ(),
		"CARBONGUARD_CRASH_OP="+op, "CARBONGUARD_CRASH_HOME="+home,
		pauseAtEnv+"="+step, pauseFileEnv+"="+pauseFile)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(30 * time.Second)
	for {
		_, err := os.Stat(pauseFile)
		ready := err == nil
		if ready && waitFile != "" {
			_, err := os.Stat(waitFile)
			ready = err == nil
		}
		if ready {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the helper ended before pausing at %s: %v\n%s", step, err, out)
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("the helper did not pause at %s\n%s", step, out)
		case <-time.After(10 * time.Millisecond):
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	<-done
}

// reference takes a manual snapshot of the pack as it is before the test's
// operation: what "whole" means afterwards.
func reference(t *testing.T, env Env) string {
	t.Helper()
	m, err := env.Store.Create(context.Background(), env.Home, archive.CreateOptions{Reason: "manual"})
	require.NoError(t, err)
	return m.ID
}

func TestKilledAtEachStepLeavesThePackWhole(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, script, op, step string
		waitU2                 bool
		// next is the command run after the kill; want its outcome.
		next    string
		want    Outcome
		wantErr any
		final   State
	}{
		// The recovery rule (RecoveredError): the next command finishes or
		// undoes what was left and stops there; a rollback whose own work
		// the recovery did succeeds. A first boot left unjudged is not a
		// recovery: the next start judges it (its own work).
		{"before u2", "clean", "update", "pending", false, "update", OutcomeRecovered, &RecoveredError{}, StateAborted},
		{"about to run u2", "slow", "update", "u2-running", false, "update", OutcomeRecovered, &RecoveredError{}, StateRestored},
		{"while u2 runs", "slow", "update", "u2-started", true, "update", OutcomeRecovered, &RecoveredError{}, StateRestored},
		{"while u2 runs, then start", "slow", "update", "u2-started", true, "start", OutcomeRecovered, &RecoveredError{}, StateRestored},
		{"while u2 runs, then rollback", "slow", "update", "u2-started", true, "rollback", OutcomeRestored, nil, StateRestored},
		{"restoring after u2 failed", "fail-halfway", "update", "restoring", false, "update", OutcomeRecovered, &RecoveredError{}, StateRestored},
		{"during the first boot", "broken-boot", "update-start", "booting", false, "start", OutcomeRolledBack, &RolledBackError{}, StateRolledBack},
		{"rollback: stopping", "broken-boot", "update-start", "rolling-back/stopping", false, "start", OutcomeRecovered, &RecoveredError{}, StateRolledBack},
		{"rollback: keeping the verdict", "broken-boot", "update-start", "rolling-back/keeping-verdict", false, "rollback", OutcomeRolledBack, nil, StateRolledBack},
		{"rollback: restoring", "broken-boot", "update-start", "rolling-back/restoring", false, "start", OutcomeRecovered, &RecoveredError{}, StateRolledBack},
		{"rollback: starting", "broken-boot", "update-start", "rolling-back/starting", false, "update", OutcomeRecovered, &RecoveredError{}, StateRolledBack},
		{"rollback: keeping evidence", "broken-boot", "update-start", "rolling-back/keeping-evidence", false, "start", OutcomeRecovered, &RecoveredError{}, StateRolledBack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			home := fixturePack(t)
			installU2(t, home, tc.script)
			env := testEnv(t, home)
			ref := reference(t, env)
			wait := ""
			if tc.waitU2 {
				wait = filepath.Join(filepath.Dir(home), "u2.pid")
			}
			crashAt(t, home, tc.op, tc.step, wait)

			// status says what was left, without changing it.
			st, err := Status(env.StateDir)
			require.NoError(t, err)
			require.NotNil(t, st.Open)
			assert.True(t, st.Interrupted, "status must call it interrupted: %s", st.Next)
			require.NotNil(t, st.DeadHolder, "status names the dead lock holder")
			assert.Nil(t, st.Holder)

			ctx := context.Background()
			var res *Result
			switch tc.next {
			case "update":
				res, err = Update(ctx, UpdateOptions{Env: env})
			case "rollback":
				res, err = Rollback(ctx, RollbackOptions{Env: env})
			case "start":
				var g *StartGuard
				g, err = BeginStart(ctx, env)
				if err == nil {
					v, serr := env.Server.Start(ctx)
					require.NoError(t, serr)
					res, err = g.AfterBoot(ctx, v)
				} else {
					var re *RecoveredError
					require.ErrorAs(t, err, &re, "BeginStart refuses only after a recovery here")
					res = &Result{Outcome: OutcomeRecovered}
				}
			}
			if tc.wantErr == nil {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				require.IsType(t, tc.wantErr, err, "%v", err)
			}
			require.NotNil(t, res)
			assert.Equal(t, tc.want, res.Outcome)

			j, err := OpenJournal(env.StateDir)
			require.NoError(t, err)
			last, err := j.Latest()
			require.NoError(t, err)
			assert.Equal(t, tc.final, last.State)
			requireSameAs(t, env, ref)

			if tc.waitU2 {
				pid, err := os.ReadFile(filepath.Join(filepath.Dir(home), "u2.pid"))
				require.NoError(t, err)
				n, _ := strconv.Atoi(strings.TrimSpace(string(pid)))
				assert.False(t, alive(n), "u2 died with the carbonguard that ran it")
			}
			if tc.final == StateRolledBack {
				assert.FileExists(t, filepath.Join(last.FailedDir, "verdict.json"))
				failedLog, err := os.ReadFile(filepath.Join(last.FailedDir, "logs", "wso2carbon.log"))
				require.NoError(t, err, "the failed boot's logs are kept")
				assert.Contains(t, string(failedLog), "startup failed")
				assert.NotEmpty(t, last.FailedSnapshotID)
			}
			st, err = Status(env.StateDir)
			require.NoError(t, err)
			assert.Nil(t, st.Open)
			assert.False(t, st.Interrupted)
		})
	}
}

// alive reports whether pid is a live process (a zombie waiting for a
// parent that will never reap it is dead).
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || len(s) < i+3 || s[i+2] != 'Z'
}

// A start killed after the updated server came up but before its verdict was
// recorded leaves the transaction booting and the server running, unjudged.
// The next start stops that server and judges a boot from the beginning
// instead of refusing as "already running".
func TestInterruptedFirstBootWithServerLeftRunningIsJudgedAgain(t *testing.T) {
	t.Parallel()
	home := fixturePack(t)
	installU2(t, home, "clean")
	env := testEnv(t, home)
	crashAt(t, home, "update-start", "booting", "")
	srv := env.Server.(fileServer)
	require.NoError(t, os.WriteFile(srv.marker(), nil, 0o644), "the interrupted start's server is running")

	ctx := context.Background()
	g, err := BeginStart(ctx, env)
	require.NoError(t, err)
	require.NotNil(t, g.Tx(), "the update still awaits its judged first boot")
	_, running, err := env.Server.Running(ctx)
	require.NoError(t, err)
	assert.False(t, running, "the unjudged server was stopped before this start")

	v, err := env.Server.Start(ctx)
	require.NoError(t, err)
	res, err := g.AfterBoot(ctx, v)
	require.NoError(t, err)
	assert.Equal(t, OutcomeCommitted, res.Outcome)
}
