package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
)

// Mask is what a secret is replaced with.
const Mask = "****"

// minDerived is the shortest derived form masked: a shorter run of base64
// or hex is as likely to be anything else.
const minDerived = 4

// Masker replaces secrets, and every form derived from them that a tool
// may print, with Mask.
type Masker struct {
	forms [][]byte // longest first
}

// NewMasker masks the given secret values. pairs are user and password
// pairs whose "user:password" (HTTP Basic authorization) is masked too; a
// pair's password need not also be in values.
func NewMasker(values []string, pairs ...[2]string) *Masker {
	set := map[string]bool{}
	add := func(s string) {
		if s != "" {
			set[s] = true
		}
	}
	for _, v := range values {
		for _, f := range derived(v) {
			add(f)
		}
	}
	for _, p := range pairs {
		if p[1] == "" {
			continue
		}
		for _, f := range derived(p[1]) {
			add(f)
		}
		if p[0] != "" {
			for _, f := range derived(p[0] + ":" + p[1]) {
				add(f)
			}
		}
	}
	m := &Masker{}
	for f := range set {
		m.forms = append(m.forms, []byte(f))
	}
	// Longest first, so that a form holding another is masked whole.
	sort.Slice(m.forms, func(i, j int) bool {
		if len(m.forms[i]) != len(m.forms[j]) {
			return len(m.forms[i]) > len(m.forms[j])
		}
		return bytes.Compare(m.forms[i], m.forms[j]) < 0
	})
	return m
}

// Longest is the length of the longest form masked: a writer that masks a
// stream in pieces keeps that much back so that no form straddles a cut.
func (m *Masker) Longest() int {
	if m == nil || len(m.forms) == 0 {
		return 0
	}
	return len(m.forms[0])
}

// Bytes masks b (b may be modified and returned).
func (m *Masker) Bytes(b []byte) []byte {
	if m == nil {
		return b
	}
	for _, f := range m.forms {
		if bytes.Contains(b, f) {
			b = bytes.ReplaceAll(b, f, []byte(Mask))
		}
	}
	return b
}

// String masks s.
func (m *Masker) String(s string) string { return string(m.Bytes([]byte(s))) }

// derived lists s and what a tool may print instead of it.
func derived(s string) []string {
	out := []string{s}
	long := func(f string) {
		if len(f) >= minDerived && f != s {
			out = append(out, f)
		}
	}
	// base64 in both alphabets, at the three byte alignments the secret can
	// have inside a longer encoded text (a Basic header's user:password, a
	// JSON body): the characters that depend on the secret's bytes alone.
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		long(enc.EncodeToString([]byte(s)))
		for k := 0; k < 3; k++ {
			e := enc.EncodeToString(append(make([]byte, k), s...))
			j0, j1 := (8*k+5)/6, (8*(k+len(s)))/6
			if j1 > len(e) {
				j1 = len(e)
			}
			if j1-j0 >= minDerived {
				long(e[j0:j1])
			}
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		long(enc.EncodeToString([]byte(s)))
	}
	// Percent-encoded, as in a URL's query or path, with upper- or
	// lower-case hex digits.
	for _, e := range []string{url.QueryEscape(s), url.PathEscape(s), strings.ReplaceAll(url.QueryEscape(s), "+", "%20")} {
		long(e)
		long(lowerEscapes(e))
	}
	// Hex.
	h := hex.EncodeToString([]byte(s))
	long(h)
	long(strings.ToUpper(h))
	// Escaped in a JSON string.
	if b, err := json.Marshal(s); err == nil {
		long(string(b[1 : len(b)-1]))
	}
	return out
}

// lowerEscapes writes the hex digits of %XX escapes in lower case.
func lowerEscapes(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = lower(b[i+1]), lower(b[i+2])
			i += 2
		}
	}
	return string(b)
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'F' {
		return c + 'a' - 'A'
	}
	return c
}
