package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/wrapper"
)

func stopCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "stop",
		Usage:     "stop the server: SIGTERM, wait, then SIGKILL",
		ArgsUsage: " ",
		Description: `stop sends SIGTERM to the server named by the PID file (as the stock script's stop does),
waits up to --stop-timeout for it to exit (the stock stop does not wait), then sends SIGKILL. A
stale PID file (naming no running server of this pack) is removed, and so is the stopped server's
(the kernel leaves it behind). Stopping a server that does not run succeeds (exit 0).

stop takes the pack's lock for as long as it stops the server, and refuses (exit 4) while a
guarded operation holds it: an update, a first boot being judged, a rollback bringing the old
version back up. A server stopped under them would be judged failed and rolled back, or left
down after a rollback. --force stops it anyway (logged, with who did it).
`,
		Flags: []cli.Flag{textOrJSON.flag(), stopTimeoutFlag(),
			&cli.BoolFlag{Name: "force", Usage: "stop the server even while a guarded operation (update, first boot, rollback) holds the pack's lock (logged)"}},
		Action: action(e, needs{config: true, state: true, pack: packProcess}, newStopOptions, runStop),
	}
}

type stopOptions struct {
	format string
	server wrapper.Options
	force  bool // stop even while another guarded operation holds the lock
}

func newStopOptions(c *cli.Context, s *session) (stopOptions, error) {
	format, err := textOrJSON.of(c)
	if err != nil {
		return stopOptions{}, err
	}
	if err := noArgs(c, "stop"); err != nil {
		return stopOptions{}, err
	}
	o := stopOptions{format: format, server: s.serverOptions(), force: c.Bool("force")}
	if d := c.Duration("stop-timeout"); d > 0 {
		o.server.StopTimeout = d
	}
	return o, nil
}

func runStop(ctx context.Context, s *session, o stopOptions) error {
	srv, err := s.server(o.server)
	if err != nil {
		return err
	}
	release, err := s.lockForServer("stop", o.force)
	if err != nil {
		return err
	}
	defer release()
	ctx, stop := signalContext(ctx)
	defer stop()
	res, err := srv.Stop(ctx)
	if res != nil {
		var perr error
		if o.format == "json" {
			perr = writeJSON(s.stdout, struct {
				SchemaVersion int `json:"schema_version"`
				*wrapper.StopResult
			}{wrapper.VerdictSchemaVersion, res})
		} else {
			perr = writeStopText(s.stdout, res)
		}
		if perr != nil && err == nil {
			err = perr
		}
	}
	return err
}

// writeStopText prints what a stop did (stop, restart).
func writeStopText(w io.Writer, r *wrapper.StopResult) error {
	var err error
	pf := func(format string, a ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, a...)
		}
	}
	switch {
	case !r.WasRunning:
		pf("not running\n")
	case r.Killed:
		pf("stopped: pid %d killed (SIGKILL) after ignoring SIGTERM, in %s\n", r.PID, time.Duration(r.TookMS)*time.Millisecond)
	default:
		pf("stopped: pid %d exited after SIGTERM in %s\n", r.PID, time.Duration(r.TookMS)*time.Millisecond)
	}
	for _, n := range r.Notes {
		pf("  note: %s\n", n)
	}
	return err
}
