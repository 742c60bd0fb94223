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
