package main

import (
	"fmt"
	"os"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/carbonguard/carbonguard/internal/testpack"
)

// drillScriptCmds are the txtar commands of the drill_* scripts.
func drillScriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		// behaviourjar HOME BEHAVIOUR puts a plugin jar into the pack at HOME
		// that makes any server booted from it (a copy included) behave so,
		// e.g. fail-config, as a broken bundle would.
		"behaviourjar": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 2 {
				ts.Fatalf("usage: behaviourjar HOME BEHAVIOUR")
			}
			testpack.WriteBehaviourJar(scriptTB{ts: ts}, ts.MkAbs(args[0]), args[1])
		},
		// killatexit DIR kills, when the script ends, every process whose
		// command line names DIR (a drill's copy left behind by a failure).
		"killatexit": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) != 1 {
				ts.Fatalf("usage: killatexit DIR")
			}
			dir := ts.MkAbs(args[0])
			ts.Defer(func() { killUnder(dir) })
		},
	}
}

// scriptCondition answers the txtar conditions of this module: [root] is
// true when the tests run as root (a drill's network namespace needs it).
// CI runs them as root, so there [!root] never skips: it fails.
func scriptCondition(cond string) (bool, error) {
	switch cond {
	case "root":
		if os.Geteuid() == 0 {
			return true, nil
		}
		if os.Getenv("CI") != "" {
			return false, fmt.Errorf("CI must run the tests as root (uid %d)", os.Geteuid())
		}
		return false, nil
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}
