package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateMan = flag.Bool("update-man", false, "rewrite docs/man/*.1 from the command definitions")

// TestManPages keeps docs/man (one page per command, installed by the
// packages) equal to what the command definitions generate, as
// TestChecksDocInSync does for docs/checks.md.
func TestManPages(t *testing.T) {
	app := newApp(nil, &bytes.Buffer{}, &bytes.Buffer{})
	dir := filepath.Join("docs", "man")
	if *updateMan {
		require.NoError(t, writeManPages(app, dir))
	}
	pages := manPages(app)
	var want []string
	for _, p := range pages {
		want = append(want, p.name+".1")
		have, err := os.ReadFile(filepath.Join(dir, p.name+".1"))
		if !assert.NoError(t, err, "run: go test -run TestManPages . -update-man") {
			continue
		}
		assert.Equal(t, p.text, string(have), "%s/%s.1 is out of date: run go test -run TestManPages . -update-man", dir, p.name)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.1"))
	require.NoError(t, err)
	var have []string
	for _, f := range files {
		have = append(have, filepath.Base(f))
	}
	sort.Strings(want)
	assert.Equal(t, want, have, "docs/man has a page for each command and no other: run go test -run TestManPages . -update-man")

	// Every command, subcommands included, has its page.
	for _, name := range []string{"carbonguard", "carbonguard-check", "carbonguard-snapshot", "carbonguard-snapshot-create",
		"carbonguard-hook-post-update", "carbonguard-completion"} {
		assert.Contains(t, want, name+".1")
	}
}

// TestManPagesRender formats every page with groff's warnings on: a page
// that man would show garbled fails here.
func TestManPagesRender(t *testing.T) {
	groff, err := exec.LookPath("groff")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("groff is missing (Debian: apt-get install groff-base)")
		}
		t.Skip("groff is not installed (Debian: groff-base)")
	}
	for _, p := range manPages(newApp(nil, &bytes.Buffer{}, &bytes.Buffer{})) {
		cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z")
		cmd.Stdin = strings.NewReader(p.text)
		out, err := cmd.CombinedOutput()
		assert.NoError(t, err, "%s: %s", p.name, out)
		assert.Empty(t, string(out), "%s: groff warnings", p.name)
	}
}
