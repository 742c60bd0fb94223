package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/pack"
)

// sarifDoc is the part of a SARIF log the code-scanning tests read.
type sarifDoc struct {
	Runs []struct {
		Tool struct {
			Driver struct {
				Version string `json:"version"`
				Rules   []struct {
					ID         string         `json:"id"`
					Name       string         `json:"name"`
					HelpURI    string         `json:"helpUri"`
					Properties map[string]any `json:"properties"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		OriginalURIBaseIDs map[string]struct {
			URI string `json:"uri"`
		} `json:"originalUriBaseIds"`
		Results []struct {
			RuleID    string `json:"ruleId"`
			Locations []struct {
				PhysicalLocation struct {
					ArtifactLocation struct {
						URI       string `json:"uri"`
						URIBaseID string `json:"uriBaseId"`
					} `json:"artifactLocation"`
					Region *struct {
						StartLine int `json:"startLine"`
					} `json:"region"`
				} `json:"physicalLocation"`
			} `json:"locations"`
			PartialFingerprints map[string]string `json:"partialFingerprints"`
			Properties          map[string]any    `json:"properties"`
		} `json:"results"`
	} `json:"runs"`
}

// TestSARIFForCodeScanning holds every golden SARIF report to what GitHub
// code scanning needs: a location on every result, partialFingerprints, a
// security-severity score, absolute helpUris and a tool version.
func TestSARIFForCodeScanning(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "golden", tc.name+".sarif"))
			require.NoError(t, err)
			var doc sarifDoc
			require.NoError(t, json.Unmarshal(data, &doc))
			require.Len(t, doc.Runs, 1)
			run := doc.Runs[0]
			assert.NotEmpty(t, run.Tool.Driver.Version, "tool.driver.version")
			for _, rule := range run.Tool.Driver.Rules {
				u, err := url.Parse(rule.HelpURI)
				require.NoError(t, err, rule.ID)
				assert.True(t, u.IsAbs(), "%s: helpUri %q is not absolute", rule.ID, rule.HelpURI)
				assertScore(t, rule.ID, rule.Properties["security-severity"])
				assert.Regexp(t, `^[A-Z][a-z0-9]+([A-Z][a-z0-9]+)*$`, rule.Name, "%s: name is PascalCase", rule.ID)
			}
			require.NotEmpty(t, run.Results)
			seen := map[string]string{}
			for i, res := range run.Results {
				require.Len(t, res.Locations, 1, "result %d (%s) has one location", i, res.RuleID)
				loc := res.Locations[0].PhysicalLocation
				assert.NotEmpty(t, loc.ArtifactLocation.URI, "result %d (%s): location uri", i, res.RuleID)
				assert.Contains(t, run.OriginalURIBaseIDs, loc.ArtifactLocation.URIBaseID, "result %d (%s): uriBaseId", i, res.RuleID)
				if assert.NotNil(t, loc.Region, "result %d (%s): region", i, res.RuleID) {
					assert.Positive(t, loc.Region.StartLine)
				}
				fp := res.PartialFingerprints[fingerprintKey]
				assert.Len(t, fp, 32, "result %d (%s): partialFingerprints", i, res.RuleID)
				if other, dup := seen[fp]; dup {
					t.Errorf("results %s and %d (%s) share the fingerprint %s", other, i, res.RuleID, fp)
				}
				seen[fp] = strconv.Itoa(i) + " (" + res.RuleID + ")"
				assertScore(t, res.RuleID, res.Properties["security-severity"])
			}
		})
	}
}

func assertScore(t *testing.T, id string, v any) {
	t.Helper()
	s, ok := v.(string)
	if !assert.True(t, ok, "%s: security-severity %v is not a string", id, v) {
		return
	}
	f, err := strconv.ParseFloat(s, 64)
	if assert.NoError(t, err, "%s: security-severity", id) {
		assert.True(t, f >= 0 && f <= 10, "%s: security-severity %s outside 0.0-10.0", id, s)
	}
}

// TestSARIFFingerprintIsStable: a finding keeps its fingerprint when its
// line moves, its message changes or the pack is checked out elsewhere; it
// changes with the check, the subject, the key or the file.
func TestSARIFFingerprintIsStable(t *testing.T) {
	base := Finding{CheckID: "CG-SEC-010", Home: "/opt/wso2am-4.2.0", Result: Result{
		Subject: "[super_admin]", Key: "super_admin.password", Message: "admin/admin", Pos: pack.Position{File: "repository/conf/deployment.toml", Line: 12},
	}}
	fp := findingFingerprint(base, base.Pos.File)
	same := base
	same.Home, same.Pos.Line, same.Message = "/srv/ci/checkout/wso2am-4.2.0", 40, "admin/admin is the stock pair"
	assert.Equal(t, fp, findingFingerprint(same, same.Pos.File))
	for name, change := range map[string]func(*Finding){
		"check":   func(f *Finding) { f.CheckID = "CG-SEC-011" },
		"subject": func(f *Finding) { f.Subject = "[admin]" },
		"key":     func(f *Finding) { f.Key = "super_admin.username" },
		"pack":    func(f *Finding) { f.Home = "/opt/wso2is-7.1.0" },
	} {
		other := base
		change(&other)
		assert.NotEqual(t, fp, findingFingerprint(other, other.Pos.File), name)
	}
	assert.NotEqual(t, fp, findingFingerprint(base, "repository/conf/carbon.xml"), "file")
}

// TestSARIFHostFindingsCiteTheMainConfig: findings that name no file (the
// host, defaults) are located at the pack's main configuration file.
func TestSARIFHostFindingsCiteTheMainConfig(t *testing.T) {
	for name, want := range map[string]string{
		"apim-4.2":   "repository/conf/deployment.toml",
		"mi-4.3":     "conf/deployment.toml",
		"carbon-4.4": "repository/conf/carbon.xml",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := StartFacts{}
			r, _ := goldenReport(t, name, start, "", "", false)
			var b bytes.Buffer
			require.NoError(t, r.WriteSARIF(&b, ""))
			var doc sarifDoc
			require.NoError(t, json.Unmarshal(b.Bytes(), &doc))
			found := false
			for _, res := range doc.Runs[0].Results {
				if strings.HasPrefix(res.RuleID, "CG-HOST-0") && res.RuleID != "CG-HOST-080" {
					found = true
					assert.Equal(t, want, res.Locations[0].PhysicalLocation.ArtifactLocation.URI, res.RuleID)
				}
			}
			assert.True(t, found, "no host finding in %s", name)
		})
	}
}

// multitool finds the SARIF Multitool (npm @microsoft/sarif-multitool): the
// native binary named by $SARIF_MULTITOOL, else sarif-multitool on PATH.
// CI (.ci/run) installs it; there a missing tool fails the test.
func multitool(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SARIF_MULTITOOL"); p != "" {
		return p
	}
	if p, err := exec.LookPath("sarif-multitool"); err == nil {
		return p
	}
	msg := "the SARIF Multitool is not installed: npm install @microsoft/sarif-multitool and set SARIF_MULTITOOL to " +
		"node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool (.ci/run does)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// multitoolConfig turns off SARIF2006 (URIs should be reachable): it tries
// every helpUri over the network, which tests and CI do not have.
const multitoolConfig = `<?xml version="1.0" encoding="utf-8" ?>
<Properties>
  <Properties Key="SARIF2006.UrisShouldBeReachable.Options" Type="PropertiesDictionary">
    <Property Key="RuleEnabled" Value="Disabled" />
  </Properties>
</Properties>
`

// TestSARIFMultitool validates the golden reports and a two-pack report
// with Microsoft's SARIF Multitool and GitHub's ingestion rules
// (--rule-kind "Sarif;Gh"): no error and no warning.
func TestSARIFMultitool(t *testing.T) {
	tool := multitool(t)
	dir := t.TempDir()
	for _, tc := range goldenCases {
		data, err := os.ReadFile(filepath.Join("testdata", "golden", tc.name+".sarif"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, tc.name+".sarif"), data, 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "two-packs.sarif"), twoPackSARIF(t), 0o644))
	cfg := filepath.Join(t.TempDir(), "multitool.xml")
	require.NoError(t, os.WriteFile(cfg, []byte(multitoolConfig), 0o644))
	out := filepath.Join(t.TempDir(), "validation.sarif")
	// One run for all files: the tool takes seconds to start.
	cmd := exec.Command(tool, "validate", "--rule-kind", "Sarif;Gh", "--level", "Error;Warning",
		"--config", cfg, "--output", out, filepath.Join(dir, "*.sarif"))
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s validate:\n%s", tool, b)
	assert.Contains(t, string(b), fmt.Sprintf("Done. %d files scanned.", len(goldenCases)+1))
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	var res struct {
		Runs []struct {
			Results []struct {
				RuleID  string `json:"ruleId"`
				Level   string `json:"level"`
				Message struct {
					Arguments []string `json:"arguments"`
				} `json:"message"`
			} `json:"results"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal(data, &res), "the Multitool's output %s", out)
	require.NotEmpty(t, res.Runs, "the Multitool's output has no run")
	for _, run := range res.Runs {
		for _, r := range run.Results {
			t.Errorf("%s %s: %s", r.Level, r.RuleID, strings.Join(r.Message.Arguments, " | "))
		}
	}
}

// twoPackSARIF is `check --home a --home b --format sarif` on two fixtures.
func twoPackSARIF(t *testing.T) []byte {
	t.Helper()
	var packs []*pack.Pack
	for _, name := range []string{"apim-4.2", "is-7.1"} {
		p, err := pack.Open(copyPack(t, name))
		require.NoError(t, err)
		packs = append(packs, p)
	}
	facts, err := CollectAll(context.Background(), packs, nil, CollectOptions{Probe: StaticProbe{Host: fakeHost()}, Now: fixedNow})
	require.NoError(t, err)
	r, err := Run(facts, Options{ToolVersion: "1.0.0-test"})
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, r.WriteSARIF(&b, ""))
	return b.Bytes()
}

// TestTextReportColorsBySeverity: on a terminal the [severity] tags are
// coloured (high red, medium yellow); without Color (a pipe, a file,
// NO_COLOR) the report has no escape sequence at all.
func TestTextReportColorsBySeverity(t *testing.T) {
	r, _ := goldenReport(t, "apim-4.2", StartFacts{}, "", "", false)
	var plain, color bytes.Buffer
	require.NoError(t, r.WriteText(&plain, TextOptions{}))
	require.NoError(t, r.WriteText(&color, TextOptions{Color: true}))
	assert.NotContains(t, plain.String(), "\033[")
	assert.Contains(t, color.String(), "\033[1;31m[high")
	assert.Contains(t, color.String(), "\033[33m[medium")
	assert.Equal(t, plain.String(), regexp.MustCompile("\033\\[[0-9;]*m").ReplaceAllString(color.String(), ""), "colour only, same text")
}

// TestTextReportFitsTheTerminal: with a width, the findings' messages and
// fixes wrap under their indentation; no line is longer than the width
// unless one word is; without a width lines stay whole (files, pipes).
func TestTextReportFitsTheTerminal(t *testing.T) {
	r, _ := goldenReport(t, "apim-4.2", StartFacts{}, "", "", false)
	var whole, narrow bytes.Buffer
	require.NoError(t, r.WriteText(&whole, TextOptions{}))
	require.NoError(t, r.WriteText(&narrow, TextOptions{Width: 80}))
	long := 0
	for _, l := range strings.Split(whole.String(), "\n") {
		if len(l) > 80 {
			long++
		}
	}
	require.Positive(t, long, "the fixture has long lines to wrap")
	for _, l := range strings.Split(narrow.String(), "\n") {
		if len([]rune(l)) > 80 && strings.HasPrefix(l, "    ") {
			assert.NotContains(t, strings.TrimSpace(l), " ", "a wrapped line is longer than 80 columns: %q", l)
		}
	}
	assert.Equal(t, strings.Join(strings.Fields(whole.String()), " "), strings.Join(strings.Fields(narrow.String()), " "), "the same words")
}
