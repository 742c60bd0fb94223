package pack

import "strings"

// LaunchWord is one word of the stock script's launch command, with the
// 1-based line of the script it is on.
type LaunchWord struct {
	Word string
	Line int
}

// Launch is the stock startup script's launch command (the line starting
// with $JAVACMD, continued with backslashes) as words with their line
// numbers, up to and including the main class; nil when the script is
// missing or has no such line. The words are the script's text, unexpanded:
// "$JAVA_OPTS" stays a word of its own. The order on the stock scripts is
// (facts: wso2-config.md §4)
//
//	$JAVACMD ... $JVM_MEM_OPTS ... $JAVA_OPTS ... <fixed -D list> Bootstrap $*
func (p *Pack) Launch() []LaunchWord { return ParseLaunch(p.ScriptText()) }

// ParseLaunch finds the launch command in a startup script's text; see
// Launch.
func ParseLaunch(text string) []LaunchWord {
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
		var words []LaunchWord
		for j := i; j < len(lines); j++ {
			l := strings.TrimRight(lines[j], " \t\r")
			cont := strings.HasSuffix(l, "\\")
			l = strings.TrimSuffix(l, "\\")
			for _, w := range SplitWords(l) {
				words = append(words, LaunchWord{Word: w, Line: j + 1})
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

// SplitWords splits a command line on blanks, keeping quoted parts
// together and dropping the quotes; no expansion is attempted. It reads the
// script's launch line and variables such as JAVA_OPTS.
func SplitWords(s string) []string {
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
