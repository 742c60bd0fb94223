package main

import (
	"fmt"
	"strings"
)

// commandLine is a java command line split the way the HotSpot launcher
// splits it: launcher options up to the main class, program arguments after.
type commandLine struct {
	Argv        []string
	Options     []string          // launcher/VM options other than -D, in order
	JVMProps    map[string]string // -D before the main class, last occurrence wins
	PropOrder   []string          // first-seen order of JVMProps keys, for stable output
	ClassPath   string
	MainClass   string
	ProgramArgs []string
	Version     versionRequest
}

type versionRequest int

const (
	versionNone   versionRequest = iota
	versionStderr                // -version: print and exit
	versionStdout                // --version: print to stdout and exit
	versionShow                  // -showversion: print and continue
)

// optionsWithValue take the next argument as their value unless written as
// --opt=value.
var optionsWithValue = map[string]bool{
	"-cp": true, "-classpath": true, "--class-path": true,
	"--add-opens": true, "--add-exports": true, "--add-reads": true, "--add-modules": true,
	"--module-path": true, "-p": true, "--upgrade-module-path": true, "--limit-modules": true,
	"--patch-module": true, "--enable-native-access": true, "--module": true, "-m": true,
}

// unrecognizedOptionError mirrors the launcher's refusal of an unknown option.
type unrecognizedOptionError struct{ opt string }

func (e unrecognizedOptionError) Error() string {
	return fmt.Sprintf("Unrecognized option: %s", e.opt)
}

func parseCommandLine(argv []string) (*commandLine, error) {
	cl := &commandLine{Argv: argv, JVMProps: map[string]string{}}
	i := 0
	for ; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "-version":
			cl.Version = versionStderr
			return cl, nil
		case a == "--version":
			cl.Version = versionStdout
			return cl, nil
		case a == "-showversion" || a == "--show-version":
			cl.Version = versionShow
			cl.Options = append(cl.Options, a)
		case strings.HasPrefix(a, "-D"):
			k, v, _ := strings.Cut(a[2:], "=")
			if k == "" {
				return nil, unrecognizedOptionError{a}
			}
			if _, seen := cl.JVMProps[k]; !seen {
				cl.PropOrder = append(cl.PropOrder, k)
			}
			cl.JVMProps[k] = v
		case optionsWithValue[a]:
			if i+1 >= len(argv) {
				return nil, fmt.Errorf("%s requires class path specification", a)
			}
			if a == "-cp" || a == "-classpath" || a == "--class-path" {
				cl.ClassPath = argv[i+1]
			}
			cl.Options = append(cl.Options, a, argv[i+1])
			i++
		case strings.HasPrefix(a, "--") && strings.Contains(a, "="):
			name, val, _ := strings.Cut(a, "=")
			if !optionsWithValue[name] {
				return nil, unrecognizedOptionError{a}
			}
			if name == "--class-path" {
				cl.ClassPath = val
			}
			cl.Options = append(cl.Options, a)
		case a == "-jar":
			if i+1 >= len(argv) {
				return nil, fmt.Errorf("-jar requires jar file specification")
			}
			cl.MainClass = argv[i+1]
			cl.ProgramArgs = argv[i+2:]
			return cl, nil
		case isVMOption(a):
			cl.Options = append(cl.Options, a)
		case strings.HasPrefix(a, "-"):
			return nil, unrecognizedOptionError{a}
		default:
			cl.MainClass = a
			cl.ProgramArgs = argv[i+1:]
			return cl, nil
		}
	}
	return cl, nil
}

func isVMOption(a string) bool {
	switch a {
	case "-server", "-client", "-ea", "-da", "-esa", "-dsa", "-Xdebug", "-Xnoagent", "-Xint",
		"-Xmixed", "-Xcomp", "-Xrs", "-Xshare:auto", "-Xshare:off", "-Xshare:on", "-verbose",
		"-enableassertions", "-disableassertions":
		return true
	}
	for _, p := range []string{
		"-XX:", "-Xms", "-Xmx", "-Xss", "-Xmn", "-Xbootclasspath", "-Xrunjdwp", "-Xlog", "-Xloggc",
		"-verbose:", "-javaagent:", "-agentlib:", "-agentpath:", "-ea:", "-da:", "-Xcheck:", "-Xverify",
		"-Xshare:",
	} {
		if strings.HasPrefix(a, p) {
			if p == "-XX:" && !validXX(a[4:]) {
				return false
			}
			return true
		}
	}
	return false
}

// validXX accepts the three -XX forms; anything else makes HotSpot refuse to
// start, which a test may want to see.
func validXX(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '+' || s[0] == '-' {
		return len(s) > 1
	}
	k, _, ok := strings.Cut(s, "=")
	return ok && k != ""
}

// carbonArgs applies what org.wso2.carbon.server.Main (and the MI Main) do
// with program arguments: every -Dkey=value becomes a system property, a bare
// -Dkey becomes "true"; these win over the JVM's -D options.
func carbonArgs(args []string) (map[string]string, []string) {
	props := map[string]string{}
	var order []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-D") || len(a) < 3 {
			continue
		}
		k, v, ok := strings.Cut(a[2:], "=")
		if !ok {
			v = "true"
		}
		if _, seen := props[k]; !seen {
			order = append(order, k)
		}
		props[k] = v
	}
	return props, order
}
