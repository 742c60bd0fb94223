package pack

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValueSourcesAndPositions(t *testing.T) {
	t.Parallel()
	p, err := Open(fixture("apim-4.2-hardened"))
	require.NoError(t, err)
	tests := []struct {
		key      string
		raw      any
		source   Source
		line     int
		external bool
		via      []string
	}{
		{key: "server.hostname", raw: "apim.example.com", source: SourceFile, line: 2},
		{key: "super_admin.password", raw: "$secret{admin_password}", source: SourceFile, line: 9, external: true},
		{key: "keystore.tls.file_name", raw: "apim-prod.jks", source: SourceRef, line: 36, via: []string{"keystore.primary.file_name"}},
		{key: "keystore.tls.password", raw: "$secret{keystore_password}", source: SourceRef, line: 38, external: true, via: []string{"keystore.primary.password"}},
		{key: "keystore.internal.file_name", raw: "apim-prod.jks", source: SourceRef, line: 36, via: []string{"keystore.primary.file_name"}},
		{key: "database.apim_db.url", raw: "jdbc:mysql://db.example.com:3306/apim_db?useSSL=true&amp;requireSSL=true&amp;allowPublicKeyRetrieval=false", source: SourceFile, line: 17},
		{key: "database.apim_db.pool_options.maxActive", raw: int64(100), source: SourceFile, line: 23},
		{key: "transport.http.properties.compression", raw: "off", source: SourceFile, line: 55},
		{key: "transport.https.properties.protocols", raw: "+TLSv1.2,+TLSv1.3", source: SourceFile, line: 59},
		// The user key maps onto the template key WSO2 renders from.
		{key: "transport.https.sslHostConfig.properties.protocols", raw: "+TLSv1.2,+TLSv1.3", source: SourceFile, line: 59},
		{key: "transport.binary.receiver.sslEnabledProtocols", raw: []any{"TLSv1.2", "TLSv1.3"}, source: SourceFile, line: 65},
		{key: "transport.receiver.ssl_enabled_protocols", raw: []any{"TLSv1.2", "TLSv1.3"}, source: SourceFile, line: 65},
		{key: "monitoring.jmx.rmi_server_start", raw: false, source: SourceFile, line: 72},
		{key: "broker.transport.amqp.ssl_connection.ssl_enabled_protocols", raw: "TLSv1.2", source: SourceFile, line: 69},
		{key: "monitoring.jmx.rmi_registry_port", raw: "9999", source: SourceDefault},
		{key: "apim.cors.allow_origins", raw: []any{"https://portal.example.com", "https://publisher.example.com"}, source: SourceFile, line: 112},
		{key: "apim.gateway.environment.0.ws_endpoint", raw: "ws://apim.example.com:9099", source: SourceFile, line: 94},
		{key: "event_listener.0.properties.'header.X-WSO2-KEY-MANAGER'", raw: "default", source: SourceFile, line: 136},
		{key: "synapse_properties.'inbound.port.offset.enable'", raw: true, source: SourceDefault},
		{key: "indexing.location", raw: "../../../../solr/data", source: SourceDefault},
		{key: "no.such.key", source: SourceUnset},
	}
	for _, tc := range tests {
		v := p.Value(tc.key)
		assert.Equal(t, tc.key, v.Key)
		assert.Equal(t, tc.raw, v.Raw, tc.key)
		assert.Equal(t, tc.source, v.Source, tc.key)
		assert.Equal(t, tc.external, v.Externalised, tc.key)
		assert.Equal(t, tc.via, v.Via, tc.key)
		if tc.line > 0 {
			assert.Equal(t, Position{File: "repository/conf/deployment.toml", Line: tc.line}, v.Pos, tc.key)
		} else {
			assert.Zero(t, v.Pos.Line, tc.key)
		}
	}
	// Carbon variables stay literal and are named.
	v := p.Value("apim.gateway.environment.0.service_url")
	assert.Equal(t, "https://apim.example.com:${mgt.transport.https.port}/services/", v.Raw)
	assert.Equal(t, []string{"${mgt.transport.https.port}"}, v.CarbonVars)

	assert.True(t, p.Has("database.apim_db"))
	assert.True(t, p.Has("transport.https.sslHostConfig.properties.protocols"))
	assert.False(t, p.Has("monitoring.jmx.rmi_registry_port"))
	assert.Equal(t, []string{"apim_db", "local", "mb", "shared_db"}, p.Tables("database"))
	assert.Equal(t, []string{"internal", "listener_profile", "primary", "ssl_profile", "tls"}, p.Tables("keystore"), "written and defaulted tables")
}

func TestValueDottedKeyForms(t *testing.T) {
	t.Parallel()
	forms := map[string]string{
		"dotted key":     "[server]\nhostname = \"a\"\n\n[transport.https]\nproperties.port = 9444\nproperties.proxyPort = 443\n",
		"sub-table":      "[server]\nhostname = \"a\"\n\n[transport.https.properties]\nport = 9444\nproxyPort = 443\n",
		"inline table":   "[server]\nhostname = \"a\"\n\n[transport]\nhttps = { properties = { port = 9444, proxyPort = 443 } }\n",
		"top-level keys": "server.hostname = \"a\"\n\n\n\ntransport.https.properties.port = 9444\ntransport.https.properties.proxyPort = 443\n",
	}
	for name, src := range forms {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := Open(tomlPack(t, src))
			require.NoError(t, err)
			v := p.Value("transport.https.properties.port")
			assert.Equal(t, int64(9444), v.Raw)
			assert.Equal(t, SourceFile, v.Source)
			assert.Equal(t, 5, v.Pos.Line)
			pt, ok := p.Port("servlet-https")
			require.True(t, ok)
			assert.Equal(t, 9444, pt.Port)
			assert.Equal(t, v.Pos, pt.Pos)
		})
	}
}

func TestValueUserKeysMoveGatewayPorts(t *testing.T) {
	t.Parallel()
	p, err := Open(tomlPack(t, "[server]\noffset = 2\n\n[transport.http]\nlistener.port = 8281\nlistener.secured_port = 8244\n\n[transport.receiver]\ntcp_port = 9612\n"))
	require.NoError(t, err)
	for name, want := range map[string]struct{ base, line int }{"passthru-http": {8281, 5}, "passthru-https": {8244, 6}, "binary-receiver-tcp": {9612, 9}} {
		pt, ok := p.Port(name)
		require.True(t, ok, name)
		assert.Equal(t, want.base, pt.Base, name)
		assert.Equal(t, want.base+2, pt.Port, name)
		assert.Equal(t, want.line, pt.Pos.Line, name)
		assert.Equal(t, SourceFile, pt.Source, name)
	}
}

func TestValueRefs(t *testing.T) {
	t.Parallel()
	p, err := Open(tomlPack(t, `[server]
hostname = "$ref{a.b}"

[a]
b = "$ref{c.d}"

[c]
d = "$ref{a.b}"

[x]
y = "$ref{nowhere.at_all}"
z = "jdbc:h2:$ref{x.w}/db"
w = "./data"
`))
	require.NoError(t, err)
	v := p.Value("server.hostname")
	assert.Contains(t, v.Problem, "cycle")
	assert.Nil(t, v.Raw)
	assert.Equal(t, []string{"a.b", "c.d", "a.b"}, v.Via)
	assert.Contains(t, p.Value("x.y").Problem, "has no value")
	assert.Equal(t, "jdbc:h2:./data/db", p.Value("x.z").Raw)
	assert.Equal(t, SourceRef, p.Value("x.z").Source)
	warn := strings.Join(p.Warnings, "\n")
	assert.Contains(t, warn, "repository/conf/deployment.toml:2: server.hostname: $ref{} cycle")
	assert.Contains(t, warn, "repository/conf/deployment.toml:11: x.y")
}

func TestValueRoleInference(t *testing.T) {
	t.Parallel()
	p, err := Open(tomlPack(t, "[server]\nserver_role = \"gateway-worker\"\n"))
	require.NoError(t, err)
	assert.Equal(t, "gateway-worker", p.Role)
	assert.Equal(t, "gateway", p.Node)
	v := p.Value("indexing.enable")
	assert.Equal(t, false, v.Raw)
	assert.Equal(t, SourceInferred, v.Source)
	assert.Equal(t, 2, v.Pos.Line, "an inferred value points at its trigger")

	// An explicit value wins over the inferred one.
	p, err = Open(tomlPack(t, "[server]\nserver_role = \"gateway-worker\"\n[indexing]\nenable = true\n"))
	require.NoError(t, err)
	assert.Equal(t, true, p.Value("indexing.enable").Raw)

	// database.$1.type infers a driver per table.
	p, err = Open(tomlPack(t, "[database.apim_db]\ntype = \"mysql\"\nhostname = \"db\"\nport = 3306\nname = \"am\"\n"))
	require.NoError(t, err)
	assert.Equal(t, "jdbc:mysql://db:3306/am", p.Value("database.apim_db.url").Raw)
	assert.Equal(t, []string{"database.apim_db.hostname", "database.apim_db.port", "database.apim_db.name"}, p.Value("database.apim_db.url").Via)
}

func TestValueHelmTemplates(t *testing.T) {
	t.Parallel()
	src := `[server]
hostname = "{{ .Values.wso2.apim.hostname }}"
node_ip = "$env{NODE_IP}"
offset = {{ .Values.wso2.apim.portOffset }}
{{- if .Values.wso2.apim.configurations.gateway }}
server_role = "gateway-worker"
{{- end }}

[transport.https]
properties.port = {{ add 9443 .Values.wso2.apim.portOffset }}

[super_admin]
username = "admin"
password = "$sys{admin.password}"
`
	p, err := Open(tomlPack(t, src))
	require.NoError(t, err)
	host := p.Value("server.hostname")
	assert.Equal(t, "{{ .Values.wso2.apim.hostname }}", host.Raw)
	assert.True(t, host.Externalised)
	assert.Equal(t, 2, host.Pos.Line)
	assert.True(t, p.Value("server.node_ip").Externalised)
	assert.True(t, p.Value("super_admin.password").Externalised)
	assert.False(t, p.Value("super_admin.username").Externalised)
	assert.Equal(t, "gateway-worker", p.Value("server.server_role").Raw)
	assert.Equal(t, 6, p.Value("server.server_role").Pos.Line)
	assert.True(t, p.Value("server.server_role").Externalised, "set inside {{ if }}")
	assert.Contains(t, p.Value("server.server_role").Problem, "{{ if }}")
	assert.True(t, p.Offset.Externalised)
	assert.Equal(t, 4, p.Offset.Pos.Line)
	pt, ok := p.Port("servlet-https")
	require.True(t, ok)
	assert.Equal(t, 9443, pt.Port, "an externalised port keeps the default and is reported")
	assert.Equal(t, 10, pt.Pos.Line)
	warn := strings.Join(p.Warnings, "\n")
	assert.Contains(t, warn, "Helm/Jinja")
	assert.Contains(t, warn, "repository/conf/deployment.toml:6: [server] server_role")
	assert.Contains(t, warn, "repository/conf/deployment.toml:4: [server] offset")
	assert.Contains(t, warn, "repository/conf/deployment.toml:10: transport.https.properties.port")
}

func TestOffset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		toml    string
		props   map[string]string
		want    int
		source  Source
		line    int
		errLine int
		errText string
		warning string
	}{
		{name: "absent", toml: "[server]\nhostname = \"a\"\n", want: 0, source: SourceDefault},
		{name: "integer", toml: "[server]\noffset = 1\n", want: 1, source: SourceFile, line: 2},
		{name: "string", toml: "[server]\nhostname = \"a\"\noffset = \"3\"\n", want: 3, source: SourceFile, line: 3, warning: "is a string"},
		{name: "sysprop wins", toml: "[server]\noffset = 1\n", props: map[string]string{"portOffset": "5"}, want: 5, source: SourceSysProp},
		{name: "not a number", toml: "[server]\nhostname = \"a\"\n\noffset = \"one\"\n", errLine: 4, errText: `[server] offset = "one" is not a whole number`},
		{name: "negative", toml: "[server]\noffset = -1\n", errLine: 2, errText: "between 0 and 65535"},
		{name: "float", toml: "[server]\noffset = 1.5\n", errLine: 2, errText: "not a whole number"},
		{name: "bad sysprop", toml: "[server]\noffset = 1\n", props: map[string]string{"portOffset": "x"}, errText: "-DportOffset=x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := OpenWith(tomlPack(t, tc.toml), Options{SysProps: tc.props})
			if tc.errText != "" {
				var ce *ConfigError
				require.ErrorAs(t, err, &ce)
				assert.Contains(t, err.Error(), tc.errText)
				assert.Equal(t, tc.errLine, ce.Pos.Line)
				return
			}
			require.NoError(t, err)
			n, ok := p.Offset.Int()
			require.True(t, ok)
			assert.Equal(t, tc.want, n)
			assert.Equal(t, tc.source, p.Offset.Source)
			assert.Equal(t, tc.line, p.Offset.Pos.Line)
			https, _ := p.Port("servlet-https")
			assert.Equal(t, 9443+tc.want, https.Port)
			assert.Equal(t, tc.want, https.Offset)
			if tc.warning != "" {
				assert.Contains(t, strings.Join(p.Warnings, "\n"), tc.warning)
			}
		})
	}
}

func TestPortSwitches(t *testing.T) {
	t.Parallel()
	// APIM 4.7: [transport.http] enable = false removes the 9763 connector.
	home := copyFixture(t, "apim-4.7-gateway")
	writeFile(t, home, "repository/conf/deployment.toml", "[server]\nhostname = \"gw.example.com\"\n\n[transport.http]\nenable = false\n\n[transport.passthru_http.listener]\nenable = false\n\n[clustering]\nmembership_scheme = \"wka\"\nlocal_member_port = 4100\n")
	p, err := Open(home)
	require.NoError(t, err)
	http, _ := p.Port("servlet-http")
	assert.False(t, http.Enabled)
	pass, _ := p.Port("passthru-http")
	assert.False(t, pass.Enabled)
	cl, ok := p.Port("clustering")
	require.True(t, ok, "clustering is listed once a membership scheme is set")
	assert.Equal(t, 4100, cl.Port)
	assert.Equal(t, 12, cl.Pos.Line)

	// APIM 4.2's template has no such switch: the connector stays.
	p, err = Open(tomlPack(t, "[transport.http]\nenable = false\n"))
	require.NoError(t, err)
	http, _ = p.Port("servlet-http")
	assert.True(t, http.Enabled)

	// WebSocket ports stop following the offset when inbound offsets are off.
	p, err = Open(tomlPack(t, "[server]\noffset = 4\n\n[synapse_properties]\n'inbound.port.offset.enable' = false\n"))
	require.NoError(t, err)
	ws, _ := p.Port("websocket")
	assert.Equal(t, 9099, ws.Port)
	https, _ := p.Port("servlet-https")
	assert.Equal(t, 9447, https.Port)

	// IS: embedded LDAP off.
	home = copyFixture(t, "is-7.1")
	writeFile(t, home, "repository/conf/deployment.toml", "[embedded_ldap]\nenable = false\n[transport.http]\nenabled = false\n")
	p, err = Open(home)
	require.NoError(t, err)
	ldap, _ := p.Port("embedded-ldap")
	assert.False(t, ldap.Enabled)
	http, _ = p.Port("servlet-http")
	assert.False(t, http.Enabled)
}

func TestConcurrentReads(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"apim-4.2-hardened", "carbon-4.4"} {
		p, err := Open(fixture(name))
		require.NoError(t, err)
		done := make(chan struct{})
		for i := 0; i < 8; i++ {
			go func() {
				defer func() { done <- struct{}{} }()
				for _, k := range []string{"keystore.tls.password", "server.hostname", "carbon.xml:/Server/Ports/Offset", "database.apim_db.url"} {
					_ = p.Value(k)
					_ = p.Has(k)
				}
				_, _ = p.XML("carbon.xml")
				_ = p.Tables("database")
			}()
		}
		for i := 0; i < 8; i++ {
			<-done
		}
	}
}

func TestNilPackIsSafe(t *testing.T) {
	t.Parallel()
	var p *Pack
	assert.Equal(t, SourceUnset, p.Value("server.hostname").Source)
	assert.False(t, p.Has("server.hostname"))
	assert.Nil(t, p.Tables("database"))
	assert.Empty(t, p.ScriptText())
	_, ok := p.Port("servlet-https")
	assert.False(t, ok)
	_, err := p.XML("carbon.xml")
	assert.Error(t, err)
	_, _, err = p.RunningPID()
	assert.Error(t, err)
}
