package wrapper

import (
	"fmt"
	"strings"
)

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

// Hint tells what to look at next.
func (e *BootError) Hint() string {
	v := e.Verdict
	switch {
	case e.Interrupted != nil:
		return "the server may still be booting: see carbonguard status, or stop it with carbonguard stop"
	case v.State == Unknown:
		return "the server is running but could not be confirmed healthy; check the endpoints listed above and " + v.Log.Path
	case v.Exit != nil && !hasKind(v.Lines, kindFailure) && v.Log.LinesRead == 0:
		return "the server exited without writing to its log: run carbonguard run to see its console output (JAVA_HOME, JVM options)"
	case v.Exit == nil && !e.Stopped:
		return "the failed server is still running (pid " + fmt.Sprint(v.PID) + ") for inspection; stop it with carbonguard stop"
	default:
		return "see the evidence above and " + v.Log.Path
	}
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

// Hint tells the ways out.
func (e *RootError) Hint() string {
	return "set [start] user = \"<user>\" in carbonguard.toml to run the server as that user, run carbonguard as that user, or pass --allow-root"
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

// Hint tells the ways out.
func (e *GateError) Hint() string {
	return "run carbonguard check for the details and fix the findings, accept the risk in carbonguard.toml, or pass --force --force-reason \"why\""
}

// AlreadyRunningError is a start of a server that runs.
type AlreadyRunningError struct {
	PID int
}

func (e *AlreadyRunningError) Error() string {
	return fmt.Sprintf("the server is already running (pid %d)", e.PID)
}

// Hint tells the ways out.
func (e *AlreadyRunningError) Hint() string {
	return "use carbonguard restart, or carbonguard stop first"
}
