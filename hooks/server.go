package hooks

import (
	"context"

	"github.com/carbonguard/carbonguard/wrapper"
)

// Server is the pack's server as hooks drives it. main implements it with
// the wrapper; hooks imports only the wrapper's verdict type from it (the
// wrapper imports nothing of hooks: main composes the two).
type Server interface {
	// Running reports whether the pack's server process is alive, and its PID.
	Running(ctx context.Context) (pid int, running bool, err error)
	// Stop stops the server and returns once it is gone (a stopped server is
	// not an error).
	Stop(ctx context.Context) error
	// Start starts the server and judges its boot. A boot that is not up is
	// still a verdict (returned with or without an error saying so); a nil
	// verdict with an error means the start could not be attempted.
	Start(ctx context.Context) (*wrapper.Verdict, error)
}
