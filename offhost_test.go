package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The server's script and u2 start from an environment without restic's
// variables: the repository password is restic's alone.
func TestChildEnvironDropsRestic(t *testing.T) {
	t.Setenv("RESTIC_PASSWORD", "restic-secret")
	t.Setenv("RESTIC_REPOSITORY", "rest:https://u:p@host/")
	t.Setenv("CARBONGUARD_TEST_KEPT", "yes")
	env := strings.Join(childEnviron(), "\n")
	assert.NotContains(t, env, "restic-secret")
	assert.NotContains(t, env, "RESTIC_REPOSITORY")
	assert.Contains(t, env, "CARBONGUARD_TEST_KEPT=yes")
	o := (&session{env: &env0, cfg: &fileConfig{}}).serverOptions()
	assert.NotContains(t, strings.Join(o.Environ, "\n"), "restic-secret")
}

var env0 = env{getenv: func(string) string { return "" }}
