package testpack

// scriptTemplate names a template in testdata/scripts and the name it has in
// a fixture pack's bin/.
type scriptTemplate struct {
	Name     string // bin/<Name> in the pack
	Template string // testdata/scripts/<Template>
}

// packScripts maps each fixture pack to its startup scripts. The copies in
// testdata/packs/<pack>/bin must equal their template (TestScriptsMatchTemplates).
var packScripts = map[string][]scriptTemplate{
	"apim-4.2":                 {{"api-manager.sh", "apim-4.2.sh"}},
	"apim-4.2-hardened":        {{"api-manager.sh", "apim-4.2.sh"}},
	"apim-4.7-gateway":         {{"gateway.sh", "apim-4.7.sh"}},
	"apim-4.7-traffic-manager": {{"traffic-manager.sh", "apim-4.7.sh"}},
	"apim-4.7-control-plane":   {{"api-cp.sh", "apim-4.7.sh"}},
	"apim-4.2-key-manager":     {{"api-manager.sh", "apim-4.2.sh"}},
	"apim-3.2-gateway":         {{"wso2server.sh", "apim-3.2.sh"}},
	"apim-3.2-traffic-manager": {{"wso2server.sh", "apim-3.2.sh"}},
	"apim-2.6-gateway":         {{"wso2server.sh", "apim-2.6.sh"}},
	"apim-2.6-traffic-manager": {{"wso2server.sh", "apim-2.6.sh"}},
	"is-5.10":                  {{"wso2server.sh", "kernel-4.8.sh"}},
	"is-7.1":                   {{"wso2server.sh", "kernel-4.8.sh"}},
	"mi-4.3":                   {{"micro-integrator.sh", "mi-4.3.sh"}},
	"carbon-4.4":               {{"wso2server.sh", "apim-2.6.sh"}},
}

// defaultJDK is the JDK version each pack's script accepts without warning.
var defaultJDK = map[string]string{
	"apim-4.7-gateway":         "21.0.7",
	"apim-4.7-traffic-manager": "21.0.7",
	"apim-4.7-control-plane":   "21.0.7",
	"carbon-4.4":               "1.8.0_412",
	"apim-2.6-gateway":         "1.8.0_412",
	"apim-2.6-traffic-manager": "1.8.0_412",
	"apim-3.2-gateway":         "11.0.27",
	"apim-3.2-traffic-manager": "11.0.27",
}

const fallbackJDK = "17.0.15"
