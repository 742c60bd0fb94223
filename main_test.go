package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/internal/testpack"
)

var updateScripts = flag.Bool("update-scripts", false, "rewrite the txtar scripts' golden sections (cmp with -update)")

// TestMain lets the testscripts run the test binary as "carbonguard": each
// `carbonguard ...` line in testdata/script/*.txtar is a real child process
// that goes through main's run() and exit codes. This carbonguard, and only
// this one, pauses at the update step $CARBONGUARD_TEST_PAUSE_AT names
// (writing its PID to $CARBONGUARD_TEST_PAUSE_FILE) for a script to kill it
// there.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"carbonguard": func() {
			if at := os.Getenv("CARBONGUARD_TEST_PAUSE_AT"); at != "" {
				crashPoint = testpack.PauseAt(at, os.Getenv("CARBONGUARD_TEST_PAUSE_FILE"))
			}
			code := run(os.Args, os.Stdin, os.Stdout, os.Stderr)
			recordExit(os.Getenv("CARBONGUARD_TEST_EXIT_LOG"), os.Args, code)
			os.Exit(code)
		},
	})
}

// repoRoot is the module root: tests run in the package directory, which is it.
func repoRoot(t testing.TB) string {
	wd, err := os.Getwd()
	require.NoError(t, err)
	return wd
}

func TestScripts(t *testing.T) {
	root := repoRoot(t)
	// Every carbonguard the scripts run records its arguments and exit
	// code; once all have run, each code must be one its command declares.
	exitLog := filepath.Join(t.TempDir(), "exits.jsonl")
	t.Cleanup(func() { checkRecordedExits(t, exitLog) })
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		UpdateScripts:       *updateScripts,
		RequireExplicitExec: false,
		Setup: func(env *testscript.Env) error {
			env.Setenv("HOME", filepath.Join(env.WorkDir, "home"))
			env.Setenv("CARBONGUARD_STATE_DIR", filepath.Join(env.WorkDir, "state"))
			env.Setenv("PACKS", filepath.Join(root, "testdata", "packs"))
			env.Setenv("REPO", root)
			env.Setenv("CARBON_HOME", "")
			env.Setenv("CARBONGUARD_CONFIG", "")
			env.Setenv("CARBONGUARD_TEST_EXIT_LOG", exitLog)
			return setupScriptEnv(env, root)
		},
		Cmds:      scriptCmds(root),
		Condition: scriptCondition,
	})
}

// scriptCmds are the commands the txtar scripts may use beside carbonguard.
func scriptCmds(root string) map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	cmds := map[string]func(ts *testscript.TestScript, neg bool, args []string){
		// cppack NAME DEST copies the fixture pack testdata/packs/NAME to DEST.
		"cppack": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 2 {
				ts.Fatalf("usage: cppack NAME DEST")
			}
			ts.Check(testpack.CopyTree(filepath.Join(root, "testdata", "packs", args[0]), ts.MkAbs(args[1])))
		},
	}
	for k, v := range extraScriptCmds(root) {
		cmds[k] = v
	}
	return cmds
}

func TestSilentCodeErrorPrintsNothing(t *testing.T) {
	var buf bytes.Buffer
	assert.Equal(t, exitBootUnknown, exitCode(codeError{code: exitBootUnknown}, &buf))
	assert.Empty(t, buf.String())
	exitCode(usagef("--format %q: use text or json", "xml"), &buf)
	assert.Equal(t, "carbonguard: error: --format \"xml\": use text or json\n", buf.String())
}

func TestConfigRejectsUnknownKeysAndBadDurations(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, body, wantErr string
	}{
		{"ok", "[start]\ntimeout = \"5m\"\nstability = \"2d\"\n", ""},
		{"unknown key", "[start]\ntimout = \"5m\"\n", "unknown key(s) start.timout"},
		{"bad duration", "[start]\ntimeout = \"soon\"\n", "invalid duration \"soon\""},
		{"syntax", "[start]\ntimeout = \n", ".toml:2: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".toml")
			require.NoError(t, os.WriteFile(path, []byte(tt.body), 0o644))
			cfg, err := readConfig(path)
			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.Equal(t, path, cfg.path)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.Contains(t, err.Error(), path, "the message must name the file")
			assert.Equal(t, exitUsage, classify(err))
		})
	}
}

func TestStateDirMustBeOutsideThePack(t *testing.T) {
	home := t.TempDir()
	assert.True(t, inside(filepath.Join(home, "state"), home))
	assert.True(t, inside(home, home))
	assert.False(t, inside(filepath.Join(filepath.Dir(home), "elsewhere"), home))
	// A symlink out of the pack that leads back into it is still inside.
	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(home, link))
	assert.True(t, inside(filepath.Join(link, "not-yet", "state"), home))
}

// Thousands of nested tables are refused before the TOML parser, which took
// over 30 seconds on them, and a file too large to be a carbonguard.toml is
// refused unread.
func TestConfigBoundsNestingAndSize(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	name := []string{}
	for i := 0; i < 3000; i++ {
		if len(name) == 60 {
			name = name[:1]
		}
		name = append(name, fmt.Sprintf("n%d", i))
		b.WriteString("[" + strings.Join(name, ".") + "]\n")
	}
	nested := filepath.Join(dir, "nested.toml")
	require.NoError(t, os.WriteFile(nested, []byte(b.String()), 0o644))
	_, err := readConfig(nested)
	require.Error(t, err)
	assert.Contains(t, err.Error(), nested+":60: keys, tables or arrays nest 60 levels deep")
	assert.Equal(t, exitUsage, classify(err))

	for src, want := range map[string]string{
		"[start]\nx = " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\n": ":2: keys, tables or arrays nest 42 levels deep",
		"[start]\n" + strings.Repeat("a.", 30) + "b = 1\n":                         ":2: keys, tables or arrays nest 32 levels deep",
	} {
		p := filepath.Join(dir, "deep.toml")
		require.NoError(t, os.WriteFile(p, []byte(src), 0o644))
		_, err := readConfig(p)
		require.Error(t, err)
		assert.Contains(t, err.Error(), p+want)
	}

	big := filepath.Join(dir, "big.toml")
	require.NoError(t, os.WriteFile(big, []byte("# "+strings.Repeat("x", 2<<20)+"\n"), 0o644))
	_, err = readConfig(big)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "larger than")
}

// The scanner finds the lines of keys the way the file writes them.
func TestScanConfigLines(t *testing.T) {
	sc := scanConfig(`# comment
[start]
timeout = "5m"   # five minutes
properties = { "a.b" = "c" }
args = [
  "x",
]
[[start.health]]
url = "http://127.0.0.1:9763/"
[[start.health]]
"url" = "http://127.0.0.1:9764/"
[notify]
command = """
x = 1
"""
webhook = "http://example.com/"
`)
	assert.Equal(t, map[string]int{
		"start.timeout": 3, "start.properties": 4, "start.args": 5,
		"start.health.0.url": 9, "start.health.1.url": 11,
		"notify.command": 13, "notify.webhook": 16,
	}, sc.lines)
	assert.Equal(t, 4, sc.depth, "start.health.1.url")
}
