package validate

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/pack"
)

// testChecks is a tiny registry for engine tests: one failing check per
// severity plus oddities.
func testChecks() []Check {
	fail := func(subject string) func(*Facts) []Result {
		return func(*Facts) []Result {
			return []Result{{Status: Fail, Subject: subject, Key: "k." + subject, Message: "bad " + subject}}
		}
	}
	return []Check{
		{ID: "CG-SEC-901", Title: "high one", Category: "security", Severity: High, Doc: "cg-sec-901", Run: fail("a")},
		{ID: "CG-SEC-902", Title: "low one", Category: "transport", Severity: Low, Doc: "cg-sec-902", Run: fail("b")},
		{ID: "CG-SEC-903", Title: "passes", Category: "security", Severity: Critical, Doc: "cg-sec-903", Run: func(*Facts) []Result {
			return []Result{{Status: Pass, Message: "fine"}}
		}},
		{ID: "CG-SEC-904", Title: "panics", Category: "security", Severity: Critical, Doc: "cg-sec-904", Run: func(*Facts) []Result { panic("boom") }},
		{ID: "CG-SEC-905", Title: "silent", Category: "host", Severity: Critical, Doc: "cg-sec-905", Run: func(*Facts) []Result { return nil }},
		{ID: "CG-SEC-906", Title: "secret", Category: "security", Severity: Info, Doc: "cg-sec-906", Run: func(*Facts) []Result {
			return []Result{{Status: Fail, Key: "database.apim_db.password", Value: "hunter2", Message: "plain"}}
		}},
	}
}

func testFacts() *Facts {
	return &Facts{Pack: &pack.Pack{Home: "/opt/wso2/test", Product: pack.APIM, Version: "4.2.0", Layout: pack.LayoutTOML}, Now: fixedNow}
}

func find(r *Report, id string) Finding {
	for _, fd := range r.Findings {
		if fd.CheckID == id {
			return fd
		}
	}
	return Finding{}
}

func TestRunThresholdAndTally(t *testing.T) {
	r, err := Run([]*Facts{testFacts()}, Options{Checks: testChecks()})
	require.NoError(t, err)
	assert.Equal(t, High, r.FailOn, "the default threshold is high")
	assert.True(t, r.Blocking)
	assert.Equal(t, 1, r.Tally.Blocking, "only the high failure blocks")
	assert.True(t, find(r, "CG-SEC-901").Blocking)
	assert.False(t, find(r, "CG-SEC-902").Blocking)
	assert.Equal(t, 3, r.Tally.Fail)
	assert.Equal(t, 1, r.Tally.Pass)
	assert.Equal(t, 2, r.Tally.Unknown, "a panic and an empty answer are unknown, never a pass")
	assert.Contains(t, find(r, "CG-SEC-904").Reason, "boom")
	assert.Equal(t, Mask, find(r, "CG-SEC-906").Value, "secrets are masked by the engine")
	assert.Equal(t, "1 high, 1 low, 1 info", r.SeveritySummary())
	assert.Equal(t, []string{"CG-SEC-901 high: a: bad a"}, r.BlockingLines())

	r, err = Run([]*Facts{testFacts()}, Options{Checks: testChecks(), FailOn: "critical"})
	require.NoError(t, err)
	assert.False(t, r.Blocking)
	r, err = Run([]*Facts{testFacts()}, Options{Checks: testChecks(), FailOn: "low"})
	require.NoError(t, err)
	assert.Equal(t, 2, r.Tally.Blocking)
}

func TestRunSeverityOverrideAndDisable(t *testing.T) {
	r, err := Run([]*Facts{testFacts()}, Options{Checks: testChecks(),
		Severity: map[string]string{"cg-sec-901": "medium", "CG-SEC-902": "critical"},
		Disable:  []string{"CG-SEC-904"}})
	require.NoError(t, err)
	a, b := find(r, "CG-SEC-901"), find(r, "CG-SEC-902")
	assert.Equal(t, Medium, a.Severity)
	assert.True(t, a.Overridden)
	assert.False(t, a.Blocking)
	assert.Equal(t, Critical, b.Severity)
	assert.True(t, b.Blocking)
	d := find(r, "CG-SEC-904")
	assert.Equal(t, Skipped, d.Status)
	assert.Contains(t, d.Reason, "disabled")
}

func TestRunRejectsBadPolicy(t *testing.T) {
	for name, o := range map[string]Options{
		"unknown severity ID":       {Severity: map[string]string{"CG-SEC-999": "low"}},
		"bad severity":              {Severity: map[string]string{"CG-SEC-901": "urgent"}},
		"unknown disable":           {Disable: []string{"CG-XYZ-1"}},
		"bad fail_on":               {FailOn: "severe"},
		"unknown acceptance":        {Accept: []Acceptance{{ID: "CG-SEC-999", Reason: "x"}}},
		"acceptance without reason": {Accept: []Acceptance{{ID: "CG-SEC-901"}}},
	} {
		t.Run(name, func(t *testing.T) {
			o.Checks = testChecks()
			_, err := Run([]*Facts{testFacts()}, o)
			var oe *OptionsError
			require.ErrorAs(t, err, &oe)
		})
	}
}

func TestAcceptances(t *testing.T) {
	mk := func(id, key, expires string) Acceptance {
		a, err := ParseAcceptance(id, key, "reviewed in OPS-1", expires, "carbonguard.toml [[check.accept]] #1")
		require.NoError(t, err)
		return a
	}
	t.Run("applies and unblocks", func(t *testing.T) {
		r, err := Run([]*Facts{testFacts()}, Options{Checks: testChecks(), Accept: []Acceptance{mk("cg-sec-901", "", "2025-06-30")}})
		require.NoError(t, err)
		fd := find(r, "CG-SEC-901")
		require.NotNil(t, fd.Accepted)
		assert.Equal(t, "2025-06-30", fd.Accepted.Expires)
		assert.False(t, r.Blocking)
		assert.Equal(t, 1, r.Tally.Accepted)
		assert.Empty(t, r.Warnings)
	})
	t.Run("key must match", func(t *testing.T) {
		r, err := Run([]*Facts{testFacts()}, Options{Checks: testChecks(), Accept: []Acceptance{mk("CG-SEC-901", "other", "")}})
		require.NoError(t, err)
		assert.Nil(t, find(r, "CG-SEC-901").Accepted)
		assert.True(t, r.Blocking)
		require.Len(t, r.Warnings, 1)
		assert.Contains(t, r.Warnings[0], "matched no finding")
	})
	t.Run("subject matches too", func(t *testing.T) {
		r, err := Run([]*Facts{testFacts()}, Options{Checks: testChecks(), Accept: []Acceptance{mk("CG-SEC-901", "a", "")}})
		require.NoError(t, err)
		assert.NotNil(t, find(r, "CG-SEC-901").Accepted)
	})
	t.Run("expired is warned and not applied", func(t *testing.T) {
		// fixedNow is 2025-06-02: an acceptance until 2025-06-01 lapsed.
		r, err := Run([]*Facts{testFacts()}, Options{Checks: testChecks(), Accept: []Acceptance{mk("CG-SEC-901", "", "2025-06-01")}})
		require.NoError(t, err)
		assert.Nil(t, find(r, "CG-SEC-901").Accepted)
		assert.True(t, r.Blocking)
		require.Len(t, r.Warnings, 1)
		assert.Contains(t, r.Warnings[0], "expired on 2025-06-01")
	})
	t.Run("last day still holds", func(t *testing.T) {
		r, err := Run([]*Facts{testFacts()}, Options{Checks: testChecks(), Accept: []Acceptance{mk("CG-SEC-901", "", "2025-06-02")}})
		require.NoError(t, err)
		assert.NotNil(t, find(r, "CG-SEC-901").Accepted)
	})
	t.Run("no-accept ignores all", func(t *testing.T) {
		r, err := Run([]*Facts{testFacts()}, Options{Checks: testChecks(), NoAccept: true, Accept: []Acceptance{mk("CG-SEC-901", "", "")}})
		require.NoError(t, err)
		assert.Nil(t, find(r, "CG-SEC-901").Accepted)
		assert.True(t, r.Blocking)
		assert.Empty(t, r.Warnings, "ignored acceptances are not 'unused'")
	})
	t.Run("bad date", func(t *testing.T) {
		_, err := ParseAcceptance("CG-SEC-901", "", "x", "31/12/2025", "here")
		var oe *OptionsError
		require.ErrorAs(t, err, &oe)
		assert.Contains(t, err.Error(), "YYYY-MM-DD")
	})
}

func TestReportsRender(t *testing.T) {
	r, err := Run([]*Facts{testFacts()}, Options{Checks: testChecks(), Accept: []Acceptance{{ID: "CG-SEC-902", Reason: "ok for now", Where: "w"}}})
	require.NoError(t, err)

	var txt bytes.Buffer
	require.NoError(t, r.WriteText(&txt, TextOptions{}))
	assert.Contains(t, txt.String(), "[high, blocking] CG-SEC-901 high one — a")
	assert.Contains(t, txt.String(), "[low, accepted] CG-SEC-902")
	assert.Contains(t, txt.String(), "could not judge (2)")
	assert.Contains(t, txt.String(), "FAIL: 1 finding(s) at or above high")
	assert.NotContains(t, txt.String(), "hunter2")

	var js bytes.Buffer
	require.NoError(t, r.WriteJSON(&js))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(js.Bytes(), &doc))
	assert.EqualValues(t, SchemaVersion, doc["schema_version"])
	assert.NotContains(t, js.String(), "hunter2")

	var sarif bytes.Buffer
	require.NoError(t, r.WriteSARIF(&sarif, ""))
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID       string `json:"ruleId"`
				RuleIndex    int    `json:"ruleIndex"`
				Level        string `json:"level"`
				Kind         string `json:"kind"`
				Suppressions []struct {
					Kind string `json:"kind"`
				} `json:"suppressions"`
			} `json:"results"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal(sarif.Bytes(), &log))
	assert.Equal(t, "2.1.0", log.Version)
	require.Len(t, log.Runs, 1)
	rules := log.Runs[0].Tool.Driver.Rules
	assert.Len(t, rules, len(testChecks()))
	for _, res := range log.Runs[0].Results {
		assert.Equal(t, res.RuleID, rules[res.RuleIndex].ID, "ruleIndex points at the rule")
		switch res.RuleID {
		case "CG-SEC-901":
			assert.Equal(t, "error", res.Level)
		case "CG-SEC-902":
			require.Len(t, res.Suppressions, 1)
			assert.Equal(t, "external", res.Suppressions[0].Kind)
		case "CG-SEC-904", "CG-SEC-905":
			assert.Equal(t, "review", res.Kind)
		}
	}
}

func TestMasking(t *testing.T) {
	assert.Equal(t, Mask, MaskSecret("keystore.tls.password", "wso2carbon"))
	assert.Equal(t, "$secret{ks}", MaskSecret("keystore.tls.password", "$secret{ks}"))
	assert.Equal(t, "admin", MaskSecret("super_admin.username", "admin"))
	assert.Equal(t, "-Xmx2g -Djavax.net.ssl.trustStorePassword="+Mask+" -Dfoo=bar",
		MaskArgs("-Xmx2g -Djavax.net.ssl.trustStorePassword=wso2carbon -Dfoo=bar"))
	assert.Equal(t, "http://u:"+Mask+"@proxy:3128", maskURL("http://u:pw@proxy:3128"))
	v := viewFacts(&Facts{Pack: &pack.Pack{Home: "/h", SysProps: map[string]string{"db.password": "x"}},
		Host:  Host{Env: map[string]string{"https_proxy": "http://u:pw@p:1", "JAVA_OPTS": "-Dkey.password=p"}},
		Start: StartFacts{ScriptArgs: []string{"-Dkeystore.password=s"}}, Now: time.Unix(0, 0)})
	b, err := json.Marshal(v)
	require.NoError(t, err)
	for _, secret := range []string{`"x"`, "pw@", "password=p", "password=s"} {
		assert.NotContains(t, string(b), secret)
	}
}

func TestGateOnFixturePack(t *testing.T) {
	home := copyPack(t, "apim-4.2")
	p, err := pack.Open(home)
	require.NoError(t, err)
	r, blocked, err := Gate(t.Context(), p, GateOptions{Collect: CollectOptions{Probe: StaticProbe{Host: fakeHost()}, Now: fixedNow}})
	require.NoError(t, err)
	assert.True(t, blocked, "the stock pack has high findings")
	assert.NotEmpty(t, r.BlockingLines())

	_, _, err = Gate(t.Context(), p, GateOptions{Collect: CollectOptions{Probe: StaticProbe{Host: fakeHost()}}, Policy: Options{FailOn: "nope"}})
	var oe *OptionsError
	require.ErrorAs(t, err, &oe)
}
