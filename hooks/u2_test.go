package hooks

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/internal/secrets"
)

func TestU2Args(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		user         []string
		backup, cont bool
		want         []string
	}{
		{"plain", nil, false, false, []string{"--no-backup"}},
		{"level", []string{"--level", "4"}, false, false, []string{"--level", "4", "--no-backup"}},
		{"own backup wanted", nil, true, false, nil},
		{"operator chose a backup dir", []string{"--backup", "/b"}, false, false, []string{"--backup", "/b"}},
		{"operator chose no backup", []string{"--no-backup"}, false, false, []string{"--no-backup"}},
		{"continue", []string{"--level=4"}, false, true, []string{"--continue", "--level=4", "--no-backup"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, u2Args(tc.user, tc.backup, tc.cont))
		})
	}
}

func TestCheckU2Args(t *testing.T) {
	t.Parallel()
	for _, ok := range [][]string{nil, {"--level", "4"}, {"--channel=security"}, {"apply-update", "u.zip"}, {"-"}} {
		assert.NoError(t, CheckU2Args(ok), ok)
	}
	for _, bad := range [][]string{{"--password", "x"}, {"--password=x"}, {"-p", "x"}, {"--username=u"}, {"-u"}, {"-c", "full"}, {"--continue"}} {
		var e *U2ArgsError
		assert.ErrorAs(t, CheckU2Args(bad), &e, bad)
	}
	// Every form that carries a credential is refused, and the error never
	// echoes the value.
	const secret = "Hunter2-s3cr3t"
	for _, bad := range [][]string{
		{"-p" + secret}, {"-u" + secret}, {"--pass=" + secret}, {"--passwd=" + secret}, {"--password", secret},
		{"--password=" + secret}, {"--PASSWORD=" + secret}, {"--user=" + secret}, {"--token=" + secret}, {"--level", "4", "-l" + secret},
	} {
		err := CheckU2Args(bad)
		var e *U2ArgsError
		require.ErrorAs(t, err, &e, bad)
		assert.NotContains(t, err.Error(), secret, bad)
		assert.NotContains(t, e.Arg, secret, bad)
	}
	// A credential's value among the arguments (pasted after -- by
	// mistake) is refused without echo too.
	err := checkArgsHoldNoSecret([]string{"--level", "4", secret}, []string{"", secret})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), secret)
	assert.Contains(t, err.Error(), `"#3"`)
	assert.NoError(t, checkArgsHoldNoSecret([]string{"--level", "13"}, []string{"13x", "1"}), "short values only match whole arguments")
}

func TestMaskWriterCatchesSecretsAcrossWrites(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	m := newMaskWriter(&out, secrets.NewMasker([]string{"s3cr3t-pass", "alice"}))
	for _, chunk := range []string{"login as al", "ice with s3c", "r3t-pass\nok\nlast s3cr3t-", "pass"} {
		_, err := m.Write([]byte(chunk))
		require.NoError(t, err)
	}
	require.NoError(t, m.Flush())
	assert.Equal(t, "login as **** with ****\nok\nlast ****", out.String())
}

func TestFindConflicts(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	write := func(rel string) {
		p := filepath.Join(home, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(rel), 0o644))
	}
	write("repository/conf/deployment.toml")
	write("repository/conf/deployment.toml.original")
	write("repository/conf/deployment.toml.new")
	write("repository/conf/log4j2.properties")
	write("repository/conf/log4j2.properties.original")
	write("repository/conf/log4j2.properties.new")
	write("repository/conf/log4j2.properties.final")
	write("bin/lonely.original") // no .new: not a conflict

	got, err := FindConflicts(home)
	require.NoError(t, err)
	assert.Equal(t, []Conflict{
		{Path: "repository/conf/deployment.toml", Resolved: false},
		{Path: "repository/conf/log4j2.properties", Resolved: true},
	}, got)

	named := parseTemplateConflicts("Modified: [a b], Conflicts: [repository/conf/deployment.toml repository/conf/carbon.xml]\n")
	assert.Equal(t, []string{"repository/conf/deployment.toml", "repository/conf/carbon.xml"}, named)
	merged := mergeConflicts(home, got, named)
	assert.Equal(t, []string{"repository/conf/carbon.xml", "repository/conf/deployment.toml", "repository/conf/log4j2.properties"},
		[]string{merged[0].Path, merged[1].Path, merged[2].Path})
	assert.Empty(t, parseTemplateConflicts("Modified: [a], Conflicts: []\n"))
}

// fakeTool writes a shell script that records its argv, cwd, stdin and the
// credential variables, prints a secret, and exits with code.
func fakeTool(t *testing.T, dir string, code int) string {
	t.Helper()
	p := filepath.Join(dir, "bin", "wso2update_linux")
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	script := `#!/bin/sh
echo "args: $*" > "$0.rec"
echo "cwd: $(pwd)" >> "$0.rec"
echo "user: $UPDATE_TOOL_USERNAME" >> "$0.rec"
echo "pass: $UPDATE_TOOL_PASSWORD" >> "$0.rec"
if read line; then echo "stdin: $line" >> "$0.rec"; else echo "stdin: EOF" >> "$0.rec"; fi
echo "authenticating $UPDATE_TOOL_USERNAME with $UPDATE_TOOL_PASSWORD"
echo "to stderr" >&2
exit ` + string(rune('0'+code)) + "\n"
	require.NoError(t, os.WriteFile(p, []byte(script), 0o755))
	return p
}

func TestU2RunPassesCredentialsOnlyThroughEnvAndMasksThem(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	tool := fakeTool(t, home, 3)
	state := t.TempDir()
	var shown bytes.Buffer
	var pid int
	c := &u2Command{
		Path: tool, Home: home, Args: u2Args([]string{"--level", "4"}, false, false),
		Username: "alice@example.com", Password: "pa$$w0rd",
		Env:    []string{"PATH=" + os.Getenv("PATH"), "UPDATE_TOOL_PASSWORD=stale"},
		Output: &shown, LogPath: filepath.Join(state, "u2.log"),
		OnStart: func(p int) error { pid = p; return nil },
	}
	res, err := c.run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 3, res.ExitCode)
	assert.NotZero(t, pid)

	rec, err := os.ReadFile(tool + ".rec")
	require.NoError(t, err)
	assert.Contains(t, string(rec), "args: --level 4 --no-backup\n")
	assert.Contains(t, string(rec), "cwd: "+filepath.Join(home, "bin"))
	assert.Contains(t, string(rec), "user: alice@example.com\n")
	assert.Contains(t, string(rec), "pass: pa$$w0rd\n", "the explicit password wins over the inherited one")
	assert.Contains(t, string(rec), "stdin: EOF", "stdin is closed so a prompt cannot hang")

	logged, err := os.ReadFile(filepath.Join(state, "u2.log"))
	require.NoError(t, err)
	for _, out := range []string{shown.String(), string(logged), res.Output} {
		assert.Contains(t, out, "authenticating **** with ****")
		assert.Contains(t, out, "to stderr")
		assert.NotContains(t, out, "pa$$w0rd")
		assert.NotContains(t, out, "alice@example.com")
	}
}

func TestU2RunTimeoutKillsTheTool(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	p := filepath.Join(home, "bin", "wso2update_linux")
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\nsleep 30 &\nwait\n"), 0o755))
	c := &u2Command{Path: p, Home: home, Timeout: 300 * time.Millisecond}
	start := time.Now()
	res, err := c.run(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "did not finish within")
	assert.Equal(t, -1, res.ExitCode)
	assert.Less(t, time.Since(start), 10*time.Second)
}

func TestFindU2(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	_, err := FindU2(home, "")
	var pe *PreflightError
	require.ErrorAs(t, err, &pe)
	assert.Contains(t, err.Error(), "pass --u2 PATH")

	require.NoError(t, os.MkdirAll(filepath.Join(home, "bin"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(home, "bin", "update_tool_setup.sh"), []byte("#!/bin/sh\n"), 0o755))
	_, err = FindU2(home, "")
	assert.Contains(t, err.Error(), "update_tool_setup.sh")

	tool := fakeTool(t, home, 0)
	got, err := FindU2(home, "")
	if strings.HasSuffix(U2Name(), "_arm64") {
		t.Skip("arm64 name")
	}
	require.NoError(t, err)
	assert.Equal(t, tool, got)
}
