package main

import (
	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/validate"
)

func checksCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "checks",
		Usage: "list the production checks (ID, severity, category, title)",
		Description: `checks lists the registry of production checks that check runs. --format markdown writes
the reference page: carbonguard checks --format markdown > docs/checks.md

` + exitStatusHelp,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text, json or markdown"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return usagef("checks takes no arguments (got %q)", c.Args().First())
			}
			checks := validate.Registry()
			switch f := c.String("format"); f {
			case "text":
				return validate.WriteCheckList(e.stdout, checks)
			case "json":
				return writeJSON(e.stdout, struct {
					SchemaVersion int                  `json:"schema_version"`
					Checks        []validate.CheckInfo `json:"checks"`
				}{validate.SchemaVersion, validate.CheckInfos(checks)})
			case "markdown":
				return validate.WriteMarkdown(e.stdout, checks)
			default:
				return usagef("--format %q: use text, json or markdown", f)
			}
		},
	}
}
