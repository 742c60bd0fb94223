package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/internal/testpack"
)

// testSession is the session openSession gives a command that declared n,
// over home and a fresh state directory, with carbonguard.toml's defaults;
// its stdout is returned.
func testSession(t *testing.T, home string, n needs) (*session, *bytes.Buffer) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	s := &session{env: e, log: zerolog.Nop(), home: home, cfg: &fileConfig{}, need: n.pack}
	if n.state {
		s.state = filepath.Join(t.TempDir(), "state")
	}
	return s, &stdout
}

// The run functions take a session and their options: no flags, no
// urfave/cli.
func TestRunFunctionsTakeASessionAndOptions(t *testing.T) {
	home := filepath.Join(t.TempDir(), "apim")
	require.NoError(t, testpack.CopyTree(filepath.Join(repoRoot(t), "testdata", "packs", "apim-4.2"), home))

	s, out := testSession(t, home, needs{pack: packConfig})
	require.NoError(t, runPack(context.Background(), s, packOptions{format: "json", props: map[string]string{"portOffset": "2"}}))
	var described struct {
		Home string `json:"home"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &described))
	assert.Equal(t, home, described.Home)
	assert.Equal(t, s.pack.Home, home, "the pack is opened once, in the session")
	assert.Equal(t, "2", s.pack.SysProps["portOffset"])

	s, out = testSession(t, home, snapshotNeeds)
	require.NoError(t, runSnapshotList(context.Background(), s, formatOnly{format: "text"}))
	assert.Equal(t, "no snapshots\n", out.String())
}

// history reads the state directory only: it works where there is no pack
// at all, and never opens one.
func TestHistoryNeedsNoPack(t *testing.T) {
	notAPack := t.TempDir()
	s, out := testSession(t, notAPack, needs{state: true})
	require.NoError(t, runHistory(context.Background(), s, historyOptions{format: "text"}))
	assert.Equal(t, "no update transactions\n", out.String())
	assert.Nil(t, s.pack)
	_, err := s.openPack(nil)
	require.Error(t, err, "a command that declared it reads no pack cannot read one")
}
