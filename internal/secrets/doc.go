// Package secrets is carbonguard's one list of its own secrets in the
// environment, and the one masker of secret values in what it prints and
// keeps.
//
// carbonguard runs with credentials of its own in its environment: the
// update tool's account (UPDATE_TOOL_USERNAME, UPDATE_TOOL_PASSWORD), the
// snapshot repository's password, the databases' passwords for dumps. The
// server it starts needs none of them, and must not get them (any code in
// the JVM, and anyone who can read /proc/<pid>/environ of the server's user,
// would), while everything else passes through: deployment.toml reads the
// operator's own variables with $env{...}. EnvNames and EnvPrefixes are
// that list, in one place (env.go): whoever gives carbonguard a new secret
// variable adds it there, and every child that does not need it is started
// without it (Scrub).
//
// A secret printed by a tool is not always printed as it is: HTTP clients
// log a Basic authorization header (base64 of user:password), URLs carry it
// percent-encoded, debug output shows it in hex, JSON escapes it. Masker
// replaces every such form, including a base64 run in which the secret
// starts at any of the three byte alignments, with "****".
package secrets
