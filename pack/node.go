package pack

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The kinds of API Manager node (Pack.Node).
const (
	NodeAllInOne       = "all-in-one"
	NodeGateway        = "gateway"
	NodeTrafficManager = "traffic-manager"
	NodeControlPlane   = "control-plane"
	NodeKeyManager     = "key-manager"
	NodePublisher      = "publisher"
	NodeDevPortal      = "devportal"
	// NodeUnknown: the sources disagree, or none of them can be read (an
	// externalised server_role); checks that depend on the role judge
	// conservatively (unknown, never fail).
	NodeUnknown = "unknown"
)

var allNodeKinds = []string{NodeAllInOne, NodeGateway, NodeTrafficManager, NodeControlPlane, NodeKeyManager, NodePublisher, NodeDevPortal}

// The sources of the node's role, strongest first (NodeEvidence.Source).
const (
	NodeFromDistribution = "distribution"         // updates/product.txt or the split distribution's script (APIM 4.5+)
	NodeFromProfile      = "-Dprofile"            // the profile the JVM is started with (start arguments, [start] profile)
	NodeFromOptimisation = "profile optimisation" // deployment.toml is a copy of deployment-templates/<profile>.toml
	NodeFromServerRole   = "server_role"          // [server] server_role
	NodeFromWebapps      = "webapps"              // the webapps profile optimisation left in repository/deployment/server/webapps
	NodeFromAxis2        = "axis2.xml"            // Carbon 4.4: the classes of the http/https transport receivers
	NodeFromDefault      = "default"              // nothing says otherwise: an all-in-one node
)

// NodeEvidence is what one source says the node is.
type NodeEvidence struct {
	Source string `json:"source"`
	// Says lists the node kinds the source allows; empty when the source
	// cannot be read (an externalised server_role).
	Says   []string `json:"says,omitempty"`
	Detail string   `json:"detail"` // for people: what was read, e.g. `[server] server_role = "gateway-worker"`
	Pos    Position `json:"pos,omitempty"`
	// Weak evidence only decides when nothing else says anything: the stock
	// server_role = "default", which WSO2 leaves in place when a pack is
	// started with -Dprofile, and which its 4.5+ split distributions ship.
	Weak bool `json:"weak,omitempty"`
	// Prefer is the kind the source means when it allows several (the API
	// control plane distribution runs as a control plane unless started as
	// its key-manager profile).
	Prefer string `json:"prefer,omitempty"`
}

// profileNodes maps -Dprofile values, and the server_role values of the
// deployment templates, to node kinds. Profiles: 4.x gateway-worker,
// control-plane, traffic-manager, api-key-manager-deprecated (and the
// api-publisher/devportal-deprecated cases of 4.2's profileSetup.sh); the
// 4.5+ API control plane's key-manager; 3.x api-publisher, api-devportal,
// api-key-manager, gateway-worker, traffic-manager; 2.6 api-store,
// api-publisher, api-key-manager, gateway-manager, gateway-worker,
// traffic-manager (wso2/product-apim bin/profileSetup.sh of each line;
// apim.docs.wso2.com "Product Profiles" 2.6/3.2, "Running the API-M
// Profiles" 4.x).
var profileNodes = map[string]string{
	"default":                    NodeAllInOne,
	"gateway-worker":             NodeGateway,
	"gateway-manager":            NodeGateway,
	"control-plane":              NodeControlPlane,
	"traffic-manager":            NodeTrafficManager,
	"api-key-manager":            NodeKeyManager,
	"api-key-manager-deprecated": NodeKeyManager,
	"key-manager":                NodeKeyManager,
	"api-publisher":              NodePublisher,
	"api-publisher-deprecated":   NodePublisher,
	"api-devportal":              NodeDevPortal,
	"api-devportal-deprecated":   NodeDevPortal,
	"api-store":                  NodeDevPortal,
}

// ProfileNode maps a -Dprofile or server_role value to a node kind.
func ProfileNode(profile string) (string, bool) {
	n, ok := profileNodes[strings.TrimSpace(profile)]
	return n, ok
}

// detectRole sets Role (APIM's effective server_role), Profile, Node,
// NodeSource, NodeEvidence and NodeConflict. Every source is read; the
// strongest one that agrees with all the others decides; when two disagree
// the node is unknown and NodeConflict says which.
func (p *Pack) detectRole() {
	if p.Product != APIM {
		return
	}
	var ev []NodeEvidence
	add := func(e NodeEvidence) { ev = append(ev, e) }

	// The split distributions (APIM 4.5+): what was downloaded decides.
	switch p.Distribution {
	case NodeGateway, NodeTrafficManager:
		add(NodeEvidence{Source: NodeFromDistribution, Says: []string{p.Distribution}, Detail: p.st.distFrom})
	case NodeControlPlane:
		// api-cp.sh also starts the control plane as a key manager
		// (--optimize -Dprofile=key-manager, the 4.7 API control plane's
		// profileSetup.sh).
		add(NodeEvidence{Source: NodeFromDistribution, Says: []string{NodeControlPlane, NodeKeyManager}, Prefer: NodeControlPlane, Detail: p.st.distFrom})
	}

	if prof, ok := p.SysProps["profile"]; ok {
		p.Profile = strings.TrimSpace(prof)
		e := NodeEvidence{Source: NodeFromProfile, Detail: "-Dprofile=" + p.Profile}
		if n, ok := ProfileNode(p.Profile); ok {
			e.Says = []string{n}
		} else {
			e.Detail += " (not a profile of API Manager " + p.Version + ")"
		}
		add(e)
	}

	if p.Layout == LayoutTOML {
		if e, ok := p.optimisationEvidence(); ok {
			add(e)
		}
		v := p.Value("server.server_role")
		if s, ok := v.Raw.(string); ok {
			p.Role = s
			e := NodeEvidence{Source: NodeFromServerRole, Detail: fmt.Sprintf("[server] server_role = %q", s), Pos: v.Pos}
			switch {
			case v.Externalised:
				e.Detail += " (" + firstNonEmpty(v.Problem, "externalised") + ")"
				p.warnf("%s: [server] server_role = %q cannot be evaluated (%s); defaults are those of role %q", v.Pos, s, firstNonEmpty(v.Problem, "externalised"), s)
			default:
				if n, ok := ProfileNode(s); ok {
					e.Says = []string{n}
					e.Weak = n == NodeAllInOne
				} else {
					e.Detail += " (not a role carbonguard knows)"
				}
			}
			if v.Source == SourceFile || len(e.Says) > 0 || v.Externalised {
				add(e)
			}
		}
	}
	if p.Role == "" {
		p.Role = "default"
	}
	if e, ok := p.webappsEvidence(); ok {
		add(e)
	}
	if p.Layout == LayoutLegacy {
		if e, ok := p.axis2Evidence(); ok {
			add(e)
		}
	}
	p.NodeEvidence = ev
	p.Node, p.NodeSource, p.NodeConflict = decideNode(ev)
}

// decideNode intersects what the sources allow.
func decideNode(ev []NodeEvidence) (node, source, conflict string) {
	cand := map[string]bool{}
	for _, k := range allNodeKinds {
		cand[k] = true
	}
	var strong []NodeEvidence
	unreadable := ""
	for _, e := range ev {
		if e.Weak {
			continue
		}
		if len(e.Says) == 0 {
			if unreadable == "" {
				unreadable = e.Source + " " + e.Detail
			}
			continue
		}
		next := map[string]bool{}
		for _, k := range e.Says {
			if cand[k] {
				next[k] = true
			}
		}
		if len(next) == 0 {
			return NodeUnknown, "", conflictText(append(strong, e))
		}
		cand = next
		strong = append(strong, e)
	}
	if len(strong) == 0 {
		if unreadable != "" {
			return NodeUnknown, "", "the role cannot be told: " + unreadable
		}
		for _, e := range ev {
			if e.Weak {
				return e.Says[0], e.Source, ""
			}
		}
		return NodeAllInOne, NodeFromDefault, ""
	}
	if unreadable != "" && len(strong) > 0 && strong[0].Source != NodeFromDistribution && strong[0].Source != NodeFromProfile {
		// An unreadable server_role next to weaker evidence: the templated
		// role may well say something else.
		return NodeUnknown, "", fmt.Sprintf("the role cannot be told: %s, while %s %s", unreadable, strong[0].Source, strong[0].Detail)
	}
	kinds := sortedKeys(cand)
	if len(kinds) == 1 {
		// The strongest source that names exactly this kind decided.
		for _, e := range strong {
			if len(e.Says) == 1 {
				return kinds[0], e.Source, ""
			}
		}
		return kinds[0], strong[0].Source, ""
	}
	for _, e := range strong {
		if e.Prefer != "" && cand[e.Prefer] {
			return e.Prefer, e.Source, ""
		}
	}
	for _, e := range ev {
		if e.Weak && cand[e.Says[0]] {
			return e.Says[0], e.Source, ""
		}
	}
	if cand[NodeAllInOne] {
		return NodeAllInOne, NodeFromDefault, ""
	}
	var who []string
	for _, e := range strong {
		who = append(who, e.Source+" ("+e.Detail+")")
	}
	return NodeUnknown, "", fmt.Sprintf("%s leave(s) it open between %s", strings.Join(who, " and "), strings.Join(kinds, ", "))
}

func conflictText(ev []NodeEvidence) string {
	parts := make([]string, len(ev))
	for i, e := range ev {
		parts[i] = fmt.Sprintf("%s says %s (%s)", e.Source, strings.Join(e.Says, " or "), e.Detail)
	}
	return "the sources disagree: " + strings.Join(parts, "; ")
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// optimisationEvidence: profileSetup.sh (APIM 3.x/4.x, wso2/product-apim
// bin/profileSetup.sh replaceDeploymentConfiguration) renames
// deployment.toml to deployment.toml.backup and copies
// repository/resources/conf/deployment-templates/<profile>.toml over it. A
// deployment.toml still equal (blanks aside) to one template names the
// profile; once edited, its server_role (the templates set it) is read as
// such.
func (p *Pack) optimisationEvidence() (NodeEvidence, bool) {
	if !exists(p.ConfigFile + ".backup") {
		return NodeEvidence{}, false
	}
	dir := filepath.Join(p.Home, "repository", "resources", "conf", "deployment-templates")
	cur, err := readSmall(p.ConfigFile)
	if err != nil {
		return NodeEvidence{}, false
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return NodeEvidence{}, false
	}
	for _, de := range entries {
		name := de.Name()
		if de.IsDir() || !strings.HasSuffix(name, ".toml") {
			continue
		}
		b, err := readSmall(filepath.Join(dir, name))
		if err != nil || normBlank(string(b)) != normBlank(string(cur)) {
			continue
		}
		prof := strings.TrimSuffix(name, ".toml")
		e := NodeEvidence{Source: NodeFromOptimisation, Pos: Position{File: p.rel(p.ConfigFile)},
			Detail: fmt.Sprintf("deployment.toml is repository/resources/conf/deployment-templates/%s and deployment.toml.backup exists", name)}
		if n, ok := ProfileNode(prof); ok {
			e.Says = []string{n}
		}
		return e, true
	}
	return NodeEvidence{}, false
}

func normBlank(s string) string { return strings.Join(strings.Fields(s), " ") }

// webappsEvidence reads what profile optimisation left in
// repository/deployment/server/webapps (wso2/product-apim
// bin/profileSetup.sh, 2.6 to 4.2; apim.docs.wso2.com "Running the API-M
// Profiles" shows the gateway-worker run removing every portal): the
// gateway keeps only am#sample#pizzashack and (4.x) api#am#gateway#v2, the
// Traffic Manager nothing (4.x: internal#data#v*), the key manager the OAuth
// and key manager webapps, the publisher and Developer Portal their own, the
// 4.x control plane everything but api#am#gateway#v2. No directory, or a
// mix these rules do not cover, says nothing.
func (p *Pack) webappsEvidence() (NodeEvidence, bool) {
	dir := filepath.Join(p.Home, "repository", "deployment", "server", "webapps")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return NodeEvidence{}, false
	}
	var names []string
	for _, de := range entries {
		if n := de.Name(); !strings.HasPrefix(n, ".") {
			names = append(names, strings.TrimSuffix(n, ".war"))
		}
	}
	has := func(prefixes ...string) bool {
		for _, n := range names {
			for _, pre := range prefixes {
				if n == pre || strings.HasPrefix(n, pre+"#") {
					return true
				}
			}
		}
		return false
	}
	pub := has("publisher", "api#am#publisher")
	dev := has("devportal", "store", "api#am#devportal", "api#am#store")
	oauth := has("oauth2")
	kmops := has("keymanager-operations")
	gw := has("api#am#gateway")
	internalData := has("internal#data")
	pizza := has("am#sample#pizzashack")
	major, _ := versionMajorMinor(p.Version)
	var says []string
	switch {
	case len(names) == 0:
		// 3.x and 2.6 strip both a Traffic Manager and a gateway without
		// the sample to nothing.
		says = []string{NodeTrafficManager, NodeGateway}
	case !pub && !dev && !oauth && !gw && !pizza && internalData && len(names) == countPrefix(names, "internal#data"):
		says = []string{NodeTrafficManager}
	case !pub && !dev && !oauth && !internalData && (gw || pizza):
		says = []string{NodeGateway}
	case oauth && kmops && !pub && !dev:
		says = []string{NodeKeyManager}
	case pub && dev && gw:
		says = []string{NodeAllInOne}
	case pub && dev && !gw && major >= 4:
		says = []string{NodeControlPlane}
	case pub && !dev:
		says = []string{NodePublisher}
	case dev && !pub:
		says = []string{NodeDevPortal}
	default:
		return NodeEvidence{}, false
	}
	sort.Strings(names)
	list := strings.Join(names, ", ")
	if list == "" {
		list = "none"
	}
	return NodeEvidence{Source: NodeFromWebapps, Says: says, Pos: Position{File: "repository/deployment/server/webapps"},
		Detail: "webapps present: " + list}, true
}

func countPrefix(names []string, prefix string) int {
	n := 0
	for _, s := range names {
		if s == prefix || strings.HasPrefix(s, prefix+"#") {
			n++
		}
	}
	return n
}

// Transport receiver classes of a Carbon 4.4 axis2.xml: the gateway's
// pass-through (or older NIO) listeners, or Carbon's servlet transport,
// which is Tomcat's 9763/9443 connector and not a listener of its own
// (APIM 2.6 conf/axis2.xml; kernel 4.4.35 axis2.xml; the Traffic Manager
// profile replaces axis2.xml with axis2_TM.xml, whose http/https receivers
// are org.wso2.carbon.core.transports.http.Http(s)TransportListener).
func passThroughClass(class string) bool {
	return strings.Contains(class, ".passthru.") || strings.Contains(class, ".nhttp.")
}

func servletClass(class string) bool {
	return strings.HasPrefix(class, "org.wso2.carbon.core.transports.http.")
}

// axis2Evidence: pass-through receivers make the node able to carry API
// traffic (not a Traffic Manager); servlet-transport receivers are what the
// Traffic Manager's (and, the facts do not say otherwise, the key
// manager's) axis2.xml holds.
func (p *Pack) axis2Evidence() (NodeEvidence, bool) {
	d, err := p.XML("axis2/axis2.xml")
	if err != nil {
		return NodeEvidence{}, false
	}
	var pt, servlet []string
	var pos Position
	for _, r := range d.FindAll("/axisconfig/transportReceiver") {
		name, class := r.SelectAttrValue("name", ""), r.SelectAttrValue("class", "")
		if name != "http" && name != "https" {
			continue
		}
		switch {
		case passThroughClass(class):
			pt = append(pt, name+"="+class)
		case servletClass(class):
			servlet = append(servlet, name+"="+class)
		default:
			continue
		}
		if pos.File == "" {
			pos = d.Pos(r)
		}
	}
	switch {
	case len(pt) > 0 && len(servlet) == 0:
		return NodeEvidence{Source: NodeFromAxis2, Pos: pos, Says: []string{NodeAllInOne, NodeGateway, NodePublisher, NodeDevPortal, NodeKeyManager},
			Detail: "pass-through transport receivers: " + strings.Join(pt, ", ")}, true
	case len(servlet) > 0 && len(pt) == 0:
		return NodeEvidence{Source: NodeFromAxis2, Pos: pos, Says: []string{NodeTrafficManager, NodeKeyManager},
			Detail: "servlet transport receivers (no pass-through listener): " + strings.Join(servlet, ", ")}, true
	}
	return NodeEvidence{}, false
}
