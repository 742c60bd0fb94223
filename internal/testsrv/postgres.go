package testsrv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TrickyPassword is the password the database servers give their test user:
// it holds every character that needs escaping in a pgpass line, a MySQL
// option file or a shell, so a test that connects with it proves the
// escaping.
const TrickyPassword = `Pa:ss\w0rd"'#x y;$HOME`

// Postgres is a PostgreSQL server for one test. The test user owns the test
// database and logs in over TCP with a password (scram-sha-256); Exec and
// Query run as the superuser over the server's Unix socket.
type Postgres struct {
	Host     string // 127.0.0.1
	Port     int
	Database string
	User     string
	Password string
	BinDir   string // the server's /usr/lib/postgresql/<version>/bin
	sock     string
}

// postgresBinDirs lists Debian's PostgreSQL server directories, newest first.
func postgresBinDirs() []string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	return dirs
}

// StartPostgres initialises a cluster in a temporary directory and starts it
// on a free port of 127.0.0.1, with database "wso2am" owned by user "wso2"
// (password TrickyPassword).
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	dirs := postgresBinDirs()
	initdb := Need(t, "initdb", "postgresql", dirs...)
	server := Need(t, "postgres", "postgresql", filepath.Dir(initdb))
	Need(t, "psql", "postgresql-client")
	acct := serverAccount(t, "postgres", "postgresql")

	root := dir(t, "cg-postgres-")
	data, sock := filepath.Join(root, "data"), filepath.Join(root, "sock")
	for _, d := range []string{data, sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatalf("testsrv: %v", err)
		}
	}
	acct.chown(t, data, sock)
	// The socket directory must be reachable by psql run as the test's user.
	if err := os.Chmod(sock, 0o755); err != nil {
		t.Fatalf("testsrv: %v", err)
	}
	run(t, acct.command(initdb, "-D", data, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"))

	p := &Postgres{Host: "127.0.0.1", Port: FreePort(t), Database: "wso2am", User: "wso2", Password: TrickyPassword,
		BinDir: filepath.Dir(initdb), sock: sock}
	cmd := acct.command(server, "-D", data, "-k", sock, "-h", p.Host, "-p", strconv.Itoa(p.Port),
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	d := start(t, "postgres", cmd, filepath.Join(root, "postgres.log"))
	d.waitReady(t, 2*time.Minute, func(ctx context.Context) error {
		_, err := p.query(ctx, "postgres", "SELECT 1")
		return err
	})
	p.Exec(t, "postgres", fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD %s", p.User, SQLString(p.Password)))
	p.Exec(t, "postgres", fmt.Sprintf("CREATE DATABASE %s OWNER %s", p.Database, p.User))
	return p
}

// JDBC is the datasource URL a WSO2 deployment.toml would hold.
func (p *Postgres) JDBC() string {
	return fmt.Sprintf("jdbc:postgresql://%s:%d/%s?sslmode=disable&amp;ApplicationName=carbon", p.Host, p.Port, p.Database)
}

func (p *Postgres) query(ctx context.Context, db, sql string) (string, error) {
	return output(ctx, "psql", []string{"-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", p.sock, "-p", strconv.Itoa(p.Port),
		"-U", "postgres", "-d", db, "-c", sql}, []string{"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"})
}

// Exec runs SQL as the superuser in database db ("" for the test database),
// as the test user's role so that what it creates belongs to that user.
func (p *Postgres) Exec(t testing.TB, db, sql string) {
	t.Helper()
	p.Query(t, db, sql)
}

// Query runs SQL as the superuser in database db ("" for the test database)
// and returns the rows, one per line, columns separated by "|".
func (p *Postgres) Query(t testing.TB, db, sql string) string {
	t.Helper()
	if db == "" {
		db = p.Database
		sql = "SET ROLE " + p.User + "; " + sql
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := p.query(ctx, db, sql)
	if err != nil {
		t.Fatalf("testsrv: postgres: %s: %v", sql, err)
	}
	return strings.TrimSpace(out)
}

// SQLString quotes s as a standard SQL string literal.
func SQLString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
