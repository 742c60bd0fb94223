package main

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/drill"
	"github.com/carbonguard/carbonguard/hooks"
	"github.com/carbonguard/carbonguard/wrapper"
)

func statusCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "is the server running: PID, uptime, listening ports, the last boot verdict",
		ArgsUsage: " ",
		Description: `status reports whether the pack's server runs (PID file and a live process whose
command line names this home), since when, which ports of the pack's port table listen (and
whether the server or another process holds them), the last boot verdict, and the update
transaction, if one is open, and the last restore drill. It exits 0 when the server runs and 5 when it does not.
`,
		Flags:  []cli.Flag{textOrJSON.flag()},
		Action: action(e, needs{config: true, state: true, pack: packProcess}, newStatusOptions, runStatus),
	}
}

type statusOptions struct {
	format string
	server wrapper.Options
}

func newStatusOptions(c *cli.Context, s *session) (statusOptions, error) {
	format, err := textOrJSON.of(c)
	if err != nil {
		return statusOptions{}, err
	}
	if err := noArgs(c, "status"); err != nil {
		return statusOptions{}, err
	}
	o := statusOptions{format: format, server: s.serverOptions()}
	o.server.StatusSections = append(o.server.StatusSections, updateStatusSection(s.state), drillStatusSection(s.state))
	return o, nil
}

func runStatus(ctx context.Context, s *session, o statusOptions) error {
	srv, err := s.server(o.server)
	if err != nil {
		return err
	}
	st, err := srv.Status(ctx)
	if err != nil {
		return err
	}
	if lo := restoreLeftovers(s.state, s.home); lo != nil {
		st.Sections = append(st.Sections, wrapper.StatusSection{Name: "restore", Text: lo.text(), Data: lo})
	}
	if ce := s.pack.ConfigErr; ce != nil {
		st.Sections = append(st.Sections, wrapper.StatusSection{Name: "configuration",
			Text: "cannot be read, ports not shown: " + ce.Error(), Data: map[string]string{"error": ce.Error()}})
	}
	if o.format == "json" {
		err = writeJSON(s.stdout, st)
	} else {
		err = st.WriteText(s.stdout)
	}
	if err != nil {
		return err
	}
	if !st.Running {
		return codeError{code: exitServerState}
	}
	return nil
}

// updateStatusSection adds the update transaction to status.
func updateStatusSection(state string) func(context.Context) (wrapper.StatusSection, error) {
	return func(context.Context) (wrapper.StatusSection, error) {
		sec := wrapper.StatusSection{Name: "update"}
		rep, err := hooks.Status(state)
		if err != nil {
			return sec, err
		}
		sec.Data = rep
		switch {
		case rep.Open != nil:
			sec.Text = fmt.Sprintf("transaction %s is %s; %s", rep.Open.ID, rep.Open.State, rep.Next)
		case rep.Next != "":
			sec.Text = rep.Next
		default:
			sec.Text = "no update in progress"
		}
		return sec, nil
	}
}

// drillStatusSection adds the last restore drill to status.
func drillStatusSection(state string) func(context.Context) (wrapper.StatusSection, error) {
	return func(context.Context) (wrapper.StatusSection, error) {
		sec := wrapper.StatusSection{Name: "drill"}
		r, err := drill.Last(state)
		if err != nil {
			return sec, err
		}
		if r == nil {
			sec.Text = "no restore drill yet (carbonguard drill)"
			return sec, nil
		}
		sec.Data = r
		sec.Text = fmt.Sprintf("last drill %s %s (%s, level %s) of snapshot %s", r.ID, r.State, r.Started.Local().Format(time.DateTime), orDash(r.Level), orDash(r.Snapshot.ID))
		if r.RTO != nil {
			sec.Text += fmt.Sprintf("; RTO %s (restore %s + boot %s)", ms(r.RTO.TotalMS), ms(r.RTO.RestoreMS), ms(r.RTO.BootMS))
		}
		if !r.Passed() {
			if p, err := drill.LastPassed(state, false); err == nil && p != nil {
				sec.Text += fmt.Sprintf("; last passed: %s (%s)", p.ID, p.Started.Local().Format(time.DateTime))
			}
		}
		return sec, nil
	}
}
