package dbdump

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/internal/testsrv"
)

func runner(t *testing.T) (*Runner, string) {
	tmp := t.TempDir()
	env := append(os.Environ(), "RESTIC_PASSWORD=restic-secret", "WSO2_PASSWORD=u2-secret")
	return &Runner{Env: env, TempDir: tmp, Log: zerolog.Nop()}, tmp
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return c
}

// datasourceTOML is the [database.apim_db] table a pack would have for url.
func datasourceTOML(typ, url, user, password string) string {
	return fmt.Sprintf("[database.apim_db]\ntype = %q\nurl = %q\nusername = %q\npassword = %q\n", typ, url, user, password)
}

// dumpFile dumps s into a file and checks the reported hash.
func dumpFile(t *testing.T, r *Runner, s *Spec) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), s.FileName())
	f, err := os.Create(path)
	require.NoError(t, err)
	res, err := r.Dump(ctx(t), s, f)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	assert.Equal(t, hex.EncodeToString(sum[:]), res.SHA256)
	assert.Equal(t, int64(len(b)), res.Bytes)
	assert.Empty(t, res.Conn.Password)
	return path
}

func restoreFile(t *testing.T, r *Runner, s *Spec, path string) error {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	return r.Restore(ctx(t), s, f)
}

// assertNoSecretFiles checks that the private password directories are gone.
func assertNoSecretFiles(t *testing.T, tmp string) {
	t.Helper()
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, left, "password files left behind")
}

func TestPostgresDumpRestore(t *testing.T) {
	t.Parallel()
	pg := testsrv.StartPostgres(t)
	pg.Exec(t, "", `CREATE TABLE am_api (id int PRIMARY KEY, name text NOT NULL, payload bytea);
		INSERT INTO am_api VALUES (1, 'PizzaShack', '\x00ff10'), (2, 'Weather', NULL), (3, 'Échecs', '\xdeadbeef');
		CREATE FUNCTION am_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM am_api';`)
	p := tomlPack(t, datasourceTOML("postgre", pg.JDBC(), pg.User, pg.Password))
	s, err := Resolve(p, Config{Name: "apim_db"}, nil)
	require.NoError(t, err)
	r, tmp := runner(t)

	path := dumpFile(t, r, s)
	head := make([]byte, 5)
	f, _ := os.Open(path)
	_, _ = f.Read(head)
	f.Close()
	assert.Equal(t, "PGDMP", string(head), "pg_dump's custom format")
	before := pg.Query(t, "", "SELECT id, name, encode(payload, 'hex') FROM am_api ORDER BY id")

	pg.Exec(t, "", `DELETE FROM am_api WHERE id = 1; UPDATE am_api SET name = 'changed' WHERE id = 2;
		INSERT INTO am_api VALUES (4, 'new', NULL); DROP FUNCTION am_count();`)
	require.NotEqual(t, before, pg.Query(t, "", "SELECT id, name, encode(payload, 'hex') FROM am_api ORDER BY id"))

	require.NoError(t, restoreFile(t, r, s, path))
	assert.Equal(t, before, pg.Query(t, "", "SELECT id, name, encode(payload, 'hex') FROM am_api ORDER BY id"))
	assert.Equal(t, "3", pg.Query(t, "", "SELECT am_count()"))
	assertNoSecretFiles(t, tmp)

	t.Run("wrong password", func(t *testing.T) {
		pwf := filepath.Join(t.TempDir(), "pw")
		require.NoError(t, os.WriteFile(pwf, []byte("not-the-password\n"), 0o600))
		bad, err := Resolve(p, Config{Name: "apim_db", PasswordFile: pwf}, nil)
		require.NoError(t, err)
		var out bytes.Buffer
		_, err = r.Dump(ctx(t), bad, &out)
		var re *RunError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, "dump", re.Op)
		assert.Equal(t, "pg_dump", re.Command)
		assert.Equal(t, 1, re.ExitCode)
		assert.Contains(t, err.Error(), "password authentication failed")
		assert.NotContains(t, err.Error(), "not-the-password")
		assertNoSecretFiles(t, tmp)
	})
	t.Run("server down", func(t *testing.T) {
		down, err := Resolve(p, Config{Name: "apim_db", Port: testsrv.FreePort(t)}, nil)
		require.NoError(t, err)
		var out bytes.Buffer
		_, err = r.Dump(ctx(t), down, &out)
		var re *RunError
		require.ErrorAs(t, err, &re)
		assert.Contains(t, err.Error(), "Connection refused")
	})
	t.Run("corrupt dump", func(t *testing.T) {
		junk := filepath.Join(t.TempDir(), "junk")
		require.NoError(t, os.WriteFile(junk, []byte("PGDMP not really"), 0o600))
		err := restoreFile(t, r, s, junk)
		var re *RunError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, "restore", re.Op)
		assert.Equal(t, before, pg.Query(t, "", "SELECT id, name, encode(payload, 'hex') FROM am_api ORDER BY id"))
	})
}

func TestMariaDBDumpRestore(t *testing.T) {
	t.Parallel()
	my := testsrv.StartMariaDB(t)
	my.UserQuery(t, `CREATE TABLE AM_API (ID INT PRIMARY KEY, NAME VARCHAR(100) NOT NULL, PAYLOAD BLOB) ENGINE=InnoDB;
		INSERT INTO AM_API VALUES (1, 'PizzaShack', X'00FF10'), (2, 'Weather', NULL), (3, 'Échecs', X'DEADBEEF');
		CREATE TABLE AM_LOG (N INT);
		CREATE TRIGGER AM_API_LOG AFTER INSERT ON AM_API FOR EACH ROW INSERT INTO AM_LOG VALUES (NEW.ID);`)
	p := tomlPack(t, datasourceTOML("mysql", my.JDBC(), my.User, my.Password))
	s, err := Resolve(p, Config{Name: "apim_db"}, nil)
	require.NoError(t, err)
	r, tmp := runner(t)
	rows := func() string {
		return my.Query(t, my.Database, "SELECT ID, NAME, HEX(PAYLOAD) FROM AM_API ORDER BY ID")
	}

	path := dumpFile(t, r, s)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(b), "CREATE TABLE `AM_API`")
	assert.Contains(t, string(b), "AM_API_LOG", "--triggers")
	assert.NotContains(t, string(b), testsrv.TrickyPassword)
	before := rows()

	my.UserQuery(t, "DELETE FROM AM_API WHERE ID = 1; UPDATE AM_API SET NAME = 'changed' WHERE ID = 2; INSERT INTO AM_API VALUES (4, 'new', NULL)")
	require.NotEqual(t, before, rows())
	require.NoError(t, restoreFile(t, r, s, path))
	assert.Equal(t, before, rows())
	assert.Equal(t, "1", my.Query(t, my.Database, "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_NAME = 'AM_API_LOG'"))
	assertNoSecretFiles(t, tmp)

	t.Run("wrong password", func(t *testing.T) {
		bad, err := Resolve(tomlPack(t, datasourceTOML("mysql", my.JDBC(), my.User, "wrong-pw")), Config{Name: "apim_db"}, nil)
		require.NoError(t, err)
		var out bytes.Buffer
		_, err = r.Dump(ctx(t), bad, &out)
		var re *RunError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, "mysqldump", re.Command)
		assert.Equal(t, 2, re.ExitCode)
		assert.Contains(t, err.Error(), "Access denied")
		assert.NotContains(t, err.Error(), "wrong-pw")
	})
}

// TestSecretsStayOffArgv runs a custom command that prints its arguments,
// its environment and the option file it is given: the password is only in
// the file, carbonguard's other secrets not at all.
func TestSecretsStayOffArgv(t *testing.T) {
	p := tomlPack(t, datasourceTOML("mysql", "jdbc:mysql://db.example.com:3306/am", "wso2", testsrv.TrickyPassword))
	script := `printf 'ARG %s\n' "$@"; env | sed 's/^/ENV /'; sed 's/^/FILE /' "$2"; test "$(cat "$3")" = "$EXPECT" && echo PWFILE ok`
	s, err := Resolve(p, Config{Name: "apim_db", Dump: []string{"sh", "-c", script, "sh", "{user}@{host}:{port}/{database}", "{defaults_file}", "{password_file}"},
		Env: []string{"EXPECT"}}, nil)
	require.NoError(t, err)
	r, tmp := runner(t)
	r.Env = append(r.Env, "EXPECT="+testsrv.TrickyPassword)
	var out bytes.Buffer
	_, err = r.Dump(ctx(t), s, &out)
	require.NoError(t, err)
	text := out.String()
	assert.Contains(t, text, "ARG wso2@db.example.com:3306/am\n")
	assert.Contains(t, text, "FILE password="+mysqlOptionValue(testsrv.TrickyPassword)+"\n")
	assert.Contains(t, text, "PWFILE ok")
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "ARG ") {
			assert.NotContains(t, line, "Pa:ss")
		}
		if strings.HasPrefix(line, "ENV ") && !strings.HasPrefix(line, "ENV EXPECT=") {
			assert.NotContains(t, line, "Pa:ss")
		}
	}
	assert.NotContains(t, text, "restic-secret")
	assert.NotContains(t, text, "u2-secret")
	assertNoSecretFiles(t, tmp)
}
