package validate

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/pack"
)

const netTOML = "repository/conf/deployment.toml"

// netQpid is repository/conf/advanced/qpid-config.xml reduced to the
// heartbeat block the WSO2 production checklist talks about.
func netQpid(delay string) string {
	return `<?xml version="1.0" encoding="ISO-8859-1"?>
<broker>
    <prefix>${QPID_HOME}</prefix>
    <connector>
        <port>5672</port>
    </connector>
    <heartbeat>
        <delay>` + delay + `</delay>
        <timeoutFactor>2.0</timeoutFactor>
    </heartbeat>
</broker>
`
}

// netOpenOther opens a second copy of a fixture pack for the cross-pack
// checks (--home a --home b).
func netOpenOther(t *testing.T, name string, sys map[string]string) *pack.Pack {
	t.Helper()
	home := copyPack(t, name)
	q, err := pack.OpenWith(home, pack.Options{SysProps: sys})
	require.NoError(t, err)
	return q
}

func init() {
	addFixtures(
		// NET-010
		fixture{ID: "CG-NET-010", Name: "stock-apim", Want: Pass},
		fixture{ID: "CG-NET-010", Name: "offset-pushes-past-65535", Want: Fail, SysProps: map[string]string{"portOffset": "60000"}},
		fixture{ID: "CG-NET-010", Name: "offset-externalised", Want: Unknown,
			Files: map[string]string{netTOML: "[server]\nhostname = \"apim.example.com\"\noffset = \"$env{PORT_OFFSET}\"\n"}},
		fixture{ID: "CG-NET-010", Name: "legacy-carbon-4.4", Pack: "carbon-4.4", Want: Pass},

		// NET-020
		fixture{ID: "CG-NET-020", Name: "stock-apim", Want: Pass},
		fixture{ID: "CG-NET-020", Name: "https-on-9763", Want: Fail,
			Files: map[string]string{netTOML: "[server]\nhostname = \"apim.example.com\"\n\n[transport.https.properties]\nport = 9763\n"}},
		fixture{ID: "CG-NET-020", Name: "mi-stock", Pack: "mi-4.3", Want: Pass},

		// NET-030
		fixture{ID: "CG-NET-030", Name: "nothing-listening", Want: Pass},
		fixture{ID: "CG-NET-030", Name: "9443-taken", Want: Fail,
			Host: func(h *Host) {
				h.Listening = []ListeningPort{{Addr: "0.0.0.0", Port: 9443}, {Addr: "127.0.0.1", Port: 22}}
			}},
		fixture{ID: "CG-NET-030", Name: "shifted-ports-free", Want: Pass, SysProps: map[string]string{"portOffset": "1"},
			Host: func(h *Host) { h.Listening = []ListeningPort{{Addr: "0.0.0.0", Port: 9443}} }},
		fixture{ID: "CG-NET-030", Name: "own-server-running", Want: Skipped,
			Host:  func(h *Host) { h.Listening = []ListeningPort{{Addr: "0.0.0.0", Port: 9443}} },
			Facts: func(_ *testing.T, f *Facts) { f.Host.ServerRunning = true }},
		fixture{ID: "CG-NET-030", Name: "proc-net-unreadable", Want: Unknown,
			Host: func(h *Host) { h.Errors = map[string]string{"Listening": "open /proc/net/tcp: permission denied"} }},

		// NET-040
		fixture{ID: "CG-NET-040", Name: "stock-apim", Want: Pass},
		fixture{ID: "CG-NET-040", Name: "https-on-443-non-root", Want: Fail,
			Files: map[string]string{netTOML: "[server]\nhostname = \"apim.example.com\"\n\n[transport.https.properties]\nport = 443\n"}},
		fixture{ID: "CG-NET-040", Name: "https-on-443-as-root", Want: Pass,
			Files: map[string]string{netTOML: "[server]\nhostname = \"apim.example.com\"\n\n[transport.https.properties]\nport = 443\n"},
			Facts: func(_ *testing.T, f *Facts) { f.Start.RunAsUser, f.Start.RunAsUID = "root", 0 }},

		// NET-050
		fixture{ID: "CG-NET-050", Name: "stock-apim-no-offset", Want: Pass},
		fixture{ID: "CG-NET-050", Name: "offset-with-stock-ws-endpoint", Want: Fail,
			Files: map[string]string{netTOML: netEnvTOML(2, "ws://localhost:9099", "wss://localhost:8099", `["tcp://localhost:5672"]`)}},
		fixture{ID: "CG-NET-050", Name: "offset-with-throttle-endpoints-unshifted", Want: Fail,
			Files: map[string]string{netTOML: netEnvTOML(2, "ws://localhost:9101", "wss://localhost:8101", `["tcp://localhost:5672"]`)}},
		fixture{ID: "CG-NET-050", Name: "offset-with-shifted-urls", Want: Pass,
			Files: map[string]string{netTOML: netEnvTOML(2, "ws://localhost:9101", "wss://localhost:8101", `["tcp://localhost:5674"]`)}},
		fixture{ID: "CG-NET-050", Name: "offset-with-remote-tm", Want: Pass,
			Files: map[string]string{netTOML: netEnvTOML(2, "ws://localhost:9101", "wss://localhost:8101", `["tcp://tm.example.com:5672"]`)}},
		fixture{ID: "CG-NET-050", Name: "offset-externalised", Want: Unknown,
			Files: map[string]string{netTOML: netEnvTOMLRaw(`"$env{OFFSET}"`, "ws://localhost:9099", "wss://localhost:8099", `["tcp://localhost:5672"]`)}},
		fixture{ID: "CG-NET-050", Name: "legacy", Pack: "carbon-4.4", Want: NotApplicable},

		// NET-060
		fixture{ID: "CG-NET-060", Name: "stock-apim", Want: Pass},
		fixture{ID: "CG-NET-060", Name: "offset-and-port-9443", Want: Pass,
			Files: map[string]string{netTOML: "[server]\nhostname = \"apim.example.com\"\noffset = 2\n\n[transport.https]\nproperties.port = 9443\n"}},
		fixture{ID: "CG-NET-060", Name: "helm-gateway-double-shift", Want: Fail,
			Files: map[string]string{netTOML: "[server]\nhostname = \"apim.example.com\"\noffset = 2\n\n[transport.https]\nproperties.port = 9445\n"}},
		fixture{ID: "CG-NET-060", Name: "helm-template-unrendered", Want: Unknown,
			Files: map[string]string{netTOML: "[server]\nhostname = \"apim.example.com\"\noffset = {{ .Values.wso2.apim.portOffset }}\n\n" +
				"[transport.https]\nproperties.port = {{ add 9443 .Values.wso2.apim.portOffset }}\n"}},

		// NET-070
		fixture{ID: "CG-NET-070", Name: "stock-apim-lists-ports", Want: Fail},
		fixture{ID: "CG-NET-070", Name: "no-listener", Want: Pass,
			Facts: func(_ *testing.T, f *Facts) { f.Pack.Ports = nil }},

		// NET-080
		fixture{ID: "CG-NET-080", Name: "single-home", Want: NotApplicable},
		fixture{ID: "CG-NET-080", Name: "two-packs-same-offset", Want: Fail,
			Facts: func(t *testing.T, f *Facts) { f.Others = []*pack.Pack{netOpenOther(t, "apim-4.2", nil)} }},
		fixture{ID: "CG-NET-080", Name: "two-packs-distinct-offsets", Want: Pass,
			Facts: func(t *testing.T, f *Facts) {
				f.Others = []*pack.Pack{netOpenOther(t, "apim-4.2", map[string]string{"portOffset": "1"})}
			}},
		fixture{ID: "CG-NET-080", Name: "apim-and-is-default-offsets", Want: Fail,
			Facts: func(t *testing.T, f *Facts) { f.Others = []*pack.Pack{netOpenOther(t, "is-5.10", nil)} }},

		// NET-090
		fixture{ID: "CG-NET-090", Name: "stock-apim-default-true", Want: Fail},
		fixture{ID: "CG-NET-090", Name: "hardened-off", Pack: "apim-4.2-hardened", Want: Pass},
		fixture{ID: "CG-NET-090", Name: "is-default-off", Pack: "is-5.10", Want: Pass},
		fixture{ID: "CG-NET-090", Name: "mi-default-on", Pack: "mi-4.3", Want: Fail},
		fixture{ID: "CG-NET-090", Name: "legacy-jmx-xml-true", Pack: "carbon-4.4", Want: Fail},
		fixture{ID: "CG-NET-090", Name: "externalised", Want: Unknown,
			Files: map[string]string{netTOML: "[server]\nhostname = \"apim.example.com\"\n\n[monitoring.jmx]\nrmi_server_start = \"$env{JMX_ON}\"\n"}},

		// NET-091
		fixture{ID: "CG-NET-091", Name: "stock-localhost", Want: Pass},
		fixture{ID: "CG-NET-091", Name: "exported-on-ip", Want: Fail,
			Files: map[string]string{netTOML: "[server]\nhostname = \"apim.example.com\"\n\n[monitoring.jmx]\nrmi_hostname = \"10.0.0.10\"\n"}},
		fixture{ID: "CG-NET-091", Name: "exported-but-jmx-off", Want: Pass,
			Files: map[string]string{netTOML: "[server]\nhostname = \"apim.example.com\"\n\n[monitoring.jmx]\nrmi_server_start = false\nrmi_hostname = \"10.0.0.10\"\n"}},
		fixture{ID: "CG-NET-091", Name: "legacy-localhost", Pack: "carbon-4.4", Want: Pass},

		// NET-100
		fixture{ID: "CG-NET-100", Name: "is-not-applicable", Pack: "is-7.1", Want: NotApplicable},
		// 4.x: deployment.toml decides; the product default is 0.
		fixture{ID: "CG-NET-100", Name: "toml-default-0", Want: Fail},
		fixture{ID: "CG-NET-100", Name: "toml-delay-60", Want: Pass, Files: map[string]string{apimTOML: "[server]\nhostname = \"apim.example.com\"\n[qpid.heartbeat]\ndelay = 60\n"}},
		// A rendered qpid-config.xml saying 60 does not count: it is
		// regenerated from deployment.toml at every start.
		fixture{ID: "CG-NET-100", Name: "toml-rendered-xml-ignored", Want: Fail,
			Files: map[string]string{"repository/conf/advanced/qpid-config.xml": netQpid("60")}},
		fixture{ID: "CG-NET-100", Name: "traffic-manager-default-0", Pack: "apim-4.7-traffic-manager", Want: Fail},
		fixture{ID: "CG-NET-100", Name: "gateway-runs-no-broker", Pack: "apim-4.7-gateway", Want: NotApplicable},
		// 3.2 defaults name no heartbeat key: the rendered file is read.
		fixture{ID: "CG-NET-100", Name: "apim32-rendered-missing", Pack: "apim-3.2-traffic-manager", SysProps: map[string]string{"profile": "traffic-manager"}, Want: Unknown},
		// Carbon 4.4: the hand-edited qpid-config.xml.
		fixture{ID: "CG-NET-100", Name: "legacy-qpid-config-missing", Pack: "carbon-4.4", Want: Unknown},
		fixture{ID: "CG-NET-100", Name: "legacy-heartbeat-0", Pack: "carbon-4.4", Want: Fail,
			Files: map[string]string{"repository/conf/advanced/qpid-config.xml": netQpid("0")}},
		fixture{ID: "CG-NET-100", Name: "legacy-heartbeat-60", Pack: "carbon-4.4", Want: Pass,
			Files: map[string]string{"repository/conf/advanced/qpid-config.xml": netQpid("60")}},

		// NET-110
		fixture{ID: "CG-NET-110", Name: "no-proxy", Want: Pass},
		fixture{ID: "CG-NET-110", Name: "env-proxy-only", Want: Fail,
			Host: func(h *Host) { h.Env["http_proxy"] = "http://proxy.example.com:3128" }},
		fixture{ID: "CG-NET-110", Name: "env-and-java-opts", Want: Pass,
			Host: func(h *Host) {
				h.Env["HTTPS_PROXY"] = "http://user:secret@proxy.example.com:3128"
				h.Env["JAVA_OPTS"] = "-Dhttps.proxyHost=proxy.example.com -Dhttps.proxyPort=3128"
			}},
		fixture{ID: "CG-NET-110", Name: "https-proxy-but-only-http-props", Want: Fail,
			Host: func(h *Host) {
				h.Env["https_proxy"] = "http://proxy.example.com:3128"
				h.Env["JAVA_OPTS"] = "-Dhttp.proxyHost=proxy.example.com -Dhttp.proxyPort=3128"
			}},
	)
}

// netEnvTOML is a small APIM deployment.toml with an offset, one gateway
// environment and a throttling block.
func netEnvTOML(offset int, ws, wss, decision string) string {
	return netEnvTOMLRaw(strconv.Itoa(offset), ws, wss, decision)
}

func netEnvTOMLRaw(offset, ws, wss, decision string) string {
	return `[server]
hostname = "apim.example.com"
offset = ` + offset + `

[[apim.gateway.environment]]
name = "Default"
type = "hybrid"
service_url = "https://localhost:${mgt.transport.https.port}/services/"
ws_endpoint = "` + ws + `"
wss_endpoint = "` + wss + `"
http_endpoint = "http://localhost:${http.nio.port}"
https_endpoint = "https://localhost:${https.nio.port}"

[apim.throttling]
throttle_decision_endpoints = ` + decision + `
`
}

func TestFirewallPorts(t *testing.T) {
	t.Parallel()
	home := copyPack(t, "apim-4.2")
	p, err := pack.OpenWith(home, pack.Options{SysProps: map[string]string{"portOffset": "3"}})
	require.NoError(t, err)
	got := FirewallPorts(p)
	require.NotEmpty(t, got)
	ports := map[int]string{}
	for i, pt := range got {
		assert.True(t, pt.Enabled, "%s is listed but disabled", pt.Name)
		if i > 0 {
			assert.Less(t, got[i-1].Port, pt.Port, "sorted by port, one entry per port")
		}
		ports[pt.Port] = pt.Name
	}
	// The checklist's list, moved by the offset.
	for _, want := range []int{9443 + 3, 9763 + 3, 9999 + 3, 8280 + 3, 8243 + 3} {
		assert.Contains(t, ports, want)
	}
	for _, stock := range []int{9443, 9763, 9999, 8280, 8243} {
		assert.NotContains(t, ports, stock, "unshifted port listed")
	}
	// Thrift receivers are off by default and must not be listed.
	assert.NotContains(t, ports, 7611+3)

	hardened, err := pack.Open(copyPack(t, "apim-4.2-hardened"))
	require.NoError(t, err)
	for _, pt := range FirewallPorts(hardened) {
		assert.NotEqual(t, "jmx-rmi-registry", pt.Name, "JMX is off in the hardened pack")
	}
	assert.Nil(t, FirewallPorts(nil))
}

func TestNetURLPort(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		host string
		port int
		ok   bool
	}{
		{"tcp://localhost:5672", "localhost", 5672, true},
		{"https://127.0.0.1:9443/services/", "127.0.0.1", 9443, true},
		{"ws://[::1]:9099", "::1", 9099, true},
		{"https://localhost:${mgt.transport.https.port}/services/", "", 0, false},
		{"https://apim.example.com/services/", "", 0, false},
		{"not a url", "", 0, false},
	} {
		h, p, ok := netURLPort(tc.in)
		assert.Equal(t, tc.ok, ok, tc.in)
		assert.Equal(t, tc.host, h, tc.in)
		assert.Equal(t, tc.port, p, tc.in)
	}
	assert.True(t, netLoopback("LOCALHOST"))
	assert.True(t, netLoopback("127.0.0.2"))
	assert.False(t, netLoopback("0.0.0.0"), "the wildcard is not a URL to this node")
	assert.False(t, netLoopback("apim.example.com"))
}

func TestNetUnshiftedURLNamesTheListener(t *testing.T) {
	t.Parallel()
	f := fixtureFacts(t, fixture{Files: map[string]string{netTOML: netEnvTOML(2, "ws://localhost:9099", "wss://localhost:8101", `["tcp://localhost:5674"]`)}})
	rs := checkUnshiftedURLs(f)
	var fails []Result
	for _, r := range rs {
		if r.Status == Fail {
			fails = append(fails, r)
		}
	}
	require.Len(t, fails, 1, describeResults(rs))
	assert.Equal(t, "apim.gateway.environment.0.ws_endpoint", fails[0].Key)
	assert.Contains(t, fails[0].Message, "9101")
	assert.Equal(t, netTOML, fails[0].Pos.File)
	assert.NotZero(t, fails[0].Pos.Line)
}

func TestNetProxyMasksCredentials(t *testing.T) {
	t.Parallel()
	f := fixtureFacts(t, fixture{Host: func(h *Host) { h.Env["https_proxy"] = "http://alice:s3cret@proxy.example.com:3128" }})
	for _, r := range checkProxyProps(f) {
		assert.NotContains(t, r.Value, "s3cret")
		assert.NotContains(t, r.Message, "s3cret")
	}
}
