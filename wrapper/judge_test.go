package wrapper

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	lineSuccess = "TID: [-1234] [] [2024-05-01 10:11:12,345]  INFO {org.wso2.carbon.core.internal.StartupFinalizerServiceComponent} - WSO2 Carbon started in 42 sec"
	lineMI      = "[2024-05-01 10:11:12,345]  INFO {StartupFinalizer} - WSO2 Micro Integrator started in 3.21 seconds"
	lineConfig  = "[2024-05-01 10:11:01,000] ERROR {org.wso2.config.mapper.ConfigParser} - Error while performing configuration changes"
	lineOSGi    = "[2024-05-01 10:12:01,000]  WARN {org.wso2.carbon.core.internal.StartupFinalizerServiceComponent} - Waiting for required OSGi services: org.wso2.carbon.x.Service"
	lineRestart = "[2024-05-01 10:12:01,000]  INFO {org.wso2.carbon.core.ServerManagement} - Starting a new Carbon instance. Current instance will be shutdown"
	lineOOM     = "java.lang.OutOfMemoryError: Java heap space"
	lineBind    = "java.net.BindException: Address already in use"
	lineFatal   = "[2024-05-01 10:11:01,000] FATAL {org.wso2.carbon.core.init.CarbonServerManager} - WSO2 API Manager startup failed."
	lineConsole = "Mgt Console URL  : https://localhost:9443/carbon/"
)

// step is one event fed to the judge at an offset from the launch.
type step struct {
	at     time.Duration
	line   string
	health bool
	exit   *ExitInfo
	logErr error
}

func TestJudgeRules(t *testing.T) {
	t.Parallel()
	rules := Rules{Timeout: 60 * time.Second, Stability: 10 * time.Second}
	sec := time.Second
	tests := []struct {
		name   string
		health bool
		steps  []step
		at     time.Duration // when decide is asked
		want   State         // "" = undecided
		reason string        // substring of the reason
	}{
		{name: "nothing yet", health: true, at: 5 * sec},
		{name: "success, waiting for health", health: true, steps: []step{{at: sec, line: lineSuccess}}, at: 20 * sec},
		{name: "success and health, inside the window", health: true,
			steps: []step{{at: sec, line: lineSuccess}, {at: 2 * sec, health: true}}, at: 10 * sec},
		{name: "up at success+stability", health: true,
			steps: []step{{at: sec, line: lineSuccess}, {at: 2 * sec, health: true}}, at: 11 * sec, want: Up, reason: "stable for 10s"},
		{name: "up waits for late health", health: true,
			steps: []step{{at: sec, line: lineSuccess}, {at: 30 * sec, health: true}}, at: 30 * sec, want: Up},
		{name: "MI success line", health: true,
			steps: []step{{at: sec, line: lineMI}, {at: sec, health: true}}, at: 11 * sec, want: Up},
		{name: "no health configured", health: false, steps: []step{{at: sec, line: lineSuccess}}, at: 11 * sec, want: Up, reason: "no health endpoint"},
		{name: "Mgt Console URL is not success", health: false, steps: []step{{at: sec, line: lineConsole}}, at: 30 * sec},
		{name: "config error", health: true, steps: []step{{at: sec, line: lineConfig}}, at: sec, want: Failed, reason: "config-error"},
		{name: "startup failed", health: true, steps: []step{{at: sec, line: lineFatal}}, at: sec, want: Failed, reason: "startup-failed"},
		{name: "OOM after success fails the window", health: true,
			steps: []step{{at: sec, line: lineSuccess}, {at: 2 * sec, health: true}, {at: 5 * sec, line: lineOOM}}, at: 5 * sec, want: Failed, reason: "out-of-memory"},
		{name: "address in use", health: true, steps: []step{{at: sec, line: lineBind}, {at: 2 * sec, line: lineSuccess}}, at: 30 * sec, want: Failed, reason: "address-in-use"},
		{name: "one OSGi wait is not yet a hang", health: true, steps: []step{{at: sec, line: lineOSGi}}, at: 30 * sec},
		{name: "two OSGi waits are a hang", health: true,
			steps: []step{{at: sec, line: lineOSGi}, {at: 2 * sec, line: lineOSGi}}, at: 2 * sec, want: Failed, reason: "osgi-wait×2"},
		{name: "exit before success", health: true,
			steps: []step{{at: sec, exit: &ExitInfo{Code: 1, Known: true}}}, at: sec, want: Failed, reason: "exited with status 1 before its success line"},
		{name: "exit in the window", health: true,
			steps: []step{{at: sec, line: lineSuccess}, {at: 2 * sec, health: true}, {at: 5 * sec, exit: &ExitInfo{Code: -1, Signal: "SIGKILL", Known: true}}}, at: 5 * sec, want: Failed, reason: "killed by SIGKILL after its success line"},
		{name: "failure line explains the exit", health: true,
			steps: []step{{at: sec, line: lineConfig}, {at: sec, exit: &ExitInfo{Code: 1, Known: true}}}, at: sec, want: Failed, reason: "config-error"},
		{name: "timeout without success line", health: true, at: 60 * sec, want: Failed, reason: "no success line within 1m0s"},
		{name: "timeout with success but no health", health: true, steps: []step{{at: sec, line: lineSuccess}}, at: 60 * sec, want: Unknown, reason: "health endpoints did not all answer"},
		{name: "stability window completes past the timeout", health: true,
			steps: []step{{at: 55 * sec, line: lineSuccess}, {at: 56 * sec, health: true}}, at: 62 * sec},
		{name: "restart resets success", health: true,
			steps: []step{{at: sec, line: lineSuccess}, {at: 2 * sec, health: true}, {at: 3 * sec, line: lineRestart}}, at: 20 * sec},
		{name: "restart then success again", health: true,
			steps: []step{{at: sec, line: lineSuccess}, {at: 3 * sec, line: lineRestart}, {at: 5 * sec, line: lineSuccess}, {at: 6 * sec, health: true}}, at: 15 * sec, want: Up},
		{name: "restart resets OSGi waits", health: true,
			steps: []step{{at: sec, line: lineOSGi}, {at: 2 * sec, line: lineRestart}, {at: 3 * sec, line: lineOSGi}}, at: 4 * sec},
		{name: "log unreadable, endpoints answer", health: true,
			steps: []step{{at: 0, logErr: errors.New("permission denied")}, {at: 5 * sec, health: true}}, at: 15 * sec, want: Unknown, reason: "log cannot be read"},
		{name: "log unreadable, nothing answers", health: true,
			steps: []step{{at: 0, logErr: errors.New("permission denied")}}, at: 60 * sec, want: Unknown, reason: "did not all answer"},
	}
	t0 := time.Date(2024, 5, 1, 10, 11, 0, 0, time.Local)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j := newJudge(rules, t0, tc.health)
			for _, s := range tc.steps {
				at := t0.Add(s.at)
				switch {
				case s.line != "":
					j.line(s.line, at)
				case s.health:
					j.healthOK = at
				case s.exit != nil:
					j.exit = s.exit
				case s.logErr != nil:
					j.logErr = s.logErr
				}
			}
			state, reason, done := j.decide(t0.Add(tc.at))
			if tc.want == "" {
				assert.False(t, done, "decided %s: %s", state, reason)
				return
			}
			require.True(t, done, "undecided")
			assert.Equal(t, tc.want, state)
			assert.Contains(t, reason, tc.reason)
		})
	}
}

func TestJudgeOSGiLimitConfigurable(t *testing.T) {
	t.Parallel()
	j := newJudge(Rules{Timeout: time.Minute, OSGiWaitLimit: 3}, time.Now(), false)
	j.line(lineOSGi, time.Now())
	j.line(lineOSGi, time.Now())
	_, _, done := j.decide(time.Now())
	assert.False(t, done)
	j.line(lineOSGi, time.Now())
	state, _, done := j.decide(time.Now())
	assert.True(t, done)
	assert.Equal(t, Failed, state)
}

func TestJudgeEvidence(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	j := newJudge(Rules{Timeout: time.Minute}, t0, false)
	for i := 0; i < 30; i++ {
		j.line("noise", t0)
	}
	j.line(lineSuccess, t0)
	require.Len(t, j.lines, 1)
	l := j.lines[0]
	assert.Equal(t, kindSuccess, l.Kind)
	assert.Equal(t, "carbon-started", l.Rule)
	require.NotNil(t, l.Logged)
	assert.Equal(t, "2024-05-01 10:11:12.345", l.Logged.Format("2006-01-02 15:04:05.000"))
	tail := j.tailLog()
	assert.Len(t, tail, tailLines)
	assert.Equal(t, lineSuccess, tail[len(tail)-1])
	assert.Equal(t, 31, j.linesRead)

	// A flood of OSGi waits keeps the first and the latest lines.
	j2 := newJudge(Rules{Timeout: time.Minute, OSGiWaitLimit: 1000}, t0, false)
	for i := 0; i < 100; i++ {
		j2.line(lineOSGi, t0.Add(time.Duration(i)*time.Second))
	}
	assert.Len(t, j2.lines, maxLines)
	assert.Equal(t, t0, j2.lines[0].Seen)
	assert.Equal(t, t0.Add(99*time.Second), j2.lines[maxLines-1].Seen)
}

func TestLineTime(t *testing.T) {
	t.Parallel()
	got := lineTime("TID: [-1234] [] [2024-05-01 10:11:12,345]  INFO {x} - y")
	require.NotNil(t, got)
	assert.Equal(t, time.Date(2024, 5, 1, 10, 11, 12, 345e6, time.Local), *got)
	assert.NotNil(t, lineTime("[2024-05-01T10:11:12.345] x"))
	assert.Nil(t, lineTime("no time here"))
}
