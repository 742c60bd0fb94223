package pack

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// The Carbon 4.4 configuration files, relative to repository/conf. Only
// carbon.xml is required.
var legacyFiles = []string{
	"carbon.xml", "datasources/master-datasources.xml", "user-mgt.xml", "identity/embedded-ldap.xml",
	"etc/jmx.xml", "tomcat/catalina-server.xml", "axis2/axis2.xml", "advanced/qpid-config.xml", "registry.xml",
}

// legacyConfig holds the TOML-named view of a Carbon 4.4 pack: the keys the
// checks ask for, read from the XML file that holds each, so that a check
// can ask Value("server.hostname") of either layout.
type legacyConfig struct {
	values map[string]Value
}

// legacyPaths maps TOML keys to the element (and attribute) that holds the
// same setting in the Carbon 4.4 files.
var legacyPaths = map[string]string{
	"server.hostname":                                             "carbon.xml:/Server/HostName",
	"server.mgt_hostname":                                         "carbon.xml:/Server/MgtHostName",
	"server.offset":                                               "carbon.xml:/Server/Ports/Offset",
	"monitoring.jmx.rmi_registry_port":                            "carbon.xml:/Server/Ports/JMX/RMIRegistryPort",
	"monitoring.jmx.rmi_server_port":                              "carbon.xml:/Server/Ports/JMX/RMIServerPort",
	"monitoring.jmx.rmi_server_start":                             "etc/jmx.xml:/JMX/StartRMIServer",
	"monitoring.jmx.rmi_hostname":                                 "etc/jmx.xml:/JMX/HostName",
	"keystore.primary.file_name":                                  "carbon.xml:/Server/Security/KeyStore/Location",
	"keystore.primary.type":                                       "carbon.xml:/Server/Security/KeyStore/Type",
	"keystore.primary.password":                                   "carbon.xml:/Server/Security/KeyStore/Password",
	"keystore.primary.alias":                                      "carbon.xml:/Server/Security/KeyStore/KeyAlias",
	"keystore.primary.key_password":                               "carbon.xml:/Server/Security/KeyStore/KeyPassword",
	"keystore.internal.file_name":                                 "carbon.xml:/Server/Security/InternalKeyStore/Location",
	"keystore.internal.type":                                      "carbon.xml:/Server/Security/InternalKeyStore/Type",
	"keystore.internal.password":                                  "carbon.xml:/Server/Security/InternalKeyStore/Password",
	"keystore.internal.alias":                                     "carbon.xml:/Server/Security/InternalKeyStore/KeyAlias",
	"keystore.internal.key_password":                              "carbon.xml:/Server/Security/InternalKeyStore/KeyPassword",
	"truststore.file_name":                                        "carbon.xml:/Server/Security/TrustStore/Location",
	"truststore.type":                                             "carbon.xml:/Server/Security/TrustStore/Type",
	"truststore.password":                                         "carbon.xml:/Server/Security/TrustStore/Password",
	"super_admin.username":                                        "user-mgt.xml:/UserManager/Realm/Configuration/AdminUser/UserName",
	"super_admin.password":                                        "user-mgt.xml:/UserManager/Realm/Configuration/AdminUser/Password",
	"super_admin.admin_role":                                      "user-mgt.xml:/UserManager/Realm/Configuration/AdminRole",
	"user_store.class":                                            "user-mgt.xml:/UserManager/Realm/UserStoreManager/@class",
	"embedded_ldap.enable":                                        "identity/embedded-ldap.xml:/EmbeddedLDAPConfig/EmbeddedLDAP/Property[@name='enable']",
	"indexing.enable":                                             "registry.xml:/wso2registry/indexingConfiguration/startIndexing",
	"clustering.enable":                                           "axis2/axis2.xml:/axisconfig/clustering/@enable",
	"clustering.local_member_port":                                "axis2/axis2.xml:/axisconfig/clustering/parameter[@name='localMemberPort']",
	"transport.passthru_http.listener.parameters.port":            "axis2/axis2.xml:/axisconfig/transportReceiver[@name='http']/parameter[@name='port']",
	"transport.passthru_https.listener.parameters.port":           "axis2/axis2.xml:/axisconfig/transportReceiver[@name='https']/parameter[@name='port']",
	"transport.passthru_https.listener.parameters.HttpsProtocols": "axis2/axis2.xml:/axisconfig/transportReceiver[@name='https']/parameter[@name='HttpsProtocols']",
}

// The datasource names of master-datasources.xml and the deployment.toml
// [database.*] tables that replaced them (3.x/4.x master-datasources.xml.j2).
var legacyDatasources = map[string]string{
	"WSO2_CARBON_DB":   "local",
	"WSO2AM_DB":        "apim_db",
	"WSO2_SHARED_DB":   "shared_db",
	"WSO2SHARED_DB":    "shared_db",
	"WSO2UM_DB":        "user",
	"WSO2USER_DB":      "user",
	"WSO2REG_DB":       "config",
	"WSO2CONFIG_DB":    "config",
	"WSO2_MB_STORE_DB": "mb.store_db",
	"WSO2IDENTITY_DB":  "identity_db",
}

// readLegacy parses every Carbon 4.4 file the pack has (a broken one is a
// ConfigError now, not later) and builds the TOML-named view.
func (p *Pack) readLegacy() error {
	if _, err := p.XML("repository/conf/carbon.xml"); err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) && errors.Is(err, fs.ErrNotExist) {
			ce.What = "missing: a Carbon 4.4 pack (no deployment.toml) keeps its server configuration here; restore it from the distribution or a snapshot"
		}
		return err
	}
	for _, f := range legacyFiles[1:] {
		if _, err := p.XML(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	lc := &legacyConfig{values: map[string]Value{}}
	p.st.legacy = lc
	for k, path := range legacyPaths {
		if v := p.legacyValue(path); v.Source == SourceFile {
			v.Key = k
			lc.values[k] = v
		}
	}
	// axis2.xml's http/https receivers are the gateway's pass-through
	// listeners only when their class says so; the servlet transport's
	// receivers (a Traffic Manager's axis2.xml) are Tomcat's connectors.
	for _, r := range []string{"http", "https"} {
		if c := p.legacyValue("axis2/axis2.xml:/axisconfig/transportReceiver[@name='" + r + "']/@class"); c.Set() && !passThroughClass(c.String()) {
			for k := range lc.values {
				if strings.HasPrefix(k, "transport.passthru_"+r+".") {
					delete(lc.values, k)
				}
			}
		}
	}
	// Tomcat connectors: the SSL one is transport.https, the other transport.http.
	if d, err := p.XML("tomcat/catalina-server.xml"); err == nil {
		for i, c := range d.FindAll("/Server/Service/Connector") {
			tk := "transport.http.properties."
			if strings.EqualFold(c.SelectAttrValue("SSLEnabled", ""), "true") {
				tk = "transport.https.properties."
			}
			if _, seen := lc.values[tk+"port"]; seen {
				continue
			}
			for _, a := range c.Attr {
				lc.values[canonKey(tk+a.Key)] = p.xmlValue(d, c, a.Value, fmt.Sprintf("tomcat/catalina-server.xml:/Server/Service/Connector[%d]/@%s", i+1, a.Key), false)
			}
			if tk == "transport.https.properties." {
				// The TLS keystore of 4.4 is the connector's keystoreFile.
				for _, pair := range [][2]string{{"keystoreFile", "file_name"}, {"keystorePass", "password"}, {"keyAlias", "alias"}, {"keystoreType", "type"}} {
					if v, ok := lc.values["transport.https.properties."+pair[0]]; ok {
						v.Key = "keystore.tls." + pair[1]
						lc.values[v.Key] = v
					}
				}
				if v, ok := lc.values["transport.https.properties.sslEnabledProtocols"]; ok {
					v.Key = "transport.https.sslHostConfig.properties.protocols"
					lc.values[v.Key] = v
					lc.values["transport.https.properties.protocols"] = v
				}
			}
		}
	}
	// HideAdminServiceWSDLs=true is admin_service.wsdl.enable=false.
	if v := p.legacyValue("carbon.xml://HideAdminServiceWSDLs"); v.Source == SourceFile {
		if b, ok := v.Bool(); ok {
			v.Raw = !b
			v.Key = "admin_service.wsdl.enable"
			lc.values[v.Key] = v
		}
	}
	// Datasources become [database.<name>] keys.
	if d, err := p.XML("datasources/master-datasources.xml"); err == nil {
		for _, ds := range d.FindAll("//datasource") {
			nameEl := ds.SelectElement("name")
			if nameEl == nil {
				continue
			}
			name := strings.TrimSpace(nameEl.Text())
			table, ok := legacyDatasources[name]
			if !ok {
				table = strings.ToLower(name)
			}
			conf := ds.FindElement("definition/configuration")
			if conf == nil {
				continue
			}
			prefix := "database." + joinKey(splitKey(table)) + "."
			lc.values[canonKey(prefix+"name")] = p.xmlValue(d, nameEl, name, "", false)
			for _, pair := range [][2]string{{"url", "url"}, {"username", "username"}, {"password", "password"}, {"driverClassName", "driver"}, {"validationQuery", "validationQuery"}} {
				if e := conf.SelectElement(pair[0]); e != nil {
					lc.values[canonKey(prefix+pair[1])] = p.xmlValue(d, e, strings.TrimSpace(e.Text()), "", secretAlias(e))
				}
			}
			if v, ok := lc.values[canonKey(prefix+"url")]; ok {
				if t := dbTypeFromURL(v.String()); t != "" {
					tv := v
					tv.Raw = t
					tv.Source = SourceInferred
					lc.values[canonKey(prefix+"type")] = tv
				}
			}
		}
	}
	return nil
}

// dbTypeFromURL names the infer.json database type a JDBC URL implies.
func dbTypeFromURL(url string) string {
	u := strings.ToLower(url)
	for _, pair := range [][2]string{{"jdbc:h2:", "h2"}, {"jdbc:mysql:", "mysql"}, {"jdbc:mariadb:", "mariadb"}, {"jdbc:oracle:", "oracle"},
		{"jdbc:sqlserver:", "mssql"}, {"jdbc:jtds:sqlserver:", "mssql"}, {"jdbc:db2:", "db2"}, {"jdbc:postgresql:", "postgre"}} {
		if strings.HasPrefix(u, pair[0]) {
			return pair[1]
		}
	}
	return ""
}

func secretAlias(e *etree.Element) bool {
	for _, a := range e.Attr {
		if a.Key == "secretAlias" {
			return true
		}
	}
	return false
}

// xmlValue builds a Value for text found in an element.
func (p *Pack) xmlValue(d *XMLDoc, e *etree.Element, text, key string, secret bool) Value {
	v := Value{Key: key, Raw: text, Source: SourceFile, Pos: d.Pos(e)}
	v.Externalised = secret || externalRE.MatchString(text)
	v.CarbonVars = carbonVars(text)
	return v
}

// legacyValue reads "file:/element/path[/@attr]" (file relative to
// repository/conf).
func (p *Pack) legacyValue(key string) Value {
	i := strings.Index(key, ":/")
	file, path := key[:i], key[i+1:]
	d, err := p.XML(file)
	if err != nil {
		v := Value{Key: key, Source: SourceUnset}
		if !errors.Is(err, fs.ErrNotExist) {
			v.Problem = err.Error()
		}
		return v
	}
	attr := ""
	if j := strings.LastIndex(path, "/@"); j >= 0 && !strings.ContainsAny(path[j+2:], "/[]") {
		path, attr = path[:j], path[j+2:]
	}
	e := d.Find(path)
	if e == nil {
		return Value{Key: key, Source: SourceUnset}
	}
	if attr != "" {
		a := e.SelectAttr(attr)
		if a == nil {
			return Value{Key: key, Source: SourceUnset}
		}
		return p.xmlValue(d, e, a.Value, key, false)
	}
	return p.xmlValue(d, e, strings.TrimSpace(e.Text()), key, secretAlias(e))
}

// legacyFallback answers TOML-named keys on a Carbon 4.4 pack.
func (p *Pack) legacyFallback(key string) (Value, bool) {
	if p.st.legacy == nil {
		return Value{}, false
	}
	v, ok := p.st.legacy.values[key]
	return v, ok
}

// legacyPorts builds the port table of a Carbon 4.4 pack from carbon.xml,
// catalina-server.xml, axis2.xml, jmx.xml and embedded-ldap.xml.
func (p *Pack) legacyPorts() {
	off := p.offset()
	add := func(name, service, key string, def int, plain, enabled bool) {
		pt := Port{Name: name, Service: service, Key: key, Base: def, Source: SourceDefault, Plain: plain, Enabled: enabled, Offset: off}
		if key != "" {
			v := p.Value(key)
			if v.Source == SourceFile {
				pt.Source, pt.Pos = v.Source, v.Pos
				if n, ok := v.Int(); ok {
					pt.Base = n
				} else {
					p.warnf("%s: %s = %q is not a port number; the table assumes %d", v.Pos, key, v.String(), def)
				}
			}
		}
		pt.Port = pt.Base + pt.Offset
		p.Ports = append(p.Ports, pt)
	}
	// Tomcat connectors, in file order.
	if d, err := p.XML("tomcat/catalina-server.xml"); err == nil {
		nHTTP, nHTTPS := 0, 0
		for i, c := range d.FindAll("/Server/Service/Connector") {
			ssl := strings.EqualFold(c.SelectAttrValue("SSLEnabled", ""), "true")
			name, svc, def := "servlet-http", "Tomcat HTTP (management console, /services/Version)", 9763
			if ssl {
				name, svc, def = "servlet-https", "Tomcat HTTPS (management console, admin services)", 9443
				nHTTPS++
				if nHTTPS > 1 {
					name += "-" + strconv.Itoa(nHTTPS)
				}
			} else {
				nHTTP++
				if nHTTP > 1 {
					name += "-" + strconv.Itoa(nHTTP)
				}
			}
			add(name, svc, fmt.Sprintf("tomcat/catalina-server.xml:/Server/Service/Connector[%d]/@port", i+1), def, !ssl, true)
		}
	} else {
		add("servlet-http", "Tomcat HTTP", "", 9763, true, true)
		add("servlet-https", "Tomcat HTTPS", "", 9443, false, true)
	}
	if p.Product == APIM || exists(p.Home+"/repository/conf/axis2/axis2.xml") {
		// Only pass-through (or NIO) receivers are listeners of their own:
		// Carbon's servlet transport receivers
		// (org.wso2.carbon.core.transports.http.Http(s)TransportListener, the
		// kernel's and the Traffic Manager's axis2.xml) are Tomcat's
		// 9763/9443 connectors, already in the table.
		for _, r := range []struct {
			recv, name, svc string
			def             int
			plain           bool
		}{
			{"http", "passthru-http", "Gateway HTTP (pass-through)", 8280, true},
			{"https", "passthru-https", "Gateway HTTPS (pass-through)", 8243, false},
		} {
			class := p.Value("axis2/axis2.xml:/axisconfig/transportReceiver[@name='" + r.recv + "']/@class")
			if !class.Set() || !passThroughClass(class.String()) {
				continue
			}
			if v := p.Value("axis2/axis2.xml:/axisconfig/transportReceiver[@name='" + r.recv + "']/parameter[@name='port']"); v.Set() {
				add(r.name, r.svc, v.Key, r.def, r.plain, true)
			}
		}
	}
	if p.Product == APIM {
		// Where APIM 2.x configures these (data-bridge-config.xml, broker.xml,
		// the WebSocket inbound endpoints) is not read: documented defaults.
		add("binary-receiver-tcp", "Event receiver TCP (throttling data)", "", 9611, true, true)
		add("binary-receiver-ssl", "Event receiver SSL (throttling data)", "", 9711, false, true)
		add("amqp", "Embedded message broker AMQP", "", 5672, true, true)
		add("amqp-ssl", "Embedded message broker AMQP over SSL", "", 8672, false, true)
		add("websocket", "WebSocket API inbound endpoint (ws)", "", 9099, true, true)
		add("websocket-secure", "WebSocket API inbound endpoint (wss)", "", 8099, false, true)
	}
	jmxOn := true
	if b, ok := p.Value("etc/jmx.xml:/JMX/StartRMIServer").Bool(); ok {
		jmxOn = b
	}
	add("jmx-rmi-registry", "JMX RMI registry (remote monitoring)", "carbon.xml:/Server/Ports/JMX/RMIRegistryPort", 9999, true, jmxOn)
	add("jmx-rmi-server", "JMX RMI server (remote monitoring)", "carbon.xml:/Server/Ports/JMX/RMIServerPort", 11111, true, jmxOn)
	if b, ok := p.Value("identity/embedded-ldap.xml:/EmbeddedLDAPConfig/EmbeddedLDAP/Property[@name='enable']").Bool(); ok {
		add("embedded-ldap", "Embedded LDAP (ApacheDS) user store", "carbon.xml:/Server/Ports/EmbeddedLDAP/LDAPServerPort", 10389, true, b)
	}
	if b, ok := p.Value("identity/embedded-ldap.xml:/EmbeddedLDAPConfig/KDCServer/Property[@name='enabled']").Bool(); ok && b {
		add("kdc", "Kerberos KDC of the embedded LDAP", "carbon.xml:/Server/Ports/EmbeddedLDAP/KDCServerPort", 8000, true, true)
	}
	if b, ok := p.Value("axis2/axis2.xml:/axisconfig/clustering/@enable").Bool(); ok && b {
		add("clustering", "Hazelcast clustering (membership)", "axis2/axis2.xml:/axisconfig/clustering/parameter[@name='localMemberPort']", 4000, true, true)
	}
}

// legacyTables lists table names under prefix from the legacy view.
func (p *Pack) legacyTables(prefix string) []string {
	if p.st.legacy == nil {
		return nil
	}
	cp := canonKey(prefix)
	n := len(splitKey(cp))
	seen := map[string]bool{}
	for k := range p.st.legacy.values {
		if keyPrefix(k, cp) && k != cp {
			if segs := splitKey(k); len(segs) > n+1 {
				seen[segs[n]] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
