package wrapper

import (
	"fmt"
	"strings"
)

// The errors name what happened to the server; what to do about it, in
// carbonguard's commands and flags, is the command layer's to say.

// BootError is a boot whose verdict is not up. The verdict, with its
// evidence, is in Verdict; Interrupted is set when carbonguard was
// interrupted before the verdict (Unwrap returns the cause then).
type BootError struct {
	Verdict     *Verdict
	Interrupted error
	// Stopped is true when carbonguard stopped the failed server itself
	// (run: a failed boot that was still running).
	Stopped bool
}

func (e *BootError) Error() string {
	return fmt.Sprintf("boot verdict %s: %s", e.Verdict.State, e.Verdict.Reason)
}

func (e *BootError) Unwrap() error { return e.Interrupted }

// ExitedWithoutLog reports whether the server exited before writing a
// line to its log (JAVA_HOME, JVM options: its console tells why).
func (e *BootError) ExitedWithoutLog() bool {
	v := e.Verdict
	return v.Exit != nil && !hasKind(v.Lines, kindFailure) && v.Log.LinesRead == 0
}

func hasKind(ls []LogLine, kind string) bool {
	for _, l := range ls {
		if l.Kind == kind {
			return true
		}
	}
	return false
}

// RootError is a refused start as root.
type RootError struct {
	User string // the user the server would have run as
}

func (e *RootError) Error() string {
	return fmt.Sprintf("refusing to start the server as %s: a WSO2 server should run as an unprivileged user", e.User)
}

// GateError is a start refused by the production checks.
type GateError struct {
	Result GateResult
	Err    error // the gate could not run
}

func (e *GateError) Error() string {
	if e.Err != nil {
		return "the check gate could not run: " + e.Err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "refusing to start: %d finding(s) at or above %s", len(e.Result.Findings), e.Result.Threshold)
	if e.Result.Summary != "" {
		fmt.Fprintf(&b, " (failures by severity: %s)", e.Result.Summary)
	}
	const show = 10
	for i, f := range e.Result.Findings {
		if i == show {
			fmt.Fprintf(&b, "\n  … and %d more", len(e.Result.Findings)-show)
			break
		}
		b.WriteString("\n  " + f)
	}
	return b.String()
}

func (e *GateError) Unwrap() error { return e.Err }
