package remote

import (
	"errors"
	"fmt"
	"strings"
)

// ConfigError is a [remote] setting that cannot be used. Key names it.
type ConfigError struct {
	Key string
	Msg string
	Fix string // what to do about it
}

func (e *ConfigError) Error() string { return fmt.Sprintf("[remote] %s: %s", e.Key, e.Msg) }

// Hint says what to do.
func (e *ConfigError) Hint() string { return e.Fix }

// Kinds of restic failures that need their own advice.
const (
	KindNoRepository = "no-repository" // nothing at the repository location: restic init
	KindPassword     = "password"      // wrong password or no key
	KindLocked       = "locked"        // another restic holds an exclusive lock
	KindOther        = "other"
)

// ResticError is a restic command that failed. Stderr is the tail of
// restic's error output (secrets masked).
type ResticError struct {
	Op       string // "backup", "snapshots", "dump", "tag", "init", "check", "forget"
	Repo     string // the repository, password masked
	ExitCode int    // -1 when restic did not start or was killed
	Kind     string
	Stderr   string
	Err      error
}

func (e *ResticError) Error() string {
	s := fmt.Sprintf("restic %s on %s failed", e.Op, e.Repo)
	switch {
	case e.ExitCode > 0:
		s += fmt.Sprintf(" (exit status %d)", e.ExitCode)
	case e.Err != nil:
		s += ": " + e.Err.Error()
	}
	if msg := strings.TrimSpace(e.Stderr); msg != "" {
		lines := strings.Split(msg, "\n")
		if len(lines) > 4 {
			lines = lines[len(lines)-4:]
		}
		s += ": " + strings.Join(lines, " / ")
	}
	return s
}

func (e *ResticError) Unwrap() error { return e.Err }

// Hint is the advice for the kinds of failure an operator can fix.
func (e *ResticError) Hint() string {
	switch e.Kind {
	case KindNoRepository:
		return "create the repository once with restic init (same repository and password), or fix [remote] repository"
	case KindPassword:
		return "the repository's password is not the one in [remote] password_file (or RESTIC_PASSWORD / RESTIC_PASSWORD_FILE)"
	case KindLocked:
		return "another restic is working on the repository; when none is, restic unlock removes a stale lock"
	}
	return ""
}

func classify(stderr string) string {
	s := strings.ToLower(stderr)
	switch {
	case strings.Contains(s, "is there a repository at the following location"),
		strings.Contains(s, "repository does not exist"),
		strings.Contains(s, "unable to open config file"):
		return KindNoRepository
	case strings.Contains(s, "wrong password or no key found"):
		return KindPassword
	case strings.Contains(s, "repository is already locked"):
		return KindLocked
	}
	return KindOther
}

// NotFoundError is a pull of a snapshot the repository does not hold (or
// holds only incomplete).
type NotFoundError struct {
	ID         string
	Incomplete bool
}

func (e *NotFoundError) Error() string {
	if e.Incomplete {
		return fmt.Sprintf("snapshot %s is in the repository only as an interrupted push; push it again from the host that has it", e.ID)
	}
	return fmt.Sprintf("snapshot %s is not in the repository", e.ID)
}

// AmbiguousError is a snapshot ID that more than one pack pushed.
type AmbiguousError struct {
	ID    string
	Packs []string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("snapshot %s was pushed by several packs (%s); name one", e.ID, strings.Join(e.Packs, ", "))
}

// CorruptError is a pulled stream that does not match the length and
// SHA-256 recorded when it was pushed.
type CorruptError struct {
	ID   string
	What string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("snapshot %s as restic returned it does not match what was pushed: %s; run restic check --read-data", e.ID, e.What)
}

// ErrNotInstalled is wrapped by the error of a restic binary that cannot be
// found.
var ErrNotInstalled = errors.New("restic is not installed")
