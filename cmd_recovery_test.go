package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/hooks"
	"github.com/carbonguard/carbonguard/internal/testpack"
)

// recoveryScriptCmds are the txtar commands of the recovery_* scripts.
func recoveryScriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		// lastsnap REASON sets SNAP to the id of the newest complete
		// snapshot with that reason.
		"lastsnap": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 1 {
				ts.Fatalf("usage: lastsnap REASON")
			}
			store, err := archive.OpenStore(filepath.Join(scriptStateDir(ts), "snapshots"), zerolog.Nop())
			ts.Check(err)
			infos, err := store.List()
			ts.Check(err)
			sort.Slice(infos, func(i, j int) bool { return infos[i].ID < infos[j].ID })
			id := ""
			for _, in := range infos {
				if in.Reason == args[0] && !in.Incomplete {
					id = in.ID
				}
			}
			if id == "" {
				ts.Fatalf("no complete %s snapshot", args[0])
			}
			ts.Setenv("SNAP", id)
		},
		// breakconf HOME appends invalid TOML to the pack's deployment.toml,
		// as a bad hand edit (or update) would.
		"breakconf": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 1 {
				ts.Fatalf("usage: breakconf HOME")
			}
			f, err := os.OpenFile(filepath.Join(ts.MkAbs(args[0]), "repository", "conf", "deployment.toml"), os.O_APPEND|os.O_WRONLY, 0)
			ts.Check(err)
			_, err = f.WriteString("\n[broken\nkey = \n")
			ts.Check(err)
			ts.Check(f.Close())
		},
	}
}

// A snapshot restore killed while it stages leaves restore.json and a
// staging tree as large as the pack. The next command of any kind finishes
// or undoes it (here history, which does not even read the pack); while it
// cannot (a guarded operation holds the lock), status reports it with the
// space it holds.
func TestKilledSnapshotRestoreIsRecoveredByTheNextCommand(t *testing.T) {
	work := t.TempDir()
	home := filepath.Join(work, "pack")
	require.NoError(t, testpack.CopyTree(filepath.Join(repoRoot(t), "testdata", "packs", "apim-4.2"), home))
	// Big enough that the restore is still staging when it is killed.
	require.NoError(t, os.WriteFile(filepath.Join(home, "repository", "big.bin"), make([]byte, 96<<20), 0o644))
	state := filepath.Join(work, "state")
	cg := func(args ...string) *exec.Cmd {
		cmd := exec.Command("carbonguard", append([]string{"--home", home, "--state", state}, args...)...)
		cmd.Env = append(os.Environ(), "CARBONGUARD_CONFIG=")
		return cmd
	}
	out, err := cg("snapshot", "create").CombinedOutput()
	require.NoError(t, err, "%s", out)
	staging := filepath.Join(work, ".pack.restore-*")

	kill := func() {
		t.Helper()
		cmd := cg("snapshot", "restore", "--yes", "latest")
		require.NoError(t, cmd.Start())
		deadline := time.Now().Add(2 * time.Minute)
		for {
			m, _ := filepath.Glob(staging)
			if len(m) > 0 {
				if lo := restoreLeftovers(state, home); lo != nil && lo.Record != "" && lo.Bytes >= 4<<20 {
					break
				}
			}
			require.True(t, time.Now().Before(deadline), "the restore never staged")
			time.Sleep(2 * time.Millisecond)
		}
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()
		m, _ := filepath.Glob(staging)
		require.NotEmpty(t, m, "the kill left the staging tree")
	}

	// While a guarded operation holds the lock, status reports the leftover.
	kill()
	lock, err := hooks.AcquireLock(state, "test")
	require.NoError(t, err)
	var stdout, stderr bytes.Buffer
	st := cg("status")
	st.Stdout, st.Stderr = &stdout, &stderr
	_ = st.Run()
	assert.Regexp(t, `restore: an interrupted snapshot restore left \d+(\.\d)? MiB in .*\.pack\.restore-`, stdout.String())
	require.NoError(t, lock.Release())

	// The next command, whatever it is, finishes or undoes it.
	out, err = cg("history").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Regexp(t, `an interrupted restore of snapshot \S+ into .*pack was found (before its swap and undone|and finished)`, string(out))
	m, _ := filepath.Glob(staging)
	assert.Empty(t, m, "no staging tree left")
	assert.NoFileExists(t, filepath.Join(state, "restore.json"))

	// And status, once nothing holds the lock.
	kill()
	stdout.Reset()
	stderr.Reset()
	st = cg("status")
	st.Stdout, st.Stderr = &stdout, &stderr
	_ = st.Run()
	assert.Regexp(t, `an interrupted restore of snapshot \S+ into .*pack was found`, stderr.String())
	assert.NotContains(t, stdout.String(), "interrupted snapshot restore left")
	m, _ = filepath.Glob(staging)
	assert.Empty(t, m)
}
