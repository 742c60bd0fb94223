package wrapper

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procRoot is where the process table is read; Linux only, like WSO2's
// supported server platforms for this tool.
const procRoot = "/proc"

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times. It is 100 on
// every Linux architecture's user ABI (sysconf(_SC_CLK_TCK) needs cgo).
const clockTicks = 100

type procInfo struct {
	PID        int
	PPID       int
	PGID       int
	State      byte   // R, S, D, Z, T, X...
	StartTicks uint64 // since boot, in clockTicks
}

// readProcStat parses /proc/<pid>/stat. The command name may hold spaces and
// parentheses, so the fields are counted from the last ')'.
func readProcStat(pid int) (procInfo, error) {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	if err != nil {
		return procInfo{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return procInfo{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+2:]))
	// f[0] is field 3 (state); starttime is field 22 → f[19].
	if len(f) < 20 {
		return procInfo{}, fmt.Errorf("/proc/%d/stat: %d fields, want at least 22", pid, len(f)+2)
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgid, err2 := strconv.Atoi(f[2])
	start, err3 := strconv.ParseUint(f[19], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return procInfo{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return procInfo{PID: pid, PPID: ppid, PGID: pgid, State: f[0][0], StartTicks: start}, nil
}

// processAlive reports whether pid names a live process: present and neither
// a zombie nor dead. A zombie has exited; only its exit status is left.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	st, err := readProcStat(pid)
	if err != nil {
		// Without /proc (or without the right to read it) fall back to
		// signal 0, which cannot tell a zombie from a live process.
		if errors.Is(err, os.ErrNotExist) {
			return false
		}
		kerr := syscall.Kill(pid, 0)
		return kerr == nil || errors.Is(kerr, syscall.EPERM)
	}
	return st.State != 'Z' && st.State != 'X'
}

// bootTime is the system boot time from /proc/stat btime.
func bootTime() (time.Time, error) {
	f, err := os.Open(filepath.Join(procRoot, "stat"))
	if err != nil {
		return time.Time{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "btime "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("/proc/stat btime: %w", err)
			}
			return time.Unix(n, 0), nil
		}
	}
	if err := sc.Err(); err != nil {
		return time.Time{}, err
	}
	return time.Time{}, errors.New("/proc/stat has no btime line")
}

// processStartTime is when pid started, to the clock tick.
func processStartTime(pid int) (time.Time, error) {
	st, err := readProcStat(pid)
	if err != nil {
		return time.Time{}, err
	}
	bt, err := bootTime()
	if err != nil {
		return time.Time{}, err
	}
	return bt.Add(time.Duration(st.StartTicks) * (time.Second / clockTicks)), nil
}

// childrenOf lists the live processes whose parent is pid.
func childrenOf(pid int) []int {
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		return nil
	}
	var kids []int
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readProcStat(n)
		if err != nil || st.PPID != pid || st.State == 'Z' || st.State == 'X' {
			continue
		}
		kids = append(kids, n)
	}
	return kids
}

// isDescendant reports whether pid is ancestor's child, grandchild, ...
func isDescendant(pid, ancestor int) bool {
	for i := 0; i < 64 && pid > 1; i++ {
		st, err := readProcStat(pid)
		if err != nil {
			return false
		}
		if st.PPID == ancestor {
			return true
		}
		pid = st.PPID
	}
	return false
}

// readPIDFile reads a PID file as the JVM writes it: a decimal number,
// perhaps with whitespace around it.
func readPIDFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s: %q is not a process id", path, s)
	}
	return pid, nil
}

// socketInodes lists the inodes of the sockets pid has open, to tell which
// listening ports belong to it. It needs the right to read /proc/<pid>/fd.
func socketInodes(pid int) (map[uint64]bool, error) {
	dir := filepath.Join(procRoot, strconv.Itoa(pid), "fd")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	inodes := map[uint64]bool{}
	for _, e := range ents {
		link, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if v, ok := strings.CutPrefix(link, "socket:["); ok {
			if n, err := strconv.ParseUint(strings.TrimSuffix(v, "]"), 10, 64); err == nil {
				inodes[n] = true
			}
		}
	}
	return inodes, nil
}

// listener is one TCP socket in LISTEN state.
type listener struct {
	Addr  string // local address as printed by the kernel, decoded
	Port  int
	Inode uint64
}

// tcpListeners reads /proc/net/tcp and tcp6 for sockets in LISTEN state.
func tcpListeners() ([]listener, error) {
	var all []listener
	var errs []error
	read := 0
	for _, name := range []string{"tcp", "tcp6"} {
		ls, err := parseProcNetTCP(filepath.Join(procRoot, "net", name))
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		read++
		all = append(all, ls...)
	}
	if read == 0 {
		if len(errs) == 0 {
			errs = append(errs, errors.New("no /proc/net/tcp"))
		}
		return nil, errors.Join(errs...)
	}
	return all, nil
}

func parseProcNetTCP(path string) ([]listener, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []listener
	sc := bufio.NewScanner(f)
	first := true
	for sc.Scan() {
		if first { // header
			first = false
			continue
		}
		fs := strings.Fields(sc.Text())
		// sl local_address rem_address st tx:rx tr:tm retrnsmt uid timeout inode
		if len(fs) < 10 || fs[3] != "0A" { // 0A = TCP_LISTEN
			continue
		}
		host, port, ok := strings.Cut(fs[1], ":")
		if !ok {
			continue
		}
		p, err := strconv.ParseUint(port, 16, 16)
		if err != nil {
			continue
		}
		ino, _ := strconv.ParseUint(fs[9], 10, 64)
		out = append(out, listener{Addr: decodeProcAddr(host), Port: int(p), Inode: ino})
	}
	return out, sc.Err()
}

// decodeProcAddr turns the kernel's hex address (host byte order per 32-bit
// word) into dotted or colon form.
func decodeProcAddr(h string) string {
	b := make([]byte, 0, 16)
	for i := 0; i+8 <= len(h); i += 8 {
		w, err := strconv.ParseUint(h[i:i+8], 16, 32)
		if err != nil {
			return h
		}
		// Little-endian words on the architectures carbonguard ships for.
		b = append(b, byte(w), byte(w>>8), byte(w>>16), byte(w>>24))
	}
	switch len(b) {
	case 4:
		return fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3])
	case 16:
		var sb strings.Builder
		for i := 0; i < 16; i += 2 {
			if i > 0 {
				sb.WriteByte(':')
			}
			fmt.Fprintf(&sb, "%x", uint16(b[i])<<8|uint16(b[i+1]))
		}
		return sb.String()
	}
	return h
}
