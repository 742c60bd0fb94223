package validate

import (
	"path/filepath"

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
	// JVM options (before the main class) and script arguments (after
	// it) are read by different programs, which differ on a bare -Dkey
	// (pack.ParseSysProp).
	add := func(args []string, src PropSource, pos pack.Position) {
		r := pack.ReadByJVM
		if src == PropStartArgs || src == PropUserArgs {
			r = pack.ReadByCarbonMain
		}
		for _, a := range args {
			if p, ok := pack.ParseSysProp(a, r); ok {
				out = append(out, PropOccurrence{Key: p.Key, Value: p.Value, Source: src, Pos: pos})
			}
		}
	}
	memOpts := pack.SplitWords(f.Start.JVMMemOpts)
	javaOpts := pack.SplitWords(f.Start.JavaOpts)
	var launch []pack.LaunchWord
	if f.Pack != nil {
		launch = f.Pack.Launch()
	}
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
		case tok.Word == "$JVM_MEM_OPTS" || tok.Word == "${JVM_MEM_OPTS}":
			add(memOpts, PropJVMMemOpts, pack.Position{})
		case tok.Word == "$JAVA_OPTS" || tok.Word == "${JAVA_OPTS}":
			add(javaOpts, PropJavaOpts, pack.Position{})
		default:
			add([]string{tok.Word}, PropScript, pack.Position{File: rel, Line: tok.Line})
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
