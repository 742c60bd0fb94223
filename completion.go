package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/archive"
)

// completeCommand is the hidden "carbonguard __complete WORDS... CURRENT"
// the completion scripts call: the candidates for the word being typed,
// one a line. Besides commands and flags (urfave/cli's own completion) it
// knows the values of the enumerated flags and the snapshot IDs of the
// pack for the commands that take one.
func completeCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:            "__complete",
		Hidden:          true,
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) == 0 {
				args = []string{""}
			}
			words, cur := args[:len(args)-1], args[len(args)-1]
			for _, v := range e.completions(words, cur) {
				fmt.Fprintln(e.stdout, v)
			}
			return nil
		},
	}
}

// enumFlags are the flags with a fixed set of values.
var enumFlags = map[string][]string{
	"log-format":  {"console", "json"},
	"log-level":   {"debug", "info", "warn", "error"},
	"fail-on":     {"info", "low", "medium", "high", "critical"},
	"compression": {"zstd", "gzip"},
}

// snapshotArgCommands take a snapshot ID as their argument.
var snapshotArgCommands = map[string]bool{
	"snapshot show": true, "snapshot verify": true, "snapshot diff": true, "snapshot restore": true, "rollback": true,
}

func (e *env) completions(words []string, cur string) []string {
	var path []string // the command path among words
	flagValue := ""   // the flag whose value cur is
	cmds := newApp(nil, &bytes.Buffer{}, &bytes.Buffer{}).Commands
	for i, w := range words {
		if strings.HasPrefix(w, "-") {
			continue
		}
		if i > 0 && strings.HasPrefix(words[i-1], "-") && !strings.Contains(words[i-1], "=") && takesValue(words[i-1]) {
			continue // the value of the flag before it
		}
		for _, c := range cmds {
			if c.HasName(w) {
				path = append(path, c.Name)
				cmds = c.Subcommands
				break
			}
		}
	}
	if n := len(words); n > 0 && strings.HasPrefix(words[n-1], "-") && !strings.Contains(words[n-1], "=") {
		flagValue = strings.TrimLeft(words[n-1], "-")
	}
	if flagValue == "format" {
		return prefixed(formatsOf(strings.Join(path, " ")), cur)
	}
	if vals, ok := enumFlags[flagValue]; ok {
		return prefixed(vals, cur)
	}
	if flagValue != "" && takesValue("--"+flagValue) {
		return nil // a path or a free value: the shell completes files
	}
	if !strings.HasPrefix(cur, "-") && snapshotArgCommands[strings.Join(path, " ")] {
		return prefixed(e.snapshotIDs(words), cur)
	}
	// Flags of the command (its own and the global ones), or its commands.
	app := newApp(nil, &bytes.Buffer{}, &bytes.Buffer{})
	flags, sub := app.VisibleFlags(), app.Commands
	cmds = app.Commands
	for _, p := range path {
		for _, c := range cmds {
			if c.Name == p {
				flags, sub, cmds = c.VisibleFlags(), c.Subcommands, c.Subcommands
				break
			}
		}
	}
	var names []string
	if strings.HasPrefix(cur, "-") {
		for _, f := range flags {
			for _, n := range f.Names() {
				names = append(names, dashed(n))
			}
		}
	} else {
		for _, c := range sub {
			if !c.Hidden && c.Name != "help" {
				names = append(names, c.Name)
			}
		}
	}
	return prefixed(names, cur)
}

// takesValue: the flag (as typed) takes a value, for the flags carbonguard
// has; boolean flags do not.
func takesValue(flag string) bool {
	name := strings.TrimLeft(flag, "-")
	var found bool
	var walk func([]*cli.Command)
	check := func(fs []cli.Flag) {
		for _, f := range fs {
			for _, n := range f.Names() {
				if n == name {
					if d, ok := f.(cli.DocGenerationFlag); ok && d.TakesValue() {
						found = true
					}
				}
			}
		}
	}
	app := newApp(nil, &bytes.Buffer{}, &bytes.Buffer{})
	check(app.Flags)
	walk = func(cmds []*cli.Command) {
		for _, c := range cmds {
			check(c.Flags)
			walk(c.Subcommands)
		}
	}
	walk(app.Commands)
	return found
}

// formatsOf are the --format values of the command at path.
func formatsOf(path string) []string {
	switch path {
	case "check":
		return checkFormats
	case "checks":
		return checksFormats
	}
	return textOrJSON
}

// snapshotIDs lists the pack's snapshots (newest first) and "latest", for
// the --home/--state in words or the environment; nothing when the state
// cannot be found.
func (e *env) snapshotIDs(words []string) []string {
	var g globals
	for i := 0; i < len(words)-1; i++ {
		switch words[i] {
		case "--home":
			g.home = words[i+1]
		case "--state":
			g.state = words[i+1]
		}
	}
	for _, w := range words {
		if v, ok := strings.CutPrefix(w, "--home="); ok {
			g.home = v
		}
		if v, ok := strings.CutPrefix(w, "--state="); ok {
			g.state = v
		}
	}
	home, err := e.homeDir(g)
	if err != nil {
		return nil
	}
	s := &session{env: e, g: g, log: zerolog.Nop(), home: home}
	state, err := s.stateDirFor(home)
	if err != nil {
		return nil
	}
	store, err := archive.OpenStore(filepath.Join(state, "snapshots"), zerolog.Nop())
	if err != nil {
		return nil
	}
	infos, err := store.List()
	if err != nil {
		return nil
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].ID > infos[j].ID })
	ids := []string{"latest"}
	for _, in := range infos {
		ids = append(ids, in.ID)
	}
	return ids
}

func prefixed(vals []string, cur string) []string {
	var out []string
	for _, v := range vals {
		if strings.HasPrefix(v, cur) {
			out = append(out, v)
		}
	}
	return out
}
