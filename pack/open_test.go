package pack

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOpenFixtures(t *testing.T) {
	t.Parallel()
	type port struct {
		port    int
		enabled bool
	}
	tests := []struct {
		name                      string
		product                   Product
		code, version, dist, role string
		node                      string
		layout                    Layout
		level                     int
		tool, script, config      string
		offset                    int
		ports                     map[string]port
		absent                    []string // ports that must not be in the table
		values                    map[string]any
	}{
		{
			name: "apim-4.2", product: APIM, code: "wso2am-4.2.0", version: "4.2.0", dist: "all-in-one", role: "default", node: "all-in-one",
			layout: LayoutTOML, level: 12, tool: "u2", script: "api-manager.sh", config: "repository/conf/deployment.toml",
			ports: map[string]port{"servlet-https": {9443, true}, "servlet-http": {9763, true}, "passthru-http": {8280, true}, "passthru-https": {8243, true},
				"jmx-rmi-registry": {9999, true}, "jmx-rmi-server": {11111, true}, "binary-receiver-tcp": {9611, true}, "binary-receiver-ssl": {9711, true},
				"amqp": {5672, true}, "amqp-ssl": {8672, true}, "websocket": {9099, true}, "websocket-secure": {8099, true}},
			absent: []string{"clustering", "embedded-ldap", "kdc"},
			values: map[string]any{"server.hostname": "localhost", "super_admin.password": "admin", "keystore.primary.file_name": "wso2carbon.jks",
				"transport.https.properties.protocols": "+TLSv1,+TLSv1.1,+TLSv1.2", "indexing.enable": true, "apim.cors.allow_origins": "*"},
		},
		{
			name: "apim-4.2-hardened", product: APIM, code: "wso2am-4.2.0", version: "4.2.0", dist: "all-in-one", role: "default", node: "all-in-one",
			layout: LayoutTOML, level: 27, tool: "u2", script: "api-manager.sh", config: "repository/conf/deployment.toml",
			ports: map[string]port{"servlet-https": {9443, true}, "jmx-rmi-registry": {9999, false}, "jmx-rmi-server": {11111, false}},
			values: map[string]any{"server.hostname": "apim.example.com", "super_admin.username": "apimadmin", "keystore.tls.file_name": "apim-prod.jks",
				"transport.https.properties.protocols": "+TLSv1.2,+TLSv1.3", "transport.https.properties.compression": "off", "database.apim_db.type": "mysql"},
		},
		{
			name: "apim-4.7-gateway", product: APIM, code: "wso2am-universal-gw-4.7.0", version: "4.7.0", dist: "gateway", role: "default", node: "gateway",
			layout: LayoutTOML, level: 5, tool: "u2", script: "gateway.sh", config: "repository/conf/deployment.toml",
			ports: map[string]port{"servlet-https": {9443, true}, "servlet-http": {9763, true}, "passthru-https": {8243, true}},
			values: map[string]any{"truststore.file_name": "client-truststore.jks", "database.apim_db.url": "jdbc:h2:./repository/database/WSO2AM_DB;DB_CLOSE_ON_EXIT=FALSE;LOCK_TIMEOUT=60000",
				"transport.http.enable": true},
		},
		{
			name: "is-5.10", product: IS, code: "wso2is-5.10.0", version: "5.10.0", layout: LayoutTOML, level: -1, tool: "u2", script: "wso2server.sh",
			config: "repository/conf/deployment.toml",
			ports:  map[string]port{"servlet-https": {9443, true}, "embedded-ldap": {10389, true}, "jmx-rmi-registry": {9999, false}},
			absent: []string{"passthru-http", "amqp", "kdc"},
			values: map[string]any{"user_store.type": "read_write_ldap_unique_id", "embedded_ldap.enable": true, "monitoring.jmx.rmi_server_start": false},
		},
		{
			name: "is-7.1", product: IS, code: "wso2is-7.1.0", version: "7.1.0", layout: LayoutTOML, level: 8, tool: "u2", script: "wso2server.sh",
			config: "repository/conf/deployment.toml",
			ports:  map[string]port{"servlet-https": {9443, true}, "servlet-http": {9763, true}},
			values: map[string]any{"keystore.primary.type": "PKCS12", "keystore.tls.file_name": "wso2carbon.p12", "user_store.type": "database_unique_id"},
		},
		{
			name: "mi-4.3", product: MI, code: "wso2mi-4.3.0", version: "4.3.0", layout: LayoutTOML, level: 3, tool: "u2", script: "micro-integrator.sh",
			config: "conf/deployment.toml", offset: 10,
			ports: map[string]port{"passthru-http": {8290, true}, "passthru-https": {8253, true}, "internal-http-api": {9201, true}, "internal-https-api": {9164, true},
				"jmx-rmi-registry": {10009, true}},
			absent: []string{"servlet-https", "servlet-http"},
			values: map[string]any{"user_store.type": "read_only_ldap", "internal_apis.file_user_store.enable": true},
		},
		{
			name: "carbon-4.4", product: APIM, code: "wso2am-2.6.0", version: "2.6.0", dist: "all-in-one", role: "default", node: "all-in-one",
			layout: LayoutLegacy, level: 41, tool: "u2", script: "wso2server.sh",
			ports: map[string]port{"servlet-https": {9443, true}, "servlet-http": {9763, true}, "passthru-http": {8280, true}, "passthru-https": {8243, true},
				"jmx-rmi-registry": {9999, true}, "jmx-rmi-server": {11111, true}},
			absent: []string{"clustering", "embedded-ldap"},
			values: map[string]any{"super_admin.username": "admin", "database.apim_db.type": "h2", "transport.https.properties.protocols": "TLSv1,TLSv1.1,TLSv1.2",
				"admin_service.wsdl.enable": false, "monitoring.jmx.rmi_server_start": "true"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := Open(fixture(tc.name))
			require.NoError(t, err)
			assert.Empty(t, p.Warnings)
			assert.Equal(t, tc.product, p.Product)
			assert.Equal(t, tc.code, p.ProductCode)
			assert.Equal(t, tc.version, p.Version)
			assert.Equal(t, tc.dist, p.Distribution)
			assert.Equal(t, tc.role, p.Role)
			assert.Equal(t, tc.node, p.Node)
			assert.Equal(t, tc.layout, p.Layout)
			assert.Equal(t, tc.level, p.UpdateLevel)
			assert.True(t, p.UpdateLevelKnown)
			assert.Equal(t, tc.tool, p.UpdateTool)
			assert.Equal(t, filepath.Join(p.Home, "bin", tc.script), p.Script)
			assert.Contains(t, p.ScriptText(), "bootstrap.Bootstrap", "the stock script's text")
			assert.Equal(t, filepath.Join(p.Home, "repository", "logs", "wso2carbon.log"), p.LogFile)
			assert.Equal(t, filepath.Join(p.Home, "wso2carbon.pid"), p.PIDFile)
			if tc.config != "" {
				assert.Equal(t, filepath.Join(p.Home, filepath.FromSlash(tc.config)), p.ConfigFile)
			} else {
				assert.Empty(t, p.ConfigFile)
			}
			off, ok := p.Offset.Int()
			require.True(t, ok)
			assert.Equal(t, tc.offset, off)
			for name, want := range tc.ports {
				got, ok := p.Port(name)
				if assert.True(t, ok, "port %s", name) {
					assert.Equal(t, want.port, got.Port, "port %s", name)
					assert.Equal(t, want.enabled, got.Enabled, "port %s enabled", name)
					assert.Equal(t, got.Base+got.Offset, got.Port, "port %s", name)
				}
			}
			for _, name := range tc.absent {
				_, ok := p.Port(name)
				assert.False(t, ok, "port %s must not be listed", name)
			}
			for key, want := range tc.values {
				v := p.Value(key)
				assert.True(t, v.Set(), "%s is set", key)
				assert.Equal(t, want, v.Raw, "%s", key)
				if v.Source == SourceFile {
					assert.NotZero(t, v.Pos.Line, "%s has a line", key)
				}
			}
		})
	}
}

func TestOpenNotAPack(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "README.txt", "not a pack\n")
	for _, home := range []string{dir, filepath.Join(dir, "missing"), filepath.Join(dir, "README.txt")} {
		_, err := Open(home)
		var np *NotAPackError
		require.ErrorAs(t, err, &np, home)
		assert.Contains(t, np.LookedFor, "repository/conf/deployment.toml")
		assert.Contains(t, np.LookedFor, "bin/wso2server.sh")
		assert.Contains(t, err.Error(), "is not a WSO2 product home")
	}
}

func TestOpenDetectsFromScriptsAndLayout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                string
		files               map[string]string
		product             Product
		dist, node, script  string
		layout              Layout
		version             string
		wantConfigErrorFile string
	}{
		{name: "control plane by script", files: map[string]string{"bin/api-cp.sh": "#!/bin/sh\n", "bin/version.txt": "WSO2 API Control Plane v4.7.0\n",
			"repository/conf/deployment.toml": "[server]\nhostname = \"cp.example.com\"\n"},
			product: APIM, dist: "control-plane", node: "control-plane", script: "api-cp.sh", layout: LayoutTOML, version: "4.7.0"},
		{name: "traffic manager by script", files: map[string]string{"bin/traffic-manager.sh": "#!/bin/sh\n",
			"repository/conf/deployment.toml": "[server]\nhostname = \"tm\"\n"},
			product: APIM, dist: "traffic-manager", node: "traffic-manager", script: "traffic-manager.sh", layout: LayoutTOML},
		{name: "gateway-worker role", files: map[string]string{"bin/api-manager.sh": "#!/bin/sh\n", "updates/product.txt": "wso2am-4.2.0",
			"repository/conf/deployment.toml": "[server]\nserver_role = \"gateway-worker\"\n"},
			product: APIM, dist: "all-in-one", node: "gateway", script: "api-manager.sh", layout: LayoutTOML, version: "4.2.0"},
		{name: "mi by script", files: map[string]string{"bin/micro-integrator.sh": "#!/bin/sh\n", "conf/deployment.toml": "[server]\nhostname = \"localhost\"\n"},
			product: MI, script: "micro-integrator.sh", layout: LayoutTOML},
		{name: "kernel 4.4 xml", files: map[string]string{"bin/wso2server.sh": "#!/bin/sh\n", "repository/conf/carbon.xml": "<Server><Ports><Offset>3</Offset></Ports></Server>\n"},
			product: Carbon, script: "wso2server.sh", layout: LayoutLegacy},
		{name: "api-manager.sh without deployment.toml", files: map[string]string{"bin/api-manager.sh": "#!/bin/sh\n", "updates/product.txt": "wso2am-4.2.0\n"},
			wantConfigErrorFile: "repository/conf/deployment.toml"},
		{name: "apim 2.6 without carbon.xml", files: map[string]string{"bin/wso2server.sh": "#!/bin/sh\n", "updates/product.txt": "wso2am-2.6.0\n"},
			wantConfigErrorFile: "repository/conf/carbon.xml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			home := t.TempDir()
			for rel, content := range tc.files {
				writeFile(t, home, rel, content)
			}
			p, err := Open(home)
			if tc.wantConfigErrorFile != "" {
				var ce *ConfigError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, tc.wantConfigErrorFile, ce.Pos.File)
				assert.ErrorIs(t, err, fs.ErrNotExist)
				assert.Contains(t, err.Error(), "missing")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.product, p.Product)
			assert.Equal(t, tc.dist, p.Distribution)
			assert.Equal(t, tc.node, p.Node)
			assert.Equal(t, tc.layout, p.Layout)
			assert.Equal(t, tc.version, p.Version)
			assert.Equal(t, filepath.Join(p.Home, "bin", tc.script), p.Script)
			assert.False(t, p.UpdateLevelKnown)
			assert.Equal(t, -1, p.UpdateLevel)
		})
	}
}

func TestOpenUpdateState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		files   map[string]string
		level   int
		known   bool
		tool    string
		warning string
	}{
		{name: "number", files: map[string]string{"updates/config.json": `{"update-level": 12}`}, level: 12, known: true, tool: "u2"},
		{name: "string", files: map[string]string{"updates/config.json": `{"update-level": "7"}`}, level: 7, known: true, tool: "u2"},
		{name: "never updated", files: map[string]string{"updates/config.json": `{"update-level": -1}`}, level: -1, known: true, tool: "u2"},
		{name: "no level key", files: map[string]string{"updates/config.json": `{"channel": "full"}`}, level: -1, tool: "u2"},
		{name: "broken json", files: map[string]string{"updates/config.json": `{"update-level": `}, level: -1, tool: "u2", warning: "not valid JSON"},
		{name: "not a number", files: map[string]string{"updates/config.json": `{"update-level": "twelve"}`}, level: -1, tool: "u2", warning: "not a whole number"},
		{name: "in-place tool", files: map[string]string{"updates/config.yaml": "update-level: 3\n"}, level: -1, tool: "in-place"},
		{name: "wum", files: map[string]string{"updates/wum/info": "x"}, level: -1, tool: "wum"},
		{name: "bad product.txt", files: map[string]string{"updates/product.txt": "API Manager 4.2"}, level: -1, warning: "updates/product.txt:1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			home := tomlPack(t, "[server]\nhostname = \"localhost\"\n")
			for rel, content := range tc.files {
				writeFile(t, home, rel, content)
			}
			p, err := Open(home)
			require.NoError(t, err)
			assert.Equal(t, tc.level, p.UpdateLevel)
			assert.Equal(t, tc.known, p.UpdateLevelKnown)
			assert.Equal(t, tc.tool, p.UpdateTool)
			if tc.warning != "" {
				assert.Contains(t, strings.Join(p.Warnings, "\n"), tc.warning)
			}
		})
	}
}

func TestOpenInvalidTOML(t *testing.T) {
	t.Parallel()
	home := tomlPack(t, "[server]\nhostname = \"localhost\"\n\n[database.apim_db]\nurl = \"jdbc:h2:./x\nusername = \"a\"\n")
	_, err := Open(home)
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "repository/conf/deployment.toml", ce.Pos.File)
	assert.Equal(t, 5, ce.Pos.Line)
	assert.Contains(t, err.Error(), "repository/conf/deployment.toml:5: invalid TOML")
}

func TestOpenUnreadableConfig(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root reads files regardless of their mode")
	}
	home := tomlPack(t, "[server]\n")
	require.NoError(t, os.Chmod(filepath.Join(home, "repository", "conf", "deployment.toml"), 0))
	_, err := Open(home)
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.True(t, errors.Is(err, fs.ErrPermission))
}

func TestOpenDoesNotWrite(t *testing.T) {
	t.Parallel()
	home := copyFixture(t, "apim-4.2")
	before := treeState(t, home)
	p, err := OpenWith(home, Options{SysProps: map[string]string{"portOffset": "3"}})
	require.NoError(t, err)
	_, _ = p.XML("repository/conf/deployment.toml")
	_, _, _ = p.RunningPID()
	assert.Equal(t, before, treeState(t, home))
}

func treeState(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out[path] = info.Mode().String() + info.ModTime().String()
		if !d.IsDir() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out[path] += string(b)
		}
		return nil
	}))
	return out
}

func TestOpenRefusesAbsurdNesting(t *testing.T) {
	t.Parallel()
	for name, src := range map[string]string{
		"dotted key":    "[server]\nhostname = \"a\"\n" + strings.Repeat("a.", 20000) + "b = 1\n",
		"nested arrays": "[server]\nx = " + strings.Repeat("[", 50000) + strings.Repeat("]", 50000) + "\n",
		"inline tables": "[server]\nx = " + strings.Repeat("{b=", 5000) + "1" + strings.Repeat("}", 5000) + "\n",
		"table header":  "[" + strings.Repeat("a.", 100) + "b]\n",
	} {
		_, err := Open(tomlPack(t, src))
		var ce *ConfigError
		require.ErrorAs(t, err, &ce, name)
		assert.Contains(t, err.Error(), "levels deep", name)
		assert.NotZero(t, ce.Pos.Line, name)
	}
}
