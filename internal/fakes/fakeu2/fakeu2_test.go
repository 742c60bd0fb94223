package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMerge3(t *testing.T) {
	base := "a\nb\nc\nd\ne\n"
	cases := []struct {
		name, ours, theirs, want string
		ok                       bool
	}{
		{"only theirs", base, "a\nB\nc\nd\ne\n", "a\nB\nc\nd\ne\n", true},
		{"only ours", "a\nb\nc\nD\ne\n", base, "a\nb\nc\nD\ne\n", true},
		{"disjoint edits", "A\nb\nc\nd\ne\n", "a\nb\nc\nd\nE\n", "A\nb\nc\nd\nE\n", true},
		{"append and edit", "a\nb\nX\nd\ne\n", base + "f\n", "a\nb\nX\nd\ne\nf\n", true},
		{"same edit both", "a\nB\nc\nd\ne\n", "a\nB\nc\nd\ne\n", "a\nB\nc\nd\ne\n", true},
		{"same line differently", "a\nB1\nc\nd\ne\n", "a\nB2\nc\nd\ne\n", "", false},
		{"both insert at same place", "a\nb\nX\nc\nd\ne\n", "a\nb\nY\nc\nd\ne\n", "", false},
		{"delete vs edit", "a\nc\nd\ne\n", "a\nB\nc\nd\ne\n", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := merge3(base, c.ours, c.theirs)
			assert.Equal(t, c.ok, ok)
			if c.ok {
				assert.Equal(t, c.want, got)
			}
		})
	}
}

func TestParseArgs(t *testing.T) {
	f, err := parseArgs([]string{"--backup", "/b", "check", "-v", "--level=13", "--no-backup", "-u", "me", "--password", "x"})
	require.NoError(t, err)
	assert.Equal(t, "check", f.command)
	assert.Equal(t, "/b", f.backup)
	assert.Equal(t, "13", f.level)
	assert.True(t, f.verbose && f.noBackup)
	assert.Equal(t, "me", f.username)
	assert.Equal(t, "x", f.password)

	_, err = parseArgs([]string{"--level"})
	assert.ErrorContains(t, err, "needs an argument")
	_, err = parseArgs([]string{"-d"})
	assert.ErrorContains(t, err, "unknown flag: -d", "old short flags are gone")
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]int{"13": 13, "4.2.0.13": 13, "0": 0} {
		n, err := parseLevel(in, "4.2.0")
		require.NoError(t, err, in)
		assert.Equal(t, want, n)
	}
	for _, in := range []string{"4.7.0.13", "x", "-1", "4.2.0."} {
		_, err := parseLevel(in, "4.2.0")
		assert.Error(t, err, in)
	}
}

func TestSafeRel(t *testing.T) {
	assert.True(t, safeRel("repository/a.jar"))
	assert.False(t, safeRel("../x"))
	assert.False(t, safeRel("/etc/passwd"))
	assert.False(t, safeRel("a/../../x"))
	assert.False(t, safeRel(""))
}
