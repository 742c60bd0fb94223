package validate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SystemProbe reads the real host. Zero timeouts mean the defaults (2 s per
// name lookup, 10 s for java -version).
type SystemProbe struct {
	ResolveTimeout time.Duration
	JavaTimeout    time.Duration
	// Root prefixes /proc and /etc paths; "" for the real ones. Tests point
	// it at a directory of sample files.
	Root string
}

// envKeys are the environment variables the checks may look at.
var envKeys = []string{"JAVA_HOME", "JAVA_OPTS", "JVM_MEM_OPTS", "CARBON_HOME", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY"}

// Probe implements HostProbe.
func (s SystemProbe) Probe(ctx context.Context, req ProbeRequest) Host {
	h := Host{Errors: map[string]string{}, Env: map[string]string{}}
	fail := func(field string, err error) { h.Errors[field] = err.Error() }

	if name, err := os.Hostname(); err != nil {
		fail("Hostname", err)
	} else {
		h.Hostname = name
	}
	rt := s.ResolveTimeout
	if rt <= 0 {
		rt = 2 * time.Second
	}
	resolveNames(ctx, req.Names, rt, &h)

	h.CPUCores = runtime.NumCPU()
	if mem, swap, err := readMeminfo(s.path("/proc/meminfo")); err != nil {
		fail("MemTotalBytes", err)
		fail("SwapTotalBytes", err)
	} else {
		h.MemTotalBytes, h.SwapTotalBytes = mem, swap
	}
	if req.Home != "" {
		if free, err := diskFree(req.Home); err != nil {
			fail("DiskFreeBytes", err)
		} else {
			h.DiskFreeBytes = free
		}
	}
	if soft, hard, err := childOpenFilesLimit(ctx); err != nil {
		fail("OpenFilesSoft", err)
		fail("OpenFilesHard", err)
	} else {
		h.OpenFilesSoft, h.OpenFilesHard = soft, hard
	}
	_, h.InService = os.LookupEnv("INVOCATION_ID")
	if req.Home != "" {
		if u, err := findServiceUnit(s.Root, req.Home); err != nil {
			fail("ServiceUnit", err)
		} else {
			h.ServiceUnit = u
		}
	}
	if osr, err := readOSRelease(s.path("/etc/os-release")); err != nil {
		fail("OS", err)
	} else {
		h.OS = osr
	}
	h.UID = os.Geteuid()
	if u, err := user.LookupId(strconv.Itoa(h.UID)); err != nil {
		fail("User", err)
	} else {
		h.User = u.Username
	}
	for _, k := range envKeys {
		if v, ok := os.LookupEnv(k); ok {
			h.Env[k] = v
		}
	}
	javaHome := req.JavaHome
	if javaHome == "" {
		javaHome = h.Env["JAVA_HOME"]
	}
	jt := s.JavaTimeout
	if jt <= 0 {
		jt = 10 * time.Second
	}
	h.Java = javaVersion(ctx, javaHome, jt)
	readJavaSecurity(javaHome, &h.Java)
	if req.Home != "" {
		var dirs []string
		for _, d := range SystemdUnitDirs {
			dirs = append(dirs, s.path(d))
		}
		h.CarbonguardUnits = carbonguardUnits(dirs, req.Home)
	}

	var listening []ListeningPort
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		ls, err := readListening(s.path(f))
		if err != nil {
			if !os.IsNotExist(err) || f == "/proc/net/tcp" {
				fail("Listening", err)
			}
			continue
		}
		listening = append(listening, ls...)
	}
	h.Listening = sortListening(listening)
	if mounts, err := readMounts(s.path("/proc/mounts")); err != nil {
		fail("Mounts", err)
	} else {
		h.Mounts = mounts
	}
	h.RealPaths = map[string]RealPath{}
	for _, p := range req.Paths {
		h.RealPaths[p] = realPath(p, h.Mounts)
	}
	return h
}

// childOpenFilesLimit is RLIMIT_NOFILE as a child process gets it. The Go
// runtime raises its own soft limit to the hard one at start-up and puts the
// original back for the processes it starts, so getrlimit in carbonguard
// itself says nothing about the server: a shell started the same way tells.
// Without a shell, carbonguard's own (raised) limits are the fallback.
func childOpenFilesLimit(ctx context.Context) (soft, hard uint64, err error) {
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(c, "/bin/sh", "-c", "ulimit -Sn; ulimit -Hn").Output()
	if err != nil {
		return openFilesLimit()
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return openFilesLimit()
	}
	parse := func(s string) (uint64, error) {
		if s == "unlimited" {
			return math.MaxUint64, nil
		}
		return strconv.ParseUint(s, 10, 64)
	}
	if soft, err = parse(f[0]); err != nil {
		return openFilesLimit()
	}
	if hard, err = parse(f[1]); err != nil {
		return openFilesLimit()
	}
	return soft, hard, nil
}

func (s SystemProbe) path(p string) string {
	if s.Root == "" {
		return p
	}
	return filepath.Join(s.Root, p)
}

// readMeminfo returns MemTotal and SwapTotal in bytes.
func readMeminfo(path string) (mem, swap uint64, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	var gotMem bool
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			continue
		}
		if len(f) > 2 && strings.EqualFold(f[2], "kB") {
			n *= 1024
		}
		switch f[0] {
		case "MemTotal:":
			mem, gotMem = n, true
		case "SwapTotal:":
			swap = n
		}
	}
	if !gotMem {
		return 0, 0, fmt.Errorf("%s: no MemTotal line", path)
	}
	return mem, swap, nil
}

// readOSRelease parses os-release(5).
func readOSRelease(path string) (OSRelease, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return OSRelease{}, err
	}
	var r OSRelease
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else {
			v = strings.Trim(v, `'"`)
		}
		switch k {
		case "ID":
			r.ID = v
		case "VERSION_ID":
			r.VersionID = v
		case "PRETTY_NAME":
			r.Pretty = v
		}
	}
	return r, nil
}

var javaVersionLine = regexp.MustCompile(`version "([^"]+)"`)

// javaVersion runs $JAVA_HOME/bin/java -version with a timeout.
func javaVersion(ctx context.Context, home string, timeout time.Duration) JavaRuntime {
	jr := JavaRuntime{Home: home}
	if home == "" {
		jr.VersionErr = "JAVA_HOME is not set"
		return jr
	}
	bin := filepath.Join(home, "bin", "java")
	if _, err := os.Stat(bin); err != nil {
		jr.VersionErr = fmt.Sprintf("%s: %v", bin, err)
		return jr
	}
	c, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(c, bin, "-version")
	cmd.WaitDelay = time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if c.Err() != nil {
		jr.VersionErr = fmt.Sprintf("%s -version did not answer within %s", bin, timeout)
		return jr
	}
	if err != nil {
		jr.VersionErr = fmt.Sprintf("%s -version: %v: %s", bin, err, firstLine(out.String()))
		return jr
	}
	parseJavaVersion(out.String(), &jr)
	return jr
}

// parseJavaVersion reads the output of java -version.
func parseJavaVersion(out string, jr *JavaRuntime) {
	m := javaVersionLine.FindStringSubmatch(out)
	if m == nil {
		jr.VersionErr = fmt.Sprintf("no version in java -version output: %q", firstLine(out))
		return
	}
	jr.Version = m[1]
	jr.Major = javaMajor(m[1])
	if strings.Contains(out, "IBM J9") || strings.Contains(out, "IBM Semeru") || strings.Contains(out, "IBM Corporation") {
		jr.Vendor = "IBM"
	}
}

// javaMajor maps "1.8.0_151" to 8 and "17.0.15" or "21" to 17 and 21.
func javaMajor(v string) int {
	parts := strings.FieldsFunc(v, func(r rune) bool { return r == '.' || r == '_' || r == '-' || r == '+' })
	if len(parts) == 0 {
		return 0
	}
	n, err := strconv.Atoi(parts[0])
	if err != nil {
		return 0
	}
	if n == 1 && len(parts) > 1 {
		if m, err := strconv.Atoi(parts[1]); err == nil {
			return m
		}
	}
	return n
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// readListening parses /proc/net/tcp{,6} and keeps LISTEN sockets (state 0A).
func readListening(path string) ([]ListeningPort, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []ListeningPort
	sc := bufio.NewScanner(f)
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[3] != "0A" {
			continue
		}
		addr, port, err := parseProcAddr(fields[1])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, ListeningPort{Addr: addr, Port: port})
	}
	return out, sc.Err()
}

// parseProcAddr decodes "0100007F:1F90" (little-endian 32-bit words).
func parseProcAddr(s string) (string, int, error) {
	hexIP, hexPort, ok := strings.Cut(s, ":")
	if !ok {
		return "", 0, fmt.Errorf("bad address %q", s)
	}
	port, err := strconv.ParseUint(hexPort, 16, 16)
	if err != nil {
		return "", 0, fmt.Errorf("bad port in %q", s)
	}
	raw, err := hex.DecodeString(hexIP)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return "", 0, fmt.Errorf("bad address %q", s)
	}
	ip := make(net.IP, len(raw))
	for i := 0; i < len(raw); i += 4 {
		ip[i], ip[i+1], ip[i+2], ip[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	return ip.String(), int(port), nil
}

func sortListening(ls []ListeningPort) []ListeningPort {
	sort.Slice(ls, func(i, j int) bool {
		if ls[i].Port != ls[j].Port {
			return ls[i].Port < ls[j].Port
		}
		return ls[i].Addr < ls[j].Addr
	})
	out := ls[:0]
	for i, l := range ls {
		if i > 0 && l == ls[i-1] {
			continue
		}
		out = append(out, l)
	}
	return out
}

// readMounts parses /proc/mounts (octal escapes such as \040 for a space).
func readMounts(path string) ([]Mount, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Mount
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		out = append(out, Mount{Device: unescapeMount(f[0]), Dir: unescapeMount(f[1]), FSType: f[2]})
	}
	return out, nil
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// SystemdUnitDirs are where scripts/install.sh (default /etc/systemd/system)
// and packaged units put service files.
var SystemdUnitDirs = []string{"/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"}

// carbonguardUnits lists the unit files whose ExecStart runs carbonguard
// for the pack at home (install.sh writes "ExecStart=<bin>/carbonguard
// --home <home> ... run"). Unreadable directories are skipped: no unit is
// no evidence, never an error.
func carbonguardUnits(dirs []string, home string) []string {
	var out []string
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".service") {
				continue
			}
			path := filepath.Join(dir, e.Name())
			b, err := os.ReadFile(path)
			if err != nil || len(b) > 1<<20 {
				continue
			}
			for _, line := range strings.Split(string(b), "\n") {
				line = strings.TrimSpace(line)
				if !strings.HasPrefix(line, "ExecStart=") {
					continue
				}
				words := strings.Fields(strings.TrimPrefix(line, "ExecStart="))
				if len(words) == 0 || filepath.Base(strings.TrimLeft(words[0], "-@+!:")) != "carbonguard" {
					continue
				}
				for i, w := range words {
					if (w == "--home" && i+1 < len(words) && filepath.Clean(words[i+1]) == filepath.Clean(home)) || w == "--home="+home {
						out = append(out, path)
					}
				}
			}
		}
	}
	sort.Strings(out)
	return out
}
