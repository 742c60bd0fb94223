package validate

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/carbonguard/carbonguard/pack"
)

// SchemaVersion is the version of the JSON report's shape. It changes when a
// field is renamed or removed, not when one is added.
const SchemaVersion = 1

// Options are the run's policy: what carbonguard.toml's [check] section and
// the command line say.
type Options struct {
	// FailOn is the threshold: a failed, unaccepted result of a check whose
	// effective severity is at or above it blocks (exit 1, start refused).
	// "" means "high".
	FailOn string
	// Severity overrides the default severity per check ID.
	Severity map[string]string
	// Disable lists check IDs not to run; they are reported as skipped.
	Disable []string
	// Accept are the accepted risks (see ParseAcceptance).
	Accept []Acceptance
	// NoAccept ignores every acceptance (CI): accepted findings count again.
	NoAccept bool
	// Checks replaces the registry (tests); nil means Registry().
	Checks []Check
	// ToolVersion is written into reports.
	ToolVersion string
	Logger      zerolog.Logger
}

// OptionsError is a mistake in the run's policy: an unknown check ID, a bad
// severity, an acceptance without a reason. The CLI maps it to exit 2.
type OptionsError struct {
	Where string // e.g. "[check] severity", "[[check.accept]] #2"
	What  string
}

func (e *OptionsError) Error() string { return e.Where + ": " + e.What }

// Hint says what to do.
func (e *OptionsError) Hint() string {
	return "run `carbonguard checks` for the list of check IDs and severities"
}

// Report is the outcome of a run over one or more packs.
type Report struct {
	SchemaVersion int           `json:"schema_version"`
	Tool          string        `json:"tool"`
	ToolVersion   string        `json:"tool_version,omitempty"`
	GeneratedAt   time.Time     `json:"generated_at"`
	FailOn        Severity      `json:"fail_on"`
	NoAccept      bool          `json:"no_accept,omitempty"`
	Packs         []PackSummary `json:"packs"`
	Findings      []Finding     `json:"findings"` // every result, passes included, in report order
	Tally         Tally         `json:"tally"`
	// Blocking is true when a failed, unaccepted finding is at or above FailOn.
	Blocking bool `json:"blocking"`
	// Warnings are about the policy: expired and unused acceptances.
	Warnings []string    `json:"warnings,omitempty"`
	Facts    []FactsView `json:"facts"`

	checks []Check
	// mainConfig is each home's main configuration file, relative to the
	// home: deployment.toml, or carbon.xml for the legacy layout.
	mainConfig map[string]string
}

// PackSummary identifies a pack in the report.
type PackSummary struct {
	Home         string       `json:"home"`
	Product      pack.Product `json:"product"`
	Version      string       `json:"version,omitempty"`
	Distribution string       `json:"distribution,omitempty"`
	Role         string       `json:"role,omitempty"`
	Layout       pack.Layout  `json:"layout"`
	Offset       string       `json:"offset"`
	UpdateLevel  *int         `json:"update_level,omitempty"`
}

// Finding is one result of one check on one pack, with the check's
// effective severity and what the policy made of it.
type Finding struct {
	CheckID     string   `json:"check_id"`
	Title       string   `json:"title"`
	Category    string   `json:"category"`
	Severity    Severity `json:"severity"`
	Overridden  bool     `json:"severity_overridden,omitempty"`
	Home        string   `json:"home"`
	Remediation string   `json:"remediation,omitempty"`
	Doc         string   `json:"doc"`
	Result
	Accepted *Accepted `json:"accepted,omitempty"`
	// Blocking is true for a failed, unaccepted finding at or above FailOn.
	Blocking bool `json:"blocking,omitempty"`
}

// Accepted records the acceptance that covers a finding.
type Accepted struct {
	Reason  string `json:"reason"`
	Expires string `json:"expires,omitempty"`
	Where   string `json:"where,omitempty"`
}

// Tally counts the findings.
type Tally struct {
	Pass          int              `json:"pass"`
	Fail          int              `json:"fail"` // unaccepted failures
	Accepted      int              `json:"accepted"`
	Unknown       int              `json:"unknown"`
	Skipped       int              `json:"skipped"`
	NotApplicable int              `json:"not_applicable"`
	BySeverity    map[Severity]int `json:"fail_by_severity"` // unaccepted failures per severity
	Blocking      int              `json:"blocking"`
}

// Run runs the checks on the facts of every pack and applies the policy.
// The only error is an *OptionsError.
func Run(facts []*Facts, o Options) (*Report, error) {
	pol, err := compile(o)
	if err != nil {
		return nil, err
	}
	r := &Report{
		SchemaVersion: SchemaVersion,
		Tool:          "carbonguard",
		ToolVersion:   o.ToolVersion,
		FailOn:        pol.failOn,
		NoAccept:      o.NoAccept,
		Findings:      []Finding{},
		Tally:         Tally{BySeverity: map[Severity]int{}},
		checks:        pol.checks,
	}
	now := time.Time{}
	for _, f := range facts {
		if f.Now.After(now) {
			now = f.Now
		}
	}
	if now.IsZero() {
		now = time.Now()
	}
	r.GeneratedAt = now
	usable := usableAcceptances(o.Accept, now, o.NoAccept, &r.Warnings)
	used := make([]bool, len(o.Accept))

	r.mainConfig = map[string]string{}
	for _, f := range facts {
		r.Packs = append(r.Packs, summarise(f.Pack))
		r.mainConfig[f.Pack.Home] = mainConfigOf(f.Pack)
		r.Facts = append(r.Facts, viewFacts(f))
		for _, c := range pol.checks {
			sev, overridden := c.Severity, false
			if s, ok := pol.severity[c.ID]; ok {
				sev, overridden = s, s != c.Severity
			}
			var results []Result
			if pol.disabled[c.ID] {
				results = []Result{{Status: Skipped, Message: "check disabled", Reason: "disabled in carbonguard.toml [check] disable"}}
			} else {
				results = runCheck(c, f, o.Logger)
			}
			for _, res := range results {
				res.Value = maskIfSecret(res.Key, res.Value)
				fd := Finding{
					CheckID: c.ID, Title: c.Title, Category: c.Category, Severity: sev, Overridden: overridden,
					Home: f.Pack.Home, Remediation: c.Remediation, Doc: c.Doc, Result: res,
				}
				if res.Status == Fail {
					for _, i := range usable {
						if o.Accept[i].matches(fd) {
							a := o.Accept[i]
							fd.Accepted = &Accepted{Reason: a.Reason, Expires: a.expiresString(), Where: a.whereOr(i)}
							used[i] = true
							break
						}
					}
					if fd.Accepted == nil && sev >= pol.failOn {
						fd.Blocking = true
					}
				}
				r.Findings = append(r.Findings, fd)
			}
		}
	}
	for _, i := range usable {
		if !used[i] {
			a := o.Accept[i]
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s: acceptance of %s%s matched no finding; remove it", a.whereOr(i), strings.ToUpper(a.ID), a.keySuffix()))
		}
	}
	sortFindings(r.Findings, r.Packs)
	for _, fd := range r.Findings {
		switch {
		case fd.Status == Fail && fd.Accepted != nil:
			r.Tally.Accepted++
		case fd.Status == Fail:
			r.Tally.Fail++
			r.Tally.BySeverity[fd.Severity]++
			if fd.Blocking {
				r.Tally.Blocking++
			}
		case fd.Status == Pass:
			r.Tally.Pass++
		case fd.Status == Unknown:
			r.Tally.Unknown++
		case fd.Status == Skipped:
			r.Tally.Skipped++
		case fd.Status == NotApplicable:
			r.Tally.NotApplicable++
		}
	}
	r.Blocking = r.Tally.Blocking > 0
	return r, nil
}

// runCheck runs one check, turning a panic or an empty answer into Unknown:
// a broken check must never look like a pass.
func runCheck(c Check, f *Facts, log zerolog.Logger) (results []Result) {
	defer func() {
		if v := recover(); v != nil {
			log.Error().Str("check", c.ID).Interface("panic", v).Str("stack", string(debug.Stack())).Msg("check panicked")
			results = []Result{{Status: Unknown, Message: "the check could not be evaluated", Reason: fmt.Sprintf("internal error in %s: %v (please report it)", c.ID, v)}}
		}
	}()
	results = c.Run(f)
	if len(results) == 0 {
		results = []Result{{Status: Unknown, Message: "the check returned no result", Reason: "internal error: no result (please report it)"}}
	}
	for i := range results {
		if results[i].Status == "" {
			results[i].Status = Unknown
			results[i].Reason = "internal error: result without status (please report it)"
		}
	}
	return results
}

// policy is Options checked and compiled.
type policy struct {
	failOn   Severity
	severity map[string]Severity
	disabled map[string]bool
	checks   []Check
}

func compile(o Options) (*policy, error) {
	pol := &policy{failOn: High, severity: map[string]Severity{}, disabled: map[string]bool{}, checks: o.Checks}
	if pol.checks == nil {
		pol.checks = Registry()
	}
	known := map[string]bool{}
	for _, c := range pol.checks {
		known[c.ID] = true
	}
	if o.FailOn != "" {
		s, err := ParseSeverity(o.FailOn)
		if err != nil {
			return nil, &OptionsError{Where: "fail_on", What: err.Error()}
		}
		pol.failOn = s
	}
	ids := make([]string, 0, len(o.Severity))
	for id := range o.Severity {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		norm := strings.ToUpper(strings.TrimSpace(id))
		if !known[norm] {
			return nil, &OptionsError{Where: "[check.severity]", What: fmt.Sprintf("unknown check ID %q", id)}
		}
		s, err := ParseSeverity(o.Severity[id])
		if err != nil {
			return nil, &OptionsError{Where: "[check.severity] " + id, What: err.Error()}
		}
		pol.severity[norm] = s
	}
	for _, id := range o.Disable {
		norm := strings.ToUpper(strings.TrimSpace(id))
		if !known[norm] {
			return nil, &OptionsError{Where: "[check] disable", What: fmt.Sprintf("unknown check ID %q", id)}
		}
		pol.disabled[norm] = true
	}
	for i, a := range o.Accept {
		if err := a.validate(known); err != nil {
			where := a.Where
			if where == "" {
				where = fmt.Sprintf("[[check.accept]] #%d", i+1)
			}
			return nil, &OptionsError{Where: where, What: err.Error()}
		}
	}
	return pol, nil
}

// mainConfigOf is the pack's main configuration file relative to its home.
func mainConfigOf(p *pack.Pack) string {
	if p.ConfigFile != "" {
		if rel, err := filepath.Rel(p.Home, p.ConfigFile); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel)
		}
		return p.ConfigFile
	}
	return "repository/conf/carbon.xml" // Carbon 4.4: the server's own settings
}

func summarise(p *pack.Pack) PackSummary {
	s := PackSummary{Home: p.Home, Product: p.Product, Version: p.Version, Distribution: p.Distribution, Role: p.Role, Layout: p.Layout}
	s.Offset = "0"
	if p.Offset.Set() {
		s.Offset = fmt.Sprint(p.Offset.Raw)
	}
	if p.UpdateLevelKnown {
		lvl := p.UpdateLevel
		s.UpdateLevel = &lvl
	}
	return s
}

// sortFindings orders findings by pack (in the order given), category,
// status (failures first), severity (highest first), ID, subject.
func sortFindings(fs []Finding, packs []PackSummary) {
	packRank := map[string]int{}
	for i, p := range packs {
		packRank[p.Home] = i
	}
	statusRank := map[Status]int{Fail: 0, Unknown: 1, Skipped: 2, Pass: 3, NotApplicable: 4}
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if packRank[a.Home] != packRank[b.Home] {
			return packRank[a.Home] < packRank[b.Home]
		}
		if ca, cb := categoryRank(a.Category), categoryRank(b.Category); ca != cb {
			return ca < cb
		}
		if a.Status != b.Status {
			return statusRank[a.Status] < statusRank[b.Status]
		}
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.CheckID != b.CheckID {
			return a.CheckID < b.CheckID
		}
		return a.Subject < b.Subject
	})
}

// GateOptions are the wrapped start's gate: how to collect and which policy.
type GateOptions struct {
	Collect CollectOptions
	Policy  Options
	// Others are other packs on the same host, if the caller knows them.
	Others []*pack.Pack
}

// Gate runs every check on one pack before a start. It returns the report
// and whether the start must be refused (a failed, unaccepted finding at or
// above the threshold). The error is an *OptionsError (bad policy) or a
// failure to collect the facts; in both cases the start should not go ahead
// without --force.
func Gate(ctx context.Context, p *pack.Pack, o GateOptions) (*Report, bool, error) {
	o.Collect.Gate = true // carbonguard starts this server: it is the launcher
	f, err := Collect(ctx, p, o.Others, o.Collect)
	if err != nil {
		return nil, false, err
	}
	r, err := Run([]*Facts{f}, o.Policy)
	if err != nil {
		return nil, false, err
	}
	return r, r.Blocking, nil
}

// Checks returns the checks the report was made with (for SARIF rules).
func (r *Report) Checks() []Check { return r.checks }

// BlockingLines are the blocking findings, one line each, for the start
// gate's messages: "CG-SEC-010 high bin/api-manager.sh:243: -Dhttpclient.hostnameVerifier: ...".
func (r *Report) BlockingLines() []string {
	var out []string
	for _, fd := range r.Findings {
		if !fd.Blocking {
			continue
		}
		line := fd.CheckID + " " + fd.Severity.String()
		if pos := fd.Pos.String(); pos != "" {
			line += " " + pos
		}
		line += ":"
		if fd.Subject != "" {
			line += " " + fd.Subject + ":"
		}
		out = append(out, line+" "+fd.Message)
	}
	return out
}

// SeveritySummary counts unaccepted failures per severity, highest first:
// "2 high, 1 medium"; "" when there are none.
func (r *Report) SeveritySummary() string {
	var parts []string
	for s := Critical; s >= Info; s-- {
		if n := r.Tally.BySeverity[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	return strings.Join(parts, ", ")
}

// MergeReports joins the reports of several packs that were each run with
// their own policy (check with several homes, each with its own
// carbonguard.toml): findings keep the blocking their own pack's policy
// gave them. FailOn is the first report's; the text report names each
// pack's findings under its pack.
func MergeReports(rs ...*Report) *Report {
	if len(rs) == 0 {
		return nil
	}
	if len(rs) == 1 {
		return rs[0]
	}
	out := *rs[0]
	out.Packs = nil
	out.Findings = []Finding{}
	out.Facts = nil
	out.Warnings = nil
	out.Tally = Tally{BySeverity: map[Severity]int{}}
	for _, r := range rs {
		if r.GeneratedAt.After(out.GeneratedAt) {
			out.GeneratedAt = r.GeneratedAt
		}
		out.Packs = append(out.Packs, r.Packs...)
		out.Findings = append(out.Findings, r.Findings...)
		out.Facts = append(out.Facts, r.Facts...)
		for _, w := range r.Warnings {
			out.Warnings = append(out.Warnings, r.packLabel()+w)
		}
		t := r.Tally
		out.Tally.Pass += t.Pass
		out.Tally.Fail += t.Fail
		out.Tally.Accepted += t.Accepted
		out.Tally.Unknown += t.Unknown
		out.Tally.Skipped += t.Skipped
		out.Tally.NotApplicable += t.NotApplicable
		out.Tally.Blocking += t.Blocking
		for s, n := range t.BySeverity {
			out.Tally.BySeverity[s] += n
		}
		out.Blocking = out.Blocking || r.Blocking
		out.NoAccept = out.NoAccept && r.NoAccept
	}
	return &out
}

func (r *Report) packLabel() string {
	if len(r.Packs) == 0 {
		return ""
	}
	return r.Packs[0].Home + ": "
}
