package testpack

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The scripts in the fixture packs are copies; the templates are the source.
func TestScriptsMatchTemplates(t *testing.T) {
	root := ModuleRoot()
	packs, err := os.ReadDir(filepath.Join(root, "testdata", "packs"))
	require.NoError(t, err)
	for _, e := range packs {
		if !e.IsDir() {
			continue
		}
		scripts, ok := packScripts[e.Name()]
		if !assert.True(t, ok, "fixture pack %s has no entry in packScripts (internal/testpack/scripts.go)", e.Name()) {
			continue
		}
		for _, s := range scripts {
			want, err := os.ReadFile(filepath.Join(root, "testdata", "scripts", s.Template))
			require.NoError(t, err)
			path := filepath.Join(root, "testdata", "packs", e.Name(), "bin", s.Name)
			got, err := os.ReadFile(path)
			if assert.NoError(t, err, "missing %s; copy testdata/scripts/%s there", path, s.Template) {
				assert.Equal(t, string(want), string(got), "%s drifted from testdata/scripts/%s; copy the template over it", path, s.Template)
			}
		}
	}
}

func TestSetTOMLOffset(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"commented key", "[server]\nhostname = \"x\"\n#offset=0\n\n[a]\nb = 1\n", "[server]\nhostname = \"x\"\noffset = 7\n\n[a]\nb = 1\n"},
		{"no key at all", "[server]\nhostname = \"x\"\n[a]\n", "[server]\noffset = 7\nhostname = \"x\"\n[a]\n"},
		{"existing key", "[server]\noffset = \"3\"\n[a]\n", "[server]\noffset = 7\n[a]\n"},
		{"key in other table untouched", "[server]\nhostname = \"x\"\n[other]\noffset = 1\n", "[server]\noffset = 7\nhostname = \"x\"\n[other]\noffset = 1\n"},
		{"no server table", "top = 1\n[a]\nb = 2\n", "top = 1\n[server]\noffset = 7\n\n[a]\nb = 2\n"},
		{"empty file", "", "[server]\noffset = 7\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, setTOMLOffset(c.in, 7))
		})
	}
}

// Every variant: start returns at once, the server comes up on the offset
// ports, the PID file names the JVM, the script's fixed -D list reached the
// JVM, and stop returns without waiting.
func TestStartStopEachPack(t *testing.T) {
	cases := []struct {
		pack, verifier, mainClass string
		opensaml                  bool
		probe                     func(t *testing.T, p *Pack)
	}{
		{"apim-4.2", "AllowAll", carbonMain, true, probeAPIM},
		{"apim-4.2-hardened", "AllowAll", carbonMain, true, probeAPIM},
		{"apim-4.7-gateway", "AllowAll", carbonMain, true, probeAPIM},
		{"carbon-4.4", "AllowAll", carbonMain, true, probeAPIM},
		{"is-5.10", "DefaultAndLocalhost", carbonMain, false, probeIS},
		{"is-7.1", "DefaultAndLocalhost", carbonMain, false, probeIS},
		{"mi-4.3", "", miMain, false, probeMI},
	}
	for _, c := range cases {
		t.Run(c.pack, func(t *testing.T) {
			t.Parallel()
			// A slow boot and a slow shutdown show that the stock start and
			// stop do not wait, by order of events rather than by timing a
			// command (which a loaded machine turns into a flaky test).
			p := New(t, c.pack, WithDelay(2*time.Second), WithStopDelay(3*time.Second))
			out, err := p.Command("start").CombinedOutput()
			require.NoError(t, err, string(out))
			assert.NotContains(t, p.Log(), startedLine(p), "start must not wait for the server")
			p.WaitLog(t, startedLine(p), 30*time.Second)

			pid, alive := p.PID()
			require.True(t, alive, "wso2carbon.pid must name a live process")
			inv := p.Invocations()
			require.Len(t, inv, 1)
			assert.Equal(t, pid, inv[0].PID)
			assert.Equal(t, c.mainClass, inv[0].MainClass)
			assert.Equal(t, p.Home, inv[0].Properties["carbon.home"])
			assert.Equal(t, p.Offset, inv[0].Offset)
			assert.Equal(t, c.verifier, inv[0].Properties["httpclient.hostnameVerifier"])
			if c.opensaml {
				assert.Equal(t, "true", inv[0].Properties["org.opensaml.httpclient.https.disableHostnameVerification"])
			} else {
				assert.NotContains(t, inv[0].Properties, "org.opensaml.httpclient.https.disableHostnameVerification")
			}
			assert.Contains(t, inv[0].JVMOptions, "-Xms256m")
			assert.Contains(t, inv[0].JVMOptions, "-XX:+HeapDumpOnOutOfMemoryError")
			assert.Equal(t, os.Getuid(), inv[0].UID)
			assert.Equal(t, p.Home, inv[0].Cwd, "the script cd's to CARBON_HOME")
			c.probe(t, p)

			out, err = p.Command("stop").CombinedOutput()
			require.NoError(t, err, string(out))
			_, alive = p.PID()
			assert.True(t, alive, "stop does not wait: the server is still shutting down when it returns")
			waitGone(t, pid, 30*time.Second)
			if c.pack == "mi-4.3" {
				assert.Contains(t, p.Log(), "Micro Integrator Shutdown complete")
			} else {
				assert.Contains(t, p.Log(), "Shutdown complete")
				assert.Contains(t, p.Log(), "Halting JVM")
			}
			assert.FileExists(t, filepath.Join(p.Home, "wso2carbon.pid"), "Carbon leaves a stale PID file")
		})
	}
}

const (
	carbonMain = "org.wso2.carbon.bootstrap.Bootstrap"
	miMain     = "org.wso2.micro.integrator.bootstrap.Bootstrap"
)

func probeAPIM(t *testing.T, p *Pack) {
	code, body := get(t, "http://127.0.0.1:"+itoa(p.Port(9763))+"/services/Version")
	assert.Equal(t, 200, code)
	assert.Contains(t, body, "WSO2 API Manager")
	code, _ = get(t, "https://127.0.0.1:"+itoa(p.Port(9443))+"/api/am/gateway/v2/server-startup-healthcheck")
	assert.Equal(t, 200, code)
	assert.True(t, portOpen(p.Port(8280)) && portOpen(p.Port(8243)), "pass-through ports")
	assert.Contains(t, p.Log(), "Server           :  WSO2 API Manager")
}

func probeIS(t *testing.T, p *Pack) {
	code, _ := get(t, "https://127.0.0.1:"+itoa(p.Port(9443))+"/api/health-check/v1.0/health")
	assert.Equal(t, 200, code)
	assert.False(t, portOpen(p.Port(8280)), "IS has no pass-through port")
	if p.Name == "is-7.1" {
		assert.NotContains(t, p.Log(), "Mgt Console URL", "IS 7 kernels dropped that line")
	} else {
		assert.Contains(t, p.Log(), "Mgt Console URL")
	}
}

func probeMI(t *testing.T, p *Pack) {
	code, body := get(t, "http://127.0.0.1:"+itoa(p.Port(9191))+"/healthz")
	assert.Equal(t, 200, code)
	assert.JSONEq(t, `{"version":"4.3.0","update_level":"3","status":"ready"}`, body)
	code, body = get(t, "http://127.0.0.1:"+itoa(p.Port(9191))+"/liveness")
	assert.Equal(t, 200, code)
	assert.JSONEq(t, `{"server":"started"}`, body)
	assert.True(t, portOpen(p.Port(8280)) && portOpen(p.Port(8243)) && portOpen(p.Port(9154)))
	inv := p.Invocations()[0]
	assert.Equal(t, p.Home+"/repository/logs", inv.Properties["logfiles.home"])
	assert.Equal(t, "micro-integrator-default", inv.Properties["profile"])
}

// The JVM keeps the last -D: the script's fixed list beats JAVA_OPTS, and
// Carbon's Main makes -D script arguments beat both.
func TestPropertyPrecedence(t *testing.T) {
	t.Parallel()
	p := New(t, "apim-4.2", WithDelay(50*time.Millisecond))
	cmd := p.Command("start", "-Dhttpclient.hostnameVerifier=Strict", "-DworkerNode", "-Dsetup=false")
	cmd.Env = append(cmd.Env, "JAVA_OPTS=-Dhttpclient.hostnameVerifier=DefaultAndLocalhost -Dmy.opt=1 -Xss2m",
		"JVM_MEM_OPTS=-Xms64m -Xmx128m")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	p.WaitLog(t, "WSO2 Carbon started in", 10*time.Second)
	inv := p.Invocations()[0]
	assert.Equal(t, "AllowAll", inv.JVMProperties["httpclient.hostnameVerifier"], "fixed list comes after JAVA_OPTS")
	assert.Equal(t, "Strict", inv.Properties["httpclient.hostnameVerifier"], "script arguments win")
	assert.Equal(t, "true", inv.Properties["workerNode"], "a bare -Dkey argument means true")
	assert.Equal(t, "1", inv.Properties["my.opt"])
	assert.Contains(t, inv.JVMOptions, "-Xss2m")
	assert.Contains(t, inv.JVMOptions, "-Xms64m")
	assert.NotContains(t, inv.JVMOptions, "-Xms256m", "JVM_MEM_OPTS replaces the default")
	assert.Equal(t, "-Dhttpclient.hostnameVerifier=DefaultAndLocalhost -Dmy.opt=1 -Xss2m", inv.Env["JAVA_OPTS"])
	assert.Equal(t, []string{"-Dhttpclient.hostnameVerifier=Strict", "-DworkerNode", "-Dsetup=false"}, inv.ProgramArgs)
}

func TestStartRefusesWhenRunning(t *testing.T) {
	t.Parallel()
	p := New(t, "is-7.1", WithDelay(50*time.Millisecond))
	start(t, p)
	out, err := p.Command("start").CombinedOutput()
	require.NoError(t, err)
	assert.Contains(t, string(out), "Process is already running")
	time.Sleep(300 * time.Millisecond)
	assert.Len(t, p.Invocations(), 1, "no second JVM")
}

func TestRestartCommand(t *testing.T) {
	t.Parallel()
	p := New(t, "is-5.10", WithDelay(50*time.Millisecond))
	start(t, p)
	pid1, _ := p.PID()
	out, err := p.Command("restart").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.False(t, processAlive(pid1), "restart waits until the old JVM is gone")
	deadline := time.Now().Add(10 * time.Second)
	for len(p.Invocations()) < 2 || strings.Count(p.Log(), "WSO2 Carbon started in") < 2 {
		require.True(t, time.Now().Before(deadline), "second start; log:\n%s", p.Log())
		time.Sleep(20 * time.Millisecond)
	}
	pid2, alive := p.PID()
	assert.True(t, alive)
	assert.NotEqual(t, pid1, pid2)
}

// Run in the foreground: the loop relaunches the JVM on exit status 121.
// Like the stock scripts, the loop then ends with the shell's status of the
// last command in the loop body (an assignment), which is 0, whatever the
// JVM returned.
func TestForegroundRestartLoop(t *testing.T) {
	t.Parallel()
	p := New(t, "apim-4.2", WithBehaviour("restart-once"), WithDelay(50*time.Millisecond), WithCrashAfter(100*time.Millisecond))
	cmd := p.Command()
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(p.Log(), "WSO2 Carbon started in") < 2 {
		require.True(t, time.Now().Before(deadline), "relaunch; log:\n%s", p.Log())
		time.Sleep(20 * time.Millisecond)
	}
	assert.Contains(t, p.Log(), "Starting a new Carbon instance. Current instance will be shutdown")
	inv := p.Invocations()
	require.Len(t, inv, 2)
	assert.NotEqual(t, inv[0].PID, inv[1].PID)
	pid, _ := p.PID()
	require.NoError(t, syscall.Kill(pid, syscall.SIGTERM))
	select {
	case err := <-done:
		assert.NoError(t, err, "the stock loop exits 0 even though the JVM exited 143")
	case <-time.After(5 * time.Second):
		t.Fatal("foreground script did not end after the JVM was stopped")
	}
}

// `test` execs the JVM, so its exit status is the JVM's.
func TestTestCommandRelaysExitStatus(t *testing.T) {
	t.Parallel()
	p := New(t, "is-7.1", WithBehaviour("fail-config"))
	code, out := exitCode(t, p.Command("test"))
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "SEVERE: Error while performing configuration changes")
	assert.Contains(t, p.Log(), "Error while performing configuration changes")
}

func TestDebugReplacesJavaOpts(t *testing.T) {
	t.Parallel()
	p := New(t, "apim-4.2", WithBehaviour("fail-config"))
	cmd := p.Command("--debug", "5005")
	cmd.Env = append(cmd.Env, "JAVA_OPTS=-Dmine=1")
	_, out := exitCode(t, cmd)
	assert.Contains(t, out, "User specified JAVA_OPTS will be ignored")
	inv := p.Invocations()
	require.Len(t, inv, 1)
	assert.NotContains(t, inv[0].Properties, "mine")
	assert.Contains(t, inv[0].JVMOptions, "-Xrunjdwp:transport=dt_socket,server=y,suspend=y,address=5005")
	// The stock script drops --debug from $args but passes $* to Bootstrap.
	assert.Equal(t, []string{"--debug", "5005"}, inv[0].ProgramArgs)
}

func TestJavaHomeChecks(t *testing.T) {
	t.Parallel()
	p := New(t, "apim-4.2")
	strip := func(env []string) []string {
		var out []string
		for _, kv := range env {
			if !strings.HasPrefix(kv, "JAVA_HOME=") {
				out = append(out, kv)
			}
		}
		return out
	}
	cmd := p.Command("start")
	cmd.Env = append(strip(cmd.Env), "JAVA_HOME="+filepath.Join(p.Home, "nojdk"))
	code, out := exitCode(t, cmd)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "Error: JAVA_HOME is not defined correctly.")

	cmd = p.Command("start")
	cmd.Env = append(strip(cmd.Env), "JAVACMD="+filepath.Join(p.JavaHome, "bin", "java"))
	code, out = exitCode(t, cmd)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "You must set the JAVA_HOME variable before running CARBON.")
}

func TestJDKVersionCheck(t *testing.T) {
	t.Parallel()
	t.Run("carbon warns and starts", func(t *testing.T) {
		t.Parallel()
		p := New(t, "apim-4.2", WithJDK("21.0.7"), WithBehaviour("fail-config"))
		_, out := exitCode(t, p.Command())
		assert.Contains(t, out, "[ERROR] CARBON is supported only between JDK 11 and JDK 17")
		inv := p.Invocations()
		require.Len(t, inv, 1, "the JVM still ran")
		assert.Equal(t, "21.0.7", inv[0].JavaVersion)
	})
	t.Run("legacy on java 8 no warning", func(t *testing.T) {
		t.Parallel()
		p := New(t, "carbon-4.4", WithBehaviour("fail-config"))
		_, out := exitCode(t, p.Command())
		assert.NotContains(t, out, "unsupported JDK")
		inv := p.Invocations()
		require.Len(t, inv, 1)
		assert.Contains(t, inv[0].Properties, "java.endorsed.dirs")
	})
	t.Run("mi refuses quietly", func(t *testing.T) {
		t.Parallel()
		p := New(t, "mi-4.3", WithJDK("21.0.7"))
		code, out := exitCode(t, p.Command())
		assert.Equal(t, 0, code)
		assert.Contains(t, out, "WSO2 MI is supported only between JDK 11 and JDK 17")
		assert.Empty(t, p.Invocations(), "MI's script exits before the JVM")
	})
}

func TestStartWipesTmp(t *testing.T) {
	t.Parallel()
	p := New(t, "is-7.1", WithBehaviour("fail-config"))
	require.NoError(t, os.MkdirAll(filepath.Join(p.Home, "tmp", "work"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(p.Home, "tmp", "x"), []byte("x"), 0o644))
	exitCode(t, p.Command("test"))
	entries, err := os.ReadDir(filepath.Join(p.Home, "tmp"))
	require.NoError(t, err)
	assert.Empty(t, entries)
}

func TestMIEnvFileAndCar(t *testing.T) {
	t.Parallel()
	p := New(t, "mi-4.3", WithBehaviour("fail-config"))
	envFile := filepath.Join(t.TempDir(), "mi.env")
	require.NoError(t, os.WriteFile(envFile, []byte("# comment\nJAVA_OPTS=-Dfrom.env.file=yes\n"), 0o644))
	// The stock script takes the CApp name from $2, whatever --car's position.
	exitCode(t, p.Command("--car", "hello.car", "--env-file="+envFile))
	inv := p.Invocations()
	require.Len(t, inv, 1)
	assert.Equal(t, "yes", inv[0].Properties["from.env.file"])
	assert.Equal(t, "hello.car", inv[0].Properties["automation.mode.seq.car.name"])
}

func itoa(n int) string { return strconvItoa(n) }
