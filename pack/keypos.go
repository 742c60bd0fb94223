package pack

import (
	"strconv"
	"strings"
)

// scanKeyPositions finds the line of every key and table a TOML text
// defines. BurntSushi/toml reports positions only for parse errors, so this
// is a small lexer of its own: it follows table headers ([a.b]), arrays of
// tables ([[a.b]], whose elements are named a.b.0, a.b.1, ... as in the
// flattened configuration), dotted keys (properties.port = 9443 under
// [transport.https] is transport.https.properties.port) and inline tables,
// and skips strings, arrays and comments. Keys are canonical (joinKey). A
// key defined twice keeps its first line. It accepts any input without
// panicking; on text that is not valid TOML the result is best effort.
func scanKeyPositions(src string) map[string]int {
	s := &keyScanner{src: src, line: 1, pos: map[string]int{}, arrays: map[string]int{}}
	s.run()
	return s.pos
}

// maxKeyDepth bounds how deep keys, inline tables and arrays may nest.
// WSO2's keys are a handful of levels deep; a file far beyond that is not a
// configuration, and the TOML parser slows down badly on it.
const maxKeyDepth = 64

// tomlDepth returns the deepest nesting in a TOML text (key segments,
// inline tables and arrays) and the line where it occurs.
func tomlDepth(src string) (int, int) {
	s := &keyScanner{src: src, line: 1, pos: map[string]int{}, arrays: map[string]int{}, depthOnly: true}
	s.run()
	return s.maxDepth, s.maxLine
}

type keyScanner struct {
	src    string
	i      int
	line   int
	table  []string       // segments of the current table, array indexes included
	pos    map[string]int // canonical key -> line
	arrays map[string]int // canonical array-of-tables key (indexes resolved) -> element count

	depthOnly bool // measure nesting without recording positions
	maxDepth  int
	maxLine   int
}

func (s *keyScanner) depth(d int) {
	if d > s.maxDepth {
		s.maxDepth, s.maxLine = d, s.line
	}
}

func (s *keyScanner) eof() bool { return s.i >= len(s.src) }

func (s *keyScanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.i]
}

func (s *keyScanner) advance() {
	if s.eof() {
		return
	}
	if s.src[s.i] == '\n' {
		s.line++
	}
	s.i++
}

func (s *keyScanner) record(segs []string, line int) {
	s.depth(len(segs))
	if s.depthOnly || len(segs) > maxKeyDepth {
		return
	}
	k := joinKey(segs)
	if _, ok := s.pos[k]; !ok {
		s.pos[k] = line
	}
}

// skipSpace skips blanks (not newlines).
func (s *keyScanner) skipSpace() {
	for !s.eof() && (s.peek() == ' ' || s.peek() == '\t' || s.peek() == '\r') {
		s.advance()
	}
}

// skipLine skips to the start of the next line.
func (s *keyScanner) skipLine() {
	for !s.eof() && s.peek() != '\n' {
		s.advance()
	}
	s.advance()
}

func (s *keyScanner) run() {
	for !s.eof() {
		c := s.peek()
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			s.advance()
		case c == '#':
			s.skipLine()
		case c == '[':
			s.header()
		default:
			start := s.i
			s.keyValue(s.table)
			if s.i == start { // not a key: never loop
				s.skipLine()
			}
		}
	}
}

// header reads [a.b] or [[a.b]].
func (s *keyScanner) header() {
	line := s.line
	s.advance()
	array := false
	if s.peek() == '[' {
		array = true
		s.advance()
	}
	segs, ok := s.key()
	s.skipSpace()
	if !ok || s.peek() != ']' {
		s.skipLine()
		return
	}
	s.advance()
	if array {
		if s.peek() != ']' {
			s.skipLine()
			return
		}
		s.advance()
	}
	full := s.resolve(segs)
	if array {
		k := joinKey(full)
		n := s.arrays[k]
		s.arrays[k] = n + 1
		s.record(full, line)
		full = append(full, strconv.Itoa(n))
	}
	s.record(full, line)
	s.table = full
	s.restOfLine()
}

// resolve inserts the current element index after every prefix of segs that
// names an array of tables, so [a.b] after [[a]] means a.<last>.b.
func (s *keyScanner) resolve(segs []string) []string {
	var out []string
	for i, seg := range segs {
		out = append(out, seg)
		if i == len(segs)-1 {
			break
		}
		if n, ok := s.arrays[joinKey(out)]; ok && n > 0 {
			out = append(out, strconv.Itoa(n-1))
		}
	}
	return out
}

// restOfLine skips blanks and a comment up to the end of the line.
func (s *keyScanner) restOfLine() {
	s.skipSpace()
	if s.peek() == '#' || s.peek() == '\n' {
		s.skipLine()
	}
}

// key reads a dotted key: bare or quoted segments separated by dots.
func (s *keyScanner) key() ([]string, bool) {
	var segs []string
	for {
		s.skipSpace()
		c := s.peek()
		switch {
		case c == '"' || c == '\'':
			seg, ok := s.quotedKey(c)
			if !ok {
				return nil, false
			}
			segs = append(segs, seg)
		case isBare(c):
			start := s.i
			for !s.eof() && isBare(s.peek()) {
				s.advance()
			}
			segs = append(segs, s.src[start:s.i])
		default:
			return nil, false
		}
		s.skipSpace()
		if s.peek() != '.' {
			return segs, true
		}
		s.advance()
	}
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// quotedKey reads a quoted key segment on one line.
func (s *keyScanner) quotedKey(q byte) (string, bool) {
	s.advance()
	var b strings.Builder
	for !s.eof() {
		c := s.peek()
		switch {
		case c == '\n':
			return "", false
		case c == q:
			s.advance()
			if q == '"' {
				if u, err := strconv.Unquote(`"` + b.String() + `"`); err == nil {
					return u, true
				}
			}
			return b.String(), true
		case c == '\\' && q == '"':
			b.WriteByte(c)
			s.advance()
			if !s.eof() && s.peek() != '\n' {
				b.WriteByte(s.peek())
				s.advance()
			}
		default:
			b.WriteByte(c)
			s.advance()
		}
	}
	return "", false
}

// keyValue reads key = value under table and records the key (and the
// implicit tables its dots create).
func (s *keyScanner) keyValue(table []string) {
	line := s.line
	segs, ok := s.key()
	if !ok {
		return
	}
	s.skipSpace()
	if s.peek() != '=' {
		s.skipLine()
		return
	}
	s.advance()
	s.skipSpace()
	full := append(append([]string{}, table...), segs...)
	for j := len(table) + 1; j < len(full); j++ {
		s.record(full[:j], line)
	}
	s.record(full, line)
	if s.peek() == '{' {
		s.inlineTable(full)
	} else {
		s.value()
	}
	s.restOfLine()
}

// inlineTable reads { k = v, ... } and records its keys.
func (s *keyScanner) inlineTable(prefix []string) {
	s.advance() // {
	for !s.eof() {
		s.skipSpace()
		switch s.peek() {
		case '}':
			s.advance()
			return
		case ',', '\n':
			s.advance()
			continue
		case '#':
			s.skipLine()
			continue
		}
		start := s.i
		line := s.line
		segs, ok := s.key()
		if !ok {
			if s.i == start {
				s.advance()
			}
			continue
		}
		s.skipSpace()
		if s.peek() != '=' {
			continue
		}
		s.advance()
		s.skipSpace()
		full := append(append([]string{}, prefix...), segs...)
		s.record(full, line)
		if s.peek() == '{' && len(full) <= maxKeyDepth {
			s.inlineTable(full)
		} else if s.peek() == '{' {
			s.array() // too deep to name: skip it whole
		} else {
			s.inlineValue()
		}
	}
}

// value skips a value at statement level: a string, an array, or a bare
// value up to the end of the line or a comment.
func (s *keyScanner) value() {
	switch c := s.peek(); c {
	case '"', '\'':
		s.str(c)
	case '[':
		s.array()
	default:
		for !s.eof() && s.peek() != '\n' && s.peek() != '#' {
			s.advance()
		}
	}
}

// inlineValue skips a value inside an inline table: up to ',' or '}'.
func (s *keyScanner) inlineValue() {
	switch c := s.peek(); c {
	case '"', '\'':
		s.str(c)
	case '[':
		s.array()
	default:
		for !s.eof() && s.peek() != ',' && s.peek() != '}' && s.peek() != '\n' {
			s.advance()
		}
	}
}

// array skips a possibly multi-line array, nested arrays, inline tables,
// strings and comments included.
func (s *keyScanner) array() {
	depth := 0
	for !s.eof() {
		c := s.peek()
		switch c {
		case '[', '{':
			depth++
			s.depth(depth)
			s.advance()
		case ']', '}':
			depth--
			s.advance()
			if depth <= 0 {
				return
			}
		case '"', '\'':
			s.str(c)
		case '#':
			for !s.eof() && s.peek() != '\n' {
				s.advance()
			}
		default:
			s.advance()
		}
	}
}

// str skips a basic, literal or multi-line string.
func (s *keyScanner) str(q byte) {
	triple := strings.Repeat(string(q), 3)
	if strings.HasPrefix(s.src[s.i:], triple) {
		for k := 0; k < 3; k++ {
			s.advance()
		}
		for !s.eof() {
			if q == '"' && s.peek() == '\\' {
				s.advance()
				s.advance()
				continue
			}
			if strings.HasPrefix(s.src[s.i:], triple) {
				for k := 0; k < 3; k++ {
					s.advance()
				}
				// A closing delimiter may carry up to two extra quotes.
				for k := 0; k < 2 && s.peek() == q; k++ {
					s.advance()
				}
				return
			}
			s.advance()
		}
		return
	}
	s.advance()
	for !s.eof() {
		c := s.peek()
		switch {
		case c == '\n':
			return
		case c == '\\' && q == '"':
			s.advance()
			if s.peek() != '\n' {
				s.advance()
			}
		case c == q:
			s.advance()
			return
		default:
			s.advance()
		}
	}
}
