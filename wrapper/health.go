package wrapper

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/carbonguard/carbonguard/pack"
)

// HealthCheck is one endpoint that must answer before a boot is up.
type HealthCheck struct {
	Name string `json:"name"`
	// URL is http://, https:// or tcp://host:port (a connect is enough).
	URL string `json:"url"`
	// Status is the expected HTTP status; 0 accepts any 2xx.
	Status int `json:"status,omitempty"`
	// Insecure skips TLS certificate verification for this probe only. The
	// stock packs serve a self-signed wso2carbon certificate for localhost,
	// so a probe of 127.0.0.1 could not verify it; the server's own
	// outbound hostname verification is unaffected.
	Insecure bool `json:"insecure,omitempty"`
}

// HealthResult is the last answer of one endpoint.
type HealthResult struct {
	Name      string    `json:"name"`
	URL       string    `json:"url"`
	OK        bool      `json:"ok"`
	Status    int       `json:"status,omitempty"` // HTTP status; 0 for tcp:// or no answer
	Expect    string    `json:"expect"`
	LatencyMS float64   `json:"latency_ms"`
	Error     string    `json:"error,omitempty"`
	Body      string    `json:"body,omitempty"` // the first bytes of a failing answer (MI lists faulty CApps there)
	At        time.Time `json:"at"`
	Attempts  int       `json:"attempts"`
	Insecure  bool      `json:"insecure_tls,omitempty"`
}

func (h HealthResult) summary() string {
	var b strings.Builder
	if h.OK {
		b.WriteString("OK")
	} else {
		b.WriteString("NOT OK")
	}
	if h.Status != 0 {
		fmt.Fprintf(&b, " status %d", h.Status)
	}
	fmt.Fprintf(&b, " (expect %s) in %.1f ms after %d attempt(s)", h.Expect, h.LatencyMS, h.Attempts)
	if h.Error != "" {
		b.WriteString(": " + h.Error)
	}
	if h.Insecure {
		b.WriteString(" [TLS not verified]")
	}
	return b.String()
}

// DefaultHealthChecks are the endpoints WSO2 documents for each product, on
// the effective ports (offset added) of the pack's port table:
//
//   - APIM: GET http://127.0.0.1:<9763+off>/services/Version (liveness) and,
//     on nodes with a gateway from APIM 4.1, GET
//     https://127.0.0.1:<9443+off>/api/am/gateway/v2/server-startup-healthcheck
//     (200 once all APIs are deployed). A switched-off HTTP servlet
//     transport (APIM 4.7 [transport.http] enable = false) drops the first.
//   - IS from 5.7: GET https://127.0.0.1:<9443+off>/api/health-check/v1.0/health.
//   - MI: GET http://127.0.0.1:<9191+off>/healthz (9201 with MI's default offset 10).
//   - anything else (the bare kernel, IS before 5.7): a TCP connect to the
//     HTTPS servlet port, as WSO2's Helm charts use for a startup probe.
func DefaultHealthChecks(p *pack.Pack) []HealthCheck {
	var hcs []HealthCheck
	httpPort, httpOK := portFor(p, []string{"servlet-http"}, 9763)
	httpsPort, httpsOK := portFor(p, []string{"servlet-https"}, 9443)
	switch p.Product {
	case pack.APIM:
		if httpOK {
			hcs = append(hcs, HealthCheck{Name: "apim-version", URL: fmt.Sprintf("http://127.0.0.1:%d/services/Version", httpPort)})
		}
		if httpsOK && apimHasGatewayHealth(p) {
			hcs = append(hcs, HealthCheck{Name: "apim-gateway-startup", Insecure: true,
				URL: fmt.Sprintf("https://127.0.0.1:%d/api/am/gateway/v2/server-startup-healthcheck", httpsPort)})
		}
	case pack.IS:
		if httpsOK && versionAtLeast(p.Version, 5, 7) {
			hcs = append(hcs, HealthCheck{Name: "is-health-check", Insecure: true,
				URL: fmt.Sprintf("https://127.0.0.1:%d/api/health-check/v1.0/health", httpsPort)})
		}
	case pack.MI:
		if port, ok := portFor(p, []string{"internal-http-api"}, 9191); ok {
			hcs = append(hcs, HealthCheck{Name: "mi-readiness", URL: fmt.Sprintf("http://127.0.0.1:%d/healthz", port)})
		}
	}
	if len(hcs) == 0 && httpsOK {
		hcs = append(hcs, HealthCheck{Name: "servlet-https-connect", URL: fmt.Sprintf("tcp://127.0.0.1:%d", httpsPort)})
	}
	return hcs
}

// apimHasGatewayHealth: the gateway startup health check is documented from
// APIM 4.1.0 and answers only where a gateway runs (all-in-one, gateway).
func apimHasGatewayHealth(p *pack.Pack) bool {
	if !versionAtLeast(p.Version, 4, 1) {
		return false
	}
	switch p.Node {
	case "", "all-in-one", "gateway":
		return true
	}
	return false
}

// portFor finds a listener by name (or, failing that, by its base port) in
// the pack's port table. Without a table entry it adds the pack's offset to
// the base itself. ok is false when the listener is switched off.
func portFor(p *pack.Pack, names []string, base int) (int, bool) {
	for _, n := range names {
		for _, pt := range p.Ports {
			if pt.Name == n {
				return pt.Port, pt.Enabled
			}
		}
	}
	for _, pt := range p.Ports {
		if pt.Base == base {
			return pt.Port, pt.Enabled
		}
	}
	return base + offsetOf(p), true
}

// offsetOf is the pack's effective port offset (0 when externalised).
func offsetOf(p *pack.Pack) int {
	if n, ok := p.Offset.Int(); ok && !p.Offset.Externalised {
		return n
	}
	return 0
}

// versionAtLeast compares a "major.minor.patch" version; an unknown version
// counts as new enough (the endpoints are the documented current ones).
func versionAtLeast(version string, major, minor int) bool {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return true
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return true
	}
	return ma > major || ma == major && mi >= minor
}

// validateHealthCheck refuses a check the prober cannot run.
func validateHealthCheck(h HealthCheck) error {
	u, err := url.Parse(h.URL)
	if err != nil {
		return fmt.Errorf("health check %q: %w", h.URL, err)
	}
	switch u.Scheme {
	case "http", "https":
	case "tcp":
		if _, _, err := net.SplitHostPort(u.Host); err != nil {
			return fmt.Errorf("health check %q: tcp:// needs host:port", h.URL)
		}
	default:
		return fmt.Errorf("health check %q: use http://, https:// or tcp://host:port", h.URL)
	}
	if u.Host == "" {
		return fmt.Errorf("health check %q: no host", h.URL)
	}
	if h.Status != 0 && (h.Status < 100 || h.Status > 599) {
		return fmt.Errorf("health check %q: status %d is not an HTTP status", h.URL, h.Status)
	}
	return nil
}

// prober runs health checks. Its HTTP clients never use a proxy from the
// environment: the probes go to this host.
type prober struct {
	timeout  time.Duration
	dial     DialFunc
	verified *http.Client
	insecure *http.Client
}

func newProber(timeout time.Duration, dial DialFunc) *prober {
	if dial == nil {
		dial = (&net.Dialer{Timeout: timeout}).DialContext
	}
	mk := func(insecure bool) *http.Client {
		return &http.Client{
			Timeout: timeout,
			Transport: &http.Transport{
				Proxy:             nil,
				DisableKeepAlives: true,
				DialContext:       dial,
				// #nosec G402 -- only for probes that ask for it; see HealthCheck.Insecure.
				TLSClientConfig:     &tls.Config{InsecureSkipVerify: insecure, MinVersion: tls.VersionTLS12},
				TLSHandshakeTimeout: timeout,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &prober{timeout: timeout, dial: dial, verified: mk(false), insecure: mk(true)}
}

func (pr *prober) probe(ctx context.Context, h HealthCheck, now func() time.Time) (r HealthResult) {
	r = HealthResult{Name: h.Name, URL: h.URL, Expect: "2xx", Insecure: h.Insecure}
	if h.Status != 0 {
		r.Expect = strconv.Itoa(h.Status)
	}
	start := time.Now()
	defer func() {
		r.LatencyMS = float64(time.Since(start).Microseconds()) / 1000
		r.At = now()
	}()
	if rest, ok := strings.CutPrefix(h.URL, "tcp://"); ok {
		r.Expect = "connect"
		dctx, cancel := context.WithTimeout(ctx, pr.timeout)
		defer cancel()
		c, err := pr.dial(dctx, "tcp", strings.TrimSuffix(rest, "/"))
		if err != nil {
			r.Error = err.Error()
			return r
		}
		c.Close()
		r.OK = true
		return r
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL, nil)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	client := pr.verified
	if h.Insecure {
		client = pr.insecure
	}
	resp, err := client.Do(req)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer resp.Body.Close()
	r.Status = resp.StatusCode
	if h.Status != 0 {
		r.OK = resp.StatusCode == h.Status
	} else {
		r.OK = resp.StatusCode >= 200 && resp.StatusCode < 300
	}
	if !r.OK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		r.Body = strings.TrimSpace(string(b))
	} else {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	}
	return r
}
