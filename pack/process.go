package pack

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ScriptText returns the text of the stock startup script as it was at
// Open ("" when the script is missing or unreadable; Warnings says which).
func (p *Pack) ScriptText() string {
	if p == nil || p.st == nil {
		return ""
	}
	return p.st.script
}

// RunningPID reads wso2carbon.pid and tells whether that process is this
// pack's server: alive, not a zombie, and its command line (or, failing
// that, its environment) names this home as carbon.home / CARBON_HOME, so a
// PID recycled by an unrelated process is not taken for the server. No PID
// file gives (0, false, nil); a stale one gives (pid, false, nil). Unlike
// the rest of Pack it looks at the system now, not at Open.
func (p *Pack) RunningPID() (int, bool, error) {
	if p == nil {
		return 0, false, errors.New("pack: RunningPID on a nil Pack")
	}
	b, err := readSmall(p.PIDFile)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("reading the PID file %s: %w", p.PIDFile, err)
	}
	text := strings.TrimSpace(string(b))
	if text == "" {
		return 0, false, nil
	}
	pid, err := strconv.Atoi(text)
	if err != nil || pid <= 0 {
		return 0, false, fmt.Errorf("%s holds %q, not a process id; remove the file if no server is running", p.PIDFile, firstLine(text))
	}
	if !alive(pid) {
		return pid, false, nil
	}
	return pid, p.ownsProcess(pid), nil
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return err == nil || !errors.Is(err, fs.ErrNotExist)
	}
	// The state follows the parenthesised command name, which may itself
	// hold spaces and parentheses.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}

// ownsProcess reports whether pid's command line or environment names this
// home. Without /proc (not Linux) the PID file is trusted.
func (p *Pack) ownsProcess(pid int) bool {
	homes := []string{p.Home}
	if r, err := filepath.EvalSymlinks(p.Home); err == nil && r != p.Home {
		homes = append(homes, r)
	}
	cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat("/proc/self"); serr != nil {
			return true
		}
		return false
	}
	if err == nil {
		for _, arg := range strings.Split(string(cmd), "\x00") {
			for _, h := range homes {
				for _, pre := range []string{"-Dcarbon.home=", "-Dcarbon.home=\""} {
					if v, ok := strings.CutPrefix(arg, pre); ok && samePath(strings.Trim(v, `"`), h) {
						return true
					}
				}
			}
		}
	}
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err == nil {
		for _, kv := range strings.Split(string(env), "\x00") {
			if v, ok := strings.CutPrefix(kv, "CARBON_HOME="); ok {
				for _, h := range homes {
					if samePath(v, h) {
						return true
					}
				}
			}
		}
	}
	return false
}

func samePath(a, b string) bool {
	a, b = filepath.Clean(a), filepath.Clean(b)
	if a == b {
		return true
	}
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}
