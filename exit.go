package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/carbonguard/carbonguard/archive"
	"github.com/carbonguard/carbonguard/clone"
	"github.com/carbonguard/carbonguard/dbdump"
	"github.com/carbonguard/carbonguard/drill"
	"github.com/carbonguard/carbonguard/hooks"
	"github.com/carbonguard/carbonguard/internal/netns"
	"github.com/carbonguard/carbonguard/pack"
	"github.com/carbonguard/carbonguard/remote"
	"github.com/carbonguard/carbonguard/validate"
	"github.com/carbonguard/carbonguard/wrapper"
)

// This file is the one place where errors become exit codes and messages:
// the codes, their help text, and exitRules, which gives every exported
// error type of every package its code (TestEveryErrorTypeHasAnExitCode
// reads the packages' sources and fails when one is missing). The hints
// that name commands and flags are in hints.go.

// The exit codes, documented in the help (EXIT STATUS: every code in
// carbonguard --help, each command's own in its help) and in the README. A
// code once given a meaning keeps it.
const (
	exitOK             = 0  // success
	exitFindings       = 1  // a check refused: findings at or above the fail threshold (check, the start gate), or the update's safety preflight
	exitUsage          = 2  // usage or configuration error: bad flags, bad carbonguard.toml, not a pack, invalid pack configuration
	exitFailure        = 3  // could not run: I/O error, missing tool, internal error
	exitLocked         = 4  // another running guarded operation holds the pack's lock (a dead holder never blocks: the kernel releases it); stop, start, restart and run refuse too; or a snapshot to delete is in use (archive.InUseError)
	exitServerState    = 5  // the server is in the wrong state: running during a snapshot, restore or update; status: not running (stop of a stopped server is 0)
	exitRoot           = 6  // refused to start the server as root without --allow-root
	exitInterrupted    = 7  // interrupted by a signal; the next command finishes or undoes the step
	exitBootFailed     = 10 // start: the boot verdict is failed
	exitBootUnknown    = 11 // start: the boot verdict is unknown (timeout without a decision)
	exitDrillFailed    = 12 // drill: the copy did not boot up (verdict failed or unknown) or did not match its snapshot
	exitCorrupt        = 20 // snapshot verify/restore: the archive does not match its manifest
	exitIncomplete     = 21 // snapshot verify/restore: the snapshot is incomplete (no manifest, truncated archive)
	exitUpdateFailed   = 30 // update: u2 failed; the pre-update snapshot was restored
	exitUpdateOpen     = 31 // an update transaction is open and waits for the operator: conflicts to resolve (update --continue), u2 to run again (hook post-update after exit 2), or a command refused because one is open
	exitRolledBack     = 32 // the boot after an update failed; the pack was rolled back and the old version is up
	exitNeedsAttention = 33 // the boot failed again after a rollback; the server is stopped and a person must look
	exitRecovered      = 34 // an interrupted operation was found and finished or undone, and nothing else was done (the recovery rule, below)
	// update --rehearse: the updated copy did not boot up, so the update was
	// not applied; the live pack and server were never touched. Not 32 (that
	// says the live node went down, booted the update and was rolled back)
	// nor 10/11 (the live server's own boot): nothing happened to the live
	// node, and a rollout reads that differently (no outage, no incident).
	exitRehearsalFailed = 35
)

// exitMeaning is one line of an EXIT STATUS table: what code means, and,
// for the commands of by, what it means there when that is narrower.
type exitMeaning struct {
	code int
	text string
	by   map[string]string
}

// exitMeanings are the codes in order, with their help text.
var exitMeanings = []exitMeaning{
	{exitOK, "success", nil},
	{exitFindings, "check: findings at or above the fail threshold (start: refused by the check gate;\n" +
		"update, hook pre-update: refused by the update's safety preflight, nothing changed)", map[string]string{
		"check":            "findings at or above the fail threshold",
		"start":            "refused by the check gate (nothing was started)",
		"run":              "refused by the check gate (nothing was started)",
		"restart":          "refused by the check gate (the server was stopped and not started)",
		"update":           "refused by the update's safety preflight (or, with --start, the check gate); nothing changed",
		"hook pre-update":  "refused by the update's safety preflight; nothing changed",
		"hook post-update": "with --start: refused by the check gate; the update awaits its first boot",
	}},
	{exitUsage, "usage or configuration error (bad flags, bad carbonguard.toml, not a pack, invalid pack configuration)", map[string]string{
		"snapshot create": "usage or configuration error (bad flags, bad carbonguard.toml, not a pack), or entries a\n" +
			"snapshot cannot hold (FIFOs, sockets, devices, unreadable files), all listed",
	}},
	{exitFailure, "could not run (I/O error, missing tool, internal error)", nil},
	{exitLocked, "the pack is locked by another running guarded operation (carbonguard status shows which);\n" +
		"stop, start, restart and run refuse too (stop --force overrides, logged); or a snapshot to\n" +
		"delete is in use by a running drill, update rehearsal, verify or push", map[string]string{
		"stop":   "a guarded operation (update, first boot, rollback) holds the pack's lock; --force stops the server anyway (logged)",
		"drill":  "another drill runs on this state directory",
		"update": "the pack is locked by another running guarded operation (carbonguard status shows which)",
	}},
	{exitServerState, "the server is in the wrong state (running during a snapshot, restore or update); status: not running", map[string]string{
		"status":           "the server is not running",
		"snapshot create":  "the server is running (stop it first; --allow-running takes the snapshot anyway)",
		"snapshot restore": "the server is running (stop it first)",
		"update":           "the server is running (stop it first, or pass --stop-server)",
		"hook pre-update":  "the server is running (stop it first, or pass --stop-server)",
		"rollback":         "the server is running (stop it first, or pass --stop-server)",
		"start":            "the server is running already (carbonguard restart restarts it)",
		"run":              "the server is running already",
	}},
	{exitRoot, "refused to start the server as root (use --allow-root, or run it as a configured user)", nil},
	{exitInterrupted, "interrupted by a signal; the next command finishes or undoes the step", nil},
	{exitBootFailed, "start: boot verdict failed", map[string]string{
		"start":   "boot verdict failed (the server is left as it is: stop it with carbonguard stop)",
		"restart": "boot verdict failed (the server is left as it is: stop it with carbonguard stop)",
		"run":     "boot verdict failed; the server was stopped",
	}},
	{exitBootUnknown, "start: boot verdict unknown", map[string]string{
		"start":   "boot verdict unknown (the server runs but was not confirmed healthy)",
		"restart": "boot verdict unknown (the server runs but was not confirmed healthy)",
	}},
	{exitDrillFailed, "drill: the copy of the snapshot did not boot up (verdict failed or unknown), or did not\n" +
		"match its snapshot; the drill's record keeps the verdict and the evidence (a refused\n" +
		"drill, for production databases or no isolation, is a usage error: 2)", nil},
	{exitCorrupt, "snapshot: the archive is corrupt (does not match its manifest)", map[string]string{
		"rollback": "the snapshot to restore is corrupt; the rollback was refused and the pack was not changed",
	}},
	{exitIncomplete, "snapshot: the snapshot is incomplete", map[string]string{
		"rollback": "the snapshot to restore is incomplete; the rollback was refused and the pack was not changed",
	}},
	{exitUpdateFailed, "update: u2 failed and the pre-update snapshot was restored (--rehearse: u2 failed on the\n" +
		"copy; the live pack was never touched)", map[string]string{
		"update":           "u2 failed and the pre-update snapshot was restored (--rehearse: u2 failed on the copy; the live pack was never touched)",
		"hook post-update": "u2 failed (--exit-code 1, 4 or another) and the pre-update snapshot was restored",
	}},
	{exitUpdateOpen, "an update transaction is open and waits for you: u2 left conflicts (resolve, then update\n" +
		"--continue; or rollback); hook post-update: u2 exited 2 (run it again); or this command\n" +
		"was refused because that transaction is open (carbonguard status says how to move it on)", map[string]string{
		"update":           "u2 left conflicts (resolve, then update --continue; or rollback); the transaction stays open",
		"hook post-update": "u2 left conflicts (--exit-code 3), or exited 2 (it updated itself: run it again); the transaction stays open",
	}},
	{exitRolledBack, "the boot after an update failed and the pack was rolled back; the old version is up", nil},
	{exitNeedsAttention, "the boot failed again after the rollback; the server is stopped, a person must look", map[string]string{
		"rollback": "the restore failed; the server is stopped, a person must look",
	}},
	{exitRecovered, "an interrupted operation was found and finished or undone, and nothing else was done", map[string]string{
		"update":          "an interrupted operation was found and finished or undone; nothing else was done: run it again",
		"hook pre-update": "an interrupted operation was found and finished or undone; nothing else was done: run it again",
	}},
	{exitRehearsalFailed, "update --rehearse: the updated copy did not boot up (verdict failed or unknown); the update\n" +
		"was not applied, the live pack and server were never touched; the copy's evidence is kept", nil},
}

// recoveryRuleHelp is the recovery rule, in carbonguard's own help.
const recoveryRuleHelp = `   After a crash or kill, the next update, hook, rollback, start, run or restart first finishes
   or undoes what was left, says so, and stops there: 34 when the pack is in a known state again
   (as before the update, or rolled back and up), 33 when a person must look. The exception is
   rollback when that recovery already restored the update it was asked to roll back: 0.`

// passThrough is the EXIT STATUS line of run, which exits with the server's
// own status.
const passThrough = "run: the server's own exit status is passed through"

// commandExits are the codes each command can return, by its path ("" is
// carbonguard itself, which lists them all). Its help's EXIT STATUS shows
// these (TestCommandsDeclareTheirExitCodes; TestScripts fails when a
// script sees a command exit with a code it does not declare). A new
// command, or a command meeting a new error, declares its codes here.
var commandExits = map[string][]int{
	"version": {0, 2, 3},
	"pack":    {0, 2, 3},
	"check":   {0, 1, 2, 3},
	"checks":  {0, 2, 3},
	"ports":   {0, 2, 3},
	"history": {0, 2, 3},

	"snapshot create":         {0, 2, 3, 4, 5, 7, 20, 21},
	"snapshot list":           {0, 2, 3},
	"snapshot show":           {0, 2, 3, 20, 21},
	"snapshot verify":         {0, 2, 3, 7, 20, 21},
	"snapshot diff":           {0, 2, 3, 20, 21},
	"snapshot restore":        {0, 2, 3, 4, 5, 7, 20, 21},
	"snapshot push":           {0, 2, 3, 7, 20, 21},
	"snapshot pull":           {0, 2, 3, 4, 7, 20, 21},
	"snapshot prune":          {0, 2, 3, 4},
	"snapshot drop-displaced": {0, 2, 3, 4},

	// A start inside an update's first boot answers with the update's
	// outcome (32, 33).
	"start":   {0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 31, 32, 33, 34},
	"restart": {0, 1, 2, 3, 4, 6, 7, 10, 11, 31, 32, 33, 34},
	"run":     {0, 1, 2, 3, 4, 5, 6, 7, 10, 31, 33, 34}, // and the server's own status
	"stop":    {0, 2, 3, 4, 7},
	"status":  {0, 2, 3, 5},

	"update":           {0, 1, 2, 3, 4, 5, 6, 7, 30, 31, 32, 33, 34, 35},
	"hook pre-update":  {0, 1, 2, 3, 4, 5, 7, 31, 33, 34},
	"hook post-update": {0, 1, 2, 3, 4, 5, 6, 7, 30, 31, 32, 33, 34},
	"rollback":         {0, 2, 3, 4, 5, 6, 7, 20, 21, 31, 32, 33, 34},

	"drill": {0, 1, 2, 3, 4, 7, 12, 20, 21},

	"completion": {0, 2, 3},
	"__complete": {0, 2, 3},
}

// exitStatusHelp is the whole table, in carbonguard's own help.
var exitStatusHelp = exitStatusFor("")

// exitStatusFor is the EXIT STATUS section of the command at path: the
// codes it declares in commandExits; for a command with subcommands, theirs;
// for carbonguard itself, every code.
func exitStatusFor(path string) string {
	codes, own := commandExits[path]
	if !own && path != "" {
		for p, cs := range commandExits {
			if strings.HasPrefix(p, path+" ") {
				own = true
				for _, c := range cs {
					if !slices.Contains(codes, c) {
						codes = append(codes, c)
					}
				}
			}
		}
	}
	var b strings.Builder
	b.WriteString("EXIT STATUS:")
	for _, m := range exitMeanings {
		if own && !slices.Contains(codes, m.code) {
			continue
		}
		text := m.text
		if t, ok := m.by[path]; ok && own {
			text = t
		}
		fmt.Fprintf(&b, "\n   %-3d %s", m.code, strings.ReplaceAll(text, "\n", "\n       "))
	}
	switch {
	case !own:
		b.WriteString("\n\n" + recoveryRuleHelp)
		b.WriteString("\n   " + passThrough)
	case path == "run":
		b.WriteString("\n   any other: the server's own exit status (143 after SIGTERM, as every JVM reports it)")
	}
	if own {
		b.WriteString("\n   (every code: carbonguard --help, or man carbonguard)")
	}
	return b.String()
}

// usageError marks a mistake in how carbonguard was called or configured.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// codeError carries an exit code chosen by a command (a run passing the
// server's status through, a report already printed) and an optional
// message; without one nothing more is printed.
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

// exitCode turns an error into the exit code and, unless the command printed
// its own report already, the message and the hint.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	code := classify(err)
	var ce codeError
	if errors.As(err, &ce) && ce.err == nil {
		return code
	}
	fmt.Fprintf(stderr, "carbonguard: error: %s\n", strings.TrimSpace(err.Error()))
	if h := hint(err); h != "" {
		fmt.Fprintf(stderr, "carbonguard: hint: %s\n", h)
	}
	return code
}

// classify is the exit code of err: the first rule of exitRules that
// matches. A wrapped error is classified by what it wraps.
func classify(err error) int {
	for _, r := range exitRules {
		if code, ok := r.code(err); ok {
			return code
		}
	}
	return exitFailure
}

// An exitRule gives one error type (or value) its exit code.
type exitRule struct {
	name string // as the sources spell it, e.g. "hooks.LockedError"
	code func(error) (int, bool)
}

// errorType is the rule "any error that is (or wraps) a T exits with code".
func errorType[T error](code int) exitRule {
	return errorTypeFunc(func(T) int { return code })
}

// errorTypeFunc is errorType with a code that depends on the error.
func errorTypeFunc[T error](code func(T) int) exitRule {
	t := reflect.TypeFor[T]()
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return exitRule{name: t.String(), code: func(err error) (int, bool) {
		var target T
		if errors.As(err, &target) {
			return code(target), true
		}
		return 0, false
	}}
}

// errorValue is the rule for a sentinel error value.
func errorValue(name string, target error, code int) exitRule {
	return exitRule{name: name, code: func(err error) (int, bool) { return code, errors.Is(err, target) }}
}

// exitRules, in the order they are tried: what a command chose itself, then
// the update transaction's outcomes (each is the command's answer, whatever
// caused it), then the rest. Everything else is exitFailure.
var exitRules = []exitRule{
	errorTypeFunc(func(e codeError) int { return e.code }),
	errorType[usageError](exitUsage),

	errorType[*hooks.RolledBackError](exitRolledBack),
	errorType[*hooks.NeedsAttentionError](exitNeedsAttention),
	errorType[*hooks.UpdateFailedError](exitUpdateFailed),
	errorType[*hooks.RehearsalFailedError](exitRehearsalFailed),
	errorType[*hooks.ConflictsError](exitUpdateOpen),
	// hook post-update --exit-code 2: u2 updated itself; the transaction
	// stays open until the operator runs it again, as on conflicts.
	errorType[*hooks.PendingError](exitUpdateOpen),
	errorType[*hooks.RecoveredError](exitRecovered),
	errorType[*hooks.LockedError](exitLocked),
	// An open transaction is not a lock (nothing runs): it waits for the
	// operator, as after conflicts.
	errorType[*hooks.OpenTxError](exitUpdateOpen),
	// The update's safety preflight (free space, product.txt, leftover
	// conflicts, the update tool) refused, nothing changed: a check that
	// blocks, as the start gate's findings do.
	errorType[*hooks.PreflightError](exitFindings),
	errorType[*hooks.UsageError](exitUsage),
	errorType[*hooks.U2ArgsError](exitUsage),
	errorType[*hooks.NoSuchTxError](exitUsage),

	// A drill: a copy that did not boot up fails it; a refusal (the copy
	// would use production's databases or network, a target in the live
	// pack, overrides that do not fit) is a configuration matter.
	errorType[*drill.FailedError](exitDrillFailed),
	errorType[*drill.RefusedError](exitUsage),
	errorType[*drill.TargetError](exitUsage),
	errorType[*drill.NoSnapshotError](exitUsage),
	errorType[*drill.NotFoundError](exitUsage),
	errorType[*drill.BusyError](exitLocked),
	errorType[*clone.RefusedError](exitUsage),
	errorType[*clone.OverrideError](exitUsage),
	errorValue("netns.ErrNotPermitted", netns.ErrNotPermitted, exitUsage),

	errorType[*pack.ServerRunningError](exitServerState),
	errorType[*pack.NotAPackError](exitUsage),
	errorType[*pack.ConfigError](exitUsage),
	errorType[*validate.OptionsError](exitUsage), // bad [check] policy, e.g. an acceptance of an unknown check

	errorType[*archive.CorruptError](exitCorrupt),
	// Met only in a snapshot's archive or manifest, where CorruptError
	// wraps it (verify, restore): a snapshot not to be trusted.
	errorType[*archive.UnsafeEntryError](exitCorrupt),
	errorType[*archive.IncompleteError](exitIncomplete),
	errorType[*archive.NotFoundError](exitUsage),
	errorType[*archive.UsageError](exitUsage),
	errorType[*archive.UnstorableError](exitUsage), // entries a snapshot cannot hold: exclude them
	errorType[*archive.ExistsError](exitUsage),     // an import of a snapshot the store holds already
	errorValue("archive.ErrBusy", archive.ErrBusy, exitLocked),
	errorValue("archive.ErrContentBusy", archive.ErrContentBusy, exitLocked), // a prune while another process uses the store's content
	// A snapshot a running process reads (a drill, a rehearsal, a verify,
	// a push: its lease) is not deleted; prune keeps it instead.
	errorType[*archive.InUseError](exitLocked),
	// Could not run: a file that changed while read, a full disk; a restore
	// left pending, which the commands finish first (Store.Recover) and so
	// never meet.
	errorType[*archive.ChangedError](exitFailure),
	errorType[*archive.InsufficientSpaceError](exitFailure),
	errorValue("archive.ErrRestorePending", archive.ErrRestorePending, exitFailure),

	// Off-host copies (restic) and database dumps. A pulled stream that is
	// not what was pushed is a corrupt snapshot; a restic or dump tool that
	// fails, or is missing, could not run.
	errorType[*remote.ConfigError](exitUsage),
	errorType[*remote.NotFoundError](exitUsage),
	errorType[*remote.AmbiguousError](exitUsage),
	errorType[*remote.CorruptError](exitCorrupt),
	errorType[*remote.ResticError](exitFailure),
	errorValue("remote.ErrNotInstalled", remote.ErrNotInstalled, exitFailure),
	errorType[*dbdump.ConfigError](exitUsage),
	errorType[*dbdump.RunError](exitFailure),

	errorValue("context.Canceled", context.Canceled, exitInterrupted),
	// A refused rollback takes its cause's code (a corrupt snapshot is 20,
	// an incomplete one 21: the rules above, through Unwrap); any other
	// cause could not run.
	errorType[*hooks.RollbackRefusedError](exitFailure),

	errorTypeFunc(func(e *wrapper.BootError) int {
		switch {
		case e.Interrupted != nil:
			return exitInterrupted
		case e.Verdict.State == wrapper.Failed:
			return exitBootFailed
		default:
			return exitBootUnknown
		}
	}),
	errorType[*wrapper.RootError](exitRoot),
	errorType[*wrapper.GateError](exitFindings),

	// urfave/cli answers an unknown command with cli.Exit("No help topic
	// for ...", 3); carbonguard never uses cli.Exit, so any other error
	// with an exit code of its own is urfave's, and a usage error. Flag
	// errors are usage errors already (onUsageError in app.go).
	errorType[cli.ExitCoder](exitUsage),
}
