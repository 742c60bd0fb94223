package hooks

import (
	"fmt"
	"os"
	"time"
)

// The crash tests kill carbonguard for real at each step of a transaction.
// To hit a step exactly, the process under test is started with
// CARBONGUARD_TEST_PAUSE_AT=<state>[/<step>] and CARBONGUARD_TEST_PAUSE_FILE;
// when the journal has recorded that state (the step is about to be taken),
// the process writes its PID to the file and blocks until it is killed.
// Unset, as in production, the check costs one getenv per journal write.
const (
	pauseAtEnv   = "CARBONGUARD_TEST_PAUSE_AT"
	pauseFileEnv = "CARBONGUARD_TEST_PAUSE_FILE"
)

func pausePoint(state, step string) {
	at := os.Getenv(pauseAtEnv)
	if at == "" {
		return
	}
	name := state
	if step != "" {
		name = state + "/" + step
	}
	if at != name {
		return
	}
	if f := os.Getenv(pauseFileEnv); f != "" {
		_ = os.WriteFile(f, fmt.Appendf(nil, "%d\n", os.Getpid()), 0o600)
	}
	for {
		time.Sleep(time.Hour)
	}
}
