package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/pack"
)

func portsCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "ports",
		Usage: "print the ports to open in the firewall (effective: base + offset)",
		Description: `ports prints every listener the server would open, with the port offset applied
([server] offset, or -D portOffset=N, which wins): the list to open in the firewall. Listeners that
are switched off (e.g. JMX with rmi_server_start = false) are left out unless --all is given.
Plain-text listeners are marked: expose them only where needed.
`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "home", Usage: "product home (repeatable; default: the global --home, $CARBON_HOME or the current directory)"},
			textOrJSON.flag(),
			&cli.StringSliceFlag{Name: "D", Usage: "system property `key=value` the server would get (e.g. -D portOffset=2)"},
			&cli.BoolFlag{Name: "all", Usage: "also list listeners that are switched off"},
		},
		Action: func(c *cli.Context) error {
			o, err := newPortsOptions(c, e)
			if err != nil {
				return err
			}
			s, err := e.openSession(c, o.homes[0], needs{pack: packConfig})
			if err != nil {
				return err
			}
			return runPorts(contextOf(c), s, o)
		},
	}
}

type portsOptions struct {
	format string
	homes  []string
	props  map[string]string // -D key=value
	all    bool
}

func newPortsOptions(c *cli.Context, e *env) (portsOptions, error) {
	format, err := textOrJSON.of(c)
	if err != nil {
		return portsOptions{}, err
	}
	if c.Args().Len() > 0 {
		return portsOptions{}, usagef("ports takes no arguments (got %q); name homes with --home", c.Args().First())
	}
	_, props, err := dProps(c.StringSlice("D"))
	if err != nil {
		return portsOptions{}, err
	}
	homes, err := e.homesOf(c)
	if err != nil {
		return portsOptions{}, err
	}
	return portsOptions{format: format, homes: homes, props: props, all: c.Bool("all")}, nil
}

func runPorts(_ context.Context, s *session, o portsOptions) error {
	type packPorts struct {
		Home    string      `json:"home"`
		Product string      `json:"product"`
		Version string      `json:"version,omitempty"`
		Offset  int         `json:"offset"`
		Node    string      `json:"node,omitempty"`
		Source  string      `json:"node_source,omitempty"`
		Ports   []pack.Port `json:"ports"`
		// Closed are the product's listeners this node's role does not open.
		Closed []pack.ClosedPort `json:"closed_ports,omitempty"`
	}
	var all []packPorts
	for _, home := range o.homes {
		p, err := s.readPack(home, o.props)
		if err != nil {
			return err
		}
		pp := packPorts{Home: p.Home, Product: string(p.Product), Version: p.Version, Node: p.Node, Source: p.NodeSource, Ports: []pack.Port{}, Closed: p.Closed}
		if n, ok := p.Offset.Int(); ok {
			pp.Offset = n
		}
		for _, pt := range p.Ports {
			if pt.Enabled || o.all {
				pp.Ports = append(pp.Ports, pt)
			}
		}
		sort.SliceStable(pp.Ports, func(i, j int) bool { return pp.Ports[i].Port < pp.Ports[j].Port })
		all = append(all, pp)
	}
	if o.format == "json" {
		return writeJSON(s.stdout, struct {
			SchemaVersion int         `json:"schema_version"`
			Packs         []packPorts `json:"packs"`
		}{1, all})
	}
	for i, pp := range all {
		if i > 0 {
			fmt.Fprintln(s.stdout)
		}
		if err := writePortsText(s.stdout, pp.Home, pp.Offset, pp.Ports); err != nil {
			return err
		}
		if pp.Node != "" {
			fmt.Fprintf(s.stdout, "node: %s (decided by %s)\n", pp.Node, orDash(pp.Source))
		}
		for _, c := range pp.Closed {
			fmt.Fprintf(s.stdout, "not opened: %d %s: %s\n", c.Port, c.Name, c.Why)
		}
	}
	return nil
}

func writePortsText(w io.Writer, home string, offset int, ports []pack.Port) error {
	fmt.Fprintf(w, "%s (offset %d)\n", home, offset)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PORT\tTLS\tBASE+OFFSET\tNAME\tSERVICE")
	for _, pt := range ports {
		tls := "yes"
		if pt.Plain {
			tls = "no"
		}
		name := pt.Name
		if !pt.Enabled {
			name += " (off)"
		}
		if pt.Unsure != "" {
			name += " (?)" // the node's role may not open it
		}
		fmt.Fprintf(tw, "%d\t%s\t%d+%d\t%s\t%s\n", pt.Port, tls, pt.Base, pt.Offset, name, pt.Service)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var open []string
	for _, pt := range ports {
		if pt.Enabled {
			open = append(open, fmt.Sprint(pt.Port))
		}
	}
	if len(open) > 0 {
		fmt.Fprintf(w, "open: %s/tcp\n", strings.Join(open, ","))
	}
	return nil
}
