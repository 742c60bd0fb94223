package secrets

import "strings"

// EnvNames are the environment variables that hold carbonguard's own
// secrets. Add a name here when carbonguard (or a tool it drives) gets a new
// credential from its environment; every child that does not need it is
// then started without it.
var EnvNames = []string{
	// WSO2's update tool (u2): only u2 gets them.
	"UPDATE_TOOL_USERNAME",
	"UPDATE_TOOL_PASSWORD",
	// Database dumps: only pg_dump/mysqldump get them. (Carbon's JDBC
	// drivers do not read them: its datasources take their passwords from
	// deployment.toml, secure vault or $env{} names of the operator's own.)
	"PGPASSWORD",
	"PGPASSFILE",
	"MYSQL_PWD",
}

// EnvPrefixes are prefixes of variables that hold carbonguard's own
// secrets, as EnvNames.
var EnvPrefixes = []string{
	// The snapshot repository (restic): only restic gets them
	// (RESTIC_PASSWORD, RESTIC_PASSWORD_FILE, RESTIC_PASSWORD_COMMAND; a
	// rest: or s3: RESTIC_REPOSITORY may hold a password too).
	"RESTIC_",
}

// IsSecretEnv reports whether the variable name holds one of carbonguard's
// own secrets.
func IsSecretEnv(name string) bool {
	for _, n := range EnvNames {
		if name == n {
			return true
		}
	}
	for _, p := range EnvPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// Scrub returns env (KEY=VALUE entries) without carbonguard's own secrets,
// except the variables named in keep (those the child needs: u2 gets its
// account). Everything else passes through unchanged and in order.
func Scrub(env []string, keep ...string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if IsSecretEnv(k) && !contains(keep, k) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// Values returns the non-empty values env holds for carbonguard's own
// secrets: what Masker must hide in a child's output.
func Values(env []string) []string {
	var out []string
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if v != "" && IsSecretEnv(k) {
			out = append(out, v)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
