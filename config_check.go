package main

import (
	"fmt"
	"net/url"
	"os/user"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/carbonguard/carbonguard/validate"
)

// The values of carbonguard.toml, checked once where it is read, each
// problem named by file and line (a value that only fails when a command
// uses it would say neither, and would fail late: a start, an update's
// notification).

// validate checks every value cfg holds; md says which keys the file
// wrote, lines where.
func (cfg *fileConfig) validate(md toml.MetaData, lines map[string]int) error {
	var problems []string
	bad := func(key, format string, a ...any) {
		pos := cfg.path
		if n := lines[key]; n > 0 {
			pos += ":" + strconv.Itoa(n)
		}
		problems = append(problems, fmt.Sprintf("%s: %s: %s", pos, keyText(key), fmt.Sprintf(format, a...)))
	}
	set := func(key string) bool { return md.IsDefined(strings.Split(key, ".")...) }
	severity := func(key, v string) {
		if v == "" && !set(key) {
			return
		}
		if _, err := validate.ParseSeverity(v); err != nil {
			bad(key, "%v", err)
		}
	}
	positive := func(key string, d duration) {
		if set(key) && d.Duration <= 0 {
			bad(key, "%q: must be more than 0 (leave the key out for the default)", d.String())
		}
	}

	st := cfg.Start
	switch st.HostnameVerifier {
	case "", "Strict", "DefaultAndLocalhost":
	default:
		bad("start.hostname_verifier", "%q: use Strict or DefaultAndLocalhost (AllowAll switches verification off: set hostname_verification = false instead, if you must)", st.HostnameVerifier)
	}
	if st.HostnameVerifier != "" && st.HostnameVerification != nil && !*st.HostnameVerification {
		bad("start.hostname_verifier", "%q is set but hostname_verification = false: drop one of them", st.HostnameVerifier)
	}
	severity("start.fail_on", st.FailOn)
	positive("start.timeout", st.Timeout)
	positive("start.stability", st.Stability)
	positive("start.stop_timeout", st.StopTimeout)
	if st.ProxyPort < 0 || st.ProxyPort > 65535 {
		bad("start.proxy_port", "%d: use a port between 1 and 65535", st.ProxyPort)
	}
	if st.User != "" {
		if _, err := user.Lookup(st.User); err != nil {
			if _, nerr := strconv.Atoi(st.User); nerr != nil {
				bad("start.user", "%q: no such user on this host (%v): create it, or fix the name", st.User, err)
			} else if _, err := user.LookupId(st.User); err != nil {
				bad("start.user", "%q: no such user id on this host (%v)", st.User, err)
			}
		}
	}
	for i, h := range st.Health {
		key := fmt.Sprintf("start.health.%d", i)
		if u, err := url.Parse(h.URL); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "tcp") {
			bad(key+".url", "%q: give an http://, https:// or tcp://host:port URL", h.URL)
		}
		if h.Status != 0 && (h.Status < 100 || h.Status > 599) {
			bad(key+".status", "%d is not an HTTP status", h.Status)
		}
	}

	ck := cfg.Check
	severity("check.fail_on", ck.FailOn)
	ids := make([]string, 0, len(ck.Severity))
	for id := range ck.Severity {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if _, err := validate.ParseSeverity(ck.Severity[id]); err != nil {
			bad("check.severity", "%s: %v", id, err)
		}
	}

	sn := cfg.Snapshot
	switch sn.Compression {
	case "", "zstd", "gzip":
	default:
		bad("snapshot.compression", "%q: use zstd or gzip", sn.Compression)
	}
	if sn.KeepLast < 0 {
		bad("snapshot.keep_last", "%d: must not be negative (0 keeps no count, only keep_within applies)", sn.KeepLast)
	}

	if cfg.Update.SelfUpdateMax < 0 {
		bad("update.self_update_max", "%d: must not be negative (0 means the default, 3)", cfg.Update.SelfUpdateMax)
	}

	n := cfg.Notify
	if n.Webhook != "" {
		if u, err := url.Parse(n.Webhook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("notify.webhook", "%q: give an http:// or https:// URL", n.Webhook)
		}
	}
	positive("notify.timeout", n.Timeout)

	if len(problems) == 0 {
		return nil
	}
	return usagef("%s", strings.Join(problems, "\n"))
}

// keyText names a key as the file writes it: "[start] timeout".
func keyText(key string) string {
	segs := strings.Split(key, ".")
	if len(segs) < 2 {
		return key
	}
	return "[" + segs[0] + "] " + strings.Join(segs[1:], ".")
}

// configScan is what scanConfig found in carbonguard.toml's text.
type configScan struct {
	lines     map[string]int // dotted key ("start.timeout", "start.health.0.url") -> line
	depth     int            // the deepest nesting: key segments, arrays, inline tables
	depthLine int
}

// scanConfig reads carbonguard.toml line by line for the line of each key
// and the deepest nesting, without parsing it: it runs before the TOML
// parser, which is very slow on absurdly nested input. It is lenient (a
// line it cannot read is skipped): what it finds only names lines in
// messages and bounds the nesting.
func scanConfig(src string) configScan {
	sc := configScan{lines: map[string]int{}}
	table := []string{}
	arrays := map[string]int{}
	nest := 0  // open [ and { of a value spanning lines
	inML := "" // the delimiter of a multi-line string being skipped
	deeper := func(d, line int) {
		if d > sc.depth {
			sc.depth, sc.depthLine = d, line
		}
	}
	for i, raw := range strings.Split(src, "\n") {
		line := i + 1
		text := strings.TrimSpace(raw)
		if inML != "" {
			if strings.Count(text, inML)%2 == 1 {
				inML = ""
			}
			continue
		}
		if text == "" || text[0] == '#' {
			continue
		}
		if nest > 0 {
			nest = valueNesting(text, nest, func(d int) { deeper(len(table)+d, line) })
			continue
		}
		switch {
		case strings.HasPrefix(text, "[["):
			name, _, _ := strings.Cut(text[2:], "]]")
			segs := splitDotted(name)
			t := strings.Join(segs, ".")
			table = append(segs, strconv.Itoa(arrays[t]))
			arrays[t]++
			deeper(len(table), line)
		case text[0] == '[':
			name, _, _ := strings.Cut(text[1:], "]")
			table = splitDotted(name)
			deeper(len(table), line)
		default:
			eq := indexOutsideQuotes(text, '=')
			if eq < 0 {
				continue
			}
			segs := splitDotted(text[:eq])
			full := append(append([]string{}, table...), segs...)
			sc.lines[strings.Join(full, ".")] = line
			deeper(len(full), line)
			value := strings.TrimSpace(text[eq+1:])
			for _, d := range []string{`"""`, "'''"} {
				if strings.HasPrefix(value, d) && strings.Count(value, d)%2 == 1 {
					inML = d
				}
			}
			if inML == "" {
				nest = valueNesting(value, 0, func(d int) { deeper(len(full)+d, line) })
			}
		}
	}
	return sc
}

// valueNesting follows the [ and { of a value (outside strings and
// comments) from depth, reports each depth reached, and returns the depth
// at the end of the text.
func valueNesting(text string, depth int, reached func(int)) int {
	var quote byte
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case quote != 0:
			if c == '\\' && quote == '"' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#':
			return depth
		case c == '[' || c == '{':
			depth++
			reached(depth)
		case c == ']' || c == '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return depth
}

// splitDotted splits a TOML key on the dots outside quotes, unquoting the parts.
func splitDotted(key string) []string {
	var out []string
	var cur strings.Builder
	var quote byte
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '.':
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(out, strings.TrimSpace(cur.String()))
}

// indexOutsideQuotes is the index of the first c outside quotes, or -1.
func indexOutsideQuotes(s string, c byte) int {
	var quote byte
	for i := 0; i < len(s); i++ {
		switch {
		case quote != 0:
			if s[i] == quote {
				quote = 0
			}
		case s[i] == '"' || s[i] == '\'':
			quote = s[i]
		case s[i] == c:
			return i
		}
	}
	return -1
}
