package pack

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// The files whose presence makes a directory a product home.
var packMarkers = []string{
	"bin/api-manager.sh", "bin/api-cp.sh", "bin/gateway.sh", "bin/traffic-manager.sh",
	"bin/wso2server.sh", "bin/micro-integrator.sh",
	"repository/conf/deployment.toml", "conf/deployment.toml", "repository/conf/carbon.xml",
	"updates/product.txt",
}

// The startup scripts, in the order a pack holding several would be judged.
var scriptNames = []string{"api-manager.sh", "api-cp.sh", "gateway.sh", "traffic-manager.sh", "micro-integrator.sh", "wso2server.sh"}

// productCodeRE is the check WSO2's own update_tool_setup.sh applies to
// updates/product.txt.
var productCodeRE = regexp.MustCompile(`^([0-9a-zA-Z-]+)-([0-9]+\.[0-9]+\.[0-9]+)$`)

var versionTxtRE = regexp.MustCompile(`v?([0-9]+\.[0-9]+\.[0-9]+)`)

// maxConfigSize bounds what Open reads from any one file of the pack.
const maxConfigSize = 16 << 20

// distScripts are the scripts that name a distribution.
var distScripts = map[string]string{"gateway": "gateway.sh", "control-plane": "api-cp.sh", "traffic-manager": "traffic-manager.sh", "all-in-one": "api-manager.sh"}

// state is what Open read, kept behind Pack's methods.
type state struct {
	distFrom string         // what named the distribution, for NodeEvidence
	cfg      *tomlConfig    // deployment.toml; nil for the legacy layout
	defs     *defaultSet    // nil for the legacy layout
	inferred map[string]any // keys infer.json sets from explicit trigger values
	inferPos map[string]Position
	script   string // text of the startup script
	legacy   *legacyConfig

	mu  sync.Mutex
	xml map[string]*XMLDoc
}

// Open reads the product home at home. See OpenWith.
func Open(home string) (*Pack, error) { return OpenWith(home, Options{}) }

// OpenWith reads the product home at home: what product and version it is,
// its update level, startup script, log and PID files, and its
// configuration. It never writes to home. A directory that is not a product
// home gives *NotAPackError; a configuration file that cannot be read or
// parsed gives *ConfigError.
func OpenWith(home string, o Options) (*Pack, error) {
	abs, err := filepath.Abs(home)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", home, err)
	}
	abs = filepath.Clean(abs)
	fi, err := os.Stat(abs)
	if err != nil || !fi.IsDir() {
		return nil, &NotAPackError{Dir: abs, LookedFor: packMarkers}
	}
	found := false
	for _, m := range packMarkers {
		if exists(filepath.Join(abs, filepath.FromSlash(m))) {
			found = true
			break
		}
	}
	if !found {
		return nil, &NotAPackError{Dir: abs, LookedFor: packMarkers}
	}

	p := &Pack{Home: abs, UpdateLevel: -1, st: &state{xml: map[string]*XMLDoc{}}}
	if len(o.SysProps) > 0 {
		p.SysProps = make(map[string]string, len(o.SysProps))
		for k, v := range o.SysProps {
			p.SysProps[k] = v
		}
	}
	log := o.Logger

	scripts := p.detectProduct()
	p.readUpdates()
	p.pickScript(scripts)
	p.LogFile = filepath.Join(abs, "repository", "logs", "wso2carbon.log")
	p.PIDFile = filepath.Join(abs, "wso2carbon.pid")

	if err := p.readConfig(); err != nil {
		return p.configFailed(err, o)
	}
	p.detectRole()
	if err := p.computeOffset(); err != nil {
		return p.configFailed(err, o)
	}
	p.computePorts()
	p.checkRefs()
	log.Debug().Str("home", abs).Str("product", string(p.Product)).Str("version", p.Version).
		Str("layout", string(p.Layout)).Str("node", p.Node).Int("offset", p.offset()).Msg("pack opened")
	return p, nil
}

// configFailed ends an Open whose configuration could not be read: the
// error, or, with Options.Lenient, the pack as far as it was read (identity,
// update level, script, log and PID files) with the error in ConfigErr and
// no configuration, role or ports.
func (p *Pack) configFailed(err error, o Options) (*Pack, error) {
	if !o.Lenient {
		return nil, err
	}
	p.ConfigErr = err
	p.st.cfg, p.st.defs, p.st.legacy = nil, nil, nil
	p.Node, p.NodeSource, p.NodeEvidence, p.NodeConflict, p.Role = "", "", nil, "", ""
	p.Offset, p.Ports, p.Closed = Value{}, nil, nil
	o.Logger.Debug().Err(err).Str("home", p.Home).Msg("pack opened without its configuration (lenient)")
	return p, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func (p *Pack) warnf(format string, a ...any) {
	p.Warnings = append(p.Warnings, fmt.Sprintf(format, a...))
}

// readSmall reads a file of the pack, refusing anything but a regular file
// and absurd sizes. It opens without blocking, so that a FIFO put where a
// file belongs is refused instead of waiting for a writer forever.
func readSmall(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if fi.Size() > maxConfigSize {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d a configuration file may have", path, fi.Size(), maxConfigSize)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxConfigSize {
		return nil, fmt.Errorf("%s grew beyond %d bytes while being read", path, maxConfigSize)
	}
	return b, nil
}

// detectProduct sets Product, ProductCode, Version and Distribution from
// updates/product.txt, the startup scripts and bin/version.txt, and returns
// the scripts found.
func (p *Pack) detectProduct() []string {
	var scripts []string
	for _, s := range scriptNames {
		if exists(filepath.Join(p.Home, "bin", s)) {
			scripts = append(scripts, s)
		}
	}
	has := func(s string) bool {
		for _, x := range scripts {
			if x == s {
				return true
			}
		}
		return false
	}

	// updates/product.txt: what u2 itself goes by.
	if b, err := readSmall(filepath.Join(p.Home, "updates", "product.txt")); err == nil {
		code := strings.TrimSpace(string(b))
		if m := productCodeRE.FindStringSubmatch(code); m != nil {
			p.ProductCode, p.Version = code, m[2]
			p.Product, p.Distribution = productFromCode(m[1])
			if p.Distribution != "" {
				p.st.distFrom = "updates/product.txt: " + code
			}
		} else {
			p.warnf("updates/product.txt:1: %q is not <product>-<x.y.z> (u2 would fail with \"Unable to identify the product\"); restore the file from the distribution", firstLine(code))
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		p.warnf("updates/product.txt: cannot read: %v", err)
	}

	// bin/version.txt: "WSO2 API Manager v4.2.0".
	if b, err := readSmall(filepath.Join(p.Home, "bin", "version.txt")); err == nil {
		text := string(b)
		if p.Version == "" {
			if m := versionTxtRE.FindStringSubmatch(text); m != nil {
				p.Version = m[1]
			}
		}
		if p.Product == "" {
			switch {
			case strings.Contains(text, "API Manager"):
				p.Product = APIM
			case strings.Contains(text, "Identity Server"):
				p.Product = IS
			case strings.Contains(text, "Micro Integrator"):
				p.Product = MI
			}
		}
	}

	// The scripts: api-manager.sh and the 4.5+ split distributions are APIM,
	// micro-integrator.sh is MI.
	switch {
	case has("gateway.sh"):
		p.setDist(APIM, "gateway")
	case has("api-cp.sh"):
		p.setDist(APIM, "control-plane")
	case has("traffic-manager.sh"):
		p.setDist(APIM, "traffic-manager")
	case has("api-manager.sh"):
		p.setDist(APIM, "all-in-one")
	case has("micro-integrator.sh"):
		if p.Product == "" {
			p.Product = MI
		}
	}
	if p.Product == "" {
		if exists(filepath.Join(p.Home, "conf", "deployment.toml")) && !exists(filepath.Join(p.Home, "repository", "conf", "deployment.toml")) {
			p.Product = MI
		} else {
			p.Product = Carbon
		}
	}
	if p.Product == APIM && p.Distribution == "" {
		p.Distribution = "all-in-one"
	}
	if p.Product != APIM {
		p.Distribution = ""
	}
	return scripts
}

// setDist records what a script name says unless product.txt said otherwise.
func (p *Pack) setDist(prod Product, dist string) {
	if p.Product == "" {
		p.Product = prod
	}
	if p.Product == prod && p.Distribution == "" {
		p.Distribution = dist
		p.st.distFrom = "the startup script bin/" + distScripts[dist]
	}
}

// productFromCode maps a product code of updates/product.txt. The APIM 4.5+
// split distributions' codes are not in the facts carbonguard was built
// from; these are the names of WSO2's published packs.
func productFromCode(code string) (Product, string) {
	c := strings.ToLower(code)
	switch {
	case c == "wso2am-universal-gw" || c == "wso2am-gw" || c == "wso2am-gateway":
		return APIM, "gateway"
	case c == "wso2am-acp" || c == "wso2am-cp" || c == "wso2am-control-plane":
		return APIM, "control-plane"
	case c == "wso2am-tm" || c == "wso2am-traffic-manager":
		return APIM, "traffic-manager"
	case c == "wso2am" || strings.HasPrefix(c, "wso2am-"):
		return APIM, ""
	case c == "wso2is" || strings.HasPrefix(c, "wso2is-"):
		return IS, ""
	case c == "wso2mi" || strings.HasPrefix(c, "wso2mi-") || c == "wso2ei":
		return MI, ""
	}
	return Carbon, ""
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}

// readUpdates reads the update level and which update tool last touched the pack.
func (p *Pack) readUpdates() {
	dir := filepath.Join(p.Home, "updates")
	switch {
	case exists(filepath.Join(dir, "config.json")):
		p.UpdateTool = "u2"
	case exists(filepath.Join(dir, "config.yaml")):
		p.UpdateTool = "in-place"
	case exists(filepath.Join(dir, "wum")):
		p.UpdateTool = "wum"
	}
	b, err := readSmall(filepath.Join(dir, "config.json"))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			p.warnf("updates/config.json: cannot read: %v", err)
		}
		return
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		p.warnf("updates/config.json: not valid JSON (%v); the update level is unknown", err)
		return
	}
	raw, ok := m["update-level"]
	if !ok {
		return
	}
	var n json.Number
	var s string
	switch {
	case json.Unmarshal(raw, &n) == nil:
		s = n.String()
	case json.Unmarshal(raw, &s) == nil:
	default:
		p.warnf("updates/config.json: \"update-level\" is %s, not a number; the update level is unknown", string(raw))
		return
	}
	lvl, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		p.warnf("updates/config.json: \"update-level\" %q is not a whole number; the update level is unknown", s)
		return
	}
	p.UpdateLevel, p.UpdateLevelKnown = lvl, true
}

// pickScript sets Script: the one the distribution runs, else the expected
// name for the product (so that messages can name the missing file).
func (p *Pack) pickScript(found []string) {
	want := expectedScript(p.Product, p.Version, p.Distribution)
	for _, s := range found {
		if s == want {
			p.Script = filepath.Join(p.Home, "bin", s)
			break
		}
	}
	if p.Script == "" && len(found) > 0 {
		p.Script = filepath.Join(p.Home, "bin", found[0])
	}
	if p.Script == "" {
		p.Script = filepath.Join(p.Home, "bin", want)
		p.warnf("bin/%s: startup script not found", want)
		return
	}
	if b, err := readSmall(p.Script); err == nil {
		p.st.script = string(b)
	} else {
		p.warnf("%s: cannot read the startup script: %v", p.rel(p.Script), err)
	}
}

func expectedScript(prod Product, version, dist string) string {
	major, _ := versionMajorMinor(version)
	switch prod {
	case APIM:
		switch dist {
		case "gateway":
			return "gateway.sh"
		case "control-plane":
			return "api-cp.sh"
		case "traffic-manager":
			return "traffic-manager.sh"
		}
		if major >= 4 {
			return "api-manager.sh"
		}
	case MI:
		return "micro-integrator.sh"
	}
	return "wso2server.sh"
}

// rel names a path of the pack relative to the home, with forward slashes.
func (p *Pack) rel(path string) string {
	r, err := filepath.Rel(p.Home, path)
	if err != nil {
		return path
	}
	return filepath.ToSlash(r)
}

// readConfig decides the layout and reads deployment.toml or the legacy XML.
func (p *Pack) readConfig() error {
	tomlRel := "repository/conf/deployment.toml"
	if p.Product == MI {
		tomlRel = "conf/deployment.toml"
	}
	tomlPath := filepath.Join(p.Home, filepath.FromSlash(tomlRel))
	major, _ := versionMajorMinor(p.Version)
	legacyVersion := p.Version != "" && ((p.Product == APIM && major < 3) || (p.Product == IS && major == 5 && minorOf(p.Version) < 9) || (p.Product == IS && major < 5))

	if !exists(tomlPath) && (legacyVersion || exists(filepath.Join(p.Home, "repository", "conf", "carbon.xml"))) {
		p.Layout = LayoutLegacy
		return p.readLegacy()
	}
	p.Layout = LayoutTOML
	p.ConfigFile = tomlPath
	b, err := readSmall(tomlPath)
	if err != nil {
		what := "cannot read the configuration: " + err.Error()
		if errors.Is(err, fs.ErrNotExist) {
			what = "missing: this " + p.describe() + " keeps its configuration here; restore it from the distribution or a snapshot"
		}
		return &ConfigError{Pos: Position{File: tomlRel}, What: what, Err: err}
	}
	cfg, err := parseTOML(tomlRel, b)
	if err != nil {
		return err
	}
	p.st.cfg = cfg
	if cfg.helm {
		p.warnf("%s: holds Helm/Jinja {{ }} expressions; keys that use them cannot be evaluated until the template is rendered", tomlRel)
	}
	p.st.defs = newDefaultSet(layersFor(p.Product, p.Version, p.Distribution)...)
	p.infer()
	return nil
}

func minorOf(v string) int { _, m := versionMajorMinor(v); return m }

func (p *Pack) describe() string {
	s := string(p.Product)
	switch p.Product {
	case APIM:
		s = "API Manager"
	case IS:
		s = "Identity Server"
	case MI:
		s = "Micro Integrator"
	case Carbon:
		s = "Carbon product"
	}
	if p.Version != "" {
		s += " " + p.Version
	}
	return s
}

// infer applies infer.json: keys set by the explicit value of a trigger key,
// e.g. server_role = "gateway-worker" switching indexing off. As in WSO2's
// config mapper, triggers are the keys written in deployment.toml; an
// inferred value yields to an explicit one and wins over a default.
func (p *Pack) infer() {
	cfg, defs := p.st.cfg, p.st.defs
	p.st.inferred = map[string]any{}
	p.st.inferPos = map[string]Position{}
	triggers := make([]string, 0, len(defs.infer))
	for t := range defs.infer {
		triggers = append(triggers, t)
	}
	sort.Strings(triggers)
	apply := func(trigKey string, byVal map[string]map[string]any, sub string) {
		v, ok := cfg.values[trigKey]
		if !ok {
			return
		}
		kv, ok := byVal[scalarString(v)]
		if !ok {
			return
		}
		for k, val := range kv {
			if sub != "" {
				k = strings.ReplaceAll(k, "$1", sub)
				if s, ok := val.(string); ok {
					val = strings.ReplaceAll(s, "$1", sub)
				}
			}
			k = canonKey(k)
			p.st.inferred[k] = jsonNumbers(val)
			p.st.inferPos[k] = Position{File: cfg.file, Line: cfg.lineOf(trigKey)}
		}
	}
	for _, t := range triggers {
		segs := splitKey(t)
		wild := -1
		for i, s := range segs {
			if s == "$1" {
				wild = i
			}
		}
		if wild < 0 {
			apply(t, defs.infer[t], "")
			continue
		}
		for _, name := range cfg.childTables(joinKey(segs[:wild])) {
			concrete := append(append(append([]string{}, segs[:wild]...), name), segs[wild+1:]...)
			apply(joinKey(concrete), defs.infer[t], name)
		}
	}
}

// scalarString is how a trigger value is spelled in infer.json.
func scalarString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
