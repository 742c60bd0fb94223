package archive

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/carbonguard/carbonguard/internal/durable"
)

// Leases: a process that reads a snapshot for a while, without a lock that
// keeps prune away (a restore drill laying it down, an update rehearsal's
// copy and the diffs against its base, a verify, a push), marks it in use
// for as long as it reads:
//
//	<store>/.in-use/<id>.<pid>.<n>  one lease: the snapshot, the holder's PID, its start
//	                                time (/proc/<pid>/stat), the boot, its PID namespace,
//	                                what it is ("drill") and since when
//	<store>/.in-use/.lock           flock: a lease is written, and a snapshot deleted, under it
//
// Prune keeps a snapshot in use, and every pack holding content it needs
// as it is (neither removed nor rewritten: the reader may have it open or
// open it later); Delete refuses it (*InUseError). A lease whose process is
// gone is stale: ignored, and removed by the next prune. A process is gone
// when /proc/<pid> does not exist or is a zombie, when another process has
// its PID now (a different start time), or after a reboot (a different
// boot id). A lease that cannot be read or judged (another PID namespace,
// an unreadable file) counts as live: a lease never makes prune delete
// anything.
//
// Writing a lease (under the lock) checks that the snapshot is still
// there, and Delete checks for leases and renames the snapshot away under
// the same lock: a snapshot is never deleted once a lease on it was taken.
// A reader of format-3 content loads the content index (under the shared
// content lock) only after its lease exists, so that a sweep either sees
// the lease or has finished before the reader looks (see sweep).
const (
	leaseDir  = ".in-use"
	leaseLock = ".lock"
)

// leaseSeq numbers the leases of this process (one process may hold
// several on one snapshot: a drill's, and the extract's within it).
var leaseSeq atomic.Uint64

// LeaseInfo is one lease on a snapshot.
type LeaseInfo struct {
	Snapshot  string    `json:"snapshot"`
	PID       int       `json:"pid"`
	StartTime uint64    `json:"start_time"` // the holder's start, in clock ticks after boot (/proc/<pid>/stat field 22)
	BootID    string    `json:"boot_id,omitempty"`
	PIDNS     string    `json:"pid_ns,omitempty"` // the holder's PID namespace (/proc/self/ns/pid)
	Holder    string    `json:"holder"`           // what reads it: "drill", "update rehearsal <tx>", "snapshot verify"...
	Since     time.Time `json:"since"`
	// Stale says why a lease no longer counts (its process is gone); ""
	// for a live one.
	Stale string `json:"stale,omitempty"`

	file string
}

// String is the holder as people read it: "drill (pid 4711)".
func (l LeaseInfo) String() string {
	if l.PID <= 0 {
		return l.Holder
	}
	return fmt.Sprintf("%s (pid %d)", l.Holder, l.PID)
}

// Lease marks a snapshot in use until Release.
type Lease struct {
	path string
	Info LeaseInfo
}

// Lease marks snapshot id as in use by this process, for holder (what
// reads it, for the operator: "drill"), until Release: prune keeps it and
// the content it needs, Delete refuses it. It fails with *NotFoundError
// when the snapshot is not (or no longer) in the store.
func (s *Store) Lease(id, holder string) (*Lease, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	unlock, err := s.lockLeases()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if st, err := os.Lstat(filepath.Join(s.dir, id)); err != nil || !st.IsDir() {
		return nil, &NotFoundError{ID: id}
	}
	pid := os.Getpid()
	info := LeaseInfo{Snapshot: id, PID: pid, BootID: bootID(), PIDNS: pidNamespace("self"), Holder: holder, Since: time.Now().UTC()}
	if st, _, err := procStat(strconv.Itoa(pid)); err == nil {
		info.StartTime = st
	}
	p := filepath.Join(s.dir, leaseDir, fmt.Sprintf("%s.%d.%d", id, pid, leaseSeq.Add(1)))
	if err := durable.WriteJSON(p, info, 0o600); err != nil {
		return nil, fmt.Errorf("marking snapshot %s in use: %w", id, err)
	}
	info.file = p
	return &Lease{path: p, Info: info}, nil
}

// leaseFor is the lease the store's own readers take for as long as they
// read (holder: "verify", "diff"...). A store on a read-only file system
// takes no lease (nothing can be pruned there either): nil, no error.
func (s *Store) leaseFor(id, holder string) (*Lease, error) {
	l, err := s.Lease(id, holder)
	if errors.Is(err, unix.EROFS) {
		s.log.Debug().Str("snapshot", id).Msg("read-only store: no lease")
		return nil, nil
	}
	return l, err
}

// Release ends the lease. It is safe on nil and more than once. A lease
// that cannot be removed is left for the next prune (it is stale once
// this process is gone).
func (l *Lease) Release() {
	if l == nil || l.path == "" {
		return
	}
	_ = os.Remove(l.path)
	l.path = ""
}

// InUse lists the live leases on snapshot id, oldest first.
func (s *Store) InUse(id string) ([]LeaseInfo, error) {
	live, _, err := s.readLeases()
	if err != nil {
		return nil, err
	}
	return live[id], nil
}

// readLeases reads every lease of the store: the live ones by snapshot
// (each list oldest first), and the stale ones.
func (s *Store) readLeases() (live map[string][]LeaseInfo, stale []LeaseInfo, err error) {
	dir := filepath.Join(s.dir, leaseDir)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string][]LeaseInfo{}, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading the snapshots in use (%s): %w", dir, err)
	}
	live = map[string][]LeaseInfo{}
	boot, ns := bootID(), pidNamespace("self")
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") || e.IsDir() {
			continue // the lock, a lease being written
		}
		l, ok := readLease(filepath.Join(dir, e.Name()))
		if !ok {
			continue // released meanwhile
		}
		if l.Stale = l.staleness(boot, ns); l.Stale != "" {
			stale = append(stale, l)
			continue
		}
		live[l.Snapshot] = append(live[l.Snapshot], l)
	}
	oldestFirst := func(ls []LeaseInfo) {
		sort.Slice(ls, func(i, j int) bool {
			if !ls[i].Since.Equal(ls[j].Since) {
				return ls[i].Since.Before(ls[j].Since)
			}
			return ls[i].file < ls[j].file
		})
	}
	for _, ls := range live {
		oldestFirst(ls)
	}
	oldestFirst(stale)
	return live, stale, nil
}

// readLease reads one lease file; ok is false when it is gone. A file
// that cannot be read or parsed is a live lease of an unknown holder on
// the snapshot its name says (when in doubt, keep).
func readLease(p string) (l LeaseInfo, ok bool) {
	name := filepath.Base(p)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return l, false
	}
	if err == nil {
		err = json.Unmarshal(data, &l)
	}
	if err != nil || l.Snapshot == "" || l.PID <= 0 {
		id := name
		for range 2 {
			if i := strings.LastIndexByte(id, '.'); i > 0 {
				id = id[:i]
			}
		}
		why := "unreadable"
		if err != nil {
			why += ": " + err.Error()
		}
		return LeaseInfo{Snapshot: id, Holder: fmt.Sprintf("an unknown reader (lease file %s is %s; remove it if nothing reads the snapshot)", p, why), file: p}, true
	}
	l.file = p
	return l, true
}

// staleness says why l's process is gone, or "" when it may still run.
func (l LeaseInfo) staleness(boot, ns string) string {
	if l.PID <= 0 {
		return "" // unreadable: keep
	}
	if l.BootID != "" && boot != "" && l.BootID != boot {
		return "the machine rebooted since"
	}
	if l.PIDNS != "" && ns != "" && l.PIDNS != ns {
		return "" // another PID namespace: its PIDs mean nothing here
	}
	start, state, err := procStat(strconv.Itoa(l.PID))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("pid %d is gone", l.PID)
	case err != nil:
		return "" // cannot tell: keep
	case state == 'Z' || state == 'X':
		return fmt.Sprintf("pid %d has exited", l.PID)
	case l.StartTime != 0 && start != l.StartTime:
		return fmt.Sprintf("pid %d is another process now", l.PID)
	}
	return ""
}

// cleanStaleLeases removes the leases judged stale, each judged again
// under the lock (its file may have been rewritten by a new holder with
// the same PID), and leftovers of lease writes killed half-way. It
// returns the leases removed.
func (s *Store) cleanStaleLeases(stale []LeaseInfo) []LeaseInfo {
	dir := filepath.Join(s.dir, leaseDir)
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	unlock, err := s.lockLeases()
	if err != nil {
		s.log.Warn().Err(err).Msg("stale leases left: the lease lock")
		return nil
	}
	defer unlock()
	boot, ns := bootID(), pidNamespace("self")
	var removed []LeaseInfo
	for _, l := range stale {
		now, ok := readLease(l.file)
		if !ok {
			continue
		}
		if now.Stale = now.staleness(boot, ns); now.Stale == "" {
			continue
		}
		if err := os.Remove(l.file); err != nil {
			s.log.Warn().Err(err).Str("lease", l.file).Msg("removing a stale lease")
			continue
		}
		s.log.Info().Str("snapshot", now.Snapshot).Str("holder", now.String()).Str("why", now.Stale).Msg("removed a stale lease")
		removed = append(removed, now)
	}
	// A lease write killed before its rename leaves .<name>.tmp-*; one an
	// hour old is nobody's.
	if ents, err := os.ReadDir(dir); err == nil {
		for _, e := range ents {
			if n := e.Name(); strings.HasPrefix(n, ".") && strings.Contains(n, ".tmp-") {
				if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Hour {
					_ = os.Remove(filepath.Join(dir, n))
				}
			}
		}
	}
	return removed
}

// lockLeases takes the lease lock (exclusive; held for a few file
// operations only).
func (s *Store) lockLeases() (func(), error) {
	dir := filepath.Join(s.dir, leaseDir)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("lease directory: %w", err)
	}
	fd, err := unix.Open(filepath.Join(dir, leaseLock), unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lease lock: %w", err)
	}
	for tries := 0; ; tries++ {
		err = unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { unix.Close(fd) }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) || tries > 500 {
			unix.Close(fd)
			return nil, fmt.Errorf("lease lock %s: %w", filepath.Join(dir, leaseLock), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// describeLeases names the holders, one per process (the oldest lease of
// each: a drill's rather than its extract's).
func describeLeases(ls []LeaseInfo) string {
	var out []string
	seen := map[int]bool{}
	for _, l := range ls {
		if l.PID > 0 && seen[l.PID] {
			continue
		}
		seen[l.PID] = true
		out = append(out, l.String())
	}
	return strings.Join(out, ", ")
}

// procStat reads the start time (field 22) and state (field 3) of a
// process from /proc/<pid>/stat.
func procStat(pid string) (start uint64, state byte, err error) {
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%s/stat: unexpected format", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 20 || len(f[0]) != 1 {
		return 0, 0, fmt.Errorf("/proc/%s/stat: unexpected format", pid)
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("/proc/%s/stat: start time: %w", pid, err)
	}
	return start, f[0][0], nil
}

func bootID() string {
	data, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

func pidNamespace(pid string) string {
	ns, err := os.Readlink("/proc/" + pid + "/ns/pid")
	if err != nil {
		return ""
	}
	return ns
}
