package testpack

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && err != syscall.EPERM {
		return false
	}
	// A zombie still answers kill(0); it is not running.
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	if i := bytes.LastIndexByte(b, ')'); i > 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}

// packProcesses lists live processes of this user that belong to the pack:
// the fake JVM (argv[0] is the pack's <jdk>/bin/java) and the shells running
// one of the pack's bin/ scripts (the restart loop would relaunch the JVM).
func packProcesses(home, javaHome string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	java := filepath.Join(javaHome, "bin", "java")
	binDir := filepath.Join(home, "bin") + "/"
	uid := os.Getuid()
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat(filepath.Join("/proc", e.Name()), &st) != nil || int(st.Uid) != uid {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		match := args[0] == java
		for _, a := range args[:min(len(args), 3)] {
			match = match || strings.HasPrefix(a, binDir)
		}
		if match && processAlive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killPackProcesses SIGKILLs the pack's processes until none is left (a
// restart loop could start a new JVM between two scans).
func killPackProcesses(home, javaHome string) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		pids := packProcesses(home, javaHome)
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// PauseAt returns a crash point (hooks.Env.CrashPoint) for a process the
// crash tests kill: at the journal state or step named ("u2-running",
// "rolling-back/restoring", "u2-started"), it writes the process's PID to
// file and blocks until the process is killed. An empty at never pauses.
func PauseAt(at, file string) func(state, step string) {
	return func(state, step string) {
		name := state
		if step != "" {
			name = state + "/" + step
		}
		if at == "" || name != at {
			return
		}
		_ = os.WriteFile(file, fmt.Appendf(nil, "%d\n", os.Getpid()), 0o600)
		for {
			time.Sleep(time.Hour)
		}
	}
}
