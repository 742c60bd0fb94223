package testsrv

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPostgres(t *testing.T) {
	t.Parallel()
	p := StartPostgres(t)
	p.Exec(t, "", "CREATE TABLE t (a int); INSERT INTO t VALUES (1), (2)")
	assert.Equal(t, "2", p.Query(t, "", "SELECT count(*) FROM t"))
	assert.Equal(t, "wso2", p.Query(t, "", "SELECT tableowner FROM pg_tables WHERE tablename = 't'"))
	// The test user logs in over TCP with its password.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pass := writeTemp(t, "*:*:*:*:"+strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(p.Password)+"\n")
	out, err := output(ctx, "psql", []string{"-X", "-A", "-t", "-w", "-h", p.Host, "-p", strconv.Itoa(p.Port), "-U", p.User, "-d", p.Database,
		"-c", "SELECT count(*) FROM t"}, []string{"PATH=" + os.Getenv("PATH"), "PGPASSFILE=" + pass})
	require.NoError(t, err)
	assert.Equal(t, "2", strings.TrimSpace(out))
}

func TestMariaDB(t *testing.T) {
	t.Parallel()
	m := StartMariaDB(t)
	m.Query(t, m.Database, "CREATE TABLE t (a int); INSERT INTO t VALUES (1), (2)")
	assert.Equal(t, "2", m.Query(t, m.Database, "SELECT count(*) FROM t"))
}

func TestSSHD(t *testing.T) {
	t.Parallel()
	s := StartSSHD(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := output(ctx, "ssh", append(s.clientArgs(), "echo", "hello"), []string{"PATH=" + os.Getenv("PATH")})
	require.NoError(t, err)
	assert.Equal(t, "hello", strings.TrimSpace(out))
	assert.Contains(t, s.SFTPCommand(), "-s sftp")
}

func writeTemp(t *testing.T, text string) string {
	f, err := os.CreateTemp(t.TempDir(), "x")
	require.NoError(t, err)
	_, err = f.WriteString(text)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return f.Name()
}
