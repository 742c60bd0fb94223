package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// The state directory is trusted: a snapshot there that verifies is what a
// restore or rollback puts into the pack, and the journal says what the
// next command finishes. So, much as ssh refuses a key file others could
// have written, carbonguard refuses a state directory that anyone but its
// owner and root can write, or one under a directory that others can write
// without the sticky bit (they could rename it away and put their own in
// its place) or that belongs to someone else. A state directory under /tmp
// (root's, sticky) owned by its user stays fine.

// unsafeStateError says why the state directory cannot be trusted and how
// to fix it; it reaches the operator as a usage error (exit 2).
type unsafeStateError struct {
	State string // the state directory
	Path  string // the directory at fault: State or one of its parents
	Why   string
	Fix   string
}

func (e *unsafeStateError) Error() string {
	if e.Path == e.State {
		return fmt.Sprintf("refusing the state directory %s: %s; anyone who can write there could plant a snapshot that verifies and that a restore or rollback would put into the pack", e.State, e.Why)
	}
	return fmt.Sprintf("refusing the state directory %s: its parent %s %s; whoever can write there could replace the state directory with one of their own", e.State, e.Path, e.Why)
}

func (e *unsafeStateError) Hint() string { return e.Fix }

// checkStateDir refuses a state directory (existing or to be created) that
// others than its owner and root could write into or replace. Symbolic
// links are followed: what is judged is where the state really is.
func checkStateDir(dir string) error {
	real, rest := dir, ""
	for {
		r, err := filepath.EvalSymlinks(real)
		if err == nil {
			real = r
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("checking the state directory %s: %w", dir, err)
		}
		parent := filepath.Dir(real)
		if parent == real {
			return nil
		}
		rest = filepath.Join(filepath.Base(real), rest)
		real = parent
	}
	euid := uint32(os.Geteuid())
	owner := euid // the state directory's owner; the running user until it exists
	for cur, first := real, true; ; first = false {
		fi, err := os.Stat(cur)
		if err != nil {
			return fmt.Errorf("checking the state directory %s: %w", dir, err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		mode := fi.Mode()
		isState := first && rest == ""
		if isState {
			if !fi.IsDir() {
				return usageError{&unsafeStateError{State: dir, Path: cur, Why: "is not a directory",
					Fix: fmt.Sprintf("remove %s, or choose another --state", cur)}}
			}
			owner = st.Uid
			if mode.Perm()&0o022 != 0 {
				return usageError{&unsafeStateError{State: dir, Path: cur,
					Why: fmt.Sprintf("it is writable by others than its owner (mode %s)", mode.Perm()),
					Fix: fmt.Sprintf("chmod go-w %s (carbonguard creates it 0700); if others may have written there, check its snapshots and journal, or start over with a fresh --state", cur)}}
			}
		} else {
			if st.Uid != 0 && st.Uid != euid && st.Uid != owner {
				return usageError{&unsafeStateError{State: dir, Path: cur,
					Why: fmt.Sprintf("belongs to uid %d, neither root nor the state directory's owner", st.Uid),
					Fix: fmt.Sprintf("choose a --state under directories that belong to root or to you (e.g. /var/lib/carbonguard, ~/.local/state), or chown %s", cur)}}
			}
			if mode.Perm()&0o022 != 0 && mode&fs.ModeSticky == 0 {
				return usageError{&unsafeStateError{State: dir, Path: cur,
					Why: fmt.Sprintf("is writable by others without the sticky bit (mode %s)", mode.Perm()),
					Fix: fmt.Sprintf("chmod go-w %s, or chmod +t %s if others must write there (as /tmp), or choose --state elsewhere", cur, cur)}}
			}
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return nil
		}
		cur = parent
	}
}
