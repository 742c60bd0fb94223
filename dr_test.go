package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/internal/testpack"
	"github.com/carbonguard/carbonguard/internal/testsrv"
)

// cg runs carbonguard in-process and returns its exit code and outputs.
func cg(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"carbonguard", "--log-level", "warn"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func cgOK(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := cg(t, args...)
	require.Equal(t, 0, code, "carbonguard %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), out, errs)
	return out
}

// TestDisasterRecovery: a pack whose product database is on a real
// PostgreSQL is snapshotted with its dump and pushed to a restic repository
// over SFTP (a real sshd on 127.0.0.1); a fresh state directory for a
// different home path (the DR site) pulls it, lays the pack down bit for
// bit, and restores the database's rows.
func TestDisasterRecovery(t *testing.T) {
	// Not parallel: restic's cache directory comes from the environment.
	testsrv.Need(t, "restic", "restic")
	pg := testsrv.StartPostgres(t)
	sshd := testsrv.StartSSHD(t)
	pg.Exec(t, "", "CREATE TABLE am_api (id int PRIMARY KEY, name text); INSERT INTO am_api VALUES (1, 'PizzaShack'), (2, 'Weather')")

	site := t.TempDir()
	home := filepath.Join(site, "prod", "wso2am-4.2.0")
	require.NoError(t, testpack.CopyTree(filepath.Join(repoRoot(t), "testdata", "packs", "apim-4.2"), home))
	toml := filepath.Join(home, "repository", "conf", "deployment.toml")
	b, err := os.ReadFile(toml)
	require.NoError(t, err)
	conf := regexp.MustCompile(`(?s)\[database\.apim_db\].*?\n\n`).ReplaceAllLiteralString(string(b),
		fmt.Sprintf("[database.apim_db]\ntype = \"postgre\"\nurl = %q\nusername = %q\npassword = %q\n\n", pg.JDBC(), pg.User, pg.Password))
	require.NoError(t, os.WriteFile(toml, []byte(conf), 0o644))

	pw := filepath.Join(site, "restic.pass")
	require.NoError(t, os.WriteFile(pw, []byte("dr-repository-password\n"), 0o600))
	repoPath := filepath.Join(site, "dr-repo")
	cfg := filepath.Join(site, "carbonguard.toml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`[remote]
repository = %q
password_file = %q
options = [%q]

[[snapshot.database]]
name = "apim_db"
`, sshd.Repository(repoPath), pw, "sftp.command="+sshd.SFTPCommand())), 0o644))
	t.Setenv("RESTIC_CACHE_DIR", filepath.Join(site, "restic-cache"))
	_, err = testsrv.ResticInit(t, sshd.Repository(repoPath), pw, "sftp.command="+sshd.SFTPCommand())
	require.NoError(t, err)

	prodState := filepath.Join(site, "state-prod")
	base := []string{"--config", cfg, "--home", home, "--state", prodState}
	out := cgOK(t, append(base, "snapshot", "create", "--with-databases")...)
	id := regexp.MustCompile(`snapshot (\S+) created`).FindStringSubmatch(out)[1]
	assert.Contains(t, out, "with the database dump apim_db.pgdump")
	out = cgOK(t, append(base, "snapshot", "push", id)...)
	assert.Contains(t, out, "pushed snapshot "+id)
	out = cgOK(t, append(base, "snapshot", "push", id)...)
	assert.Contains(t, out, "already in")
	out = cgOK(t, append(base, "snapshot", "list", "--remote")...)
	assert.Regexp(t, id+`\s+wso2am-4.2.0\s+.*complete`, out)

	// The DR site: another home path, a fresh state directory, no pack yet.
	drHome := filepath.Join(site, "dr", "opt", "wso2am-4.2.0")
	require.NoError(t, os.MkdirAll(filepath.Dir(drHome), 0o755))
	// No --home: the DR site has no pack yet; --state says where its state is.
	dr := []string{"--config", cfg, "--state", filepath.Join(site, "state-dr")}
	out = cgOK(t, append(dr, "snapshot", "pull", id)...)
	assert.Contains(t, out, "pulled snapshot "+id)
	assert.Contains(t, out, "verified against its manifest")
	out = cgOK(t, append(dr, "snapshot", "restore", "--target", drHome, "--yes", id)...)
	assert.Contains(t, out, "not touched (--with-databases restores them)")
	assert.Equal(t, testsrv.TreeDigest(t, home), testsrv.TreeDigest(t, drHome), "the DR tree is the original bit for bit")

	// The database: rows changed since the dump come back.
	pg.Exec(t, "", "DELETE FROM am_api WHERE id = 1; INSERT INTO am_api VALUES (3, 'new')")
	drHome2 := filepath.Join(site, "dr", "opt", "wso2am-4.2.0-b")
	out = cgOK(t, append(dr, "snapshot", "restore", "--target", drHome2, "--with-databases", "--yes", id)...)
	assert.Contains(t, out, "restored database apim_db")
	assert.Equal(t, "1|PizzaShack\n2|Weather", pg.Query(t, "", "SELECT id, name FROM am_api ORDER BY id"))
}
