package pack

import "strings"

// splitKey splits a dotted configuration key into its segments. A segment in
// single or double quotes may hold dots, as in WSO2's own default.json:
// synapse_properties.'inbound.port.offset.enable'. Whitespace around
// segments is dropped. It never fails: an unterminated quote runs to the end.
func splitKey(key string) []string {
	var segs []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(key[i+1:], c)
			if end < 0 {
				cur.WriteString(key[i+1:])
				i = len(key)
			} else {
				cur.WriteString(key[i+1 : i+1+end])
				i += end + 1
			}
			quoted = true
		case c == '.':
			segs = append(segs, segText(cur.String(), quoted))
			cur.Reset()
			quoted = false
		default:
			cur.WriteByte(c)
		}
	}
	segs = append(segs, segText(cur.String(), quoted))
	return segs
}

func segText(s string, quoted bool) string {
	if quoted {
		return s
	}
	return strings.TrimSpace(s)
}

// joinKey is the inverse of splitKey: the canonical spelling of a key, with
// segments that need it in single quotes.
func joinKey(segs []string) string {
	var b strings.Builder
	for i, s := range segs {
		if i > 0 {
			b.WriteByte('.')
		}
		if needsQuote(s) {
			if strings.ContainsRune(s, '\'') {
				b.WriteString(`"` + s + `"`)
			} else {
				b.WriteString("'" + s + "'")
			}
		} else {
			b.WriteString(s)
		}
	}
	return b.String()
}

func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return true
		}
	}
	return false
}

// canonKey returns the canonical spelling of a dotted key.
func canonKey(key string) string { return joinKey(splitKey(key)) }

// keyPrefix reports whether key lies at or below prefix (both canonical).
func keyPrefix(key, prefix string) bool {
	return key == prefix || strings.HasPrefix(key, prefix+".")
}
