package pack

import (
	"fmt"
	"strings"
)

// NotAPackError says a directory is not a product home, and what was looked for.
type NotAPackError struct {
	Dir       string
	LookedFor []string // the files whose absence decided it, relative to Dir
}

func (e *NotAPackError) Error() string {
	return fmt.Sprintf("%s is not a WSO2 product home: found none of %s", e.Dir, strings.Join(e.LookedFor, ", "))
}

// ConfigError is a configuration file of the pack that cannot be read or
// parsed. Pos names the file (relative to the home) and, when known, the line.
type ConfigError struct {
	Pos  Position
	What string // what was wrong, for people
	Err  error  // the underlying cause
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("%s: %s", e.Pos, e.What)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// ServerRunningError refuses an operation that needs the pack's server
// stopped (RunningPID said it runs): a second start, a snapshot or restore,
// an update or rollback. The command layer adds how to get out of it.
type ServerRunningError struct {
	PID int
	Op  string // the operation refused: "start", "snapshot create", "update", ...
	// Why Op needs the server stopped; "" for a start, where the server
	// would simply run twice.
	Why string
}

func (e *ServerRunningError) Error() string {
	if e.Why == "" {
		return fmt.Sprintf("the server is already running (pid %d)", e.PID)
	}
	return fmt.Sprintf("the server is running (PID %d): %s needs it stopped, because %s", e.PID, e.Op, e.Why)
}
