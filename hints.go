package main

import (
	"fmt"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/clone"
	"github.com/carbonguard/carbonguard/drill"
	"github.com/carbonguard/carbonguard/pack"
	"github.com/carbonguard/carbonguard/wrapper"
)

// hint suggests what to do next, in carbonguard's commands and flags. The
// library packages name what went wrong and never a flag of this CLI; the
// advice that does is here (cliHint). Going down the chain of wrapped
// errors, the first one with advice gives it: carbonguard's, else its own
// Hint method (hooks, validate, archive).
func hint(err error) string {
	type hinter interface{ Hint() string }
	for _, e := range chain(err) {
		if h := cliHint(e); h != "" {
			return h
		}
		if h, ok := e.(hinter); ok {
			return h.Hint()
		}
	}
	return ""
}

// chain lists err and the errors it wraps, depth first, as errors.As
// visits them.
func chain(err error) []error {
	if err == nil {
		return nil
	}
	out := []error{err}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		out = append(out, chain(u.Unwrap())...)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			out = append(out, chain(e)...)
		}
	}
	return out
}

// cliHint is carbonguard's advice for one error (not what it wraps).
func cliHint(err error) string {
	switch e := err.(type) {
	case *drill.FailedError, *clone.RefusedError:
		return drillHint(err)
	case *drill.NoSnapshotError:
		return "verify one (carbonguard snapshot verify ID), take one (carbonguard snapshot create --verify), or name an unverified one: carbonguard drill ID"
	case *drill.BusyError:
		return "wait for it to finish; the lock is released when that process exits"
	case *drill.TargetError:
		return "give --target a directory that does not exist yet, outside the live pack (or leave it out: the copy then goes to the state directory)"
	case *clone.OverrideError:
		return "fix [drill.overrides] in carbonguard.toml: its tables must match the copy's deployment.toml"
	case *pack.NotAPackError:
		return "point --home (or $CARBON_HOME) at the product's home directory, the one holding bin/ and repository/ (MI: conf/)"
	case *pack.ServerRunningError:
		switch e.Op {
		case "start", "run", "restart":
			return "use carbonguard restart, or carbonguard stop first"
		case snapshotCreateOp:
			return "stop it first (carbonguard stop), or pass --allow-running to take a snapshot that may be inconsistent"
		case snapshotRestoreOp:
			return "stop it first (carbonguard stop)"
		default: // the update transaction: update, hook pre-update, rollback
			return "stop it first (carbonguard stop), or pass --stop-server to let carbonguard stop it"
		}
	case *wrapper.BootError:
		return bootHint(e)
	case *wrapper.RootError:
		return "set [start] user = \"<user>\" in carbonguard.toml to run the server as that user, run carbonguard as that user, or pass --allow-root"
	case *wrapper.GateError:
		return "run carbonguard check for the details and fix the findings, accept the risk in carbonguard.toml, or pass --force --force-reason \"why\""
	case *archive.UnstorableError:
		return "exclude them (snapshot create --exclude PATH, or [snapshot] exclude in carbonguard.toml; a whole restore keeps the live ones), or make them readable; nothing was written"
	case *archive.IncompleteError:
		return "this snapshot cannot be restored; delete it (snapshot prune) and take a new one"
	case *archive.InsufficientSpaceError:
		return "free space there (snapshot prune removes old snapshots) or exclude large directories such as repository/logs"
	case *archive.InUseError:
		return "wait until it ends (carbonguard history lists the drills, status an update); the mark of a process that is gone no longer counts, and snapshot prune removes it"
	case *archive.NotFoundError:
		return "snapshot list shows the snapshots there are"
	}
	return ""
}

// bootHint says what to look at after a boot that was not up.
func bootHint(e *wrapper.BootError) string {
	v := e.Verdict
	switch {
	case e.Interrupted != nil:
		return "the server may still be booting: see carbonguard status, or stop it with carbonguard stop"
	case v.State == wrapper.Unknown:
		return "the server is running but could not be confirmed healthy; check the endpoints listed above and " + v.Log.Path
	case e.ExitedWithoutLog() && v.Console != nil && len(v.Console.Tail) > 0:
		return "the server exited without writing to its log: the verdict shows its console's last lines (JAVA_HOME, JVM options)"
	case e.ExitedWithoutLog():
		return "the server exited without writing to its log: run carbonguard run to see its console output (JAVA_HOME, JVM options)"
	case v.Exit == nil && !e.Stopped:
		return fmt.Sprintf("the failed server is still running (pid %d) for inspection; stop it with carbonguard stop", v.PID)
	default:
		return "see the evidence above and " + v.Log.Path
	}
}
