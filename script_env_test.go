package main

import "github.com/rogpeppe/go-internal/testscript"

// setupScriptEnv adds environment for scripts that need more than a copied
// fixture pack (fakes, u2 servers).
func setupScriptEnv(env *testscript.Env, root string) error { return nil }

// extraScriptCmds are script commands added by the areas that need them.
func extraScriptCmds(root string) map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	cmds := startScriptCmds(root)              // fakepack (cmd_start_test.go)
	for k, v := range updateScriptCmds(root) { // u2pack, lasttx, packwhole, waitfile (cmd_update_test.go)
		cmds[k] = v
	}
	for k, v := range drillScriptCmds() { // behaviourjar, killatexit (cmd_drill_test.go)
		cmds[k] = v
	}
	for k, v := range recoveryScriptCmds() { // lastsnap, breakconf (cmd_recovery_test.go)
		cmds[k] = v
	}
	return cmds
}
