// Command carbonguard makes updating and starting WSO2 Carbon products safe:
// verified snapshots of the whole pack before every update, production-readiness
// checks before every start, a supervised start with a boot verdict, and an
// automatic rollback when the first boot after an update fails.
package main

import (
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// crashPoint is hooks.Env.CrashPoint: only the tests set it (main_test.go),
// to kill carbonguard at a step of an update; nil in a built carbonguard.
var crashPoint func(state, step string)

// run is main without the exit: tests call it directly.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	err := app.Run(args)
	return exitCode(err, stderr)
}
