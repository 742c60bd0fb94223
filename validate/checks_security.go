package validate

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"path"
	"sort"
	"strings"

	"github.com/carbonguard/carbonguard/pack"
)

// Security and transport checks (CG-SEC). Facts: wso2-config.md, checks
// table rows 3-5, 8-11, 15, 17 and §4 (startup scripts).

func init() {
	register(
		Check{
			ID: "CG-SEC-010", Title: "Hostname verification is disabled", Category: "security", Severity: High,
			Rationale: "The stock API Manager startup scripts (2.6 to 4.7) pass -Dorg.opensaml.httpclient.https.disableHostnameVerification=true and " +
				"-Dhttpclient.hostnameVerifier=AllowAll, so outbound TLS connections (key manager, gateways, identity providers, " +
				"back ends) accept any certificate name and are open to man-in-the-middle attacks. WSO2's documentation says to enable " +
				"hostname verification in production. The script's fixed -D list comes after $JAVA_OPTS, so a correct value only in " +
				"JAVA_OPTS loses; -D script arguments (carbonguard's start properties) win because Carbon sets them at start-up, but only " +
				"when carbonguard starts the server: its drop-in bin/carbonguard-server.sh or a systemd unit running carbonguard for " +
				"the pack is installed, or the check is carbonguard's own start gate. Otherwise the stock script's line is judged.",
			Remediation: "Let carbonguard start the server (scripts/install.sh installs bin/carbonguard-server.sh and a systemd unit; " +
				"[start] hostname_verification = true, the default, with hostname_verifier = \"Strict\" or \"DefaultAndLocalhost\"), or " +
				"edit the startup script's launch line (the line the finding names) to " +
				"-Dorg.opensaml.httpclient.https.disableHostnameVerification=false and -Dhttpclient.hostnameVerifier=Strict; a container " +
				"image that runs the stock script needs the script edited in the image.",
			Run: checkHostnameVerification,
		},
		Check{
			ID: "CG-SEC-020", Title: "Server hostname is not set to a resolvable name", Category: "transport", Severity: Medium,
			Rationale: "Carbon builds every URL it hands out (service URLs, redirects, gateway endpoints, token endpoints) from [server] " +
				"hostname (carbon.xml HostName/MgtHostName in Carbon 4.4). Left at localhost or 127.0.0.1, other nodes, load balancers " +
				"and browsers are sent to themselves, and the name cannot match a real TLS certificate. The WSO2 production checklist " +
				"asks for the name clients use, and for it to resolve on the host itself (its /etc/hosts note).",
			Remediation: "Set [server] hostname = \"<the FQDN clients and the load balancer use>\" (Carbon 4.4: <HostName> and <MgtHostName> " +
				"in carbon.xml) and make it resolve on this host to a non-loopback address (DNS or /etc/hosts).",
			Run: checkServerHostname,
		},
		Check{
			ID: "CG-SEC-030", Title: "Weak TLS protocols (TLSv1, TLSv1.1) are enabled", Category: "transport", Severity: High,
			Rationale: "TLS 1.0 and 1.1 are deprecated (RFC 8996) and broken by known attacks. The product defaults still enable them: " +
				"the Tomcat HTTPS connector (+TLSv1,+TLSv1.1,+TLSv1.2), the gateway pass-through HTTPS listener (TLSv1,TLSv1.1,TLSv1.2), " +
				"the WebSocket wss endpoint (TLSv1.1,TLSv1.2), the event receiver (binary transport), the embedded broker's AMQP SSL " +
				"port (TLSv1), and the Micro Integrator's pass-through listener and management API (TLSv1,TLSv1.1,TLSv1.2). Every TLS " +
				"listener the node opens is judged; one without a protocol list gets the JDK's defaults. A weak protocol the JDK itself " +
				"refuses (jdk.tls.disabledAlgorithms in its java.security) is reported by CG-SEC-031 instead.",
			Remediation: "Allow only TLSv1.2 and TLSv1.3: [transport.https.properties] protocols = \"+TLSv1.2,+TLSv1.3\"; " +
				"[transport.passthru_https.listener.parameters] HttpsProtocols = \"TLSv1.2,TLSv1.3\"; [transport.receiver] " +
				"ssl_enabled_protocols = [\"TLSv1.2\",\"TLSv1.3\"]; [apim.wss] ssl_enabled_protocols = \"TLSv1.2,TLSv1.3\"; the AMQP " +
				"ssl_connection protocols likewise; Micro Integrator: [transport.https] listener.parameter.HttpsProtocols and " +
				"[internal_api_ssl_config] parameter.httpsProtocols; Carbon 4.4: sslEnabledProtocols=\"TLSv1.2\" on the 9443 connector " +
				"in catalina-server.xml and <parameter name=\"HttpsProtocols\">TLSv1.2</parameter> on axis2.xml's https receiver. A " +
				"listener without a protocol list (WebSub's https endpoint) follows the JDK: keep TLSv1 and TLSv1.1 in its " +
				"jdk.tls.disabledAlgorithms.",
			Run: checkTLSProtocols,
		},
		Check{
			ID: "CG-SEC-031", Title: "Weak TLS protocols configured that the JDK already refuses", Category: "transport", Severity: Low,
			Rationale: "A listener configured for TLSv1 or TLSv1.1 on a JDK whose jdk.tls.disabledAlgorithms (conf/security/java.security) " +
				"lists them does not negotiate them: the JDK refuses them on every socket (the default from 8u291, 11.0.11 and 16). " +
				"The configuration is still wrong: a JDK downgrade, another JDK, or a -Djava.security.properties override that " +
				"re-enables them brings the weak protocols back without a change to the pack.",
			Remediation: "Remove TLSv1 and TLSv1.1 from the listener's protocol list as CG-SEC-030 describes, so that the configuration " +
				"does not depend on the JDK's policy.",
			Run: checkTLSProtocolsJDKRefuses,
		},
		Check{
			ID: "CG-SEC-040", Title: "HTTP compression is on with a JDK affected by JDK-8189789", Category: "transport", Severity: High,
			Rationale: "The WSO2 production checklist warns that with JDK 1.8.0_151 (GZIP bug JDK-8189789) compressed responses " +
				"of the Tomcat connectors are corrupted; WSO2's own CSRFGuard fix reproduced it on 1.8.0_152 too, and the January 2018 " +
				"updates (8u161) fixed it, so every JDK 8 update from 151 up to 160 is affected. Compression is on by default " +
				"(compression = \"on\").",
			Remediation: "Upgrade the JDK to a supported release, or set compression = \"off\" under [transport.http.properties] and " +
				"[transport.https.properties] (Carbon 4.4: compression=\"off\" on the connectors in catalina-server.xml).",
			Run: checkCompressionJDKBug,
		},
		Check{
			ID: "CG-SEC-041", Title: "HTTP compression is on for TLS connectors", Category: "transport", Severity: Low,
			Rationale: "Compressing responses that mix secrets (session cookies, CSRF tokens) with attacker-influenced content over TLS " +
				"enables BREACH-style attacks that recover the secrets from response sizes. The product default is compression = \"on\" " +
				"for the HTTPS connector that serves the management console, the portals and the REST APIs (general TLS guidance; the " +
				"WSO2 sources read do not state it).",
			Remediation: "Set [transport.https.properties] compression = \"off\" (Carbon 4.4: compression=\"off\" on the 9443 connector in " +
				"catalina-server.xml), or accept the risk when responses carry no secrets.",
			Run: checkCompressionTLS,
		},
		Check{
			ID: "CG-SEC-050", Title: "Plain-HTTP listeners are open", Category: "transport", Severity: Low,
			Rationale: "The Tomcat HTTP connector (9763), the gateway's HTTP listener (8280) and its ws (9099) and WebSub http (9021) " +
				"inbound endpoints accept unencrypted traffic, including " +
				"credentials and tokens sent by mistake. WSO2's \"Default Product Ports\" says to disable HTTP in production and expose " +
				"only the HTTPS ports.",
			Remediation: "APIM 4.7+: [transport.http] enable = false removes the 9763 connector; switch the gateway listener off with " +
				"[transport.passthru_http.listener] enable = false (MI: [transport.http] listener.enable = false) where no HTTP API " +
				"traffic is needed, the WebSocket ws endpoint with [apim.ws] enable = false and the WebSub http endpoint with " +
				"[apim.webhooks.http] enable = false; otherwise block these ports at the firewall and expose only 9443/8243 (+offset).",
			Run: checkPlainHTTP,
		},
		Check{
			ID: "CG-SEC-060", Title: "Default administrator credentials", Category: "security", Severity: Critical,
			Rationale: "Every pack ships with the super administrator admin/admin (Micro Integrator: the internal APIs' file user store " +
				"with admin/admin). Anyone who can reach the console, the admin services or the management API owns the server. " +
				"Literal admin credentials in [apim.*] or [[service_catalog]] tables are the same problem one step removed.",
			Remediation: "Set [super_admin] username and a strong password, ideally from the secure vault (password = " +
				"\"$secret{admin_password}\") or the environment ($env{...}); Carbon 4.4: user-mgt.xml <AdminUser>; MI: define your own " +
				"[[internal_apis.users]] or disable the file user store ([internal_apis.file_user_store] enable = false).",
			Run: checkDefaultCredentials,
		},
		Check{
			ID: "CG-SEC-070", Title: "Default keystores or keystore passwords", Category: "security", Severity: High,
			Rationale: "wso2carbon.jks / wso2carbon.p12 and its password wso2carbon ship in every pack: the private key that signs " +
				"tokens, encrypts secrets and serves TLS is public knowledge. The primary, TLS and internal keystores inherit the " +
				"primary's values when their tables are absent; the truststore ships with the password wso2carbon.",
			Remediation: "Create your own keystore with a CA-signed certificate (RSA >= 2048 bits, SHA-256) and set [keystore.primary] " +
				"(and [keystore.tls], [keystore.internal] where they differ) file_name, alias, password and key_password, and " +
				"[truststore] password, with the passwords in the secure vault ($secret{...}). Carbon 4.4: carbon.xml <Security> " +
				"KeyStore/InternalKeyStore/TrustStore and keystoreFile/keystorePass in catalina-server.xml.",
			Run: checkDefaultKeystores,
		},
		Check{
			ID: "CG-SEC-080", Title: "Passwords in plain text where the secure vault could be used", Category: "security", Severity: Low,
			Rationale: "Passwords written literally in deployment.toml (or the Carbon 4.4 XML files) are readable by anyone who can read " +
				"the configuration, its backups and its copies in version control. WSO2's secure vault ($secret{alias} with a [secrets] " +
				"table encrypted by the cipher tool) or $env{} keeps them out of the file.",
			Remediation: "Replace the literal with \"$secret{<alias>}\", add the alias under [secrets] and run the cipher tool " +
				"(bin/ciphertool.sh -Dconfigure), or read it from the environment with \"$env{VAR}\".",
			Run: checkPlaintextPasswords,
		},
		Check{
			ID: "CG-SEC-090", Title: "The server would run as root", Category: "security", Severity: High,
			Rationale: "A Carbon server running as root turns any remote code execution (a vulnerable deployed artifact, an admin " +
				"service) into full control of the host, and leaves root-owned files in the pack that a later non-root start cannot " +
				"write.",
			Remediation: "Run the server as a dedicated unprivileged user that owns the pack ([start] user = \"wso2carbon\" when carbonguard " +
				"runs as root, or User= in the systemd unit); forward port 80/443 at the firewall or load balancer instead of binding " +
				"privileged ports.",
			Run: checkRunAsRoot,
		},
		Check{
			ID: "CG-SEC-100", Title: "Management console listens on all interfaces without a restriction", Category: "security", Severity: Info,
			Rationale: "The Tomcat HTTPS connector serves the management console, the admin services and the portals on every interface. " +
				"Unless something limits who can reach it, the administrative surface is as exposed as the public APIs.",
			Remediation: "Bind the connector to an internal interface ([transport.https.properties] address = \"<internal IP>\", Carbon 4.4: " +
				"address=\"...\" on the connector in catalina-server.xml), or allow the console only from an administration network at " +
				"the firewall or load balancer (and accept this finding saying so).",
			Run: checkConsoleExposure,
		},
		Check{
			ID: "CG-SEC-110", Title: "CORS allows any origin with credentials", Category: "security", Severity: Medium,
			Rationale: "[apim.cors] allow_origins = \"*\" (the default) together with allow_credentials = true lets any web site make " +
				"authenticated cross-origin calls to the gateway's APIs with the user's credentials.",
			Remediation: "List the allowed origins explicitly ([apim.cors] allow_origins = [\"https://portal.example.com\"]) or keep " +
				"allow_credentials = false.",
			Run: checkCORS,
		},
		Check{
			ID: "CG-SEC-120", Title: "Admin service WSDLs are exposed", Category: "security", Severity: Medium,
			Rationale: "Admin service WSDLs describe every administrative SOAP operation of the server; publishing them helps attackers " +
				"map the management surface. Carbon hides them by default (admin_service.wsdl.enable = false, carbon.xml " +
				"HideAdminServiceWSDLs = true).",
			Remediation: "Remove [admin_service.wsdl] enable = true (or set it to false); Carbon 4.4: <HideAdminServiceWSDLs>true</HideAdminServiceWSDLs> in carbon.xml.",
			Run:         checkAdminWSDL,
		},
		Check{
			ID: "CG-SEC-130", Title: "Shutdown or restart from the API is enabled", Category: "security", Severity: Medium,
			Rationale: "server.enable_shutdown_from_api / enable_restart_from_api let an authenticated admin-service call stop or restart " +
				"the server, turning a stolen admin credential into a denial of service and bypassing the supervised start. Both are " +
				"off by default.",
			Remediation: "Remove enable_shutdown_from_api and enable_restart_from_api from [server] (or set them to false); stop and " +
				"restart through carbonguard or the service manager.",
			Run: checkShutdownFromAPI,
		},
		Check{
			ID: "CG-SEC-140", Title: "HSTS is off", Category: "transport", Severity: Low,
			Rationale: "Without HTTP Strict Transport Security browsers may reach the console and portals over plain HTTP first, where " +
				"the session can be stripped or stolen. The product default is http_header_security_filter.hsts.enabled = false.",
			Remediation: "Set [http_header_security_filter.hsts] enabled = true on nodes serving the console or portals over HTTPS " +
				"(or let the load balancer send Strict-Transport-Security and accept this finding saying so).",
			Run: checkHSTS,
		},
	)
}

// ---------------------------------------------------------------- SEC-010

// Good values per property; anything else is bad.
var hvProps = []struct {
	key      string
	good     func(v string) bool
	unsetOK  bool
	goodText string
}{
	{
		key:      "org.opensaml.httpclient.https.disableHostnameVerification",
		good:     func(v string) bool { return strings.EqualFold(strings.TrimSpace(v), "false") },
		unsetOK:  true,
		goodText: "false",
	},
	{
		key: "httpclient.hostnameVerifier",
		good: func(v string) bool {
			v = strings.TrimSpace(v)
			return v == "Strict" || v == "DefaultAndLocalhost"
		},
		goodText: "Strict or DefaultAndLocalhost",
	},
}

func checkHostnameVerification(f *Facts) []Result {
	props := SystemProps(f)
	script := f.Pack.ScriptText()
	var out []Result
	for _, hp := range hvProps {
		subject := "-D" + hp.key
		win, all, ok := EffectiveProp(props, hp.key)
		if !ok {
			if hp.unsetOK {
				out = append(out, Result{Status: Pass, Subject: subject, Key: hp.key,
					Message: "not set by the startup script, JAVA_OPTS or any start argument: verification stays on"})
				continue
			}
			r := Result{Status: Unknown, Subject: subject, Key: hp.key,
				Message: "not set by the startup script, JAVA_OPTS or any start argument"}
			r.Reason = "no source sets it and the facts carbonguard was built from do not establish the library default; set it explicitly to " + hp.goodText
			if script == "" {
				r.Reason = "the startup script " + f.Pack.Script + " could not be read; " + r.Reason
			}
			out = append(out, r)
			continue
		}
		r := Result{Subject: subject, Key: hp.key, Value: win.Value, Source: propSource(win.Source), Pos: win.Pos}
		lost := losers(all, win)
		if hp.good(win.Value) && win.Source == PropStartArgs {
			// carbonguard's start properties reach the JVM only when
			// carbonguard starts the server. Without evidence that it does,
			// judge what the stock script alone gives (the common case:
			// container images run the stock script).
			if how, ok := f.Launcher.Established(); ok {
				r.Status = Pass
				r.Message = fmt.Sprintf("%s (from %s; %s)%s", win.Value, describeProp(win), how, lost)
				out = append(out, r)
				continue
			}
			var rest []PropOccurrence
			for _, o := range all {
				if o.Source != PropStartArgs {
					rest = append(rest, o)
				}
			}
			noLauncher := "nothing shows that carbonguard starts this pack (no " + DropInScript + ", no systemd unit running carbonguard for it, not carbonguard's start gate)"
			if len(rest) == 0 {
				if hp.unsetOK {
					r.Status = Pass
					r.Message = "carbonguard's start properties set " + win.Value + "; without them (" + noLauncher + ") nothing sets it and verification stays on"
				} else {
					r.Status, r.Message = Unknown, "only carbonguard's start properties set it, and "+noLauncher
					r.Reason = "started otherwise, no source sets it and the library default is not established"
				}
				out = append(out, r)
				continue
			}
			base := rest[len(rest)-1]
			r.Value, r.Source, r.Pos = base.Value, propSource(base.Source), base.Pos
			if hp.good(base.Value) {
				r.Status = Pass
				r.Message = fmt.Sprintf("%s (from %s, and carbonguard's start properties agree)", base.Value, describeProp(base))
			} else {
				r.Status = Fail
				r.Message = fmt.Sprintf("carbonguard's start properties would set %s=%s, but %s: started by the stock script, the server runs with %s=%s (from %s; want %s)",
					hp.key, win.Value, noLauncher, hp.key, base.Value, describeProp(base), hp.goodText)
			}
			out = append(out, r)
			continue
		}
		if hp.good(win.Value) {
			r.Status = Pass
			r.Message = fmt.Sprintf("%s (from %s)%s", win.Value, describeProp(win), lost)
			if win.Source == PropStartArgs || win.Source == PropUserArgs {
				if sp, ok := lastFrom(all, PropScript); ok && !hp.good(sp.Value) {
					r.Message += fmt.Sprintf("; only when started through carbonguard: the stock script alone sets %s at %s", sp.Value, sp.Pos)
				}
			}
		} else {
			r.Status = Fail
			r.Message = fmt.Sprintf("the server would run with %s=%s (from %s; want %s)%s", hp.key, win.Value, describeProp(win), hp.goodText, lost)
		}
		out = append(out, r)
	}
	return out
}

func propSource(s PropSource) pack.Source {
	if s == PropScript {
		return pack.SourceFile
	}
	return pack.SourceSysProp
}

func describeProp(o PropOccurrence) string {
	switch o.Source {
	case PropScript:
		return "the startup script " + o.Pos.String()
	case PropStartArgs:
		return "carbonguard's start properties, passed as script arguments"
	case PropUserArgs:
		return "a -D argument"
	default:
		return string(o.Source)
	}
}

// losers describes the other occurrences that the winner overrides.
func losers(all []PropOccurrence, win PropOccurrence) string {
	var parts []string
	for _, o := range all[:len(all)-1] {
		if o == win {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%s in %s", o.Key, o.Value, describeProp(o)))
	}
	if len(parts) == 0 {
		return ""
	}
	return "; it overrides " + strings.Join(parts, ", ")
}

func lastFrom(all []PropOccurrence, src PropSource) (PropOccurrence, bool) {
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Source == src {
			return all[i], true
		}
	}
	return PropOccurrence{}, false
}

// ---------------------------------------------------------------- SEC-020

func isLoopbackName(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "localhost" || s == "localhost.localdomain" || s == "ip6-localhost" {
		return true
	}
	ip := net.ParseIP(s)
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}

func checkServerHostname(f *Facts) []Result {
	p := f.Pack
	keys := []string{"server.hostname"}
	if p.Layout == pack.LayoutLegacy {
		keys = []string{"carbon.xml:/Server/HostName", "carbon.xml:/Server/MgtHostName"}
	}
	var out []Result
	for _, k := range keys {
		v := p.Value(k)
		subject := strings.Replace(k, ":/Server/", " ", 1) // "carbon.xml HostName"
		if k == "server.hostname" {
			subject = "[server] hostname"
		}
		switch {
		case !v.Set() || strings.TrimSpace(valueText(v)) == "":
			r := resultAt(Fail, v, "no hostname is set: Carbon falls back to localhost in the URLs it hands out")
			r.Subject = subject
			if p.Layout == pack.LayoutTOML {
				r.Pos = pack.Position{File: relPath(p, p.ConfigFile)}
			} else {
				r.Pos = pack.Position{File: "repository/conf/carbon.xml"}
			}
			out = append(out, r)
			continue
		case v.Externalised:
			r := externalisedResult(v, "the hostname")
			r.Subject = subject
			out = append(out, r)
			continue
		}
		name := strings.TrimSpace(valueText(v))
		if isLoopbackName(name) {
			r := resultAt(Fail, v, fmt.Sprintf("hostname %q is a loopback name: other nodes, load balancers and browsers cannot reach it and no real certificate matches it", name))
			r.Subject = subject
			out = append(out, r)
			continue
		}
		if strings.Contains(name, "${") {
			r := resultAt(Unknown, v, "the hostname is a Carbon variable resolved at run time")
			r.Subject, r.Reason = subject, "it contains ${...}"
			out = append(out, r)
			continue
		}
		addrs, resolved := f.Host.ResolvedAddrs[name]
		switch {
		case !resolved:
			why := f.Host.Errors["ResolvedAddrs:"+name]
			if why == "" {
				r := resultAt(Unknown, v, fmt.Sprintf("hostname %q was not looked up", name))
				r.Subject, r.Reason = subject, "the host probe did not resolve it"
				out = append(out, r)
				continue
			}
			r := resultAt(Fail, v, fmt.Sprintf("hostname %q does not resolve on this host (%s): add it to DNS or /etc/hosts", name, why))
			r.Subject = subject
			out = append(out, r)
		case allLoopback(addrs):
			r := resultAt(Fail, v, fmt.Sprintf("hostname %q resolves only to loopback addresses (%s) on this host: other nodes reach it elsewhere, and Carbon binds and advertises the loopback; map it to the node's real address in /etc/hosts or DNS", name, strings.Join(addrs, ", ")))
			r.Subject = subject
			out = append(out, r)
		default:
			r := resultAt(Pass, v, fmt.Sprintf("hostname %q resolves to %s", name, strings.Join(addrs, ", ")))
			r.Subject = subject
			out = append(out, r)
		}
	}
	return out
}

func allLoopback(addrs []string) bool {
	if len(addrs) == 0 {
		return false
	}
	for _, a := range addrs {
		ip := net.ParseIP(a)
		if ip == nil || !ip.IsLoopback() {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------- SEC-030/031

// tlsSetting is one TLS listener and the place where its enabled protocols
// are configured; the first of keys that is set is read. A listener that is
// not in the node's port table (switched off, or not opened by the node's
// role) is not judged.
type tlsSetting struct {
	subject string
	keys    []string
	tomcat  bool     // Tomcat syntax: "+TLSv1.2,-TLSv1" and "all"
	enable  []string // switches that must all be on for the listener to exist
	port    string   // the listener's name in the port table
	product pack.Product
}

// The listeners and their protocol keys (defaults: kernel 4.8.1, APIM
// 3.2/4.2/4.7 and MI 4.3 default.json). WebSub's https endpoint and the
// Carbon 4.4 pass-through listener (no HttpsProtocols in APIM 2.6's
// axis2.xml) have no protocol key: the JDK's defaults apply.
var tlsSettings = []tlsSetting{
	{subject: "Tomcat HTTPS connector (console, portals, REST APIs)", keys: []string{"transport.https.properties.protocols", "transport.https.sslHostConfig.properties.protocols"}, tomcat: true, port: "servlet-https"},
	{subject: "gateway pass-through HTTPS listener", keys: []string{"transport.passthru_https.listener.parameters.HttpsProtocols"}, port: "passthru-https", product: pack.APIM},
	{subject: "Micro Integrator pass-through HTTPS listener", keys: []string{"transport.https.listener.parameter.HttpsProtocols"}, port: "passthru-https", product: pack.MI},
	{subject: "Micro Integrator management API (internal HTTPS API)", keys: []string{"internal_api_ssl_config.parameter.httpsProtocols"}, port: "internal-https-api", product: pack.MI},
	{subject: "event receiver (binary transport, SSL)", keys: []string{"transport.receiver.ssl_enabled_protocols", "transport.binary.receiver.sslEnabledProtocols"}, port: "binary-receiver-ssl"},
	{subject: "embedded broker AMQP over SSL", keys: []string{"broker.transport.amqp.ssl_connection.ssl_enabled_protocols", "broker.transport.amqp.ssl_connection.protocols"},
		enable: []string{"broker.transport.amqp.enabled", "broker.transport.amqp.ssl_connection.enabled"}, port: "amqp-ssl"},
	{subject: "WebSocket inbound endpoint (wss)", keys: []string{"apim.wss.ssl_enabled_protocols"}, port: "websocket-secure"},
	{subject: "WebSub/webhooks inbound endpoint (https)", port: "websub-https"},
	{subject: "Tomcat HTTPS connector 9443 (catalina-server.xml)", keys: []string{"tomcat/catalina-server.xml:/Server/Service/Connector[@port='9443']/@sslEnabledProtocols"}, port: "servlet-https"},
	{subject: "Tomcat HTTPS connector 9443 SSLHostConfig (catalina-server.xml)", keys: []string{"tomcat/catalina-server.xml:/Server/Service/Connector[@port='9443']/SSLHostConfig/@protocols"}, tomcat: true, port: "servlet-https"},
}

// tlsApplies tells whether a setting belongs to the pack's layout and product.
func tlsApplies(p *pack.Pack, s tlsSetting) bool {
	if s.product != "" && s.product != p.Product {
		return false
	}
	if len(s.keys) == 0 {
		return true
	}
	legacyKey := strings.Contains(s.keys[0], ":/")
	if p.Layout == pack.LayoutLegacy && !legacyKey {
		// On Carbon 4.4 the TOML names are answered from the XML only for
		// the pass-through listener; the Tomcat connector has its own rows.
		return s.port == "passthru-https"
	}
	return legacyKey == (p.Layout == pack.LayoutLegacy)
}

// listenerOn is false when a switch turns the listener off or the node does
// not open it.
func listenerOn(p *pack.Pack, s tlsSetting) (pack.Port, bool) {
	for _, k := range s.enable {
		if b, ok := valueBool(p.Value(k)); ok && !b {
			return pack.Port{}, false
		}
	}
	pt, ok := p.Port(s.port)
	if !ok || !pt.Enabled {
		return pt, false
	}
	return pt, true
}

var weakProtocols = []string{"SSLv2", "SSLv3", "TLSv1", "TLSv1.1"}

// enabledProtocols evaluates a protocol list. Tomcat's syntax adds (+) and
// removes (-) protocols and knows "all"; the others list names.
func enabledProtocols(list string, tomcat bool) []string {
	set := map[string]bool{}
	for _, tok := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '[' || r == ']' || r == '"' }) {
		add := true
		switch {
		case strings.HasPrefix(tok, "+"):
			tok = tok[1:]
		case strings.HasPrefix(tok, "-") && tomcat:
			tok, add = tok[1:], false
		}
		names := []string{tok}
		if strings.EqualFold(tok, "all") {
			names = []string{"SSLv2Hello", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}
		}
		for _, n := range names {
			if add {
				set[n] = true
			} else {
				delete(set, n)
			}
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// tlsEval is what one TLS listener enables.
type tlsEval struct {
	setting  tlsSetting
	port     pack.Port
	value    pack.Value
	jdkOnly  bool     // no protocol list: the JDK's defaults apply
	enabled  []string // configured protocols
	accepted []string // weak protocols the JDK does not refuse (or whose refusal is not known)
	refused  []string // weak protocols the JDK's policy refuses
	unknown  *Result  // externalised list
}

// tlsEvaluate judges every TLS listener the node opens against the JDK's
// jdk.tls.disabledAlgorithms.
func tlsEvaluate(f *Facts) []tlsEval {
	p := f.Pack
	var out []tlsEval
	for _, s := range tlsSettings {
		if !tlsApplies(p, s) {
			continue
		}
		pt, on := listenerOn(p, s)
		if !on {
			continue
		}
		e := tlsEval{setting: s, port: pt}
		for _, k := range s.keys {
			if e.value = p.Value(k); e.value.Set() {
				break
			}
		}
		if !e.value.Set() {
			if len(s.keys) > 0 && p.Layout == pack.LayoutLegacy && s.port != "passthru-https" {
				continue // another row of the same connector reads it
			}
			e.jdkOnly = true
			e.value = pack.Value{Key: "(no protocol setting)", Source: pack.SourceDefault, Pos: pt.Pos}
			if len(s.keys) > 0 {
				e.value.Key = s.keys[0]
			}
			// The JDK's defaults: TLSv1 and TLSv1.1 are enabled unless its
			// policy disables them (JDK 8 to 17 server defaults).
			e.enabled = []string{"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}
		} else if e.value.Externalised {
			r := externalisedResult(e.value, "the enabled protocols")
			r.Subject = s.subject
			e.unknown = &r
			out = append(out, e)
			continue
		} else {
			e.enabled = enabledProtocols(valueText(e.value), s.tomcat)
		}
		for _, w := range weakProtocols {
			for _, en := range e.enabled {
				if !strings.EqualFold(en, w) {
					continue
				}
				if refused, _ := jdkRefuses(f.Host.Java, en); refused {
					e.refused = append(e.refused, en)
				} else {
					e.accepted = append(e.accepted, en)
				}
			}
		}
		out = append(out, e)
	}
	return out
}

func (e tlsEval) result(st Status, msg string) Result {
	r := resultAt(st, e.value, fmt.Sprintf("port %d: %s", e.port.Port, msg))
	r.Subject = e.setting.subject // acceptances name it: keep it stable
	return netUnsure(r, e.port)
}

func checkTLSProtocols(f *Facts) []Result {
	var out []Result
	j := f.Host.Java
	for _, e := range tlsEvaluate(f) {
		switch {
		case e.unknown != nil:
			out = append(out, *e.unknown)
		case e.jdkOnly && !j.SecurityKnown:
			r := e.result(Unknown, "no protocol list is configured: the JDK's defaults apply")
			r.Reason = jdkPolicyText(j)
			out = append(out, r)
		case len(e.accepted) > 0:
			what := "enables " + strings.Join(e.accepted, " and ")
			if e.jdkOnly {
				what = "has no protocol list, and the JDK's defaults enable " + strings.Join(e.accepted, " and ")
			}
			msg := what + "; allow only TLSv1.2 and TLSv1.3"
			if !j.SecurityKnown {
				msg += " (" + jdkPolicyText(j) + ", so whether the JDK refuses them is not known)"
			} else {
				msg += " (the JDK's jdk.tls.disabledAlgorithms in " + j.SecurityFile + " does not refuse them)"
			}
			out = append(out, e.result(Fail, msg))
		default:
			msg := "enables " + strings.Join(e.enabled, ", ")
			if e.jdkOnly {
				msg = "no protocol list: the JDK's defaults apply, and its policy refuses " + strings.Join(e.refused, ", ")
			} else if len(e.refused) > 0 {
				msg += "; the JDK refuses " + strings.Join(e.refused, ", ") + " (see CG-SEC-031)"
			}
			out = append(out, e.result(Pass, msg))
		}
	}
	if len(out) == 0 {
		return []Result{{Status: NotApplicable, Message: "this node opens no TLS listener whose protocols carbonguard knows how to read"}}
	}
	return out
}

func checkTLSProtocolsJDKRefuses(f *Facts) []Result {
	var out []Result
	j := f.Host.Java
	if !j.SecurityKnown {
		return []Result{{Status: Unknown, Subject: "JDK TLS policy", Message: "the JDK's TLS policy is not known; weak protocols are judged by CG-SEC-030",
			Reason: jdkPolicyText(j)}}
	}
	for _, e := range tlsEvaluate(f) {
		if e.unknown != nil || e.jdkOnly {
			continue
		}
		if len(e.refused) > 0 {
			out = append(out, e.result(Fail, fmt.Sprintf("enables %s, which the JDK already refuses (%s): harmless while that policy holds, but a JDK change or a -Djava.security.properties override brings them back",
				strings.Join(e.refused, " and "), jdkPolicyText(j))))
			continue
		}
		out = append(out, e.result(Pass, "enables no protocol the JDK refuses"))
	}
	if len(out) == 0 {
		return []Result{{Status: NotApplicable, Message: "no TLS listener of this node configures a protocol list"}}
	}
	return out
}

// ---------------------------------------------------------------- SEC-040/041

// connector is a Tomcat connector whose compression is judged.
type connector struct {
	subject string
	key     string
	tls     bool
}

func connectors(p *pack.Pack) []connector {
	if p.Layout == pack.LayoutLegacy {
		return []connector{
			{"Tomcat HTTP connector 9763", "tomcat/catalina-server.xml:/Server/Service/Connector[@port='9763']/@compression", false},
			{"Tomcat HTTPS connector 9443", "tomcat/catalina-server.xml:/Server/Service/Connector[@port='9443']/@compression", true},
		}
	}
	var out []connector
	for _, c := range []connector{
		{"Tomcat HTTP connector", "transport.http.properties.compression", false},
		{"Tomcat HTTPS connector", "transport.https.properties.compression", true},
	} {
		name := "servlet-http"
		if c.tls {
			name = "servlet-https"
		}
		if pt, ok := p.Port(name); ok && !pt.Enabled {
			continue
		}
		out = append(out, c)
	}
	return out
}

func compressionOn(v pack.Value) bool {
	s := strings.ToLower(strings.TrimSpace(valueText(v)))
	return s == "on" || s == "force" || s == "true" || s == "yes"
}

func checkCompressionJDKBug(f *Facts) []Result {
	var out []Result
	java := f.Host.Java
	for _, c := range connectors(f.Pack) {
		v := f.Pack.Value(c.key)
		switch {
		case !v.Set():
			continue
		case v.Externalised:
			r := externalisedResult(v, "compression")
			r.Subject = c.subject
			out = append(out, r)
		case !compressionOn(v):
			r := resultAt(Pass, v, "compression is off")
			r.Subject = c.subject
			out = append(out, r)
		case java.Version == "":
			r := resultAt(Unknown, v, "compression is on and the JDK version is not known")
			r.Subject = c.subject
			r.Reason = "the JDK version could not be read: " + nonEmpty(java.VersionErr, "no JAVA_HOME")
			out = append(out, r)
		default:
			affected, unsure := jdkAffectedBy8189789(java.Version)
			var r Result
			switch {
			case affected:
				r = resultAt(Fail, v, fmt.Sprintf("compression is on and JDK %s is in the range broken by the GZIP bug JDK-8189789 (1.8.0_151 up to 8u161, which fixed it): compressed responses are corrupted", java.Version))
			case unsure != "":
				r = resultAt(Unknown, v, "compression is on and the JDK may be affected by JDK-8189789")
				r.Reason = unsure
			default:
				r = resultAt(Pass, v, fmt.Sprintf("compression is on; JDK %s is outside the range broken by JDK-8189789 (1.8.0_151 to 1.8.0_160)", java.Version))
			}
			r.Subject = c.subject
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return []Result{{Status: NotApplicable, Message: "no Tomcat connector with a compression setting (this product has none, or they are switched off)"}}
	}
	return out
}

// JDK-8189789 ("tomcat gzip-compressed response bodies appear to be broken
// in update 151") came with the bundled zlib of the October 2017 JDK 8
// updates: WSO2's production checklist names 1.8.0_151, and WSO2's own
// CSRFGuard fix reproduced it on 1.8.0_152 as well (wso2/WSO2-OWASP-CSRFGuard
// pull 1, upstream aramrami/OWASP-CSRFGuard pull 93: "JDK version:
// jdk1.8.0_152 (latest 1.8 release)"; wso2/product-is issue 2199, fixed in
// IS 5.4.1, January 2018). The fix shipped with the next JDK 8 updates,
// 8u161/8u162 of January 2018 (the CSRFGuard maintainers: "fixed in a
// following JDK version"); the exact build could not be confirmed from the
// sources available here, so 8u161 and later count as fixed. JDK 7's
// update of the same train (7u161) showed GZIP failures too
// (spring-cloud/spring-cloud-netflix issue 2452); not established, so it is
// reported as unknown, never as a failure.
func jdkAffectedBy8189789(version string) (affected bool, unsure string) {
	v := strings.TrimSpace(version)
	update := func(prefix string) (int, bool) {
		rest, ok := strings.CutPrefix(v, prefix)
		if !ok {
			return 0, false
		}
		n := 0
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			n = n*10 + int(rest[i]-'0')
			i++
		}
		return n, i > 0
	}
	if u, ok := update("1.8.0_"); ok {
		return u >= 151 && u < 161, ""
	}
	if u, ok := update("1.7.0_"); ok && u >= 161 && u < 171 {
		return false, "JDK " + v + " is JDK 7's update of the October 2017 train that broke GZIP in JDK 8 (JDK-8189789); whether it is affected is not established"
	}
	return false, ""
}

func nonEmpty(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func checkCompressionTLS(f *Facts) []Result {
	var out []Result
	for _, c := range connectors(f.Pack) {
		if !c.tls {
			continue
		}
		v := f.Pack.Value(c.key)
		switch {
		case !v.Set():
			continue
		case v.Externalised:
			r := externalisedResult(v, "compression")
			r.Subject = c.subject
			out = append(out, r)
		case compressionOn(v):
			r := resultAt(Fail, v, "compression is on for a TLS connector serving authenticated content (BREACH)")
			r.Subject = c.subject
			out = append(out, r)
		default:
			r := resultAt(Pass, v, "compression is off")
			r.Subject = c.subject
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return []Result{{Status: NotApplicable, Message: "no TLS Tomcat connector with a compression setting (this product has none, or it is switched off)"}}
	}
	return out
}

// ---------------------------------------------------------------- SEC-050

func checkPlainHTTP(f *Facts) []Result {
	var out []Result
	// Only the listeners the node opens are in the table: a Traffic
	// Manager's missing 8280, a control plane's missing 9099, are not judged.
	for _, pt := range f.Pack.Ports {
		switch pt.Name {
		case "servlet-http", "passthru-http", "websocket", "websub-http":
		default:
			continue
		}
		r := Result{Subject: fmt.Sprintf("port %d", pt.Port), Key: pt.Key, Value: fmt.Sprint(pt.Base), Source: pt.Source, Pos: pt.Pos}
		if pt.Enabled {
			r.Status = Fail
			r.Message = fmt.Sprintf("%s listens on plain HTTP port %d (%d + offset %d)", pt.Service, pt.Port, pt.Base, pt.Offset)
		} else {
			r.Status = Pass
			r.Message = fmt.Sprintf("%s is switched off", pt.Service)
		}
		out = append(out, netUnsure(r, pt))
	}
	if len(out) == 0 {
		return []Result{{Status: Pass, Message: "this node opens no plain-HTTP listener (9763, 8280, 9099, 9021)"}}
	}
	return out
}

// ---------------------------------------------------------------- SEC-060

func checkDefaultCredentials(f *Facts) []Result {
	p := f.Pack
	var out []Result
	if p.Layout == pack.LayoutLegacy {
		user := p.Value("user-mgt.xml:/UserManager/Realm/Configuration/AdminUser/UserName")
		pass := p.Value("user-mgt.xml:/UserManager/Realm/Configuration/AdminUser/Password")
		if user.Set() || pass.Set() {
			out = append(out, judgeCredentials("user-mgt.xml AdminUser", user, pass))
		}
	} else if p.Product != pack.MI {
		user, pass := p.Value("super_admin.username"), p.Value("super_admin.password")
		if user.Set() || pass.Set() {
			out = append(out, judgeCredentials("[super_admin]", user, pass))
		}
	}
	if p.Product == pack.MI {
		out = append(out, miInternalUsers(p)...)
	}
	out = append(out, literalAdminCredentials(p)...)
	if len(out) == 0 {
		return []Result{{Status: Unknown, Message: "no administrator credentials found in the configuration",
			Reason: "neither [super_admin] nor a legacy AdminUser nor MI internal API users are set or defaulted"}}
	}
	return out
}

// judgeCredentials fails admin/admin and a password equal to the user name.
func judgeCredentials(subject string, user, pass pack.Value) Result {
	u := strings.TrimSpace(valueText(user))
	switch {
	case pass.Externalised:
		r := resultAt(Pass, pass, "the password is externalised (secure vault or environment), not a literal default")
		r.Subject = subject
		return r
	case !pass.Set():
		r := resultAt(Unknown, pass, "no password is set")
		r.Subject, r.Reason = subject, "the password key has neither a value nor a default"
		return r
	}
	pw := valueText(pass)
	switch {
	case strings.TrimSpace(pw) == "":
		r := resultAt(Fail, pass, fmt.Sprintf("user %q has an empty password", u))
		r.Subject = subject
		return r
	case pw == "admin":
		r := resultAt(Fail, pass, fmt.Sprintf("user %q has the stock password \"admin\"", u))
		r.Subject = subject
		return r
	case u != "" && pw == u:
		r := resultAt(Fail, pass, fmt.Sprintf("user %q has a password equal to the user name", u))
		r.Subject = subject
		return r
	}
	r := resultAt(Pass, pass, fmt.Sprintf("user %q has a non-default password", u))
	r.Subject = subject
	return r
}

// miInternalUsers judges the Micro Integrator's internal API users: the
// file user store (default on) with the built-in admin/admin.
func miInternalUsers(p *pack.Pack) []Result {
	en := p.Value("internal_apis.file_user_store.enable")
	if b, ok := valueBool(en); ok && !b {
		r := resultAt(Pass, en, "the internal APIs' file user store is disabled")
		r.Subject = "[internal_apis] users"
		return []Result{r}
	}
	users := p.Value("internal_apis.users")
	if users.Externalised {
		r := externalisedResult(users, "the internal API users")
		r.Subject = "[internal_apis] users"
		return []Result{r}
	}
	list, _ := users.Raw.([]any)
	if !users.Set() || len(list) == 0 {
		r := resultAt(Unknown, users, "no internal API users found")
		r.Subject, r.Reason = "[internal_apis] users", "internal_apis.users has no value or default"
		return []Result{r}
	}
	var out []Result
	for i, e := range list {
		name, pw := miUser(e)
		sub := fmt.Sprintf("[[internal_apis.users]] #%d", i+1)
		uv := pack.Value{Key: fmt.Sprintf("internal_apis.users.%d.user.name", i), Raw: name, Source: users.Source, Pos: users.Pos}
		pv := pack.Value{Key: fmt.Sprintf("internal_apis.users.%d.user.password", i), Raw: pw, Source: users.Source, Pos: users.Pos}
		if pw != nil {
			pv.Externalised = isReference(rawText(pw))
		} else {
			pv.Source = pack.SourceUnset
		}
		out = append(out, judgeCredentials(sub, uv, pv))
	}
	return out
}

// miUser reads {user = {name, password}} or {"user.name", "user.password"}.
func miUser(e any) (name, pw any) {
	m, ok := e.(map[string]any)
	if !ok {
		return nil, nil
	}
	if u, ok := m["user"].(map[string]any); ok {
		return u["name"], u["password"]
	}
	return m["user.name"], m["user.password"]
}

// literalAdminCredentials looks for literal "admin" passwords in [apim.*]
// tables and [[service_catalog]] (MI talking to APIM).
func literalAdminCredentials(p *pack.Pack) []Result {
	var out []Result
	check := func(prefix string) {
		user, pass := p.Value(prefix+".username"), p.Value(prefix+".password")
		if pass.Source != pack.SourceFile || pass.Externalised {
			return
		}
		pw := valueText(pass)
		if pw == "admin" || (pw != "" && pw == valueText(user)) {
			r := resultAt(Fail, pass, fmt.Sprintf("[%s] uses the literal credentials %q/admin", prefix, valueText(user)))
			r.Subject = "[" + prefix + "]"
			out = append(out, r)
		}
	}
	var walk func(prefix string, depth int)
	walk = func(prefix string, depth int) {
		check(prefix)
		if depth == 0 {
			return
		}
		for _, t := range p.Tables(prefix) {
			walk(prefix+"."+t, depth-1)
		}
	}
	if p.Product == pack.APIM {
		walk("apim", 3)
	}
	for i := 0; i < 32; i++ {
		prefix := fmt.Sprintf("service_catalog.%d", i)
		if !p.Value(prefix+".username").Set() && !p.Value(prefix+".password").Set() && !p.Value(prefix+".apim_host").Set() {
			break
		}
		check(prefix)
	}
	return out
}

// ---------------------------------------------------------------- SEC-070

var defaultKeystoreFiles = map[string]bool{"wso2carbon.jks": true, "wso2carbon.p12": true}

func checkDefaultKeystores(f *Facts) []Result {
	p := f.Pack
	var out []Result
	if p.Layout == pack.LayoutLegacy {
		for _, ks := range []string{"KeyStore", "InternalKeyStore"} {
			file := p.Value("carbon.xml:/Server/Security/" + ks + "/Location")
			pass := p.Value("carbon.xml:/Server/Security/" + ks + "/Password")
			if file.Set() || pass.Set() {
				out = append(out, judgeKeystore(f, "carbon.xml "+ks, file, pass, true))
			}
		}
		file := p.Value("carbon.xml:/Server/Security/TrustStore/Location")
		pass := p.Value("carbon.xml:/Server/Security/TrustStore/Password")
		if file.Set() || pass.Set() {
			out = append(out, judgeKeystore(f, "carbon.xml TrustStore", file, pass, false))
		}
		cfile := p.Value("tomcat/catalina-server.xml:/Server/Service/Connector[@port='9443']/@keystoreFile")
		cpass := p.Value("tomcat/catalina-server.xml:/Server/Service/Connector[@port='9443']/@keystorePass")
		if cfile.Set() || cpass.Set() {
			out = append(out, judgeKeystore(f, "catalina-server.xml 9443 connector keystore", cfile, cpass, true))
		}
	} else {
		for _, ks := range []string{"primary", "tls", "internal"} {
			file := p.Value("keystore." + ks + ".file_name")
			pass := p.Value("keystore." + ks + ".password")
			if file.Set() || pass.Set() {
				out = append(out, judgeKeystore(f, "[keystore."+ks+"]", file, pass, true))
			}
		}
		file, pass := p.Value("truststore.file_name"), p.Value("truststore.password")
		if file.Set() || pass.Set() {
			out = append(out, judgeKeystore(f, "[truststore]", file, pass, false))
		}
	}
	if len(out) == 0 {
		return []Result{{Status: Unknown, Message: "no keystore configuration found", Reason: "no keystore keys are set or defaulted for this pack"}}
	}
	return out
}

// judgeKeystore fails the shipped keystore with its shipped password, and
// any keystore whose password is still wso2carbon.
func judgeKeystore(f *Facts, subject string, file, pass pack.Value, private bool) Result {
	name := path.Base(strings.ReplaceAll(valueText(file), `\`, "/"))
	pw := valueText(pass)
	defaultFile := defaultKeystoreFiles[name]
	// The content decides whether a keystore named like the shipped one
	// holds the shipped key pair (CG-SEC-160 reports it): a readable file
	// without it is the operator's own, whatever its name.
	if k, ok := ksFor(f, subject); ok && k.Err == "" && defaultFile {
		shipped := false
		for _, c := range k.Entries {
			shipped = shipped || (c.PrivateKey && c.WSO2 != "")
		}
		defaultFile = shipped || !private
	}
	switch {
	case pass.Set() && !pass.Externalised && pw == "":
		r := resultAt(Fail, pass, fmt.Sprintf("%s has an empty password", nonEmpty(name, "the keystore")))
		r.Subject = subject
		return r
	case pass.Externalised && defaultFile && private:
		r := resultAt(Unknown, file, fmt.Sprintf("the keystore is the shipped %s; its password is externalised", name))
		r.Subject = subject
		r.Reason = "with an externalised password carbonguard cannot tell whether the shipped key pair was replaced"
		return r
	case pass.Externalised:
		r := resultAt(Pass, pass, fmt.Sprintf("%s with an externalised password", nonEmpty(name, "keystore")))
		r.Subject = subject
		return r
	case pw == "wso2carbon" && defaultFile:
		r := resultAt(Fail, file, fmt.Sprintf("the shipped %s with the shipped password wso2carbon", name))
		r.Subject = subject
		return r
	case pw == "wso2carbon":
		r := resultAt(Fail, pass, fmt.Sprintf("%s still has the shipped password wso2carbon", nonEmpty(name, "the keystore")))
		r.Subject = subject
		return r
	case defaultFile && private:
		r := resultAt(Fail, file, fmt.Sprintf("the keystore file is still the shipped %s (its private key ships in every pack) although the password was changed", name))
		r.Subject = subject
		return r
	}
	r := resultAt(Pass, file, fmt.Sprintf("own keystore %s with a non-default password", nonEmpty(name, "(unnamed)")))
	r.Subject = subject
	return r
}

// ksFor finds the keystore facts of a configuration subject.
func ksFor(f *Facts, subject string) (KeystoreFacts, bool) {
	for _, k := range f.Keystores {
		for _, s := range k.Subjects {
			if s == subject {
				return k, true
			}
		}
	}
	return KeystoreFacts{}, false
}

// ---------------------------------------------------------------- SEC-080

// passwordKeys lists the TOML keys that hold passwords.
func passwordKeys(p *pack.Pack) []string {
	keys := []string{"super_admin.password", "user_store.connection_password", "truststore.password"}
	for _, ks := range []string{"primary", "tls", "internal"} {
		keys = append(keys, "keystore."+ks+".password", "keystore."+ks+".key_password")
	}
	for _, db := range p.Tables("database") {
		keys = append(keys, "database."+db+".password")
		for _, sub := range p.Tables("database." + db) {
			keys = append(keys, "database."+db+"."+sub+".password")
		}
	}
	for i := 0; i < 64; i++ {
		k := fmt.Sprintf("datasource.%d", i)
		if !p.Value(k + ".id").Set() {
			break
		}
		keys = append(keys, k+".password")
	}
	for i := 0; i < 32; i++ {
		k := fmt.Sprintf("service_catalog.%d", i)
		if !p.Value(k+".password").Set() && !p.Value(k+".apim_host").Set() {
			break
		}
		keys = append(keys, k+".password")
	}
	if p.Product == pack.APIM {
		for _, t := range p.Tables("apim") {
			keys = append(keys, "apim."+t+".password")
			for _, s := range p.Tables("apim." + t) {
				keys = append(keys, "apim."+t+"."+s+".password")
			}
		}
	}
	return keys
}

var legacyPasswordKeys = []string{
	"user-mgt.xml:/UserManager/Realm/Configuration/AdminUser/Password",
	"carbon.xml:/Server/Security/KeyStore/Password",
	"carbon.xml:/Server/Security/KeyStore/KeyPassword",
	"carbon.xml:/Server/Security/InternalKeyStore/Password",
	"carbon.xml:/Server/Security/InternalKeyStore/KeyPassword",
	"carbon.xml:/Server/Security/TrustStore/Password",
	"tomcat/catalina-server.xml:/Server/Service/Connector[@port='9443']/@keystorePass",
}

func checkPlaintextPasswords(f *Facts) []Result {
	p := f.Pack
	keys := passwordKeys(p)
	if p.Layout == pack.LayoutLegacy {
		keys = legacyPasswordKeys
	}
	var out []Result
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		v := p.Value(k)
		// Only literals written in a file: defaults are the product's (the
		// keystore and credential checks judge them), $ref{} points at a
		// value judged under its own key.
		if v.Source != pack.SourceFile || v.Externalised || valueText(v) == "" || strings.Contains(valueText(v), "${") {
			continue
		}
		r := resultAt(Fail, v, "password written in plain text")
		r.Subject = k
		out = append(out, r)
	}
	if len(out) == 0 {
		return []Result{{Status: Pass, Message: "no literal passwords found in the configuration files"}}
	}
	return out
}

// ---------------------------------------------------------------- SEC-090

func checkRunAsRoot(f *Facts) []Result {
	s := f.Start
	switch {
	case s.RunAsUser == "root" || (s.RunAsUser != "" && s.RunAsUID == 0):
		return []Result{{Status: Fail, Subject: "run-as user", Value: "root", Source: pack.SourceFile,
			Message: "carbonguard is configured to run the server as root"}}
	case s.RunAsUser != "" && s.RunAsUID > 0:
		return []Result{{Status: Pass, Subject: "run-as user", Value: s.RunAsUser,
			Message: fmt.Sprintf("the server would run as %s (uid %d)", s.RunAsUser, s.RunAsUID)}}
	case s.RunAsUser != "":
		return []Result{{Status: Unknown, Subject: "run-as user", Value: s.RunAsUser,
			Message: fmt.Sprintf("the server would run as %s", s.RunAsUser), Reason: "the user's uid could not be looked up"}}
	}
	if e, ok := f.Host.Errors["UID"]; ok {
		return []Result{{Status: Unknown, Subject: "run-as user", Message: "the current user is not known", Reason: e}}
	}
	who := nonEmpty(f.Host.User, fmt.Sprintf("uid %d", f.Host.UID))
	if f.Host.UID == 0 {
		return []Result{{Status: Fail, Subject: "run-as user", Value: who,
			Message: "carbonguard runs as root and no other user is configured: the server would run as root"}}
	}
	return []Result{{Status: Pass, Subject: "run-as user", Value: who,
		Message: fmt.Sprintf("the server would run as %s (uid %d), the user running carbonguard", who, f.Host.UID)}}
}

// ---------------------------------------------------------------- SEC-100

func checkConsoleExposure(f *Facts) []Result {
	p := f.Pack
	if p.Product == pack.MI {
		return []Result{{Status: NotApplicable, Message: "the Micro Integrator has no management console (its Management API is judged with the ports)"}}
	}
	pt, ok := p.Port("servlet-https")
	if !ok || !pt.Enabled {
		return []Result{{Status: NotApplicable, Message: "the Tomcat HTTPS connector is not in the port table or is switched off"}}
	}
	addrKey := "transport.https.properties.address"
	if p.Layout == pack.LayoutLegacy {
		addrKey = "tomcat/catalina-server.xml:/Server/Service/Connector[@port='9443']/@address"
	}
	addr := p.Value(addrKey)
	subject := fmt.Sprintf("port %d", pt.Port)
	switch {
	case addr.Externalised:
		r := externalisedResult(addr, "the connector's bind address")
		r.Subject = subject
		return []Result{r}
	case addr.Set() && !isWildcard(valueText(addr)):
		r := resultAt(Pass, addr, fmt.Sprintf("the console connector is bound to %s only", valueText(addr)))
		r.Subject = subject
		return []Result{r}
	}
	// A running server shows where it really listens.
	if f.Host.ServerRunning {
		var addrs []string
		wild := false
		for _, l := range f.Host.Listening {
			if l.Port == pt.Port {
				addrs = append(addrs, l.Addr)
				wild = wild || isWildcard(l.Addr)
			}
		}
		if len(addrs) > 0 && !wild {
			return []Result{{Status: Pass, Subject: subject, Value: strings.Join(addrs, ","),
				Message: fmt.Sprintf("the running server listens on %s only", strings.Join(addrs, ", "))}}
		}
	}
	r := Result{Status: Fail, Subject: subject, Key: addrKey, Source: addr.Source, Pos: addr.Pos, Value: valueText(addr),
		Message: fmt.Sprintf("the management console (port %d) listens on all interfaces and the configuration sets no bind address; a firewall or load balancer rule, if any, is outside what carbonguard can see", pt.Port)}
	if !addr.Set() {
		r.Source = pack.SourceUnset
	}
	return []Result{r}
}

func isWildcard(a string) bool {
	a = strings.TrimSpace(a)
	return a == "" || a == "0.0.0.0" || a == "::" || a == "*" || a == "[::]"
}

// ---------------------------------------------------------------- SEC-110

func checkCORS(f *Facts) []Result {
	p := f.Pack
	if p.Product != pack.APIM {
		return []Result{{Status: NotApplicable, Message: "[apim.cors] concerns API Manager only"}}
	}
	origins, creds := p.Value("apim.cors.allow_origins"), p.Value("apim.cors.allow_credentials")
	if !origins.Set() {
		return []Result{{Status: NotApplicable, Message: "CORS is not configured for this node ([apim.cors] allow_origins has no value)"}}
	}
	if origins.Externalised || creds.Externalised {
		v := origins
		if creds.Externalised {
			v = creds
		}
		r := externalisedResult(v, "the CORS policy")
		r.Subject = "[apim.cors]"
		return []Result{r}
	}
	wildcard := false
	for _, o := range strings.Split(valueText(origins), ",") {
		if strings.TrimSpace(o) == "*" {
			wildcard = true
		}
	}
	withCreds, _ := valueBool(creds)
	switch {
	case wildcard && withCreds:
		r := resultAt(Fail, origins, fmt.Sprintf("allow_origins = \"*\" together with allow_credentials = true (%s)", nonEmpty(creds.Pos.String(), sourceText(creds.Source))))
		r.Subject = "[apim.cors]"
		return []Result{r}
	case wildcard:
		r := resultAt(Pass, creds, "allow_origins is \"*\" but allow_credentials is false: no credentials cross origins")
		r.Subject = "[apim.cors]"
		return []Result{r}
	}
	r := resultAt(Pass, origins, "explicit origin list")
	r.Subject = "[apim.cors]"
	return []Result{r}
}

// ---------------------------------------------------------------- SEC-120/130/140

// judgeFlag judges a boolean switch whose good value is want.
func judgeFlag(v pack.Value, subject string, want bool, bad string) Result {
	if v.Externalised {
		r := externalisedResult(v, subject)
		r.Subject = subject
		return r
	}
	b, ok := valueBool(v)
	if !ok {
		r := resultAt(Unknown, v, fmt.Sprintf("%s is not a boolean", v.Key))
		r.Subject, r.Reason = subject, fmt.Sprintf("value %q cannot be read as true or false", valueText(v))
		return r
	}
	if b != want {
		r := resultAt(Fail, v, bad)
		r.Subject = subject
		return r
	}
	r := resultAt(Pass, v, fmt.Sprintf("%s = %v", v.Key, b))
	r.Subject = subject
	return r
}

func checkAdminWSDL(f *Facts) []Result {
	p := f.Pack
	if p.Layout == pack.LayoutLegacy {
		v := p.Value("carbon.xml:/Server/Axis2Config/HideAdminServiceWSDLs")
		if !v.Set() {
			return []Result{{Status: Unknown, Subject: "carbon.xml HideAdminServiceWSDLs", Message: "HideAdminServiceWSDLs is absent from carbon.xml", Reason: "the Carbon 4.4 default when the element is absent is not in the facts"}}
		}
		return []Result{judgeFlag(v, "carbon.xml HideAdminServiceWSDLs", true, "HideAdminServiceWSDLs is false: admin service WSDLs are published")}
	}
	v := p.Value("admin_service.wsdl.enable")
	if !v.Set() {
		return []Result{{Status: NotApplicable, Message: "this product has no admin_service.wsdl.enable setting"}}
	}
	return []Result{judgeFlag(v, "[admin_service.wsdl] enable", false, "admin service WSDLs are published")}
}

func checkShutdownFromAPI(f *Facts) []Result {
	p := f.Pack
	if p.Layout == pack.LayoutLegacy {
		return []Result{{Status: NotApplicable, Message: "the server.enable_shutdown_from_api / enable_restart_from_api switches belong to the TOML configuration (Carbon 4.5+)"}}
	}
	var out []Result
	for _, k := range []string{"server.enable_shutdown_from_api", "server.enable_restart_from_api"} {
		v := p.Value(k)
		if !v.Set() {
			continue
		}
		what := "shutdown"
		if strings.Contains(k, "restart") {
			what = "restart"
		}
		out = append(out, judgeFlag(v, "[server] "+strings.TrimPrefix(k, "server."), false, "the server can be "+map[string]string{"shutdown": "shut down", "restart": "restarted"}[what]+" through the admin service API"))
	}
	if len(out) == 0 {
		return []Result{{Status: NotApplicable, Message: "this product has no shutdown/restart-from-API switches"}}
	}
	return out
}

func checkHSTS(f *Facts) []Result {
	p := f.Pack
	if p.Layout == pack.LayoutLegacy {
		return []Result{{Status: NotApplicable, Message: "the HSTS switch http_header_security_filter.hsts.enabled belongs to the TOML configuration (Carbon 4.5+); Carbon 4.4 sets HSTS in web.xml filters, which the facts do not cover"}}
	}
	v := p.Value("http_header_security_filter.hsts.enabled")
	if !v.Set() {
		return []Result{{Status: NotApplicable, Message: "this product has no http_header_security_filter.hsts.enabled setting"}}
	}
	if pt, ok := p.Port("servlet-https"); ok && !pt.Enabled {
		return []Result{{Status: NotApplicable, Message: "the Tomcat HTTPS connector is switched off"}}
	}
	return []Result{judgeFlag(v, "[http_header_security_filter.hsts] enabled", true, "HSTS is off: browsers are not told to insist on HTTPS")}
}

// ---------------------------------------------------------------- SEC-150

// The Identity Server's shipped endpoint secret (IS 7.1.0 deployment.toml,
// wso2/product-is v7.1.0): [identity.auth_framework.endpoint] app_password
// = "dashboard", and [account_recovery.endpoint.auth] hash, the SHA-256 of
// that same password, which the account recovery endpoint checks.
const isShippedAppPassword = "dashboard"

func isShippedHash() string {
	sum := sha256.Sum256([]byte(isShippedAppPassword))
	return hex.EncodeToString(sum[:])
}

func checkISEndpointSecrets(f *Facts) []Result {
	p := f.Pack
	if p.Product != pack.IS || p.Layout != pack.LayoutTOML {
		return []Result{{Status: NotApplicable, Message: "the authentication and recovery endpoint secrets belong to the Identity Server's deployment.toml"}}
	}
	var out []Result
	if v := p.Value("identity.auth_framework.endpoint.app_password"); v.Set() {
		var r Result
		switch pw := valueText(v); {
		case v.Externalised:
			r = resultAt(Pass, v, "app_password is externalised (secure vault or environment)")
		case strings.TrimSpace(pw) == "":
			r = resultAt(Fail, v, "app_password is empty")
		case pw == isShippedAppPassword:
			r = resultAt(Fail, v, "app_password is the shipped \"dashboard\": the authentication endpoints trust anyone who knows it")
		default:
			r = resultAt(Pass, v, "app_password is not the shipped value")
		}
		r.Subject = "[identity.auth_framework.endpoint] app_password"
		out = append(out, r)
	}
	if v := p.Value("account_recovery.endpoint.auth.hash"); v.Set() {
		var r Result
		switch h := strings.ToLower(strings.TrimSpace(valueText(v))); {
		case v.Externalised:
			r = resultAt(Pass, v, "the recovery endpoint hash is externalised")
		case h == "":
			r = resultAt(Fail, v, "the recovery endpoint hash is empty")
		case h == isShippedHash():
			r = resultAt(Fail, v, "the recovery endpoint hash is the shipped one, SHA-256 of \"dashboard\"")
		default:
			r = resultAt(Pass, v, "the recovery endpoint hash is not the shipped one")
		}
		r.Subject = "[account_recovery.endpoint.auth] hash"
		out = append(out, r)
	}
	if len(out) == 0 {
		return []Result{{Status: NotApplicable, Message: "this Identity Server configures neither app_password nor the recovery endpoint hash"}}
	}
	return out
}

func init() {
	register(Check{
		ID: "CG-SEC-150", Title: "Identity Server endpoint secrets left at the shipped values", Category: "security", Severity: High,
		Rationale: "Identity Server 7's deployment.toml ships [identity.auth_framework.endpoint] app_password = \"dashboard\" and " +
			"[account_recovery.endpoint.auth] hash, the SHA-256 of \"dashboard\". The authentication and account recovery " +
			"endpoints use them to trust their callers; left as shipped, the secret is in every copy of the product. An empty " +
			"value is no better.",
		Remediation: "Set app_password to a long random secret (from the secure vault: \"$secret{app_password}\") and hash to the " +
			"SHA-256 hex of that secret (printf '%s' \"$SECRET\" | sha256sum), on every Identity Server node.",
		Run: checkISEndpointSecrets,
	})
}
