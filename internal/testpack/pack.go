package testpack

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/carbonguard/carbonguard/internal/copytree"
	"github.com/carbonguard/carbonguard/internal/fakes/invocation"
)

// Pack is a materialised fixture pack.
type Pack struct {
	Name     string // fixture name, e.g. apim-4.2
	Home     string // <tmp>/<name>: the product home (CARBON_HOME)
	JavaHome string // the fake JDK
	UserHome string // HOME for processes started with Env(): u2's tool home lives here
	Script   string // absolute path of the stock startup script
	Offset   int    // port offset written into the configuration (see Port)
	U2Server string // FAKE_U2_SERVER, "" when none

	extraEnv []string
	locks    *portLocks
}

type options struct {
	behaviour    string
	offset       *int
	keepConfig   bool
	jdk          string
	u2Server     string
	delay        time.Duration
	crashAfter   time.Duration
	stopDelay    time.Duration
	osgiInterval time.Duration
	env          []string
}

// Option configures New.
type Option func(*options)

// WithBehaviour sets FAKE_CARBON_BEHAVIOUR in Env().
func WithBehaviour(b string) Option { return func(o *options) { o.behaviour = b } }

// WithOffset writes this offset instead of picking a free one.
func WithOffset(n int) Option { return func(o *options) { o.offset = &n } }

// WithStockConfig leaves deployment.toml / carbon.xml as shipped (no offset
// written). Offset is then what the fixture says (MI: 10, others: 0 unless set).
func WithStockConfig() Option { return func(o *options) { o.keepConfig = true } }

// WithJDK sets JAVA_VERSION in the fake JDK's release file, e.g. "21.0.7" or "1.8.0_412".
func WithJDK(version string) Option { return func(o *options) { o.jdk = version } }

// WithU2Server points FAKE_U2_SERVER at testdata/u2/<name>, or at name itself
// when it is an absolute path.
func WithU2Server(name string) Option { return func(o *options) { o.u2Server = name } }

// WithDelay sets the fake server's startup delay (FAKE_CARBON_DELAY).
func WithDelay(d time.Duration) Option { return func(o *options) { o.delay = d } }

// WithStopDelay makes the fake server take d to exit after SIGTERM
// (FAKE_CARBON_STOP_DELAY).
func WithStopDelay(d time.Duration) Option { return func(o *options) { o.stopDelay = d } }

// WithCrashAfter sets how long crash-after, oom and restart-once stay up.
func WithCrashAfter(d time.Duration) Option { return func(o *options) { o.crashAfter = d } }

// WithOSGiInterval sets hang-osgi's warning interval.
func WithOSGiInterval(d time.Duration) Option { return func(o *options) { o.osgiInterval = d } }

// WithEnv adds KEY=VALUE entries to Env().
func WithEnv(kv ...string) Option { return func(o *options) { o.env = append(o.env, kv...) } }

// New copies testdata/packs/<name> to t.TempDir()/<name> and installs the
// fakes. Processes started for the pack are killed at the end of the test.
func New(t testing.TB, name string, opts ...Option) *Pack {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	bins := Fakes(t)
	root := ModuleRoot()
	src := filepath.Join(root, "testdata", "packs", name)
	if _, err := os.Stat(src); err != nil {
		t.Fatalf("testpack: no fixture pack %q: %v", name, err)
	}
	tmp := t.TempDir()
	p := &Pack{
		Name:     name,
		Home:     filepath.Join(tmp, name),
		JavaHome: filepath.Join(tmp, "jdk"),
		UserHome: filepath.Join(tmp, "home"),
	}
	t.Cleanup(p.Cleanup)
	must(t, CopyTree(src, p.Home))
	must(t, os.MkdirAll(p.UserHome, 0o755))

	// Fake JDK.
	jdk := o.jdk
	if jdk == "" {
		jdk = defaultJDK[name]
	}
	if jdk == "" {
		jdk = fallbackJDK
	}
	must(t, os.MkdirAll(filepath.Join(p.JavaHome, "bin"), 0o755))
	must(t, copyFile(bins.JVM, filepath.Join(p.JavaHome, "bin", "java"), 0o755))
	must(t, os.WriteFile(filepath.Join(p.JavaHome, "release"),
		[]byte(fmt.Sprintf("IMPLEMENTOR=\"Eclipse Adoptium\"\nJAVA_VERSION=\"%s\"\nJAVA_VERSION_DATE=\"2025-04-15\"\n", jdk)), 0o644))

	// bin/: scripts executable, fake u2 installed.
	must(t, os.MkdirAll(filepath.Join(p.Home, "bin"), 0o755))
	must(t, copyFile(bins.U2, filepath.Join(p.Home, "bin", "wso2update_linux"), 0o755))
	scripts, _ := filepath.Glob(filepath.Join(p.Home, "bin", "*.sh"))
	for _, s := range scripts {
		must(t, os.Chmod(s, 0o755))
	}
	if st := packScripts[name]; len(st) > 0 {
		p.Script = filepath.Join(p.Home, "bin", st[0].Name)
	} else if len(scripts) > 0 {
		p.Script = scripts[0]
	}

	// Port offset.
	mi := isMI(p.Home)
	switch {
	case o.keepConfig:
		p.Offset = stockOffset(t, p.Home, mi)
	case o.offset != nil:
		p.Offset = *o.offset
		must(t, writeOffset(p.Home, mi, p.Offset))
	default:
		p.locks = lockFreeOffset(t)
		p.Offset = p.locks.offset
		must(t, writeOffset(p.Home, mi, p.Offset))
	}

	// Environment.
	if o.u2Server != "" {
		p.U2Server = o.u2Server
		if !filepath.IsAbs(p.U2Server) {
			p.U2Server = filepath.Join(root, "testdata", "u2", o.u2Server)
		}
		if _, err := os.Stat(p.U2Server); err != nil {
			t.Fatalf("testpack: u2 server %q: %v", o.u2Server, err)
		}
		p.extraEnv = append(p.extraEnv, "FAKE_U2_SERVER="+p.U2Server)
	}
	if o.behaviour != "" {
		p.extraEnv = append(p.extraEnv, "FAKE_CARBON_BEHAVIOUR="+o.behaviour)
	}
	if o.delay > 0 {
		p.extraEnv = append(p.extraEnv, "FAKE_CARBON_DELAY="+o.delay.String())
	}
	if o.crashAfter > 0 {
		p.extraEnv = append(p.extraEnv, "FAKE_CARBON_CRASH_AFTER="+o.crashAfter.String())
	}
	if o.stopDelay > 0 {
		p.extraEnv = append(p.extraEnv, "FAKE_CARBON_STOP_DELAY="+o.stopDelay.String())
	}
	if o.osgiInterval > 0 {
		p.extraEnv = append(p.extraEnv, "FAKE_CARBON_OSGI_INTERVAL="+o.osgiInterval.String())
	}
	p.extraEnv = append(p.extraEnv, o.env...)
	return p
}

// scrubbedEnv are variables from the test's own environment that would leak
// into the pack's processes and change what they do.
var scrubbedEnv = []string{"JAVA_HOME", "JAVACMD", "JAVA_OPTS", "JVM_MEM_OPTS", "CARBON_HOME", "HOME",
	"FAKE_U2_SERVER", "FAKE_CARBON_BEHAVIOUR", "FAKE_CARBON_DELAY", "FAKE_CARBON_CRASH_AFTER",
	"FAKE_CARBON_OSGI_INTERVAL", "FAKE_U2_DELAY", "UPDATE_TOOL_USERNAME", "UPDATE_TOOL_PASSWORD"}

// Env is the environment for the pack's processes: the test's environment
// without Java/Carbon/u2 variables, plus JAVA_HOME, HOME and the fake knobs.
// CARBON_HOME is not set: the scripts derive it from their own path.
func (p *Pack) Env() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, s := range scrubbedEnv {
			drop = drop || k == s
		}
		if !drop {
			env = append(env, kv)
		}
	}
	env = append(env, "JAVA_HOME="+p.JavaHome, "HOME="+p.UserHome)
	return append(env, p.extraEnv...)
}

// Command returns the startup script with args, ready to run with Env().
func (p *Pack) Command(args ...string) *exec.Cmd {
	cmd := exec.Command(p.Script, args...)
	cmd.Env = p.Env()
	cmd.Dir = p.Home
	return cmd
}

// U2 returns bin/wso2update_linux with args, run from bin/ as the docs say.
func (p *Pack) U2(args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(p.Home, "bin", "wso2update_linux"), args...)
	cmd.Env = p.Env()
	cmd.Dir = filepath.Join(p.Home, "bin")
	return cmd
}

// Port is base + the pack's offset, e.g. Port(9443).
func (p *Pack) Port(base int) int { return base + p.Offset }

// LogPath is repository/logs/wso2carbon.log.
func (p *Pack) LogPath() string { return filepath.Join(p.Home, "repository", "logs", "wso2carbon.log") }

// Log returns the server log, "" when there is none yet.
func (p *Pack) Log() string {
	b, _ := os.ReadFile(p.LogPath())
	return string(b)
}

// WaitLog waits until the log contains substr, failing the test on timeout.
func (p *Pack) WaitLog(t testing.TB, substr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(p.Log(), substr) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testpack: %q not in %s after %v; log:\n%s", substr, p.LogPath(), timeout, tail(p.Log(), 30))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// PID reads wso2carbon.pid and reports whether that process is alive.
func (p *Pack) PID() (int, bool) {
	b, err := os.ReadFile(filepath.Join(p.Home, "wso2carbon.pid"))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, false
	}
	return pid, processAlive(pid)
}

// Invocation is one fakejvm launch from repository/logs/fakejvm-invocation.json.
type Invocation = invocation.Invocation

// Invocations returns every recorded launch, oldest first.
func (p *Pack) Invocations() []Invocation {
	out, err := invocation.Read(filepath.Join(p.Home, "repository", "logs", invocation.File))
	if err != nil {
		panic(fmt.Sprintf("testpack: %v", err))
	}
	return out
}

// Cleanup kills every process still running from this pack (the script's
// shells and the fake JVM) and releases the port offset. New registers it
// with t.Cleanup; calling it again is harmless.
func (p *Pack) Cleanup() {
	killPackProcesses(p.Home, p.JavaHome)
	if p.locks != nil {
		p.locks.release()
		p.locks = nil
	}
}

func isMI(home string) bool {
	_, err := os.Stat(filepath.Join(home, "conf", "deployment.toml"))
	return err == nil
}

func configPath(home string, mi bool) (string, bool) {
	if mi {
		return filepath.Join(home, "conf", "deployment.toml"), true
	}
	toml := filepath.Join(home, "repository", "conf", "deployment.toml")
	if _, err := os.Stat(toml); err == nil {
		return toml, true
	}
	return filepath.Join(home, "repository", "conf", "carbon.xml"), false
}

var (
	tableHeader  = regexp.MustCompile(`^\s*\[`)
	serverTable  = regexp.MustCompile(`^\s*\[server\]\s*(#.*)?$`)
	offsetKey    = regexp.MustCompile(`^\s*offset\s*=`)
	commentedKey = regexp.MustCompile(`^\s*#\s*offset\s*=`)
	xmlOffset    = regexp.MustCompile(`<Offset>\s*-?\d*\s*</Offset>`)
)

// writeOffset sets [server] offset (or carbon.xml <Ports><Offset>) by editing
// only that line, so the rest of the fixture stays byte for byte.
func writeOffset(home string, mi bool, n int) error {
	path, isTOML := configPath(home, mi)
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var out string
	if isTOML {
		out = setTOMLOffset(string(b), n)
		var doc struct {
			Server struct {
				Offset int `toml:"offset"`
			} `toml:"server"`
		}
		if _, err := toml.Decode(out, &doc); err != nil {
			return fmt.Errorf("%s after setting offset: %w", path, err)
		}
		if doc.Server.Offset != n {
			return fmt.Errorf("%s: offset reads back as %d, want %d", path, doc.Server.Offset, n)
		}
	} else {
		loc := xmlOffset.FindStringIndex(string(b))
		if loc == nil {
			return fmt.Errorf("%s: no <Offset> element", path)
		}
		out = string(b[:loc[0]]) + fmt.Sprintf("<Offset>%d</Offset>", n) + string(b[loc[1]:])
	}
	return os.WriteFile(path, []byte(out), 0o644)
}

func setTOMLOffset(src string, n int) string {
	lines := strings.SplitAfter(src, "\n")
	line := fmt.Sprintf("offset = %d\n", n)
	for i, l := range lines {
		if !serverTable.MatchString(strings.TrimRight(l, "\r\n")) {
			continue
		}
		commented := -1
		for j := i + 1; j < len(lines) && !tableHeader.MatchString(lines[j]); j++ {
			if offsetKey.MatchString(lines[j]) {
				lines[j] = line
				return strings.Join(lines, "")
			}
			if commented < 0 && commentedKey.MatchString(lines[j]) {
				commented = j
			}
		}
		// Uncomment the stock "#offset=0" line, as an operator would.
		if commented >= 0 {
			lines[commented] = line
			return strings.Join(lines, "")
		}
		lines[i] = strings.TrimRight(l, "\r\n") + "\n" + line
		return strings.Join(lines, "")
	}
	// No [server] table: add one before the first table, so top-level keys stay top-level.
	for i, l := range lines {
		if tableHeader.MatchString(l) {
			lines[i] = "[server]\n" + line + "\n" + l
			return strings.Join(lines, "")
		}
	}
	if src != "" && !strings.HasSuffix(src, "\n") {
		src += "\n"
	}
	return src + "[server]\n" + line
}

func stockOffset(t testing.TB, home string, mi bool) int {
	path, isTOML := configPath(home, mi)
	b, err := os.ReadFile(path)
	if err != nil {
		if mi {
			return 10
		}
		return 0
	}
	if !isTOML {
		m := regexp.MustCompile(`<Offset>\s*(-?\d+)\s*</Offset>`).FindSubmatch(b)
		if m == nil {
			return 0
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	var doc map[string]any
	if _, err := toml.Decode(string(b), &doc); err != nil {
		t.Logf("testpack: %s does not parse (%v); assuming the default offset", path, err)
	}
	if srv, ok := doc["server"].(map[string]any); ok {
		switch v := srv["offset"].(type) {
		case int64:
			return int(v)
		case string:
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				return n
			}
		}
	}
	if mi {
		return 10
	}
	return 0
}

// CopyTree copies a fixture tree: directories, files with their modes, and
// symlinks as links (internal/copytree).
func CopyTree(src, dst string) error { return copytree.Copy(src, dst, copytree.Options{}) }

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("testpack: %v", err)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// U2Invocation is one fakeu2 run from ~/.wso2-updates/fakeu2-invocations.jsonl
// (the pack's UserHome). The password never appears in it.
type U2Invocation struct {
	Time             time.Time `json:"time"`
	Argv             []string  `json:"argv"` // -p/--password values masked as ****
	Command          string    `json:"command"`
	Cwd              string    `json:"cwd"`
	CredentialSource string    `json:"credential_source"` // flags, env or prompt; "" when none was needed
	Username         string    `json:"username"`
	FromLevel        *int      `json:"from_level"`
	ToLevel          *int      `json:"to_level"`
	ExitCode         int       `json:"exit_code"`
}

// U2Invocations returns every fakeu2 run with this pack's HOME, oldest first.
func (p *Pack) U2Invocations() []U2Invocation {
	b, err := os.ReadFile(filepath.Join(p.UserHome, ".wso2-updates", "fakeu2-invocations.jsonl"))
	if err != nil {
		return nil
	}
	var out []U2Invocation
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r U2Invocation
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			panic(fmt.Sprintf("testpack: fakeu2-invocations.jsonl: %v", err))
		}
		out = append(out, r)
	}
	return out
}

// UpdateLevel reads updates/config.json "update-level" (number or string).
func (p *Pack) UpdateLevel(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.Home, "updates", "config.json"))
	must(t, err)
	var doc map[string]any
	must(t, json.Unmarshal(b, &doc))
	switch v := doc["update-level"].(type) {
	case float64:
		return int(v)
	case string:
		n, err := strconv.Atoi(v)
		must(t, err)
		return n
	}
	t.Fatalf("testpack: update-level is %v", doc["update-level"])
	return 0
}

// WriteBehaviourJar puts a plugin jar into home whose
// META-INF/fake-carbon.properties sets the fake server's behaviour (e.g.
// "fail-config"), as a broken update's bundle would: any server booted from
// that tree, a copy included, behaves so unless -D or the environment says
// otherwise.
func WriteBehaviourJar(t testing.TB, home, behaviour string) string {
	t.Helper()
	path := filepath.Join(home, "repository", "components", "plugins", "org.wso2.fake.behaviour_1.0.0.jar")
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("META-INF/fake-carbon.properties")
	must(t, err)
	_, err = fmt.Fprintf(w, "behaviour=%s\n", behaviour)
	must(t, err)
	must(t, zw.Close())
	must(t, os.WriteFile(path, buf.Bytes(), 0o644))
	return path
}
