package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/internal/testpack"
)

// startScriptCmds are the txtar commands of the start_* scripts.
func startScriptCmds(root string) map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		// fakepack NAME DIR materialises the fixture pack NAME at DIR with a
		// fake JDK whose java is the fake Carbon server, and sets JAVA_HOME
		// and OFFSET (a port offset whose ports are free, held for the
		// script). Every process of the pack is killed when the script ends.
		"fakepack": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 2 {
				ts.Fatalf("usage: fakepack NAME DIR")
			}
			bins := testpack.Fakes(scriptTB{ts: ts})
			home := ts.MkAbs(args[1])
			ts.Check(testpack.CopyTree(filepath.Join(root, "testdata", "packs", args[0]), home))
			scripts, _ := filepath.Glob(filepath.Join(home, "bin", "*.sh"))
			for _, s := range scripts {
				ts.Check(os.Chmod(s, 0o755))
			}
			jdk := ts.MkAbs("jdk-" + filepath.Base(home))
			ts.Check(os.MkdirAll(filepath.Join(jdk, "bin"), 0o755))
			data, err := os.ReadFile(bins.JVM)
			ts.Check(err)
			ts.Check(os.WriteFile(filepath.Join(jdk, "bin", "java"), data, 0o755))
			ts.Check(os.WriteFile(filepath.Join(jdk, "release"), []byte("IMPLEMENTOR=\"Eclipse Adoptium\"\nJAVA_VERSION=\"17.0.15\"\n"), 0o644))
			ts.Setenv("JAVA_HOME", jdk)
			off, release := lockScriptOffset(ts)
			ts.Setenv("OFFSET", strconv.Itoa(off))
			ts.Defer(func() {
				killUnder(home)
				release()
			})
		},
	}
}

// scriptTB lets testpack.Fakes, which needs only Helper and Fatalf, fail a
// script instead of a test.
type scriptTB struct {
	testing.TB
	ts *testscript.TestScript
}

func (s scriptTB) Helper()                           {}
func (s scriptTB) Fatalf(format string, args ...any) { s.ts.Fatalf(format, args...) }

// lockScriptOffset picks a port offset the way internal/testpack does, with
// the same lock files, so scripts and package tests never share ports.
func lockScriptOffset(ts *testscript.TestScript) (int, func()) {
	dir := filepath.Join(os.TempDir(), "carbonguard-testpack-ports")
	ts.Check(os.MkdirAll(dir, 0o777))
	for attempt := 0; attempt < 200; attempt++ {
		off := 100 + rand.IntN(22000-100)
		var files []*os.File
		release := func() {
			for _, f := range files {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}
		}
		ok := true
		for _, base := range []int{9443, 9763, 8280, 8243, 9154, 9191} {
			f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("%d.lock", base+off)), os.O_CREATE|os.O_RDWR, 0o666)
			if err != nil {
				ok = false
				break
			}
			if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
				f.Close()
				ok = false
				break
			}
			files = append(files, f)
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+off))
			if err != nil {
				ok = false
				break
			}
			ln.Close()
		}
		if ok {
			return off, release
		}
		release()
	}
	ts.Fatalf("no free port offset")
	return 0, nil
}

// killUnder kills every process whose command line names dir.
func killUnder(dir string) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(dir)) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// TestStartRefusesRootCLI: as root (CI), start and run refuse without
// --allow-root (exit 6) and launch nothing; a configured run-as user that is
// root is still root.
func TestStartRefusesRootCLI(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the refusal is for root")
	}
	tp := testpack.New(t, "apim-4.2")
	t.Setenv("JAVA_HOME", tp.JavaHome)
	t.Setenv("CARBONGUARD_STATE_DIR", filepath.Join(t.TempDir(), "state"))
	t.Setenv("CARBONGUARD_CONFIG", "")
	cfg := filepath.Join(t.TempDir(), "run-as-root.toml")
	require.NoError(t, os.WriteFile(cfg, []byte("[start]\nuser = \"root\"\n"), 0o644))
	for _, args := range [][]string{
		{"start"}, {"run"}, {"--config", cfg, "start"},
	} {
		var stdout, stderr bytes.Buffer
		argv := append([]string{"carbonguard", "--home", tp.Home}, args...)
		argv = append(argv, "--force", "--force-reason", "test")
		code := run(argv, strings.NewReader(""), &stdout, &stderr)
		assert.Equal(t, exitRoot, code, "%v: %s", args, stderr.String())
		assert.Contains(t, stderr.String(), "refusing to start the server as root")
		assert.Contains(t, stderr.String(), "--allow-root")
	}
	assert.Empty(t, tp.Invocations(), "nothing was launched")
	assert.NoFileExists(t, filepath.Join(tp.Home, "wso2carbon.pid"))
}

// start passes -DportOffset, which wins over [server] offset; a file offset
// of a wrong type is still refused (exit 2), as check and pack refuse it,
// and nothing is launched.
func TestStartRefusesAWrongTypeOfOffsetUnderDPortOffset(t *testing.T) {
	tp := testpack.New(t, "apim-4.2", testpack.WithStockConfig())
	conf := filepath.Join(tp.Home, "repository", "conf", "deployment.toml")
	data, err := os.ReadFile(conf)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(conf, []byte(strings.Replace(string(data), "#offset=0", `offset = "abc"`, 1)), 0o644))
	t.Setenv("JAVA_HOME", tp.JavaHome)
	t.Setenv("CARBONGUARD_STATE_DIR", filepath.Join(t.TempDir(), "state"))
	t.Setenv("CARBONGUARD_CONFIG", "")
	for _, args := range [][]string{
		{"start", "-D", "portOffset=" + strconv.Itoa(tp.Offset), "--force", "--force-reason", "test", "--allow-root"},
		{"check", "-D", "portOffset=" + strconv.Itoa(tp.Offset)},
		{"pack", "-D", "portOffset=" + strconv.Itoa(tp.Offset)},
	} {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"carbonguard", "--home", tp.Home}, args...), strings.NewReader(""), &stdout, &stderr)
		assert.Equal(t, exitUsage, code, "%v: %s", args, stderr.String())
		assert.Contains(t, stderr.String(), `repository/conf/deployment.toml:3: [server] offset = "abc" is not a whole number`, args)
	}
	assert.Empty(t, tp.Invocations(), "nothing was launched")
}

// The server never gets carbonguard's own secrets: /proc/<pid>/environ of
// the started JVM and of the script's shell hold none of the u2 account,
// the repository's or the databases' passwords, while every other variable
// passes through (deployment.toml reads $env{...}).
func TestServerEnvironmentHoldsNoCarbonguardSecret(t *testing.T) {
	tp := testpack.New(t, "apim-4.2")
	t.Setenv("JAVA_HOME", tp.JavaHome)
	t.Setenv("CARBONGUARD_STATE_DIR", filepath.Join(t.TempDir(), "state"))
	t.Setenv("CARBONGUARD_CONFIG", "")
	secretsEnv := map[string]string{
		"UPDATE_TOOL_USERNAME": "ops@example.com", "UPDATE_TOOL_PASSWORD": "u2-s3cret",
		"RESTIC_PASSWORD": "restic-s3cret", "RESTIC_REPOSITORY": "rest:https://u:p@backup/", "PGPASSWORD": "pg-s3cret", "MYSQL_PWD": "my-s3cret",
	}
	for k, v := range secretsEnv {
		t.Setenv(k, v)
	}
	t.Setenv("APIM_DB_PASSWORD", "read-by-deployment-toml") // the operator's own: passes
	var stdout, stderr bytes.Buffer
	code := run([]string{"carbonguard", "--home", tp.Home, "start", "--force", "--force-reason", "test", "--allow-root", "--stability", "300ms", "--format", "json"},
		strings.NewReader(""), &stdout, &stderr)
	require.Equal(t, exitOK, code, "%s", stderr.String())
	defer run([]string{"carbonguard", "--home", tp.Home, "stop"}, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	var v struct {
		PID       int `json:"pid"`
		ScriptPID int `json:"script_pid"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &v))
	require.NotZero(t, v.PID)
	require.NotZero(t, v.ScriptPID)
	for what, pid := range map[string]int{"the JVM": v.PID, "the script's shell": v.ScriptPID} {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		require.NoError(t, err, what)
		env := string(raw)
		for k, val := range secretsEnv {
			assert.NotContains(t, env, k+"=", "%s has %s", what, k)
			assert.NotContains(t, env, val, "%s holds the value of %s", what, k)
		}
		assert.Contains(t, env, "APIM_DB_PASSWORD=read-by-deployment-toml\x00", "%s gets the operator's own variables", what)
	}
}
