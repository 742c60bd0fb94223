package testpack

import (
	"archive/zip"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runJVM runs the pack in the foreground through `test`, which execs the JVM,
// so the process is the fake JVM itself and its exit status is visible.
func runJVM(p *Pack, args ...string) *exec.Cmd {
	return p.Command(append([]string{"test"}, args...)...)
}

func waitExit(t *testing.T, cmd *exec.Cmd, timeout time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			return 0
		}
		ee, ok := err.(*exec.ExitError)
		require.True(t, ok, "%v", err)
		return ee.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("%v still running after %v", cmd.Args, timeout)
		return -1
	}
}

func TestBehaviours(t *testing.T) {
	fast := []Option{WithDelay(50 * time.Millisecond), WithCrashAfter(150 * time.Millisecond), WithOSGiInterval(100 * time.Millisecond)}
	t.Run("fail-config", func(t *testing.T) {
		t.Parallel()
		p := New(t, "apim-4.2", append(fast, WithBehaviour("fail-config"))...)
		code, out := exitCode(t, runJVM(p))
		assert.Equal(t, 1, code)
		assert.Contains(t, out, "SEVERE: Error while performing configuration changes")
		assert.Contains(t, p.Log(), "Error while performing configuration changes")
		assert.NotContains(t, p.Log(), "WSO2 Carbon started in")
		_, alive := p.PID()
		assert.False(t, alive)
		assert.Equal(t, "FAKE_CARBON_BEHAVIOUR", p.Invocations()[0].BehaviourSource)
	})
	t.Run("invalid deployment.toml", func(t *testing.T) {
		t.Parallel()
		p := New(t, "is-7.1", fast...)
		f, err := os.OpenFile(filepath.Join(p.Home, "repository", "conf", "deployment.toml"), os.O_APPEND|os.O_WRONLY, 0)
		require.NoError(t, err)
		_, _ = f.WriteString("\n[broken\nkey = \n")
		f.Close()
		code, _ := exitCode(t, runJVM(p))
		assert.Equal(t, 1, code)
		assert.Contains(t, p.Log(), "SEVERE {org.wso2.carbon.server.Main} - Error while performing configuration changes")
		assert.Contains(t, p.Log(), "deployment.toml")
	})
	t.Run("invalid offset value", func(t *testing.T) {
		t.Parallel()
		p := New(t, "is-5.10", append(fast, WithStockConfig())...)
		path := filepath.Join(p.Home, "repository", "conf", "deployment.toml")
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(b), "[server]\n", "[server]\noffset = \"ten\"\n", 1)), 0o644))
		code, _ := exitCode(t, runJVM(p))
		assert.Equal(t, 1, code)
		assert.Contains(t, p.Log(), `[server] offset: not a number: "ten"`)
	})
	t.Run("hang-osgi", func(t *testing.T) {
		t.Parallel()
		p := New(t, "apim-4.2", append(fast, WithBehaviour("hang-osgi"))...)
		cmd := runJVM(p)
		require.NoError(t, cmd.Start())
		deadline := time.Now().Add(5 * time.Second)
		for strings.Count(p.Log(), "Waiting for required OSGi services: [") < 2 {
			require.True(t, time.Now().Before(deadline), "log:\n%s", p.Log())
			time.Sleep(20 * time.Millisecond)
		}
		assert.NotContains(t, p.Log(), "WSO2 Carbon started in")
		assert.False(t, portOpen(p.Port(9443)))
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		assert.Equal(t, 143, waitExit(t, cmd, 5*time.Second))
		assert.Contains(t, p.Log(), "Halting JVM")
	})
	t.Run("crash-after", func(t *testing.T) {
		t.Parallel()
		p := New(t, "apim-4.2", append(fast, WithBehaviour("crash-after"))...)
		code, _ := exitCode(t, runJVM(p))
		assert.Equal(t, 1, code)
		log := p.Log()
		assert.Contains(t, log, "WSO2 Carbon started in")
		assert.Contains(t, log, " FATAL {org.wso2.carbon.core.init.CarbonServerManager} - WSO2 API Manager-4.2.0 crashed")
		assert.Less(t, strings.Index(log, "WSO2 Carbon started in"), strings.Index(log, "FATAL"))
	})
	t.Run("oom", func(t *testing.T) {
		t.Parallel()
		p := New(t, "apim-4.2", append(fast, WithBehaviour("oom"))...)
		code, out := exitCode(t, runJVM(p))
		assert.Equal(t, 3, code)
		assert.Contains(t, p.Log(), "java.lang.OutOfMemoryError: Java heap space")
		assert.Contains(t, out, "Dumping heap to "+filepath.Join(p.Home, "repository", "logs", "heap-dump.hprof"))
		assert.FileExists(t, filepath.Join(p.Home, "repository", "logs", "heap-dump.hprof"))
	})
	t.Run("ignore-term", func(t *testing.T) {
		t.Parallel()
		p := New(t, "is-7.1", append(fast, WithBehaviour("ignore-term"))...)
		start(t, p)
		pid, _ := p.PID()
		out, err := p.Command("stop").CombinedOutput()
		require.NoError(t, err, string(out))
		p.WaitLog(t, "Gracefully shutting down", 5*time.Second)
		time.Sleep(300 * time.Millisecond)
		assert.True(t, processAlive(pid), "a stuck shutdown keeps the JVM alive")
		assert.NotContains(t, p.Log(), "Halting JVM")
		require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
		waitGone(t, pid, 5*time.Second)
	})
	t.Run("restart-once", func(t *testing.T) {
		t.Parallel()
		p := New(t, "apim-4.2", append(fast, WithBehaviour("restart-once"))...)
		code, _ := exitCode(t, runJVM(p))
		assert.Equal(t, 121, code)
		assert.Contains(t, p.Log(), "Starting a new Carbon instance. Current instance will be shutdown")
		// Only once per pack: the next boot stays up.
		cmd := runJVM(p)
		require.NoError(t, cmd.Start())
		deadline := time.Now().Add(5 * time.Second)
		for strings.Count(p.Log(), "WSO2 Carbon started in") < 2 {
			require.True(t, time.Now().Before(deadline))
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		assert.Equal(t, 143, waitExit(t, cmd, 5*time.Second))
	})
	t.Run("startup-failed", func(t *testing.T) {
		t.Parallel()
		p := New(t, "apim-4.2", append(fast, WithBehaviour("startup-failed"))...)
		cmd := runJVM(p)
		require.NoError(t, cmd.Start())
		p.WaitLog(t, " FATAL {org.wso2.carbon.core.init.CarbonServerManager} - WSO2 API Manager startup failed.", 5*time.Second)
		assert.True(t, processAlive(cmd.Process.Pid), "Carbon stays up after a failed start")
		assert.False(t, portOpen(p.Port(9443)))
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		assert.Equal(t, 143, waitExit(t, cmd, 5*time.Second))
	})
	t.Run("slow", func(t *testing.T) {
		t.Parallel()
		p := New(t, "is-7.1", WithBehaviour("slow"))
		cmd := runJVM(p)
		require.NoError(t, cmd.Start())
		// Wait for the start line rather than sleep a fixed second: under
		// load the script and the fake JVM take longer than that to begin.
		p.WaitLog(t, "Starting WSO2 Carbon...", 10*time.Second)
		assert.NotContains(t, p.Log(), "WSO2 Carbon started in", "slow takes 5s by default")
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		assert.Equal(t, 143, waitExit(t, cmd, 5*time.Second), "TERM during start-up")
	})
	t.Run("port in use", func(t *testing.T) {
		t.Parallel()
		p := New(t, "apim-4.2", fast...)
		ln, err := net.Listen("tcp", "127.0.0.1:"+itoa(p.Port(9443)))
		require.NoError(t, err)
		defer ln.Close()
		code, _ := exitCode(t, runJVM(p))
		assert.Equal(t, 1, code)
		assert.Contains(t, p.Log(), "java.net.BindException: Address already in use")
		assert.Contains(t, p.Log(), "Failed to initialize component [Connector[HTTP/1.1-"+itoa(p.Port(9443))+"]]")
		assert.False(t, portOpen(p.Port(8280)), "ports are all or nothing")
	})
	t.Run("unknown behaviour", func(t *testing.T) {
		t.Parallel()
		p := New(t, "apim-4.2", append(fast, WithBehaviour("explode"))...)
		code, out := exitCode(t, runJVM(p))
		assert.Equal(t, 1, code)
		assert.Contains(t, out, `unknown fake behaviour "explode"`)
	})
}

func writeMarkerJar(t *testing.T, path, props string) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	zw := zip.NewWriter(f)
	w, err := zw.Create("META-INF/fake-carbon.properties")
	require.NoError(t, err)
	_, err = w.Write([]byte(props))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
}

// A jar's marker sets the behaviour unless the environment or a -D option
// says otherwise (first wins: -D, env, jar).
func TestBehaviourSources(t *testing.T) {
	t.Parallel()
	p := New(t, "is-7.1", WithDelay(50*time.Millisecond))
	writeMarkerJar(t, filepath.Join(p.Home, "repository", "components", "plugins", "org.wso2.fake.broken_1.0.0.jar"), "# broken bundle\nbehaviour=fail-config\n")
	code, _ := exitCode(t, runJVM(p))
	assert.Equal(t, 1, code)
	inv := p.Invocations()
	require.Len(t, inv, 1)
	assert.Equal(t, "fail-config", inv[0].Behaviour)
	assert.Contains(t, inv[0].BehaviourSource, "jar:")

	cmd := runJVM(p)
	cmd.Env = append(cmd.Env, "FAKE_CARBON_BEHAVIOUR=crash-after", "FAKE_CARBON_CRASH_AFTER=50ms")
	code, _ = exitCode(t, cmd)
	assert.Equal(t, 1, code)
	assert.Equal(t, "crash-after", p.Invocations()[1].Behaviour)

	cmd = runJVM(p, "-Dfake.carbon.behaviour=oom", "-Dfake.carbon.crashAfter=50")
	cmd.Env = append(cmd.Env, "FAKE_CARBON_BEHAVIOUR=crash-after")
	code, _ = exitCode(t, cmd)
	assert.Equal(t, 3, code)
	assert.Equal(t, "-Dfake.carbon.behaviour", p.Invocations()[2].BehaviourSource)
}

// MI has no `test` command; run it in the foreground (the loop exits 0).
func TestBehaviourMarkerMI(t *testing.T) {
	t.Parallel()
	p := New(t, "mi-4.3", WithDelay(50*time.Millisecond))
	writeMarkerJar(t, filepath.Join(p.Home, "repository", "components", "plugins", "zz.fake_1.0.0.jar"), "behaviour=fail-config\n")
	code, _ := exitCode(t, p.Command())
	assert.Equal(t, 0, code)
	inv := p.Invocations()
	require.Len(t, inv, 1)
	assert.Equal(t, "fail-config", inv[0].Behaviour)
	assert.Contains(t, p.Log(), "Error while performing configuration changes")
}

func TestPortOffsetSources(t *testing.T) {
	t.Parallel()
	t.Run("-DportOffset wins over deployment.toml", func(t *testing.T) {
		t.Parallel()
		p := New(t, "is-7.1", WithDelay(50*time.Millisecond))
		other := New(t, "is-7.1") // only to reserve a second free offset
		start(t, p, "-DportOffset="+itoa(other.Offset))
		inv := p.Invocations()[0]
		assert.Equal(t, other.Offset, inv.Offset)
		assert.Equal(t, other.Port(9443), inv.Ports["https"])
		code, _ := get(t, "https://127.0.0.1:"+itoa(other.Port(9443))+"/api/health-check/v1.0/health")
		assert.Equal(t, 200, code)
	})
	t.Run("legacy carbon.xml", func(t *testing.T) {
		t.Parallel()
		p := New(t, "carbon-4.4", WithDelay(50*time.Millisecond))
		start(t, p)
		assert.Equal(t, p.Offset, p.Invocations()[0].Offset)
		code, body := get(t, "http://127.0.0.1:"+itoa(p.Port(9763))+"/services/Version")
		assert.Equal(t, 200, code)
		assert.Contains(t, body, "WSO2 API Manager-2.6.0")
	})
	t.Run("MI default offset 10", func(t *testing.T) {
		t.Parallel()
		p := New(t, "mi-4.3", WithStockConfig(), WithBehaviour("fail-config"))
		assert.Equal(t, 10, p.Offset)
		exitCode(t, runJVM(p))
		inv := p.Invocations()[0]
		assert.Equal(t, 10, inv.Offset)
		assert.Equal(t, 9201, inv.Ports["internal_http"])
		assert.Equal(t, 8290, inv.Ports["passthru_http"])
	})
}

func TestJavaLauncher(t *testing.T) {
	t.Parallel()
	p := New(t, "apim-4.7-gateway")
	java := filepath.Join(p.JavaHome, "bin", "java")
	out, err := exec.Command(java, "-version").CombinedOutput()
	require.NoError(t, err)
	assert.Contains(t, string(out), `openjdk version "21.0.7"`)

	cmd := exec.Command(java, "--bogus", "org.wso2.carbon.bootstrap.Bootstrap")
	code, o := exitCode(t, cmd)
	assert.Equal(t, 1, code)
	assert.Contains(t, o, "Unrecognized option: --bogus")
	assert.Contains(t, o, "Error: Could not create the Java Virtual Machine.")

	code, o = exitCode(t, exec.Command(java, "-cp", "x", "com.example.Main"))
	assert.Equal(t, 1, code)
	assert.Contains(t, o, "Could not find or load main class com.example.Main")
}
