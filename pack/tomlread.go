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
	cond   map[int]bool    // lines inside Helm {{ if }}/{{ range }} blocks
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
	subst, exprs, cond := substituteHelm(src)
	if d, line := tomlDepth(subst); d > maxKeyDepth {
		return nil, &ConfigError{Pos: Position{File: rel, Line: line},
			What: fmt.Sprintf("keys, tables or arrays nest %d levels deep (more than %d); this is not a WSO2 configuration, restore the file", d, maxKeyDepth)}
	}
	var m map[string]any
	if _, err := toml.Decode(subst, &m); err != nil {
		return nil, tomlError(rel, err, len(exprs) > 0 || strings.Contains(src, "{%"))
	}
	c := &tomlConfig{
		file:   rel,
		values: map[string]any{},
		tables: map[string]bool{},
		lines:  scanKeyPositions(subst),
		helm:   len(exprs) > 0,
		cond:   cond,
	}
	c.flatten(nil, m, exprs)
	return c, nil
}

// tomlError describes a file the TOML parser refused. A file holding Helm or
// Jinja expressions ({{ }}, {% %}) that still breaks TOML once they are set
// aside is a template that was never rendered: that is what the message
// says, not that Carbon would fail to start on it.
func tomlError(rel string, err error, template bool) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		what := "invalid TOML: " + pe.Message
		if pe.LastKey != "" {
			what += " (after key " + pe.LastKey + ")"
		}
		if template {
			what = "looks like an unrendered template: it holds Helm/Jinja {{ }} expressions and is not valid TOML around them (" + what +
				"); render it (helm template, the deployment's entrypoint) and check the result, or point carbonguard at the rendered pack"
		} else {
			what += "; fix the syntax on this line (Carbon would stop at start with \"Error while performing configuration changes\")"
		}
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
// a comment, and so does every line of an {{ else }} branch, so that the two
// branches of a conditional do not define the same table twice; the lines of
// conditional blocks are returned, as their keys cannot be evaluated before
// the template is rendered. Line breaks are kept, so line numbers do not move.
func substituteHelm(src string) (string, []string, map[int]bool) {
	if !strings.Contains(src, "{{") {
		return src, nil, nil
	}
	var exprs []string
	cond := map[int]bool{}
	var blocks []bool // open {{ if/range/with }} blocks; true while in an else branch
	inElse := func() bool {
		for _, e := range blocks {
			if e {
				return true
			}
		}
		return false
	}
	comment := func(body string) string { return "#" + strings.Repeat(" ", max(0, len(body)-1)) }
	var out strings.Builder
	inMulti := "" // `"""` or `'''` while inside a multi-line string
	lines := strings.SplitAfter(src, "\n")
	for n, line := range lines {
		lineNo := n + 1
		body := strings.TrimRight(line, "\r\n")
		eol := line[len(body):]
		trimmed := strings.TrimSpace(body)
		if inMulti == "" && strings.HasPrefix(trimmed, "{{") && onlyDirectives(trimmed) {
			exprs = append(exprs, trimmed)
			for _, d := range directiveWords(trimmed) {
				switch d {
				case "if", "range", "with", "define", "block":
					blocks = append(blocks, false)
				case "else":
					if len(blocks) > 0 {
						blocks[len(blocks)-1] = true
					}
				case "end":
					if len(blocks) > 0 {
						blocks = blocks[:len(blocks)-1]
					}
				}
			}
			out.WriteString(comment(body) + eol)
			continue
		}
		if len(blocks) > 0 {
			cond[lineNo] = true
			if inElse() && inMulti == "" {
				out.WriteString(comment(body) + eol)
				continue
			}
		}
		var b strings.Builder
		quote := byte(0)                       // inside a one-line string delimited by quote
		closes := strings.Contains(body, "}}") // a {{ without }} later on the line stays text
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
			if closes && strings.HasPrefix(body[i:], "{{") {
				end := strings.Index(body[i+2:], "}}")
				if end < 0 {
					closes = false
				} else {
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
	return out.String(), exprs, cond
}

// directiveWords returns the first word of each {{ }} action on a line:
// "if", "else", "end", "range", ...
func directiveWords(s string) []string {
	var out []string
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			return out
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			return out
		}
		inner := strings.Trim(strings.TrimSpace(s[i+2:i+j]), "-")
		if f := strings.Fields(inner); len(f) > 0 {
			out = append(out, f[0])
		}
		s = s[i+j+2:]
	}
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
