package validate

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/pack"
)

// update rewrites the golden reports: go test ./validate -run Golden -update
var update = flag.Bool("update", false, "rewrite testdata/golden/* from the current output")

// carbonguardStartArgs are the properties carbonguard's wrapped start adds
// by default ([start] hostname_verification = true, verifier Strict).
var carbonguardStartArgs = []string{
	"-Dorg.opensaml.httpclient.https.disableHostnameVerification=false",
	"-Dhttpclient.hostnameVerifier=Strict",
}

// goldenCases are the fixture packs with golden reports. Stock packs are
// judged as the stock script would start them (no carbonguard properties);
// the hardened pack as carbonguard's wrapped start would.
//
// The distributed-deployment packs are WSO2's own per-role reference
// configurations (4.7 gateway, traffic-manager and api-control-plane
// distributions; the 4.2 key manager and 3.2 gateway/Traffic Manager
// deployment templates; the 2.6 axis2.xml) as the stock script would start
// them, profile-started ones with their -Dprofile.
var goldenCases = []struct {
	name    string
	start   StartFacts
	profile string // -Dprofile the JVM gets
	jdk     string // the JDK version on the host; "" = fakeHost's 17.0.15
	gate    bool   // collected as carbonguard's start gate (carbonguard is the launcher)
}{
	{name: "apim-4.2"},
	{name: "apim-4.2-hardened", start: StartFacts{ScriptArgs: carbonguardStartArgs, RunAsUser: "wso2carbon", RunAsUID: 1000}, gate: true},
	{name: "apim-4.7-gateway", jdk: "21.0.7"},
	{name: "apim-4.7-traffic-manager", jdk: "21.0.7"},
	{name: "apim-4.7-control-plane", jdk: "21.0.7"},
	{name: "apim-4.2-key-manager"},
	{name: "apim-3.2-gateway", profile: "gateway-worker", jdk: "11.0.27"},
	{name: "apim-3.2-traffic-manager", profile: "traffic-manager", jdk: "11.0.27"},
	{name: "apim-2.6-gateway", profile: "gateway-worker", jdk: "1.8.0_412"},
	{name: "apim-2.6-traffic-manager", profile: "traffic-manager", jdk: "1.8.0_412"},
	{name: "is-5.10"},
	{name: "is-7.1"},
	{name: "mi-4.3"},
	{name: "carbon-4.4"},
}

// goldenReport runs every check on a copy of a fixture pack with the fake
// host and the fixed clock.
func goldenReport(t testing.TB, name string, start StartFacts, profile, jdk string, gate bool) (*Report, string) {
	t.Helper()
	home := copyPack(t, name)
	o := pack.Options{}
	if profile != "" {
		o.SysProps = map[string]string{"profile": profile}
		start.ScriptArgs = append(append([]string(nil), start.ScriptArgs...), "-Dprofile="+profile)
	}
	p, err := pack.OpenWith(home, o)
	require.NoError(t, err)
	h := fakeHost()
	if jdk != "" {
		h.Java.Version, h.Java.Major = jdk, javaMajor(jdk)
	}
	f, err := Collect(context.Background(), p, nil, CollectOptions{Probe: StaticProbe{Host: h}, Start: start, Now: fixedNow, Gate: gate})
	require.NoError(t, err)
	r, err := Run([]*Facts{f}, Options{ToolVersion: "1.0.0-golden"})
	require.NoError(t, err)
	return r, home
}

func TestGoldenReports(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, home := goldenReport(t, tc.name, tc.start, tc.profile, tc.jdk, tc.gate)
			var txt, js, sarif bytes.Buffer
			require.NoError(t, r.WriteText(&txt, TextOptions{}))
			require.NoError(t, r.WriteJSON(&js))
			require.NoError(t, r.WriteSARIF(&sarif, ""))
			for ext, out := range map[string]*bytes.Buffer{"txt": &txt, "json": &js, "sarif": &sarif} {
				got := strings.ReplaceAll(out.String(), home, "/opt/wso2/"+tc.name)
				compareGolden(t, filepath.Join("testdata", "golden", tc.name+"."+ext), got)
			}
			noFindingAboutClosedListeners(t, r, home, tc.profile)
			// No false positive on the node-local H2 databases (facts:
			// checks table row 2): no failure may name them.
			for _, fd := range r.Findings {
				if fd.Status != Fail {
					continue
				}
				for _, local := range []string{"database.local", "WSO2_CARBON_DB", "WSO2_MB_STORE_DB", "mb.store_db"} {
					assert.NotContains(t, fd.Subject+" "+fd.Key, local, "%s flags the node-local H2 database", fd.CheckID)
				}
			}
		})
	}
}

func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test ./validate -run Golden -update")
	if string(want) != got {
		t.Errorf("%s differs from the output; review and run go test ./validate -run Golden -update\n%s", path, firstDiff(string(want), got))
	}
}

// firstDiff shows the first differing line with a little context.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  want: %s\n  got:  %s", i+1, wl, gl)
		}
	}
	return ""
}

// noFindingAboutClosedListeners fails on any result, other than a pass or a
// not-applicable, about a listener the node's role does not open: its port
// as a subject, its port key, or the protocol key of its TLS listener.
func noFindingAboutClosedListeners(t *testing.T, r *Report, home, profile string) {
	t.Helper()
	o := pack.Options{}
	if profile != "" {
		o.SysProps = map[string]string{"profile": profile}
	}
	p, err := pack.OpenWith(home, o)
	require.NoError(t, err)
	keys := map[string]string{}
	var subjects []string
	for _, c := range p.Closed {
		subjects = append(subjects, fmt.Sprintf("port %d (%s)", c.Port, c.Name))
		for _, s := range tlsSettings {
			if s.port == c.Name {
				for _, k := range s.keys {
					keys[k] = c.Name
				}
			}
		}
	}
	for _, fd := range r.Findings {
		if fd.Status == Pass || fd.Status == NotApplicable {
			continue
		}
		for _, sub := range subjects {
			assert.NotContains(t, fd.Subject, sub, "%s %s is about a listener this %s node does not open: %s", fd.CheckID, fd.Status, p.Node, fd.Message)
		}
		if name, ok := keys[fd.Key]; ok {
			t.Errorf("%s %s judges %s of %s, which this %s node does not open: %s", fd.CheckID, fd.Status, fd.Key, name, p.Node, fd.Message)
		}
	}
}
