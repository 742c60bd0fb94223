// Package testsrv starts real servers for tests: PostgreSQL and MariaDB from
// Debian's packages, and OpenSSH's sshd (for restic's SFTP backend), each on
// a temporary directory and a free port on 127.0.0.1, stopped and removed
// when the test ends.
//
// A missing server binary fails the test with the package to install
// (.ci/run installs them all); it never skips, so a CI run cannot pass by
// testing nothing. When the tests run as root (CI does), PostgreSQL runs as
// the postgres user the Debian package creates (it refuses to run as root),
// mariadbd drops to the mysql user itself, and sshd runs as root, which
// needs its privilege separation directory /run/sshd (created here when
// missing, as systemd's unit would).
//
// It is a test helper: it takes a testing.TB and fails the test on error
// instead of returning errors.
package testsrv
