package wrapper

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/carbonguard/carbonguard/internal/durable"
)

// State is the boot verdict.
type State string

// The verdicts.
const (
	// Up: the success line, the process alive, every health endpoint
	// answering, and the process still alive at the end of the stability
	// window.
	Up State = "up"
	// Failed: the process exited, a failure line appeared, the OSGi
	// framework kept waiting for services, or no success line came within
	// the timeout.
	Failed State = "failed"
	// Unknown: the boot could not be judged: the success line came and the
	// process lives but the health endpoints never answered within the
	// timeout, the log could not be read, or the wrapper was interrupted.
	Unknown State = "unknown"
)

// VerdictSchemaVersion versions the JSON form of Verdict and Status.
const VerdictSchemaVersion = 1

// Verdict is the judgement of one boot with its evidence.
type Verdict struct {
	SchemaVersion int    `json:"schema_version"`
	State         State  `json:"state"`
	Reason        string `json:"reason"` // one line for people
	// Command is what made the boot: start, run, restart, or watch (a boot
	// judged by a caller that launched the server itself).
	Command    string   `json:"command,omitempty"`
	Home       string   `json:"home,omitempty"`
	Product    string   `json:"product,omitempty"`
	Version    string   `json:"version,omitempty"`
	Script     string   `json:"script,omitempty"`
	ScriptArgs []string `json:"script_args,omitempty"`
	// ScriptPID is the stock script's shell (the 121 restart loop); PID the
	// JVM as named by the PID file, 0 when it never wrote one.
	ScriptPID int       `json:"script_pid,omitempty"`
	PID       int       `json:"pid,omitempty"`
	Exit      *ExitInfo `json:"exit,omitempty"` // set when the server exited during the boot
	Timings   Timings   `json:"timings"`
	// Lines are the log lines that decided or informed the verdict: success,
	// failure, OSGi waits and restarts, each with when it was read.
	Lines  []LogLine      `json:"lines,omitempty"`
	Health []HealthResult `json:"health,omitempty"`
	Log    LogEvidence    `json:"log"`
	// Console is the end of the console of a server that exited during
	// its boot (Start; Run shows its console as it comes).
	Console *ConsoleEvidence `json:"console,omitempty"`
	Rules   RulesRecord      `json:"rules"`
	Gate    *GateRecord      `json:"gate,omitempty"`
	// Notes are remarks that do not change the verdict (a stale PID file
	// removed, a restart seen, a probe that skipped TLS verification).
	Notes []string `json:"notes,omitempty"`
}

// Timings of the boot. Durations are in milliseconds from Launched.
type Timings struct {
	Launched    time.Time  `json:"launched"`
	SuccessLine *time.Time `json:"success_line,omitempty"` // when the wrapper read the success line
	HealthOK    *time.Time `json:"health_ok,omitempty"`    // when every endpoint had answered
	Decided     time.Time  `json:"decided"`
	// SuccessLogged is the timestamp written inside the success line (the
	// server's clock, millisecond resolution), when it has one.
	SuccessLogged *time.Time `json:"success_logged,omitempty"`
	BootMS        int64      `json:"boot_ms"` // Launched → Decided
}

// ExitInfo is how the server process ended.
type ExitInfo struct {
	Code   int       `json:"code"`             // exit status; -1 when killed by a signal
	Signal string    `json:"signal,omitempty"` // the signal that killed it
	At     time.Time `json:"at"`
	Known  bool      `json:"known"` // false when the process was not ours to wait for and its status is lost
}

func (e *ExitInfo) String() string {
	switch {
	case e == nil:
		return "still running"
	case e.Signal != "":
		return "killed by " + e.Signal
	case !e.Known:
		return "exited (status not known: not a child of carbonguard)"
	default:
		return fmt.Sprintf("exited with status %d", e.Code)
	}
}

// LogLine is one log line that mattered.
type LogLine struct {
	Kind   string     `json:"kind"` // success, failure, osgi-wait, restart
	Rule   string     `json:"rule"` // the rule that matched, e.g. "config-error"
	Text   string     `json:"text"`
	Seen   time.Time  `json:"seen"`             // when carbonguard read it
	Logged *time.Time `json:"logged,omitempty"` // the timestamp inside the line
}

// LogEvidence says what part of the log was read.
type LogEvidence struct {
	Path      string   `json:"path"`
	StartSize int64    `json:"start_size"` // bytes before the launch: everything before was not read
	Existed   bool     `json:"existed"`    // the file existed before the launch
	Rotations int      `json:"rotations"`  // rotations or truncations seen
	LinesRead int      `json:"lines_read"` // new lines read
	Error     string   `json:"error,omitempty"`
	Tail      []string `json:"tail,omitempty"` // the last new lines, for a failed or unknown boot
}

// RulesRecord is the rule settings the verdict was judged with.
type RulesRecord struct {
	TimeoutMS     int64 `json:"timeout_ms"`
	StabilityMS   int64 `json:"stability_ms"`
	OSGiWaitLimit int   `json:"osgi_wait_limit"`
}

// GateRecord is what the check gate said before the launch.
type GateRecord struct {
	Ran       bool     `json:"ran"`
	Blocked   bool     `json:"blocked"` // findings at or above the threshold
	Threshold string   `json:"threshold,omitempty"`
	Summary   string   `json:"summary,omitempty"`
	Findings  []string `json:"findings,omitempty"` // the blocking findings, one line each
	Forced    bool     `json:"forced,omitempty"`
	ForcedBy  string   `json:"forced_by,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	Error     string   `json:"error,omitempty"`
	Skipped   string   `json:"skipped,omitempty"` // why the gate did not run
}

// WriteText prints the verdict for people.
func (v *Verdict) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("boot verdict: %s: %s\n", strings.ToUpper(string(v.State)), v.Reason)
	if v.Home != "" {
		ew.printf("  home:       %s (%s %s)\n", v.Home, v.Product, v.Version)
	}
	if v.Script != "" {
		ew.printf("  script:     %s %s\n", v.Script, strings.Join(v.ScriptArgs, " "))
	}
	if v.PID > 0 || v.ScriptPID > 0 {
		ew.printf("  pid:        %d (script %d)\n", v.PID, v.ScriptPID)
	}
	if v.Exit != nil {
		ew.printf("  exit:       %s\n", v.Exit)
	}
	t := v.Timings
	ew.printf("  timings:    launched %s", t.Launched.Format(time.RFC3339Nano))
	if t.SuccessLine != nil {
		ew.printf(", success line +%s", fmtDur(t.SuccessLine.Sub(t.Launched)))
	}
	if t.HealthOK != nil {
		ew.printf(", health ok +%s", fmtDur(t.HealthOK.Sub(t.Launched)))
	}
	ew.printf(", verdict +%s\n", fmtDur(t.Decided.Sub(t.Launched)))
	ew.printf("  rules:      timeout %s, stability %s, OSGi waits ≥ %d\n",
		fmtDur(time.Duration(v.Rules.TimeoutMS)*time.Millisecond),
		fmtDur(time.Duration(v.Rules.StabilityMS)*time.Millisecond), v.Rules.OSGiWaitLimit)
	ew.printf("  log:        %s from byte %d", v.Log.Path, v.Log.StartSize)
	if v.Log.Rotations > 0 {
		ew.printf(", %d rotation(s)", v.Log.Rotations)
	}
	ew.printf(", %d new line(s)\n", v.Log.LinesRead)
	if v.Log.Error != "" {
		ew.printf("  log error:  %s\n", v.Log.Error)
	}
	for _, l := range v.Lines {
		ew.printf("  %-11s %s [%s] %s\n", l.Kind+":", l.Seen.Format("15:04:05.000"), l.Rule, l.Text)
	}
	for _, h := range v.Health {
		ew.printf("  health:     %s %s\n", h.URL, h.summary())
	}
	if g := v.Gate; g != nil {
		switch {
		case g.Skipped != "":
			ew.printf("  gate:       not run: %s\n", g.Skipped)
		case g.Forced:
			ew.printf("  gate:       FORCED by %s: %s (%s)\n", g.ForcedBy, g.Reason, g.Summary)
		case g.Ran:
			ew.printf("  gate:       passed (%s)\n", g.Summary)
		}
	}
	for _, n := range v.Notes {
		ew.printf("  note:       %s\n", n)
	}
	if v.State != Up && len(v.Log.Tail) > 0 {
		ew.printf("  last log lines:\n")
		for _, l := range v.Log.Tail {
			ew.printf("    %s\n", l)
		}
	}
	if c := v.Console; v.State != Up && c != nil && len(c.Tail) > 0 {
		if c.Path != "" {
			ew.printf("  last console lines (%s):\n", c.Path)
		} else {
			ew.printf("  last console lines:\n")
		}
		for _, l := range c.Tail {
			ew.printf("    %s\n", l)
		}
	}
	return ew.err
}

func fmtDur(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}

// The verdict files in the state directory.
const (
	verdictDir     = "verdicts"
	verdictLast    = "last.json"
	verdictHistory = "history"
	// historyKeep bounds the history: enough for weeks of restarts, small
	// enough never to matter on disk.
	historyKeep = 100
)

// SaveVerdict writes v as <state>/verdicts/last.json and adds it to
// <state>/verdicts/history/, keeping the newest historyKeep. Both writes are
// atomic.
func SaveVerdict(stateDir string, v *Verdict) error {
	if stateDir == "" {
		return errors.New("no state directory to save the verdict in")
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the verdict: %w", err)
	}
	b = append(b, '\n')
	dir := filepath.Join(stateDir, verdictDir)
	hdir := filepath.Join(dir, verdictHistory)
	name := v.Timings.Decided.UTC().Format("20060102T150405.000000000Z") + "-" + string(v.State) + ".json"
	if err := durable.MkdirAll(hdir, 0o750); err != nil {
		return err
	}
	if err := durable.WriteFile(filepath.Join(hdir, name), b, 0o640); err != nil {
		return err
	}
	if err := durable.WriteFile(filepath.Join(dir, verdictLast), b, 0o640); err != nil {
		return err
	}
	return pruneHistory(hdir, historyKeep)
}

func pruneHistory(dir string, keep int) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("reading %s: %w", dir, err)
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".json") && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	if len(names) <= keep {
		return nil
	}
	sort.Strings(names) // the names start with a sortable UTC time
	for _, n := range names[:len(names)-keep] {
		if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("pruning verdict history: %w", err)
		}
	}
	return nil
}

// LoadLastVerdict reads <state>/verdicts/last.json. It returns (nil, nil)
// when no verdict was ever saved.
func LoadLastVerdict(stateDir string) (*Verdict, error) {
	path := filepath.Join(stateDir, verdictDir, verdictLast)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the last verdict: %w", err)
	}
	var v Verdict
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%s: not a verdict: %w; delete it to start afresh", path, err)
	}
	return &v, nil
}

// VerdictHistory reads the saved verdicts, oldest first.
func VerdictHistory(stateDir string) ([]*Verdict, error) {
	dir := filepath.Join(stateDir, verdictDir, verdictHistory)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	var out []*Verdict
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", e.Name(), err)
		}
		var v Verdict
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("%s: not a verdict: %w", filepath.Join(dir, e.Name()), err)
		}
		out = append(out, &v)
	}
	return out, nil
}
