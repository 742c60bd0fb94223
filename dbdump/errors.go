package dbdump

import (
	"fmt"
	"strings"
)

// ConfigError is a [[snapshot.database]] entry that cannot be used: an
// unknown datasource, a URL that names no host, a password that cannot be
// read. Key names the setting to fix.
type ConfigError struct {
	Name string // the entry's name
	Key  string // e.g. "name", "password_file", "dump"
	Msg  string
	Fix  string // what to do about it
}

// Hint says what to do.
func (e *ConfigError) Hint() string { return e.Fix }

func (e *ConfigError) Error() string {
	s := fmt.Sprintf("[[snapshot.database]] name = %q: %s", e.Name, e.Msg)
	if e.Key != "" && e.Key != "name" {
		s = fmt.Sprintf("[[snapshot.database]] name = %q, %s: %s", e.Name, e.Key, e.Msg)
	}
	return s
}

// RunError is a dump or restore command that failed: it could not start, or
// it exited non-zero. Stderr is the tail of its error output, with the
// password masked.
type RunError struct {
	Name     string // the database entry
	Op       string // "dump" or "restore"
	Command  string // the program
	ExitCode int    // -1 when it did not start or was killed
	Stderr   string
	Err      error
}

func (e *RunError) Error() string {
	what := fmt.Sprintf("%s of database %s failed: %s", e.Op, e.Name, e.Command)
	switch {
	case e.ExitCode > 0:
		what += fmt.Sprintf(" exited with status %d", e.ExitCode)
	case e.Err != nil:
		what += ": " + e.Err.Error()
	}
	if s := strings.TrimSpace(e.Stderr); s != "" {
		what += ": " + lastLines(s, 3)
	}
	return what
}

func (e *RunError) Unwrap() error { return e.Err }

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
