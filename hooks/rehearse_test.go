package hooks

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/clone"
	"github.com/carbonguard/carbonguard/internal/netns"
	"github.com/carbonguard/carbonguard/internal/testpack"
	"github.com/carbonguard/carbonguard/pack"
	"github.com/carbonguard/carbonguard/wrapper"
)

// The rehearsal tests run everything for real: the fixture pack's live
// server is the fake JVM launched through the stock-like script, u2 is the
// fake u2 binary, and the copy boots in a network namespace of its own.

// needNamespace: the copy boots in a network namespace, which needs root;
// CI runs the tests as root, so there a missing privilege fails.
func needNamespace(t *testing.T) {
	t.Helper()
	if ok, why := netns.Supported(); !ok {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the tests as root: %s", why)
		}
		t.Skipf("needs root: %s", why)
	}
}

// liveServer is the live pack's server as main drives it: the wrapper.
type liveServer struct{ s *wrapper.Server }

func (l liveServer) Running(context.Context) (int, bool, error) { return l.s.Pack().RunningPID() }

func (l liveServer) Stop(ctx context.Context) error {
	_, err := l.s.Stop(ctx)
	return err
}

func (l liveServer) Start(ctx context.Context) (*wrapper.Verdict, error) { return l.s.Start(ctx) }

func rehearsalServerOptions(tb testing.TB, env []string, state string) wrapper.Options {
	return wrapper.Options{
		AllowRoot:     true, // CI runs the tests as root
		Environ:       env,
		Timeout:       60 * time.Second,
		Stability:     300 * time.Millisecond,
		StopTimeout:   10 * time.Second,
		Poll:          25 * time.Millisecond,
		ProbeInterval: 100 * time.Millisecond,
		ProbeTimeout:  2 * time.Second,
		StateDir:      state,
		Logger:        zerolog.New(zerolog.NewTestWriter(tb)).Level(zerolog.WarnLevel),
	}
}

// rehearsalOptions are an update --rehearse of the pack at home, with env
// as the environment of u2 and of both servers (a testpack's Env()).
func rehearsalOptions(tb testing.TB, home string, env []string) UpdateOptions {
	tb.Helper()
	state := filepath.Join(filepath.Dir(home), "state")
	store, err := archive.OpenStore(filepath.Join(state, "snapshots"), zerolog.Nop())
	require.NoError(tb, err)
	so := rehearsalServerOptions(tb, env, state)
	p, err := pack.Open(home)
	require.NoError(tb, err)
	srv, err := wrapper.New(p, so)
	require.NoError(tb, err)
	log := zerolog.New(zerolog.NewTestWriter(tb)).Level(zerolog.InfoLevel)
	copySO := so
	copySO.StateDir = ""
	return UpdateOptions{
		Env:   Env{Home: home, StateDir: state, Store: store, Server: liveServer{srv}, Log: log, ToolVersion: "test"},
		U2Env: env, Rehearse: true,
		Rehearsal: RehearseOptions{Boot: clone.Options{Server: copySO, Network: clone.Namespace}},
	}
}

// u2Fixture is the fixture pack with the fake u2 serving the named
// update content, and the credentials it reads from the environment.
func u2Fixture(t *testing.T, server string, opts ...testpack.Option) *testpack.Pack {
	t.Helper()
	return testpack.New(t, "apim-4.2", append([]testpack.Option{testpack.WithU2Server(server),
		testpack.WithEnv("UPDATE_TOOL_USERNAME=ops@example.com", "UPDATE_TOOL_PASSWORD=not-a-real-secret")}, opts...)...)
}

// startLive starts the live server and returns its JVM's PID.
func startLive(t *testing.T, o UpdateOptions) int {
	t.Helper()
	v, err := o.Server.Start(context.Background())
	require.NoError(t, err)
	require.Equal(t, wrapper.Up, v.State, "%s", v.Reason)
	t.Cleanup(func() { _ = o.Server.Stop(context.Background()) })
	return v.PID
}

// requireWhole asserts that the live pack holds exactly what snapshot id
// holds (modification times aside), except what a running server writes:
// repository/logs, tmp, wso2carbon.pid.
func requireWhole(t *testing.T, store *archive.Store, id, home string) {
	t.Helper()
	d, err := store.DiffLive(context.Background(), id, home)
	require.NoError(t, err)
	var diffs []string
	for _, list := range [][]archive.Change{d.Added, d.Removed, d.Changed} {
		for _, c := range list {
			if !underAny(c.Path, runtimePaths) {
				diffs = append(diffs, c.Path+" "+strings.Join(c.What, ","))
			}
		}
	}
	require.Empty(t, diffs, "the live pack differs from snapshot %s", id)
}

// requireUpdated asserts that the live pack is the pre-update snapshot with
// exactly the transaction's changes, and that they are level 13's.
func requireUpdated(t *testing.T, store *archive.Store, tx *Tx, home string) {
	t.Helper()
	require.NotEmpty(t, tx.SnapshotID)
	require.NotNil(t, tx.Changes)
	d, err := store.DiffLive(context.Background(), tx.SnapshotID, home)
	require.NoError(t, err)
	var got []string
	for _, list := range [][]archive.Change{d.Added, d.Removed, d.Changed} {
		for _, c := range list {
			if !underAny(c.Path, runtimePaths) {
				got = append(got, c.Path)
			}
		}
	}
	want := append(append(append([]string{}, tx.Changes.Added...), tx.Changes.Removed...), tx.Changes.Modified...)
	sort.Strings(got)
	sort.Strings(want)
	assert.Equal(t, want, got, "the live pack is the pre-update snapshot plus exactly what u2 changed")
	p, err := pack.Open(home)
	require.NoError(t, err)
	assert.Equal(t, 13, p.UpdateLevel)
	assert.FileExists(t, filepath.Join(home, "repository/components/plugins/org.wso2.carbon.core_4.8.1.1.jar"))
	assert.NoFileExists(t, filepath.Join(home, "repository/components/plugins/org.wso2.carbon.core_4.8.1.jar"))
	toml, err := os.ReadFile(filepath.Join(home, "repository/conf/deployment.toml"))
	require.NoError(t, err)
	assert.Contains(t, string(toml), "# Added by update level 13")
}

// requireNoCopyLeft asserts that the rehearsal left nothing behind: no
// scratch directory, no staging, no process.
func requireNoCopyLeft(t *testing.T, tx *Tx) {
	t.Helper()
	rh := tx.Rehearsal
	require.NotNil(t, rh)
	assert.NoDirExists(t, rh.Dir, "the copy is removed")
	assert.NoDirExists(t, rh.Staging, "the change set's staging is removed")
	assert.Empty(t, clone.Cleanup(rh.Copy), "no process of the copy was left running")
}

// requireU2StateUntouched: u2's tool home for the live pack (the user's
// ~/.wso2-updates) was never written: the fake u2 records every run there.
func requireU2StateUntouched(t *testing.T, tp *testpack.Pack) {
	t.Helper()
	assert.NoDirExists(t, filepath.Join(tp.UserHome, ".wso2-updates"), "u2 ran with the live user's HOME")
}

// answers reports whether the live server answers on its HTTPS port.
func answers(tp *testpack.Pack) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(tp.Port(9443)), 2*time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func TestRehearsedBrokenUpdateNeverTouchesTheLiveNode(t *testing.T) {
	needNamespace(t)
	t.Parallel()
	tp := u2Fixture(t, "broken-boot")
	o := rehearsalOptions(t, tp.Home, tp.Env())
	ref := reference(t, o.Env)
	pid := startLive(t, o)
	var answered, asked atomic.Int32
	o.CrashPoint = func(state, step string) {
		// While the rehearsal works, the live server answers.
		if state == string(StateRehearsing) {
			asked.Add(1)
			if answers(tp) {
				answered.Add(1)
			}
		}
	}

	res, err := Update(context.Background(), o)
	var rf *RehearsalFailedError
	require.ErrorAs(t, err, &rf, "%v", err)
	assert.Equal(t, "failed", rf.Verdict)
	assert.Equal(t, pid, rf.LivePID)
	require.NotNil(t, res)
	tx := res.Tx
	assert.Equal(t, StateRehearsalFailed, tx.State)
	assert.Empty(t, tx.SnapshotID, "no pre-update snapshot: the live server was never stopped")
	assert.Positive(t, asked.Load())
	assert.Equal(t, asked.Load(), answered.Load(), "the live server answered at every step of the rehearsal")

	// The live node: same JVM, still answering, its pack bit for bit.
	now, alive := tp.PID()
	assert.True(t, alive)
	assert.Equal(t, pid, now, "the live server was never stopped")
	assert.True(t, answers(tp))
	requireWhole(t, o.Store, ref, tp.Home)
	requireU2StateUntouched(t, tp)
	requireNoCopyLeft(t, tx)

	// The evidence: the copy's verdict, its boot log, u2's logs.
	ev := tx.Rehearsal.Evidence
	assert.Equal(t, ev, tx.FailedDir)
	log, err := os.ReadFile(filepath.Join(ev, "wso2carbon.log"))
	require.NoError(t, err)
	assert.Contains(t, string(log), "Error while performing configuration changes")
	assert.FileExists(t, filepath.Join(ev, "verdict.json"))
	assert.FileExists(t, filepath.Join(ev, "console.log"))
	assert.DirExists(t, filepath.Join(ev, "u2-logs"))
	assert.Equal(t, "namespace", tx.Rehearsal.Boot.Network)
	require.NotNil(t, tx.LevelAfter)
	assert.Equal(t, 14, *tx.LevelAfter, "the copy was at level 14")
	for _, a := range tx.U2.Attempts {
		assert.Equal(t, tx.Rehearsal.Copy, a.Home, "u2 ran on the copy only")
	}
	// The copy came from the newest verified snapshot (the reference is
	// not verified: a fresh one was taken, the server running).
	assert.True(t, tx.Rehearsal.Base.Fresh, tx.Rehearsal.Base.Why)
}

func TestRehearsedSlowUpdateKeepsU2OutOfTheOutage(t *testing.T) {
	needNamespace(t)
	t.Parallel()
	tp := u2Fixture(t, "clean", testpack.WithEnv("FAKE_U2_DELAY=4s"))
	o := rehearsalOptions(t, tp.Home, tp.Env())
	// A verified snapshot with the server stopped: the copy's base.
	_, err := o.snapshot(context.Background(), tp.Home, "manual", nil, false)
	require.NoError(t, err)
	pid := startLive(t, o)

	res, err := Update(context.Background(), o)
	require.NoError(t, err)
	tx := res.Tx
	assert.Equal(t, OutcomeCommitted, res.Outcome)
	assert.Equal(t, StateCommitted, tx.State)
	rh := tx.Rehearsal
	assert.False(t, rh.Base.Fresh, "the newest verified snapshot is the base: %s", rh.Base.Why)
	assert.Empty(t, rh.Fallback)
	assert.True(t, rh.Applied)
	requireUpdated(t, o.Store, tx, tp.Home)
	requireU2StateUntouched(t, tp)
	requireNoCopyLeft(t, tx)

	// u2 ran on the copy only, and had finished before the outage began.
	out := rh.Timings.Outage
	require.NotNil(t, out)
	require.NotEmpty(t, tx.U2.Attempts)
	for _, a := range tx.U2.Attempts {
		assert.Equal(t, rh.Copy, a.Home)
		require.NotNil(t, a.Ended)
		assert.True(t, a.Ended.Before(out.From), "u2 ended before the live server was stopped")
	}
	assert.GreaterOrEqual(t, rh.Timings.U2MS, int64(4000), "the fake u2 took its 4s")
	assert.Equal(t, "update", out.Until)
	assert.Positive(t, out.TotalMS)
	assert.Positive(t, out.ServingMS)
	assert.LessOrEqual(t, out.ServingMS, out.TotalMS)
	assert.Positive(t, rh.Timings.TotalMS)

	// The live server runs the update: a new JVM, up, answering.
	now, alive := tp.PID()
	assert.True(t, alive)
	assert.NotEqual(t, pid, now)
	assert.True(t, answers(tp))
	t.Logf("rehearsal %d ms (u2 %d ms, copy boot %d ms); live outage %d ms to the up verdict, %d ms to serving (stop %d, snapshot %d, apply %d, boot %d)",
		rh.Timings.TotalMS, rh.Timings.U2MS, rh.Timings.BootMS, out.TotalMS, out.ServingMS, out.StopMS, out.SnapshotMS, out.ApplyMS, out.BootMS)
}

func TestRehearsalFallsBackWhenTheLivePackChangedAFileTheUpdateChanges(t *testing.T) {
	needNamespace(t)
	t.Parallel()
	tp := u2Fixture(t, "clean")
	o := rehearsalOptions(t, tp.Home, tp.Env())
	startLive(t, o)
	conf := filepath.Join(tp.Home, "repository/conf/deployment.toml")
	o.CrashPoint = func(state, step string) {
		// An operator edits deployment.toml while the copy boots.
		if state == string(StateRehearsing) && step == string(StepBootingCopy) {
			data, err := os.ReadFile(conf)
			if err == nil {
				err = os.WriteFile(conf, append([]byte("# edited on the live node during the rehearsal\n"), data...), 0o644)
			}
			if err != nil {
				panic(err)
			}
		}
	}

	res, err := Update(context.Background(), o)
	require.NoError(t, err)
	tx := res.Tx
	assert.Equal(t, StateCommitted, tx.State)
	rh := tx.Rehearsal
	assert.Contains(t, rh.Fallback, "repository/conf/deployment.toml")
	assert.Contains(t, rh.Fallback, "the live pack changed")
	assert.False(t, rh.Applied)
	live := 0
	for _, a := range tx.U2.Attempts {
		if a.Home == "" {
			live++
		}
	}
	assert.Equal(t, 1, live, "u2 ran on the live pack, as without --rehearse")
	requireUpdated(t, o.Store, tx, tp.Home)
	toml, err := os.ReadFile(conf)
	require.NoError(t, err)
	assert.Contains(t, string(toml), "# edited on the live node during the rehearsal", "u2's merge on the live pack kept the operator's edit")
	requireNoCopyLeft(t, tx)
	out := rh.Timings.Outage
	require.NotNil(t, out)
	assert.Positive(t, out.ApplyMS, "the outage holds u2's run on the live pack")
}

func TestRehearsalStoppedOnConflictsGoesOnWithContinue(t *testing.T) {
	needNamespace(t)
	t.Parallel()
	tp := u2Fixture(t, "conflict")
	o := rehearsalOptions(t, tp.Home, tp.Env())
	pid := startLive(t, o)
	// While this process goes on with the rehearsal, the copy's snapshot
	// is in use (a lease): a delete is refused, a prune would keep it.
	inUse := map[string][]archive.LeaseInfo{}
	o.CrashPoint = func(state, step string) {
		if step == string(StepU2OnCopy) || step == string(StepCapturing) {
			j, err := OpenJournal(o.StateDir)
			require.NoError(t, err)
			open, err := j.Open()
			require.NoError(t, err)
			base := open.Rehearsal.Base.Snapshot
			ls, err := o.Store.InUse(base)
			require.NoError(t, err)
			inUse[step] = ls
			var iu *archive.InUseError
			require.ErrorAs(t, o.Store.Delete(base), &iu)
		}
	}

	res, err := Update(context.Background(), o)
	var ce *ConflictsError
	require.ErrorAs(t, err, &ce)
	tx := res.Tx
	rh := tx.Rehearsal
	require.Len(t, inUse[string(StepU2OnCopy)], 1)
	assert.Equal(t, "update rehearsal "+tx.ID, inUse[string(StepU2OnCopy)][0].Holder)
	assert.Equal(t, os.Getpid(), inUse[string(StepU2OnCopy)][0].PID)
	left, err := o.Store.InUse(rh.Base.Snapshot)
	require.NoError(t, err)
	assert.Empty(t, left, "the lease ends with the process's part; the open transaction protects the snapshot from prune")
	assert.Equal(t, rh.Copy, ce.Copy)
	assert.Equal(t, StateConflicts, tx.State)
	require.Len(t, tx.Conflicts, 1)
	assert.Equal(t, "repository/conf/deployment.toml", tx.Conflicts[0].Path)
	assert.FileExists(t, filepath.Join(rh.Copy, "repository/conf/deployment.toml.new"), "the copy is kept for the operator")
	assert.NoFileExists(t, filepath.Join(tp.Home, "repository/conf/deployment.toml.new"), "the live pack is untouched")
	now, alive := tp.PID()
	assert.True(t, alive)
	assert.Equal(t, pid, now)

	// An ordinary start meanwhile is not refused by the open rehearsal.
	g, err := BeginStart(context.Background(), o.Env)
	require.NoError(t, err)
	assert.Nil(t, g.Tx())
	require.NoError(t, g.Release())

	// Not resolved yet: --continue says so.
	_, err = Update(context.Background(), UpdateOptions{Env: o.Env, U2Env: o.U2Env, Continue: true, Rehearsal: o.Rehearsal})
	require.ErrorAs(t, err, &ce)

	// The operator merges in the copy; --continue goes on from there.
	merged, err := os.ReadFile(filepath.Join(rh.Copy, "repository/conf/deployment.toml")) // the live node's port offset stays
	require.NoError(t, err)
	merged = append(merged, []byte("# merged by the operator\n")...)
	require.NoError(t, os.WriteFile(filepath.Join(rh.Copy, "repository/conf/deployment.toml.final"), merged, 0o644))
	res, err = Update(context.Background(), UpdateOptions{Env: o.Env, U2Env: o.U2Env, Continue: true, Rehearsal: o.Rehearsal})
	require.NoError(t, err)
	tx = res.Tx
	assert.Equal(t, StateCommitted, tx.State)
	require.Len(t, inUse[string(StepCapturing)], 1, "--continue leases the copy's snapshot again")
	left, err = o.Store.InUse(rh.Base.Snapshot)
	require.NoError(t, err)
	assert.Empty(t, left)
	assert.True(t, tx.Rehearsal.Applied)
	toml, err := os.ReadFile(filepath.Join(tp.Home, "repository/conf/deployment.toml"))
	require.NoError(t, err)
	assert.Contains(t, string(toml), "# merged by the operator")
	assert.NoFileExists(t, filepath.Join(tp.Home, "repository/conf/deployment.toml.original"))
	requireNoCopyLeft(t, tx)
	requireU2StateUntouched(t, tp)
}

func TestRehearsalStoppedOnConflictsIsGivenUpByRollback(t *testing.T) {
	needNamespace(t)
	t.Parallel()
	tp := u2Fixture(t, "conflict")
	o := rehearsalOptions(t, tp.Home, tp.Env())
	ref := reference(t, o.Env)
	_, err := Update(context.Background(), o)
	require.Error(t, err)
	res, err := Rollback(context.Background(), RollbackOptions{Env: o.Env})
	require.NoError(t, err)
	assert.Equal(t, StateAborted, res.Tx.State)
	requireNoCopyLeft(t, res.Tx)
	requireWhole(t, o.Store, ref, tp.Home)
	st, err := Status(o.StateDir)
	require.NoError(t, err)
	assert.Nil(t, st.Open)
}

// --rehearse-only stops after the copy's up verdict; a service manager then
// stops the server, update --continue applies the change set, and the
// service manager's start (carbonguard run) judges the first boot.
func TestRehearseOnlyThenContinueUnderAServiceManager(t *testing.T) {
	needNamespace(t)
	t.Parallel()
	tp := u2Fixture(t, "clean")
	o := rehearsalOptions(t, tp.Home, tp.Env())
	ref := reference(t, o.Env)
	pid := startLive(t, o)
	o.Rehearse, o.RehearseOnly = false, true

	res, err := Update(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, OutcomeRehearsed, res.Outcome)
	tx := res.Tx
	assert.Equal(t, StateRehearsed, tx.State)
	assert.DirExists(t, tx.Rehearsal.Staging, "the change set waits")
	assert.NoDirExists(t, tx.Rehearsal.Dir)
	now, up := tp.PID()
	assert.True(t, up)
	assert.Equal(t, pid, now)
	requireWhole(t, o.Store, ref, tp.Home)
	st, err := Status(o.StateDir)
	require.NoError(t, err)
	assert.False(t, st.Interrupted)
	assert.Contains(t, st.Next, "update --continue")

	// A running server is not stopped without being asked.
	cont := UpdateOptions{Env: o.Env, U2Env: o.U2Env, Continue: true, Rehearsal: o.Rehearsal}
	_, err = Update(context.Background(), cont)
	var re *pack.ServerRunningError
	require.ErrorAs(t, err, &re)

	// The service manager stops it; --continue applies; its start judges.
	require.NoError(t, o.Server.Stop(context.Background()))
	res, err = Update(context.Background(), cont)
	require.NoError(t, err)
	assert.Equal(t, StateAwaitingBoot, res.Tx.State)
	g, err := BeginStart(context.Background(), o.Env)
	require.NoError(t, err)
	require.NotNil(t, g.Tx())
	v, err := o.Server.Start(context.Background())
	require.NoError(t, err)
	res, err = g.AfterBoot(context.Background(), v)
	require.NoError(t, err)
	tx = res.Tx
	assert.Equal(t, StateCommitted, tx.State)
	requireUpdated(t, o.Store, tx, tp.Home)
	requireNoCopyLeft(t, tx)
	out := tx.Rehearsal.Timings.Outage
	require.NotNil(t, out)
	assert.True(t, out.AlreadyStopped)
	assert.Equal(t, "update", out.Until)
	assert.Positive(t, out.TotalMS)
}

// A rehearsal that finds the pack already at the level asked for leaves the
// live node alone: no boot of the copy, no stop, no pre-update snapshot.
func TestRehearsalWithNothingToApplyLeavesTheLiveNodeAlone(t *testing.T) {
	needNamespace(t)
	t.Parallel()
	tp := u2Fixture(t, "clean")
	o := rehearsalOptions(t, tp.Home, tp.Env())
	o.U2Args = []string{"--level", "12"}
	pid := startLive(t, o)
	res, err := Update(context.Background(), o)
	require.NoError(t, err)
	tx := res.Tx
	assert.Equal(t, StateCommitted, tx.State)
	assert.Empty(t, tx.SnapshotID)
	assert.Nil(t, tx.Rehearsal.Boot)
	assert.Nil(t, tx.Rehearsal.Timings.Outage)
	assert.Zero(t, tx.Changes.Count())
	now, up := tp.PID()
	assert.True(t, up)
	assert.Equal(t, pid, now)
	requireNoCopyLeft(t, tx)
}

// u2 failing on the copy is an update that failed (exit 30), with nothing
// to restore: the live pack was never touched; u2's logs are kept.
func TestRehearsalWhereU2FailsOnTheCopy(t *testing.T) {
	needNamespace(t)
	t.Parallel()
	tp := u2Fixture(t, "fail-halfway")
	o := rehearsalOptions(t, tp.Home, tp.Env())
	ref := reference(t, o.Env)
	pid := startLive(t, o)
	res, err := Update(context.Background(), o)
	var uf *UpdateFailedError
	require.ErrorAs(t, err, &uf)
	assert.True(t, uf.Rehearsal)
	assert.Equal(t, 1, uf.ExitCode)
	assert.Contains(t, uf.Error(), "the live pack and server were never touched")
	tx := res.Tx
	assert.Equal(t, StateRehearsalFailed, tx.State)
	assert.Empty(t, tx.SnapshotID)
	assert.DirExists(t, filepath.Join(tx.Rehearsal.Evidence, "u2-logs"))
	now, up := tp.PID()
	assert.True(t, up)
	assert.Equal(t, pid, now)
	requireWhole(t, o.Store, ref, tp.Home)
	requireNoCopyLeft(t, tx)
	requireU2StateUntouched(t, tp)
}

// When what follows the pre-update snapshot fails (the push off the host,
// with [remote] required), the rehearsal stops before changing the pack and
// starts again the live server it stopped.
func TestRehearsalThatCannotGoOnStartsTheLiveServerAgain(t *testing.T) {
	needNamespace(t)
	t.Parallel()
	tp := u2Fixture(t, "clean")
	o := rehearsalOptions(t, tp.Home, tp.Env())
	ref := reference(t, o.Env)
	pid := startLive(t, o)
	o.AfterSnapshot = func(context.Context, *archive.Manifest) error { return fmt.Errorf("restic: repository unreachable") }
	res, err := Update(context.Background(), o)
	require.ErrorContains(t, err, "repository unreachable")
	tx := res.Tx
	assert.Equal(t, StateAborted, tx.State)
	last := tx.Events[len(tx.Events)-1].Message
	assert.Contains(t, last, "the live server, stopped for it, was started again")
	assert.True(t, strings.HasPrefix(last, "the off-host push required after the pre-update snapshot failed; the update was not applied; the snapshot "+tx.SnapshotID+" is kept: restic: repository unreachable"), last)
	_, err = o.Store.Show(tx.SnapshotID)
	require.NoError(t, err, "the pre-update snapshot is kept")
	now, up := tp.PID()
	assert.True(t, up, "the live server is running again")
	assert.NotEqual(t, pid, now)
	assert.True(t, answers(tp))
	requireWhole(t, o.Store, ref, tp.Home)
	requireNoCopyLeft(t, tx)
}

// The copy came up, but the live node's first boot after the apply fails
// (here a bundle that appeared on the live node only): the pack is rolled
// back exactly as after any update, and the outage ends with the restored
// pack's up verdict.
func TestRehearsedUpdateWhoseLiveBootFailsIsRolledBack(t *testing.T) {
	needNamespace(t)
	t.Parallel()
	tp := u2Fixture(t, "clean")
	o := rehearsalOptions(t, tp.Home, tp.Env())
	startLive(t, o)
	o.CrashPoint = func(state, step string) {
		if state == string(StateApplying) && step == "" {
			testpack.WriteBehaviourJar(t, tp.Home, "fail-config")
		}
	}
	res, err := Update(context.Background(), o)
	var rb *RolledBackError
	require.ErrorAs(t, err, &rb, "%v", err)
	tx := res.Tx
	assert.Equal(t, StateRolledBack, tx.State)
	assert.True(t, tx.Rehearsal.Applied)
	requireWhole(t, o.Store, tx.SnapshotID, tp.Home)
	out := tx.Rehearsal.Timings.Outage
	require.NotNil(t, out)
	assert.Equal(t, "rollback", out.Until)
	assert.Positive(t, out.TotalMS)
	_, up := tp.PID()
	assert.True(t, up && answers(tp), "the restored pack is up")
	requireNoCopyLeft(t, tx)
}
