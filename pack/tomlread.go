package pack

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// tomlConfig is a deployment.toml as read: every key flattened to its
// canonical dotted spelling, with its line.
type tomlConfig struct {
	file   string          // relative to the home, forward slashes
	values map[string]any  // leaf values; arrays of tables are []any of map[string]any
	tables map[string]bool // keys that are tables, array-of-tables elements ("a.0") included
	lines  map[string]int  // key -> 1-based line
	helm   bool            // the text held Helm/Jinja {{ }} expressions
}

// helmMark brackets the placeholder that stands in for a {{ }} expression
// while the text goes through the TOML parser.
const helmMark = "\x60cg-helm-"

// parseTOML reads deployment.toml text. Helm/Jinja {{ }} expressions, which
// make a file invalid TOML, are swapped for quoted placeholders first and
// put back into the decoded strings afterwards, so that only the keys that
// hold them are "externalised" and the rest of the file is still read.
func parseTOML(rel string, data []byte) (*tomlConfig, error) {
	src := string(data)
	subst, exprs := substituteHelm(src)
	var m map[string]any
	if _, err := toml.Decode(subst, &m); err != nil {
		return nil, tomlError(rel, err)
	}
	c := &tomlConfig{
		file:   rel,
		values: map[string]any{},
		tables: map[string]bool{},
		lines:  scanKeyPositions(subst),
		helm:   len(exprs) > 0,
	}
	c.flatten(nil, m, exprs)
	return c, nil
}

func tomlError(rel string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		what := "invalid TOML: " + pe.Message
		if pe.LastKey != "" {
			what += " (after key " + pe.LastKey + ")"
		}
		what += "; fix the syntax on this line (Carbon would stop at start with \"Error while performing configuration changes\")"
		return &ConfigError{Pos: Position{File: rel, Line: pe.Position.Line}, What: what, Err: err}
	}
	return &ConfigError{Pos: Position{File: rel}, What: "invalid TOML: " + err.Error(), Err: err}
}

func (c *tomlConfig) flatten(prefix []string, v any, exprs []string) {
	key := joinKey(prefix)
	switch t := v.(type) {
	case map[string]any:
		if len(prefix) > 0 {
			c.tables[key] = true
		}
		for k, sub := range t {
			c.flatten(append(append([]string{}, prefix...), k), sub, exprs)
		}
	case []map[string]any:
		c.tables[key] = true
		arr := make([]any, len(t))
		for i, el := range t {
			c.flatten(append(append([]string{}, prefix...), strconv.Itoa(i)), el, exprs)
			arr[i] = restoreHelm(el, exprs)
		}
		c.values[key] = arr
	default:
		c.values[key] = restoreHelm(v, exprs)
	}
}

// restoreHelm puts the original {{ }} text back where placeholders stand.
func restoreHelm(v any, exprs []string) any {
	if len(exprs) == 0 {
		return v
	}
	switch t := v.(type) {
	case string:
		if !strings.Contains(t, helmMark) {
			return t
		}
		for i := len(exprs) - 1; i >= 0; i-- {
			t = strings.ReplaceAll(t, helmPlaceholder(i), exprs[i])
		}
		return t
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = restoreHelm(e, exprs)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = restoreHelm(e, exprs)
		}
		return out
	case []map[string]any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = restoreHelm(e, exprs)
		}
		return out
	}
	return v
}

func helmPlaceholder(i int) string { return fmt.Sprintf("%s%d\x60", helmMark, i) }

// substituteHelm replaces each {{ ... }} on a line by a placeholder: bare
// inside a string, a quoted string elsewhere (offset = {{ .Values.x }}).
// A line that holds nothing but template directives ({{- if ... }}) becomes
// a comment. Line breaks are kept, so line numbers do not move.
func substituteHelm(src string) (string, []string) {
	if !strings.Contains(src, "{{") {
		return src, nil
	}
	var exprs []string
	var out strings.Builder
	inMulti := "" // `"""` or `'''` while inside a multi-line string
	lines := strings.SplitAfter(src, "\n")
	for _, line := range lines {
		body := strings.TrimRight(line, "\r\n")
		eol := line[len(body):]
		trimmed := strings.TrimSpace(body)
		if inMulti == "" && strings.HasPrefix(trimmed, "{{") && onlyDirectives(trimmed) {
			exprs = append(exprs, trimmed)
			out.WriteString("#" + strings.Repeat(" ", max(0, len(body)-1)) + eol)
			continue
		}
		var b strings.Builder
		quote := byte(0) // inside a one-line string delimited by quote
		for i := 0; i < len(body); {
			if inMulti != "" {
				if strings.HasPrefix(body[i:], inMulti) {
					b.WriteString(inMulti)
					i += 3
					inMulti = ""
					continue
				}
			} else if quote == 0 {
				if body[i] == '#' {
					b.WriteString(body[i:])
					break
				}
				if strings.HasPrefix(body[i:], `"""`) || strings.HasPrefix(body[i:], `'''`) {
					inMulti = body[i : i+3]
					b.WriteString(inMulti)
					i += 3
					continue
				}
				if body[i] == '"' || body[i] == '\'' {
					quote = body[i]
					b.WriteByte(body[i])
					i++
					continue
				}
			} else {
				if quote == '"' && body[i] == '\\' && i+1 < len(body) {
					b.WriteString(body[i : i+2])
					i += 2
					continue
				}
				if body[i] == quote {
					quote = 0
					b.WriteByte(body[i])
					i++
					continue
				}
			}
			if strings.HasPrefix(body[i:], "{{") {
				if end := strings.Index(body[i+2:], "}}"); end >= 0 {
					expr := body[i : i+2+end+2]
					ph := helmPlaceholder(len(exprs))
					exprs = append(exprs, expr)
					if quote == 0 && inMulti == "" {
						b.WriteString(`"` + ph + `"`)
					} else {
						b.WriteString(ph)
					}
					i += len(expr)
					continue
				}
			}
			b.WriteByte(body[i])
			i++
		}
		out.WriteString(b.String() + eol)
	}
	return out.String(), exprs
}

// onlyDirectives reports whether a line is a sequence of {{ }} expressions
// and nothing else.
func onlyDirectives(s string) bool {
	for s != "" {
		if !strings.HasPrefix(s, "{{") {
			return false
		}
		end := strings.Index(s, "}}")
		if end < 0 {
			return false
		}
		s = strings.TrimSpace(s[end+2:])
	}
	return true
}

// lineOf returns the line of key, else of the closest enclosing table.
func (c *tomlConfig) lineOf(key string) int {
	segs := splitKey(key)
	for n := len(segs); n > 0; n-- {
		if l, ok := c.lines[joinKey(segs[:n])]; ok {
			return l
		}
	}
	return 0
}

// childTables lists the table names directly under prefix.
func (c *tomlConfig) childTables(prefix string) []string {
	seen := map[string]bool{}
	n := len(splitKey(prefix))
	for k := range c.tables {
		if !keyPrefix(k, prefix) || k == prefix {
			continue
		}
		segs := splitKey(k)
		if len(segs) > n {
			seen[segs[n]] = true
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
