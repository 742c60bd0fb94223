package pack

import (
	"fmt"

	"github.com/rs/zerolog"
)

// Product is the WSO2 product family a home holds.
type Product string

// The products carbonguard knows.
const (
	APIM   Product = "apim"   // WSO2 API Manager
	IS     Product = "is"     // WSO2 Identity Server
	MI     Product = "mi"     // WSO2 Micro Integrator
	Carbon Product = "carbon" // another Carbon product, or the bare kernel
)

// Layout is how a pack keeps its configuration.
type Layout string

// The configuration layouts.
const (
	LayoutTOML   Layout = "toml"       // deployment.toml, Carbon 4.5+ config mapper (APIM 3+, IS 5.9+, MI)
	LayoutLegacy Layout = "legacy-xml" // Carbon 4.4: hand-edited XML files under repository/conf
)

// Source tells where an effective value came from.
type Source string

// The value sources.
const (
	SourceFile     Source = "file"     // explicit in deployment.toml or a legacy XML file
	SourceDefault  Source = "default"  // the product's default for an absent key
	SourceRef      Source = "ref"      // resolved through $ref{other.key}
	SourceSysProp  Source = "sysprop"  // a -D system property (e.g. -DportOffset)
	SourceInferred Source = "inferred" // derived from other keys (e.g. a role switching indexing off)
	SourceUnset    Source = "unset"    // neither set nor defaulted
)

// Position is a place in a file of the pack. File is relative to the pack
// home with forward slashes ("repository/conf/deployment.toml"); Line is
// 1-based and 0 when unknown (a built-in default has no line).
type Position struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
}

func (p Position) String() string {
	switch {
	case p.File == "":
		return ""
	case p.Line > 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	default:
		return p.File
	}
}

// Value is the effective value of one configuration key.
type Value struct {
	Key string `json:"key"` // dotted TOML key, e.g. "transport.https.properties.port"; legacy keys are XPath-like, e.g. "carbon.xml:/Server/HostName"
	// Raw is the value as decoded: string, int64, float64, bool, []any or
	// map[string]any; nil when unset.
	Raw    any    `json:"value,omitempty"`
	Source Source `json:"source"`
	// Externalised is true when the value is (or contains) $secret{}, $env{},
	// $sys{} or a Helm/Jinja {{ }} expression: its runtime value is unknown.
	Externalised bool     `json:"externalised,omitempty"`
	Pos          Position `json:"pos,omitempty"`
	// Via lists the keys followed through $ref{} to reach Raw.
	Via []string `json:"via,omitempty"`
	// CarbonVars lists the ${...} Carbon variables the value still holds
	// (${carbon.home}, ${mgt.transport.https.port}, ...): Carbon resolves them
	// at run time, so they are kept literal here.
	CarbonVars []string `json:"carbon_vars,omitempty"`
	// Problem says why the value could not be evaluated (a $ref{} cycle, a
	// $ref{} to a key without a value); empty when it could.
	Problem string `json:"problem,omitempty"`
}

// Set reports whether the key has a value (explicit, defaulted or derived).
func (v Value) Set() bool { return v.Source != SourceUnset && v.Source != "" }

// Port is one listener of the effective port table.
type Port struct {
	Name    string   `json:"name"`    // stable id, e.g. "servlet-https", "jmx-rmi-registry"
	Service string   `json:"service"` // what owns it, for people: "Tomcat HTTPS (management console, portals, REST APIs)"
	Base    int      `json:"base"`    // the configured or default port before the offset
	Offset  int      `json:"offset"`  // the offset applied (0 for ports that do not follow it)
	Port    int      `json:"port"`    // effective: Base + Offset
	Key     string   `json:"key"`     // the configuration key that sets Base
	Source  Source   `json:"source"`  // where Base came from
	Pos     Position `json:"pos,omitempty"`
	Enabled bool     `json:"enabled"` // false when the listener is switched off (e.g. JMX rmi_server_start = false)
	Plain   bool     `json:"plain"`   // true for a plaintext (non-TLS) listener
	// Unsure is set when the node's role may or may not open this listener
	// (WSO2's sources do not say, or the role is unknown): why. Checks
	// report Unknown, never a failure, about such a listener.
	Unsure string `json:"unsure,omitempty"`
}

// ClosedPort is a listener of the product that this node's role does not
// open.
type ClosedPort struct {
	Name    string `json:"name"`
	Service string `json:"service"`
	Port    int    `json:"port"` // where it would listen
	Why     string `json:"why"`
}

// Pack is a product home as read by Open. It is a snapshot of what was on
// disk at Open; nothing in it changes the pack.
type Pack struct {
	Home         string  `json:"home"`                   // absolute, cleaned
	Product      Product `json:"product"`                // apim, is, mi, carbon
	ProductCode  string  `json:"product_code,omitempty"` // updates/product.txt, e.g. "wso2am-4.2.0"
	Version      string  `json:"version,omitempty"`      // "4.2.0"
	Distribution string  `json:"distribution,omitempty"` // APIM 4.5+: all-in-one, control-plane, gateway, traffic-manager
	Role         string  `json:"role,omitempty"`         // effective [server] server_role (APIM), e.g. "default", "gateway-worker"
	// Profile is the -Dprofile the JVM gets (Options.SysProps), "" when none.
	Profile string `json:"profile,omitempty"`
	// Node is what the APIM node does (NodeAllInOne, NodeGateway, ...,
	// NodeUnknown), derived from every source there is: the distribution,
	// -Dprofile, profile optimisation, [server] server_role, the webapps
	// present and, on Carbon 4.4, axis2.xml's transport receivers. Empty for
	// IS, MI and the kernel.
	Node string `json:"node,omitempty"`
	// NodeSource names the source that decided Node (NodeFromDistribution,
	// NodeFromProfile, ...); "" when Node is unknown.
	NodeSource string `json:"node_source,omitempty"`
	// NodeEvidence is what each source said, strongest first.
	NodeEvidence []NodeEvidence `json:"node_evidence,omitempty"`
	// NodeConflict says why Node is unknown.
	NodeConflict string `json:"node_conflict,omitempty"`
	Layout       Layout `json:"layout"`
	// UpdateLevel is updates/config.json "update-level"; -1 when the tool ran
	// but never updated, and also -1 with UpdateLevelKnown false when the file
	// or the key is absent.
	UpdateLevel      int    `json:"update_level"`
	UpdateLevelKnown bool   `json:"update_level_known"`
	UpdateTool       string `json:"update_tool,omitempty"` // "u2" (config.json), "in-place" (config.yaml), "wum" or ""
	Script           string `json:"script"`                // absolute path of the stock startup script
	LogFile          string `json:"log_file"`              // absolute path of wso2carbon.log
	PIDFile          string `json:"pid_file"`              // absolute path of wso2carbon.pid
	ConfigFile       string `json:"config_file,omitempty"` // absolute path of deployment.toml; "" for the legacy layout
	// Offset is the effective port offset: -DportOffset (SysProps) wins over
	// [server] offset / carbon.xml Ports/Offset.
	Offset Value `json:"offset"`
	// Ports are the listeners this node opens (or, where WSO2's sources do
	// not establish it for the node's role, may open: Port.Unsure).
	Ports []Port `json:"ports"`
	// Closed are the product's listeners this node's role does not open,
	// with the reason.
	Closed []ClosedPort `json:"closed_ports,omitempty"`
	// SysProps are the -D system properties Open was told the JVM will get
	// (Options.SysProps); they take part in effective values such as the offset.
	SysProps map[string]string `json:"sys_props,omitempty"`
	// Warnings are non-fatal oddities met while reading (an unknown key type,
	// an offset that is a string, ...), each naming file and line.
	Warnings []string `json:"warnings,omitempty"`
	// ConfigErr is, for a pack opened with Options.Lenient, why its
	// configuration could not be read (a *ConfigError); the pack then has no
	// configuration values, role, offset or ports. nil otherwise.
	ConfigErr error `json:"-"`

	st *state // what Open read, behind the accessor methods
}

// Options tunes OpenWith.
type Options struct {
	// SysProps are the -D system properties the JVM will get (script
	// arguments or JAVA_OPTS), e.g. {"portOffset": "2"}. They take part in
	// effective values: -DportOffset wins over [server] offset.
	SysProps map[string]string
	// Logger receives debug notes on what was read; the zero value logs nothing.
	Logger zerolog.Logger
	// Lenient opens a pack whose configuration cannot be read (invalid
	// TOML, a bad offset, a missing file) instead of failing: identity,
	// update level, script, log and PID files come from the paths and
	// updates/, and the error is kept in Pack.ConfigErr. For what acts on
	// the process or on snapshots (stop, status, rollback), which must keep
	// working when a bad edit or update broke the configuration.
	Lenient bool
}
