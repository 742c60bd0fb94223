package validate

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ServiceUnit is the systemd unit that runs a pack's server: a .service
// whose ExecStart= runs "carbonguard ... --home <home> ... run" (what
// scripts/install.sh writes). Under it, the server gets the unit's limits,
// not those of the shell carbonguard check runs in.
type ServiceUnit struct {
	Name string // e.g. "carbonguard-wso2am-4.2.0.service"
	Path string // the unit file
	// NoFileSoft and NoFileHard are the unit's LimitNOFILE= (the last
	// assignment in the unit and its drop-ins), else systemd's
	// DefaultLimitNOFILE.
	NoFileSoft, NoFileHard uint64
	// NoFileFrom says where they come from: "path:line" of LimitNOFILE=, or
	// "systemd's DefaultLimitNOFILE" (with the file that sets it, if any).
	NoFileFrom string
	NoFileLine int    // line of LimitNOFILE= in NoFileFile; 0 for the default
	NoFileFile string // the file holding LimitNOFILE=; "" for the default
}

// unitDirs are systemd's system unit directories, highest precedence first.
var unitDirs = []string{"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"}

// systemdDefaultNoFile is systemd's built-in DefaultLimitNOFILE since
// version 240 (soft 1024 for select(2)-era programs, hard 512 Ki). This is
// systemd's, not WSO2's: the WSO2 facts say nothing about service managers.
const (
	systemdDefaultNoFileSoft = 1024
	systemdDefaultNoFileHard = 524288
)

// findServiceUnit looks for the unit that runs the pack at home. root
// prefixes the unit directories (tests). It returns nil when there is none.
func findServiceUnit(root, home string) (*ServiceUnit, error) {
	seen := map[string]bool{}
	for _, dir := range unitDirs {
		entries, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return nil, err
		}
		for _, e := range entries {
			name := e.Name()
			if !strings.HasSuffix(name, ".service") || seen[name] {
				continue
			}
			seen[name] = true // a unit in a higher-precedence directory hides the others
			path := filepath.Join(root, dir, name)
			lines, err := unitLines(path)
			if err != nil {
				continue // a dangling link or an unreadable unit is not ours to judge
			}
			if !runsPack(lines, home) {
				continue
			}
			u := &ServiceUnit{Name: name, Path: filepath.Join(dir, name)}
			if err := u.readNoFile(root, lines); err != nil {
				return nil, err
			}
			return u, nil
		}
	}
	return nil, nil
}

// unitLine is one "Key=value" line of a unit file's [Service] section.
type unitLine struct {
	file       string // as systemd sees it (without the test root)
	line       int
	key, value string
}

// unitLines reads the [Service] assignments of a unit or drop-in file.
// Continuation lines (a trailing backslash) are joined.
func unitLines(path string) ([]unitLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []unitLine
	section := ""
	sc := bufio.NewScanner(f)
	n, pending, start := 0, "", 0
	for sc.Scan() {
		n++
		text := strings.TrimSpace(sc.Text())
		if pending != "" {
			text = pending + " " + text
		} else {
			start = n
		}
		if strings.HasSuffix(text, `\`) {
			pending = strings.TrimSuffix(text, `\`)
			continue
		}
		pending = ""
		switch {
		case text == "" || strings.HasPrefix(text, "#") || strings.HasPrefix(text, ";"):
		case strings.HasPrefix(text, "["):
			section = strings.Trim(text, "[]")
		case section == "Service":
			if k, v, ok := strings.Cut(text, "="); ok {
				out = append(out, unitLine{file: path, line: start, key: strings.TrimSpace(k), value: strings.TrimSpace(v)})
			}
		}
	}
	return out, sc.Err()
}

// runsPack: an ExecStart= runs carbonguard's run command for home.
func runsPack(lines []unitLine, home string) bool {
	for _, l := range lines {
		if l.key != "ExecStart" {
			continue
		}
		f := strings.Fields(strings.TrimLeft(l.value, "@-:+!"))
		if len(f) == 0 || filepath.Base(f[0]) != "carbonguard" {
			continue
		}
		forHome, isRun := false, false
		for i, a := range f[1:] {
			switch {
			case a == "--home" && i+2 < len(f) && filepath.Clean(f[i+2]) == home, a == "--home="+home:
				forHome = true
			case a == "run":
				isRun = true
			}
		}
		if forHome && isRun {
			return true
		}
	}
	return false
}

// readNoFile applies systemd's order: the unit, then its drop-ins
// (<name>.d/*.conf in every unit directory, by file name; a name in a
// higher-precedence directory hides the same name below). The last
// LimitNOFILE= wins; none means DefaultLimitNOFILE of system.conf.
func (u *ServiceUnit) readNoFile(root string, lines []unitLine) error {
	dropins := map[string]string{}
	for _, dir := range unitDirs {
		matches, _ := filepath.Glob(filepath.Join(root, dir, u.Name+".d", "*.conf"))
		for _, m := range matches {
			if _, hidden := dropins[filepath.Base(m)]; !hidden {
				dropins[filepath.Base(m)] = m
			}
		}
	}
	names := make([]string, 0, len(dropins))
	for n := range dropins {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		more, err := unitLines(dropins[n])
		if err != nil {
			return err
		}
		lines = append(lines, more...)
	}
	var last *unitLine
	for i := range lines {
		if lines[i].key == "LimitNOFILE" {
			last = &lines[i]
		}
	}
	if last != nil && last.value != "" {
		soft, hard, err := parseNoFile(last.value)
		if err != nil {
			return fmt.Errorf("%s:%d: LimitNOFILE=%s: %w", strings.TrimPrefix(last.file, root), last.line, last.value, err)
		}
		u.NoFileSoft, u.NoFileHard = soft, hard
		u.NoFileFile, u.NoFileLine = strings.TrimPrefix(last.file, root), last.line
		u.NoFileFrom = fmt.Sprintf("LimitNOFILE= in %s:%d", u.NoFileFile, u.NoFileLine)
		return nil
	}
	u.NoFileSoft, u.NoFileHard = systemdDefaultNoFileSoft, systemdDefaultNoFileHard
	u.NoFileFrom = "systemd's DefaultLimitNOFILE (the unit sets no LimitNOFILE=)"
	for _, conf := range systemConfFiles(root) {
		ls, err := confLines(conf, "Manager")
		if err != nil {
			continue
		}
		for _, l := range ls {
			if l.key == "DefaultLimitNOFILE" && l.value != "" {
				if soft, hard, err := parseNoFile(l.value); err == nil {
					u.NoFileSoft, u.NoFileHard = soft, hard
					u.NoFileFrom = fmt.Sprintf("DefaultLimitNOFILE= in %s:%d (the unit sets no LimitNOFILE=)", strings.TrimPrefix(l.file, root), l.line)
				}
			}
		}
	}
	return nil
}

// systemConfFiles: system.conf, then system.conf.d/*.conf by name.
func systemConfFiles(root string) []string {
	out := []string{filepath.Join(root, "/etc/systemd/system.conf")}
	var ds []string
	for _, dir := range []string{"/etc/systemd/system.conf.d", "/run/systemd/system.conf.d", "/usr/lib/systemd/system.conf.d"} {
		m, _ := filepath.Glob(filepath.Join(root, dir, "*.conf"))
		ds = append(ds, m...)
	}
	sort.Slice(ds, func(i, j int) bool { return filepath.Base(ds[i]) < filepath.Base(ds[j]) })
	return append(out, ds...)
}

// confLines reads the assignments of one section of an INI-style file.
func confLines(path, section string) ([]unitLine, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []unitLine
	cur := ""
	for i, text := range strings.Split(string(data), "\n") {
		text = strings.TrimSpace(text)
		switch {
		case text == "" || strings.HasPrefix(text, "#") || strings.HasPrefix(text, ";"):
		case strings.HasPrefix(text, "["):
			cur = strings.Trim(text, "[]")
		case cur == section:
			if k, v, ok := strings.Cut(text, "="); ok {
				out = append(out, unitLine{file: path, line: i + 1, key: strings.TrimSpace(k), value: strings.TrimSpace(v)})
			}
		}
	}
	return out, nil
}

// parseNoFile reads "N", "SOFT:HARD" and "infinity" (as systemd does for
// LimitNOFILE=; a single value sets both).
func parseNoFile(v string) (soft, hard uint64, err error) {
	one := func(s string) (uint64, error) {
		s = strings.TrimSpace(s)
		if s == "infinity" {
			return math.MaxUint64, nil
		}
		return strconv.ParseUint(s, 10, 64)
	}
	if s, h, ok := strings.Cut(v, ":"); ok {
		if soft, err = one(s); err != nil {
			return 0, 0, err
		}
		if hard, err = one(h); err != nil {
			return 0, 0, err
		}
		if soft > hard {
			return 0, 0, fmt.Errorf("soft limit %d above hard limit %d", soft, hard)
		}
		return soft, hard, nil
	}
	n, err := one(v)
	return n, n, err
}
