package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func versionCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print carbonguard's version",
		Action: func(c *cli.Context) error {
			fmt.Fprintf(e.stdout, "carbonguard %s\n", version)
			return nil
		},
	}
}
