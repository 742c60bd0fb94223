package pack

import "strings"

// A -Dkey[=value] word reaches one of two readers on a Carbon server's
// command line, and they disagree on a bare -Dkey:
//
//   - the java launcher reads the JVM options, which come before the main
//     class (JVM_MEM_OPTS, JAVA_OPTS, the stock script's fixed -D list). A
//     bare -Dkey sets the property to the empty string: HotSpot's
//     Arguments::add_property takes a key without '=' as key="" (java -Dfoo
//     gives System.getProperty("foo") == ""). This is the JDK's behaviour;
//     the WSO2 facts are silent on it.
//   - Carbon's Main reads the script arguments, which come after the main
//     class ($* of the stock script, where carbonguard's start properties
//     and the operator's -D go). processCmdLineArgs sets a bare -Dkey to
//     "true" (facts: u2-and-startup.md, "a bare flag gets the value true";
//     org.wso2.carbon.server.Main, kernel 4.8.1).
//
// ParseSysProp is the one parser of such words; the reader decides what a
// bare key is worth.

// PropReader is the program that turns a -D word into a system property.
type PropReader int

// The readers.
const (
	// ReadByJVM: a JVM option before the main class; a bare -Dkey is "".
	ReadByJVM PropReader = iota
	// ReadByCarbonMain: a script argument after the main class; a bare
	// -Dkey is "true".
	ReadByCarbonMain
)

// SysProp is one -Dkey[=value] word.
type SysProp struct {
	Key string
	// Value is what follows the first '=', as the reader receives it (no
	// unquoting: the caller splits a command line into words, see
	// SplitWords); for a bare key, what its reader makes of it.
	Value string
	// Bare is true for -Dkey without '='.
	Bare bool
}

// ParseSysProp reads one command-line word as a system property. ok is
// false for a word that is not -D followed by a key ("-D", "-D=x", "-Xmx1g").
func ParseSysProp(word string, r PropReader) (SysProp, bool) {
	kv, found := strings.CutPrefix(word, "-D")
	if !found {
		return SysProp{}, false
	}
	k, v, hasValue := strings.Cut(kv, "=")
	if k == "" {
		return SysProp{}, false // Java refuses an empty property name
	}
	if !hasValue {
		v = ""
		if r == ReadByCarbonMain {
			v = "true"
		}
	}
	return SysProp{Key: k, Value: v, Bare: !hasValue}, true
}

// ScriptArgProps are the system properties a list of script arguments sets
// as Carbon's Main reads them; the last occurrence of a key wins. Words that
// are not -D properties are skipped. OpenWith takes the result as
// Options.SysProps (e.g. portOffset).
func ScriptArgProps(args []string) map[string]string {
	m := map[string]string{}
	for _, a := range args {
		if p, ok := ParseSysProp(a, ReadByCarbonMain); ok {
			m[p.Key] = p.Value
		}
	}
	return m
}
