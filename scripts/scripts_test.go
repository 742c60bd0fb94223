// Package scripts_test runs the shell entry points in scripts/ for real, so
// that go test ./... covers them: install.sh and the drop-in scripts
// (through test-install.sh), the release build, and the bash and zsh
// completions.
package scripts_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func repoRoot(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	require.True(t, ok)
	return filepath.Dir(filepath.Dir(file))
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// binaries builds carbonguard and mkpack once for the package's tests.
func binaries(t *testing.T) (carbonguard, mkpack string) {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "carbonguard-scripts-test-")
		if buildErr != nil {
			return
		}
		root := repoRoot(t)
		for name, pkg := range map[string]string{"carbonguard": ".", "mkpack": "./internal/mkpack"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(buildDir, name), pkg)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = &buildError{pkg, err, out}
				return
			}
		}
	})
	require.NoError(t, buildErr)
	return filepath.Join(buildDir, "carbonguard"), filepath.Join(buildDir, "mkpack")
}

type buildError struct {
	pkg string
	err error
	out []byte
}

func (e *buildError) Error() string {
	return "go build " + e.pkg + ": " + e.err.Error() + "\n" + string(e.out)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func bash(t *testing.T, timeout time.Duration, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", args...)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestInstall runs scripts/test-install.sh: install, idempotence, dry runs,
// uninstall restoring byte for byte, and the drop-ins against a real fake
// server (see the script's header).
func TestInstall(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts servers and runs updates; skipped with -short")
	}
	cg, mk := binaries(t)
	out, err := bash(t, 5*time.Minute, []string{"CARBONGUARD_BINARY=" + cg, "MKPACK=" + mk, "TMPDIR=" + t.TempDir()},
		"scripts/test-install.sh")
	t.Log(out)
	require.NoError(t, err, "scripts/test-install.sh failed")
	want := 15
	if os.Geteuid() == 0 {
		want++ // the rehearsal through the unit: its copy boots in a network namespace
	} else if os.Getenv("CI") != "" {
		t.Fatal("CI must run the tests as root: the rehearsal through the unit needs a network namespace")
	}
	assert.Contains(t, out, fmt.Sprintf("test-install: all %d passed", want))
}

// TestDemo runs the README's first command, scripts/demo.sh, to its end:
// check findings, a gated then forced start, an update that breaks the boot,
// the automatic rollback, and the old level running (then --cleanup).
func TestDemo(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the whole demo; skipped with -short")
	}
	dir := filepath.Join(t.TempDir(), "demo")
	out, err := bash(t, 5*time.Minute, nil, "scripts/demo.sh", "--dir", dir, "--cleanup")
	t.Log(out)
	require.NoError(t, err, "scripts/demo.sh failed")
	for _, want := range []string{
		"$ carbonguard check --fail-on high", "finding(s) at or above high",
		"refusing to start", "boot verdict: UP",
		"$ carbonguard --log-format console update --stop-server --start",
		"rolled back: the first boot failed, the pre-update pack is back and up", "[exit 32, as expected]",
		`"update-level": 12`, "Done: rolled back to update level 12, server up",
	} {
		assert.Contains(t, out, want)
	}
	assert.NoDirExists(t, dir, "--cleanup removes the sandbox")
}

// TestCompletionBash loads "carbonguard completion bash" into bash and asks
// it for candidates the way readline does.
func TestCompletionBash(t *testing.T) {
	t.Parallel()
	cg, _ := binaries(t)
	script := `
set -u
source <(carbonguard completion bash)
complete -p carbonguard
t() { COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=(); _carbonguard_complete; echo "[$*] ${COMPREPLY[*]}"; }
t carbonguard snap
t carbonguard --home /opt/wso2am-4.2.0 upd
t carbonguard update --sto
t carbonguard snapshot ""
t carbonguard check --format ""
t carbonguard --log-level w
`
	out, err := bash(t, time.Minute, []string{"PATH=" + filepath.Dir(cg) + ":" + os.Getenv("PATH")}, "-c", script)
	require.NoError(t, err, out)
	assert.Contains(t, out, "complete -o bashdefault -o default -F _carbonguard_complete carbonguard")
	assert.Contains(t, out, "[carbonguard snap] snapshot\n")
	assert.Contains(t, out, "[carbonguard --home /opt/wso2am-4.2.0 upd] update\n")
	assert.Contains(t, out, "[carbonguard update --sto] --stop-server\n")
	assert.Contains(t, out, "[carbonguard check --format ] text json sarif\n", "enumerated flag values")
	assert.Contains(t, out, "[carbonguard --log-level w] warn\n")
	line := lineWith(out, "[carbonguard snapshot ]")
	for _, sub := range []string{"create", "list", "verify", "restore", "prune"} {
		assert.Contains(t, strings.Fields(line), sub, "snapshot subcommands: %s", line)
	}
}

// TestCompletionZsh loads "carbonguard completion zsh" into zsh: under the
// real compinit (compdef registers it), with _describe and _files stubbed to
// show what the script asks carbonguard and offers, and in an interactive
// zsh on a pseudo-terminal (zpty) where TAB completes the line.
func TestCompletionZsh(t *testing.T) {
	t.Parallel()
	zsh, err := exec.LookPath("zsh")
	require.NoError(t, err, "zsh is needed for this test (Debian: apt-get install zsh; .ci/run installs it)")
	cg, _ := binaries(t)
	out := filepath.Join(t.TempDir(), "buffers")
	script := `
autoload -Uz compinit && compinit -u -D || exit 1
source <(carbonguard completion zsh) || exit 1
print -r -- "compdef: ${_comps[carbonguard]}"

(
  _describe() { print -r -- "offers: ${(j: :)${(P)2}}" }
  _files() { print -r -- "files" }
  t() { local -a words; words=("$@"); local CURRENT=${#words}; print -rn -- "[$*] "; _carbonguard }
  t carbonguard snap
  t carbonguard --home /opt/wso2am-4.2.0 upd
  t carbonguard snapshot ''
  t carbonguard check --format ''
  t carbonguard --log-level w
  t carbonguard snapshot create --exclude ''
)

zmodload zsh/zpty || exit 1
zpty z 'TERM=xterm zsh -f -i'
zpty -w z 'autoload -Uz compinit; compinit -u -D; source <(carbonguard completion zsh)'
zpty -w z 'dump() { print -r -- "<$BUFFER>" >> $OUT; BUFFER=""; }; zle -N dump; bindkey "^T" dump'
zpty -w -n z $'carbonguard snap	'
zpty -w -n z $'carbonguard update --sto	'
zpty -w -n z $'carbonguard check --format s	'
zpty -w -n z $'carbonguard snapshot pr	'
for i in {1..100}; do [[ -f $OUT && $(wc -l < $OUT) -ge 4 ]] && break; sleep 0.1; done
zpty -d z
cat $OUT
`
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, zsh, "-f", "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(cg)+":"+os.Getenv("PATH"), "OUT="+out)
	cmd.WaitDelay = 5 * time.Second
	b, err := cmd.CombinedOutput()
	got := string(b)
	require.NoError(t, err, got)
	assert.Contains(t, got, "compdef: _carbonguard\n")
	assert.Contains(t, got, "[carbonguard snap] offers: snapshot\n")
	assert.Contains(t, got, "[carbonguard --home /opt/wso2am-4.2.0 upd] offers: update\n")
	assert.Contains(t, got, "[carbonguard check --format ] offers: text json sarif\n", "enumerated flag values")
	assert.Contains(t, got, "[carbonguard --log-level w] offers: warn\n")
	assert.Contains(t, got, "[carbonguard snapshot create --exclude ] files\n", "a free value: file names")
	line := lineWith(got, "[carbonguard snapshot ]")
	for _, sub := range []string{"create", "list", "verify", "restore", "prune"} {
		assert.Contains(t, strings.Fields(line), sub, "snapshot subcommands: %s", line)
	}
	// TAB in a real zsh line editor.
	for _, want := range []string{
		"<carbonguard snapshot >", "<carbonguard update --stop-server >",
		"<carbonguard check --format sarif >", "<carbonguard snapshot prune >",
	} {
		assert.Contains(t, got, want+"\n")
	}
}

func lineWith(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// TestRelease builds a release binary for this platform and checks that it
// is static, stripped of paths, stamped, and listed in SHA256SUMS.
func TestRelease(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("a full static build; skipped with -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("release.sh builds linux binaries and runs the host one")
	}
	out := t.TempDir()
	platform := runtime.GOOS + "/" + runtime.GOARCH
	// Packages (nfpm) are scripts/test-package.sh's, which CI runs as root.
	log, err := bash(t, 5*time.Minute, nil, "scripts/release.sh", "--version", "1.2.3-test", "--out", out, "--platforms", platform, "--no-packages")
	require.NoError(t, err, log)
	bin := filepath.Join(out, "carbonguard-1.2.3-test-"+runtime.GOOS+"-"+runtime.GOARCH)
	got, err := exec.Command(bin, "version").Output()
	require.NoError(t, err)
	assert.Equal(t, "carbonguard 1.2.3-test\n", string(got))
	sums, err := os.ReadFile(filepath.Join(out, "SHA256SUMS"))
	require.NoError(t, err)
	assert.Contains(t, string(sums), "  "+filepath.Base(bin)+"\n")
	data, err := os.ReadFile(bin)
	require.NoError(t, err)
	assert.NotContains(t, string(data), repoRoot(t), "-trimpath: the build machine's paths must not be in the binary")

	_, err = exec.Command("bash", filepath.Join(repoRoot(t), "scripts", "release.sh"), "--version", "bad version").CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 2, ee.ExitCode())
}

// TestShellcheck keeps the scripts shellcheck-clean where shellcheck is
// installed (Debian: apt-get install shellcheck).
func TestShellcheck(t *testing.T) {
	t.Parallel()
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("shellcheck is not installed")
	}
	var scripts []string
	for _, s := range []string{"install.sh", "test-install.sh", "carbonguard-server.sh", "carbonguard-update.sh",
		"demo.sh", "release.sh", "test-package.sh", "ansible/test.sh", "ansible/test-drill.sh"} {
		scripts = append(scripts, filepath.Join(repoRoot(t), "scripts", s))
	}
	out, err := exec.Command(sc, append([]string{"--severity=style"}, scripts...)...).CombinedOutput()
	assert.NoError(t, err, "shellcheck:\n%s", out)
}

// TestDrillUnits: the example drill units (scripts/systemd) pass
// systemd-analyze verify where systemd-analyze is installed, with the
// binary path pointed at an executable and the unit names install uses.
func TestDrillUnits(t *testing.T) {
	t.Parallel()
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	carbonguard, _ := binaries(t)
	dir := t.TempDir()
	var units []string
	for _, u := range []string{"carbonguard-drill.service", "carbonguard-drill.timer"} {
		data, err := os.ReadFile(filepath.Join(repoRoot(t), "scripts", "systemd", u))
		require.NoError(t, err)
		text := strings.ReplaceAll(string(data), "/usr/local/bin/carbonguard", carbonguard)
		assert.Contains(t, text, " drill")
		name := strings.Replace(u, "carbonguard-drill", "carbonguard-drill-wso2am-4.2.0", 1)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
		units = append(units, filepath.Join(dir, name))
	}
	out, err := exec.Command(sa, append([]string{"verify"}, units...)...).CombinedOutput()
	assert.NoError(t, err, "systemd-analyze verify:\n%s", out)
}
