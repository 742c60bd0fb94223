package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// How carbonguard answers a command line it cannot run: one line on stderr
// saying what was wrong, and a hint (a close match, else where the help
// is), exit 2. Nothing goes to stdout, where a report is expected
// (check --fromat json > report.json must not fill report.json with help).

// hintedError is an error with carbonguard's advice for it.
type hintedError struct {
	err  error
	hint string
}

func (e hintedError) Error() string { return e.err.Error() }
func (e hintedError) Unwrap() error { return e.err }
func (e hintedError) Hint() string  { return e.hint }

// usageHint is a usage error (exit 2) with a hint.
func usageHint(hint string, format string, a ...any) error {
	return usageError{hintedError{fmt.Errorf(format, a...), hint}}
}

var (
	undefinedFlag = regexp.MustCompile(`^flag provided but not defined: -+(.+)$`)
	needsArgument = regexp.MustCompile(`^flag needs an argument: -+(.+)$`)
	invalidValue  = regexp.MustCompile(`^invalid value "(.*)" for flag -+([^:]+): (.*)$`)
)

// onUsageError turns urfave/cli's flag errors (an unknown flag, a missing or
// bad value) into one usage error naming the flag the way it is typed, with
// a did-you-mean for an unknown flag.
func onUsageError(c *cli.Context, err error, _ bool) error {
	where := commandPath(c)
	help := where + " --help"
	msg := err.Error()
	switch {
	case undefinedFlag.MatchString(msg):
		name := undefinedFlag.FindStringSubmatch(msg)[1]
		if m := closest(name, flagNames(c)); m != "" {
			return usageHint(fmt.Sprintf("did you mean %s? (%s lists the flags)", dashed(m), help), "unknown flag %s for %s", dashed(name), where)
		}
		return usageHint(help+" lists the flags", "unknown flag %s for %s", dashed(name), where)
	case needsArgument.MatchString(msg):
		name := needsArgument.FindStringSubmatch(msg)[1]
		return usageHint(help+" says what it takes", "%s needs a value", dashed(name))
	case invalidValue.MatchString(msg):
		m := invalidValue.FindStringSubmatch(msg)
		why := strings.TrimSpace(strings.TrimPrefix(m[3], "parse error"))
		if why == "" {
			why = "not a valid value"
		}
		return usageHint(help+" says what it takes", "%s %q: %s", dashed(m[2]), m[1], why)
	}
	return usageHint(help+" shows the usage", "%s", msg)
}

// commandNotFound answers an unknown command of the app or of a command
// with subcommands (snapshot, hook).
func commandNotFound(c *cli.Context, name string) error {
	where := commandPath(c)
	var names []string
	cmds := c.App.Commands
	if c.Command != nil && len(c.Command.Subcommands) > 0 {
		cmds = c.Command.Subcommands
	}
	for _, cmd := range cmds {
		if !cmd.Hidden {
			names = append(names, cmd.Names()...)
		}
	}
	if m := closest(name, names); m != "" {
		return usageHint(fmt.Sprintf("did you mean %s %s? (%s --help lists the commands)", where, m, where), "unknown command %q for %s", name, where)
	}
	return usageHint(where+" --help lists the commands", "unknown command %q for %s", name, where)
}

// parentAction is the Action of the app and of a command with subcommands:
// without arguments it shows the help (stdout, exit 0); with one it is an
// unknown command.
func parentAction(c *cli.Context) error {
	if c.Args().Present() {
		return commandNotFound(c, c.Args().First())
	}
	if c.Command != nil && c.Command.Name != "" && len(c.Command.Subcommands) > 0 && len(c.Lineage()) > 2 {
		return cli.ShowSubcommandHelp(c)
	}
	return cli.ShowAppHelp(c)
}

// helpCommand is "carbonguard help [COMMAND [SUBCOMMAND]]".
func helpCommand() *cli.Command {
	return &cli.Command{
		Name:      "help",
		Usage:     "show the help of carbonguard or of a command",
		ArgsUsage: "[COMMAND [SUBCOMMAND]]",
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) == 0 {
				return cli.ShowAppHelp(c)
			}
			cmds, path := c.App.Commands, []string{c.App.Name}
			var found *cli.Command
			for _, a := range args {
				found = nil
				for _, cmd := range cmds {
					if cmd.HasName(a) && !cmd.Hidden {
						found = cmd
					}
				}
				if found == nil {
					var names []string
					for _, cmd := range cmds {
						if !cmd.Hidden {
							names = append(names, cmd.Names()...)
						}
					}
					where := strings.Join(path, " ")
					if m := closest(a, names); m != "" {
						return usageHint(fmt.Sprintf("did you mean %s help %s?", c.App.Name, strings.Join(append(path[1:], m), " ")),
							"no help for %q: %s has no command %q", strings.Join(args, " "), where, a)
					}
					return usageHint(where+" --help lists the commands", "no help for %q: %s has no command %q", strings.Join(args, " "), where, a)
				}
				path = append(path, found.Name)
				cmds = found.Subcommands
			}
			return showCommandHelp(c, found, path)
		},
	}
}

// showCommandHelp prints a command's help as "carbonguard CMD --help" does.
func showCommandHelp(c *cli.Context, cmd *cli.Command, path []string) error {
	tpl := cli.CommandHelpTemplate
	if len(cmd.Subcommands) > 0 {
		tpl = cli.SubcommandHelpTemplate
	}
	if cmd.CustomHelpTemplate != "" {
		tpl = cmd.CustomHelpTemplate
	}
	data := *cmd
	data.HelpName = strings.Join(path, " ")
	cli.HelpPrinter(c.App.Writer, tpl, &data)
	return nil
}

// commandPath is "carbonguard snapshot create" for the context's command.
func commandPath(c *cli.Context) string {
	var names []string
	for _, l := range c.Lineage() {
		if l.Command != nil && l.Command.Name != "" {
			names = append([]string{l.Command.Name}, names...)
		}
	}
	if len(names) > 0 && names[0] == c.App.Name {
		names = names[1:]
	}
	return strings.Join(append([]string{c.App.Name}, names...), " ")
}

// flagNames are the flags the command takes, its own and the global ones.
func flagNames(c *cli.Context) []string {
	var names []string
	for _, l := range c.Lineage() {
		var flags []cli.Flag
		switch {
		case l.Command != nil:
			flags = l.Command.VisibleFlags()
		case l.App != nil:
			flags = l.App.VisibleFlags()
		}
		for _, f := range flags {
			names = append(names, f.Names()...)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// closest is the candidate nearest to s (an edit distance of at most 2,
// or a unique prefix), or "".
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	var prefixed []string
	for _, c := range candidates {
		if d := distance(s, c); d < bestD {
			best, bestD = c, d
		}
		if len(s) >= 3 && strings.HasPrefix(c, s) {
			prefixed = append(prefixed, c)
		}
	}
	if best == "" && len(prefixed) == 1 {
		return prefixed[0]
	}
	return best
}

// distance is the optimal-string-alignment edit distance (a swap of two
// neighbours counts once: fromat -> format is 1).
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// One default per option: urfave/cli appends "(default: 0s)" to a flag
// whose usage already says where its default comes from ("default: [start]
// timeout, else 10m"); such a usage keeps only its own.
func init() {
	plain := cli.FlagStringer
	cli.FlagStringer = func(f cli.Flag) string {
		s := plain(f)
		d, ok := f.(cli.DocGenerationFlag)
		if !ok || !strings.Contains(d.GetUsage(), "default") {
			return s
		}
		if i := strings.LastIndex(s, " (default: "); i >= 0 && strings.Contains(s[:i], "default") {
			return s[:i]
		}
		return s
	}
}
