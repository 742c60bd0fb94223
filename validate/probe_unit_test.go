package validate

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeRoot lays out files below a fake root (path -> content).
func writeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(content), 0o644))
	}
	return root
}

func unitFor(home, extra string) string {
	return "[Unit]\nDescription=WSO2 server\n\n[Service]\nType=notify\n" +
		"ExecStart=/usr/local/bin/carbonguard --home " + home + " --state /var/lib/carbonguard/x --log-format json run\n" +
		"ExecStop=/usr/local/bin/carbonguard --home " + home + " stop\n" + extra + "\n[Install]\nWantedBy=multi-user.target\n"
}

// TestFindServiceUnitReadsTheExampleUnit: the unit scripts/install.sh
// writes (scripts/systemd/carbonguard.service) is found for its pack, with
// its LimitNOFILE and the line that sets it.
func TestFindServiceUnitReadsTheExampleUnit(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "scripts", "systemd", "carbonguard.service"))
	require.NoError(t, err)
	root := writeRoot(t, map[string]string{"/etc/systemd/system/carbonguard-wso2am-4.2.0.service": string(example)})
	u, err := findServiceUnit(root, "/opt/wso2am-4.2.0")
	require.NoError(t, err)
	require.NotNil(t, u)
	assert.Equal(t, "carbonguard-wso2am-4.2.0.service", u.Name)
	assert.Equal(t, uint64(65535), u.NoFileSoft)
	assert.Equal(t, uint64(65535), u.NoFileHard)
	line := 0
	for i, l := range strings.Split(string(example), "\n") {
		if strings.HasPrefix(l, "LimitNOFILE=") {
			line = i + 1
		}
	}
	assert.Equal(t, "LimitNOFILE= in /etc/systemd/system/carbonguard-wso2am-4.2.0.service:"+strconv.Itoa(line), u.NoFileFrom)

	u, err = findServiceUnit(root, "/opt/wso2is-7.1.0")
	require.NoError(t, err)
	assert.Nil(t, u, "a unit for another pack is not this pack's")
}

func TestFindServiceUnit(t *testing.T) {
	const home = "/opt/wso2am-4.2.0"
	for _, tc := range []struct {
		name            string
		files           map[string]string
		soft, hard      uint64
		from            string
		none            bool
		wantErrContains string
	}{
		{name: "no-unit", files: map[string]string{"/etc/systemd/system/other.service": "[Service]\nExecStart=/bin/true\n"}, none: true},
		{name: "not-the-run-command", files: map[string]string{
			"/etc/systemd/system/cg-check.service": "[Service]\nExecStart=/usr/bin/carbonguard --home " + home + " check\n"}, none: true},
		{name: "no-limit-systemd-default", files: map[string]string{"/etc/systemd/system/cg.service": unitFor(home, "")},
			soft: 1024, hard: 524288, from: "systemd's DefaultLimitNOFILE (the unit sets no LimitNOFILE=)"},
		{name: "system-conf-default", files: map[string]string{
			"/etc/systemd/system/cg.service": unitFor(home, ""),
			"/etc/systemd/system.conf":       "[Manager]\n#DefaultLimitNOFILE=1024:524288\nDefaultLimitNOFILE=8192:16384\n"},
			soft: 8192, hard: 16384, from: "DefaultLimitNOFILE= in /etc/systemd/system.conf:3 (the unit sets no LimitNOFILE=)"},
		{name: "soft-and-hard", files: map[string]string{"/lib/systemd/system/cg.service": unitFor(home, "LimitNOFILE=4096:65536")},
			soft: 4096, hard: 65536, from: "LimitNOFILE= in /lib/systemd/system/cg.service:8"},
		{name: "infinity", files: map[string]string{"/etc/systemd/system/cg.service": unitFor(home, "LimitNOFILE=infinity")},
			soft: math.MaxUint64, hard: math.MaxUint64},
		{name: "drop-in-wins", files: map[string]string{
			"/etc/systemd/system/cg.service":                 unitFor(home, "LimitNOFILE=65535"),
			"/etc/systemd/system/cg.service.d/10-limit.conf": "[Service]\nLimitNOFILE=2048\n",
			"/run/systemd/system/cg.service.d/05-x.conf":     "[Service]\nLimitNOFILE=100000\n"},
			soft: 2048, hard: 2048, from: "LimitNOFILE= in /etc/systemd/system/cg.service.d/10-limit.conf:2"},
		{name: "etc-hides-lib", files: map[string]string{
			"/etc/systemd/system/cg.service": unitFor(home, "LimitNOFILE=65535"),
			"/lib/systemd/system/cg.service": unitFor(home, "LimitNOFILE=1024")},
			soft: 65535, hard: 65535},
		{name: "home-with-equals", files: map[string]string{
			"/etc/systemd/system/cg.service": "[Service]\nExecStart=/usr/bin/carbonguard --home=" + home + " run\nLimitNOFILE=32768\n"},
			soft: 32768, hard: 32768},
		{name: "bad-limit", files: map[string]string{"/etc/systemd/system/cg.service": unitFor(home, "LimitNOFILE=lots")},
			wantErrContains: "LimitNOFILE=lots"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := writeRoot(t, tc.files)
			u, err := findServiceUnit(root, home)
			if tc.wantErrContains != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErrContains)
				return
			}
			require.NoError(t, err)
			if tc.none {
				assert.Nil(t, u)
				return
			}
			require.NotNil(t, u)
			assert.Equal(t, tc.soft, u.NoFileSoft)
			assert.Equal(t, tc.hard, u.NoFileHard)
			if tc.from != "" {
				assert.Equal(t, tc.from, u.NoFileFrom)
			}
		})
	}
}

// TestChildOpenFilesLimit: the limits a child gets are the ones the shell
// sees, not the raised ones of carbonguard's own process.
func TestChildOpenFilesLimit(t *testing.T) {
	soft, hard, err := childOpenFilesLimit(t.Context())
	require.NoError(t, err)
	assert.NotZero(t, soft)
	assert.GreaterOrEqual(t, hard, soft)
}
