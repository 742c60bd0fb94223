package main

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/wrapper"
)

const startDescription = `start launches the stock startup script in the background, exactly as its own start does
(never edited), with the system properties carbonguard.toml [start] asks for, and returns once the
boot is judged:

   up        the success line ("WSO2 Carbon started in", "WSO2 Micro Integrator started in"), the
             process alive, the health endpoints answering on the offset ports (APIM /services/Version
             and the gateway startup health check; IS /api/health-check/v1.0/health; MI /healthz), and
             the process still alive through the stability window
   failed    the process exited, a failure line ("Error while performing configuration changes",
             "startup failed", "OutOfMemoryError", "Address already in use", a repeated "Waiting for
             required OSGi services"), or no success line within the timeout
   unknown   the success line came but the endpoints never answered, the log could not be read, or
             carbonguard was interrupted

The verdict and its evidence are printed (--format text or json) and saved in the state directory
(verdicts/last.json); a server that exits during its boot is shown with its console's last lines
(the script's own "Error: JAVA_HOME is not defined correctly.", the JVM's refusals), which the
console otherwise does not keep. A failed server is left running for inspection; stop it with
carbonguard stop.

Before the launch the production checks run as a gate: findings at or above the fail threshold
([start] fail_on, else [check] fail_on, else high) refuse the start unless --force with
--force-reason (logged with who forced it). [start] gate = false turns the gate off. The server is
not started as root unless --allow-root or [start] allow_root; when carbonguard runs as root it
runs the server as [start] user. Hostname verification is switched on by default:
-Dorg.opensaml.httpclient.https.disableHostnameVerification=false and -Dhttpclient.hostnameVerifier=Strict
are passed as script arguments, which win over the script's own -D list. -Dsetup (destructive) is
passed only with --setup.

When an update awaits its first boot, an up verdict commits it and any other verdict rolls it back.

`

type startOptions struct {
	launchOptions
	format  string
	restart bool // stop the server first (restart)
}

func startCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:        "start",
		Usage:       "start the server in the background and judge its boot",
		ArgsUsage:   " ",
		Description: startDescription,
		Flags:       append(startFlags(), textOrJSON.flag()),
		Action:      action(e, launchNeeds, newStartOptions(false), runStart),
	}
}

func newStartOptions(restart bool) func(*cli.Context, *session) (startOptions, error) {
	return func(c *cli.Context, s *session) (startOptions, error) {
		format, err := textOrJSON.of(c)
		if err != nil {
			return startOptions{}, err
		}
		lo, err := newLaunchOptions(c, s)
		return startOptions{launchOptions: lo, format: format, restart: restart}, err
	}
}

func runStart(ctx context.Context, s *session, o startOptions) error {
	srv, err := s.launcher(o.launchOptions)
	if err != nil {
		return err
	}
	ctx, stop := signalContext(ctx)
	defer stop()
	hx, err := s.hooksEnv(srv, nil)
	if err != nil {
		return err
	}
	var stopped *wrapper.StopResult
	launch := srv.Start
	if o.restart {
		launch = func(ctx context.Context) (*wrapper.Verdict, error) {
			sr, v, err := srv.Restart(ctx)
			stopped = sr
			return v, err
		}
	}
	v, err := s.guardStart(ctx, hx, launch)
	if v != nil {
		if perr := s.printVerdict(o.format, v, stopped); perr != nil {
			return perr
		}
	}
	return err
}

// printVerdict prints the boot verdict, after what the stop of a restart did.
func (s *session) printVerdict(format string, v *wrapper.Verdict, stopped *wrapper.StopResult) error {
	if format == "json" {
		if stopped != nil {
			return writeJSON(s.stdout, struct {
				SchemaVersion int                 `json:"schema_version"`
				Stop          *wrapper.StopResult `json:"stop"`
				Verdict       *wrapper.Verdict    `json:"verdict"`
			}{wrapper.VerdictSchemaVersion, stopped, v})
		}
		return writeJSON(s.stdout, v)
	}
	if stopped != nil {
		if err := writeStopText(s.stdout, stopped); err != nil {
			return err
		}
	}
	return v.WriteText(s.stdout)
}
