package validate

import (
	"path/filepath"
	"strings"

	"github.com/carbonguard/carbonguard/pack"
)

// The JVM's system properties come from several places; the last occurrence
// wins. Order on the stock scripts' command line (facts: wso2-config §4):
//
//	$JAVACMD ... $JVM_MEM_OPTS ... $JAVA_OPTS ... <fixed -D list> Bootstrap $*
//
// and Carbon's Main turns every -Dk=v among the script arguments ($*) into
// System.setProperty at start-up, so script arguments win over everything
// on the JVM command line. carbonguard's own start properties are script
// arguments, followed by the ones the operator adds.

// PropSource says where one occurrence of a system property comes from.
type PropSource string

// The property sources, in the order the JVM sees them.
const (
	PropJVMMemOpts PropSource = "JVM_MEM_OPTS"
	PropJavaOpts   PropSource = "JAVA_OPTS"
	PropScript     PropSource = "startup script"
	PropStartArgs  PropSource = "carbonguard start property"
	PropUserArgs   PropSource = "-D argument"
)

// PropOccurrence is one -Dkey=value the server would get.
type PropOccurrence struct {
	Key    string
	Value  string
	Source PropSource
	Pos    pack.Position // for the script: file and line
}

// SystemProps lists, in the order they take effect, every -D property the
// server would get from JVM_MEM_OPTS, JAVA_OPTS, the stock script's launch
// line, carbonguard's start properties and the operator's -D arguments. The
// effective value of a key is its last occurrence.
func SystemProps(f *Facts) []PropOccurrence {
	var out []PropOccurrence
	add := func(args []string, src PropSource, pos pack.Position) {
		for _, a := range args {
			if k, v, ok := parseDArg(a); ok {
				out = append(out, PropOccurrence{Key: k, Value: v, Source: src, Pos: pos})
			}
		}
	}
	memOpts := shellWords(f.Start.JVMMemOpts)
	javaOpts := shellWords(f.Start.JavaOpts)
	script := ""
	if f.Pack != nil {
		script = f.Pack.ScriptText()
	}
	launch := scriptLaunch(script)
	if launch == nil {
		// No script text (missing script): keep the documented order.
		add(memOpts, PropJVMMemOpts, pack.Position{})
		add(javaOpts, PropJavaOpts, pack.Position{})
	}
	rel := ""
	if f.Pack != nil && f.Pack.Script != "" {
		if r, err := filepath.Rel(f.Pack.Home, f.Pack.Script); err == nil {
			rel = filepath.ToSlash(r)
		}
	}
	for _, tok := range launch {
		switch {
		case tok.word == "$JVM_MEM_OPTS" || tok.word == "${JVM_MEM_OPTS}":
			add(memOpts, PropJVMMemOpts, pack.Position{})
		case tok.word == "$JAVA_OPTS" || tok.word == "${JAVA_OPTS}":
			add(javaOpts, PropJavaOpts, pack.Position{})
		default:
			add([]string{tok.word}, PropScript, pack.Position{File: rel, Line: tok.line})
		}
	}
	add(f.Start.ScriptArgs, PropStartArgs, pack.Position{})
	add(f.Start.UserArgs, PropUserArgs, pack.Position{})
	return out
}

// EffectiveProp is the last occurrence of key and every earlier one.
func EffectiveProp(props []PropOccurrence, key string) (winner PropOccurrence, all []PropOccurrence, ok bool) {
	for _, p := range props {
		if p.Key == key {
			all = append(all, p)
		}
	}
	if len(all) == 0 {
		return PropOccurrence{}, nil, false
	}
	return all[len(all)-1], all, true
}

// parseDArg reads "-Dkey=value" (value unquoted); "-Dkey" alone sets the
// empty string. Other arguments are ignored.
func parseDArg(a string) (key, value string, ok bool) {
	if !strings.HasPrefix(a, "-D") || len(a) < 3 {
		return "", "", false
	}
	k, v, _ := strings.Cut(a[2:], "=")
	return k, unquote(v), k != ""
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		return s[1 : len(s)-1]
	}
	return s
}

type scriptWord struct {
	word string
	line int
}

// scriptLaunch finds the stock script's launch command (the line starting
// with $JAVACMD, continued with backslashes) and returns its words with
// their line numbers, up to the main class. It returns nil when there is
// none.
func scriptLaunch(text string) []scriptWord {
	if text == "" {
		return nil
	}
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		t := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(t, "$JAVACMD ") && t != "$JAVACMD \\" && t != "$JAVACMD" && !strings.HasPrefix(t, `"$JAVACMD" `) && !strings.HasPrefix(t, "exec $JAVACMD") {
			continue
		}
		// A version probe ("$JAVACMD" -version) is not the launch.
		if strings.Contains(t, "-version") {
			continue
		}
		var words []scriptWord
		for j := i; j < len(lines); j++ {
			l := strings.TrimRight(lines[j], " \t\r")
			cont := strings.HasSuffix(l, "\\")
			l = strings.TrimSuffix(l, "\\")
			for _, w := range shellWords(l) {
				words = append(words, scriptWord{word: w, line: j + 1})
				if strings.HasPrefix(w, "org.wso2.") && !strings.HasPrefix(w, "-") {
					return words // the main class: what follows is $*
				}
			}
			if !cont {
				break
			}
		}
		return words
	}
	return nil
}

// shellWords splits a command line on blanks, keeping quoted parts
// together and dropping the quotes (no expansion is attempted).
func shellWords(s string) []string {
	var out []string
	var cur strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote, inWord = c, true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}
