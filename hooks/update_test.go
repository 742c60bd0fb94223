package hooks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/pack"
	"github.com/carbonguard/carbonguard/wrapper"
)

func loadTx(t *testing.T, env Env, id string) *Tx {
	t.Helper()
	j, err := OpenJournal(env.StateDir)
	require.NoError(t, err)
	tx, err := j.Load(id)
	require.NoError(t, err)
	return tx
}

func TestUpdateCleanAwaitsBootThenCommits(t *testing.T) {
	t.Parallel()
	home := fixturePack(t)
	installU2(t, home, "clean")
	env := testEnv(t, home)

	res, err := Update(context.Background(), UpdateOptions{Env: env})
	require.NoError(t, err)
	assert.Equal(t, OutcomeUpdated, res.Outcome)
	tx := loadTx(t, env, res.Tx.ID)
	assert.Equal(t, StateAwaitingBoot, tx.State)
	require.NotNil(t, tx.LevelBefore)
	require.NotNil(t, tx.LevelAfter)
	assert.Equal(t, 12, *tx.LevelBefore)
	assert.Equal(t, 13, *tx.LevelAfter)
	assert.Equal(t, "updates/changelog-0012-0013.md", tx.U2.Changelog)
	assert.Contains(t, tx.Changes.Added, "repository/components/plugins/org.wso2.carbon.core_4.8.1.1.jar")
	assert.Contains(t, tx.Changes.Removed, "repository/components/plugins/org.wso2.carbon.core_4.8.1.jar")
	assert.Contains(t, tx.Changes.Modified, "updates/config.json")
	require.Len(t, tx.U2.Attempts, 1)
	assert.Equal(t, []string{"--no-backup"}, tx.U2.Attempts[0].Args)
	assert.NotZero(t, tx.U2.Attempts[0].PID)

	// A second update is refused while the first awaits its boot.
	_, err = Update(context.Background(), UpdateOptions{Env: env})
	var open *OpenTxError
	require.ErrorAs(t, err, &open)

	g, err := BeginStart(context.Background(), env)
	require.NoError(t, err)
	require.NotNil(t, g.Tx())
	boot, err := env.Server.Start(context.Background())
	require.NoError(t, err)
	res, err = g.AfterBoot(context.Background(), boot)
	require.NoError(t, err)
	assert.Equal(t, OutcomeCommitted, res.Outcome)
	assert.Equal(t, StateCommitted, loadTx(t, env, tx.ID).State)

	// The next start is an ordinary one.
	require.NoError(t, env.Server.Stop(context.Background()))
	g, err = BeginStart(context.Background(), env)
	require.NoError(t, err)
	assert.Nil(t, g.Tx())
	res, err = g.AfterBoot(context.Background(), &wrapper.Verdict{State: wrapper.Failed})
	require.NoError(t, err)
	assert.Equal(t, OutcomeNone, res.Outcome)
}

func TestUpdateThatBreaksTheBootIsRolledBack(t *testing.T) {
	t.Parallel()
	home := fixturePack(t)
	installU2(t, home, "broken-boot")
	env := testEnv(t, home)
	var events []NotifyEvent
	out := filepath.Join(t.TempDir(), "events")
	env.Notify = &Notifier{Command: "cat >> " + out + "; echo >> " + out}

	res, err := Update(context.Background(), UpdateOptions{Env: env, Start: true})
	var rb *RolledBackError
	require.ErrorAs(t, err, &rb, "got %v", err)
	assert.Equal(t, OutcomeRolledBack, res.Outcome)
	_ = events

	tx := loadTx(t, env, res.Tx.ID)
	assert.Equal(t, StateRolledBack, tx.State)
	assert.Equal(t, wrapper.Failed, tx.Boot.State)
	assert.Equal(t, wrapper.Up, tx.AfterRollback.State)
	requireSameAs(t, env, tx.SnapshotID)
	_, running, _ := env.Server.Running(context.Background())
	assert.True(t, running, "the restored pack is up")

	// The failed boot's evidence is kept.
	log, err := os.ReadFile(filepath.Join(tx.FailedDir, "logs", "wso2carbon.log"))
	require.NoError(t, err)
	assert.Contains(t, string(log), "startup failed")
	assert.FileExists(t, filepath.Join(tx.FailedDir, "verdict.json"))
	diff, err := os.ReadFile(filepath.Join(tx.FailedDir, "diff.json"))
	require.NoError(t, err)
	assert.Contains(t, string(diff), "broken_1.0.0.jar")
	require.NotEmpty(t, tx.FailedSnapshotID, "the failed tree is snapshotted")
	m, err := env.Store.Show(tx.FailedSnapshotID)
	require.NoError(t, err)
	assert.Equal(t, "pre-rollback", m.Reason)
	found := false
	require.NoError(t, env.Store.Entries(m.ID, func(e *archive.Entry) error {
		found = found || e.Path == "repository/components/plugins/broken_1.0.0.jar"
		return nil
	}))
	assert.True(t, found, "the pre-rollback snapshot holds the failed tree")
	assert.Empty(t, tx.Displaced, "the displaced copy is dropped once snapshotted")
	assert.NoDirExists(t, home+".displaced-"+tx.SnapshotID)

	ev, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, string(ev), `"event":"rolled-back"`)
	assert.Contains(t, string(ev), `"reason":"startup failed"`)

	// Never a loop: the next start after a rollback is ordinary.
	require.NoError(t, env.Server.Stop(context.Background()))
	g, err := BeginStart(context.Background(), env)
	require.NoError(t, err)
	assert.Nil(t, g.Tx())
	require.NoError(t, g.Release())
}

func TestRollbackThatFailsToBootNeedsAttention(t *testing.T) {
	t.Parallel()
	home := fixturePack(t)
	installU2(t, home, "clean")
	env := testEnv(t, home)
	_, err := Update(context.Background(), UpdateOptions{Env: env})
	require.NoError(t, err)

	// Whatever the pack, this server no longer boots (say, a broken database).
	require.NoError(t, os.WriteFile(home+".fail-always", nil, 0o644))
	g, err := BeginStart(context.Background(), env)
	require.NoError(t, err)
	boot, err := env.Server.Start(context.Background())
	require.NoError(t, err)
	res, err := g.AfterBoot(context.Background(), boot)
	var na *NeedsAttentionError
	require.ErrorAs(t, err, &na)
	assert.Equal(t, OutcomeNeedsAttention, res.Outcome)
	tx := loadTx(t, env, res.Tx.ID)
	assert.Equal(t, StateNeedsAttention, tx.State)
	assert.Equal(t, wrapper.Failed, tx.AfterRollback.State)
	_, running, _ := env.Server.Running(context.Background())
	assert.False(t, running, "the server is left stopped")
	requireSameAs(t, env, tx.SnapshotID)

	// Never a loop: the next start does not roll back again.
	g, err = BeginStart(context.Background(), env)
	require.NoError(t, err)
	assert.Nil(t, g.Tx())
	require.NoError(t, g.Release())
}

func TestU2FailureRestoresAtOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		script string
		code   int
	}{{"fail-halfway", 1}, {"reverted", 4}, {"weird", 9}, {"always-self-update", 2}} {
		t.Run(tc.script, func(t *testing.T) {
			t.Parallel()
			home := fixturePack(t)
			installU2(t, home, tc.script)
			env := testEnv(t, home)
			res, err := Update(context.Background(), UpdateOptions{Env: env, SelfUpdateMax: 2})
			var uf *UpdateFailedError
			require.ErrorAs(t, err, &uf)
			assert.Equal(t, tc.code, uf.ExitCode)
			tx := loadTx(t, env, res.Tx.ID)
			assert.Equal(t, StateRestored, tx.State)
			requireSameAs(t, env, tx.SnapshotID)
			if tc.script == "always-self-update" {
				assert.Len(t, tx.U2.Attempts, 3, "bounded re-runs after exit code 2")
			}
			if tc.script == "fail-halfway" {
				assert.FileExists(t, filepath.Join(tx.FailedDir, "u2-logs", "update.log"), "u2's own logs are kept")
				logged, err := os.ReadFile(uf.Log)
				require.NoError(t, err)
				assert.Contains(t, string(logged), "connection reset")
			}
		})
	}
}

func TestSelfUpdateRunsAgain(t *testing.T) {
	t.Parallel()
	home := fixturePack(t)
	installU2(t, home, "self-update")
	env := testEnv(t, home)
	res, err := Update(context.Background(), UpdateOptions{Env: env, U2Args: []string{"--level", "13"}})
	require.NoError(t, err)
	tx := loadTx(t, env, res.Tx.ID)
	require.Len(t, tx.U2.Attempts, 2)
	assert.Equal(t, 2, *tx.U2.Attempts[0].ExitCode)
	assert.Equal(t, 0, *tx.U2.Attempts[1].ExitCode)
	assert.Equal(t, tx.U2.Attempts[0].Args, tx.U2.Attempts[1].Args, "the same command again")
	argv, _ := os.ReadFile(filepath.Join(filepath.Dir(home), "u2-argv.log"))
	assert.Equal(t, "--level 13 --no-backup\n--level 13 --no-backup\n", string(argv))
}

func TestConflictsThenContinue(t *testing.T) {
	t.Parallel()
	home := fixturePack(t)
	installU2(t, home, "conflict")
	env := testEnv(t, home)
	res, err := Update(context.Background(), UpdateOptions{Env: env})
	var ce *ConflictsError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, []Conflict{{Path: "repository/conf/deployment.toml"}}, ce.Conflicts)
	assert.Equal(t, StateConflicts, loadTx(t, env, res.Tx.ID).State)

	// A start is refused while the pack is mid-merge.
	_, err = BeginStart(context.Background(), env)
	var open *OpenTxError
	require.ErrorAs(t, err, &open)

	// --continue without .final files does not run u2.
	_, err = Update(context.Background(), UpdateOptions{Env: env, Continue: true})
	require.ErrorAs(t, err, &ce)
	assert.Len(t, loadTx(t, env, res.Tx.ID).U2.Attempts, 1)

	conf := filepath.Join(home, "repository", "conf", "deployment.toml")
	require.NoError(t, os.WriteFile(conf+".final", []byte("# merged\n"), 0o644))
	res2, err := Update(context.Background(), UpdateOptions{Env: env, Continue: true})
	require.NoError(t, err)
	assert.Equal(t, res.Tx.ID, res2.Tx.ID, "the same transaction continues")
	tx := loadTx(t, env, res.Tx.ID)
	assert.Equal(t, StateAwaitingBoot, tx.State)
	assert.Equal(t, []string{"--continue", "--no-backup"}, tx.U2.Attempts[1].Args)
	merged, _ := os.ReadFile(conf)
	assert.Equal(t, "# merged\n", string(merged))
	assert.NoFileExists(t, conf+".original")
}

func TestConflictsThenRollback(t *testing.T) {
	t.Parallel()
	home := fixturePack(t)
	installU2(t, home, "conflict")
	env := testEnv(t, home)
	res, err := Update(context.Background(), UpdateOptions{Env: env})
	require.Error(t, err)

	rb, err := Rollback(context.Background(), RollbackOptions{Env: env})
	require.NoError(t, err)
	assert.Equal(t, OutcomeRestored, rb.Outcome)
	assert.Equal(t, res.Tx.ID, rb.Tx.ID)
	tx := loadTx(t, env, res.Tx.ID)
	assert.Equal(t, StateRestored, tx.State)
	requireSameAs(t, env, tx.SnapshotID)
	assert.NoFileExists(t, filepath.Join(home, "repository", "conf", "deployment.toml.original"))
	require.NotEmpty(t, tx.Displaced, "the replaced tree is kept beside the pack")
	assert.FileExists(t, filepath.Join(tx.Displaced, "repository", "conf", "deployment.toml.new"))

	// Nothing left to roll back.
	_, err = Rollback(context.Background(), RollbackOptions{Env: env})
	var ue *UsageError
	require.ErrorAs(t, err, &ue)
}

func TestRollbackOfCommittedUpdateAndToSnapshot(t *testing.T) {
	t.Parallel()
	home := fixturePack(t)
	installU2(t, home, "clean")
	env := testEnv(t, home)
	res, err := Update(context.Background(), UpdateOptions{Env: env, Start: true})
	require.NoError(t, err)
	assert.Equal(t, OutcomeCommitted, res.Outcome)

	// The server runs: refused unless asked to stop it.
	_, err = Rollback(context.Background(), RollbackOptions{Env: env})
	var sr *pack.ServerRunningError
	require.ErrorAs(t, err, &sr)
	rb, err := Rollback(context.Background(), RollbackOptions{Env: env, StopServer: true})
	require.NoError(t, err)
	assert.Equal(t, res.Tx.ID, rb.Tx.ID)
	requireSameAs(t, env, res.Tx.SnapshotID)

	// By snapshot id: a transaction of its own. (The operator drops the
	// tree the first rollback kept beside the pack.)
	// (A parallel test's fork can hold a copy of the store's restore-lock
	// descriptor for a moment after the restore closed it: retry briefly.)
	require.Eventually(t, func() bool {
		_, err = env.Store.DropDisplaced(home)
		return !errors.Is(err, archive.ErrBusy)
	}, 5*time.Second, 20*time.Millisecond)
	require.NoError(t, err)
	rb2, err := Rollback(context.Background(), RollbackOptions{Env: env, Target: res.Tx.SnapshotID})
	require.NoError(t, err)
	assert.Equal(t, "rollback", rb2.Tx.Kind)
	assert.Equal(t, StateRestored, rb2.Tx.State)

	_, err = Rollback(context.Background(), RollbackOptions{Env: env, Target: "nope"})
	var ue *UsageError
	require.ErrorAs(t, err, &ue)
}

func TestUpdateRefusedWhileLockedOrRunning(t *testing.T) {
	t.Parallel()
	home := fixturePack(t)
	installU2(t, home, "clean")
	env := testEnv(t, home)

	l, err := AcquireLock(env.StateDir, "snapshot create")
	require.NoError(t, err)
	_, err = Update(context.Background(), UpdateOptions{Env: env})
	var le *LockedError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, "snapshot create", le.Holder.Operation)
	require.NoError(t, l.Release())

	require.NoError(t, os.WriteFile(home+".running", nil, 0o644))
	_, err = Update(context.Background(), UpdateOptions{Env: env})
	var sr *pack.ServerRunningError
	require.ErrorAs(t, err, &sr)
	res, err := Update(context.Background(), UpdateOptions{Env: env, StopServer: true})
	require.NoError(t, err)
	assert.Equal(t, OutcomeUpdated, res.Outcome)
}

func TestCredentialsNeverReachTheStateDirectory(t *testing.T) {
	t.Parallel()
	home := fixturePack(t)
	installU2(t, home, "secrets")
	env := testEnv(t, home)
	var shown strings.Builder
	env.Out = &shown
	res, err := Update(context.Background(), UpdateOptions{Env: env, Username: "ops@example.com", Password: "Hunter2-$ecret"})
	require.NoError(t, err)
	assert.Contains(t, shown.String(), "logging in as **** / ****")
	argv, _ := os.ReadFile(filepath.Join(filepath.Dir(home), "u2-argv.log"))
	assert.NotContains(t, string(argv), "Hunter2")
	require.NoError(t, filepath.Walk(env.StateDir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || strings.Contains(path, "snapshots") {
			return err
		}
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.NotContains(t, string(data), "Hunter2", path)
		assert.NotContains(t, string(data), "ops@example.com", path)
		return nil
	}))
	assert.Equal(t, StateAwaitingBoot, loadTx(t, env, res.Tx.ID).State)

	_, err = Update(context.Background(), UpdateOptions{Env: env, U2Args: []string{"--password", "x"}})
	var ae *U2ArgsError
	require.ErrorAs(t, err, &ae)
}

func TestHookPreAndPostUpdate(t *testing.T) {
	t.Parallel()
	home := fixturePack(t)
	installU2(t, home, "clean")
	env := testEnv(t, home)
	res, err := PreUpdate(context.Background(), HookOptions{Env: env})
	require.NoError(t, err)
	tx := loadTx(t, env, res.Tx.ID)
	assert.Equal(t, StateU2Running, tx.State)
	assert.True(t, tx.U2.External)
	require.NotEmpty(t, tx.SnapshotID)

	// The open transaction keeps out a second pre-update, an update and a start.
	_, err = PreUpdate(context.Background(), HookOptions{Env: env})
	var open *OpenTxError
	require.ErrorAs(t, err, &open)
	assert.Contains(t, open.Hint(), "hook post-update")
	_, err = Update(context.Background(), UpdateOptions{Env: env})
	require.ErrorAs(t, err, &open)
	_, err = BeginStart(context.Background(), env)
	require.ErrorAs(t, err, &open)
	st, err := Status(env.StateDir)
	require.NoError(t, err)
	assert.False(t, st.Interrupted, "an external u2 run is not an interruption")

	// The operator's own u2 run.
	require.NoError(t, runOperatorU2(home))
	_, err = PostUpdate(context.Background(), HookOptions{Env: env}, 2)
	var pe *PendingError
	require.ErrorAs(t, err, &pe)
	res, err = PostUpdate(context.Background(), HookOptions{Env: env}, 0)
	require.NoError(t, err)
	assert.Equal(t, OutcomeUpdated, res.Outcome)
	tx = loadTx(t, env, tx.ID)
	assert.Equal(t, StateAwaitingBoot, tx.State)
	assert.Equal(t, 13, *tx.LevelAfter)
}

func TestHookPostUpdateFailureRestores(t *testing.T) {
	t.Parallel()
	home := fixturePack(t)
	installU2(t, home, "fail-halfway")
	env := testEnv(t, home)
	res, err := PreUpdate(context.Background(), HookOptions{Env: env})
	require.NoError(t, err)
	_ = runOperatorU2(home)
	_, err = PostUpdate(context.Background(), HookOptions{Env: env}, 1)
	var uf *UpdateFailedError
	require.ErrorAs(t, err, &uf)
	requireSameAs(t, env, loadTx(t, env, res.Tx.ID).SnapshotID)

	_, err = PostUpdate(context.Background(), HookOptions{Env: env}, 0)
	var ue *UsageError
	require.ErrorAs(t, err, &ue, "nothing open any more")
}

// Start is the wrapped start the CLI uses: an ordinary start returns the
// launch's verdict and error unchanged; the first boot after an update is
// announced to Starting, and after a rollback the result carries the
// restored pack's verdict and the failed first boot's.
func TestStartAnnouncesTheFirstBootAndReportsTheRestoredVerdict(t *testing.T) {
	t.Parallel()
	home := fixturePack(t)
	installU2(t, home, "broken-boot")
	env := testEnv(t, home)
	launch := func(ctx context.Context) (*wrapper.Verdict, error) { return env.Server.Start(ctx) }

	_, err := Update(context.Background(), UpdateOptions{Env: env})
	require.NoError(t, err)
	var announced *Tx
	res, err := Start(context.Background(), StartOptions{Env: env, Launch: launch,
		Starting: func(firstBootOf *Tx) { announced = firstBootOf }})
	var rb *RolledBackError
	require.ErrorAs(t, err, &rb)
	require.NotNil(t, announced, "Starting is told whose first boot this is")
	assert.Equal(t, OutcomeRolledBack, res.Outcome)
	assert.Equal(t, announced.ID, res.Tx.ID)
	require.NotNil(t, res.FailedFirstBoot)
	assert.Equal(t, wrapper.Failed, res.FailedFirstBoot.State)
	assert.Equal(t, wrapper.Up, res.Verdict.State, "the verdict reported is the restored pack's boot")

	// The next start is ordinary: the launch's verdict and error come back as they are.
	require.NoError(t, env.Server.Stop(context.Background()))
	boom := errors.New("refused")
	res, err = Start(context.Background(), StartOptions{Env: env,
		Launch:   func(context.Context) (*wrapper.Verdict, error) { return nil, boom },
		Starting: func(firstBootOf *Tx) { assert.Nil(t, firstBootOf) }})
	assert.Same(t, boom, err)
	assert.Nil(t, res, "nothing was launched")
	res, err = Start(context.Background(), StartOptions{Env: env, Launch: launch})
	require.NoError(t, err)
	assert.Equal(t, OutcomeNone, res.Outcome)
	assert.Nil(t, res.Tx)
	assert.Equal(t, wrapper.Up, res.Verdict.State)
}

// hook post-update --start judges the first boot under the same lock, as
// update --start does.
func TestHookPostUpdateStartCommits(t *testing.T) {
	t.Parallel()
	home := fixturePack(t)
	installU2(t, home, "clean")
	env := testEnv(t, home)
	res, err := PreUpdate(context.Background(), HookOptions{Env: env})
	require.NoError(t, err)
	require.NoError(t, runOperatorU2(home))
	res, err = PostUpdate(context.Background(), HookOptions{Env: env, Start: true}, 0)
	require.NoError(t, err)
	assert.Equal(t, OutcomeCommitted, res.Outcome)
	assert.Equal(t, StateCommitted, loadTx(t, env, res.Tx.ID).State)
	assert.Equal(t, wrapper.Up, res.Verdict.State)
}

// The off-host push that [remote] required asks for after the pre-update
// snapshot fails: the update stops before u2, and the journal says that
// the push failed (not the snapshot, which was taken, verified and kept).
func TestRequiredPushThatFailsKeepsTheSnapshotAndSaysSo(t *testing.T) {
	t.Parallel()
	home := fixturePack(t)
	installU2(t, home, "clean")
	env := testEnv(t, home)
	var pushed string
	env.AfterSnapshot = func(_ context.Context, m *archive.Manifest) error {
		pushed = m.ID
		return errors.New("[remote] required = true and the push failed: restic: repository unreachable")
	}
	res, err := Update(context.Background(), UpdateOptions{Env: env})
	require.Error(t, err)
	require.NotEmpty(t, pushed)
	assert.Equal(t, "the off-host push required after the pre-update snapshot "+pushed+
		" failed (u2 was not run; the snapshot is kept): [remote] required = true and the push failed: restic: repository unreachable", err.Error())
	tx := loadTx(t, env, res.Tx.ID)
	assert.Equal(t, StateAborted, tx.State)
	assert.Equal(t, pushed, tx.SnapshotID)
	last := tx.Events[len(tx.Events)-1].Message
	assert.Equal(t, "the off-host push required after the pre-update snapshot failed; u2 was not run; the snapshot "+pushed+" is kept", last)
	assert.Empty(t, tx.U2.Attempts, "u2 never ran")
	_, err = env.Store.Show(pushed)
	require.NoError(t, err, "the snapshot is kept")
	requireSameAs(t, env, pushed)
}
