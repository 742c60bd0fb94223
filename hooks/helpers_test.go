package hooks

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/internal/testpack"
	"github.com/carbonguard/carbonguard/wrapper"
)

// fixturePack copies testdata/packs/apim-4.2 (the module's fixture) into a
// temporary directory: a real pack that pack.Open reads.
func fixturePack(t *testing.T) string {
	t.Helper()
	home := filepath.Join(t.TempDir(), "wso2am-4.2.0")
	require.NoError(t, testpack.CopyTree(filepath.Join("..", "testdata", "packs", "apim-4.2"), home))
	scripts, _ := filepath.Glob(filepath.Join(home, "bin", "*.sh"))
	for _, s := range scripts {
		require.NoError(t, os.Chmod(s, 0o755))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(home, "repository", "logs"), 0o755))
	return home
}

// The fake u2s below are shell scripts that change the pack the way u2 does
// (docs-updates: jars replaced by renamed versions, update-level bumped,
// changelog written, conflicts as FILE.original/FILE.new) and exit with
// u2's codes.
const u2Prelude = `#!/bin/sh
set -e
H="$(cd "$(dirname "$0")/.." && pwd)"
P="$H/repository/components/plugins"
echo "$*" >> "$H/../u2-argv.log"
apply() {
  mkdir -p "$H/updates/logs"
  echo "Applied updates 12 -> 13" > "$H/updates/logs/update.log"
  mv "$P/org.wso2.carbon.core_4.8.1.jar" "$P/org.wso2.carbon.core_4.8.1.1.jar"
  echo "patched" >> "$P/org.wso2.carbon.core_4.8.1.1.jar"
  sed -i 's/"update-level": 12/"update-level": 13/' "$H/updates/config.json"
  printf '# Changelog 12 to 13\n' > "$H/updates/changelog-0012-0013.md"
}
`

var u2Scripts = map[string]string{
	"clean": u2Prelude + "apply\nexit 0\n",
	// broken-boot ships a jar the test server refuses to boot with.
	"broken-boot": u2Prelude + "apply\necho broken > \"$P/broken_1.0.0.jar\"\nexit 0\n",
	"fail-halfway": u2Prelude + `mkdir -p "$H/updates/logs"; echo "Applying update 13" > "$H/updates/logs/update.log"
mv "$P/org.wso2.carbon.core_4.8.1.jar" "$P/org.wso2.carbon.core_4.8.1.1.jar"
echo "Error: connection reset while downloading update 13" >&2
exit 1
`,
	"reverted": u2Prelude + "echo reverted\nexit 4\n",
	"weird":    u2Prelude + "exit 9\n",
	// self-update exits 2 on its first run (it replaced itself), then updates.
	"self-update": u2Prelude + `if [ ! -e "$H/../u2-updated-itself" ]; then touch "$H/../u2-updated-itself"; echo "updated the update tool; run again"; exit 2; fi
apply
exit 0
`,
	"always-self-update": u2Prelude + "exit 2\n",
	// conflict stops on deployment.toml; --continue merges FILE.final.
	"conflict": u2Prelude + `C="$H/repository/conf/deployment.toml"
case "$*" in
*--continue*)
  if [ ! -e "$C.final" ]; then echo "conflicts not resolved"; exit 1; fi
  mv "$C.final" "$C"; rm -f "$C.original" "$C.new"
  apply
  exit 0;;
esac
cp "$C" "$C.original"; cp "$C" "$C.new"; echo "# new level" >> "$C.new"
echo "Modified: [repository/conf/deployment.toml], Conflicts: [repository/conf/deployment.toml]"
exit 3
`,
	// slow sleeps while half-applied, for the crash tests.
	"slow": u2Prelude + `mv "$P/org.wso2.carbon.core_4.8.1.jar" "$P/org.wso2.carbon.core_4.8.1.1.jar"
echo $$ > "$H/../u2.pid"
sleep 30
apply
exit 0
`,
	"secrets": u2Prelude + `echo "logging in as $UPDATE_TOOL_USERNAME / $UPDATE_TOOL_PASSWORD"
apply
exit 0
`,
}

func installU2(t *testing.T, home, name string) {
	t.Helper()
	script, ok := u2Scripts[name]
	require.True(t, ok, name)
	require.NoError(t, os.WriteFile(filepath.Join(home, "bin", "wso2update_linux"), []byte(script), 0o755))
}

// fileServer is the Server double of the hooks tests. Its state lives in
// files beside the pack, so a helper process and the test see the same
// server. It boots "failed" when the pack holds a jar named broken_*, or
// when <pack>.fail-always exists; it writes a log line on every start as a
// real server would.
type fileServer struct{ home string }

func (s fileServer) marker() string { return s.home + ".running" }

func (s fileServer) Running(context.Context) (int, bool, error) {
	if _, err := os.Stat(s.marker()); err == nil {
		return 4242, true, nil
	}
	return 0, false, nil
}

func (s fileServer) Stop(context.Context) error {
	err := os.Remove(s.marker())
	if os.IsNotExist(err) {
		return nil
	}
	return err
}

func (s fileServer) Start(context.Context) (*wrapper.Verdict, error) {
	f, err := os.OpenFile(filepath.Join(s.home, "repository", "logs", "wso2carbon.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	broken, _ := filepath.Glob(filepath.Join(s.home, "repository", "components", "plugins", "broken_*"))
	_, alwaysFail := os.Stat(s.home + ".fail-always")
	if len(broken) > 0 || alwaysFail == nil {
		f.WriteString("ERROR {org.wso2.carbon.core.init.CarbonServerManager} - WSO2 Carbon startup failed.\n")
		return &wrapper.Verdict{State: wrapper.Failed, Reason: "startup failed"}, nil
	}
	f.WriteString("INFO {org.wso2.carbon.core.internal.StartupFinalizerServiceComponent} - WSO2 Carbon started in 3 sec\n")
	if err := os.WriteFile(s.marker(), nil, 0o644); err != nil {
		return nil, err
	}
	return &wrapper.Verdict{State: wrapper.Up, Reason: "started in 3 sec"}, nil
}

func testEnv(t *testing.T, home string) Env {
	t.Helper()
	env, err := envFor(home, filepath.Join(filepath.Dir(home), "state"))
	require.NoError(t, err)
	return env
}

func envFor(home, state string) (Env, error) {
	store, err := archive.OpenStore(filepath.Join(state, "snapshots"), zerolog.Nop())
	if err != nil {
		return Env{}, err
	}
	return Env{Home: home, StateDir: state, Store: store, Server: fileServer{home: home}, ToolVersion: "test"}, nil
}

func execCmd(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

// requireSameAs asserts that the live pack holds exactly what the snapshot
// holds, content, modes and links (modification times aside), except the
// paths the server itself writes when it boots: repository/logs (the boot's
// log lines; the failed boot's are kept in the failed directory).
func requireSameAs(t *testing.T, env Env, snapshot string) {
	t.Helper()
	d, err := env.Store.DiffLive(context.Background(), snapshot, env.Home)
	require.NoError(t, err)
	var diffs []string
	for _, list := range [][]archive.Change{d.Added, d.Removed, d.Changed} {
		for _, c := range list {
			if c.Path == "repository/logs" || strings.HasPrefix(c.Path, "repository/logs/") {
				continue
			}
			diffs = append(diffs, c.Path)
		}
	}
	require.Empty(t, diffs, "the pack differs from snapshot %s", snapshot)
}

// exec runs the pack's u2 the way an operator's script would.
func runOperatorU2(home string) error {
	cmd := exec.Command(filepath.Join(home, "bin", "wso2update_linux"))
	cmd.Dir = filepath.Join(home, "bin")
	return cmd.Run()
}
