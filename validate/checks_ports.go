package validate

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/carbonguard/carbonguard/pack"
)

// Ports, JMX, proxy and Traffic Manager <-> gateway checks (CG-NET). Facts:
// wso2-config.md §2 (defaults, offset rule, literal URLs, the helm-apim
// double shift), §3 (jmx.xml, carbon.xml Ports), checks table rows 6 and 7;
// WSO2's production deployment guidelines (firewall list, port 80
// forwarding, the qpid heartbeat note, the proxy properties).

func init() {
	register(
		Check{
			ID: "CG-NET-010", Title: "Effective port outside 1-65535", Category: "ports", Severity: High,
			Rationale: "Carbon adds the port offset ([server] offset, carbon.xml Ports/Offset, or -DportOffset, which wins) to every " +
				"listener: 9443, 9763, 8280, 8243, 9999, 11111, 9611, 9711, 5672, 8672, 9099, 8099, 10389, 4000 and the others. " +
				"An offset or a configured port that pushes a listener past 65535 makes the bind fail at start. The result lists the " +
				"whole effective port table, so the report shows what the server will open.",
			Remediation: "Lower [server] offset (or -DportOffset) or the configured port so that every listener stays within " +
				"1-65535; run `carbonguard ports` to see the table.",
			Run: checkPortRange,
		},
		Check{
			ID: "CG-NET-020", Title: "Two listeners of the pack share a port", Category: "ports", Severity: High,
			Rationale: "Each enabled listener binds its own TCP port; two of them configured (or shifted) onto the same number make " +
				"the second bind fail with \"Address already in use\" and the transport, or the whole server, does not come up.",
			Remediation: "Give each listener its own port: change one of the keys named in the finding, keeping in mind that the " +
				"offset is added to both.",
			Run: checkDuplicatePorts,
		},
		Check{
			ID: "CG-NET-030", Title: "A port of the pack is already in use on this host", Category: "ports", Severity: High,
			Rationale: "A listener whose effective port another process already holds cannot bind, and Carbon fails or starts " +
				"without that transport. The host's listening sockets (/proc/net/tcp, tcp6) are compared with the effective " +
				"port table; the check is skipped while the pack's own server runs, since it holds these ports itself.",
			Remediation: "Stop the process holding the port (ss -ltnp shows it), or move this pack with [server] offset / " +
				"-DportOffset to a free range.",
			Run: checkPortsInUse,
		},
		Check{
			ID: "CG-NET-040", Title: "Privileged port for a server that does not run as root", Category: "ports", Severity: Medium,
			Rationale: "Ports below 1024 can be bound only by root (or with CAP_NET_BIND_SERVICE). A non-root server configured " +
				"for, say, port 80 or 443 fails to bind. WSO2's production guidelines say to keep the product on its unprivileged " +
				"ports and add a port-forwarding rule at the firewall instead of running as root.",
			Remediation: "Keep the listener on its default port (9443, 8243, ... plus offset) and forward 80/443 to it at the " +
				"firewall or load balancer (e.g. iptables -t nat REDIRECT), rather than running the server as root.",
			Run: checkPrivilegedPorts,
		},
		Check{
			ID: "CG-NET-050", Title: "Offset set while literal URLs keep unshifted ports", Category: "ports", Severity: Medium,
			Rationale: "The offset moves the listeners, but URLs written literally in deployment.toml are not shifted: " +
				"[[apim.gateway.environment]] ws_endpoint/wss_endpoint/service_url, [apim.throttling] throttle_decision_endpoints, " +
				"traffic_manager_urls, traffic_manager_auth_urls, [apim.event_hub] event_listening_endpoints. A URL naming this " +
				"node (localhost, 127.0.0.1) with a default port then points at nothing, or at another instance on the host. " +
				"Carbon variables such as ${mgt.transport.https.port} are shifted and are fine.",
			Remediation: "Write the shifted port into each URL (default + offset, as helm-apim does with {{ add 9611 portOffset }}), " +
				"or use the Carbon variable (${mgt.transport.https.port}, ${https.nio.port}) where one exists.",
			Run: checkUnshiftedURLs,
		},
		Check{
			ID: "CG-NET-060", Title: "A port already includes the offset and is shifted again", Category: "ports", Severity: Medium,
			Rationale: "Carbon adds the offset to every configured port. A port written as default + offset (helm-apim's gateway " +
				"sets both offset = portOffset and [transport.https] properties.port = 9443 + portOffset) ends up at default + " +
				"2 x offset, which clients, health checks and the other nodes do not expect.",
			Remediation: "Write the unshifted default (e.g. properties.port = 9443) and let the offset move it, or drop the offset " +
				"and write the final port.",
			Run: checkDoubleShift,
		},
		Check{
			ID: "CG-NET-070", Title: "Ports to open in the firewall", Category: "ports", Severity: Info,
			Rationale: "WSO2's production checklist lists the ports that must be reachable when a firewall sits in front of the " +
				"product (9443, 9763, 9999, 8280, 8243, ...). With an offset they all move; this finding lists the effective ones " +
				"of every enabled listener, so the firewall rules match the server (also printed by `carbonguard ports`).",
			Remediation: "Open only the ports clients and the other nodes need (typically HTTPS 9443 and 8243 plus offset), keep " +
				"management (9443 console, JMX 9999/11111) on a management network, and accept this note.",
			Run: checkFirewallList,
		},
		Check{
			ID: "CG-NET-080", Title: "Port conflict with another pack on this host", Category: "ports", Severity: High,
			Rationale: "Several product instances on one host need distinct port ranges: WSO2 gives each its own offset. Two packs " +
				"named in the same call whose effective ports overlap cannot both start; whichever starts second fails to bind.",
			Remediation: "Give each instance on the host its own [server] offset (or -DportOffset), far enough apart that no " +
				"listener overlaps (e.g. 0, 1, 2 when the defaults are used).",
			Run: checkCrossPackPorts,
		},
		Check{
			ID: "CG-NET-090", Title: "JMX remote monitoring (RMI) is enabled", Category: "jmx", Severity: Medium,
			Rationale: "With [monitoring.jmx] rmi_server_start true (the default on API Manager, the Micro Integrator and the kernel; " +
				"Identity Server defaults to false) Carbon opens an RMI registry (9999) and RMI server (11111), plus the offset, " +
				"for remote JMX. The registry is created on all interfaces whatever rmi_hostname says, logins use the Carbon user " +
				"store, and JMX can change the running server. WSO2 documents rmi_server_start = false as the way to disable it.",
			Remediation: "Set [monitoring.jmx] rmi_server_start = false (Carbon 4.4: <StartRMIServer>false</StartRMIServer> in " +
				"repository/conf/etc/jmx.xml) unless you monitor through JMX; if you do, firewall 9999/11111 (+offset) to the " +
				"monitoring network.",
			Run: checkJMXEnabled,
		},
		Check{
			ID: "CG-NET-091", Title: "JMX RMI server bound to a non-local host name", Category: "jmx", Severity: High,
			Rationale: "rmi_hostname (jmx.xml HostName) is the address the RMI server exports and the name JMX clients are told to " +
				"connect to. Anything other than localhost publishes remote JMX, a full management interface, beyond the host.",
			Remediation: "Keep [monitoring.jmx] rmi_hostname = \"localhost\" and reach JMX through an SSH tunnel, or disable it " +
				"(rmi_server_start = false); if remote JMX is required, restrict 9999/11111 (+offset) to the monitoring network.",
			Run: checkJMXHostname,
		},
		Check{
			ID: "CG-NET-100", Title: "Broker heartbeat between Traffic Manager and gateway is off", Category: "network", Severity: Info,
			Rationale: "Gateways receive throttle decisions from the Traffic Manager over a JMS (AMQP) connection. WSO2's production " +
				"checklist says that when a firewall sits between them, idle connections are dropped unless the broker's heartbeat " +
				"is non-zero (its example: <heartbeat><delay>60</delay>). The heartbeat is set on the nodes that run the broker " +
				"(Traffic Manager, control plane, all-in-one): in 3.x/4.x with [qpid.heartbeat] delay in deployment.toml (default " +
				"\"0\"), which renders repository/conf/advanced/qpid-config.xml anew at every start; in Carbon 4.4 in qpid-config.xml " +
				"itself.",
			Remediation: "If a firewall or NAT sits between Traffic Manager and gateways, set [qpid.heartbeat] delay = 60 and " +
				"timeout_factor = 2.0 in the broker node's deployment.toml (Carbon 4.4: <heartbeat><delay>60</delay>" +
				"<timeoutFactor>2.0</timeoutFactor></heartbeat> in repository/conf/advanced/qpid-config.xml); otherwise accept this note.",
			Run: checkQpidHeartbeat,
		},
		Check{
			ID: "CG-NET-110", Title: "Proxy set in the environment but not for the JVM", Category: "network", Severity: Medium,
			Rationale: "The JVM ignores the http_proxy/https_proxy environment variables. A host that needs a proxy for outbound " +
				"HTTP(S) (key managers, identity providers, back ends, update servers) must pass it as system properties; WSO2's " +
				"checklist names -Dhttp.proxyHost and -Dhttp.proxyPort (and Java reads https.proxyHost/https.proxyPort for HTTPS).",
			Remediation: "Pass -Dhttp.proxyHost=<host> -Dhttp.proxyPort=<port> (and -Dhttps.proxyHost/-Dhttps.proxyPort, plus " +
				"-Dhttp.nonProxyHosts for internal names) to the JVM: JAVA_OPTS, or carbonguard.toml [start] properties " +
				"(or proxy_host/proxy_port).",
			Run: checkProxyProps,
		},
	)
}

// FirewallPorts is the firewall list of a pack: every enabled listener with
// its effective port (offset included), sorted by port, one entry per port.
// `carbonguard ports` prints it; CG-NET-070 reports it.
func FirewallPorts(p *pack.Pack) []pack.Port {
	if p == nil {
		return nil
	}
	seen := map[int]bool{}
	var out []pack.Port
	for _, pt := range netEnabled(p) {
		if seen[pt.Port] {
			continue
		}
		seen[pt.Port] = true
		out = append(out, pt)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out
}

// netUnsure turns a failure about a listener the node's role may not open
// into Unknown: a listener carbonguard cannot show the node opens never
// fails a check (its Unsure says why).
func netUnsure(r Result, pts ...pack.Port) Result {
	if r.Status != Fail {
		return r
	}
	for _, pt := range pts {
		if pt.Unsure != "" {
			r.Status = Unknown
			r.Reason = pt.Name + ": " + pt.Unsure
			return r
		}
	}
	return r
}

// netEnabled lists the listeners the server will open (or, marked Unsure,
// may open).
func netEnabled(p *pack.Pack) []pack.Port {
	var out []pack.Port
	for _, pt := range p.Ports {
		if pt.Enabled {
			out = append(out, pt)
		}
	}
	return out
}

// netOffsetUnknown is the one Unknown result for checks that need the
// effective ports when the offset itself is externalised; nil otherwise.
func netOffsetUnknown(p *pack.Pack, what string) []Result {
	if !p.Offset.Externalised {
		return nil
	}
	r := resultAt(Unknown, p.Offset, what+" cannot be judged: the effective ports depend on the offset")
	r.Subject = "port offset"
	r.Reason = fmt.Sprintf("the port offset (%s = %s) is externalised, resolved only at run time; configured ports before the offset: %s",
		p.Offset.Key, valueText(p.Offset), netBaseList(netEnabled(p)))
	return []Result{r}
}

func netBaseList(pts []pack.Port) string {
	parts := make([]string, len(pts))
	for i, pt := range pts {
		parts[i] = fmt.Sprintf("%d (%s)", pt.Base, pt.Name)
	}
	return strings.Join(parts, ", ")
}

// netPortUnknown says why a listener's configured port cannot be known: a
// port value that is externalised or not a number (the pack model then
// assumes the default). "" when it is known. The offset is judged apart
// (netOffsetUnknown).
func netPortUnknown(p *pack.Pack, pt pack.Port) string {
	if pt.Key == "" {
		return ""
	}
	v := p.Value(pt.Key)
	if !v.Set() {
		return ""
	}
	if v.Externalised {
		return fmt.Sprintf("%s = %s is externalised", pt.Key, valueText(v))
	}
	if _, ok := v.Int(); !ok {
		return fmt.Sprintf("%s = %s is not a port number", pt.Key, valueText(v))
	}
	return ""
}

func netPortResult(st Status, pt pack.Port, msg string) Result {
	return Result{
		Status: st, Subject: fmt.Sprintf("port %d (%s)", pt.Port, pt.Name), Key: pt.Key,
		Value: strconv.Itoa(pt.Port), Source: pt.Source, Pos: pt.Pos, Message: msg,
	}
}

func netDescribe(pt pack.Port) string {
	if pt.Offset != 0 {
		return fmt.Sprintf("%d (%s: %d + offset %d)", pt.Port, pt.Name, pt.Base, pt.Offset)
	}
	return fmt.Sprintf("%d (%s)", pt.Port, pt.Name)
}

func netPortList(pts []pack.Port) string {
	parts := make([]string, len(pts))
	for i, pt := range pts {
		parts[i] = netDescribe(pt)
	}
	return strings.Join(parts, ", ")
}

// ---------------------------------------------------------------- NET-010

func checkPortRange(f *Facts) []Result {
	p := f.Pack
	pts := netEnabled(p)
	if len(pts) == 0 {
		return []Result{{Status: NotApplicable, Message: "the pack model found no enabled listener"}}
	}
	if u := netOffsetUnknown(p, "the effective port table"); u != nil {
		return u
	}
	var out []Result
	var ok []pack.Port
	for _, pt := range pts {
		if why := netPortUnknown(p, pt); why != "" {
			r := netPortResult(Unknown, pt, fmt.Sprintf("the effective port of %s cannot be computed", pt.Service))
			r.Reason = why
			out = append(out, r)
			continue
		}
		if pt.Port < 1 || pt.Port > 65535 {
			out = append(out, netUnsure(netPortResult(Fail, pt, fmt.Sprintf("%s would listen on %s, outside 1-65535: the bind fails at start",
				pt.Service, netDescribe(pt))), pt))
			continue
		}
		ok = append(ok, pt)
	}
	if len(ok) > 0 {
		r := Result{Status: Pass, Subject: "effective port table", Key: p.Offset.Key, Value: valueText(p.Offset),
			Source: p.Offset.Source, Pos: p.Offset.Pos,
			Message: fmt.Sprintf("offset %s; listeners: %s", netOffsetText(p), netPortList(ok))}
		out = append([]Result{r}, out...)
	}
	return out
}

// netNodeText names the node for messages: "gateway node", "API Manager node".
func netNodeText(p *pack.Pack) string {
	switch {
	case p.Node == pack.NodeUnknown:
		return "node (role unknown)"
	case p.Node != "":
		return p.Node + " node"
	}
	return "node"
}

func netOffsetText(p *pack.Pack) string {
	if p.Offset.Externalised {
		return valueText(p.Offset) + " (externalised)"
	}
	s := valueText(p.Offset)
	if s == "" {
		s = "0"
	}
	if p.Offset.Source == pack.SourceSysProp {
		s += " (-DportOffset)"
	}
	return s
}

// ---------------------------------------------------------------- NET-020

func checkDuplicatePorts(f *Facts) []Result {
	p := f.Pack
	byPort := map[int][]pack.Port{}
	var unknown []Result
	for _, pt := range netEnabled(p) {
		// An externalised offset moves every port alike; only an unknown
		// port value hides a clash.
		if why := netPortUnknown(p, pt); why != "" {
			r := netPortResult(Unknown, pt, fmt.Sprintf("%s cannot be compared with the other listeners", pt.Service))
			r.Reason = why
			unknown = append(unknown, r)
			continue
		}
		byPort[pt.Port] = append(byPort[pt.Port], pt)
	}
	if len(byPort) == 0 && len(unknown) == 0 {
		return []Result{{Status: NotApplicable, Message: "the pack model found no enabled listener"}}
	}
	ports := make([]int, 0, len(byPort))
	for n := range byPort {
		ports = append(ports, n)
	}
	sort.Ints(ports)
	var out []Result
	for _, n := range ports {
		pts := byPort[n]
		if len(pts) < 2 {
			continue
		}
		names := make([]string, len(pts))
		for i, pt := range pts {
			names[i] = fmt.Sprintf("%s (%s, %s)", pt.Name, pt.Key, pt.Source)
		}
		// Cite the explicit one: that is the line to change.
		cite := pts[0]
		for _, pt := range pts {
			if pt.Source == pack.SourceFile {
				cite = pt
				break
			}
		}
		out = append(out, netUnsure(netPortResult(Fail, cite, fmt.Sprintf("port %d is used by %d listeners: %s", n, len(pts), strings.Join(names, "; "))), pts...))
	}
	if len(out) == 0 {
		out = append(out, Result{Status: Pass, Subject: "effective port table",
			Message: fmt.Sprintf("the %d enabled listeners use distinct ports", len(byPort))})
	}
	return append(out, unknown...)
}

// ---------------------------------------------------------------- NET-030

func checkPortsInUse(f *Facts) []Result {
	p := f.Pack
	if f.Host.ServerRunning {
		return []Result{{Status: Skipped, Subject: "listening sockets",
			Message: "the pack's own server is running and holds its ports",
			Reason:  "a running server of this pack listens on these ports itself; stop it to test for other holders"}}
	}
	if e, ok := f.Host.Errors["Listening"]; ok {
		return []Result{{Status: Unknown, Subject: "listening sockets", Message: "the host's listening sockets could not be read", Reason: e}}
	}
	if u := netOffsetUnknown(p, "whether the ports are free"); u != nil {
		return u
	}
	held := map[int][]string{}
	for _, l := range f.Host.Listening {
		held[l.Port] = append(held[l.Port], l.Addr)
	}
	runErr, runUnknown := f.Host.Errors["ServerRunning"]
	var out []Result
	checked := 0
	for _, pt := range netEnabled(p) {
		if why := netPortUnknown(p, pt); why != "" {
			r := netPortResult(Unknown, pt, fmt.Sprintf("cannot tell whether the port of %s is free", pt.Service))
			r.Reason = why
			out = append(out, r)
			continue
		}
		checked++
		addrs, busy := held[pt.Port]
		if !busy {
			continue
		}
		msg := fmt.Sprintf("port %s is already listening on %s: %s cannot bind", netDescribe(pt), strings.Join(addrs, ", "), pt.Service)
		if runUnknown {
			r := netPortResult(Unknown, pt, msg)
			r.Reason = "whether this pack's own server is running could not be told (" + runErr + "); it may be the holder"
			out = append(out, r)
			continue
		}
		out = append(out, netUnsure(netPortResult(Fail, pt, msg), pt))
	}
	if checked > 0 && !netAny(out, Fail) && !netAny(out, Unknown) {
		out = append(out, Result{Status: Pass, Subject: "listening sockets",
			Message: fmt.Sprintf("none of the %d effective ports is in use on this host", checked)})
	}
	if len(out) == 0 {
		return []Result{{Status: NotApplicable, Message: "the pack model found no enabled listener"}}
	}
	return out
}

func netAny(rs []Result, st Status) bool {
	for _, r := range rs {
		if r.Status == st {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------- NET-040

// netRunsAsRoot tells whether the server would run as root; known is false
// when the run-as user's uid could not be told.
func netRunsAsRoot(f *Facts) (root, known bool, who string) {
	s := f.Start
	switch {
	case s.RunAsUser == "root" || (s.RunAsUser != "" && s.RunAsUID == 0):
		return true, true, "root"
	case s.RunAsUser != "" && s.RunAsUID > 0:
		return false, true, s.RunAsUser
	case s.RunAsUser != "":
		return false, false, s.RunAsUser
	}
	if _, bad := f.Host.Errors["UID"]; bad {
		return false, false, "the current user"
	}
	who = f.Host.User
	if who == "" {
		who = fmt.Sprintf("uid %d", f.Host.UID)
	}
	return f.Host.UID == 0, true, who
}

func checkPrivilegedPorts(f *Facts) []Result {
	p := f.Pack
	if u := netOffsetUnknown(p, "whether a privileged port is used"); u != nil {
		return u
	}
	var low []pack.Port
	var out []Result
	for _, pt := range netEnabled(p) {
		if why := netPortUnknown(p, pt); why != "" {
			r := netPortResult(Unknown, pt, fmt.Sprintf("cannot tell whether %s uses a privileged port", pt.Service))
			r.Reason = why
			out = append(out, r)
			continue
		}
		if pt.Port >= 1 && pt.Port < 1024 {
			low = append(low, pt)
		}
	}
	if len(low) == 0 {
		return append(out, Result{Status: Pass, Subject: "effective port table",
			Message: "every enabled listener uses an unprivileged port (1024 or above)"})
	}
	root, known, who := netRunsAsRoot(f)
	for _, pt := range low {
		switch {
		case !known:
			r := netPortResult(Unknown, pt, fmt.Sprintf("%s uses privileged port %s", pt.Service, netDescribe(pt)))
			r.Reason = "the user the server would run as (" + who + ") could not be looked up"
			out = append(out, r)
		case root:
			out = append(out, netPortResult(Pass, pt, fmt.Sprintf("%s uses privileged port %s; the server would run as root, "+
				"which can bind it (running as root is judged by CG-SEC-090)", pt.Service, netDescribe(pt))))
		default:
			out = append(out, netUnsure(netPortResult(Fail, pt, fmt.Sprintf("%s is configured for privileged port %s, but the server "+
				"would run as %s, which cannot bind ports below 1024", pt.Service, netDescribe(pt), who)), pt))
		}
	}
	return out
}

// ---------------------------------------------------------------- NET-050

// netURLKey is a configuration key that may hold URLs to this node.
type netURLKey struct {
	array string // an array of tables ("apim.gateway.environment"); "" for a plain key
	key   string // the key (inside each table of the array)
}

var netURLKeys = []netURLKey{
	{"apim.gateway.environment", "ws_endpoint"},
	{"apim.gateway.environment", "wss_endpoint"},
	{"apim.gateway.environment", "service_url"},
	{"apim.gateway.environment", "http_endpoint"},
	{"apim.gateway.environment", "https_endpoint"},
	{"apim.throttling.url_group", "traffic_manager_urls"},
	{"apim.throttling.url_group", "traffic_manager_auth_urls"},
	{"", "apim.throttling.throttle_decision_endpoints"},
	{"", "apim.throttling.service_url"},
	{"", "apim.event_hub.event_listening_endpoints"},
	{"", "apim.event_hub.service_url"},
	{"", "apim.key_manager.service_url"},
}

// netURLValues returns the effective values of every URL key present.
func netURLValues(p *pack.Pack) []pack.Value {
	var out []pack.Value
	for _, k := range netURLKeys {
		if k.array == "" {
			if v := p.Value(k.key); v.Set() {
				out = append(out, v)
			}
			continue
		}
		arr, ok := p.Value(k.array).Raw.([]any)
		if !ok {
			continue
		}
		for i := range arr {
			if v := p.Value(fmt.Sprintf("%s.%d.%s", k.array, i, k.key)); v.Set() {
				out = append(out, v)
			}
		}
	}
	return out
}

// netLoopback is true for the names a URL uses to reach this node.
func netLoopback(host string) bool {
	h := strings.ToLower(strings.Trim(host, "[]"))
	if h == "localhost" || h == "localhost.localdomain" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// netURLPort extracts host and port from a URL such as "tcp://localhost:5672"
// or "https://localhost:9443/services/"; ok is false when it names no
// literal port (none written, or a ${...} Carbon variable).
func netURLPort(raw string) (host string, port int, ok bool) {
	s := strings.TrimSpace(raw)
	if strings.Contains(s, "${") {
		return "", 0, false
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "", 0, false
	}
	n, err := strconv.Atoi(u.Port())
	if err != nil {
		return "", 0, false
	}
	return u.Hostname(), n, true
}

func checkUnshiftedURLs(f *Facts) []Result {
	p := f.Pack
	if p.Layout != pack.LayoutTOML {
		return []Result{{Status: NotApplicable, Message: "the Carbon 4.4 layout has no deployment.toml URL keys"}}
	}
	vals := netURLValues(p)
	if p.Offset.Externalised {
		var out []Result
		for _, v := range vals {
			if v.Externalised || !netNamesLocalPort(v) {
				continue
			}
			r := resultAt(Unknown, v, "cannot tell whether this URL matches the shifted ports")
			r.Reason = fmt.Sprintf("the port offset (%s = %s) is externalised", p.Offset.Key, valueText(p.Offset))
			out = append(out, r)
		}
		if len(out) == 0 {
			out = append(out, Result{Status: Pass, Subject: "literal URLs", Message: "no literal URL names a port of this node"})
		}
		return out
	}
	// Default ports that the offset moves, by base number.
	shifted := map[int]pack.Port{}
	for _, pt := range netEnabled(p) {
		if pt.Offset != 0 {
			shifted[pt.Base] = pt
		}
	}
	var out []Result
	for _, v := range vals {
		if v.Externalised {
			out = append(out, externalisedResult(v, "the URL's port"))
			continue
		}
		var bad []string
		for _, u := range v.Strings() {
			host, port, ok := netURLPort(u)
			if !ok || !netLoopback(host) {
				continue
			}
			if pt, moved := shifted[port]; moved {
				bad = append(bad, fmt.Sprintf("%s names port %d, but %s listens on %d (offset %d)", u, port, pt.Name, pt.Port, pt.Offset))
			}
		}
		if len(bad) > 0 {
			out = append(out, resultAt(Fail, v, strings.Join(bad, "; ")))
		}
	}
	if len(out) == 0 {
		msg := "no literal URL to this node names an unshifted port"
		if len(shifted) == 0 {
			msg = "no port offset is in effect: literal URLs need no shift"
		}
		out = append(out, Result{Status: Pass, Subject: "literal URLs", Key: p.Offset.Key, Value: netOffsetText(p), Message: msg})
	}
	return out
}

// netNamesLocalPort is true when one of the value's URLs names this node
// with a literal port.
func netNamesLocalPort(v pack.Value) bool {
	for _, u := range v.Strings() {
		if host, _, ok := netURLPort(u); ok && netLoopback(host) {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------- NET-060

// netDefaultPorts are the documented defaults of the listeners (facts §2
// and §1.3), by the pack model's port names.
var netDefaultPorts = map[string]int{
	"servlet-http": 9763, "servlet-https": 9443, "passthru-http": 8280, "passthru-https": 8243,
	"binary-receiver-tcp": 9611, "binary-receiver-ssl": 9711, "thrift-receiver-tcp": 7611, "thrift-receiver-ssl": 7711,
	"amqp": 5672, "amqp-ssl": 8672, "websocket": 9099, "websocket-secure": 8099, "websub-https": 8021,
	"jmx-rmi-registry": 9999, "jmx-rmi-server": 11111, "embedded-ldap": 10389, "kdc": 8000, "clustering": 4000,
	"internal-http-api": 9191, "internal-https-api": 9154,
}

func checkDoubleShift(f *Facts) []Result {
	p := f.Pack
	var out []Result
	offsetUnknown := p.Offset.Externalised
	for _, pt := range netEnabled(p) {
		def, known := netDefaultPorts[pt.Name]
		if !known || pt.Key == "" {
			continue
		}
		v := p.Value(pt.Key)
		if v.Source != pack.SourceFile {
			continue
		}
		if v.Externalised {
			text := strings.ToLower(valueText(v))
			if strings.Contains(text, "offset") {
				r := resultAt(Unknown, v, fmt.Sprintf("%s is computed from the offset in a template", pt.Key))
				r.Reason = fmt.Sprintf("%s = %s adds the offset itself; Carbon adds it again, so a non-zero offset would give %d + 2 x offset",
					pt.Key, valueText(v), def)
				out = append(out, r)
			}
			continue
		}
		if offsetUnknown || pt.Offset == 0 {
			continue
		}
		if pt.Base == def+pt.Offset {
			out = append(out, resultAt(Fail, v, fmt.Sprintf("%s = %d is already %d + offset %d; Carbon adds the offset again, so %s listens on %d",
				pt.Key, pt.Base, def, pt.Offset, pt.Name, pt.Port)))
		}
	}
	if offsetUnknown && len(out) == 0 {
		return []Result{{Status: Unknown, Subject: "configured ports", Key: p.Offset.Key, Value: valueText(p.Offset),
			Message: "cannot compare configured ports with the offset", Reason: "the port offset is externalised"}}
	}
	if len(out) == 0 {
		msg := "no configured port already includes the offset"
		if n, _ := p.Offset.Int(); n == 0 {
			msg = "no port offset is in effect: nothing can be shifted twice"
		}
		out = append(out, Result{Status: Pass, Subject: "configured ports", Key: p.Offset.Key, Value: netOffsetText(p), Message: msg})
	}
	return out
}

// ---------------------------------------------------------------- NET-070

func checkFirewallList(f *Facts) []Result {
	p := f.Pack
	if u := netOffsetUnknown(p, "the firewall list"); u != nil {
		return u
	}
	pts := FirewallPorts(p)
	var known []pack.Port
	var out []Result
	for _, pt := range pts {
		if why := netPortUnknown(p, pt); why != "" {
			r := netPortResult(Unknown, pt, fmt.Sprintf("the firewall port of %s is not known", pt.Service))
			r.Reason = why
			out = append(out, r)
			continue
		}
		known = append(known, pt)
	}
	if len(known) == 0 {
		if len(out) == 0 {
			return []Result{{Status: Pass, Subject: "firewall", Message: "no listener is enabled: no port needs opening"}}
		}
		return out
	}
	var parts, maybe []string
	for _, pt := range known {
		kind := "TLS"
		if pt.Plain {
			kind = "plain"
		}
		if pt.Unsure != "" {
			maybe = append(maybe, fmt.Sprintf("%d/tcp %s [%s]", pt.Port, pt.Service, kind))
			continue
		}
		parts = append(parts, fmt.Sprintf("%d/tcp %s [%s]", pt.Port, pt.Service, kind))
	}
	msg := fmt.Sprintf("ports to open for the %d enabled listeners of this %s (offset %s): %s", len(parts), netNodeText(p), netOffsetText(p), strings.Join(parts, "; "))
	if len(maybe) > 0 {
		msg += fmt.Sprintf("; only if this node opens them (WSO2's sources do not establish it for its role): %s", strings.Join(maybe, "; "))
	}
	if len(p.Closed) > 0 {
		var closed []string
		for _, c := range p.Closed {
			closed = append(closed, fmt.Sprint(c.Port))
		}
		msg += fmt.Sprintf("; not opened by this node's role: %s", strings.Join(closed, ", "))
	}
	r := Result{Status: Fail, Subject: "firewall", Key: p.Offset.Key, Value: netOffsetText(p), Source: p.Offset.Source, Pos: p.Offset.Pos, Message: msg}
	return append([]Result{r}, out...)
}

// ---------------------------------------------------------------- NET-080

func checkCrossPackPorts(f *Facts) []Result {
	p := f.Pack
	if len(f.Others) == 0 {
		return []Result{{Status: NotApplicable, Message: "only one home was named: no other pack to compare with (name several with --home a --home b)"}}
	}
	if u := netOffsetUnknown(p, "port conflicts with the other packs"); u != nil {
		return u
	}
	mine := map[int]pack.Port{}
	var out []Result
	for _, pt := range netEnabled(p) {
		if why := netPortUnknown(p, pt); why != "" {
			r := netPortResult(Unknown, pt, fmt.Sprintf("cannot compare the port of %s with the other packs", pt.Service))
			r.Reason = why
			out = append(out, r)
			continue
		}
		mine[pt.Port] = pt
	}
	compared := 0
	for _, q := range f.Others {
		if q == nil || q.Home == p.Home {
			continue
		}
		compared++
		var clashes []string
		var first pack.Port
		var involved []pack.Port
		for _, qt := range netEnabled(q) {
			why := netPortUnknown(q, qt)
			if why == "" && q.Offset.Externalised {
				why = fmt.Sprintf("the port offset of %s (%s = %s) is externalised", q.Home, q.Offset.Key, valueText(q.Offset))
			}
			if why != "" {
				out = append(out, Result{Status: Unknown, Subject: q.Home,
					Message: fmt.Sprintf("the port of %s in %s is not known", qt.Name, q.Home), Reason: why})
				continue
			}
			if pt, clash := mine[qt.Port]; clash {
				if len(clashes) == 0 {
					first = pt
				}
				clashes = append(clashes, fmt.Sprintf("%d (%s here, %s there)", qt.Port, pt.Name, qt.Name))
				involved = append(involved, pt, qt)
			}
		}
		if len(clashes) > 0 {
			r := netPortResult(Fail, first, fmt.Sprintf("%d port(s) clash with %s (offset %s): %s", len(clashes), q.Home, netOffsetText(q), strings.Join(clashes, ", ")))
			r.Subject = "ports shared with " + q.Home
			out = append(out, netUnsure(r, involved...))
		} else {
			out = append(out, Result{Status: Pass, Subject: "ports vs " + q.Home,
				Message: fmt.Sprintf("no effective port is shared with %s (offset %s here, %s there)", q.Home, netOffsetText(p), netOffsetText(q))})
		}
	}
	if compared == 0 {
		return []Result{{Status: NotApplicable, Message: "no other pack was named"}}
	}
	return out
}

// ---------------------------------------------------------------- NET-090/091

// netJMXStart is the effective rmi_server_start: the pack's value, else the
// product default (true on APIM, MI and the kernel; false on IS). set is
// false on a Carbon 4.4 pack without etc/jmx.xml.
func netJMXStart(p *pack.Pack) (v pack.Value, on, known bool) {
	v = p.Value("monitoring.jmx.rmi_server_start")
	if v.Set() {
		if v.Externalised {
			return v, false, false
		}
		b, ok := v.Bool()
		return v, b, ok
	}
	if p.Layout == pack.LayoutLegacy {
		return v, false, false
	}
	v.Source = pack.SourceDefault
	v.Raw = p.Product != pack.IS
	return v, p.Product != pack.IS, true
}

func checkJMXEnabled(f *Facts) []Result {
	p := f.Pack
	v, on, known := netJMXStart(p)
	if !known {
		r := resultAt(Unknown, v, "whether the JMX RMI server starts cannot be told")
		switch {
		case v.Externalised:
			r.Reason = fmt.Sprintf("%s is %s, resolved at run time", v.Key, valueText(v))
		case p.Layout == pack.LayoutLegacy:
			r.Reason = "repository/conf/etc/jmx.xml is missing or has no <StartRMIServer>"
		default:
			r.Reason = fmt.Sprintf("%s = %s is not a boolean", v.Key, valueText(v))
		}
		return []Result{r}
	}
	if !on {
		return []Result{resultAt(Pass, v, "the JMX RMI server is off")}
	}
	var ports []string
	for _, name := range []string{"jmx-rmi-registry", "jmx-rmi-server"} {
		if pt, ok := p.Port(name); ok {
			ports = append(ports, netDescribe(pt))
		}
	}
	msg := "the JMX RMI server starts"
	if len(ports) > 0 {
		msg += " and listens on " + strings.Join(ports, " and ")
	}
	return []Result{resultAt(Fail, v, msg+" (the registry on all interfaces)")}
}

func checkJMXHostname(f *Facts) []Result {
	p := f.Pack
	start, on, known := netJMXStart(p)
	if known && !on {
		return []Result{resultAt(Pass, start, "the JMX RMI server is off: nothing is exported")}
	}
	h := p.Value("monitoring.jmx.rmi_hostname")
	if !h.Set() {
		if p.Layout == pack.LayoutLegacy {
			return []Result{{Status: Unknown, Key: h.Key, Message: "the JMX host name is not known",
				Reason: "repository/conf/etc/jmx.xml is missing or has no <HostName>"}}
		}
		// Kernel default (facts §2): "localhost".
		h.Raw, h.Source = "localhost", pack.SourceDefault
	}
	if h.Externalised {
		return []Result{externalisedResult(h, "the JMX RMI host name")}
	}
	name := strings.TrimSpace(valueText(h))
	if !netLoopback(name) {
		r := resultAt(Fail, h, fmt.Sprintf("the JMX RMI server is exported as %q, reachable beyond this host", name))
		if !known {
			r.Status = Unknown
			r.Reason = "whether the RMI server starts is not known (" + start.Key + ")"
		}
		return []Result{r}
	}
	return []Result{resultAt(Pass, h, "the JMX RMI server is exported as "+name)}
}

// ---------------------------------------------------------------- NET-100

func checkQpidHeartbeat(f *Facts) []Result {
	p := f.Pack
	if p.Product != pack.APIM {
		return []Result{{Status: NotApplicable, Message: "only API Manager nodes run the Traffic Manager's message broker"}}
	}
	// The heartbeat is the broker's (qpid-config.xml <heartbeat>): it
	// applies where the embedded broker runs, the Traffic Manager, the
	// control plane and the all-in-one node. A gateway only connects to it.
	amqp, ok := p.Port("amqp")
	if !ok {
		amqp, ok = p.Port("amqp-ssl")
	}
	if !ok {
		why := "this node does not run the embedded broker"
		for _, c := range p.Closed {
			if c.Name == "amqp" {
				why = c.Why
			}
		}
		return []Result{{Status: NotApplicable, Message: why + "; the heartbeat is set on the broker's node (Traffic Manager, control plane)"}}
	}
	var r Result
	if p.Layout == pack.LayoutTOML {
		r = netQpidTOML(p)
	} else {
		r = netQpidXML(p)
	}
	return []Result{netUnsure(r, amqp)}
}

// netQpidTOML judges [qpid.heartbeat] delay (APIM 4.x default.json:
// "qpid.heartbeat.delay": "0"). The rendered qpid-config.xml is regenerated
// from it at every start, so the finding points at deployment.toml.
func netQpidTOML(p *pack.Pack) Result {
	v := p.Value("qpid.heartbeat.delay")
	subject := "[qpid.heartbeat] delay"
	if !v.Set() {
		// APIM 3.2's defaults name no such key; what the template renders
		// is in the generated qpid-config.xml of a pack that has started.
		r := netQpidXML(p)
		r.Subject = subject
		if r.Status == Unknown {
			r.Reason = "the product's defaults name no qpid.heartbeat.delay and " + r.Reason
			return r
		}
		r.Message += " (rendered qpid-config.xml; set it in deployment.toml: the file is regenerated at every start)"
		return r
	}
	if v.Externalised {
		r := externalisedResult(v, "the broker heartbeat")
		r.Subject = subject
		return r
	}
	r := netQpidDelay(valueText(v), resultAt(Pass, v, ""))
	r.Subject = subject
	return r
}

// netQpidXML reads the Carbon 4.4 broker configuration, edited by hand.
func netQpidXML(p *pack.Pack) Result {
	const rel = "repository/conf/advanced/qpid-config.xml"
	d, err := p.XML(rel)
	if err != nil {
		return Result{Status: Unknown, Subject: rel, Message: "the broker heartbeat cannot be read", Reason: err.Error()}
	}
	e := d.Find("//heartbeat/delay")
	if e == nil {
		return Result{Status: Unknown, Subject: rel, Pos: pack.Position{File: d.File}, Message: "no <heartbeat><delay> element",
			Reason: "the broker's built-in heartbeat default is not documented in the facts carbonguard relies on"}
	}
	text := strings.TrimSpace(e.Text())
	return netQpidDelay(text, Result{Subject: rel, Key: rel + ":/heartbeat/delay", Value: text, Source: pack.SourceFile, Pos: d.Pos(e)})
}

func netQpidDelay(text string, r Result) Result {
	n, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
	switch {
	case err != nil:
		r.Status, r.Message, r.Reason = Unknown, "the heartbeat delay is not a number", fmt.Sprintf("delay = %q", text)
	case n == 0:
		r.Status, r.Message = Fail, "the broker heartbeat is off (delay 0): a firewall between Traffic Manager and gateways drops idle JMS connections"
	default:
		r.Status, r.Message = Pass, fmt.Sprintf("the broker heartbeat runs every %s s", text)
	}
	return r
}

// ---------------------------------------------------------------- NET-110

func checkProxyProps(f *Facts) []Result {
	var out []Result
	props := SystemProps(f)
	for _, c := range []struct{ env, scheme string }{{"http_proxy", "http"}, {"https_proxy", "https"}} {
		val, name := "", ""
		for _, k := range []string{c.env, strings.ToUpper(c.env)} {
			if v := f.Host.Env[k]; strings.TrimSpace(v) != "" {
				val, name = v, k
				break
			}
		}
		if name == "" {
			continue
		}
		var missing []string
		for _, k := range []string{c.scheme + ".proxyHost", c.scheme + ".proxyPort"} {
			if w, _, ok := EffectiveProp(props, k); !ok || strings.TrimSpace(w.Value) == "" {
				missing = append(missing, "-D"+k)
			}
		}
		r := Result{Subject: "environment " + name, Key: name, Value: netMaskProxy(val), Source: pack.SourceFile}
		if len(missing) > 0 {
			r.Status = Fail
			r.Message = fmt.Sprintf("%s is set for this host, but the JVM gets no %s: outbound %s calls of the server bypass the proxy",
				name, strings.Join(missing, " or "), strings.ToUpper(c.scheme))
		} else {
			r.Status = Pass
			r.Message = fmt.Sprintf("%s is set and the JVM gets -D%s.proxyHost and -D%s.proxyPort", name, c.scheme, c.scheme)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return []Result{{Status: Pass, Subject: "environment", Message: "no http_proxy or https_proxy in the environment: no JVM proxy needed"}}
	}
	return out
}

// netMaskProxy hides credentials in a proxy URL (http://user:pw@host:port).
func netMaskProxy(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.User == nil {
		return s
	}
	u.User = url.User("****")
	return u.String()
}
