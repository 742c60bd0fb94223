package main

import "github.com/urfave/cli/v2"

// restart is start with a stop first (runStart, cmd_start.go).
func restartCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "restart",
		Usage:     "stop the server if it runs, then start it and judge its boot",
		ArgsUsage: " ",
		Description: `restart is stop (SIGTERM, then SIGKILL after --stop-timeout) followed by start; see
carbonguard start --help for the launch, the gate and the verdict.
`,
		Flags:  append(startFlags(), textOrJSON.flag(), stopTimeoutFlag()),
		Action: action(e, launchNeeds, newStartOptions(true), runStart),
	}
}
