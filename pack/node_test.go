package pack

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every distributed-deployment fixture pack: the node each source makes of
// it, which source decided, and the listeners the role opens and does not.
func TestNodeOfFixturePacks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pack    string
		profile string
		node    string
		source  string
		open    []string
		closed  []string
	}{
		{pack: "apim-4.2", node: NodeAllInOne, source: NodeFromServerRole,
			open: []string{"passthru-https", "amqp-ssl", "binary-receiver-ssl", "websocket-secure", "websub-https", "websub-http"}},
		{pack: "apim-4.7-gateway", node: NodeGateway, source: NodeFromDistribution,
			open:   []string{"servlet-https", "passthru-http", "passthru-https", "websocket", "websocket-secure", "websub-http", "websub-https"},
			closed: []string{"amqp", "amqp-ssl", "binary-receiver-tcp", "binary-receiver-ssl"}},
		{pack: "apim-4.7-traffic-manager", node: NodeTrafficManager, source: NodeFromDistribution,
			open:   []string{"servlet-https", "amqp", "amqp-ssl", "binary-receiver-tcp", "binary-receiver-ssl"},
			closed: []string{"passthru-http", "passthru-https", "websocket", "websocket-secure", "websub-http", "websub-https"}},
		{pack: "apim-4.7-control-plane", node: NodeControlPlane, source: NodeFromDistribution,
			open:   []string{"servlet-https", "amqp", "amqp-ssl"},
			closed: []string{"websocket", "websocket-secure", "websub-http", "websub-https"}},
		{pack: "apim-4.2-key-manager", node: NodeKeyManager, source: NodeFromOptimisation,
			open:   []string{"servlet-https"},
			closed: []string{"websocket", "websocket-secure", "websub-https"}},
		{pack: "apim-4.2-key-manager", profile: "api-key-manager-deprecated", node: NodeKeyManager, source: NodeFromProfile},
		{pack: "apim-3.2-gateway", profile: "gateway-worker", node: NodeGateway, source: NodeFromProfile,
			open: []string{"passthru-https", "websocket-secure"}, closed: []string{"amqp-ssl", "binary-receiver-ssl"}},
		{pack: "apim-3.2-gateway", node: NodeGateway, source: NodeFromServerRole},
		{pack: "apim-3.2-traffic-manager", profile: "traffic-manager", node: NodeTrafficManager, source: NodeFromProfile,
			open: []string{"amqp-ssl", "binary-receiver-ssl"}, closed: []string{"passthru-http", "passthru-https", "websocket", "websocket-secure"}},
		{pack: "apim-3.2-traffic-manager", profile: "gateway-worker", node: NodeUnknown},
		{pack: "apim-2.6-gateway", profile: "gateway-worker", node: NodeGateway, source: NodeFromProfile,
			open: []string{"passthru-http", "passthru-https", "websocket-secure"}, closed: []string{"amqp", "binary-receiver-ssl"}},
		{pack: "apim-2.6-gateway", node: NodeGateway, source: NodeFromWebapps},
		{pack: "apim-2.6-traffic-manager", profile: "traffic-manager", node: NodeTrafficManager, source: NodeFromProfile,
			open: []string{"servlet-http", "servlet-https", "amqp-ssl"}, closed: []string{"websocket", "websocket-secure"}},
		// Without -Dprofile: the empty webapps (a TM or a stripped 2.6
		// gateway) and the servlet-transport receivers (a TM or a key
		// manager) leave only the Traffic Manager.
		{pack: "apim-2.6-traffic-manager", node: NodeTrafficManager, source: NodeFromWebapps},
		{pack: "carbon-4.4", node: NodeAllInOne, source: NodeFromDefault},
	}
	for _, tc := range tests {
		t.Run(tc.pack+"/"+tc.profile, func(t *testing.T) {
			t.Parallel()
			o := Options{}
			if tc.profile != "" {
				o.SysProps = map[string]string{"profile": tc.profile}
			}
			p, err := OpenWith(fixture(tc.pack), o)
			require.NoError(t, err)
			assert.Equal(t, tc.node, p.Node, "evidence: %+v; conflict: %s", p.NodeEvidence, p.NodeConflict)
			assert.Equal(t, tc.source, p.NodeSource)
			if tc.node == NodeUnknown {
				assert.NotEmpty(t, p.NodeConflict)
			}
			for _, name := range tc.open {
				pt, ok := p.Port(name)
				if assert.True(t, ok, "%s should be in the port table", name) {
					assert.Empty(t, pt.Unsure, "%s", name)
				}
			}
			for _, name := range tc.closed {
				_, ok := p.Port(name)
				assert.False(t, ok, "%s is not opened by a %s node", name, tc.node)
				found := false
				for _, c := range p.Closed {
					found = found || c.Name == name
				}
				assert.True(t, found, "%s should be listed as closed", name)
			}
			// No two listeners of one node on one port (the 2.6 Traffic
			// Manager's servlet receivers are Tomcat's connectors).
			seen := map[int]string{}
			for _, pt := range p.Ports {
				if pt.Enabled {
					assert.Empty(t, seen[pt.Port], "port %d used by %s and %s", pt.Port, seen[pt.Port], pt.Name)
					seen[pt.Port] = pt.Name
				}
			}
		})
	}
}
