package validate

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/pack"
)

// dataFile reads a file of testdata/checks (see its README.md).
func dataFile(rel string) string {
	b, err := os.ReadFile(filepath.Join("testdata", "checks", filepath.FromSlash(rel)))
	if err != nil {
		panic("validate test fixtures: " + err.Error())
	}
	return string(b)
}

const (
	dataISTOML    = "repository/conf/deployment.toml"
	dataLegacyDS  = "repository/conf/datasources/master-datasources.xml"
	dataLegacyUM  = "repository/conf/user-mgt.xml"
	dataLegacyReg = "repository/conf/registry.xml"
	dataLegacyLDA = "repository/conf/identity/embedded-ldap.xml"
)

// dataMySQLLegacy is the Carbon 4.4 pack moved to MySQL (kubernetes-apim
// 2.6.x style).
func dataMySQLLegacy() map[string]string {
	return map[string]string{
		dataLegacyDS:  dataFile("carbon-4.4-mysql/master-datasources.xml"),
		dataLegacyUM:  dataFile("carbon-4.4-mysql/user-mgt.xml"),
		dataLegacyReg: dataFile("carbon-4.4-mysql/registry.xml"),
	}
}

// dataISTOMLWith is a small IS 5.10 deployment.toml with the given user
// store block and databases on MySQL.
func dataISTOMLWith(userStore, extra string) string {
	return `[server]
hostname = "is.example.com"

[super_admin]
username = "isadmin"
password = "$secret{admin}"
create_admin_account = true

[user_store]
` + userStore + `

[database.identity_db]
type = "mysql"
url = "jdbc:mysql://db.example.com:3306/identity_db?useSSL=true"
username = "is"
password = "$secret{db}"

[database.shared_db]
type = "mysql"
url = "jdbc:mysql://db.example.com:3306/shared_db?useSSL=true"
username = "is"
password = "$secret{db}"
` + extra
}

// dataSymlinkSolr replaces the pack's solr/data with a symlink to target
// (created) and re-resolves the path as the host probe would.
func dataSymlinkSolr(t *testing.T, f *Facts, target string) string {
	t.Helper()
	dir, _ := SolrDataDir(f.Pack)
	require.NoError(t, os.MkdirAll(target, 0o755))
	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.Symlink(target, dir))
	f.Host.RealPaths[dir] = realPath(dir, f.Host.Mounts)
	return dir
}

// dataMount puts path on its own mount, as a probe of a host with that
// volume would report it.
func dataMount(f *Facts, path, fstype, device string) {
	rp := f.Host.RealPaths[path]
	rp.Mount = &Mount{Device: device, Dir: rp.Real, FSType: fstype}
	f.Host.RealPaths[path] = rp
}

func init() {
	addFixtures(
		// DATA-010
		fixture{ID: "CG-DATA-010", Name: "stock-apim-h2", Want: Fail},
		fixture{ID: "CG-DATA-010", Name: "hardened-mysql", Pack: "apim-4.2-hardened", Want: Pass},
		fixture{ID: "CG-DATA-010", Name: "tables-absent-default-h2", Want: Fail,
			Files: map[string]string{netTOML: "[server]\nhostname = \"apim.example.com\"\n"}},
		fixture{ID: "CG-DATA-010", Name: "gateway-4.7", Pack: "apim-4.7-gateway", Want: Unknown},
		fixture{ID: "CG-DATA-010", Name: "is-5.10-h2", Pack: "is-5.10", Want: Fail},
		fixture{ID: "CG-DATA-010", Name: "is-mysql", Pack: "is-5.10", Want: Pass,
			Files: map[string]string{dataISTOML: dataISTOMLWith("type = \"database_unique_id\"", "")}},
		fixture{ID: "CG-DATA-010", Name: "url-externalised", Want: Unknown,
			Files: map[string]string{netTOML: `[server]
hostname = "apim.example.com"

[database.apim_db]
type = "mysql"
url = "$env{APIM_DB_URL}"

[database.shared_db]
type = "mysql"
url = "jdbc:mysql://db.example.com:3306/shared_db"
`}},
		fixture{ID: "CG-DATA-010", Name: "mysql-type-but-h2-driver", Want: Fail,
			Files: map[string]string{netTOML: `[server]
hostname = "apim.example.com"

[database.apim_db]
type = "mysql"
url = "jdbc:mysql://db.example.com:3306/apim_db"
driver = "org.h2.Driver"

[database.shared_db]
type = "mysql"
url = "jdbc:mysql://db.example.com:3306/shared_db"
`}},
		fixture{ID: "CG-DATA-010", Name: "legacy-h2", Pack: "carbon-4.4", Want: Fail},
		fixture{ID: "CG-DATA-010", Name: "legacy-mysql", Pack: "carbon-4.4", Want: Pass, Files: dataMySQLLegacy()},
		fixture{ID: "CG-DATA-010", Name: "mi-none", Pack: "mi-4.3", Want: NotApplicable},

		// DATA-020
		fixture{ID: "CG-DATA-020", Name: "stock-apim-jdbc-on-h2", Want: Fail},
		fixture{ID: "CG-DATA-020", Name: "hardened-shared-db-mysql", Pack: "apim-4.2-hardened", Want: Pass},
		fixture{ID: "CG-DATA-020", Name: "is-5.10-ldap", Pack: "is-5.10", Want: Pass},
		fixture{ID: "CG-DATA-020", Name: "is-7.1-jdbc-on-h2", Pack: "is-7.1", Want: Fail},
		fixture{ID: "CG-DATA-020", Name: "legacy-jdbc-on-carbon-db", Pack: "carbon-4.4", Want: Fail},
		fixture{ID: "CG-DATA-020", Name: "legacy-jdbc-on-mysql", Pack: "carbon-4.4", Want: Pass, Files: dataMySQLLegacy()},

		// DATA-030
		fixture{ID: "CG-DATA-030", Name: "stock-apim-shared-db-h2", Want: Fail},
		fixture{ID: "CG-DATA-030", Name: "hardened", Pack: "apim-4.2-hardened", Want: Pass},
		fixture{ID: "CG-DATA-030", Name: "config-db-h2-shared-mysql", Pack: "apim-4.2-hardened", Want: Fail,
			Files: map[string]string{netTOML: `[server]
hostname = "apim.example.com"

[database.apim_db]
type = "mysql"
url = "jdbc:mysql://db.example.com:3306/apim_db"

[database.shared_db]
type = "mysql"
url = "jdbc:mysql://db.example.com:3306/shared_db"

[database.config]
type = "h2"
url = "jdbc:h2:./repository/database/WSO2CONFIG_DB;DB_CLOSE_ON_EXIT=FALSE"
`}},
		fixture{ID: "CG-DATA-030", Name: "legacy-unmounted", Pack: "carbon-4.4", Want: Fail},
		fixture{ID: "CG-DATA-030", Name: "legacy-mounted-on-mysql", Pack: "carbon-4.4", Want: Pass, Files: dataMySQLLegacy()},
		fixture{ID: "CG-DATA-030", Name: "mi", Pack: "mi-4.3", Want: NotApplicable},

		// DATA-040
		fixture{ID: "CG-DATA-040", Name: "is-5.10-default-on", Pack: "is-5.10", Want: Fail},
		fixture{ID: "CG-DATA-040", Name: "is-7.1-default-on", Pack: "is-7.1", Want: Fail},
		fixture{ID: "CG-DATA-040", Name: "is-disabled", Pack: "is-5.10", Want: Pass,
			Files: map[string]string{dataISTOML: dataISTOMLWith("type = \"database_unique_id\"", "\n[embedded_ldap]\nenable = false\n")}},
		fixture{ID: "CG-DATA-040", Name: "apim", Want: NotApplicable},
		fixture{ID: "CG-DATA-040", Name: "legacy-without-feature", Pack: "carbon-4.4", Want: NotApplicable},
		fixture{ID: "CG-DATA-040", Name: "legacy-embedded-ldap-xml", Pack: "carbon-4.4", Want: Fail,
			Files: map[string]string{dataLegacyLDA: dataFile("carbon-4.4-ldap/embedded-ldap.xml")}},

		// DATA-041
		fixture{ID: "CG-DATA-041", Name: "is-5.10-stock", Pack: "is-5.10", Want: Fail},
		fixture{ID: "CG-DATA-041", Name: "is-external-ldap", Pack: "is-5.10", Want: Pass,
			Files: map[string]string{dataISTOML: dataISTOMLWith(`type = "read_write_ldap_unique_id"
connection_url = "ldaps://ldap.example.com:636"
connection_name = "cn=wso2,ou=services,dc=example,dc=com"
connection_password = "$secret{ldap}"
base_dn = "dc=example,dc=com"`, "")}},
		fixture{ID: "CG-DATA-041", Name: "is-10389-literal", Pack: "is-5.10", Want: Fail,
			Files: map[string]string{dataISTOML: dataISTOMLWith(`type = "read_only_ldap"
connection_url = "ldap://127.0.0.1:10389"
connection_name = "uid=admin,ou=system"
connection_password = "admin"`, "")}},
		fixture{ID: "CG-DATA-041", Name: "is-7.1-jdbc", Pack: "is-7.1", Want: Pass},
		fixture{ID: "CG-DATA-041", Name: "apim", Want: NotApplicable},
		fixture{ID: "CG-DATA-041", Name: "legacy-ldap-on-embedded", Pack: "carbon-4.4", Want: Fail,
			Files: map[string]string{dataLegacyUM: dataFile("carbon-4.4-ldap/user-mgt.xml"), dataLegacyLDA: dataFile("carbon-4.4-ldap/embedded-ldap.xml")}},
		fixture{ID: "CG-DATA-041", Name: "legacy-jdbc", Pack: "carbon-4.4", Want: Pass},

		// DATA-050
		fixture{ID: "CG-DATA-050", Name: "stock-local-dir", Want: Pass},
		fixture{ID: "CG-DATA-050", Name: "symlinked", Want: Fail,
			Facts: func(t *testing.T, f *Facts) { dataSymlinkSolr(t, f, filepath.Join(t.TempDir(), "shared-solr")) }},
		fixture{ID: "CG-DATA-050", Name: "whole-pack-behind-symlink", Want: Pass,
			Facts: func(t *testing.T, f *Facts) {
				// /opt/wso2 -> /data/wso2 style: the home is reached through
				// a symlink, the index has none of its own.
				link := filepath.Join(t.TempDir(), "current")
				require.NoError(t, os.Symlink(f.Pack.Home, link))
				p, err := pack.Open(link)
				require.NoError(t, err)
				f.Pack = p
				dir, _ := SolrDataDir(p)
				f.Host.RealPaths = map[string]RealPath{p.Home: realPath(p.Home, f.Host.Mounts), dir: realPath(dir, f.Host.Mounts)}
				require.True(t, f.Host.RealPaths[dir].IsSymlink)
			}},
		fixture{ID: "CG-DATA-050", Name: "on-nfs", Want: Fail,
			Facts: func(_ *testing.T, f *Facts) {
				dir, _ := SolrDataDir(f.Pack)
				dataMount(f, dir, "nfs4", "filer.example.com:/export/solr")
			}},
		fixture{ID: "CG-DATA-050", Name: "on-local-volume", Want: Pass,
			Facts: func(_ *testing.T, f *Facts) {
				dir, _ := SolrDataDir(f.Pack)
				dataMount(f, dir, "xfs", "/dev/nvme1n1")
			}},
		fixture{ID: "CG-DATA-050", Name: "mounts-unreadable", Want: Unknown,
			Host: func(h *Host) {
				h.Mounts = nil
				h.Errors = map[string]string{"Mounts": "open /proc/mounts: permission denied"}
			}},
		fixture{ID: "CG-DATA-050", Name: "gateway", Pack: "apim-4.7-gateway", Want: NotApplicable},
		fixture{ID: "CG-DATA-050", Name: "indexing-off", Want: NotApplicable,
			Files: map[string]string{netTOML: "[server]\nhostname = \"apim.example.com\"\n\n[indexing]\nenable = false\n"}},
		fixture{ID: "CG-DATA-050", Name: "legacy-stock", Pack: "carbon-4.4", Want: Pass},

		// DATA-051
		fixture{ID: "CG-DATA-051", Name: "single-home", Want: NotApplicable},
		fixture{ID: "CG-DATA-051", Name: "same-absolute-location", Want: Fail,
			Files: map[string]string{netTOML: "[server]\nhostname = \"apim.example.com\"\n\n[indexing]\nlocation = \"/srv/solr/indexed-data\"\n"},
			Facts: func(t *testing.T, f *Facts) {
				home := copyPack(t, "apim-4.2")
				writeFiles(t, home, map[string]string{netTOML: "[server]\nhostname = \"apim.example.com\"\noffset = 1\n\n[indexing]\nlocation = \"/srv/solr/indexed-data\"\n"})
				q, err := pack.Open(home)
				require.NoError(t, err)
				f.Others = []*pack.Pack{q}
			}},
		fixture{ID: "CG-DATA-051", Name: "other-symlinks-to-ours", Want: Fail,
			Facts: func(t *testing.T, f *Facts) {
				q := netOpenOther(t, "apim-4.2", map[string]string{"portOffset": "1"})
				mine, _ := SolrDataDir(f.Pack)
				theirs, _ := SolrDataDir(q)
				require.NoError(t, os.RemoveAll(theirs))
				require.NoError(t, os.Symlink(mine, theirs))
				f.Others = []*pack.Pack{q}
				f.Host.RealPaths[theirs] = realPath(theirs, f.Host.Mounts)
			}},
		fixture{ID: "CG-DATA-051", Name: "separate-indexes", Want: Pass,
			Facts: func(t *testing.T, f *Facts) {
				q := netOpenOther(t, "apim-4.2", map[string]string{"portOffset": "1"})
				theirs, _ := SolrDataDir(q)
				f.Others = []*pack.Pack{q}
				f.Host.RealPaths[theirs] = realPath(theirs, f.Host.Mounts)
			}},
		fixture{ID: "CG-DATA-051", Name: "other-not-resolved", Want: Unknown,
			Facts: func(t *testing.T, f *Facts) {
				f.Others = []*pack.Pack{netOpenOther(t, "apim-4.2", map[string]string{"portOffset": "1"})}
			}},
		fixture{ID: "CG-DATA-051", Name: "other-is-gateway", Want: NotApplicable,
			Facts: func(t *testing.T, f *Facts) { f.Others = []*pack.Pack{netOpenOther(t, "apim-4.7-gateway", nil)} }},

		// DATA-052
		fixture{ID: "CG-DATA-052", Name: "stock-both-in-pack", Want: Pass},
		fixture{ID: "CG-DATA-052", Name: "index-on-volume-db-in-pack", Want: Fail,
			Facts: func(_ *testing.T, f *Facts) {
				dir, _ := SolrDataDir(f.Pack)
				dataMount(f, dir, "ext4", "/dev/sdb1")
			}},
		fixture{ID: "CG-DATA-052", Name: "db-on-volume-index-in-pack", Want: Fail,
			Facts: func(_ *testing.T, f *Facts) {
				dir, _ := LocalDBDir(f.Pack)
				dataMount(f, dir, "ext4", "/dev/sdc1")
			}},
		fixture{ID: "CG-DATA-052", Name: "both-on-own-volumes", Want: Pass,
			Facts: func(_ *testing.T, f *Facts) {
				idx, _ := SolrDataDir(f.Pack)
				db, _ := LocalDBDir(f.Pack)
				dataMount(f, idx, "ext4", "/dev/sdb1")
				dataMount(f, db, "ext4", "/dev/sdc1")
			}},
		fixture{ID: "CG-DATA-052", Name: "local-db-externalised", Want: Unknown,
			Files: map[string]string{netTOML: "[server]\nhostname = \"apim.example.com\"\n\n[database.local]\nurl = \"$env{LOCAL_DB_URL}\"\n"}},

		// DATA-060
		fixture{ID: "CG-DATA-060", Name: "stock-all-h2", Want: Pass},
		fixture{ID: "CG-DATA-060", Name: "hardened-mysql", Pack: "apim-4.2-hardened", Want: Fail},
		fixture{ID: "CG-DATA-060", Name: "legacy-mysql", Pack: "carbon-4.4", Want: Fail, Files: dataMySQLLegacy()},
		fixture{ID: "CG-DATA-060", Name: "legacy-stock", Pack: "carbon-4.4", Want: Pass},
		fixture{ID: "CG-DATA-060", Name: "hardened-mysql-dumped", Pack: "apim-4.2-hardened", Want: Pass,
			Facts: func(_ *testing.T, f *Facts) { f.Snapshots.Dumps = []string{"apim_db", "shared_db"} }},
		fixture{ID: "CG-DATA-060", Name: "hardened-mysql-one-dumped", Pack: "apim-4.2-hardened", Want: Fail,
			Facts: func(_ *testing.T, f *Facts) { f.Snapshots.Dumps = []string{"apim_db"} }},
		fixture{ID: "CG-DATA-060", Name: "legacy-mysql-dumped", Pack: "carbon-4.4", Want: Pass, Files: dataMySQLLegacy(),
			Facts: func(_ *testing.T, f *Facts) { f.Snapshots.Dumps = []string{"WSO2AM_DB", "WSO2UM_DB", "WSO2REG_DB"} }},
	)
}

// The node-local databases ([database.local], WSO2_CARBON_DB,
// WSO2_MB_STORE_DB) are H2 by design: no datastore check may flag them for
// being H2, on any fixture pack.
func TestNodeLocalH2IsNotFlagged(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		pack  string
		files map[string]string
	}{
		{"apim-4.2", "apim-4.2", nil},
		{"apim-4.2-hardened", "apim-4.2-hardened", nil},
		{"apim-4.7-gateway", "apim-4.7-gateway", nil},
		{"carbon-4.4", "carbon-4.4", nil},
		{"carbon-4.4-mysql", "carbon-4.4", dataMySQLLegacy()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := fixtureFacts(t, fixture{Pack: tc.pack, Files: tc.files})
			rs := checkH2ProductDBs(f)
			sawLocal := false
			for _, r := range rs {
				local := r.Subject == "[database.local]" || r.Subject == "[database.mb]" ||
					r.Subject == "datasource WSO2_CARBON_DB" || r.Subject == "datasource WSO2_MB_STORE_DB"
				if local {
					sawLocal = true
					assert.Equal(t, Pass, r.Status, "%s flagged: %s", r.Subject, r.Message)
				}
				if r.Status == Fail {
					assert.NotContains(t, r.Value, "WSO2CARBON_DB", "a finding cites the local DB: %s", r.Message)
					assert.NotContains(t, r.Value, "WSO2MB_DB", "a finding cites the broker store: %s", r.Message)
				}
			}
			assert.True(t, sawLocal, "the local database is reported as not flagged:%s", describeResults(rs))
			for _, r := range checkDatabaseDumps(f) {
				assert.NotContains(t, r.Message, "WSO2CARBON_DB")
				assert.NotContains(t, r.Message, "WSO2MB_DB")
			}
		})
	}
	// The hardened pack, whose product databases are on MySQL, passes
	// outright: nothing else in it is H2 but the node-local database.
	f := fixtureFacts(t, fixture{Pack: "apim-4.2-hardened"})
	for _, r := range checkH2ProductDBs(f) {
		assert.NotEqual(t, Fail, r.Status, "%s: %s", r.Subject, r.Message)
	}
}

func TestDataH2ProductDBsCitesTheLine(t *testing.T) {
	t.Parallel()
	f := fixtureFacts(t, fixture{})
	var fails []Result
	for _, r := range checkH2ProductDBs(f) {
		if r.Status == Fail {
			fails = append(fails, r)
		}
	}
	require.Len(t, fails, 2)
	assert.Equal(t, "[database.apim_db]", fails[0].Subject)
	assert.Equal(t, "[database.shared_db]", fails[1].Subject)
	for _, r := range fails {
		assert.Equal(t, "repository/conf/deployment.toml", r.Pos.File)
		assert.NotZero(t, r.Pos.Line)
		assert.Equal(t, pack.SourceFile, r.Source)
	}
	// Absent tables: the default applies and says so.
	f = fixtureFacts(t, fixture{Files: map[string]string{netTOML: "[server]\nhostname = \"apim.example.com\"\n"}})
	for _, r := range checkH2ProductDBs(f) {
		if r.Status == Fail {
			assert.Contains(t, r.Message, "product default")
			assert.Equal(t, pack.SourceDefault, r.Source)
		}
	}
}

func TestDataDatabaseDumps(t *testing.T) {
	t.Parallel()
	f := fixtureFacts(t, fixture{Files: map[string]string{netTOML: `[server]
hostname = "apim.example.com"

[database.apim_db]
type = "mssql"
url = "jdbc:sqlserver://db.example.com:1433;databaseName=apim;password=hunter2"

[database.shared_db]
type = "mysql"
url = "jdbc:mysql://db.example.com:3306/shared_db?user=x&amp;password=hunter2"

[[datasource]]
id = "REPORTS_DB"
url = "$env{REPORTS_URL}"
`}})
	rs := checkDatabaseDumps(f)
	require.Len(t, rs, 3)
	subjects := map[string]Result{}
	for _, r := range rs {
		assert.Equal(t, Fail, r.Status, r.Subject)
		assert.NotContains(t, r.Message, "hunter2")
		assert.NotContains(t, r.Value, "hunter2")
		assert.Contains(t, r.Message, "no [[snapshot.database]] dumps it")
		subjects[r.Subject] = r
	}
	assert.Contains(t, subjects["[database.apim_db]"].Message, "jdbc:sqlserver://db.example.com:1433")
	assert.Contains(t, subjects["[database.shared_db]"].Message, "jdbc:mysql://db.example.com:3306/shared_db")
	assert.Contains(t, subjects["[[datasource]] REPORTS_DB"].Message, "externalised")
	assert.Equal(t, "repository/conf/deployment.toml", subjects["[database.apim_db]"].Pos.File)

	// A dumped database passes, and says by which entry.
	f.Snapshots.Dumps = []string{"shared_db", "REPORTS_DB"}
	for _, r := range checkDatabaseDumps(f) {
		if r.Subject == "[database.apim_db]" {
			assert.Equal(t, Fail, r.Status)
			continue
		}
		assert.Equal(t, Pass, r.Status, r.Subject)
		assert.Contains(t, r.Message, "dumped with every pre-update snapshot")
	}
	for _, r := range checkH2ProductDBs(f) {
		assert.NotContains(t, r.Value, "hunter2", r.Subject)
		assert.NotContains(t, r.Message, "hunter2", r.Subject)
	}
}

func TestDataNetworkFS(t *testing.T) {
	t.Parallel()
	for _, fs := range []string{"nfs", "nfs4", "cifs", "smb3", "glusterfs", "cephfs", "fuse.sshfs", "fuse.s3fs", "lustre"} {
		assert.True(t, dataNetworkFS(fs), fs)
	}
	for _, fs := range []string{"ext4", "xfs", "btrfs", "overlay", "tmpfs", "zfs", "fuse.lxcfs"} {
		assert.False(t, dataNetworkFS(fs), fs)
	}
}

func TestDataLDAPURLEmbedded(t *testing.T) {
	t.Parallel()
	p, err := pack.OpenWith(copyPack(t, "is-5.10"), pack.Options{SysProps: map[string]string{"portOffset": "2"}})
	require.NoError(t, err)
	for url, want := range map[string]bool{
		"ldap://localhost:${Ports.EmbeddedLDAP.LDAPServerPort}": true,
		"ldap://127.0.0.1:10389":                                true,
		"ldap://localhost:10391/dc=wso2,dc=org":                 true, // 10389 + offset 2
		"ldaps://ldap.example.com:636":                          false,
		"ldap://10.0.0.5:10389":                                 false,
		"ldap://localhost:389":                                  false,
		"jdbc:h2:./repository/database/X":                       false,
	} {
		assert.Equal(t, want, dataLDAPURLEmbedded(p, url), url)
	}
}

// dataExtraDS is a datasources file besides master-datasources.xml.
const dataExtraDS = `<datasources-configuration xmlns:svns="http://org.wso2.securevault/configuration">
  <providers><provider>org.wso2.carbon.ndatasource.rdbms.RDBMSDataSourceReader</provider></providers>
  <datasources>
    <datasource>
      <name>REPORTS_DB</name>
      <jndiConfig><name>jdbc/REPORTS_DB</name></jndiConfig>
      <definition type="RDBMS">
        <configuration>
          <url>%s</url>
          <username>reports</username>
          <driverClassName>%s</driverClassName>
        </configuration>
      </definition>
    </datasource>
  </datasources>
</datasources-configuration>
`

func dataExtraFile(url, driver string) map[string]string {
	return map[string]string{"repository/conf/datasources/reports-datasources.xml": fmt.Sprintf(dataExtraDS, url, driver)}
}

func dataTOML(extra string) map[string]string {
	return map[string]string{dataISTOML: "[server]\nhostname = \"apim.example.com\"\n\n" + extra}
}

const dataMySQLTables = `[database.apim_db]
type = "mysql"
url = "jdbc:mysql://%[1]s:3306/WSO2AM_DB?autoReconnect=true&amp;allowPublicKeyRetrieval=true&amp;%[2]s"
driver = "com.mysql.cj.jdbc.Driver"
username = "wso2carbon"
password = "$secret{db}"
[database.shared_db]
type = "mysql"
url = "jdbc:mysql://%[1]s:3306/WSO2SHARED_DB?autoReconnect=true&amp;%[2]s"
driver = "com.mysql.cj.jdbc.Driver"
username = "wso2carbon"
password = "$secret{db}"
`

func init() {
	addFixtures(
		// DATA-010 reads every file of repository/conf/datasources.
		fixture{ID: "CG-DATA-010", Name: "extra-datasources-file-h2", Want: Fail,
			Files: mergeFiles(dataTOML(fmt.Sprintf(dataMySQLTables, "db.example.com", "useSSL=true")), dataExtraFile("jdbc:h2:./repository/database/REPORTS_DB", "org.h2.Driver"))},
		// A 2.6 gateway does not use WSO2AM_DB; its registry and user store may stay on H2.
		fixture{ID: "CG-DATA-010", Name: "legacy-gateway-am-db-not-used", Pack: "apim-2.6-gateway", SysProps: map[string]string{"profile": "gateway-worker"}, Want: Pass},
		fixture{ID: "CG-DATA-010", Name: "legacy-traffic-manager-uses-am-db", Pack: "apim-2.6-traffic-manager", SysProps: map[string]string{"profile": "traffic-manager"}, Want: Fail},
		// A node whose role is unknown (TM template started as a gateway):
		// apim_db on H2 is unknown, not a failure.
		fixture{ID: "CG-DATA-010", Name: "role-unknown-no-failure", Pack: "apim-3.2-traffic-manager", SysProps: map[string]string{"profile": "gateway-worker"}, Want: Unknown,
			Files: map[string]string{dataISTOML: "[server]\nserver_role = \"traffic-manager\"\n[database.apim_db]\ntype = \"h2\"\nurl = \"jdbc:h2:./repository/database/WSO2AM_DB\"\n[database.shared_db]\ntype = \"h2\"\nurl = \"jdbc:h2:./repository/database/WSO2SHARED_DB\"\n"}},

		// DATA-070 JDBC URLs with TLS off
		fixture{ID: "CG-DATA-070", Name: "remote-usessl-false", Want: Fail, Files: dataTOML(fmt.Sprintf(dataMySQLTables, "db.example.com", "useSSL=false"))},
		fixture{ID: "CG-DATA-070", Name: "remote-tls-default", Want: Pass, Files: dataTOML(fmt.Sprintf(dataMySQLTables, "db.example.com", "useSSL=true"))},
		fixture{ID: "CG-DATA-070", Name: "local-usessl-false", Want: Pass, Files: dataTOML(fmt.Sprintf(dataMySQLTables, "localhost", "useSSL=false"))},
		fixture{ID: "CG-DATA-070", Name: "all-h2", Want: NotApplicable},
		fixture{ID: "CG-DATA-070", Name: "extra-file-sqlserver-encrypt-false", Pack: "carbon-4.4", Want: Fail,
			Files: dataExtraFile("jdbc:sqlserver://mssql.example.com:1433;databaseName=reports;encrypt=false", "com.microsoft.sqlserver.jdbc.SQLServerDriver")},
		fixture{ID: "CG-DATA-070", Name: "postgres-sslmode-verify", Pack: "carbon-4.4", Want: Pass,
			Files: dataExtraFile("jdbc:postgresql://pg.example.com:5432/reports?sslmode=verify-full", "org.postgresql.Driver")},
		// The gateway does not use apim_db: its URL is not judged.
		fixture{ID: "CG-DATA-070", Name: "gateway-apim-db-not-used", Pack: "apim-4.7-gateway", Want: NotApplicable,
			Files: map[string]string{dataISTOML: "[server]\nhostname = \"gw.example.com\"\n[database.apim_db]\ntype = \"mysql\"\nurl = \"jdbc:mysql://db.example.com:3306/am?useSSL=false\"\n"}},
	)
}

func mergeFiles(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func TestJDBCURLParsing(t *testing.T) {
	t.Parallel()
	cases := []struct{ url, host, off string }{
		{"jdbc:mysql://mysql:3306/WSO2AM_DB?autoReconnect=true&amp;allowPublicKeyRetrieval=true&amp;useSSL=false", "mysql", "useSSL=false"},
		{"jdbc:mysql://db:3306/x?sslMode=DISABLED", "db", "sslMode=DISABLED"},
		{"jdbc:postgresql://pg.example.com/x?sslmode=disable", "pg.example.com", "sslmode=disable"},
		{"jdbc:postgresql://pg.example.com/x?sslmode=require", "pg.example.com", ""},
		{"jdbc:sqlserver://[fd00::1]:1433;databaseName=x;encrypt=false", "fd00::1", "encrypt=false"},
		{"jdbc:oracle:thin:@ora.example.com:1521/ORCL", "ora.example.com", ""},
		{"jdbc:oracle:thin:@//ora.example.com:1521/ORCL", "ora.example.com", ""},
	}
	for _, c := range cases {
		h, ok := dataJDBCHost(c.url)
		assert.True(t, ok, c.url)
		assert.Equal(t, c.host, h, c.url)
		assert.Equal(t, c.off, dataJDBCTLSOff(c.url), c.url)
	}
	_, ok := dataJDBCHost("jdbc:h2:./repository/database/WSO2AM_DB")
	assert.False(t, ok)
}
