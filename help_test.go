package main

import (
	"bytes"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"
)

// TestLeafCommandsHelp: every command without subcommands has a
// description, EXAMPLES and the EXIT STATUS table in its --help, and no
// option shows two defaults.
func TestLeafCommandsHelp(t *testing.T) {
	app := newApp(nil, &bytes.Buffer{}, &bytes.Buffer{})
	twoDefaults := regexp.MustCompile(`default.*\(default: `)
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden || c.Name == "help" {
				continue
			}
			p := append(append([]string{}, path...), c.Name)
			if len(c.Subcommands) > 0 {
				walk(p, c.Subcommands)
				continue
			}
			var out bytes.Buffer
			code := run(append([]string{"carbonguard"}, append(p, "--help")...), nil, &out, &out)
			require.Equal(t, 0, code, "%s --help: %s", strings.Join(p, " "), out.String())
			help := out.String()
			name := strings.Join(p, " ")
			assert.Contains(t, help, "DESCRIPTION:", name)
			assert.Contains(t, help, "EXAMPLES:\n      carbonguard ", name)
			assert.Contains(t, help, "EXIT STATUS:", name)
			assert.True(t, strings.Index(help, "EXAMPLES:") < strings.Index(help, "EXIT STATUS:"), "%s: EXAMPLES before EXIT STATUS", name)
			for _, line := range strings.Split(help, "\n") {
				assert.False(t, twoDefaults.MatchString(line), "%s: two defaults: %s", name, line)
			}
		}
	}
	walk(nil, app.Commands)
}

func TestBuildVersion(t *testing.T) {
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{"no build info", nil, false, "0.0.0-dev"},
		{"go install @version", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, true, "1.4.0"},
		{"checkout with revision", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}}, true, "0.0.0-dev+0123456789ab.dirty"},
		{"no vcs", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true, "0.0.0-dev"},
	} {
		assert.Equal(t, tc.want, buildVersion(tc.bi, tc.ok), tc.name)
	}
}

// TestProgressBarEndsItsLineBeforeALogLine: a log line written while the
// bar shows clears the bar's line, takes a line of its own, and the bar is
// drawn again below it (before, the line read "... 35.3 MiB/s16:17:55 INF
// snapshot created").
func TestProgressBarEndsItsLineBeforeALogLine(t *testing.T) {
	var out bytes.Buffer
	e := &env{stderr: &out}
	bar := &progressBar{line: e.statusLine()}
	bar.line.draw("create   1.0 MiB / 2.0 MiB  50%")
	bar.drawn = true
	_, err := e.statusLine().Write([]byte("16:17:55 INF snapshot created\n"))
	require.NoError(t, err)
	bar.close()
	_, err = e.statusLine().Write([]byte("16:17:56 INF done\n"))
	require.NoError(t, err)
	want := "\rcreate   1.0 MiB / 2.0 MiB  50%\033[K" + // the bar
		"\r\033[K16:17:55 INF snapshot created\n" + // the log line on a clean line of its own
		"\rcreate   1.0 MiB / 2.0 MiB  50%\033[K" + // the bar again, below it
		"\n" + // close ends the bar's line
		"16:17:56 INF done\n" // later lines pass straight through
	assert.Equal(t, want, out.String())
}

// TestGatePutsBootImpossibleFirst: the start gate lists the findings that
// keep the server from booting at all before the others.
func TestGatePutsBootImpossibleFirst(t *testing.T) {
	got := bootFirst([]string{
		"CG-SEC-010 high deployment.toml:12: admin/admin",
		"CG-NET-030 high: port 9443: in use by another process",
		"CG-DATA-010 high: H2",
		"CG-HOST-060 high: JAVA_HOME is not set",
	})
	assert.Equal(t, []string{
		"CG-NET-030 high: port 9443: in use by another process",
		"CG-HOST-060 high: JAVA_HOME is not set",
		"CG-SEC-010 high deployment.toml:12: admin/admin",
		"CG-DATA-010 high: H2",
	}, got)
}

// TestExamplesUseRealFlags: every flag an EXAMPLES line gives a carbonguard
// command is one that command takes.
func TestExamplesUseRealFlags(t *testing.T) {
	app := newApp(nil, &bytes.Buffer{}, &bytes.Buffer{})
	find := func(path string) *cli.Command {
		cmds := app.Commands
		var c *cli.Command
		for _, name := range strings.Fields(path) {
			c = nil
			for _, x := range cmds {
				if x.Name == name {
					c = x
				}
			}
			if c == nil {
				return nil
			}
			cmds = c.Subcommands
		}
		return c
	}
	for path, examples := range leafExamples {
		for _, ex := range examples {
			ex, _, _ = strings.Cut(ex, "#")
			for _, seg := range regexp.MustCompile(`&&|;|\||\\`).Split(ex, -1) {
				words := strings.Fields(seg)
				for len(words) > 0 && strings.Contains(words[0], "=") { // VAR=value before the command
					words = words[1:]
				}
				if len(words) == 0 || words[0] != "carbonguard" {
					continue
				}
				cmdPath := commandPathOf(app, words)
				c := find(cmdPath)
				require.NotNil(t, c, "%s: example %q runs no command", path, ex)
				// Past the command's name, a word that is neither a flag
				// nor a flag's value is an argument, and urfave/cli reads
				// no flag after the first argument.
				rest, arg := words[1:], ""
				for len(rest) > 0 && !slices.Contains(strings.Fields(cmdPath), rest[0]) {
					rest = rest[1:]
				}
				for i := 0; i < len(rest); i++ {
					w := rest[i]
					if w == "--" {
						break // u2's arguments follow
					}
					if !strings.HasPrefix(w, "-") {
						if !slices.Contains(strings.Fields(cmdPath), w) {
							arg = w
						}
						continue
					}
					name, _, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
					ok := false
					for _, f := range c.Flags {
						ok = ok || slices.Contains(f.Names(), name)
					}
					assert.True(t, ok, "%s: example %q gives %s a flag it does not take: %s", path, ex, cmdPath, w)
					assert.Empty(t, arg, "%s: example %q gives the flag %s after the argument %s: urfave/cli takes it as an argument", path, ex, w, arg)
					if !hasValue && takesValue(w) {
						i++
					}
				}
			}
		}
	}
}
