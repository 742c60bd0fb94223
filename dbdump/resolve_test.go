package dbdump

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/internal/testpack"
	"github.com/carbonguard/carbonguard/pack"
)

// tomlPack copies the API Manager 4.2 fixture and appends TOML to its
// deployment.toml (after dropping the fixture's own [database.*] tables).
func tomlPack(t *testing.T, extra string) *pack.Pack {
	t.Helper()
	home := filepath.Join(t.TempDir(), "wso2am-4.2.0")
	require.NoError(t, testpack.CopyTree(filepath.Join(testpack.ModuleRoot(), "testdata", "packs", "apim-4.2"), home))
	path := filepath.Join(home, "repository", "conf", "deployment.toml")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var keep []string
	skip := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "[") {
			skip = strings.HasPrefix(line, "[database.")
		}
		if !skip {
			keep = append(keep, line)
		}
	}
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(keep, "\n")+"\n"+extra), 0o644))
	p, err := pack.Open(home)
	require.NoError(t, err)
	return p
}

func TestResolveTOML(t *testing.T) {
	p := tomlPack(t, `
[database.apim_db]
type = "postgre"
url = "jdbc:postgresql://pg.example.com:5433/apim?sslmode=require&amp;ApplicationName=am"
username = "wso2am"
password = "s3cret:pw"

[database.shared_db]
type = "mysql"
hostname = "shared.mysql"
port = "3307"
name = "WSO2_SHARED_DB"
username = "$env{SHARED_USER}"
password = "$env{SHARED_PW}"

[database.local]
url = "jdbc:h2:./repository/database/WSO2CARBON_DB;DB_CLOSE_ON_EXIT=FALSE"

[database.identity_db]
url = "jdbc:oracle:thin:@ora:1521/ORCL"
username = "id"
password = "$secret{identity_db_password}"

[[datasource]]
id = "reports"
url = "jdbc:mariadb://rep:3306/reports"
username = "r"
password = "rp"
`)
	env := map[string]string{"SHARED_USER": "wso2shared", "SHARED_PW": "from-env"}
	getenv := func(k string) string { return env[k] }

	assert.ElementsMatch(t, []string{"apim_db", "shared_db", "local", "mb", "identity_db", "reports"}, Datasources(p))

	s, err := Resolve(p, Config{Name: "apim_db"}, getenv)
	require.NoError(t, err)
	assert.Equal(t, Conn{Engine: PostgreSQL, Host: "pg.example.com", Port: 5433, Database: "apim", User: "wso2am", Password: "s3cret:pw"}, s.Conn)
	assert.Equal(t, "apim_db.pgdump", s.FileName())
	assert.Contains(t, s.From, "[database.apim_db] at repository/conf/deployment.toml:")
	assert.Equal(t, "pg_dump", s.Dump[0])
	assert.NotContains(t, strings.Join(append(s.Dump, s.Restore...), " "), "s3cret")

	// The host/port/name form goes through WSO2's infer.json; $env{} is read.
	s, err = Resolve(p, Config{Name: "shared_db"}, getenv)
	require.NoError(t, err)
	assert.Equal(t, Conn{Engine: MySQL, Host: "shared.mysql", Port: 3307, Database: "WSO2_SHARED_DB", User: "wso2shared", Password: "from-env"}, s.Conn)
	assert.Equal(t, "shared_db.sql", s.FileName())

	// Overrides win; a password file replaces the datasource's password.
	pwf := filepath.Join(t.TempDir(), "pw")
	require.NoError(t, os.WriteFile(pwf, []byte("filepw\n"), 0o600))
	s, err = Resolve(p, Config{Name: "apim_db", Host: "10.1.1.1", Port: 6432, User: "dr", PasswordFile: pwf}, getenv)
	require.NoError(t, err)
	assert.Equal(t, "10.1.1.1", s.Conn.Host)
	assert.Equal(t, 6432, s.Conn.Port)
	assert.Equal(t, "dr", s.Conn.User)
	assert.Equal(t, "", s.Conn.Password)

	s, err = Resolve(p, Config{Name: "reports"}, getenv)
	require.NoError(t, err)
	assert.Equal(t, MariaDB, s.Conn.Engine)

	for _, tc := range []struct {
		c       Config
		key     string
		contain string
	}{
		{Config{Name: "nope"}, "name", "no datasource"},
		{Config{Name: "local"}, "name", "embedded H2"},
		{Config{Name: "identity_db"}, "password_file", "resolved by the server at run time"},
		{Config{Name: "identity_db", PasswordFile: pwf}, "dump", "no default commands"},
		{Config{Name: "shared_db", Dump: []string{"x", "{password}"}}, "dump", "unknown placeholder {password}"},
		{Config{Name: "apim_db", PasswordFile: "/nonexistent/pw"}, "password_file", "cannot be read"},
	} {
		_, err := Resolve(p, tc.c, getenv)
		var ce *ConfigError
		require.ErrorAs(t, err, &ce, tc.c.Name)
		assert.Equal(t, tc.key, ce.Key, tc.c.Name)
		assert.Contains(t, err.Error(), tc.contain)
	}
	_, err = Resolve(p, Config{Name: "shared_db"}, func(string) string { return "" })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "SHARED_USER")

	// An engine without defaults works with the operator's commands.
	s, err = Resolve(p, Config{Name: "identity_db", PasswordFile: pwf, Dump: []string{"expdp", "{user}@{name}"}, Restore: []string{"impdp"}}, getenv)
	require.NoError(t, err)
	assert.Equal(t, "identity_db.dump", s.FileName())
}

func TestResolveLegacy(t *testing.T) {
	home := filepath.Join(t.TempDir(), "wso2am-2.6.0")
	require.NoError(t, testpack.CopyTree(filepath.Join(testpack.ModuleRoot(), "testdata", "packs", "carbon-4.4"), home))
	path := filepath.Join(home, "repository", "conf", "datasources", "master-datasources.xml")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	x := strings.Replace(string(b), "<url>jdbc:h2:repository/database/WSO2AM_DB;DB_CLOSE_ON_EXIT=FALSE</url>",
		"<url>jdbc:mysql://am.db:3306/apimgt?autoReconnect=true&amp;useSSL=false</url>", 1)
	x = strings.Replace(x, "<password>wso2carbon</password>\n                    <defaultAutoCommit>",
		"<password svns:secretAlias=\"Datasources.WSO2AM_DB.Password\">password</password>\n                    <defaultAutoCommit>", 1)
	require.NotEqual(t, string(b), x)
	require.NoError(t, os.WriteFile(path, []byte(x), 0o644))
	p, err := pack.Open(home)
	require.NoError(t, err)
	assert.Contains(t, Datasources(p), "WSO2AM_DB")
	_, err = Resolve(p, Config{Name: "WSO2AM_DB"}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "password")
	pwf := filepath.Join(t.TempDir(), "pw")
	require.NoError(t, os.WriteFile(pwf, []byte("x"), 0o600))
	s, err := Resolve(p, Config{Name: "WSO2AM_DB", PasswordFile: pwf}, nil)
	require.NoError(t, err)
	assert.Equal(t, Conn{Engine: MySQL, Host: "am.db", Port: 3306, Database: "apimgt", User: "wso2carbon"}, s.Conn)
	assert.Contains(t, s.From, "master-datasources.xml:")
}

func TestToolEnv(t *testing.T) {
	base := []string{"PATH=/bin", "HOME=/root", "RESTIC_PASSWORD=r", "WSO2_PASSWORD=u2", "PGSSLMODE=require", "PGPASSWORD=op",
		"MYSQL_PWD=op", "LC_ALL=C", "AWS_SECRET_ACCESS_KEY=k", "ORACLE_HOME=/o"}
	assert.Equal(t, []string{"PATH=/bin", "HOME=/root", "PGSSLMODE=require", "PGPASSWORD=op", "LC_ALL=C"}, toolEnv(base, PostgreSQL, nil, false))
	assert.Equal(t, []string{"PATH=/bin", "HOME=/root", "PGSSLMODE=require", "LC_ALL=C"}, toolEnv(base, PostgreSQL, nil, true))
	assert.Equal(t, []string{"PATH=/bin", "HOME=/root", "LC_ALL=C"}, toolEnv(base, MySQL, nil, true))
	assert.Equal(t, []string{"PATH=/bin", "HOME=/root", "LC_ALL=C", "ORACLE_HOME=/o"}, toolEnv(base, Oracle, nil, false))
	assert.Equal(t, []string{"HOME=/root", "LC_ALL=C", "AWS_SECRET_ACCESS_KEY=k", "PATH=/usr/local/bin:/usr/bin:/bin"}, toolEnv(base[1:], "", []string{"AWS_SECRET_ACCESS_KEY"}, false))
}

func TestMySQLOptionValue(t *testing.T) {
	assert.Equal(t, `"a\\b\"c'#d e\n"`, mysqlOptionValue("a\\b\"c'#d e\n"))
}
