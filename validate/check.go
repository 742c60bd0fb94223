package validate

import (
	"fmt"
	"strings"

	"github.com/carbonguard/carbonguard/pack"
)

// Severity orders findings; the fail threshold (--fail-on) compares against it.
type Severity int

// The severities, lowest first.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < Info || s > Critical {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity reads "info", "low", "medium", "high" or "critical".
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q: use info, low, medium, high or critical", s)
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity's name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Status is the outcome of one check on one subject.
type Status string

// The outcomes. A check never passes silently: when it cannot tell, it says
// Unknown with the reason.
const (
	Pass          Status = "pass"
	Fail          Status = "fail"
	Skipped       Status = "skipped"        // not run; Reason says why
	NotApplicable Status = "not-applicable" // the check does not concern this product or role
	Unknown       Status = "unknown"        // a fact could not be read, or the value is externalised
)

// Check is one entry of the registry.
type Check struct {
	ID          string   // permanent, e.g. "CG-SEC-010"; never reused
	Title       string   // short, imperative-free statement of the risk
	Category    string   // "security", "transport", "ports", "jmx", "datastore", "host", "operations"
	Severity    Severity // default; carbonguard.toml may override it
	Rationale   string   // one paragraph: why it matters
	Remediation string   // what to change, naming keys and good values
	Doc         string   // anchor in docs/checks.md, e.g. "cg-sec-010"
	// Run judges the facts. It must not do I/O: everything it needs is in Facts.
	Run func(f *Facts) []Result
}

// Result is one check's verdict on one subject (a key, a file, a port, a
// datasource...). A check may return several.
type Result struct {
	Status  Status        `json:"status"`
	Subject string        `json:"subject,omitempty"` // what was judged, e.g. "[database.apim_db]" or "port 9443"
	Key     string        `json:"key,omitempty"`     // the configuration key, when there is one
	Value   string        `json:"value,omitempty"`   // the effective value, secrets masked
	Source  pack.Source   `json:"source,omitempty"`  // where the value came from
	Pos     pack.Position `json:"pos,omitempty"`     // file and line to cite
	Message string        `json:"message"`           // what is wrong (or right), for people
	Reason  string        `json:"reason,omitempty"`  // for skipped and unknown: why
}
