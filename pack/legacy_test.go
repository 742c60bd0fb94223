package pack

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLegacyValues(t *testing.T) {
	t.Parallel()
	p, err := Open(fixture("carbon-4.4"))
	require.NoError(t, err)
	tests := []struct {
		key      string
		raw      any
		file     string
		line     int
		carbonVs []string
	}{
		{key: "carbon.xml:/Server/Ports/Offset", raw: "0", file: "repository/conf/carbon.xml", line: 127},
		{key: "server.offset", raw: "0", file: "repository/conf/carbon.xml", line: 127},
		{key: "monitoring.jmx.rmi_registry_port", raw: "9999", file: "repository/conf/carbon.xml", line: 132},
		{key: "super_admin.username", raw: "admin", file: "repository/conf/user-mgt.xml", line: 23},
		{key: "keystore.primary.file_name", raw: "${carbon.home}/repository/resources/security/wso2carbon.jks", file: "repository/conf/carbon.xml", carbonVs: []string{"${carbon.home}"}},
		{key: "keystore.tls.password", raw: "wso2carbon", file: "repository/conf/tomcat/catalina-server.xml", line: 53},
		{key: "transport.http.properties.compression", raw: "on", file: "repository/conf/tomcat/catalina-server.xml", line: 28},
		{key: "database.apim_db.url", raw: "jdbc:h2:repository/database/WSO2AM_DB;DB_CLOSE_ON_EXIT=FALSE", file: "repository/conf/datasources/master-datasources.xml", line: 39},
		{key: "database.local.driver", raw: "org.h2.Driver", file: "repository/conf/datasources/master-datasources.xml"},
		{key: "tomcat/catalina-server.xml:/Server/Service/Connector[@port='9443']/@sslEnabledProtocols", raw: "TLSv1,TLSv1.1,TLSv1.2", file: "repository/conf/tomcat/catalina-server.xml", line: 53},
		{key: "axis2/axis2.xml:/axisconfig/clustering/@enable", raw: "false", file: "repository/conf/axis2/axis2.xml"},
		{key: "registry.xml:/wso2registry/indexingConfiguration/startIndexing", raw: "true", file: "repository/conf/registry.xml"},
		{key: "repository/conf/etc/jmx.xml:/JMX/StartRMIServer", raw: "true", file: "repository/conf/etc/jmx.xml"},
	}
	for _, tc := range tests {
		v := p.Value(tc.key)
		assert.Equal(t, tc.raw, v.Raw, tc.key)
		assert.Equal(t, tc.file, v.Pos.File, tc.key)
		assert.NotZero(t, v.Pos.Line, tc.key)
		if tc.line > 0 {
			assert.Equal(t, tc.line, v.Pos.Line, tc.key)
		}
		assert.Equal(t, tc.carbonVs, v.CarbonVars, tc.key)
		assert.True(t, p.Has(tc.key), tc.key)
	}
	assert.Equal(t, SourceUnset, p.Value("server.hostname").Source, "HostName is commented out in the stock carbon.xml")
	assert.False(t, p.Has("server.hostname"))
	assert.Equal(t, SourceUnset, p.Value("carbon.xml:/Server/NoSuchThing").Source)
	assert.Equal(t, SourceUnset, p.Value("identity/embedded-ldap.xml:/EmbeddedLDAPConfig").Source)
	assert.Equal(t, []string{"apim_db", "local", "mb", "wso2am_stats_db"}, p.Tables("database"))

	d, err := p.XML("datasources/master-datasources.xml")
	require.NoError(t, err)
	same, err := p.XML("repository/conf/datasources/master-datasources.xml")
	require.NoError(t, err)
	assert.Same(t, d, same, "documents are cached")
	var lines []int
	for _, ds := range d.FindAll("//datasource") {
		lines = append(lines, d.Line(ds))
	}
	assert.Equal(t, []int{9, 31, 53, 75}, lines)

	_, err = p.XML("../../../etc/passwd")
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	_, err = p.XML("identity/embedded-ldap.xml")
	assert.True(t, errors.Is(err, fs.ErrNotExist))
}

func TestLegacyInvalidXML(t *testing.T) {
	t.Parallel()
	home := copyFixture(t, "carbon-4.4")
	writeFile(t, home, "repository/conf/user-mgt.xml", "<UserManager>\n  <Realm>\n    <Configuration>\n      <AdminUser><UserName>admin</UserName>\n    </Configuration>\n  </Realm>\n</UserManager>\n")
	_, err := Open(home)
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "repository/conf/user-mgt.xml", ce.Pos.File)
	assert.Equal(t, 5, ce.Pos.Line)
	assert.Contains(t, err.Error(), "repository/conf/user-mgt.xml:5: invalid XML")
}

func TestLegacyPortsFollowTheFiles(t *testing.T) {
	t.Parallel()
	home := copyFixture(t, "carbon-4.4")
	carbon := readFixture(t, "carbon-4.4", "repository/conf/carbon.xml")
	carbon = strings.Replace(carbon, "<Offset>0</Offset>", "<Offset>2</Offset>", 1)
	writeFile(t, home, "repository/conf/carbon.xml", carbon)
	jmx := readFixture(t, "carbon-4.4", "repository/conf/etc/jmx.xml")
	writeFile(t, home, "repository/conf/etc/jmx.xml", strings.Replace(jmx, "<StartRMIServer>true</StartRMIServer>", "<StartRMIServer>false</StartRMIServer>", 1))
	writeFile(t, home, "repository/conf/identity/embedded-ldap.xml", `<EmbeddedLDAPConfig>
  <EmbeddedLDAP>
    <Property name="enable">true</Property>
  </EmbeddedLDAP>
  <KDCServer>
    <Property name="enabled">true</Property>
  </KDCServer>
</EmbeddedLDAPConfig>
`)
	p, err := OpenWith(home, Options{})
	require.NoError(t, err)
	off, _ := p.Offset.Int()
	assert.Equal(t, 2, off)
	for name, want := range map[string]struct {
		port    int
		enabled bool
	}{"servlet-https": {9445, true}, "passthru-http": {8282, true}, "jmx-rmi-registry": {10001, false}, "embedded-ldap": {10391, true}, "kdc": {8002, true}} {
		pt, ok := p.Port(name)
		require.True(t, ok, name)
		assert.Equal(t, want.port, pt.Port, name)
		assert.Equal(t, want.enabled, pt.Enabled, name)
	}
	assert.Equal(t, true, p.Value("embedded_ldap.enable").Raw != nil)
}

func readFixture(t *testing.T, name, rel string) string {
	t.Helper()
	p, err := Open(fixture(name))
	require.NoError(t, err)
	d, err := p.XML(rel)
	require.NoError(t, err)
	s, err := d.Doc.WriteToString()
	require.NoError(t, err)
	return s
}

func TestXMLLines(t *testing.T) {
	t.Parallel()
	src := `<?xml version="1.0" encoding="ISO-8859-1"?>
<!-- a comment
     over lines -->
<a xmlns="urn:x">
  <b>one</b><b>two</b>
  <![CDATA[ <not-an-element/> ]]>
  <c
     attr="v">
    <d/>
  </c>
</a>
`
	d, err := parseXML("x.xml", []byte(src))
	require.NoError(t, err)
	got := map[string][]int{}
	for _, e := range d.FindAll("//*") {
		got[e.Tag] = append(got[e.Tag], d.Line(e))
	}
	assert.Equal(t, map[string][]int{"a": {4}, "b": {5, 5}, "c": {7}, "d": {9}}, got)
	assert.Equal(t, 4, d.Line(d.Doc.Root()))
	assert.Equal(t, Position{File: "x.xml", Line: 9}, d.Pos(d.Find("//d")))

	_, err = parseXML("y.xml", []byte("<a>\n<b>\n</a>\n"))
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 3, ce.Pos.Line)
	_, err = parseXML("z.xml", []byte("   "))
	require.ErrorAs(t, err, &ce)
}
