package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/pack"
)

func packCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:    "pack",
		Aliases: []string{"describe"},
		Usage:   "describe the product home: product, version, role, update level, files, port offset and ports",
		Description: `pack reads the product home (read-only) and prints what carbonguard knows of it: product,
version, distribution and role, configuration layout, update level and update tool, the startup
script, log and PID files, the effective port offset and every listener with its effective port
(base + offset), the key that sets it and the file and line it came from.

-D key=value passes a system property as the server would get it (e.g. -D portOffset=2, which wins
over [server] offset, as in Carbon).
`,
		Flags: []cli.Flag{
			textOrJSON.flag(),
			&cli.StringSliceFlag{Name: "D", Usage: "system property `key=value` the server would get (repeatable)"},
		},
		Action: action(e, needs{pack: packConfig}, newPackOptions, runPack),
	}
}

type packOptions struct {
	format string
	props  map[string]string // -D key=value
}

func newPackOptions(c *cli.Context, _ *session) (packOptions, error) {
	format, err := textOrJSON.of(c)
	if err != nil {
		return packOptions{}, err
	}
	_, props, err := dProps(c.StringSlice("D"))
	if err != nil {
		return packOptions{}, err
	}
	if c.Args().Len() > 0 {
		return packOptions{}, usagef("pack takes no arguments (got %q); name the home with --home", c.Args().First())
	}
	return packOptions{format: format, props: props}, nil
}

func runPack(_ context.Context, s *session, o packOptions) error {
	p, err := s.openPack(o.props)
	if err != nil {
		return err
	}
	if o.format == "json" {
		return writeJSON(s.stdout, struct {
			SchemaVersion int `json:"schema_version"`
			*pack.Pack
		}{1, p})
	}
	return writePackText(s.stdout, p)
}

// writePackText prints the pack description as aligned text.
func writePackText(w io.Writer, p *pack.Pack) error {
	rel := func(path string) string {
		if path == "" {
			return "-"
		}
		if r, err := filepath.Rel(p.Home, path); err == nil && !strings.HasPrefix(r, "..") {
			return filepath.ToSlash(r)
		}
		return path
	}
	orDash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	level := "unknown"
	if p.UpdateLevelKnown {
		level = strconv.Itoa(p.UpdateLevel)
		if p.UpdateLevel == -1 {
			level += " (the update tool ran but never updated this pack)"
		}
	}
	offset := p.Offset.String()
	if p.Offset.Externalised {
		offset += " (externalised: ports below assume 0)"
	}
	offset += " (" + string(p.Offset.Source)
	if pos := p.Offset.Pos.String(); pos != "" {
		offset += " " + pos
	}
	offset += ")"

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	rows := [][2]string{
		{"home", p.Home},
		{"product", string(p.Product)},
		{"product code", orDash(p.ProductCode)},
		{"version", orDash(p.Version)},
		{"distribution", orDash(p.Distribution)},
		{"role", orDash(p.Role)},
		{"node", nodeText(p)},
		{"layout", string(p.Layout)},
		{"update level", level},
		{"update tool", orDash(p.UpdateTool)},
		{"script", rel(p.Script)},
		{"log file", rel(p.LogFile)},
		{"pid file", rel(p.PIDFile)},
		{"config file", rel(p.ConfigFile)},
		{"port offset", offset},
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], r[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPORT\tBASE+OFFSET\tENABLED\tTLS\tSOURCE\tWHERE\tKEY\tSERVICE")
	for _, pt := range p.Ports {
		enabled, tls := "yes", "yes"
		if !pt.Enabled {
			enabled = "no"
		}
		if pt.Plain {
			tls = "no"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d+%d\t%s\t%s\t%s\t%s\t%s\t%s\n", pt.Name, pt.Port, pt.Base, pt.Offset, enabled, tls,
			pt.Source, orDash(pt.Pos.String()), orDash(pt.Key), pt.Service)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(p.Warnings) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "warnings:")
		for _, wn := range p.Warnings {
			fmt.Fprintf(w, "  %s\n", wn)
		}
	}
	return nil
}

// nodeText is the node's role and the source that decided it, or why it is
// unknown.
func nodeText(p *pack.Pack) string {
	switch {
	case p.Node == "":
		return "-"
	case p.Node == pack.NodeUnknown:
		return "unknown: " + p.NodeConflict
	case p.NodeSource != "":
		for _, e := range p.NodeEvidence {
			if e.Source == p.NodeSource {
				return fmt.Sprintf("%s (decided by %s: %s)", p.Node, p.NodeSource, e.Detail)
			}
		}
		return fmt.Sprintf("%s (decided by %s)", p.Node, p.NodeSource)
	}
	return p.Node
}
