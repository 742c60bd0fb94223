package pack

import (
	"embed"
	"encoding/json"
	"path"
	"sort"
	"strings"
	"sync"
)

// The product defaults are WSO2's own files, copied unchanged from the
// product sources (see defaults/NOTICE.md): default.json (values for absent
// keys), infer.json (keys set by the value of another key, e.g. a server
// role switching indexing off) and key-mappings.json (user keys renamed to
// template keys, e.g. [transport.http] listener.port ->
// transport.passthru_http.listener.parameters.port). A product's shipped
// files are a build-time merge of the kernel's, its features' and its own,
// so a pack's defaults are the layers stacked in that order.
//
//go:embed defaults
var defaultFS embed.FS

// layer is one parsed directory under defaults/.
type layer struct {
	defaults map[string]any                       // canonical key -> value
	infer    map[string]map[string]map[string]any // trigger key -> trigger value -> key -> value
	mappings map[string][]string                  // user key -> template keys
}

var (
	layerMu    sync.Mutex
	layerCache = map[string]*layer{}
)

func loadLayer(name string) *layer {
	layerMu.Lock()
	defer layerMu.Unlock()
	if l, ok := layerCache[name]; ok {
		return l
	}
	l := &layer{defaults: map[string]any{}, infer: map[string]map[string]map[string]any{}, mappings: map[string][]string{}}
	if b, err := defaultFS.ReadFile(path.Join("defaults", name, "default.json")); err == nil {
		var m map[string]any
		if json.Unmarshal(b, &m) == nil {
			flattenJSON(nil, m, l.defaults)
		}
	}
	if b, err := defaultFS.ReadFile(path.Join("defaults", name, "infer.json")); err == nil {
		var m map[string]map[string]map[string]any
		if json.Unmarshal(b, &m) == nil {
			for trig, byVal := range m {
				t := canonKey(trig)
				l.infer[t] = map[string]map[string]any{}
				for val, kv := range byVal {
					flat := map[string]any{}
					for k, v := range kv {
						flat[canonKey(k)] = v
					}
					l.infer[t][val] = flat
				}
			}
		}
	}
	if b, err := defaultFS.ReadFile(path.Join("defaults", name, "key-mappings.json")); err == nil {
		var m map[string]any
		if json.Unmarshal(b, &m) == nil {
			for k, v := range m {
				switch t := v.(type) {
				case string:
					l.mappings[canonKey(k)] = []string{canonKey(t)}
				case []any:
					for _, e := range t {
						if s, ok := e.(string); ok {
							l.mappings[canonKey(k)] = append(l.mappings[canonKey(k)], canonKey(s))
						}
					}
				}
			}
		}
	}
	layerCache[name] = l
	return l
}

// flattenJSON turns nested objects into dotted keys; WSO2's default.json
// mixes both forms ("realm_manager": {"properties": {...}}).
func flattenJSON(prefix []string, m map[string]any, out map[string]any) {
	for k, v := range m {
		segs := append(append([]string{}, prefix...), splitKey(k)...)
		if sub, ok := v.(map[string]any); ok {
			flattenJSON(segs, sub, out)
			continue
		}
		out[joinKey(segs)] = jsonNumbers(v)
	}
}

// jsonNumbers makes JSON numbers look like TOML ones: whole numbers int64.
func jsonNumbers(v any) any {
	switch t := v.(type) {
	case float64:
		if t == float64(int64(t)) {
			return int64(t)
		}
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = jsonNumbers(e)
		}
		return out
	}
	return v
}

// defaultSet is the stack of layers that applies to one pack.
type defaultSet struct {
	names    []string
	defaults map[string]any
	infer    map[string]map[string]map[string]any
	mappings map[string][]string // user key -> template keys
	reverse  map[string][]string // template key -> user keys
}

func newDefaultSet(names ...string) *defaultSet {
	d := &defaultSet{names: names, defaults: map[string]any{}, infer: map[string]map[string]map[string]any{},
		mappings: map[string][]string{}, reverse: map[string][]string{}}
	for _, n := range names {
		l := loadLayer(n)
		for k, v := range l.defaults {
			d.defaults[k] = v
		}
		for t, byVal := range l.infer {
			if d.infer[t] == nil {
				d.infer[t] = map[string]map[string]any{}
			}
			for val, kv := range byVal {
				d.infer[t][val] = kv
			}
		}
		for k, v := range l.mappings {
			d.mappings[k] = v
		}
	}
	for u, ts := range d.mappings {
		for _, t := range ts {
			d.reverse[t] = append(d.reverse[t], u)
		}
	}
	for _, us := range d.reverse {
		sort.Strings(us)
	}
	return d
}

// layersFor picks the default layers for a product, version and
// distribution. Versions between the ones WSO2 files were taken from use
// the nearest earlier release of the same line.
func layersFor(prod Product, version, dist string) []string {
	major, minor := versionMajorMinor(version)
	switch prod {
	case APIM:
		switch {
		case major == 3:
			return []string{"kernel-4.8.1", "apim-3.2.0"}
		case major == 4 && minor < 5:
			return []string{"kernel-4.8.1", "apim-4.2.0"}
		case major >= 4:
			d := dist
			if d == "" || d == "key-manager" {
				d = "all-in-one"
			}
			// infer.json and key-mappings.json of 4.7 were read from the
			// all-in-one distribution; the split ones share its templates.
			return []string{"kernel-4.8.1", "apim-4.7.0-all-in-one", "apim-4.7.0-" + d}
		}
		return []string{"kernel-4.8.1", "apim-4.2.0"}
	case IS:
		if major >= 6 {
			return []string{"kernel-4.8.1", "ldap-server-feature", "is-7.1.0"}
		}
		return []string{"kernel-4.8.1", "ldap-server-feature", "is-5.10.0"}
	case MI:
		return []string{"mi-4.3.0"}
	}
	return []string{"kernel-4.8.1"}
}

func versionMajorMinor(v string) (int, int) {
	parts := strings.SplitN(v, ".", 3)
	atoi := func(s string) int {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int(c-'0')
			if n > 1000 {
				break
			}
		}
		return n
	}
	major, minor := 0, 0
	if len(parts) > 0 {
		major = atoi(parts[0])
	}
	if len(parts) > 1 {
		minor = atoi(parts[1])
	}
	return major, minor
}
