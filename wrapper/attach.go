package wrapper

import (
	"context"
	"fmt"
	"os"
	"time"
)

// Attach supervises a server of this pack that is already running (started
// in the background by Start) in the foreground, as Run does for one it
// launched: it returns when the server exits, and SIGINT, SIGTERM or SIGHUP
// from sigs stop it (Stop: SIGTERM, wait, SIGKILL).
//
// It exists for the run command after a rollback: the restored server was
// started by Start, and under systemd the unit's main process (carbonguard
// run) must stay as long as that server runs, or the service would be
// considered dead and its processes killed.
//
// The server is not carbonguard's child, so its own exit status cannot be
// read: ExitStatus is 128+15 when Attach stopped it (what a JVM stopped by
// SIGTERM reports) and 1 when it ended on its own.
func (s *Server) Attach(ctx context.Context, sigs <-chan os.Signal) (*RunResult, error) {
	pid, running, err := s.p.RunningPID()
	if err != nil {
		return nil, err
	}
	if !running {
		return nil, fmt.Errorf("no server of %s is running to attach to", s.p.Home)
	}
	s.log.Info().Int("pid", pid).Msg("supervising the running server in the foreground")
	res := &RunResult{}
	poll := time.NewTicker(250 * time.Millisecond)
	defer poll.Stop()
	stop := func(why string) (*RunResult, error) {
		res.StoppedBy = why
		_ = s.o.Notify.Stopping("stopping: " + why)
		sr, err := s.Stop(context.WithoutCancel(ctx))
		if sr != nil {
			res.Killed = sr.Killed
		}
		res.ExitStatus = 128 + 15
		return res, err
	}
	for {
		select {
		case sig := <-sigs:
			return stop("signal " + signalName(sig))
		case <-ctx.Done():
			return stop("context: " + context.Cause(ctx).Error())
		case <-poll.C:
			if !processAlive(pid) {
				s.log.Warn().Int("pid", pid).Msg("the server exited on its own")
				_ = s.o.Notify.Stopping("the server exited")
				res.ExitStatus = 1
				return res, nil
			}
		}
	}
}
