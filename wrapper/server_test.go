package wrapper

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/internal/testpack"
	"github.com/carbonguard/carbonguard/pack"
)

// fastOptions are the verdict settings for the fake server: it boots in
// ~300 ms, so seconds are plenty and the stability window can be short.
func fastOptions(t *testing.T, tp *testpack.Pack) Options {
	return Options{
		AllowRoot:     true, // CI runs the tests as root; the refusal has its own test
		Environ:       tp.Env(),
		StateDir:      filepath.Join(t.TempDir(), "state"),
		Timeout:       20 * time.Second,
		Stability:     300 * time.Millisecond,
		StopTimeout:   5 * time.Second,
		Poll:          25 * time.Millisecond,
		ProbeInterval: 100 * time.Millisecond,
		ProbeTimeout:  2 * time.Second,
		Logger:        zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel),
	}
}

// newServer opens the materialised pack the way main does (with the
// properties the launch will pass) and makes a Server.
func newServer(t *testing.T, tp *testpack.Pack, o Options) *Server {
	t.Helper()
	args, err := ScriptArgs(o)
	require.NoError(t, err)
	p, err := pack.OpenWith(tp.Home, pack.Options{SysProps: pack.ScriptArgProps(args)})
	require.NoError(t, err)
	s, err := New(p, o)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_, _ = s.Stop(ctx)
	})
	return s
}

func requireState(t *testing.T, v *Verdict, want State) {
	t.Helper()
	require.NotNil(t, v)
	if v.State != want {
		b, _ := json.MarshalIndent(v, "", "  ")
		t.Fatalf("verdict %s, want %s:\n%s", v.State, want, b)
	}
}

func TestStartUpStatusStop(t *testing.T) {
	t.Parallel()
	tp := testpack.New(t, "apim-4.2")
	o := fastOptions(t, tp)
	s := newServer(t, tp, o)
	ctx := context.Background()

	v, err := s.Start(ctx)
	require.NoError(t, err)
	requireState(t, v, Up)
	assert.Equal(t, "start", v.Command)
	assert.Nil(t, v.Exit)
	pid, alive := tp.PID()
	require.True(t, alive)
	assert.Equal(t, pid, v.PID)
	assert.True(t, isDescendant(v.PID, v.ScriptPID), "the JVM runs under the script's shell")
	require.NotNil(t, v.Timings.SuccessLine)
	require.NotNil(t, v.Timings.HealthOK)
	assert.GreaterOrEqual(t, v.Timings.Decided.Sub(*v.Timings.SuccessLine), o.Stability, "the stability window was honoured")
	require.Len(t, v.Health, 2, "APIM 4.2: /services/Version and the gateway startup health check")
	assert.Equal(t, "http://127.0.0.1:"+strconv.Itoa(tp.Port(9763))+"/services/Version", v.Health[0].URL)
	assert.Equal(t, "https://127.0.0.1:"+strconv.Itoa(tp.Port(9443))+"/api/am/gateway/v2/server-startup-healthcheck", v.Health[1].URL)
	for _, h := range v.Health {
		assert.True(t, h.OK, h.URL)
		assert.Equal(t, 200, h.Status)
	}
	require.NotEmpty(t, v.Lines)
	assert.Equal(t, kindSuccess, v.Lines[len(v.Lines)-1].Kind)
	assert.Contains(t, v.Notes[len(v.Notes)-1], "skip certificate verification")
	assert.Equal(t, "no check gate configured", v.Gate.Skipped)

	last, err := LoadLastVerdict(o.StateDir)
	require.NoError(t, err)
	require.NotNil(t, last)
	assert.Equal(t, Up, last.State)
	assert.Equal(t, v.PID, last.PID)

	_, err = s.Start(ctx)
	var already *pack.ServerRunningError
	require.ErrorAs(t, err, &already)
	assert.Equal(t, pid, already.PID)

	st, err := s.Status(ctx)
	require.NoError(t, err)
	assert.True(t, st.Running)
	assert.Equal(t, pid, st.PID)
	require.NotNil(t, st.Started)
	assert.WithinDuration(t, time.Now(), *st.Started, time.Minute)
	byName := map[string]PortStatus{}
	for _, p := range st.Ports {
		byName[p.Name] = p
	}
	require.Contains(t, byName, "servlet-https")
	assert.True(t, byName["servlet-https"].Listening)
	require.NotNil(t, byName["servlet-https"].ByServer)
	assert.True(t, *byName["servlet-https"].ByServer)
	assert.Equal(t, tp.Port(9443), byName["servlet-https"].Port)
	require.NotNil(t, st.LastVerdict)
	assert.Equal(t, Up, st.LastVerdict.State)

	sr, err := s.Stop(ctx)
	require.NoError(t, err)
	assert.True(t, sr.WasRunning)
	assert.False(t, sr.Killed)
	assert.Equal(t, "SIGTERM", sr.Signal)
	assert.True(t, sr.PIDFileRemoved)
	assert.False(t, processAlive(pid))
	assert.NoFileExists(t, filepath.Join(tp.Home, "wso2carbon.pid"))
	assert.Contains(t, tp.Log(), "Shutdown complete")

	st, err = s.Status(ctx)
	require.NoError(t, err)
	assert.False(t, st.Running)

	sr, err = s.Stop(ctx)
	require.NoError(t, err, "stopping a stopped server is not an error")
	assert.False(t, sr.WasRunning)
}

func TestStartSlowUp(t *testing.T) {
	t.Parallel()
	tp := testpack.New(t, "apim-4.2", testpack.WithBehaviour("slow"), testpack.WithDelay(1500*time.Millisecond))
	s := newServer(t, tp, fastOptions(t, tp))
	v, err := s.Start(context.Background())
	require.NoError(t, err)
	requireState(t, v, Up)
	assert.GreaterOrEqual(t, v.Timings.SuccessLine.Sub(v.Timings.Launched), 1500*time.Millisecond)
}

func TestStartFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		opts      []testpack.Option
		stability time.Duration
		rule      string // the failure line's rule, "" when the exit decides
		reason    string
		exited    bool
		exitCode  int
	}{
		{name: "config error", opts: []testpack.Option{testpack.WithBehaviour("fail-config")},
			rule: "config-error", exited: true, exitCode: 1},
		{name: "hanging OSGi", opts: []testpack.Option{testpack.WithBehaviour("hang-osgi"), testpack.WithOSGiInterval(150 * time.Millisecond)},
			rule: "osgi-wait×2"},
		{name: "startup failed", opts: []testpack.Option{testpack.WithBehaviour("startup-failed")}, rule: "startup-failed"},
		{name: "crash after start", opts: []testpack.Option{testpack.WithBehaviour("crash-after"), testpack.WithCrashAfter(200 * time.Millisecond)},
			stability: 3 * time.Second, reason: "exited with status 1 after its success line", exited: true, exitCode: 1},
		{name: "out of memory", opts: []testpack.Option{testpack.WithBehaviour("oom"), testpack.WithCrashAfter(200 * time.Millisecond)},
			stability: 3 * time.Second, rule: "out-of-memory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tp := testpack.New(t, "apim-4.2", tc.opts...)
			o := fastOptions(t, tp)
			if tc.stability > 0 {
				o.Stability = tc.stability
			}
			s := newServer(t, tp, o)
			v, err := s.Start(context.Background())
			var be *BootError
			require.ErrorAs(t, err, &be)
			requireState(t, v, Failed)
			assert.Same(t, v, be.Verdict)
			if tc.rule != "" {
				assert.Contains(t, v.Reason, tc.rule)
				found := false
				for _, l := range v.Lines {
					found = found || (l.Kind == kindFailure || l.Kind == kindOSGiWait) && l.Seen.After(v.Timings.Launched)
				}
				assert.True(t, found, "the failure line is in the evidence")
			}
			if tc.reason != "" {
				assert.Contains(t, v.Reason, tc.reason)
			}
			if tc.exited {
				require.NotNil(t, v.Exit)
				assert.Equal(t, tc.exitCode, v.Exit.Code)
			}
			assert.NotEmpty(t, v.Log.Tail, "a failed boot keeps the last log lines")
			last, err := LoadLastVerdict(s.o.StateDir)
			require.NoError(t, err)
			assert.Equal(t, Failed, last.State)
		})
	}
}

func TestStartPortInUse(t *testing.T) {
	t.Parallel()
	tp := testpack.New(t, "apim-4.2")
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(tp.Port(9443)))
	require.NoError(t, err)
	defer ln.Close()
	s := newServer(t, tp, fastOptions(t, tp))
	v, err := s.Start(context.Background())
	var be *BootError
	require.ErrorAs(t, err, &be)
	requireState(t, v, Failed)
	assert.Contains(t, v.Reason, "address-in-use")
}

func TestStartTimeout(t *testing.T) {
	t.Parallel()
	tp := testpack.New(t, "apim-4.2", testpack.WithBehaviour("slow"), testpack.WithDelay(30*time.Second))
	o := fastOptions(t, tp)
	o.Timeout = time.Second
	s := newServer(t, tp, o)
	v, err := s.Start(context.Background())
	require.Error(t, err)
	requireState(t, v, Failed)
	assert.Contains(t, v.Reason, "no success line within 1s")
	assert.Nil(t, v.Exit, "start leaves a failed server running for inspection")
	var be *BootError
	require.ErrorAs(t, err, &be)
	assert.False(t, be.Stopped, "left running for inspection")
}

func TestStartUnknownWhenHealthNeverAnswers(t *testing.T) {
	t.Parallel()
	tp := testpack.New(t, "apim-4.2")
	// A port nobody listens on: the success line comes, the endpoint never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String()
	ln.Close()
	o := fastOptions(t, tp)
	o.Timeout = 2 * time.Second
	o.Health = []HealthCheck{{Name: "dead", URL: "http://" + dead + "/health"}}
	s := newServer(t, tp, o)
	v, err := s.Start(context.Background())
	require.Error(t, err)
	requireState(t, v, Unknown)
	require.Len(t, v.Health, 1)
	assert.False(t, v.Health[0].OK)
	assert.NotEmpty(t, v.Health[0].Error)
	assert.Greater(t, v.Health[0].Attempts, 1)
}

func TestStartRemovesStalePIDFile(t *testing.T) {
	t.Parallel()
	tp := testpack.New(t, "apim-4.2")
	// The PID file names a live process that is not this pack's server
	// (the test itself): the stock start would say "Process is already
	// running" and start nothing.
	pidFile := filepath.Join(tp.Home, "wso2carbon.pid")
	require.NoError(t, os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())), 0o644))
	s := newServer(t, tp, fastOptions(t, tp))

	st, err := s.Status(context.Background())
	require.NoError(t, err)
	assert.False(t, st.Running)
	assert.Equal(t, os.Getpid(), st.StalePID)

	v, err := s.Start(context.Background())
	require.NoError(t, err)
	requireState(t, v, Up)
	assert.NotEqual(t, os.Getpid(), v.PID)
	require.NotEmpty(t, v.Notes)
	assert.Contains(t, v.Notes[0], "removed the stale PID file")
}

func TestStopStalePIDFile(t *testing.T) {
	t.Parallel()
	tp := testpack.New(t, "apim-4.2")
	pidFile := filepath.Join(tp.Home, "wso2carbon.pid")
	require.NoError(t, os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())), 0o644))
	s := newServer(t, tp, fastOptions(t, tp))
	sr, err := s.Stop(context.Background())
	require.NoError(t, err)
	assert.False(t, sr.WasRunning)
	assert.True(t, sr.PIDFileRemoved)
	assert.NoFileExists(t, pidFile)
	assert.True(t, processAlive(os.Getpid()), "the unrelated process named by the stale file was left alone")
}

func TestStopKillsServerIgnoringTERM(t *testing.T) {
	t.Parallel()
	tp := testpack.New(t, "apim-4.2", testpack.WithBehaviour("ignore-term"))
	o := fastOptions(t, tp)
	o.StopTimeout = 700 * time.Millisecond
	s := newServer(t, tp, o)
	v, err := s.Start(context.Background())
	require.NoError(t, err)
	requireState(t, v, Up)
	sr, err := s.Stop(context.Background())
	require.NoError(t, err)
	assert.True(t, sr.Killed)
	assert.Equal(t, "SIGKILL", sr.Signal)
	assert.GreaterOrEqual(t, sr.TookMS, int64(700))
	assert.False(t, processAlive(v.PID))
}

func TestRestart(t *testing.T) {
	t.Parallel()
	tp := testpack.New(t, "apim-4.2")
	s := newServer(t, tp, fastOptions(t, tp))
	v1, err := s.Start(context.Background())
	require.NoError(t, err)
	requireState(t, v1, Up)
	sr, v2, err := s.Restart(context.Background())
	require.NoError(t, err)
	assert.True(t, sr.WasRunning)
	requireState(t, v2, Up)
	assert.Equal(t, "restart", v2.Command)
	assert.NotEqual(t, v1.PID, v2.PID)
	assert.False(t, processAlive(v1.PID))
	hist, err := VerdictHistory(s.o.StateDir)
	require.NoError(t, err)
	assert.Len(t, hist, 2)
}

func TestInjectedPropertiesWin(t *testing.T) {
	t.Parallel()
	tp := testpack.New(t, "apim-4.2")
	o := fastOptions(t, tp)
	o.JavaOpts = "-Dfrom.java.opts=yes"
	o.JVMMemOpts = "-Xms128m -Xmx256m"
	o.Properties = map[string]string{"custom.prop": "42"}
	o.ProxyHost, o.ProxyPort = "proxy.internal", 3128
	s := newServer(t, tp, o)
	v, err := s.Start(context.Background())
	require.NoError(t, err)
	requireState(t, v, Up)
	inv := tp.Invocations()
	require.Len(t, inv, 1)
	got := inv[0]
	// The script's fixed list sets AllowAll / true before the main class;
	// carbonguard's script arguments come after it and win.
	assert.Equal(t, "AllowAll", got.JVMProperties["httpclient.hostnameVerifier"])
	assert.Equal(t, "Strict", got.Properties["httpclient.hostnameVerifier"])
	assert.Equal(t, "false", got.Properties["org.opensaml.httpclient.https.disableHostnameVerification"])
	assert.Equal(t, "42", got.Properties["custom.prop"])
	assert.Equal(t, "proxy.internal", got.Properties["https.proxyHost"])
	assert.Equal(t, "3128", got.Properties["http.proxyPort"])
	assert.Equal(t, "yes", got.Properties["from.java.opts"])
	assert.NotContains(t, got.Properties, "setup", "-Dsetup is never passed unless asked for")
	assert.Contains(t, got.JVMOptions, "-Xmx256m")
	assert.Equal(t, tp.Home, got.Env["CARBON_HOME"])
	assert.Equal(t, tp.Home, got.Cwd)
}

func TestRefusesRoot(t *testing.T) {
	t.Parallel()
	tp := testpack.New(t, "apim-4.2")
	o := fastOptions(t, tp)
	o.AllowRoot = false
	o.Euid = func() int { return 0 }
	s := newServer(t, tp, o)
	_, err := s.Start(context.Background())
	var re *RootError
	require.ErrorAs(t, err, &re)
	_, err = s.Run(context.Background(), nil)
	require.ErrorAs(t, err, &re)
	assert.Empty(t, tp.Invocations(), "nothing was launched")

	o.RunAsUser = "root"
	s = newServer(t, tp, o)
	_, err = s.Start(context.Background())
	require.ErrorAs(t, err, &re, "running as a configured user who is root is still root")

	// Not root: no refusal needed (and no switching possible).
	o.RunAsUser = ""
	o.Euid = func() int { return 12345 }
	_, err = resolveUser(&o)
	require.NoError(t, err)
	o.RunAsUser = "root"
	o.AllowRoot = true
	_, err = resolveUser(&o)
	assert.ErrorContains(t, err, "only root can switch users")
}

func TestRunAsUser(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root")
	}
	const who = "nobody"
	tp := testpack.New(t, "apim-4.2")
	// The pack must be the run-as user's: hand it over, and open the way
	// through the test's private temporary directories.
	for d := filepath.Dir(tp.Home); d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		require.NoError(t, os.Chmod(d, 0o755))
	}
	uid, gid := lookupIDs(t, who)
	require.NoError(t, filepath.Walk(tp.Home, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	}))
	o := fastOptions(t, tp)
	o.AllowRoot = false
	o.RunAsUser = who
	s := newServer(t, tp, o)
	v, err := s.Start(context.Background())
	require.NoError(t, err)
	requireState(t, v, Up)
	inv := tp.Invocations()
	require.Len(t, inv, 1)
	assert.Equal(t, uid, inv[0].UID)
	assert.Equal(t, gid, inv[0].GID)
	// carbonguard as root stops the server it runs as another user.
	sr, err := s.Stop(context.Background())
	require.NoError(t, err)
	assert.True(t, sr.WasRunning)
}

func lookupIDs(t *testing.T, name string) (int, int) {
	t.Helper()
	o := Options{RunAsUser: name, Euid: func() int { return 0 }}
	r, err := resolveUser(&o)
	if err != nil {
		t.Skipf("no user %s: %v", name, err)
	}
	require.NotNil(t, r.cred)
	return int(r.cred.Uid), int(r.cred.Gid)
}

func TestGate(t *testing.T) {
	t.Parallel()
	blocked := func(context.Context) (GateResult, error) {
		return GateResult{Blocked: true, Threshold: "high", Summary: "1 high", Findings: []string{"CG-SEC-001 high deployment.toml:3: admin password is admin"}}, nil
	}
	tp := testpack.New(t, "apim-4.2")
	o := fastOptions(t, tp)
	o.Gate = blocked
	s := newServer(t, tp, o)
	_, err := s.Start(context.Background())
	var ge *GateError
	require.ErrorAs(t, err, &ge)
	assert.Contains(t, ge.Error(), "CG-SEC-001")
	assert.Empty(t, tp.Invocations(), "nothing was launched")

	broken := func(context.Context) (GateResult, error) { return GateResult{}, errors.New("facts unreadable") }
	o.Gate = broken
	s = newServer(t, tp, o)
	_, err = s.Start(context.Background())
	require.ErrorAs(t, err, &ge, "a gate that cannot run refuses (fails closed)")
	assert.ErrorContains(t, err, "facts unreadable")

	o.Gate, o.Force, o.ForceReason, o.ForcedBy = blocked, true, "maintenance window, ticket OPS-1", "alice"
	s = newServer(t, tp, o)
	v, err := s.Start(context.Background())
	require.NoError(t, err)
	requireState(t, v, Up)
	require.NotNil(t, v.Gate)
	assert.True(t, v.Gate.Forced)
	assert.Equal(t, "alice", v.Gate.ForcedBy)
	assert.Equal(t, "maintenance window, ticket OPS-1", v.Gate.Reason)
	assert.Equal(t, []string{"CG-SEC-001 high deployment.toml:3: admin password is admin"}, v.Gate.Findings)
}

func TestOtherProducts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pack string
		path string // the health endpoint expected
		base int
	}{
		{pack: "mi-4.3", path: "/healthz", base: 9191},
		{pack: "is-7.1", path: "/api/health-check/v1.0/health", base: 9443},
		{pack: "is-5.10", path: "/api/health-check/v1.0/health", base: 9443},
		{pack: "apim-4.7-gateway", path: "/api/am/gateway/v2/server-startup-healthcheck", base: 9443},
		{pack: "carbon-4.4", path: "/services/Version", base: 9763}, // APIM 2.6-like: before the gateway health check
	}
	for _, tc := range tests {
		t.Run(tc.pack, func(t *testing.T) {
			t.Parallel()
			tp := testpack.New(t, tc.pack)
			s := newServer(t, tp, fastOptions(t, tp))
			v, err := s.Start(context.Background())
			require.NoError(t, err)
			requireState(t, v, Up)
			require.NotEmpty(t, v.Health)
			found := false
			for _, h := range v.Health {
				assert.True(t, h.OK, h.URL)
				if tc.path == "" {
					found = found || h.URL == "tcp://127.0.0.1:"+strconv.Itoa(tc.base+tp.Offset)
				} else {
					found = found || filepath.Base(h.URL) == filepath.Base(tc.path) &&
						containsPort(h.URL, tc.base+offsetOf(s.p))
				}
			}
			assert.True(t, found, "%+v", v.Health)
		})
	}
}

func containsPort(url string, port int) bool {
	return strings.Contains(url+"/", ":"+strconv.Itoa(port)+"/")
}
