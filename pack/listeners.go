package pack

import (
	"fmt"
	"strings"
)

// Which listeners each kind of API Manager node opens. Sources:
//
//   - apim.docs.wso2.com 4.1-4.7 "API-M Distributed Deployment - Overview":
//     the gateway "only starts the components related to the API Gateway",
//     the Traffic Manager "only starts the Traffic Manager component"; 4.0-4.4
//     "Control Plane profile starts all the API-M components (Traffic Manager,
//     Key Manager, Publisher, Developer Portal) excluding the Gateway", 4.5+
//     "WSO2 API Control Plane ... excluding the Gateway and Traffic Manager".
//   - docs-apim "Configuring a Distributed API-M Deployment" (3.x and 4.x
//     with the TM separated): every other node points throttle_decision_endpoints
//     at tcp://<traffic-manager>:5672 and traffic_manager_urls /
//     traffic_manager_auth_urls at tcp://<tm>:9611 / ssl://<tm>:9711, and the
//     gateway's event_listening_endpoints at tcp://<control-plane>:5672: the
//     broker and the event receiver listen on the Traffic Manager and the
//     control plane; the gateway is their client. The ws/wss endpoints
//     (9099/8099) are the gateway's.
//   - wso2/product-apim bin/profileSetup.sh (3.x and 4.2): the
//     traffic-manager, control-plane, key-manager, publisher and devportal
//     profiles remove the WebSocket inbound endpoints; traffic-manager,
//     control-plane and key-manager also remove the synapse configurations
//     (the WebSub inbound endpoints live there; docs-apim "Running the API-M
//     Runtime": the webhooks endpoints run "in all the Gateway nodes"), and
//     traffic-manager replaces axis2.xml by axis2_TM.xml, whose http/https
//     receivers are the servlet transport (no pass-through listener).
//   - The 4.7 distributions' own default.json (wso2/product-apim v4.7.0):
//     the traffic-manager and api-control-plane files, unlike the gateway's,
//     have no apim.ws.enable, apim.wss.enable or apim.webhooks.https.enable.
//
// Where the sources are silent (does a control plane, key manager,
// publisher or Developer Portal open the pass-through listener; does the
// 4.5+ API control plane run the event receiver; does a key manager,
// publisher or Developer Portal run the broker) the listener stays in the
// table marked Unsure, and checks say Unknown about it.

type opens int

const (
	opensYes opens = iota
	opensNo
	opensUnsure
)

// listenerGroup names the listeners that share a rule.
func listenerGroup(name string) string {
	switch {
	case strings.HasPrefix(name, "servlet-"):
		return "servlet"
	case strings.HasPrefix(name, "passthru-"):
		return "passthru"
	case name == "websocket" || name == "websocket-secure":
		return "websocket"
	case strings.HasPrefix(name, "websub-"):
		return "websub"
	case strings.HasPrefix(name, "binary-receiver-") || strings.HasPrefix(name, "thrift-receiver-"):
		return "receiver"
	case name == "amqp" || name == "amqp-ssl":
		return "broker"
	}
	return "" // JMX, clustering, LDAP: every node
}

// nodeOpens says whether a node of the given kind opens a listener group,
// and why not.
func (p *Pack) nodeOpens(kind, group string) (opens, string) {
	if group == "" || kind == NodeAllInOne {
		return opensYes, ""
	}
	major, minor := versionMajorMinor(p.Version)
	switch kind {
	case NodeGateway:
		switch group {
		case "receiver":
			return opensNo, "a gateway publishes throttling events to the Traffic Manager's event receiver; it does not run one"
		case "broker":
			return opensNo, "a gateway subscribes to the Traffic Manager's and control plane's broker; it does not run one"
		}
		return opensYes, ""
	case NodeTrafficManager:
		switch group {
		case "passthru":
			return opensNo, "a Traffic Manager carries no API traffic: its axis2.xml (axis2_TM) has no pass-through listener"
		case "websocket":
			return opensNo, "a Traffic Manager has no WebSocket inbound endpoints"
		case "websub":
			return opensNo, "a Traffic Manager has no WebSub/webhooks inbound endpoints"
		}
		return opensYes, ""
	case NodeControlPlane:
		switch group {
		case "websocket":
			return opensNo, "a control plane has no WebSocket inbound endpoints (the gateway serves ws/wss)"
		case "websub":
			return opensNo, "a control plane has no WebSub/webhooks inbound endpoints (the gateway serves them)"
		case "passthru":
			return opensUnsure, "whether a control plane opens the pass-through listener is not established by WSO2's sources"
		case "receiver":
			if major > 4 || major == 4 && minor >= 5 {
				return opensUnsure, "whether the 4.5+ API control plane (which excludes the Traffic Manager) runs the event receiver is not established"
			}
		}
		return opensYes, ""
	case NodeKeyManager, NodePublisher, NodeDevPortal:
		switch group {
		case "websocket":
			return opensNo, "only the gateway has WebSocket inbound endpoints"
		case "websub":
			return opensNo, "only the gateway has WebSub/webhooks inbound endpoints"
		case "servlet":
			return opensYes, ""
		}
		return opensUnsure, fmt.Sprintf("whether a %s node opens this listener is not established by WSO2's sources", kind)
	}
	return opensUnsure, "the node's role is not known"
}

// nodeCandidates are the kinds the node may be: its kind, or while it is
// unknown every kind some source allows (all of them when none does).
func (p *Pack) nodeCandidates() []string {
	if p.Node != NodeUnknown {
		return []string{p.Node}
	}
	seen := map[string]bool{}
	for _, e := range p.NodeEvidence {
		for _, k := range e.Says {
			seen[k] = true
		}
	}
	if len(seen) == 0 {
		return allNodeKinds
	}
	return sortedKeys(seen)
}

// applyNodeListeners moves the listeners the node's role does not open to
// Closed and marks those it may or may not open.
func (p *Pack) applyNodeListeners() {
	if p.Product != APIM || p.Node == "" {
		return
	}
	cands := p.nodeCandidates()
	kept := p.Ports[:0]
	for _, pt := range p.Ports {
		group := listenerGroup(pt.Name)
		yes, no := 0, 0
		var why, unsure string
		for _, k := range cands {
			o, w := p.nodeOpens(k, group)
			switch o {
			case opensYes:
				yes++
			case opensNo:
				no++
				why = w
			case opensUnsure:
				unsure = w
			}
		}
		switch {
		case no == len(cands):
			p.Closed = append(p.Closed, ClosedPort{Name: pt.Name, Service: pt.Service, Port: pt.Port, Why: why})
			continue
		case yes == len(cands):
		case p.Node == NodeUnknown:
			pt.Unsure = fmt.Sprintf("the node's role is unknown (%s); a %s node would not open it", p.NodeConflict, strings.Join(closedFor(p, cands, group), " or "))
		default:
			pt.Unsure = unsure
		}
		kept = append(kept, pt)
	}
	p.Ports = kept
}

func closedFor(p *Pack, cands []string, group string) []string {
	var out []string
	for _, k := range cands {
		if o, _ := p.nodeOpens(k, group); o != opensYes {
			out = append(out, k)
		}
	}
	return out
}
