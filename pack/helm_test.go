package pack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A real Helm-templated deployment.toml (kubernetes-apim 3.2.x, Publisher):
// {{ }} in values, template calls with quotes inside quoted strings, and an
// {{ if }}/{{ else }} that defines [database.local] in both branches.
func TestHelmTemplatedPublisher(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("testdata", "helm", "am-publisher-deployment.toml"))
	require.NoError(t, err)
	home := t.TempDir()
	writeFile(t, home, "updates/product.txt", "wso2am-3.2.0\n")
	writeFile(t, home, "repository/conf/deployment.toml", string(b))
	p, err := Open(home)
	require.NoError(t, err)
	assert.Equal(t, "api-publisher", p.Role)
	assert.Equal(t, "publisher", p.Node)

	host := p.Value("server.hostname")
	assert.Equal(t, "{{ .Values.wso2.deployment.am.publisher.ingress.hostname }}", host.Raw)
	assert.True(t, host.Externalised)
	assert.True(t, p.Value("server.node_ip").Externalised)

	db := p.Value("database.apim_db.url")
	assert.False(t, db.Externalised)
	assert.True(t, strings.HasPrefix(db.String(), "jdbc:mysql://wso2am-mysql-db-service:3306/WSO2AM_DB?useSSL=false&amp;"))

	// The first branch is read; its keys are flagged as not evaluable.
	local := p.Value("database.local.url")
	assert.Equal(t, "jdbc:h2:/home/wso2carbon/solr/database/WSO2CARBON_DB;DB_CLOSE_ON_EXIT=FALSE", local.Raw)
	assert.True(t, local.Externalised)
	assert.Contains(t, local.Problem, "{{ if }}")
	assert.True(t, p.Value("indexing.location").Externalised)

	// A template call with quotes inside a quoted string survives intact.
	gw := p.Value("apim.gateway.environment.0.service_url")
	assert.Contains(t, gw.String(), `{{ template "am-pattern-3.resource.prefix" . }}-am-gateway-service`)
	assert.True(t, gw.Externalised)
	assert.Equal(t, []string{"${mgt.transport.https.port}", "${carbon.context}"}, gw.CarbonVars)

	https, ok := p.Port("servlet-https")
	require.True(t, ok)
	assert.Equal(t, 9443, https.Port)
	assert.Equal(t, int64(443), p.Value("transport.https.properties.proxyPort").Raw)
}

// A template whose {{ }} break the TOML around them was never rendered:
// the error says so instead of predicting a Carbon start failure.
func TestUnrenderedTemplateSaysSo(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	writeFile(t, home, "updates/product.txt", "wso2am-4.2.0\n")
	writeFile(t, home, "repository/conf/deployment.toml", "[server]\nhostname = \"gw\"\n{{ if .Values.offset }}offset = {{ .Values.offset }}{{ end }}\n")
	_, err := Open(home)
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 3, ce.Pos.Line)
	assert.Contains(t, ce.What, "looks like an unrendered template")
	assert.NotContains(t, ce.What, "Carbon would stop")

	// Plain broken TOML keeps the start-failure message.
	writeFile(t, home, "repository/conf/deployment.toml", "[server]\nhostname = \n")
	_, err = Open(home)
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, ce.What, "Carbon would stop at start")
}
