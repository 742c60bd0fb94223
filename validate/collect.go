package validate

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/carbonguard/carbonguard/pack"
)

// HostProbe reads the host. The real one is SystemProbe; tests and
// reproductions use StaticProbe. A probe never fails as a whole: what it
// cannot read goes into Host.Errors under the field's name, and the checks
// that need it report Unknown.
type HostProbe interface {
	Probe(ctx context.Context, req ProbeRequest) Host
}

// ProbeRequest says what the probe must look at for one pack.
type ProbeRequest struct {
	Home     string   // the pack's home: free disk space is measured where it lives
	JavaHome string   // the JDK the server would use ("" = $JAVA_HOME)
	Names    []string // host names the pack configures, to resolve
	Paths    []string // absolute paths to follow through symlinks (RealPaths keys)
}

// CollectOptions tunes Collect.
type CollectOptions struct {
	Probe     HostProbe // nil = SystemProbe{}
	Start     StartFacts
	Snapshots SnapshotFacts
	Now       time.Time // zero = time.Now()
	// Gate is set when the facts are collected for carbonguard's own start
	// gate: carbonguard is then the launcher (Facts.Launcher).
	Gate   bool
	Logger zerolog.Logger
}

// Collect gathers the facts for one pack; others are the other homes of the
// same call (for cross-pack checks). The facts are read once, before any
// check runs.
func Collect(ctx context.Context, p *pack.Pack, others []*pack.Pack, o CollectOptions) (*Facts, error) {
	if p == nil {
		return nil, fmt.Errorf("validate: Collect needs a pack")
	}
	probe := o.Probe
	if probe == nil {
		probe = SystemProbe{}
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	start := o.Start
	if start.RunAsUID == 0 && start.RunAsUser == "" {
		// The zero value means "not told": the server runs as whoever runs us,
		// which the probe knows. An explicit root user sets RunAsUser "root".
		start.RunAsUID = -1
	}
	req := ProbeRequest{
		Home:     p.Home,
		JavaHome: start.JavaHome,
		Names:    ConfiguredHostnames(p),
		Paths:    pathsToResolve(p),
	}
	// The other homes' paths too: two homes whose Solr indexes meet behind a
	// symlink are only found by following both.
	for _, q := range others {
		req.Paths = append(req.Paths, pathsToResolve(q)...)
	}
	o.Logger.Debug().Str("home", p.Home).Strs("names", req.Names).Strs("paths", req.Paths).Msg("probing host")
	h := probe.Probe(ctx, req)
	if h.Errors == nil {
		h.Errors = map[string]string{}
	}
	if _, running, err := p.RunningPID(); err != nil {
		h.Errors["ServerRunning"] = err.Error()
	} else {
		h.ServerRunning = running
	}
	if start.JavaHome == "" {
		start.JavaHome = h.Java.Home
	}
	if start.JavaOpts == "" {
		start.JavaOpts = h.Env["JAVA_OPTS"]
	}
	if start.JVMMemOpts == "" {
		start.JVMMemOpts = h.Env["JVM_MEM_OPTS"]
	}
	return &Facts{
		Pack:            p,
		Others:          others,
		Host:            h,
		Start:           start,
		Snapshots:       o.Snapshots,
		Now:             now,
		PackFiles:       ReadPackTextFiles(p.Home),
		Launcher:        launcherFacts(p, h, o.Gate),
		Keystores:       collectKeystores(p),
		DatasourceFiles: datasourceFiles(p),
	}, nil
}

// DropInScript is carbonguard's drop-in for the stock startup script, as
// scripts/install.sh installs it into the pack.
const DropInScript = "bin/carbonguard-server.sh"

func launcherFacts(p *pack.Pack, h Host, gate bool) LauncherFacts {
	l := LauncherFacts{Gate: gate, Units: append([]string(nil), h.CarbonguardUnits...)}
	if fi, err := os.Stat(filepath.Join(p.Home, filepath.FromSlash(DropInScript))); err == nil && fi.Mode().IsRegular() {
		l.DropIn = DropInScript
	}
	return l
}

// datasourceFiles lists repository/conf/datasources/*.xml (not on the
// Micro Integrator, whose datasources are [[datasource]] tables).
func datasourceFiles(p *pack.Pack) []string {
	if p.Product == pack.MI {
		return nil
	}
	entries, err := os.ReadDir(filepath.Join(p.Home, "repository", "conf", "datasources"))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".xml") {
			out = append(out, "datasources/"+e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// CollectAll collects the facts of several homes named in one call; each
// pack sees the others in Facts.Others. snapshots may be nil or hold one
// entry per pack.
func CollectAll(ctx context.Context, packs []*pack.Pack, snapshots []SnapshotFacts, o CollectOptions) ([]*Facts, error) {
	out := make([]*Facts, 0, len(packs))
	for i, p := range packs {
		others := make([]*pack.Pack, 0, len(packs)-1)
		for j, q := range packs {
			if j != i {
				others = append(others, q)
			}
		}
		oo := o
		if i < len(snapshots) {
			oo.Snapshots = snapshots[i]
		}
		f, err := Collect(ctx, p, others, oo)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// hostnameKeys are the keys naming the server's own host name.
var hostnameKeys = []string{"server.hostname", "carbon.xml:/Server/HostName", "carbon.xml:/Server/MgtHostName"}

// ConfiguredHostnames lists the host names the pack configures for itself
// ([server] hostname; legacy carbon.xml HostName and MgtHostName), without
// externalised values and Carbon variables, sorted and unique.
func ConfiguredHostnames(p *pack.Pack) []string {
	seen := map[string]bool{}
	for _, k := range hostnameKeys {
		v := p.Value(k)
		if !v.Set() || v.Externalised {
			continue
		}
		s := strings.TrimSpace(fmt.Sprint(v.Raw))
		if s == "" || strings.Contains(s, "${") {
			continue
		}
		seen[s] = true
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// SolrDataDir is the absolute directory of the registry Solr index:
// [indexing] location (default "../../../../solr/data") relative to
// repository/conf/solr/registry-indexing, i.e. <home>/solr/data. It returns
// "" when the location is externalised.
func SolrDataDir(p *pack.Pack) (string, pack.Value) {
	v := p.Value("indexing.location")
	loc := "../../../../solr/data"
	if v.Set() {
		if v.Externalised {
			return "", v
		}
		loc = fmt.Sprint(v.Raw)
	}
	if filepath.IsAbs(loc) {
		return filepath.Clean(loc), v
	}
	return filepath.Clean(filepath.Join(p.Home, "repository", "conf", "solr", "registry-indexing", loc)), v
}

var h2FileURL = regexp.MustCompile(`^jdbc:h2:(?:(?:file|async|split):)*([^;]+)`)

// LocalDBDir is the directory holding the node-local H2 registry database
// ([database.local] url, default ./repository/database/WSO2CARBON_DB),
// relative paths taken from the home (the scripts start the JVM there).
// It returns "" when the URL is externalised or not a file H2 URL.
func LocalDBDir(p *pack.Pack) (string, pack.Value) {
	v := p.Value("database.local.url")
	url := "jdbc:h2:./repository/database/WSO2CARBON_DB"
	if v.Set() {
		if v.Externalised {
			return "", v
		}
		url = fmt.Sprint(v.Raw)
	}
	m := h2FileURL.FindStringSubmatch(url)
	if m == nil || strings.HasPrefix(m[1], "mem:") || strings.HasPrefix(m[1], "tcp:") || strings.HasPrefix(m[1], "ssl:") {
		return "", v
	}
	path := m[1]
	if strings.HasPrefix(path, "~") {
		return "", v
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(p.Home, path)
	}
	return filepath.Dir(filepath.Clean(path)), v
}

// pathsToResolve are the paths whose real location matters: the home, the
// Solr index and the local database directory.
func pathsToResolve(p *pack.Pack) []string {
	paths := []string{p.Home}
	if p.Product == pack.APIM {
		if d, _ := SolrDataDir(p); d != "" {
			paths = append(paths, d)
		}
		if d, _ := LocalDBDir(p); d != "" {
			paths = append(paths, d)
		}
	}
	return paths
}

// StaticProbe answers from a fixed Host: for tests, golden reports and
// reproducing a report elsewhere (check --host-facts). Names it does not know
// are unresolvable; paths it does not know are followed on the real file
// system (fixture packs are real directories) and matched against its Mounts.
type StaticProbe struct {
	Host Host
}

// Probe implements HostProbe.
func (s StaticProbe) Probe(_ context.Context, req ProbeRequest) Host {
	h := s.Host
	h.Errors = copyMap(s.Host.Errors)
	h.CarbonguardUnits = append([]string(nil), s.Host.CarbonguardUnits...)
	h.Env = copyMap(s.Host.Env)
	h.Listening = append([]ListeningPort(nil), s.Host.Listening...)
	h.Mounts = append([]Mount(nil), s.Host.Mounts...)
	h.ResolvedAddrs = map[string][]string{}
	for _, n := range req.Names {
		if addrs, ok := s.Host.ResolvedAddrs[n]; ok {
			h.ResolvedAddrs[n] = append([]string(nil), addrs...)
		} else {
			h.Errors["ResolvedAddrs:"+n] = fmt.Sprintf("lookup %s: no such host", n)
		}
	}
	h.RealPaths = map[string]RealPath{}
	for _, path := range req.Paths {
		if rp, ok := s.Host.RealPaths[path]; ok {
			h.RealPaths[path] = rp
			continue
		}
		h.RealPaths[path] = realPath(path, h.Mounts)
	}
	return h
}

func copyMap[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// realPath follows path through symlinks and finds the mount holding it. A
// path that does not exist yet is resolved through its longest existing
// parent (an index directory is created at first start).
func realPath(path string, mounts []Mount) RealPath {
	rp := RealPath{Path: path}
	real, missing, err := evalExisting(path)
	if err != nil {
		rp.Err = err.Error()
		return rp
	}
	rp.Real = filepath.Join(real, missing)
	rp.IsSymlink = rp.Real != filepath.Clean(path)
	if m, ok := mountOf(rp.Real, mounts); ok {
		rp.Mount = &m
	}
	return rp
}

func evalExisting(path string) (real, missing string, err error) {
	cur := filepath.Clean(path)
	for {
		r, err := filepath.EvalSymlinks(cur)
		if err == nil {
			return r, missing, nil
		}
		if !os.IsNotExist(err) {
			return "", "", err
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return "", "", err
		}
		missing = filepath.Join(filepath.Base(cur), missing)
		cur = parent
	}
}

// mountOf is the mount with the longest Dir that contains path.
func mountOf(path string, mounts []Mount) (Mount, bool) {
	best, found := Mount{}, false
	for _, m := range mounts {
		if m.Dir == "/" || path == m.Dir || strings.HasPrefix(path, strings.TrimSuffix(m.Dir, "/")+"/") {
			if !found || len(m.Dir) > len(best.Dir) {
				best, found = m, true
			}
		}
	}
	return best, found
}

// resolveNames looks names up with a short timeout each.
func resolveNames(ctx context.Context, names []string, timeout time.Duration, h *Host) {
	h.ResolvedAddrs = map[string][]string{}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			h.ResolvedAddrs[n] = []string{ip.String()}
			continue
		}
		c, cancel := context.WithTimeout(ctx, timeout)
		addrs, err := net.DefaultResolver.LookupHost(c, n)
		cancel()
		if err != nil {
			h.Errors["ResolvedAddrs:"+n] = err.Error()
			continue
		}
		sort.Strings(addrs)
		h.ResolvedAddrs[n] = addrs
	}
}
