package clone

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// killLeftovers kills what is left of the copy after its stop: every
// process in its network namespace (nsID), or, on the host's network,
// every process whose working directory or executable lies in the copy or
// whose command line runs one of its bin/ scripts. It returns their PIDs.
// A clean stop leaves none.
func killLeftovers(home string, nsID uint64) []int {
	var killed []int
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		pids := copyProcesses(home, nsID)
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			if syscall.Kill(pid, syscall.SIGKILL) == nil && !containsInt(killed, pid) {
				killed = append(killed, pid)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return killed
}

func copyProcesses(home string, nsID uint64) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	prefix := home + string(filepath.Separator)
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		dir := filepath.Join("/proc", e.Name())
		if zombie(dir) {
			continue
		}
		if nsID != 0 {
			var st syscall.Stat_t
			if syscall.Stat(filepath.Join(dir, "ns", "net"), &st) == nil && st.Ino == nsID {
				out = append(out, pid)
			}
			continue
		}
		if l, err := os.Readlink(filepath.Join(dir, "cwd")); err == nil && (l == home || strings.HasPrefix(l, prefix)) {
			out = append(out, pid)
			continue
		}
		if l, err := os.Readlink(filepath.Join(dir, "exe")); err == nil && strings.HasPrefix(l, prefix) {
			out = append(out, pid)
			continue
		}
		if b, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil {
			for _, a := range strings.Split(string(b), "\x00") {
				if strings.HasPrefix(a, prefix+"bin"+string(filepath.Separator)) {
					out = append(out, pid)
					break
				}
			}
		}
	}
	return out
}

func zombie(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z' || b[i+2] == 'X'
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
