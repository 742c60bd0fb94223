package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/hooks"
	"github.com/carbonguard/carbonguard/pack"
	"github.com/carbonguard/carbonguard/validate"
)

// The exit codes, documented in every command's help (EXIT STATUS) and in the
// README. A code once given a meaning keeps it.
const (
	exitOK             = 0  // success
	exitFindings       = 1  // check: findings at or above the fail threshold (also a start refused by the gate)
	exitUsage          = 2  // usage or configuration error: bad flags, bad carbonguard.toml, not a pack, invalid pack configuration
	exitFailure        = 3  // could not run: I/O error, missing tool, internal error
	exitLocked         = 4  // another running guarded operation holds the pack's lock (a dead holder never blocks: the kernel releases it)
	exitServerState    = 5  // the server is in the wrong state: running during a snapshot, restore or update; status: not running (stop of a stopped server is 0)
	exitRoot           = 6  // refused to start the server as root without --allow-root
	exitInterrupted    = 7  // interrupted by a signal; the next command finishes or undoes the step
	exitBootFailed     = 10 // start: the boot verdict is failed
	exitBootUnknown    = 11 // start: the boot verdict is unknown (timeout without a decision)
	exitCorrupt        = 20 // snapshot verify/restore: the archive does not match its manifest
	exitIncomplete     = 21 // snapshot verify/restore: the snapshot is incomplete (no manifest, truncated archive)
	exitUpdateFailed   = 30 // update: u2 failed; the pre-update snapshot was restored
	exitConflicts      = 31 // update: u2 left conflicts; resolve and run update --continue, or rollback
	exitRolledBack     = 32 // the boot after an update failed; the pack was rolled back and the old version is up
	exitNeedsAttention = 33 // the boot failed again after a rollback; the server is stopped and a person must look
	exitRecovered      = 34 // an interrupted operation was found and finished or undone; run the command again
)

const exitStatusHelp = `EXIT STATUS:
   0   success
   1   check: findings at or above the fail threshold (start: refused by the check gate)
   2   usage or configuration error (bad flags, bad carbonguard.toml, not a pack, invalid pack configuration)
   3   could not run (I/O error, missing tool, internal error)
   4   the pack is locked by another running guarded operation (carbonguard status shows which)
   5   the server is in the wrong state (running during a snapshot, restore or update); status: not running
   6   refused to start the server as root (use --allow-root, or run it as a configured user)
   7   interrupted by a signal; the next command finishes or undoes the step
   10  start: boot verdict failed
   11  start: boot verdict unknown
   20  snapshot: the archive is corrupt (does not match its manifest)
   21  snapshot: the snapshot is incomplete
   30  update: u2 failed and the pre-update snapshot was restored
   31  update: u2 left conflicts (resolve, then update --continue; or rollback)
   32  the boot after an update failed and the pack was rolled back; the old version is up
   33  the boot failed again after the rollback; the server is stopped, a person must look
   34  an interrupted operation was found and finished or undone
   run: the server's own exit status is passed through`

// exitCoder is implemented by errors that carry their own exit code.
type exitCoder interface {
	ExitCode() int
}

// usageError marks a mistake in how carbonguard was called or configured.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// codeError carries an exit code chosen by a command (e.g. a run passing the
// server's status through) and an optional message.
type codeError struct {
	code int
	err  error
}

func (e codeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e codeError) Unwrap() error { return e.err }
func (e codeError) ExitCode() int { return e.code }

// silent reports whether an error needs no message (the command printed its
// own report already).
func silent(err error) bool {
	var ce codeError
	return errors.As(err, &ce) && ce.err == nil
}

// exitCode is the one place that turns errors into exit codes and messages.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	code := classify(err)
	if !silent(err) {
		fmt.Fprintf(stderr, "carbonguard: error: %s\n", oneLine(err.Error()))
		if h := hint(err); h != "" {
			fmt.Fprintf(stderr, "carbonguard: hint: %s\n", h)
		}
	}
	return code
}

func classify(err error) int {
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	var notPack *pack.NotAPackError
	var cfgErr *pack.ConfigError
	var checkPolicyErr *validate.OptionsError
	switch {
	// The update transaction's outcomes (hooks), first: each is the
	// command's answer, whatever caused it.
	case errors.As(err, new(*hooks.RolledBackError)):
		return exitRolledBack
	case errors.As(err, new(*hooks.NeedsAttentionError)):
		return exitNeedsAttention
	case errors.As(err, new(*hooks.UpdateFailedError)):
		return exitUpdateFailed
	case errors.As(err, new(*hooks.ConflictsError)):
		return exitConflicts
	case errors.As(err, new(*hooks.RecoveredError)):
		return exitRecovered
	case errors.As(err, new(*hooks.LockedError)), errors.As(err, new(*hooks.OpenTxError)):
		return exitLocked
	case errors.As(err, new(*hooks.ServerRunningError)):
		return exitServerState
	case errors.As(err, new(*hooks.UsageError)), errors.As(err, new(*hooks.U2ArgsError)), errors.As(err, new(*hooks.NoSuchTxError)):
		return exitUsage
	case errors.As(err, &notPack), errors.As(err, &cfgErr):
		return exitUsage
	case errors.As(err, &checkPolicyErr): // bad [check] policy, e.g. an acceptance of an unknown check
		return exitUsage
	case errors.As(err, new(*archive.CorruptError)):
		return exitCorrupt
	case errors.As(err, new(*archive.IncompleteError)):
		return exitIncomplete
	case errors.As(err, new(*archive.NotFoundError)), errors.As(err, new(*archive.UsageError)), errors.As(err, new(*archive.UnstorableError)):
		return exitUsage
	case errors.Is(err, archive.ErrBusy):
		return exitLocked
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	}
	if code, ok := startExitCode(err); ok { // start, run, restart (cmd_start.go)
		return code
	}
	// urfave/cli reports unknown flags and commands as plain errors.
	msg := err.Error()
	for _, p := range []string{"flag provided but not defined", "Required flag", "invalid value", "No help topic", "unknown command"} {
		if strings.Contains(msg, p) {
			return exitUsage
		}
	}
	return exitFailure
}

// hint suggests what to do next for known mistakes.
func hint(err error) string {
	var notPack *pack.NotAPackError
	if errors.As(err, &notPack) {
		return "point --home (or $CARBON_HOME) at the product's home directory, the one holding bin/ and repository/ (MI: conf/)"
	}
	if errors.As(err, new(*archive.UnstorableError)) {
		return "exclude them (snapshot create --exclude PATH, or [snapshot] exclude in carbonguard.toml; a whole restore keeps the live ones), or make them readable; nothing was written"
	}
	type hinter interface{ Hint() string }
	var h hinter
	if errors.As(err, &h) {
		return h.Hint()
	}
	return ""
}

func oneLine(s string) string { return strings.TrimSpace(s) }

// Keep cli imported for helpers in other files that build commands.
var _ = cli.Exit
