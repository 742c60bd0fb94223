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
`,
		Flags: []cli.Flag{checksFormats.flag()},
		Action: func(c *cli.Context) error {
			if err := noArgs(c, "checks"); err != nil {
				return err
			}
			format, err := checksFormats.of(c)
			if err != nil {
				return err
			}
			checks := validate.Registry()
			switch format {
			case "json":
				return writeJSON(e.stdout, struct {
					SchemaVersion int                  `json:"schema_version"`
					Checks        []validate.CheckInfo `json:"checks"`
				}{validate.SchemaVersion, validate.CheckInfos(checks)})
			case "markdown":
				return validate.WriteMarkdown(e.stdout, checks)
			default:
				return validate.WriteCheckList(e.stdout, checks)
			}
		},
	}
}
