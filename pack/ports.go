package pack

import (
	"fmt"
	"strconv"
	"strings"
)

// portDef describes one listener of a product: where its port is set, its
// default, and the switch that turns it off.
type portDef struct {
	name    string
	service string
	key     string // configuration key of the port
	base    int    // documented default, used when the key has no value
	plain   bool
	enable  string // key of the on/off switch; "" = always on
	enDef   bool   // the switch's value when absent
	follow  string // key that decides whether the offset applies; "" = always
	// optional listeners exist only in releases whose defaults name their
	// key (WebSub arrived with APIM 4.0; 3.2 has no such port).
	optional bool
	onlyIf   func(p *Pack) bool
}

// The listeners of the TOML products (facts: wso2-config §2). Every one
// moves with the offset; WebSocket/WebSub inbound ports only while
// synapse_properties.'inbound.port.offset.enable' is true (APIM default).
var (
	servletPorts = []portDef{
		{name: "servlet-http", service: "Tomcat HTTP (management console, portals, REST APIs; /services/Version)", key: "transport.http.properties.port", base: 9763, plain: true},
		{name: "servlet-https", service: "Tomcat HTTPS (management console, portals, REST APIs, admin services)", key: "transport.https.properties.port", base: 9443},
	}
	jmxPorts = []portDef{
		{name: "jmx-rmi-registry", service: "JMX RMI registry (remote monitoring)", key: "monitoring.jmx.rmi_registry_port", base: 9999, plain: true, enable: "monitoring.jmx.rmi_server_start", enDef: true},
		{name: "jmx-rmi-server", service: "JMX RMI server (remote monitoring)", key: "monitoring.jmx.rmi_server_port", base: 11111, plain: true, enable: "monitoring.jmx.rmi_server_start", enDef: true},
	}
	clusterPort = portDef{name: "clustering", service: "Hazelcast clustering (membership)", key: "clustering.local_member_port", base: 4000, plain: true,
		onlyIf: func(p *Pack) bool { return p.Value("clustering.membership_scheme").Set() }}
	apimPorts = []portDef{
		{name: "passthru-http", service: "API gateway HTTP (pass-through)", key: "transport.passthru_http.listener.parameters.port", base: 8280, plain: true, enable: "transport.passthru_http.listener.enable", enDef: true},
		{name: "passthru-https", service: "API gateway HTTPS (pass-through)", key: "transport.passthru_https.listener.parameters.port", base: 8243, enable: "transport.passthru_https.listener.enable", enDef: true},
		{name: "binary-receiver-tcp", service: "Event receiver TCP (throttling data, event hub)", key: "transport.binary.receiver.tcpPort", base: 9611, plain: true},
		{name: "binary-receiver-ssl", service: "Event receiver SSL (throttling data, event hub)", key: "transport.binary.receiver.sslPort", base: 9711},
		{name: "thrift-receiver-tcp", service: "Thrift event receiver TCP", key: "transport.thrift.receiver.tcpPort", base: 7611, plain: true, enable: "transport.thrift.receiver.enable", enDef: false, optional: true},
		{name: "thrift-receiver-ssl", service: "Thrift event receiver SSL", key: "transport.thrift.receiver.sslPort", base: 7711, enable: "transport.thrift.receiver.enable", enDef: false, optional: true},
		{name: "amqp", service: "Embedded message broker AMQP (throttle decisions, notifications)", key: "broker.transport.amqp.default_connection.port", base: 5672, plain: true},
		{name: "amqp-ssl", service: "Embedded message broker AMQP over SSL", key: "broker.transport.amqp.ssl_connection.port", base: 8672},
		// [apim.ws] / [apim.wss] enable (4.7 default.json; docs-apim
		// "Configuring Transport Level Security": "Disabling the WebSocket
		// Transport").
		{name: "websocket", service: "WebSocket API inbound endpoint (ws)", key: "apim.ws.port", base: 9099, plain: true, enable: "apim.ws.enable", enDef: true, follow: "synapse_properties.'inbound.port.offset.enable'"},
		{name: "websocket-secure", service: "WebSocket API inbound endpoint (wss)", key: "apim.wss.port", base: 8099, enable: "apim.wss.enable", enDef: true, follow: "synapse_properties.'inbound.port.offset.enable'"},
		// The WebSub/webhooks inbound endpoints (WebhookServer,
		// SecureWebhookServer) arrived with APIM 4.0. The https port has a
		// key; the http one is known only as 9021 from the stock
		// [[apim.gateway.environment]] websub_event_receiver_http_endpoint
		// (the facts name no key for it), switched off with
		// [apim.webhooks.http] enable = false (docs-apim "Configuring
		// Transport Level Security").
		{name: "websub-http", service: "WebSub/webhooks event receiver (http)", base: 9021, plain: true, enable: "apim.webhooks.http.enable", enDef: true, follow: "synapse_properties.'inbound.port.offset.enable'",
			onlyIf: func(p *Pack) bool { return p.Value("apim.webhooks.https.port").Set() }},
		{name: "websub-https", service: "WebSub/webhooks event receiver (https)", key: "apim.webhooks.https.port", base: 8021, enable: "apim.webhooks.https.enable", enDef: true, follow: "synapse_properties.'inbound.port.offset.enable'", optional: true},
	}
	isPorts = []portDef{
		{name: "embedded-ldap", service: "Embedded LDAP (ApacheDS) user store", key: "carbon.xml:/Server/Ports/EmbeddedLDAP/LDAPServerPort", base: 10389, plain: true, enable: "embedded_ldap.enable", enDef: true},
	}
	miPorts = []portDef{
		{name: "passthru-http", service: "Micro Integrator HTTP (pass-through)", key: "transport.http.listener.parameter.port", base: 8280, plain: true, enable: "transport.http.listener.enable", enDef: true},
		{name: "passthru-https", service: "Micro Integrator HTTPS (pass-through)", key: "transport.https.listener.parameter.port", base: 8243, enable: "transport.http.listener.secured_enable", enDef: true},
		{name: "internal-http-api", service: "Internal HTTP API (health probes /healthz, /liveness)", key: "synapse_properties.'internal.http.api.port'", base: 9191, plain: true, enable: "synapse_properties.'internal.http.api.enabled'", enDef: true},
		{name: "internal-https-api", service: "Internal HTTPS API (Management API /management)", key: "synapse_properties.'internal.https.api.port'", base: 9154},
	}
)

// Port returns the listener with the given name ("servlet-https",
// "jmx-rmi-registry", "passthru-http", ...).
func (p *Pack) Port(name string) (Port, bool) {
	if p == nil {
		return Port{}, false
	}
	for _, pt := range p.Ports {
		if pt.Name == name {
			return pt, true
		}
	}
	return Port{}, false
}

// offset is the effective offset as a number (0 when externalised).
func (p *Pack) offset() int {
	n, ok := p.Offset.Int()
	if !ok || p.Offset.Externalised {
		return 0
	}
	return n
}

// computeOffset sets Offset: -DportOffset wins over [server] offset and
// carbon.xml Ports/Offset (Carbon reads System.getProperty("portOffset",
// <Ports.Offset>)). An offset that is not a whole number is a ConfigError:
// Carbon would not start.
func (p *Pack) computeOffset() error {
	// The file's offset is checked even when -DportOffset wins over it:
	// Carbon renders it into carbon.xml's <Ports><Offset> whatever the
	// system property says, and a start must not pass where check and pack
	// refuse the same file. (The facts do not say which components read
	// carbon.xml's Offset while -DportOffset is set; refusing is the safe
	// side.)
	if err := p.fileOffset(); err != nil {
		return err
	}
	if s, ok := p.SysProps["portOffset"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 || n > 65535 {
			return &ConfigError{Pos: Position{File: "-DportOffset"}, What: fmt.Sprintf("-DportOffset=%s is not a whole number between 0 and 65535; pass e.g. -DportOffset=1", s), Err: err}
		}
		p.Offset = Value{Key: "portOffset", Raw: int64(n), Source: SourceSysProp}
	}
	return nil
}

// fileOffset sets Offset from [server] offset (carbon.xml Ports/Offset).
func (p *Pack) fileOffset() error {
	var v Value
	var where string
	if p.Layout == LayoutLegacy {
		v = p.Value("carbon.xml:/Server/Ports/Offset")
		v.Key = "carbon.xml:/Server/Ports/Offset"
		where = "<Ports><Offset>"
	} else {
		v = p.Value("server.offset")
		v.Key = "server.offset"
		where = "[server] offset"
	}
	if !v.Set() {
		def := int64(0)
		if p.Product == MI {
			// MI's ports are documented as base + 10 (9201 = 9191 + 10,
			// 8290 = 8280 + 10) when no offset is written.
			def = 10
		}
		p.Offset = Value{Key: v.Key, Raw: def, Source: SourceDefault}
		return nil
	}
	if v.Externalised {
		p.Offset = v
		if _, given := p.SysProps["portOffset"]; !given {
			p.warnf("%s: %s = %v is externalised; ports are shown without it", v.Pos, where, v.Raw)
		}
		return nil
	}
	n, ok := v.Int()
	if !ok || n < 0 || n > 65535 {
		return &ConfigError{Pos: v.Pos, What: fmt.Sprintf("%s = %s is not a whole number between 0 and 65535; write e.g. offset = 1 (Carbon would fail to start)", where, quoteRaw(v.Raw))}
	}
	if _, isStr := v.Raw.(string); isStr && p.Layout == LayoutTOML {
		p.warnf("%s: %s = %q is a string; Carbon accepts it, but offset = %d (a number) is the documented form", v.Pos, where, v.Raw, n)
	}
	v.Raw = int64(n)
	p.Offset = v
	return nil
}

func quoteRaw(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

// computePorts builds the effective port table.
func (p *Pack) computePorts() {
	if p.Layout == LayoutLegacy {
		p.legacyPorts()
		p.applyNodeListeners()
		return
	}
	var defs []portDef
	switch p.Product {
	case MI:
		defs = append(append(defs, miPorts...), jmxPorts...)
	case APIM:
		defs = append(append(append(defs, servletPorts...), apimPorts...), jmxPorts...)
		defs = append(defs, clusterPort)
	case IS:
		defs = append(append(append(defs, servletPorts...), jmxPorts...), isPorts...)
		defs = append(defs, clusterPort)
	default:
		defs = append(append(append(defs, servletPorts...), jmxPorts...), clusterPort)
	}
	off := p.offset()
	for _, d := range defs {
		if d.onlyIf != nil && !d.onlyIf(p) {
			continue
		}
		pt := Port{Name: d.name, Service: d.service, Key: d.key, Base: d.base, Source: SourceDefault, Plain: d.plain, Enabled: true}
		if d.key != "" && !strings.Contains(d.key, ":/") {
			v := p.Value(d.key)
			if d.optional && !v.Set() {
				continue
			}
			if v.Set() {
				pt.Source, pt.Pos = v.Source, v.Pos
				if n, ok := v.Int(); ok && !v.Externalised {
					pt.Base = n
				} else {
					p.warnf("%s: %s = %v is not a port number the tool can evaluate; the table assumes %d", v.Pos, d.key, v.Raw, d.base)
				}
			}
		}
		if d.enable != "" {
			pt.Enabled = d.enDef
			if b, ok := p.Value(d.enable).Bool(); ok {
				pt.Enabled = b
			}
		}
		pt.Offset = off
		if d.follow != "" {
			if b, ok := p.Value(d.follow).Bool(); ok && !b {
				pt.Offset = 0
			}
		}
		p.servletSwitch(&pt)
		pt.Port = pt.Base + pt.Offset
		p.Ports = append(p.Ports, pt)
	}
	p.applyNodeListeners()
}

// servletSwitch applies the switches that remove the Tomcat HTTP connector:
// APIM 4.7's [transport.http] enable (the catalina-server.xml.j2 of 4.6 and
// earlier has none) and IS 7's transport.http.enabled / https.enabled.
func (p *Pack) servletSwitch(pt *Port) {
	if pt.Name != "servlet-http" && pt.Name != "servlet-https" {
		return
	}
	major, minor := versionMajorMinor(p.Version)
	switch {
	case p.Product == APIM && (major > 4 || major == 4 && minor >= 7) && pt.Name == "servlet-http":
		if b, ok := p.Value("transport.http.enable").Bool(); ok {
			pt.Enabled = b
		}
	case p.Product == IS && major >= 7:
		k := "transport.http.enabled"
		if pt.Name == "servlet-https" {
			k = "transport.https.enabled"
		}
		if b, ok := p.Value(k).Bool(); ok {
			pt.Enabled = b
		}
	}
}
