package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/hooks"
	"github.com/carbonguard/carbonguard/internal/testpack"
)

// The crash matrix, end to end: a real carbonguard (this test binary run
// as "carbonguard", see TestMain) is killed with SIGKILL at each step the
// journal records, and the next command is run as an operator would run it.
// Its exit code is the recovery rule's (exit.go): the next update, hook,
// rollback, start, run or restart finishes or undoes what was left and stops
// there with 34 (the pack in a known state), or 33 (a person must look); a
// rollback whose own work the recovery did succeeds (0); a first boot left
// unjudged is not a recovery: the next start judges it (here: 32). The pack
// ends whole, and nothing stays open. (hooks/crash_test.go runs the same
// matrix on hooks' functions with a fake server.)

// crashCLI is one kill and the command after it.
type crashCLI struct {
	name   string
	server string   // testdata/u2/<server>
	before []string // commands run first (each must succeed)
	op     []string // the command killed
	at     string   // <state>[/<step>] where it is paused and killed
	next   []string // the next command
	code   int      // its exit code
	final  hooks.State
	// rootFlag: carbonguard.toml does not allow root; the commands pass
	// --allow-root themselves (run only as root).
	rootFlag bool
}

func TestCrashMatrixNextCommandExitCode(t *testing.T) {
	update := []string{"update", "--no-checks"}
	updateStart := []string{"update", "--no-checks", "--start"}
	start := []string{"start", "--force", "--force-reason", "crash test"}
	cases := []crashCLI{
		{name: "before u2, then update", server: "clean", op: update, at: "pending", next: update, code: exitRecovered, final: hooks.StateAborted},
		{name: "about to run u2, then update", server: "clean", op: update, at: "u2-running", next: update, code: exitRecovered, final: hooks.StateRestored},
		{name: "while u2 runs, then update", server: "clean", op: update, at: "u2-started", next: update, code: exitRecovered, final: hooks.StateRestored},
		{name: "while u2 runs, then start", server: "clean", op: update, at: "u2-started", next: start, code: exitRecovered, final: hooks.StateRestored},
		{name: "while u2 runs, then run", server: "clean", op: update, at: "u2-started", next: []string{"run", "--force", "--force-reason", "crash test"}, code: exitRecovered, final: hooks.StateRestored},
		{name: "while u2 runs, then rollback", server: "clean", op: update, at: "u2-started", next: []string{"rollback"}, code: exitOK, final: hooks.StateRestored},
		{name: "restoring after u2 failed, then update", server: "fail-halfway", op: update, at: "restoring", next: update, code: exitRecovered, final: hooks.StateRestored},
		{name: "restoring after u2 failed, then rollback", server: "fail-halfway", op: update, at: "restoring", next: []string{"rollback"}, code: exitOK, final: hooks.StateRestored},
		{name: "hook pre-update before its snapshot is recorded, then hook pre-update", server: "clean", op: []string{"hook", "pre-update", "--no-checks"}, at: "pending", next: []string{"hook", "pre-update", "--no-checks"}, code: exitRecovered, final: hooks.StateAborted},
		{name: "during the first boot, then start", server: "broken-boot", op: updateStart, at: "booting", next: start, code: exitRolledBack, final: hooks.StateRolledBack},
		{name: "rollback: stopping, then start", server: "broken-boot", op: updateStart, at: "rolling-back/stopping", next: start, code: exitRecovered, final: hooks.StateRolledBack},
		{name: "rollback: keeping the verdict, then rollback", server: "broken-boot", op: updateStart, at: "rolling-back/keeping-verdict", next: []string{"rollback"}, code: exitOK, final: hooks.StateRolledBack},
		{name: "rollback: restoring, then restart", server: "broken-boot", op: updateStart, at: "rolling-back/restoring", next: []string{"restart", "--force", "--force-reason", "crash test"}, code: exitRecovered, final: hooks.StateRolledBack},
		{name: "rollback: starting, then update", server: "broken-boot", op: updateStart, at: "rolling-back/starting", next: update, code: exitRecovered, final: hooks.StateRolledBack},
		{name: "rollback: keeping evidence, then start", server: "broken-boot", op: updateStart, at: "rolling-back/keeping-evidence", next: start, code: exitRecovered, final: hooks.StateRolledBack},
		{name: "manual rollback restoring, then rollback", server: "clean", before: update, op: []string{"rollback"}, at: "restoring", next: []string{"rollback"}, code: exitOK, final: hooks.StateRestored},
		{name: "manual rollback restoring, then start", server: "clean", before: update, op: []string{"rollback"}, at: "restoring", next: start, code: exitRecovered, final: hooks.StateRestored},
	}
	if os.Geteuid() == 0 {
		// As root, finishing a rollback starts the restored server only
		// with --allow-root (or [start] allow_root / user): rollback has it.
		cases = append(cases, crashCLI{name: "as root: rollback: starting, then rollback --allow-root", server: "broken-boot",
			op: append(updateStart, "--allow-root"), at: "rolling-back/starting", next: []string{"rollback", "--allow-root"},
			code: exitOK, final: hooks.StateRolledBack, rootFlag: true})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runCrashCase(t, tc)
		})
	}
}

func runCrashCase(t *testing.T, tc crashCLI) {
	tp := testpack.New(t, "apim-4.2", testpack.WithU2Server(tc.server))
	work := t.TempDir()
	state := filepath.Join(work, "state")
	config := filepath.Join(work, "carbonguard.toml")
	allowRoot := "allow_root = true\n"
	if tc.rootFlag {
		allowRoot = ""
	}
	require.NoError(t, os.WriteFile(config, []byte("[start]\n"+allowRoot+"stability = \"300ms\"\ntimeout = \"60s\"\n"), 0o644))
	env := append(tp.Env(), "CARBONGUARD_STATE_DIR="+state, "CARBONGUARD_CONFIG="+config, "CARBON_HOME="+tp.Home,
		"UPDATE_TOOL_USERNAME=ops@example.com", "UPDATE_TOOL_PASSWORD=not-a-real-secret")
	cg := func(extra []string, args ...string) *exec.Cmd {
		cmd := exec.Command("carbonguard", args...)
		cmd.Env = append(append([]string{}, env...), extra...)
		cmd.Dir = work
		return cmd
	}
	mustRun := func(args ...string) {
		out, err := cg(nil, args...).CombinedOutput()
		require.NoError(t, err, "carbonguard %s\n%s", strings.Join(args, " "), out)
	}
	mustRun("snapshot", "create", "--reason", "manual")
	if len(tc.before) > 0 {
		mustRun(tc.before...)
	}

	// The command, paused at the step and killed there.
	paused := filepath.Join(work, "paused")
	cmd := cg([]string{"CARBONGUARD_TEST_PAUSE_AT=" + tc.at, "CARBONGUARD_TEST_PAUSE_FILE=" + paused}, tc.op...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(2 * time.Minute)
	for {
		if _, err := os.Stat(paused); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("carbonguard %s ended before pausing at %s: %v\n%s", strings.Join(tc.op, " "), tc.at, err, out.String())
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("carbonguard %s did not pause at %s\n%s", strings.Join(tc.op, " "), tc.at, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	<-done

	sd := onlyStateDir(t, state)
	st, err := hooks.Status(sd)
	require.NoError(t, err)
	require.NotNil(t, st.Open, "the kill left a transaction open")

	// The next command, as an operator would run it.
	next := cg(nil, tc.next...)
	var nout bytes.Buffer
	next.Stdout, next.Stderr = &nout, &nout
	require.NoError(t, next.Start())
	nextDone := make(chan error, 1)
	go func() { nextDone <- next.Wait() }()
	select {
	case err = <-nextDone:
	case <-time.After(3 * time.Minute):
		// run would stay in the foreground over a server it started.
		_ = next.Process.Kill()
		<-nextDone
		t.Fatalf("carbonguard %s after a kill at %s did not exit\n%s", strings.Join(tc.next, " "), tc.at, nout.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	assert.Equal(t, tc.code, code, "carbonguard %s after a kill at %s:\n%s", strings.Join(tc.next, " "), tc.at, nout.String())
	if tc.code == exitRecovered {
		assert.Contains(t, nout.String(), "an interrupted operation was found and", "the recovery is reported")
	}

	txs, err := hooks.History(sd)
	require.NoError(t, err)
	require.NotEmpty(t, txs)
	var last *hooks.Tx
	for _, tx := range txs {
		if tx.Kind != "rollback" {
			last = tx
		}
	}
	assert.Equal(t, tc.final, last.State, "the interrupted transaction ends %s", tc.final)
	st, err = hooks.Status(sd)
	require.NoError(t, err)
	assert.Nil(t, st.Open, "nothing stays open")
	assert.False(t, st.Interrupted)

	// The pack is whole: exactly the pack before the update (runtime files aside).
	store, err := archive.OpenStore(filepath.Join(sd, "snapshots"), zerolog.Nop())
	require.NoError(t, err)
	infos, err := store.List()
	require.NoError(t, err)
	ref := ""
	for _, in := range infos {
		if in.Reason == "manual" {
			ref = in.ID
		}
	}
	require.NotEmpty(t, ref)
	d, err := store.DiffLive(context.Background(), ref, tp.Home)
	require.NoError(t, err)
	var diffs []string
	for kind, list := range map[string][]archive.Change{"added": d.Added, "removed": d.Removed, "changed": d.Changed} {
		for _, c := range list {
			if !runtimeWritten(c.Path) {
				diffs = append(diffs, fmt.Sprintf("%s %s %v", kind, c.Path, c.What))
			}
		}
	}
	assert.Empty(t, diffs, "the pack is as it was before the update")
	_ = cg(nil, "stop").Run()
}

// onlyStateDir is the one pack state directory under root.
func onlyStateDir(t *testing.T, root string) string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(root, "*"))
	require.NoError(t, err)
	require.Len(t, dirs, 1, "one state directory under %s", root)
	return dirs[0]
}
