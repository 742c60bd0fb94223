package testpack

import (
	"archive/zip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	coreOld = "repository/components/plugins/org.wso2.carbon.core_4.8.1.jar"
	coreNew = "repository/components/plugins/org.wso2.carbon.core_4.8.1.1.jar"
	modTmpl = "Modified: {{.Modified}}, Conflicts: {{.Conflicts}}"
)

func u2Pack(t *testing.T, server string, opts ...Option) *Pack {
	t.Helper()
	return New(t, "apim-4.2", append([]Option{WithU2Server(server),
		WithEnv("UPDATE_TOOL_USERNAME=ops@example.com", "UPDATE_TOOL_PASSWORD=pw")}, opts...)...)
}

// The merge inputs of level 13 were copied from the fixture; if the fixture
// changes, they must be copied again or the "user edit" detection lies.
func TestU2MergeOriginalsMatchFixture(t *testing.T) {
	root := ModuleRoot()
	want, err := os.ReadFile(filepath.Join(root, "testdata/packs/apim-4.2/repository/conf/deployment.toml"))
	require.NoError(t, err)
	originals, err := filepath.Glob(filepath.Join(root, "testdata/u2/*/wso2am-4.2.0/13/merge/deployment.toml.original"))
	require.NoError(t, err)
	require.NotEmpty(t, originals)
	for _, o := range originals {
		got, err := os.ReadFile(o)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "%s: copy testdata/packs/apim-4.2/repository/conf/deployment.toml here (and into the matching .new with the level's change)", o)
	}
}

func TestU2CleanUpdate(t *testing.T) {
	t.Parallel()
	p := u2Pack(t, "clean")
	code, out := exitCode(t, p.U2("--template", modTmpl, "--backup", filepath.Join(t.TempDir(), "bk")))
	require.Equal(t, 0, code, out)
	assert.Equal(t, 13, p.UpdateLevel(t))
	assert.NoFileExists(t, filepath.Join(p.Home, coreOld))
	assert.FileExists(t, filepath.Join(p.Home, coreNew))
	jar := filepath.Join(p.Home, "repository/components/dropins/org.wso2.carbon.apimgt.fix_9.28.116.13.jar")
	zr, err := zip.OpenReader(jar)
	require.NoError(t, err, "the generated jar is a real zip")
	zr.Close()
	assert.Contains(t, out, "Modified: [repository/conf/deployment.toml], Conflicts: []")

	// The offset line testpack wrote and the update's appended block both survive: a three-way merge.
	toml, _ := os.ReadFile(filepath.Join(p.Home, "repository/conf/deployment.toml"))
	assert.Contains(t, string(toml), "offset = "+itoa(p.Offset))
	assert.Contains(t, string(toml), "# Added by update level 13")

	cl, err := os.ReadFile(filepath.Join(p.Home, "updates/changelog-0012-0013.md"))
	require.NoError(t, err)
	assert.Contains(t, string(cl), "- "+coreNew)
	assert.Contains(t, string(cl), "- "+coreOld)
	logs, _ := filepath.Glob(filepath.Join(p.Home, "updates/logs/*"))
	require.NotEmpty(t, logs)
	lb, _ := os.ReadFile(logs[0])
	assert.Contains(t, string(lb), "Applied updates")

	cfg, _ := os.ReadFile(filepath.Join(p.Home, "updates/config.json"))
	assert.Contains(t, string(cfg), `"update-level": 13`, "number stays a number")
	assert.Contains(t, string(cfg), `"backup-dir"`, "--backup is remembered")

	inv := p.U2Invocations()
	require.Len(t, inv, 1)
	assert.Equal(t, "env", inv[0].CredentialSource)
	assert.Equal(t, 12, *inv[0].FromLevel)
	assert.Equal(t, 13, *inv[0].ToLevel)

	// Nothing left: a second run is a no-op.
	code, out = exitCode(t, p.U2())
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "already at the latest update level 13")
}

func TestU2StringLevelAndOtherProducts(t *testing.T) {
	t.Parallel()
	p := New(t, "mi-4.3", WithU2Server("clean"), WithEnv("UPDATE_TOOL_USERNAME=u", "UPDATE_TOOL_PASSWORD=p"))
	code, out := exitCode(t, p.U2("--no-backup"))
	require.Equal(t, 0, code, out)
	cfg, _ := os.ReadFile(filepath.Join(p.Home, "updates/config.json"))
	assert.Contains(t, string(cfg), `"update-level": "4"`, "a string level stays a string")
	assert.FileExists(t, filepath.Join(p.Home, "repository/components/plugins/org.wso2.micro.integrator.core_4.3.0.1.jar"))
	assert.NoDirExists(t, filepath.Join(p.UserHome, ".wso2-updates", "backup"), "--no-backup")
}

func TestU2SelfUpdate(t *testing.T) {
	t.Parallel()
	p := u2Pack(t, "self-update")
	bin := filepath.Join(p.Home, "bin", "wso2update_linux")
	before, err := os.Stat(bin)
	require.NoError(t, err)
	time.Sleep(10 * time.Millisecond)
	code, out := exitCode(t, p.U2("--no-backup"))
	require.Equal(t, 2, code, out)
	assert.Equal(t, 12, p.UpdateLevel(t), "nothing applied yet")
	after, err := os.Stat(bin)
	require.NoError(t, err)
	assert.False(t, os.SameFile(before, after), "the binary was replaced")
	_, out = exitCode(t, p.U2("version"))
	assert.Contains(t, out, "1.5.0")
	code, out = exitCode(t, p.U2("--no-backup"))
	require.Equal(t, 0, code, out)
	assert.Equal(t, 13, p.UpdateLevel(t))
}

func TestU2Conflict(t *testing.T) {
	t.Parallel()
	p := u2Pack(t, "conflict")
	conf := filepath.Join(p.Home, "repository/conf/deployment.toml")
	code, out := exitCode(t, p.U2("--template", modTmpl))
	require.Equal(t, 3, code, out)
	assert.Contains(t, out, "Conflicts: [repository/conf/deployment.toml]")
	assert.Equal(t, 12, p.UpdateLevel(t), "level waits for --continue")
	assert.FileExists(t, conf+".original")
	assert.FileExists(t, conf+".new")
	mine, _ := os.ReadFile(conf)
	assert.Contains(t, string(mine), "offset = "+itoa(p.Offset), "the user's file is kept")
	assert.FileExists(t, filepath.Join(p.Home, coreNew), "non-conflicting changes are applied")

	// A plain re-run refuses; --continue without .final fails.
	code, out = exitCode(t, p.U2())
	assert.Equal(t, 1, code, out)
	code, out = exitCode(t, p.U2("--continue"))
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "deployment.toml.final")

	require.NoError(t, os.WriteFile(conf+".final", mine, 0o644))
	code, out = exitCode(t, p.U2("--continue", "--template", modTmpl))
	require.Equal(t, 0, code, out)
	assert.Equal(t, 13, p.UpdateLevel(t))
	for _, ext := range []string{".original", ".new", ".final"} {
		assert.NoFileExists(t, conf+ext)
	}
	assert.FileExists(t, filepath.Join(p.Home, "updates/changelog-0012-0013.md"), "changelog written after --continue")
}

func TestU2FailHalfway(t *testing.T) {
	t.Parallel()
	p := u2Pack(t, "fail-halfway")
	code, out := exitCode(t, p.U2())
	require.Equal(t, 1, code, out)
	assert.Equal(t, 12, p.UpdateLevel(t))
	assert.FileExists(t, filepath.Join(p.Home, coreNew), "first half applied")
	assert.NoFileExists(t, filepath.Join(p.Home, "repository/resources/security/update-13-notes.txt"), "second half not applied")
	// The backup taken before the run brings the pack back.
	code, out = exitCode(t, p.U2("--revert"))
	require.Equal(t, 0, code, out)
	assert.FileExists(t, filepath.Join(p.Home, coreOld))
	assert.NoFileExists(t, filepath.Join(p.Home, coreNew))
	code, out = exitCode(t, p.U2("--revert"))
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "Unable to revert as backups could not be found")
}

func TestU2Reverted(t *testing.T) {
	t.Parallel()
	p := u2Pack(t, "reverted")
	code, out := exitCode(t, p.U2("--no-backup"))
	require.Equal(t, 4, code, out)
	assert.Equal(t, 12, p.UpdateLevel(t))
	assert.FileExists(t, filepath.Join(p.Home, coreOld), "rolled back")
	assert.NoFileExists(t, filepath.Join(p.Home, coreNew))
	assert.Empty(t, mustGlob(t, filepath.Join(p.UserHome, ".wso2-updates", ".fake-u2-run-*")), "temporary rollback copy removed")
}

func TestU2BrokenBoot(t *testing.T) {
	t.Parallel()
	p := u2Pack(t, "broken-boot", WithDelay(50*time.Millisecond))
	code, out := exitCode(t, p.U2("--no-backup"))
	require.Equal(t, 0, code, out)
	assert.Equal(t, 14, p.UpdateLevel(t))
	assert.FileExists(t, filepath.Join(p.Home, "updates/changelog-0012-0014.md"))
	code, _ = exitCode(t, p.Command("test"))
	assert.Equal(t, 1, code, "the shipped jar breaks the next boot")
	assert.Contains(t, p.Log(), "Error while performing configuration changes")
	assert.Contains(t, p.Invocations()[0].BehaviourSource, "org.wso2.fake.broken_1.0.14.jar")
}

func TestU2Level(t *testing.T) {
	t.Parallel()
	p := u2Pack(t, "broken-boot")
	code, out := exitCode(t, p.U2("--no-backup", "--level", "4.2.0.13"))
	require.Equal(t, 0, code, out)
	assert.Equal(t, 13, p.UpdateLevel(t))
	code, out = exitCode(t, p.U2("--level", "4.7.0.14"))
	assert.Equal(t, 1, code, out)
	code, out = exitCode(t, p.U2("check"))
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "4.2.0.14")
	assert.NotContains(t, out, "4.2.0.13 ")
}

func TestU2Credentials(t *testing.T) {
	t.Parallel()
	p := New(t, "apim-4.2", WithU2Server("auth"))
	code, out := exitCode(t, p.U2("check", "--username", "ops@example.com", "--password", "s3cr$t-pass"))
	assert.Equal(t, 0, code, out)
	cmd := p.U2("check")
	cmd.Env = append(cmd.Env, "UPDATE_TOOL_USERNAME=ops@example.com", "UPDATE_TOOL_PASSWORD=s3cr$t-pass")
	code, out = exitCode(t, cmd)
	assert.Equal(t, 0, code, out)
	code, out = exitCode(t, p.U2("check", "-u", "ops@example.com", "-p", "wrong"))
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "authentication failed")
	cmd = p.U2("check")
	cmd.Stdin = strings.NewReader("")
	code, out = exitCode(t, cmd)
	assert.Equal(t, 1, code, "no credentials and no input: the real tool would hang here")
	assert.Contains(t, out, "no credentials")
	cmd = p.U2("check")
	cmd.Stdin = strings.NewReader("ops@example.com\ns3cr$t-pass\n")
	code, out = exitCode(t, cmd)
	assert.Equal(t, 0, code, out)

	inv := p.U2Invocations()
	require.Len(t, inv, 5)
	assert.Equal(t, []string{"flags", "env", "flags", "prompt", "prompt"},
		[]string{inv[0].CredentialSource, inv[1].CredentialSource, inv[2].CredentialSource, inv[3].CredentialSource, inv[4].CredentialSource})
	raw, _ := os.ReadFile(filepath.Join(p.UserHome, ".wso2-updates", "fakeu2-invocations.jsonl"))
	assert.NotContains(t, string(raw), "s3cr$t-pass", "passwords never reach the record")
}

func TestU2BadProduct(t *testing.T) {
	t.Parallel()
	cases := map[string]func(p *Pack){
		"missing": func(p *Pack) { require.NoError(t, os.Remove(filepath.Join(p.Home, "updates/product.txt"))) },
		"edited": func(p *Pack) {
			require.NoError(t, os.WriteFile(filepath.Join(p.Home, "updates/product.txt"), []byte("my api manager\n"), 0o644))
		},
		"unknown": func(p *Pack) {
			require.NoError(t, os.WriteFile(filepath.Join(p.Home, "updates/product.txt"), []byte("wso2am-9.9.9\n"), 0o644))
		},
	}
	for name, breakIt := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := u2Pack(t, "clean")
			breakIt(p)
			code, out := exitCode(t, p.U2())
			assert.Equal(t, 1, code)
			assert.Contains(t, out, "Unable to identify the product")
		})
	}
}

func TestU2BackupInsideProductRefused(t *testing.T) {
	t.Parallel()
	p := u2Pack(t, "clean")
	code, out := exitCode(t, p.U2("--backup", "./"))
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "cannot be inside the product directory")
	assert.Equal(t, 12, p.UpdateLevel(t))
}

func TestU2DryRun(t *testing.T) {
	t.Parallel()
	p := u2Pack(t, "clean")
	code, out := exitCode(t, p.U2("--dry-run", "--template", "{{.Added}}|{{.Removed}}"))
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, coreNew)
	assert.Equal(t, 12, p.UpdateLevel(t))
	assert.FileExists(t, filepath.Join(p.Home, coreOld))
}

func TestU2CommandLine(t *testing.T) {
	t.Parallel()
	p := u2Pack(t, "clean")
	code, out := exitCode(t, p.U2("version"))
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "Version:")
	code, out = exitCode(t, p.U2("current-state"))
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "Update level:  12")
	code, _ = exitCode(t, p.U2("--help"))
	assert.Equal(t, 0, code)
	code, out = exitCode(t, p.U2("--bogus"))
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "unknown flag: --bogus")
	code, _ = exitCode(t, p.U2("frobnicate"))
	assert.Equal(t, 1, code)
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	require.NoError(t, err)
	return m
}

// FAKE_U2_DELAY: the run announces its "download" and changes nothing
// until it is over.
func TestU2Delay(t *testing.T) {
	t.Parallel()
	p := u2Pack(t, "clean", WithEnv("FAKE_U2_DELAY=1s"))
	cmd := p.U2("--no-backup")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	buf := make([]byte, 4096)
	var seen strings.Builder
	for !strings.Contains(seen.String(), "Downloading") {
		n, rerr := out.Read(buf)
		seen.Write(buf[:n])
		require.NoError(t, rerr, "output so far: %s", seen.String())
	}
	assert.Equal(t, 12, p.UpdateLevel(t), "nothing is changed while it downloads")
	_, _ = io.Copy(io.Discard, out)
	require.NoError(t, cmd.Wait())
	assert.Equal(t, 13, p.UpdateLevel(t))
}
