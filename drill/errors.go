package drill

import (
	"fmt"
	"strings"
)

// FailedError is a drill whose copy did not boot up (verdict failed or
// unknown), or whose copy did not match its snapshot. The record holds the
// verdict and the evidence.
type FailedError struct {
	Record *Record
}

func (e *FailedError) Error() string {
	r := e.Record
	msg := "drill " + r.ID + " failed"
	if r.Level != "" {
		msg += " (reached: " + r.Level + ")"
	}
	if r.Reason != "" {
		msg += ": " + r.Reason
	}
	return msg
}

// RefusedError is a drill that would not boot the copy, or would not lay
// it down where it was asked to: the copy would use production's databases
// or network, or the target lies in the live pack. It wraps the reason
// (*clone.RefusedError, *clone.OverrideError, *TargetError).
type RefusedError struct {
	Record *Record
	Err    error
}

func (e *RefusedError) Error() string {
	return "drill refused: " + e.Err.Error()
}

func (e *RefusedError) Unwrap() error { return e.Err }

// TargetError is a --target the drill will not use.
type TargetError struct {
	Target string
	Why    string
}

func (e *TargetError) Error() string { return fmt.Sprintf("drill target %s: %s", e.Target, e.Why) }

// NoSnapshotError: there is no verified snapshot to drill.
type NoSnapshotError struct {
	Count int // snapshots in the store, none verified
}

func (e *NoSnapshotError) Error() string {
	if e.Count == 0 {
		return "no snapshot to drill: the store holds none"
	}
	return fmt.Sprintf("no verified snapshot to drill (the store holds %d, none verified)", e.Count)
}

// BusyError: another drill of the same pack is running.
type BusyError struct {
	Path string
	PID  int
}

func (e *BusyError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("another drill of this pack is running (PID %d)", e.PID)
	}
	return "another drill of this pack is running (" + e.Path + ")"
}

// NotFoundError: no drill record with that id.
type NotFoundError struct {
	ID string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("no drill %q", e.ID) }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func joinNonEmpty(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}
