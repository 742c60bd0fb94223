package hooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// LockInfo says who holds (or held) the pack's lock.
type LockInfo struct {
	PID       int       `json:"pid"`
	Host      string    `json:"host"`
	User      string    `json:"user"`
	Operation string    `json:"operation"`
	Since     time.Time `json:"since"`
}

func (i LockInfo) String() string {
	return fmt.Sprintf("%q by PID %d (user %s on %s) since %s", i.Operation, i.PID, i.User, i.Host, i.Since.Format(time.RFC3339))
}

// LockedError is returned when another live process holds the pack's lock.
type LockedError struct {
	Path   string
	Holder LockInfo // zero when the holder wrote no information yet
}

func (e *LockedError) Error() string {
	if e.Holder.PID == 0 {
		return fmt.Sprintf("the pack is locked by another carbonguard operation (%s)", e.Path)
	}
	return fmt.Sprintf("the pack is locked by another carbonguard operation: %s", e.Holder)
}

// Hint tells the operator what to do.
func (e *LockedError) Hint() string {
	return fmt.Sprintf("wait for PID %d to finish (carbonguard status shows what it is doing); the lock is released when that process exits, so there is nothing to delete by hand", e.Holder.PID)
}

// Lock is the pack's exclusive lock: one guarded operation per pack at a time.
//
// It is an flock(2) on <state>/lock, so the kernel releases it when the
// holder dies: a dead holder can never block the next operation. The file
// also records who holds it; a clean Release empties it, so a record found
// by the next holder means the previous one died mid-operation. Previous
// reports that, and the journal says what the dead operation left.
type Lock struct {
	f    *os.File
	path string
	// Previous is the holder that died without releasing, or nil.
	Previous *LockInfo
}

// AcquireLock takes the pack's lock for operation op without waiting.
func AcquireLock(stateDir, op string) (*Lock, error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating state directory %s: %w", stateDir, err)
	}
	path := filepath.Join(stateDir, "lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder, _ := readLockInfo(f)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &LockedError{Path: path, Holder: holder}
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	l := &Lock{f: f, path: path}
	if prev, err := readLockInfo(f); err == nil && prev.PID != 0 {
		l.Previous = &prev
	}
	host, _ := os.Hostname()
	name := fmt.Sprint(os.Getuid())
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	info := LockInfo{PID: os.Getpid(), Host: host, User: name, Operation: op, Since: time.Now().UTC()}
	if err := l.write(info); err != nil {
		l.unlock()
		return nil, err
	}
	return l, nil
}

func readLockInfo(f *os.File) (LockInfo, error) {
	var info LockInfo
	data, err := os.ReadFile(f.Name())
	if err != nil {
		return info, err
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return info, nil
	}
	err = json.Unmarshal(data, &info)
	return info, err
}

// write replaces the lock file's content in place (it must stay the same
// inode: the flock is on it) and flushes it to disk.
func (l *Lock) write(info LockInfo) error {
	data, err := json.Marshal(info)
	if err != nil {
		return err
	}
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("writing lock file %s: %w", l.path, err)
	}
	if _, err := l.f.WriteAt(append(data, '\n'), 0); err != nil {
		return fmt.Errorf("writing lock file %s: %w", l.path, err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("syncing lock file %s: %w", l.path, err)
	}
	return nil
}

// Release empties the holder record (marking a clean release) and unlocks.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Truncate(0)
	if err == nil {
		err = l.f.Sync()
	}
	if uerr := l.unlock(); err == nil {
		err = uerr
	}
	if err != nil {
		return fmt.Errorf("releasing lock %s: %w", l.path, err)
	}
	return nil
}

func (l *Lock) unlock() error {
	err := unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
