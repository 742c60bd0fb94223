package clone

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/carbonguard/carbonguard/internal/durable"
)

// Override merges a TOML fragment (the [drill] overrides table of
// carbonguard.toml, decoded) over the copy's deployment.toml: tables are
// merged key by key, any other value (arrays of tables included) replaces
// the copy's. The file is rewritten atomically, re-encoded (its comments
// and layout are not kept: it is a scratch copy). It returns the dotted
// keys it set, never their values (they may hold passwords). A Carbon 4.4
// pack has no deployment.toml to merge into.
func Override(home string, fragment map[string]any) ([]string, error) {
	if len(fragment) == 0 {
		return nil, nil
	}
	file, err := configFile(home)
	if err != nil {
		return nil, err
	}
	rel, _ := filepath.Rel(home, file)
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, &OverrideError{File: rel, Why: err.Error()}
	}
	doc := map[string]any{}
	if _, err := toml.Decode(string(data), &doc); err != nil {
		return nil, &OverrideError{File: rel, Why: "the copy's file does not parse: " + err.Error()}
	}
	var keys []string
	if err := merge(doc, fragment, "", &keys); err != nil {
		return nil, &OverrideError{File: rel, Why: err.Error()}
	}
	var buf bytes.Buffer
	buf.WriteString("# Rewritten by carbonguard for a copy of the pack: [drill] overrides merged in.\n")
	if err := toml.NewEncoder(&buf).Encode(doc); err != nil {
		return nil, &OverrideError{File: rel, Why: "encoding the merged file: " + err.Error()}
	}
	st, err := os.Stat(file)
	if err != nil {
		return nil, &OverrideError{File: rel, Why: err.Error()}
	}
	if err := durable.WriteFile(file, buf.Bytes(), st.Mode().Perm()); err != nil {
		return nil, &OverrideError{File: rel, Why: err.Error()}
	}
	sort.Strings(keys)
	return keys, nil
}

// OverrideKeys are the dotted keys an overrides fragment sets (what
// Override returns once merged).
func OverrideKeys(fragment map[string]any) []string {
	var keys []string
	collectKeys(fragment, "", &keys)
	sort.Strings(keys)
	return keys
}

// configFile is the copy's deployment.toml (repository/conf, or conf for
// the Micro Integrator).
func configFile(home string) (string, error) {
	for _, rel := range []string{"repository/conf/deployment.toml", "conf/deployment.toml"} {
		p := filepath.Join(home, filepath.FromSlash(rel))
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", &OverrideError{File: rel, Why: err.Error()}
		}
	}
	return "", &OverrideError{File: "deployment.toml", Why: "the copy has none (a Carbon 4.4 pack is configured in XML files): overrides apply to deployment.toml only"}
}

func merge(dst, src map[string]any, prefix string, keys *[]string) error {
	names := make([]string, 0, len(src))
	for k := range src {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := src[k]
		key := joinKey(prefix, k)
		sm, srcTable := v.(map[string]any)
		dm, dstTable := dst[k].(map[string]any)
		switch {
		case srcTable && dstTable:
			if err := merge(dm, sm, key, keys); err != nil {
				return err
			}
		case srcTable:
			if _, exists := dst[k]; exists {
				return fmt.Errorf("%s is a table in the overrides but not in the copy's file", key)
			}
			dst[k] = copyTable(sm)
			collectKeys(sm, key, keys)
		default:
			if _, exists := dst[k]; exists && dstTable {
				return fmt.Errorf("%s is a table in the copy's file; the overrides give it a value", key)
			}
			dst[k] = v
			*keys = append(*keys, key)
		}
	}
	return nil
}

func copyTable(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if t, ok := v.(map[string]any); ok {
			v = copyTable(t)
		}
		out[k] = v
	}
	return out
}

func collectKeys(m map[string]any, prefix string, keys *[]string) {
	for k, v := range m {
		key := joinKey(prefix, k)
		if t, ok := v.(map[string]any); ok {
			collectKeys(t, key, keys)
			continue
		}
		*keys = append(*keys, key)
	}
}

// joinKey joins dotted TOML key segments, quoting those that are not bare.
func joinKey(prefix, seg string) string {
	if seg == "" || strings.IndexFunc(seg, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}) >= 0 {
		seg = fmt.Sprintf("%q", seg)
	}
	if prefix == "" {
		return seg
	}
	return prefix + "." + seg
}
