package wrapper

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Rule is one log pattern of the boot verdict.
type Rule struct {
	Name string // e.g. "config-error"
	Kind string // success, failure, osgi-wait, restart
	Text string // a plain substring (log lines are matched case-sensitively)
}

// The log lines WSO2 prints at boot (see doc.go for their sources).
var (
	successRules = []Rule{
		{Name: "carbon-started", Kind: kindSuccess, Text: "WSO2 Carbon started in"},
		{Name: "mi-started", Kind: kindSuccess, Text: "WSO2 Micro Integrator started in"},
	}
	failureRules = []Rule{
		{Name: "config-error", Kind: kindFailure, Text: "Error while performing configuration changes"},
		{Name: "startup-failed", Kind: kindFailure, Text: "startup failed"},
		{Name: "out-of-memory", Kind: kindFailure, Text: "OutOfMemoryError"},
		{Name: "address-in-use", Kind: kindFailure, Text: "Address already in use"},
	}
	osgiWaitRule = Rule{Name: "osgi-wait", Kind: kindOSGiWait, Text: "Waiting for required OSGi services"}
	restartRule  = Rule{Name: "restart", Kind: kindRestart, Text: "Starting a new Carbon instance"}
)

const (
	kindSuccess  = "success"
	kindFailure  = "failure"
	kindOSGiWait = "osgi-wait"
	kindRestart  = "restart"
)

// Rules are the settings of the boot verdict.
type Rules struct {
	// Timeout bounds the wait for the success line and the health
	// endpoints, from the launch. The stability window may run past it.
	Timeout time.Duration
	// Stability is how long the process must stay alive after the success
	// line, with no failure line, before the boot is up.
	Stability time.Duration
	// OSGiWaitLimit: this many "Waiting for required OSGi services" lines
	// make the boot failed (Carbon logs one a minute after the first minute
	// while a required service is missing). 0 means 2.
	OSGiWaitLimit int
}

func (r Rules) record() RulesRecord {
	return RulesRecord{TimeoutMS: r.Timeout.Milliseconds(), StabilityMS: r.Stability.Milliseconds(), OSGiWaitLimit: r.osgiLimit()}
}

func (r Rules) osgiLimit() int {
	if r.OSGiWaitLimit <= 0 {
		return 2
	}
	return r.OSGiWaitLimit
}

// maxLines bounds the matched lines kept as evidence; tailLines the last
// lines kept for a boot that is not up.
const (
	maxLines  = 40
	tailLines = 20
)

// judge is the verdict's rule engine: it is fed what the watcher sees and
// decides. It does no I/O and reads no clock, so its rules are tested as a
// table.
type judge struct {
	rules    Rules
	launched time.Time
	// healthNeeded is false when no endpoint is configured: the success line
	// and the stability window decide alone.
	healthNeeded bool

	success   *LogLine
	healthOK  time.Time
	failure   *LogLine
	osgiWaits int
	exit      *ExitInfo
	logErr    error
	restarts  int

	lines     []LogLine
	dropped   int
	tail      []string
	tailNext  int
	linesRead int
}

func newJudge(r Rules, launched time.Time, healthNeeded bool) *judge {
	return &judge{rules: r, launched: launched, healthNeeded: healthNeeded}
}

// line feeds one new log line read at time at.
func (j *judge) line(text string, at time.Time) {
	j.linesRead++
	if len(j.tail) < tailLines {
		j.tail = append(j.tail, text)
	} else {
		j.tail[j.tailNext] = text
		j.tailNext = (j.tailNext + 1) % tailLines
	}
	rule, ok := match(text)
	if !ok {
		return
	}
	l := LogLine{Kind: rule.Kind, Rule: rule.Name, Text: truncate(text, 2000), Seen: at, Logged: lineTime(text)}
	j.keep(l)
	switch rule.Kind {
	case kindSuccess:
		if j.success == nil {
			j.success = &l
		}
	case kindFailure:
		if j.failure == nil {
			j.failure = &l
		}
	case kindOSGiWait:
		j.osgiWaits++
		if j.osgiWaits >= j.rules.osgiLimit() && j.failure == nil {
			l.Rule = fmt.Sprintf("osgi-wait×%d", j.osgiWaits)
			j.failure = &l
		}
	case kindRestart:
		// The server asked the script to relaunch it (exit 121): what the
		// old instance said no longer describes the new one.
		j.restarts++
		j.success = nil
		j.healthOK = time.Time{}
		j.osgiWaits = 0
	}
}

func (j *judge) keep(l LogLine) {
	if len(j.lines) >= maxLines {
		// Keep the first lines (how it began) and the decisive last ones.
		copy(j.lines[maxLines/2:], j.lines[maxLines/2+1:])
		j.lines = j.lines[:maxLines-1]
		j.dropped++
	}
	j.lines = append(j.lines, l)
}

func match(text string) (Rule, bool) {
	for _, r := range successRules {
		if strings.Contains(text, r.Text) {
			return r, true
		}
	}
	for _, r := range failureRules {
		if strings.Contains(text, r.Text) {
			return r, true
		}
	}
	if strings.Contains(text, osgiWaitRule.Text) {
		return osgiWaitRule, true
	}
	if strings.Contains(text, restartRule.Text) {
		return restartRule, true
	}
	return Rule{}, false
}

// tailLog returns the last lines in order.
func (j *judge) tailLog() []string {
	if len(j.tail) < tailLines {
		return append([]string(nil), j.tail...)
	}
	return append(append([]string(nil), j.tail[j.tailNext:]...), j.tail[:j.tailNext]...)
}

// wantHealth reports whether the endpoints should be probed now: after the
// success line (before it, an early answer would prove little), or from the
// start when the log cannot be read.
func (j *judge) wantHealth() bool {
	return j.healthNeeded && j.healthOK.IsZero() && (j.success != nil || j.logErr != nil)
}

// decide applies the rules at time now. done is false while the boot is
// still undecided.
func (j *judge) decide(now time.Time) (state State, reason string, done bool) {
	if j.failure != nil {
		return Failed, fmt.Sprintf("log: %s: %s", j.failure.Rule, strings.TrimSpace(shortLine(j.failure.Text))), true
	}
	if j.exit != nil {
		what := "the server " + j.exit.String()
		if j.success != nil {
			return Failed, what + " after its success line, within the stability window", true
		}
		return Failed, what + " before its success line", true
	}
	healthy := !j.healthNeeded || !j.healthOK.IsZero()
	if j.success != nil {
		if healthy && !now.Before(j.success.Seen.Add(j.rules.Stability)) && !now.Before(j.healthOK) {
			return Up, fmt.Sprintf("success line, process alive, %s, stable for %s", healthWords(j.healthNeeded), fmtDur(j.rules.Stability)), true
		}
		if !healthy && !now.Before(j.launched.Add(j.rules.Timeout)) {
			return Unknown, fmt.Sprintf("success line seen and the process is alive, but the health endpoints did not all answer within %s", fmtDur(j.rules.Timeout)), true
		}
		return "", "", false
	}
	if j.logErr != nil {
		// Blind: the log cannot be read, so the success line cannot be seen.
		if j.healthNeeded && !j.healthOK.IsZero() && !now.Before(j.healthOK.Add(j.rules.Stability)) {
			return Unknown, fmt.Sprintf("the log cannot be read (%v); the process is alive and the health endpoints answer", j.logErr), true
		}
		if !now.Before(j.launched.Add(j.rules.Timeout)) {
			return Unknown, fmt.Sprintf("the log cannot be read (%v) and the health endpoints did not all answer within %s", j.logErr, fmtDur(j.rules.Timeout)), true
		}
		return "", "", false
	}
	if !now.Before(j.launched.Add(j.rules.Timeout)) {
		return Failed, fmt.Sprintf("no success line within %s (process still alive)", fmtDur(j.rules.Timeout)), true
	}
	return "", "", false
}

func healthWords(needed bool) string {
	if needed {
		return "health endpoints answering"
	}
	return "no health endpoint configured"
}

// progress is a one-line STATUS= text for systemd while waiting.
func (j *judge) progress(now time.Time) string {
	el := fmtDur(now.Sub(j.launched).Truncate(time.Second))
	switch {
	case j.success != nil && j.healthNeeded && j.healthOK.IsZero():
		return fmt.Sprintf("boot: success line seen; waiting for health endpoints (%s)", el)
	case j.success != nil:
		return fmt.Sprintf("boot: success line seen; stability window (%s)", el)
	case j.osgiWaits > 0:
		return fmt.Sprintf("boot: waiting for OSGi services (%d) (%s)", j.osgiWaits, el)
	default:
		return fmt.Sprintf("boot: waiting for the success line (%s, %d log lines)", el, j.linesRead)
	}
}

// lineTimeRE finds Carbon's log4j2 timestamp: "[2024-05-01 10:11:12,345]".
var lineTimeRE = regexp.MustCompile(`\[(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}[,.]\d{3})`)

// lineTime is the timestamp written inside a log line, in local time (Carbon
// logs local time without a zone), or nil.
func lineTime(text string) *time.Time {
	m := lineTimeRE.FindStringSubmatch(text)
	if m == nil {
		return nil
	}
	s := strings.Replace(strings.Replace(m[1], "T", " ", 1), ",", ".", 1)
	t, err := time.ParseInLocation("2006-01-02 15:04:05.000", s, time.Local)
	if err != nil {
		return nil
	}
	return &t
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// shortLine drops the log4j prefix up to the message ("... - message") for
// the one-line reason; the full line stays in the evidence.
func shortLine(s string) string {
	if i := strings.Index(s, "} - "); i >= 0 {
		s = s[i+4:]
	}
	return truncate(s, 300)
}
