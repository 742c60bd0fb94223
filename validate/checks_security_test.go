package validate

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const apimTOML = "repository/conf/deployment.toml"
const miTOML = "conf/deployment.toml"

// toml is a minimal deployment.toml for APIM fixtures: everything not
// written takes the product default.
func toml(extra string) map[string]string {
	return map[string]string{apimTOML: "[server]\nhostname = \"apim.example.com\"\n\n" + extra}
}

func init() {
	addFixtures(
		// CG-SEC-010 hostname verification
		fixture{ID: "CG-SEC-010", Name: "stock-apim-script", Want: Fail},
		fixture{ID: "CG-SEC-010", Name: "java-opts-lose-to-script", Want: Fail, Facts: func(t *testing.T, f *Facts) {
			f.Start.JavaOpts = "-Xms2g -Dorg.opensaml.httpclient.https.disableHostnameVerification=false -Dhttpclient.hostnameVerifier=Strict"
		}},
		// carbonguard's start properties count only when carbonguard is the
		// launcher: otherwise the stock script's AllowAll line is judged.
		fixture{ID: "CG-SEC-010", Name: "carbonguard-start-properties-no-launcher", Want: Fail, Facts: func(t *testing.T, f *Facts) {
			f.Start.ScriptArgs = carbonguardStartArgs
		}},
		fixture{ID: "CG-SEC-010", Name: "carbonguard-start-gate", Want: Pass, Facts: func(t *testing.T, f *Facts) {
			f.Start.ScriptArgs = carbonguardStartArgs
			f.Launcher.Gate = true
		}},
		fixture{ID: "CG-SEC-010", Name: "carbonguard-drop-in-installed", Want: Pass, Files: map[string]string{DropInScript: "#!/usr/bin/env bash\n# carbonguard-server.sh\n"}, Facts: func(t *testing.T, f *Facts) {
			f.Start.ScriptArgs = carbonguardStartArgs
		}},
		fixture{ID: "CG-SEC-010", Name: "carbonguard-systemd-unit", Want: Pass, Host: func(h *Host) {
			h.CarbonguardUnits = []string{"/etc/systemd/system/carbonguard-wso2am-4.2.0.service"}
		}, Facts: func(t *testing.T, f *Facts) {
			f.Start.ScriptArgs = carbonguardStartArgs
		}},
		fixture{ID: "CG-SEC-010", Name: "user-arg-overrides-start-properties", Want: Fail, Facts: func(t *testing.T, f *Facts) {
			f.Start.ScriptArgs = carbonguardStartArgs
			f.Start.UserArgs = []string{"-Dhttpclient.hostnameVerifier=AllowAll"}
		}},
		fixture{ID: "CG-SEC-010", Name: "script-edited", Want: Pass, Edit: func(t *testing.T, home string) {
			replaceIn(t, home, "bin/api-manager.sh", "disableHostnameVerification=true", "disableHostnameVerification=false")
			replaceIn(t, home, "bin/api-manager.sh", "hostnameVerifier=AllowAll", "hostnameVerifier=Strict")
		}},
		fixture{ID: "CG-SEC-010", Name: "kernel-script-default-and-localhost", Pack: "is-7.1", Want: Pass},
		fixture{ID: "CG-SEC-010", Name: "mi-script-sets-nothing", Pack: "mi-4.3", Want: Unknown},

		// CG-SEC-020 server hostname
		fixture{ID: "CG-SEC-020", Name: "stock-localhost", Want: Fail},
		fixture{ID: "CG-SEC-020", Name: "fqdn-resolves", Want: Pass, Files: toml("")},
		fixture{ID: "CG-SEC-020", Name: "does-not-resolve", Want: Fail, Files: map[string]string{apimTOML: "[server]\nhostname = \"nowhere.example.com\"\n"}},
		fixture{ID: "CG-SEC-020", Name: "resolves-to-loopback-only", Want: Fail, Files: toml(""), Host: func(h *Host) {
			h.ResolvedAddrs["apim.example.com"] = []string{"127.0.0.2"}
		}},
		fixture{ID: "CG-SEC-020", Name: "externalised", Want: Unknown, Files: map[string]string{apimTOML: "[server]\nhostname = \"$env{HOST_NAME}\"\n"}},
		fixture{ID: "CG-SEC-020", Name: "legacy-absent", Pack: "carbon-4.4", Want: Fail},
		fixture{ID: "CG-SEC-020", Name: "legacy-set", Pack: "carbon-4.4", Want: Pass, Edit: func(t *testing.T, home string) {
			replaceIn(t, home, "repository/conf/carbon.xml", "<!--HostName>www.wso2.org</HostName-->", "<HostName>apim.example.com</HostName>")
			replaceIn(t, home, "repository/conf/carbon.xml", "<!--MgtHostName>mgt.wso2.org</MgtHostName-->", "<MgtHostName>apim.example.com</MgtHostName>")
		}},

		// CG-SEC-030 TLS protocols
		fixture{ID: "CG-SEC-030", Name: "stock-defaults", Want: Fail, Host: jdkAcceptsWeakTLS},
		// The stock defaults on a JDK whose policy refuses TLSv1/1.1: a low
		// note of CG-SEC-031, not a high finding.
		fixture{ID: "CG-SEC-030", Name: "stock-defaults-jdk-refuses", Want: Pass},
		fixture{ID: "CG-SEC-030", Name: "stock-defaults-jdk-policy-unknown", Want: Fail, Host: func(h *Host) {
			h.Java.SecurityKnown, h.Java.DisabledTLS, h.Java.SecurityErr = false, nil, "no java.security found"
		}},
		// WebSub's https endpoint has no protocol key: the JDK decides.
		fixture{ID: "CG-SEC-030", Name: "websub-jdk-defaults-weak", Want: Fail, Host: jdkAcceptsWeakTLS, Files: toml(`[transport.https.properties]
protocols = "+TLSv1.2,+TLSv1.3"
[transport.passthru_https.listener.parameters]
HttpsProtocols = "TLSv1.2,TLSv1.3"
[transport.receiver]
ssl_enabled_protocols = ["TLSv1.2","TLSv1.3"]
[apim.wss]
ssl_enabled_protocols = "TLSv1.2,TLSv1.3"
[broker.transport.amqp.ssl_connection]
ssl_enabled_protocols = "TLSv1.2"
`)},
		// A Traffic Manager opens no pass-through, wss or WebSub listener:
		// their weak defaults are not findings there.
		fixture{ID: "CG-SEC-030", Name: "traffic-manager-own-listeners-only", Pack: "apim-4.7-traffic-manager", Want: Pass, Host: jdkAcceptsWeakTLS, Files: map[string]string{
			apimTOML: "[server]\nhostname = \"tm.example.com\"\n[transport.https.properties]\nprotocols = \"+TLSv1.2,+TLSv1.3\"\n[transport.receiver]\nssl_enabled_protocols = [\"TLSv1.2\"]\n[broker.transport.amqp.ssl_connection]\nssl_enabled_protocols = \"TLSv1.2\"\n",
		}},
		fixture{ID: "CG-SEC-030", Name: "mi-management-api", Pack: "mi-4.3", Want: Fail, Host: jdkAcceptsWeakTLS},
		fixture{ID: "CG-SEC-030", Name: "tls12-13-everywhere", Want: Pass, Files: toml(`[transport.https.properties]
protocols = "+TLSv1.2,+TLSv1.3"
[transport.passthru_https.listener.parameters]
HttpsProtocols = "TLSv1.2,TLSv1.3"
[transport.receiver]
ssl_enabled_protocols = ["TLSv1.2","TLSv1.3"]
[apim.wss]
ssl_enabled_protocols = "TLSv1.2,TLSv1.3"
[broker.transport.amqp.ssl_connection]
ssl_enabled_protocols = "TLSv1.2"
`)},
		fixture{ID: "CG-SEC-030", Name: "tomcat-minus-syntax", Want: Pass, Files: toml(`[transport.https.sslHostConfig.properties]
protocols = "all,-SSLv2Hello,-TLSv1,-TLSv1.1"
[transport.passthru_https.listener.parameters]
HttpsProtocols = "TLSv1.2"
[transport.receiver]
ssl_enabled_protocols = ["TLSv1.2"]
[broker.transport.amqp.ssl_connection]
enabled = false
`)},
		fixture{ID: "CG-SEC-030", Name: "only-passthru-weak", Want: Fail, Host: jdkAcceptsWeakTLS, Files: toml(`[transport.https.properties]
protocols = "+TLSv1.2"
[transport.passthru_https.listener.parameters]
HttpsProtocols = "TLSv1.1,TLSv1.2"
`)},
		fixture{ID: "CG-SEC-030", Name: "legacy-catalina", Pack: "carbon-4.4", Want: Fail, Host: jdkAcceptsWeakTLS},
		fixture{ID: "CG-SEC-031", Name: "stock-defaults-jdk-refuses", Want: Fail},
		fixture{ID: "CG-SEC-031", Name: "tls12-only", Want: Pass, Files: toml(`[transport.https.properties]
protocols = "+TLSv1.2,+TLSv1.3"
[transport.passthru_https.listener.parameters]
HttpsProtocols = "TLSv1.2,TLSv1.3"
[transport.receiver]
ssl_enabled_protocols = ["TLSv1.2","TLSv1.3"]
[apim.wss]
ssl_enabled_protocols = "TLSv1.2,TLSv1.3"
[broker.transport.amqp.ssl_connection]
ssl_enabled_protocols = "TLSv1.2"
`)},
		fixture{ID: "CG-SEC-031", Name: "jdk-policy-unknown", Want: Unknown, Host: func(h *Host) {
			h.Java.SecurityKnown, h.Java.DisabledTLS, h.Java.SecurityErr = false, nil, "no java.security found"
		}},
		fixture{ID: "CG-SEC-030", Name: "legacy-catalina-fixed", Pack: "carbon-4.4", Want: Pass, Edit: func(t *testing.T, home string) {
			replaceIn(t, home, "repository/conf/tomcat/catalina-server.xml", `sslEnabledProtocols="TLSv1,TLSv1.1,TLSv1.2"`, `sslEnabledProtocols="TLSv1.2"`)
		}},

		// CG-SEC-040 compression with the JDK the checklist names
		fixture{ID: "CG-SEC-040", Name: "jdk-8u151", Want: Fail, Host: func(h *Host) {
			h.Java = JavaRuntime{Home: "/opt/jdk1.8.0_151", Version: "1.8.0_151", Major: 8}
		}},
		fixture{ID: "CG-SEC-040", Name: "jdk-17", Want: Pass},
		fixture{ID: "CG-SEC-040", Name: "jdk-8u152", Want: Fail, Host: func(h *Host) {
			h.Java = JavaRuntime{Home: "/opt/jdk1.8.0_152", Version: "1.8.0_152", Major: 8}
		}},
		fixture{ID: "CG-SEC-040", Name: "jdk-8u161-fixed", Want: Pass, Host: func(h *Host) {
			h.Java = JavaRuntime{Home: "/opt/jdk1.8.0_161", Version: "1.8.0_161", Major: 8}
		}},
		fixture{ID: "CG-SEC-040", Name: "jdk-8u144-before", Want: Pass, Host: func(h *Host) {
			h.Java = JavaRuntime{Home: "/opt/jdk1.8.0_144", Version: "1.8.0_144", Major: 8}
		}},
		fixture{ID: "CG-SEC-040", Name: "jdk-7u161-unsure", Want: Unknown, Host: func(h *Host) {
			h.Java = JavaRuntime{Home: "/opt/jdk1.7.0_161", Version: "1.7.0_161", Major: 7}
		}},
		fixture{ID: "CG-SEC-040", Name: "jdk-8u151-compression-off", Want: Pass, Files: toml("[transport.http.properties]\ncompression = \"off\"\n[transport.https.properties]\ncompression = \"off\"\n"), Host: func(h *Host) {
			h.Java = JavaRuntime{Home: "/opt/jdk1.8.0_151", Version: "1.8.0_151", Major: 8}
		}},
		fixture{ID: "CG-SEC-040", Name: "jdk-unknown", Want: Unknown, Host: func(h *Host) {
			h.Java = JavaRuntime{VersionErr: "JAVA_HOME is not set"}
		}},

		// CG-SEC-041 compression on TLS
		fixture{ID: "CG-SEC-041", Name: "stock-on", Want: Fail},
		fixture{ID: "CG-SEC-041", Name: "https-off", Want: Pass, Files: toml("[transport.https.properties]\ncompression = \"off\"\n")},
		fixture{ID: "CG-SEC-041", Name: "legacy-on", Pack: "carbon-4.4", Want: Fail},

		// CG-SEC-050 plain HTTP listeners
		fixture{ID: "CG-SEC-050", Name: "stock-9763-8280", Want: Fail},
		fixture{ID: "CG-SEC-050", Name: "apim47-http-off", Pack: "apim-4.7-gateway", Want: Pass, Files: map[string]string{
			apimTOML: "[server]\nhostname = \"gw.example.com\"\nserver_role = \"gateway-worker\"\n\n[transport.http]\nenable = false\n\n[transport.passthru_http.listener]\nenable = false\n\n[apim.ws]\nenable = false\n\n[apim.webhooks.http]\nenable = false\n",
		}},

		// CG-SEC-150 Identity Server endpoint secrets
		fixture{ID: "CG-SEC-150", Name: "is71-shipped", Pack: "is-7.1", Want: Fail},
		fixture{ID: "CG-SEC-150", Name: "is71-changed", Pack: "is-7.1", Want: Pass, Edit: func(t *testing.T, home string) {
			replaceIn(t, home, "repository/conf/deployment.toml", `app_password= "dashboard"`, `app_password= "$secret{app_password}"`)
			replaceIn(t, home, "repository/conf/deployment.toml", `66cd9688a2ae068244ea01e70f0e230f5623b7fa4cdecb65070a09ec06452262`, `0c5d1a1b8d4dd80e93d4d2b1d2d73d0a4f3aa9a0bd6c8f3a4b5f8a2b0f4e6c11`)
		}},
		fixture{ID: "CG-SEC-150", Name: "is71-empty-password", Pack: "is-7.1", Want: Fail, Edit: func(t *testing.T, home string) {
			replaceIn(t, home, "repository/conf/deployment.toml", `app_password= "dashboard"`, `app_password= ""`)
		}},
		fixture{ID: "CG-SEC-150", Name: "apim-not-applicable", Want: NotApplicable},

		// CG-SEC-060 default credentials
		fixture{ID: "CG-SEC-060", Name: "empty-super-admin-password", Want: Fail, Files: toml("[super_admin]\nusername = \"root-admin\"\npassword = \"\"\n")},
		fixture{ID: "CG-SEC-060", Name: "stock-admin-admin", Want: Fail},
		fixture{ID: "CG-SEC-060", Name: "hardened-vault", Pack: "apim-4.2-hardened", Want: Pass},
		fixture{ID: "CG-SEC-060", Name: "strong-literal", Want: Pass, Files: toml("[super_admin]\nusername = \"ops\"\npassword = \"x7#Lq-9vTz\"\n")},
		fixture{ID: "CG-SEC-060", Name: "password-equals-user", Want: Fail, Files: toml("[super_admin]\nusername = \"ops\"\npassword = \"ops\"\n")},
		fixture{ID: "CG-SEC-060", Name: "apim-literal-admin", Want: Fail, Files: toml("[super_admin]\nusername = \"ops\"\npassword = \"$secret{admin}\"\n\n[apim.key_manager]\nusername = \"admin\"\npassword = \"admin\"\n")},
		fixture{ID: "CG-SEC-060", Name: "mi-internal-apis-default", Pack: "mi-4.3", Want: Fail},
		fixture{ID: "CG-SEC-060", Name: "mi-file-user-store-off", Pack: "mi-4.3", Want: Pass, Files: map[string]string{
			miTOML: "[server]\nhostname = \"mi.example.com\"\n\n[internal_apis.file_user_store]\nenable = false\n",
		}},
		fixture{ID: "CG-SEC-060", Name: "mi-service-catalog-admin", Pack: "mi-4.3", Want: Fail, Files: map[string]string{
			miTOML: "[server]\nhostname = \"mi.example.com\"\n\n[internal_apis.file_user_store]\nenable = false\n\n[[service_catalog]]\napim_host = \"https://apim.example.com:9443\"\nenable = true\nusername = \"admin\"\npassword = \"admin\"\n",
		}},
		fixture{ID: "CG-SEC-060", Name: "legacy-user-mgt", Pack: "carbon-4.4", Want: Fail},

		// CG-SEC-070 default keystores
		fixture{ID: "CG-SEC-070", Name: "stock-wso2carbon", Want: Fail},
		fixture{ID: "CG-SEC-070", Name: "hardened-own-keystore", Pack: "apim-4.2-hardened", Want: Pass},
		fixture{ID: "CG-SEC-070", Name: "shipped-file-new-password", Want: Fail, Files: toml(`[keystore.primary]
file_name = "wso2carbon.jks"
password = "$secret{ks}"
alias = "wso2carbon"
key_password = "$secret{ks}"
[keystore.tls]
file_name = "wso2carbon.jks"
password = "n3w-Passw0rd"
alias = "wso2carbon"
key_password = "n3w-Passw0rd"
[truststore]
file_name = "client-truststore.jks"
password = "$secret{ts}"
`)},
		fixture{ID: "CG-SEC-070", Name: "legacy-carbon-xml", Pack: "carbon-4.4", Want: Fail},
		fixture{ID: "CG-SEC-070", Name: "is71-p12", Pack: "is-7.1", Want: Fail},

		// CG-SEC-080 plaintext passwords
		fixture{ID: "CG-SEC-080", Name: "stock-literals", Want: Fail},
		fixture{ID: "CG-SEC-080", Name: "hardened-vault", Pack: "apim-4.2-hardened", Want: Pass},
		fixture{ID: "CG-SEC-080", Name: "legacy-xml", Pack: "carbon-4.4", Want: Fail},

		// CG-SEC-090 run as root
		fixture{ID: "CG-SEC-090", Name: "unprivileged-user", Want: Pass},
		fixture{ID: "CG-SEC-090", Name: "carbonguard-as-root", Want: Fail, Host: func(h *Host) { h.UID, h.User = 0, "root" }},
		fixture{ID: "CG-SEC-090", Name: "root-with-run-as-user", Want: Pass, Host: func(h *Host) { h.UID, h.User = 0, "root" }, Facts: func(t *testing.T, f *Facts) {
			f.Start.RunAsUser, f.Start.RunAsUID = "wso2carbon", 1001
		}},
		fixture{ID: "CG-SEC-090", Name: "configured-root", Want: Fail, Facts: func(t *testing.T, f *Facts) {
			f.Start.RunAsUser, f.Start.RunAsUID = "root", 0
		}},

		// CG-SEC-100 console exposure
		fixture{ID: "CG-SEC-100", Name: "stock-all-interfaces", Want: Fail},
		fixture{ID: "CG-SEC-100", Name: "bound-to-internal-address", Want: Pass, Files: toml("[transport.https.properties]\naddress = \"10.0.0.10\"\n")},
		fixture{ID: "CG-SEC-100", Name: "running-on-loopback", Want: Pass, Host: func(h *Host) {
			h.Listening = []ListeningPort{{Addr: "127.0.0.1", Port: 9443}}
		}, Facts: func(t *testing.T, f *Facts) { f.Host.ServerRunning = true }},
		fixture{ID: "CG-SEC-100", Name: "mi-has-no-console", Pack: "mi-4.3", Want: NotApplicable},

		// CG-SEC-110 CORS
		fixture{ID: "CG-SEC-110", Name: "stock-wildcard-no-credentials", Want: Pass},
		fixture{ID: "CG-SEC-110", Name: "wildcard-with-credentials", Want: Fail, Files: toml("[apim.cors]\nallow_origins = \"*\"\nallow_credentials = true\n")},
		fixture{ID: "CG-SEC-110", Name: "explicit-origins", Pack: "apim-4.2-hardened", Want: Pass},
		fixture{ID: "CG-SEC-110", Name: "not-apim", Pack: "is-7.1", Want: NotApplicable},

		// CG-SEC-120 admin service WSDLs
		fixture{ID: "CG-SEC-120", Name: "stock-hidden", Want: Pass},
		fixture{ID: "CG-SEC-120", Name: "wsdl-enabled", Want: Fail, Files: toml("[admin_service.wsdl]\nenable = true\n")},
		fixture{ID: "CG-SEC-120", Name: "legacy-hidden", Pack: "carbon-4.4", Want: Pass},
		fixture{ID: "CG-SEC-120", Name: "legacy-exposed", Pack: "carbon-4.4", Want: Fail, Edit: func(t *testing.T, home string) {
			replaceIn(t, home, "repository/conf/carbon.xml", "<HideAdminServiceWSDLs>true</HideAdminServiceWSDLs>", "<HideAdminServiceWSDLs>false</HideAdminServiceWSDLs>")
		}},

		// CG-SEC-130 shutdown/restart from the API
		fixture{ID: "CG-SEC-130", Name: "stock-off", Want: Pass},
		fixture{ID: "CG-SEC-130", Name: "shutdown-on", Want: Fail, Files: map[string]string{apimTOML: "[server]\nhostname = \"apim.example.com\"\nenable_shutdown_from_api = true\n"}},

		// CG-SEC-140 HSTS
		fixture{ID: "CG-SEC-140", Name: "stock-off", Want: Fail},
		fixture{ID: "CG-SEC-140", Name: "hardened-on", Pack: "apim-4.2-hardened", Want: Pass},
	)
}

func TestEnabledProtocols(t *testing.T) {
	for _, tc := range []struct {
		in     string
		tomcat bool
		want   []string
	}{
		{"+TLSv1,+TLSv1.1,+TLSv1.2", true, []string{"TLSv1", "TLSv1.1", "TLSv1.2"}},
		{"+TLSv1.2,+TLSv1.3", true, []string{"TLSv1.2", "TLSv1.3"}},
		{"all,-SSLv2Hello,-TLSv1,-TLSv1.1", true, []string{"TLSv1.2", "TLSv1.3"}},
		{"TLSv1,TLSv1.1,TLSv1.2", false, []string{"TLSv1", "TLSv1.1", "TLSv1.2"}},
		{`["TLSv1.2","TLSv1.3"]`, false, []string{"TLSv1.2", "TLSv1.3"}},
		{"TLSv1.2 TLSv1.3", false, []string{"TLSv1.2", "TLSv1.3"}},
	} {
		assert.Equal(t, tc.want, enabledProtocols(tc.in, tc.tomcat), tc.in)
	}
}

func TestSystemPropsPrecedence(t *testing.T) {
	f := fixtureFacts(t, fixture{Facts: func(t *testing.T, f *Facts) {
		f.Start.JavaOpts = "-Dhttpclient.hostnameVerifier=Strict"
		f.Start.ScriptArgs = []string{"-Dhttpclient.hostnameVerifier=DefaultAndLocalhost"}
		f.Start.UserArgs = []string{"-Dhttpclient.hostnameVerifier=AllowAll"}
	}})
	win, all, ok := EffectiveProp(SystemProps(f), "httpclient.hostnameVerifier")
	require.True(t, ok)
	require.Len(t, all, 4)
	assert.Equal(t, []PropSource{PropJavaOpts, PropScript, PropStartArgs, PropUserArgs},
		[]PropSource{all[0].Source, all[1].Source, all[2].Source, all[3].Source})
	assert.Equal(t, "AllowAll", win.Value)
	assert.Equal(t, PropUserArgs, win.Source)
	assert.Equal(t, "bin/api-manager.sh", all[1].Pos.File)
	assert.Equal(t, 243, all[1].Pos.Line)
}
