package pack

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var (
	refRE        = regexp.MustCompile(`\$ref\{([^}]*)\}`)
	externalRE   = regexp.MustCompile(`\$(secret|env|sys)\{|\{\{`)
	carbonVarRE  = regexp.MustCompile(`\$\{([^}]+)\}`)
	wholeRefRE   = regexp.MustCompile(`^\s*\$ref\{([^}]*)\}\s*$`)
	indexSegRE   = regexp.MustCompile(`^[0-9]+$`)
	maxRefChains = 32
)

// Value is the effective value of a dotted configuration key: the one in
// deployment.toml (under its own name or a user key WSO2 maps onto it, such
// as [transport.http] listener.port for
// transport.passthru_http.listener.parameters.port), else the value
// infer.json derives from another key, else the product default. $ref{} is
// followed (Via lists the keys, a cycle is reported in Problem); $secret{},
// $env{}, $sys{} and {{ }} are returned as written with Externalised set.
// Elements of arrays of tables are addressed by index:
// "apim.gateway.environment.0.ws_endpoint". Legacy keys name a file under
// repository/conf and an element path: "carbon.xml:/Server/HostName",
// "tomcat/catalina-server.xml:/Server/Service/Connector[@port='9443']/@compression".
func (p *Pack) Value(key string) Value {
	if p == nil || p.st == nil {
		return Value{Key: key, Source: SourceUnset}
	}
	if strings.Contains(key, ":/") {
		return p.legacyValue(key)
	}
	v := p.resolve(canonKey(key), map[string]bool{}, nil)
	v.Key = key
	return v
}

// Has reports whether the key is written in the configuration, as opposed
// to defaulted, inferred or absent. A table counts when it is written.
func (p *Pack) Has(key string) bool {
	if p == nil || p.st == nil {
		return false
	}
	if strings.Contains(key, ":/") {
		return p.legacyValue(key).Source == SourceFile
	}
	ck := canonKey(key)
	if _, _, _, ok := p.lookupExplicit(ck); ok {
		return true
	}
	if v, ok := p.legacyFallback(ck); ok {
		return v.Source == SourceFile
	}
	if p.st.legacy != nil {
		for k := range p.st.legacy.values {
			if keyPrefix(k, ck) && k != ck {
				return true
			}
		}
	}
	return false
}

// Tables lists the names of the tables directly under prefix ("database" ->
// "apim_db", "local", "shared_db"): the ones deployment.toml writes and the
// ones the product's defaults imply (an APIM 4.7 gateway has no [database.*]
// in its file but default apim_db and shared_db URLs). Legacy packs have none.
func (p *Pack) Tables(prefix string) []string {
	if p == nil || p.st == nil {
		return nil
	}
	if p.st.cfg == nil {
		return p.legacyTables(prefix)
	}
	prefix = strings.TrimSpace(prefix)
	cp := ""
	if prefix != "" {
		cp = canonKey(prefix)
	}
	seen := map[string]bool{}
	n := 0
	if cp != "" {
		n = len(splitKey(cp))
	}
	add := func(k string, isTable bool) {
		if cp != "" && !keyPrefix(k, cp) {
			return
		}
		segs := splitKey(k)
		if isTable && len(segs) > n {
			seen[segs[n]] = true
		} else if len(segs) > n+1 {
			seen[segs[n]] = true
		}
	}
	for k := range p.st.cfg.tables {
		add(k, true)
	}
	for k := range p.st.cfg.values {
		add(k, false)
	}
	for k := range p.st.defs.defaults {
		add(k, false)
	}
	for k := range p.st.inferred {
		add(k, false)
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// lookupExplicit finds key in deployment.toml, under its own name, a user
// key mapped onto it, or the template key it maps to.
func (p *Pack) lookupExplicit(key string) (any, Position, string, bool) {
	cfg := p.st.cfg
	if cfg == nil {
		return nil, Position{}, "", false
	}
	if v, ok := cfg.get(key); ok {
		return v, Position{File: cfg.file, Line: cfg.lineOf(key)}, key, true
	}
	if p.st.defs != nil {
		for _, u := range p.st.defs.reverse[key] {
			if v, ok := cfg.get(u); ok {
				return v, Position{File: cfg.file, Line: cfg.lineOf(u)}, u, true
			}
		}
		for _, t := range p.st.defs.mappings[key] {
			if v, ok := cfg.get(t); ok {
				return v, Position{File: cfg.file, Line: cfg.lineOf(t)}, t, true
			}
		}
	}
	return nil, Position{}, "", false
}

// get finds a key, also inside arrays of tables and inline tables, and
// returns a table as its map.
func (c *tomlConfig) get(key string) (any, bool) {
	if v, ok := c.values[key]; ok {
		return v, true
	}
	if c.tables[key] {
		return c.tableMap(key), true
	}
	// a.b.c where a.b is an array or inline table holding c
	segs := splitKey(key)
	for n := len(segs) - 1; n > 0; n-- {
		base, ok := c.values[joinKey(segs[:n])]
		if !ok {
			continue
		}
		return dig(base, segs[n:])
	}
	return nil, false
}

func dig(v any, segs []string) (any, bool) {
	for _, s := range segs {
		switch t := v.(type) {
		case map[string]any:
			x, ok := t[s]
			if !ok {
				return nil, false
			}
			v = x
		case []any:
			if !indexSegRE.MatchString(s) {
				return nil, false
			}
			i, err := strconv.Atoi(s)
			if err != nil || i >= len(t) {
				return nil, false
			}
			v = t[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// tableMap rebuilds a table's content from the flattened keys.
func (c *tomlConfig) tableMap(key string) map[string]any {
	out := map[string]any{}
	n := len(splitKey(key))
	for k, v := range c.values {
		if !keyPrefix(k, key) || k == key {
			continue
		}
		segs := splitKey(k)[n:]
		m := out
		for i, s := range segs {
			if i == len(segs)-1 {
				m[s] = v
				break
			}
			sub, ok := m[s].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[s] = sub
			}
			m = sub
		}
	}
	return out
}

// lookupRaw finds the value of key before $ref{} is followed.
func (p *Pack) lookupRaw(key string) (any, Source, Position, bool) {
	if v, pos, _, ok := p.lookupExplicit(key); ok {
		return v, SourceFile, pos, true
	}
	if p.st.inferred != nil {
		if v, ok := p.st.inferred[key]; ok {
			return v, SourceInferred, p.st.inferPos[key], true
		}
	}
	if d := p.st.defs; d != nil {
		if v, ok := d.defaults[key]; ok {
			return v, SourceDefault, Position{}, true
		}
		for _, u := range d.reverse[key] {
			if v, ok := d.defaults[u]; ok {
				return v, SourceDefault, Position{}, true
			}
		}
		for _, t := range d.mappings[key] {
			if v, ok := p.st.inferred[t]; ok {
				return v, SourceInferred, p.st.inferPos[t], true
			}
			if v, ok := d.defaults[t]; ok {
				return v, SourceDefault, Position{}, true
			}
		}
	}
	if v, ok := p.legacyFallback(key); ok {
		return v.Raw, v.Source, v.Pos, true
	}
	return nil, SourceUnset, Position{}, false
}

// resolve computes the effective value of a canonical key, following
// $ref{} with cycle detection.
func (p *Pack) resolve(key string, seen map[string]bool, via []string) Value {
	raw, src, pos, ok := p.lookupRaw(key)
	if !ok {
		return Value{Key: key, Source: SourceUnset, Via: via}
	}
	v := Value{Key: key, Raw: raw, Source: src, Pos: pos, Via: via}
	if src == SourceFile && p.st.cfg != nil && p.st.cfg.cond[pos.Line] && pos.File == p.st.cfg.file {
		// Written inside a Helm {{ if }} or {{ range }}: whether and how it
		// applies depends on the chart's values.
		v.Externalised = true
		v.Problem = "set inside a Helm/Jinja {{ if }} or {{ range }} block; render the template to evaluate it"
		return v
	}
	s, isStr := raw.(string)
	if !isStr {
		v.Externalised = anyExternal(raw)
		return v
	}
	if !strings.Contains(s, "$ref{") {
		v.Externalised = externalRE.MatchString(s)
		v.CarbonVars = carbonVars(s)
		return v
	}
	if len(via) >= maxRefChains {
		v.Problem = fmt.Sprintf("$ref{} chain longer than %d keys", maxRefChains)
		return v
	}
	seen[key] = true
	defer delete(seen, key)
	if m := wholeRefRE.FindStringSubmatch(s); m != nil {
		target := canonKey(m[1])
		chain := append(append([]string{}, via...), target)
		if seen[target] {
			v.Problem = "$ref{} cycle: " + strings.Join(append(append([]string{key}, chain...), ""), " -> ")
			v.Problem = strings.TrimSuffix(v.Problem, " -> ")
			v.Via = chain
			v.Raw = nil
			return v
		}
		t := p.resolve(target, seen, chain)
		out := t
		out.Key = key
		out.Source = SourceRef
		if t.Source == SourceUnset {
			out.Source = SourceUnset
			out.Raw = nil
			out.Problem = fmt.Sprintf("%s refers to %s, which has no value", key, target)
		}
		if out.Pos.File == "" {
			out.Pos = pos
		}
		return out
	}
	// $ref{} inside a longer string: substitute each reference's text.
	ext := false
	var problem string
	chain := append([]string{}, via...)
	res := refRE.ReplaceAllStringFunc(s, func(ref string) string {
		target := canonKey(refRE.FindStringSubmatch(ref)[1])
		chain = append(chain, target)
		if seen[target] {
			problem = "$ref{} cycle through " + target
			return ref
		}
		t := p.resolve(target, seen, nil)
		if t.Problem != "" && problem == "" {
			problem = t.Problem
		}
		ext = ext || t.Externalised
		if t.Raw == nil {
			return ref
		}
		return scalarString(t.Raw)
	})
	v.Raw = res
	v.Source = SourceRef
	v.Via = chain
	v.Problem = problem
	v.Externalised = ext || externalRE.MatchString(res)
	v.CarbonVars = carbonVars(res)
	return v
}

func anyExternal(v any) bool {
	switch t := v.(type) {
	case string:
		return externalRE.MatchString(t)
	case []any:
		for _, e := range t {
			if anyExternal(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range t {
			if anyExternal(e) {
				return true
			}
		}
	}
	return false
}

func carbonVars(s string) []string {
	ms := carbonVarRE.FindAllStringSubmatch(s, -1)
	if ms == nil {
		return nil
	}
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, "${"+m[1]+"}")
	}
	return out
}

// checkRefs warns, at Open, about every written $ref{} that does not resolve.
func (p *Pack) checkRefs() {
	cfg := p.st.cfg
	if cfg == nil {
		return
	}
	keys := make([]string, 0, len(cfg.values))
	for k, v := range cfg.values {
		if s, ok := v.(string); ok && strings.Contains(s, "$ref{") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v := p.resolve(k, map[string]bool{}, nil); v.Problem != "" {
			p.warnf("%s:%d: %s: %s", cfg.file, cfg.lineOf(k), k, v.Problem)
		}
	}
}

// Int returns the value as a whole number when it is one (TOML integer, or a
// string holding one, as WSO2's own default.json spells ports).
func (v Value) Int() (int, bool) {
	switch t := v.Raw.(type) {
	case int64:
		return int(t), true
	case float64:
		if t == float64(int64(t)) {
			return int(t), true
		}
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(t))
		if err == nil {
			return n, true
		}
	}
	return 0, false
}

// Bool returns the value as a boolean (TOML bool or "true"/"false").
func (v Value) Bool() (bool, bool) {
	switch t := v.Raw.(type) {
	case bool:
		return t, true
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(t))
		if err == nil {
			return b, true
		}
	}
	return false, false
}

// String returns the value as text: strings as they are, numbers and
// booleans spelled as in TOML, arrays as their elements joined by commas.
func (v Value) String() string {
	switch t := v.Raw.(type) {
	case nil:
		return ""
	case string:
		return t
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = Value{Raw: e}.String()
		}
		return strings.Join(parts, ",")
	}
	return scalarString(v.Raw)
}

// Strings returns an array value's elements as text; a string value is
// one element.
func (v Value) Strings() []string {
	switch t := v.Raw.(type) {
	case nil:
		return nil
	case []any:
		out := make([]string, len(t))
		for i, e := range t {
			out[i] = Value{Raw: e}.String()
		}
		return out
	}
	return []string{v.String()}
}
