package wrapper

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), string(got))
}

func sampleVerdict(state State) *Verdict {
	t0 := time.Date(2024, 5, 1, 10, 11, 0, 0, time.UTC)
	at := func(ms int) *time.Time { t := t0.Add(time.Duration(ms) * time.Millisecond); return &t }
	v := &Verdict{
		SchemaVersion: VerdictSchemaVersion, State: state, Command: "start",
		Home: "/opt/wso2am-4.2.0", Product: "apim", Version: "4.2.0",
		Script: "/opt/wso2am-4.2.0/bin/api-manager.sh", ScriptArgs: []string{"-Dhttpclient.hostnameVerifier=Strict"},
		PID: 4242, ScriptPID: 4200,
		Timings: Timings{Launched: t0, SuccessLine: at(41500), HealthOK: at(42100), Decided: *at(51600), SuccessLogged: at(41480), BootMS: 51600},
		Lines:   []LogLine{{Kind: kindSuccess, Rule: "carbon-started", Text: lineSuccess, Seen: *at(41500)}},
		Health: []HealthResult{
			{Name: "apim-version", URL: "http://127.0.0.1:9763/services/Version", OK: true, Status: 200, Expect: "2xx", LatencyMS: 3.2, At: *at(42000), Attempts: 1},
			{Name: "apim-gateway-startup", URL: "https://127.0.0.1:9443/api/am/gateway/v2/server-startup-healthcheck", OK: state == Up, Status: 503, Expect: "2xx", LatencyMS: 12.5, At: *at(42100), Attempts: 3, Insecure: true},
		},
		Log:   LogEvidence{Path: "/opt/wso2am-4.2.0/repository/logs/wso2carbon.log", StartSize: 1024, Existed: true, LinesRead: 250},
		Rules: RulesRecord{TimeoutMS: 600000, StabilityMS: 10000, OSGiWaitLimit: 2},
		Gate:  &GateRecord{Ran: true, Blocked: true, Threshold: "high", Summary: "1 high", Forced: true, ForcedBy: "alice", Reason: "OPS-1"},
	}
	switch state {
	case Up:
		v.Reason = "success line, process alive, health endpoints answering, stable for 10s"
		v.Health[1].Status = 200
	case Failed:
		v.Reason = "log: out-of-memory: java.lang.OutOfMemoryError: Java heap space"
		v.Lines = append(v.Lines, LogLine{Kind: kindFailure, Rule: "out-of-memory", Text: lineOOM, Seen: *at(45000)})
		v.Exit = &ExitInfo{Code: 3, Known: true, At: *at(45100)}
		v.Log.Tail = []string{lineSuccess, lineOOM}
	}
	return v
}

func TestVerdictTextGolden(t *testing.T) {
	t.Parallel()
	for _, st := range []State{Up, Failed} {
		var b bytes.Buffer
		require.NoError(t, sampleVerdict(st).WriteText(&b))
		golden(t, "verdict-"+string(st)+".txt", b.Bytes())
	}
}

func TestStatusTextGolden(t *testing.T) {
	t.Parallel()
	started := time.Date(2024, 5, 1, 10, 11, 0, 0, time.UTC)
	yes, no := true, false
	st := &Status{
		SchemaVersion: 1, Home: "/opt/wso2am-4.2.0", Product: "apim", Version: "4.2.0", Running: true, PID: 4242,
		Started: &started, UptimeSec: 3725, PIDFile: "/opt/wso2am-4.2.0/wso2carbon.pid",
		Ports: []PortStatus{
			{Name: "servlet-https", Port: 9443, Enabled: true, Listening: true, ByServer: &yes, Address: "0.0.0.0"},
			{Name: "passthru-http", Port: 8280, Enabled: true, Listening: true, ByServer: &no, Address: "127.0.0.1"},
			{Name: "thrift-receiver-tcp", Port: 7611},
			{Name: "amqp", Port: 5672, Enabled: true},
		},
		LastVerdict: sampleVerdict(Up),
		Sections:    []StatusSection{{Name: "update", Text: "transaction 20240501T101100Z is awaiting-boot;\nthe next start commits or rolls back"}},
	}
	var b bytes.Buffer
	require.NoError(t, st.WriteText(&b))
	golden(t, "status-running.txt", b.Bytes())
}

func TestSaveVerdictHistory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	v, err := LoadLastVerdict(dir)
	require.NoError(t, err)
	assert.Nil(t, v, "no verdict yet")

	base := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	for i := 0; i < historyKeep+5; i++ {
		v := sampleVerdict(Up)
		if i%2 == 1 {
			v = sampleVerdict(Failed)
		}
		v.Timings.Decided = base.Add(time.Duration(i) * time.Minute)
		v.PID = i
		require.NoError(t, SaveVerdict(dir, v))
	}
	last, err := LoadLastVerdict(dir)
	require.NoError(t, err)
	assert.Equal(t, historyKeep+4, last.PID)
	hist, err := VerdictHistory(dir)
	require.NoError(t, err)
	require.Len(t, hist, historyKeep, "the history is bounded")
	assert.Equal(t, 5, hist[0].PID, "the oldest were pruned")
	assert.Equal(t, historyKeep+4, hist[len(hist)-1].PID)
	leftovers, _ := filepath.Glob(filepath.Join(dir, "verdicts", ".*"))
	assert.Empty(t, leftovers, "no temp files left behind")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "verdicts", "last.json"), []byte("{"), 0o644))
	_, err = LoadLastVerdict(dir)
	assert.ErrorContains(t, err, "not a verdict")
	assert.Error(t, SaveVerdict("", sampleVerdict(Up)))
}
