package testsrv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// MariaDB is a MariaDB server for one test. The test user has every
// privilege on the test database and logs in over TCP with a password;
// Query runs as root over the server's Unix socket.
type MariaDB struct {
	Host     string // 127.0.0.1
	Port     int
	Database string
	User     string
	Password string
	sock     string
}

// StartMariaDB installs a data directory in a temporary directory and starts
// mariadbd on a free port of 127.0.0.1, with database "wso2am" and user
// "wso2" (password TrickyPassword). It reads no option file of the host.
func StartMariaDB(t testing.TB) *MariaDB {
	t.Helper()
	install := Need(t, "mariadb-install-db", "mariadb-server")
	server := Need(t, "mariadbd", "mariadb-server", "/usr/sbin")
	Need(t, "mariadb", "mariadb-client")
	acct := serverAccount(t, "mysql", "mariadb-server")

	root := dir(t, "cg-mariadb-")
	data, runDir := filepath.Join(root, "data"), filepath.Join(root, "run")
	for _, d := range []string{data, runDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatalf("testsrv: %v", err)
		}
	}
	acct.chown(t, data, runDir)
	userArgs := []string{}
	if acct != nil {
		userArgs = []string{"--user=" + acct.name}
	}
	run(t, (*account)(nil).command(install, append([]string{"--no-defaults", "--datadir=" + data,
		"--auth-root-authentication-method=normal", "--skip-test-db"}, userArgs...)...))

	m := &MariaDB{Host: "127.0.0.1", Port: FreePort(t), Database: "wso2am", User: "wso2", Password: TrickyPassword,
		sock: filepath.Join(runDir, "mariadb.sock")}
	args := append([]string{"--no-defaults", "--datadir=" + data, "--port=" + strconv.Itoa(m.Port), "--bind-address=" + m.Host,
		"--socket=" + m.sock, "--pid-file=" + filepath.Join(runDir, "mariadb.pid"), "--log-error=" + filepath.Join(runDir, "error.log"),
		"--innodb-flush-log-at-trx-commit=0", "--innodb-buffer-pool-size=32M", "--skip-name-resolve"}, userArgs...)
	d := start(t, "mariadbd", (*account)(nil).command(server, args...), filepath.Join(root, "mariadbd.out"))
	d.log = filepath.Join(runDir, "error.log")
	d.waitReady(t, 2*time.Minute, func(ctx context.Context) error {
		_, err := m.query(ctx, "", "SELECT 1")
		return err
	})
	m.Query(t, "", fmt.Sprintf("CREATE DATABASE %s; CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY %s; GRANT ALL ON %s.* TO '%s'@'127.0.0.1'",
		m.Database, m.User, mysqlString(m.Password), m.Database, m.User))
	return m
}

// JDBC is the datasource URL a WSO2 deployment.toml would hold.
func (m *MariaDB) JDBC() string {
	return fmt.Sprintf("jdbc:mysql://%s:%d/%s?useSSL=false&amp;allowPublicKeyRetrieval=true", m.Host, m.Port, m.Database)
}

func (m *MariaDB) query(ctx context.Context, db, sql string) (string, error) {
	args := []string{"--no-defaults", "-S", m.sock, "-u", "root", "-N", "-B", "-e", sql}
	if db != "" {
		args = append(args, db)
	}
	return output(ctx, "mariadb", args, []string{"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"})
}

// Query runs SQL as root in database db ("" for none; use m.Database for the
// test database) and returns the rows, one per line, columns tab-separated.
func (m *MariaDB) Query(t testing.TB, db, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := m.query(ctx, db, sql)
	if err != nil {
		t.Fatalf("testsrv: mariadb: %s: %v", sql, err)
	}
	return strings.TrimSpace(out)
}

// UserQuery runs SQL in the test database as the test user, over TCP with
// its password (so that what it creates has the test user as DEFINER, as a
// product's own schema scripts would).
func (m *MariaDB) UserQuery(t testing.TB, sql string) string {
	t.Helper()
	cnf := filepath.Join(t.TempDir(), "my.cnf")
	pw := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(m.Password)
	if err := os.WriteFile(cnf, []byte("[client]\npassword=\""+pw+"\"\n"), 0o600); err != nil {
		t.Fatalf("testsrv: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := output(ctx, "mariadb", []string{"--defaults-extra-file=" + cnf, "--protocol=TCP", "-h", m.Host, "-P", strconv.Itoa(m.Port),
		"-u", m.User, "-N", "-B", "-e", sql, m.Database}, []string{"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"})
	if err != nil {
		t.Fatalf("testsrv: mariadb as %s: %s: %v", m.User, sql, err)
	}
	return strings.TrimSpace(out)
}

// mysqlString quotes s as a MySQL string literal.
func mysqlString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
