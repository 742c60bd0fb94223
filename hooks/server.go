package hooks

import (
	"context"
	"encoding/json"
)

// BootState is the wrapper's verdict on a boot.
type BootState string

// The verdicts.
const (
	BootUp      BootState = "up"
	BootFailed  BootState = "failed"
	BootUnknown BootState = "unknown"
)

// Boot is a boot verdict as hooks needs it: the state, one line for people,
// and the wrapper's full verdict (kept verbatim in the journal, the failed
// directory and notifications).
type Boot struct {
	State   BootState
	Summary string
	Verdict json.RawMessage
}

// Server is the pack's server as hooks drives it. hooks does not import the
// wrapper (the arrows point main → wrapper → hooks); main adapts the
// wrapper to this interface.
type Server interface {
	// Running reports whether the pack's server process is alive, and its PID.
	Running(ctx context.Context) (pid int, running bool, err error)
	// Stop stops the server and returns once it is gone (a stopped server is
	// not an error).
	Stop(ctx context.Context) error
	// Start starts the server and returns the verdict on its boot. A boot
	// that is not up is a Boot with that state, not an error; an error means
	// the start could not be attempted.
	Start(ctx context.Context) (Boot, error)
}
