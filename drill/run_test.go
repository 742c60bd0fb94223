package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
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
	"github.com/carbonguard/carbonguard/clone"
	"github.com/carbonguard/carbonguard/internal/durable"
	"github.com/carbonguard/carbonguard/internal/netns"
	"github.com/carbonguard/carbonguard/internal/testpack"
	"github.com/carbonguard/carbonguard/pack"
	"github.com/carbonguard/carbonguard/validate"
	"github.com/carbonguard/carbonguard/wrapper"
)

// needRoot: the drills boot their copy in a network namespace, which needs
// root; CI runs the tests as root, so there a missing privilege fails.
func needRoot(t *testing.T) {
	t.Helper()
	if ok, why := netns.Supported(); !ok {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the tests as root: %s", why)
		}
		t.Skipf("needs root: %s", why)
	}
}

func serverOptions(t *testing.T, tp *testpack.Pack) wrapper.Options {
	return wrapper.Options{
		AllowRoot:     true, // CI runs the tests as root
		Environ:       tp.Env(),
		Timeout:       20 * time.Second,
		Stability:     300 * time.Millisecond,
		StopTimeout:   5 * time.Second,
		Poll:          25 * time.Millisecond,
		ProbeInterval: 100 * time.Millisecond,
		ProbeTimeout:  2 * time.Second,
		Logger:        zerolog.New(zerolog.NewTestWriter(t)),
	}
}

// validateCheck runs the production checks with the default policy, as
// main does with carbonguard.toml's.
func validateCheck(ctx context.Context, home, report string) (*Check, error) {
	p, err := pack.Open(home)
	if err != nil {
		return nil, err
	}
	rep, blocked, err := validate.Gate(ctx, p, validate.GateOptions{})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		return nil, err
	}
	if err := durable.WriteFile(report, buf.Bytes(), 0o644); err != nil {
		return nil, err
	}
	return &Check{Summary: rep.SeveritySummary(), Blocked: blocked, Report: filepath.Base(report)}, nil
}

// fixture is a live pack with a verified snapshot in its state directory.
type fixture struct {
	tp    *testpack.Pack
	live  *pack.Pack
	state string
	store *archive.Store
	snap  string
	srv   *wrapper.Server
	pid   int
}

func newFixture(t *testing.T, prepare func(home string)) *fixture {
	t.Helper()
	tp := testpack.New(t, "apim-4.2")
	if prepare != nil {
		prepare(tp.Home)
	}
	f := &fixture{tp: tp, state: filepath.Join(t.TempDir(), "state")}
	var err error
	f.store, err = archive.OpenStore(filepath.Join(f.state, "snapshots"), zerolog.Nop())
	require.NoError(t, err)
	m, err := f.store.Create(context.Background(), tp.Home, archive.CreateOptions{Reason: "manual", NoSync: true})
	require.NoError(t, err)
	_, err = f.store.Verify(context.Background(), m.ID, nil)
	require.NoError(t, err)
	f.snap = m.ID
	f.live, err = pack.Open(tp.Home)
	require.NoError(t, err)
	return f
}

// startLive starts the live server (its verdict in the live state dir).
func (f *fixture) startLive(t *testing.T) {
	t.Helper()
	o := serverOptions(t, f.tp)
	o.StateDir = f.state
	s, err := wrapper.New(f.live, o)
	require.NoError(t, err)
	v, err := s.Start(context.Background())
	require.NoError(t, err)
	f.srv, f.pid = s, v.PID
	t.Cleanup(func() { _, _ = s.Stop(context.Background()) })
}

func (f *fixture) options(t *testing.T) Options {
	return Options{
		StateDir: f.state, Store: f.store, Home: f.tp.Home, Live: f.live,
		Boot:  clone.Options{Server: serverOptions(t, f.tp)},
		Check: validateCheck, Logger: zerolog.New(zerolog.NewTestWriter(t)), ToolVersion: "test",
	}
}

// liveState is everything of the live node a drill must not touch.
type liveState struct {
	pid     int
	pidFile string
	log     string
	verdict string
	journal []string
	lock    string
}

func (f *fixture) snapshotLive(t *testing.T) liveState {
	t.Helper()
	var s liveState
	s.pid, _ = f.tp.PID()
	b, _ := os.ReadFile(filepath.Join(f.tp.Home, "wso2carbon.pid"))
	s.pidFile = string(b)
	s.log = f.tp.Log()
	b, _ = os.ReadFile(filepath.Join(f.state, "verdicts", "last.json"))
	s.verdict = string(b)
	s.journal, _ = filepath.Glob(filepath.Join(f.state, "journal", "*"))
	b, _ = os.ReadFile(filepath.Join(f.state, "lock"))
	s.lock = string(b)
	return s
}

// TestDrillBoots: a drill of an H2 pack while the live server runs: the copy
// is restored, verified, checked and booted up in its own namespace, the
// RTO is measured, the copy removed, and the live server untouched (same
// PID, still answering on its ports, its PID file, log, verdict, journal
// and lock as they were).
func TestDrillBoots(t *testing.T) {
	needRoot(t)
	t.Parallel()
	f := newFixture(t, nil)
	f.startLive(t)
	before := f.snapshotLive(t)

	// While the copy is up: from inside its namespace, a listener on the
	// host's 127.0.0.1 is out of reach and the live node's port number
	// answers with the copy; from the host it is the live server.
	host, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer host.Close()
	var hostErr, insideErr error
	var insideCopyPID int
	o := f.options(t)
	o.Boot.WhileUp = func(ctx context.Context, r *clone.Result, dial wrapper.DialFunc) {
		_, hostErr = dial(ctx, "tcp", host.Addr().String())
		var c net.Conn
		if c, insideErr = dial(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", f.tp.Port(9443))); insideErr == nil {
			c.Close()
		}
		insideCopyPID = r.Verdict.PID
	}

	r, err := Run(context.Background(), o)
	require.NoError(t, err)
	if !r.Passed() {
		b, _ := json.MarshalIndent(r, "", "  ")
		t.Fatalf("drill did not pass:\n%s", b)
	}
	assert.Equal(t, StatePassed, r.State)
	assert.Equal(t, LevelBooted, r.Level)
	for _, l := range Levels {
		assert.True(t, r.Reached(l), l)
	}
	assert.Equal(t, f.snap, r.Snapshot.ID)
	require.NotNil(t, r.Snapshot.LastVerfied)
	assert.Equal(t, filepath.Join(f.state, "drills", r.ID, "pack"), r.Copy)
	assert.True(t, r.Removed)
	assert.NoDirExists(t, r.Copy, "the copy is removed")
	require.NotNil(t, r.Restore)
	assert.Positive(t, r.Restore.Entries)
	require.NotNil(t, r.Verify)
	assert.Zero(t, r.Verify.Count)
	require.NotNil(t, r.Check)
	assert.True(t, r.Check.Blocked, "the stock fixture fails the production checks (recorded, never blocking a drill)")
	assert.FileExists(t, filepath.Join(f.state, "drills", r.ID, "check.json"))
	require.NotNil(t, r.Boot)
	assert.Equal(t, "namespace", r.Boot.Network)
	assert.Equal(t, wrapper.Up, r.Boot.Verdict.State)
	require.NotNil(t, r.RTO)
	assert.Positive(t, r.RTO.BootMS)
	assert.Equal(t, r.RTO.RestoreMS+r.RTO.BootMS, r.RTO.TotalMS)
	assert.GreaterOrEqual(t, r.RTO.TotalMS, r.RTO.ServingMS)
	assert.FileExists(t, filepath.Join(r.Evidence, "wso2carbon.log"))
	assert.False(t, r.Finished.IsZero())

	require.Error(t, hostErr, "the host's listener is out of reach from the copy's namespace")
	assert.Contains(t, hostErr.Error(), "connection refused")
	require.NoError(t, insideErr, "the copy listens on the live node's port number inside its namespace")
	assert.NotEqual(t, f.pid, insideCopyPID)

	after := f.snapshotLive(t)
	assert.Equal(t, before, after, "the live node's PID, PID file, log, verdict, journal and lock are untouched")
	pid, alive := f.tp.PID()
	assert.True(t, alive)
	assert.Equal(t, f.pid, pid)
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/services/Version", f.tp.Port(9763)))
	require.NoError(t, err, "the live server still answers")
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)

	saved, err := Load(f.state, r.ID)
	require.NoError(t, err)
	assert.Equal(t, StatePassed, saved.State)
	assert.Equal(t, r.RTO, saved.RTO)
	last, err := LastPassed(f.state, true)
	require.NoError(t, err)
	require.NotNil(t, last)
	assert.Equal(t, r.ID, last.ID)
}

// TestDrillBootFails: a snapshot whose boot fails (a broken bundle in it):
// the verdict is failed, the evidence kept, the copy removed, the error a
// *FailedError.
func TestDrillBootFails(t *testing.T) {
	needRoot(t)
	t.Parallel()
	f := newFixture(t, func(home string) { testpack.WriteBehaviourJar(t, home, "fail-config") })
	r, err := Run(context.Background(), f.options(t))
	var fe *FailedError
	require.ErrorAs(t, err, &fe)
	assert.Same(t, r, fe.Record)
	assert.Equal(t, StateFailed, r.State)
	assert.Equal(t, LevelChecked, r.Level)
	assert.False(t, r.Reached(LevelBooted))
	require.NotNil(t, r.Boot)
	assert.Equal(t, wrapper.Failed, r.Boot.Verdict.State)
	assert.Contains(t, r.Reason, "the copy's boot verdict is failed")
	assert.Contains(t, err.Error(), "reached: checked")
	boot, err := os.ReadFile(filepath.Join(r.Evidence, "wso2carbon.log"))
	require.NoError(t, err)
	assert.Contains(t, string(boot), "Error while performing configuration changes")
	assert.FileExists(t, filepath.Join(r.Evidence, "console.log"))
	assert.NoDirExists(t, r.Copy)
	saved, err := Load(f.state, r.ID)
	require.NoError(t, err)
	assert.Equal(t, StateFailed, saved.State)
	assert.Equal(t, wrapper.Failed, saved.Boot.Verdict.State)
	last, err := LastPassed(f.state, false)
	require.NoError(t, err)
	assert.Nil(t, last, "a failed drill does not count")
}

const externalDB = `url = "jdbc:mysql://db.prod.example:3306/apim_db"`

func makeExternal(t *testing.T, home string) {
	conf := filepath.Join(home, "repository", "conf", "deployment.toml")
	b, err := os.ReadFile(conf)
	require.NoError(t, err)
	s := strings.Replace(string(b), `url = "jdbc:h2:./repository/database/WSO2AM_DB;AUTO_SERVER=TRUE;DB_CLOSE_ON_EXIT=FALSE"`, externalDB, 1)
	require.NotEqual(t, string(b), s)
	require.NoError(t, os.WriteFile(conf, []byte(s), 0o644))
}

// TestDrillExternalDatabases: refused before anything is laid down without
// overrides; restored, verified and checked with --no-boot; booted with
// overrides that point the database into the copy.
func TestDrillExternalDatabases(t *testing.T) {
	needRoot(t)
	t.Parallel()
	f := newFixture(t, func(home string) { makeExternal(t, home) })

	t.Run("refused", func(t *testing.T) {
		r, err := Run(context.Background(), f.options(t))
		var re *RefusedError
		require.ErrorAs(t, err, &re)
		var cr *clone.RefusedError
		require.ErrorAs(t, err, &cr)
		assert.Equal(t, "apim_db", cr.Datasources[0].Name)
		assert.Equal(t, StateRefused, r.State)
		assert.Empty(t, r.Level, "nothing was laid down")
		assert.False(t, r.CopyCreated)
		assert.NoDirExists(t, r.Copy)
		saved, err := Load(f.state, r.ID)
		require.NoError(t, err)
		assert.Equal(t, StateRefused, saved.State)
		assert.Contains(t, saved.Reason, "[database.apim_db]")
	})
	t.Run("no boot", func(t *testing.T) {
		o := f.options(t)
		o.NoBoot = true
		r, err := Run(context.Background(), o)
		require.NoError(t, err)
		assert.Equal(t, StatePassed, r.State)
		assert.Equal(t, LevelChecked, r.Level)
		assert.Nil(t, r.Boot)
		assert.Nil(t, r.RTO)
		assert.Zero(t, r.Verify.Count)
		assert.Contains(t, r.Reason, "not booted")
		assert.NoDirExists(t, r.Copy)
		assert.Empty(t, f.tp.Invocations(), "no server was launched")
		last, err := LastPassed(f.state, true)
		require.NoError(t, err)
		assert.Nil(t, last, "a drill that did not boot does not count where a boot is asked for")
		last, err = LastPassed(f.state, false)
		require.NoError(t, err)
		assert.Equal(t, r.ID, last.ID)
	})
	t.Run("overrides", func(t *testing.T) {
		o := f.options(t)
		o.Overrides = map[string]any{"database": map[string]any{"apim_db": map[string]any{
			"url": "jdbc:h2:./repository/database/WSO2AM_DB;DB_CLOSE_ON_EXIT=FALSE"}}}
		r, err := Run(context.Background(), o)
		require.NoError(t, err)
		assert.Equal(t, LevelBooted, r.Level)
		assert.Equal(t, []string{"database.apim_db.url"}, r.Overrides)
		for _, d := range r.Boot.Datasources {
			assert.Equal(t, pack.DataInPack, d.Data, d.Name)
		}
		b, _ := json.Marshal(r)
		assert.NotContains(t, string(b), "db.prod.example", "URLs are not recorded")
	})
}

// TestDrillTargets: a target inside the live pack, the pack itself, or an
// existing directory is refused, and nothing there is touched; --keep
// keeps the copy.
func TestDrillTargets(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	existing := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(existing, "keep-me"), []byte("x"), 0o644))
	for _, tc := range []struct{ target, why string }{
		{f.tp.Home, "is the live pack"},
		{filepath.Join(f.tp.Home, "tmp", "copy"), "inside the live pack"},
		{filepath.Join(f.tp.Home, "repository"), "inside the live pack"},
		{filepath.Dir(f.tp.Home), "holds the live pack"},
		{existing, "already exists"},
		{"relative/copy", "absolute path"},
	} {
		o := f.options(t)
		o.NoBoot = true
		o.Target = tc.target
		r, err := Run(context.Background(), o)
		var te *TargetError
		require.ErrorAs(t, err, &te, tc.target)
		assert.Contains(t, err.Error(), tc.why)
		assert.Equal(t, StateRefused, r.State)
	}
	assert.FileExists(t, filepath.Join(existing, "keep-me"))
	assert.FileExists(t, filepath.Join(f.tp.Home, "repository", "conf", "deployment.toml"))

	o := f.options(t)
	o.NoBoot, o.Keep = true, true
	o.Target = filepath.Join(t.TempDir(), "kept")
	r, err := Run(context.Background(), o)
	require.NoError(t, err)
	assert.False(t, r.Removed)
	assert.FileExists(t, filepath.Join(o.Target, "repository", "conf", "deployment.toml"))
}

// TestDrillInterrupted: a drill whose process died leaves a running record,
// a copy and a server of the copy; the next drill stops that server, removes
// the copy and marks the record interrupted. A second drill at the same
// time is refused.
func TestDrillInterrupted(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	copyDir := filepath.Join(f.state, "drills", "20200101T000000Z", "pack")
	require.NoError(t, os.MkdirAll(copyDir, 0o755))
	leftover := exec.Command("sleep", "300")
	leftover.Dir = copyDir
	require.NoError(t, leftover.Start())
	waited := make(chan struct{})
	go func() { _ = leftover.Wait(); close(waited) }()
	stale := &Record{SchemaVersion: 1, ID: "20200101T000000Z", State: StateRunning, Started: time.Now().Add(-time.Hour),
		Copy: copyDir, CopyCreated: true, PID: 999999}
	require.NoError(t, stale.save(f.state))

	unlock, err := lock(f.state)
	require.NoError(t, err)
	_, err = Run(context.Background(), f.options(t))
	var be *BusyError
	require.ErrorAs(t, err, &be)
	assert.Equal(t, os.Getpid(), be.PID)
	unlock()

	o := f.options(t)
	o.NoBoot = true
	_, err = Run(context.Background(), o)
	require.NoError(t, err)
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("the stale copy's process was not stopped")
	}
	assert.Equal(t, syscall.SIGKILL, leftover.ProcessState.Sys().(syscall.WaitStatus).Signal())
	got, err := Load(f.state, stale.ID)
	require.NoError(t, err)
	assert.Equal(t, StateInterrupted, got.State)
	assert.True(t, got.Removed)
	assert.NoDirExists(t, copyDir)
	list, err := List(f.state)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, stale.ID, list[1].ID, "newest first")
}

func TestNoSnapshot(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	s, err := archive.OpenStore(filepath.Join(state, "snapshots"), zerolog.Nop())
	require.NoError(t, err)
	_, err = Run(context.Background(), Options{StateDir: state, Store: s, Check: validateCheck})
	var ne *NoSnapshotError
	require.ErrorAs(t, err, &ne)
	_, err = Run(context.Background(), Options{StateDir: state, Store: s, Check: validateCheck, Snapshot: "20990101T000000Z"})
	var nf *archive.NotFoundError
	require.ErrorAs(t, err, &nf)
}
