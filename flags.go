package main

import (
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/pack"
)

// Flags and arguments more than one command reads the same way. Each
// command reads its flags once, into its options (newXOptions, beside its
// run function); --format is terminal.go's.

// noArgs refuses arguments to a command that takes none.
func noArgs(c *cli.Context, what string) error {
	if c.Args().Len() > 0 {
		return usagef("%s takes no arguments (got %q)", what, c.Args().First())
	}
	return nil
}

// dProps reads the -D key=value flags (the flag's value is key=value; a
// leading -D is tolerated) into script arguments and a property map. The
// flag always needs a value: a bare key, which Carbon would read as "true"
// (pack.ParseSysProp), is refused as a likely mistake.
func dProps(kvs []string) ([]string, map[string]string, error) {
	var args []string
	props := map[string]string{}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		k = strings.TrimPrefix(strings.TrimSpace(k), "-D")
		p, ok := pack.ParseSysProp("-D"+k+"="+v, pack.ReadByCarbonMain)
		if !ok || !strings.Contains(kv, "=") {
			return nil, nil, usagef("-D %q: write -D key=value, e.g. -D portOffset=2", kv)
		}
		props[p.Key] = p.Value
		args = append(args, "-D"+p.Key+"="+p.Value)
	}
	return args, props, nil
}

// homesOf is the command's --home list (check, ports), else the global
// --home list, else the global home.
func (e *env) homesOf(c *cli.Context) ([]string, error) {
	var homes []string
	seen := map[string]bool{}
	list := c.StringSlice("home")
	if len(list) == 0 {
		list = globalsOf(c).homes
	}
	for _, h := range list {
		abs, err := filepath.Abs(h)
		if err != nil {
			return nil, usagef("--home %s: %v", h, err)
		}
		if seen[abs] {
			return nil, usagef("--home %s is named twice", h)
		}
		seen[abs] = true
		homes = append(homes, abs)
	}
	if len(homes) > 0 {
		return homes, nil
	}
	home, err := e.homeDir(globalsOf(c))
	if err != nil {
		return nil, err
	}
	return []string{home}, nil
}
