package validate

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/carbonguard/carbonguard/pack"
)

// TextOptions tunes the text report.
type TextOptions struct {
	// Verbose also lists passed and not-applicable results.
	Verbose bool
	// DocBase prefixes doc anchors, e.g. "docs/checks.md" or a URL.
	DocBase string
	// Color marks each finding's [severity] tag with its colour (ANSI):
	// critical and high red, medium yellow, low cyan, info dim. The CLI
	// sets it on a terminal unless NO_COLOR is set.
	Color bool
	// Width wraps the finding's message, acceptance and fix at this many
	// columns, under their indentation (the CLI sets the terminal's width;
	// 0 leaves lines whole, as files and pipes want them).
	Width int
}

var ansiEscape = regexp.MustCompile("\033\\[[0-9;]*m")

// columns is how many columns s takes on a terminal: its runes, colour
// escapes left out.
func columns(s string) int { return utf8.RuneCountInString(ansiEscape.ReplaceAllString(s, "")) }

// wrapIndented writes text after indent, wrapped at width on spaces; a
// word longer than a line stays whole.
func wrapIndented(w io.Writer, indent, text string, width int) {
	if width <= len(indent)+20 || columns(indent+text) <= width {
		fmt.Fprintf(w, "%s%s\n", indent, text)
		return
	}
	line := indent
	for _, word := range strings.Fields(text) {
		if line != indent && columns(line)+1+columns(word) > width {
			fmt.Fprintln(w, line)
			line = indent + "  "
		}
		if line != indent && line != indent+"  " {
			line += " "
		}
		line += word
	}
	fmt.Fprintln(w, line)
}

// severityColor is the ANSI SGR sequence of a severity.
func severityColor(s Severity) string {
	switch {
	case s >= High:
		return "\033[1;31m"
	case s == Medium:
		return "\033[33m"
	case s == Low:
		return "\033[36m"
	default:
		return "\033[2m"
	}
}

// WriteText writes the report for people: per pack, findings grouped by
// category, each with file:line, the effective value and where it came
// from, and the fix; then what could not be judged; then the tally.
func (r *Report) WriteText(w io.Writer, o TextOptions) error {
	bw := bufio.NewWriter(w)
	if o.DocBase == "" {
		o.DocBase = "docs/checks.md"
	}
	for i, ps := range r.Packs {
		if i > 0 {
			fmt.Fprintln(bw)
		}
		fmt.Fprintf(bw, "%s\n", packHeadline(ps))
		var mine []Finding
		for _, fd := range r.Findings {
			if fd.Home == ps.Home {
				mine = append(mine, fd)
			}
		}
		writeGroup(bw, mine, o, func(fd Finding) bool { return fd.Status == Fail }, true)
		var unknown, skipped []Finding
		for _, fd := range mine {
			switch fd.Status {
			case Unknown:
				unknown = append(unknown, fd)
			case Skipped:
				skipped = append(skipped, fd)
			}
		}
		if len(unknown) > 0 {
			fmt.Fprintf(bw, "\n  could not judge (%d):\n", len(unknown))
			for _, fd := range unknown {
				wrapIndented(bw, "    ", fmt.Sprintf("? %s %s%s: %s", fd.CheckID, fd.Title, subjectSuffix(fd), fd.Message), o.Width)
				if loc := location(fd); loc != "" {
					wrapIndented(bw, "      ", loc, o.Width)
				}
				wrapIndented(bw, "      ", "why unknown: "+fd.Reason, o.Width)
			}
		}
		if len(skipped) > 0 {
			fmt.Fprintf(bw, "\n  skipped (%d):\n", len(skipped))
			for _, fd := range skipped {
				wrapIndented(bw, "    ", fmt.Sprintf("- %s %s%s: %s", fd.CheckID, fd.Title, subjectSuffix(fd), fd.Reason), o.Width)
			}
		}
		if o.Verbose {
			fmt.Fprintln(bw, "\n  passed and not applicable:")
			for _, fd := range mine {
				if fd.Status == Pass || fd.Status == NotApplicable {
					mark := "ok"
					if fd.Status == NotApplicable {
						mark = "n/a"
					}
					wrapIndented(bw, "    ", fmt.Sprintf("%-3s %s%s: %s", mark, fd.CheckID, subjectSuffix(fd), fd.Message), o.Width)
				}
			}
		}
	}
	fmt.Fprintln(bw)
	for _, wrn := range r.Warnings {
		fmt.Fprintf(bw, "warning: %s\n", wrn)
	}
	fmt.Fprintln(bw, r.Summary())
	return bw.Flush()
}

func packHeadline(ps PackSummary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", ps.Home, productName(ps.Product))
	if ps.Version != "" {
		b.WriteString(" " + ps.Version)
	}
	var extra []string
	if ps.Distribution != "" {
		extra = append(extra, ps.Distribution)
	}
	if ps.Role != "" {
		extra = append(extra, "role "+ps.Role)
	}
	extra = append(extra, "offset "+ps.Offset)
	if ps.Layout == pack.LayoutLegacy {
		extra = append(extra, "legacy XML configuration")
	}
	if ps.UpdateLevel != nil {
		extra = append(extra, fmt.Sprintf("update level %d", *ps.UpdateLevel))
	}
	fmt.Fprintf(&b, " (%s)", strings.Join(extra, ", "))
	return b.String()
}

func productName(p pack.Product) string {
	switch p {
	case pack.APIM:
		return "WSO2 API Manager"
	case pack.IS:
		return "WSO2 Identity Server"
	case pack.MI:
		return "WSO2 Micro Integrator"
	default:
		return "WSO2 Carbon product"
	}
}

// writeGroup prints the selected findings grouped by category.
func writeGroup(w io.Writer, fds []Finding, o TextOptions, keep func(Finding) bool, details bool) {
	byCat := map[string][]Finding{}
	var cats []string
	for _, fd := range fds {
		if !keep(fd) {
			continue
		}
		if _, ok := byCat[fd.Category]; !ok {
			cats = append(cats, fd.Category)
		}
		byCat[fd.Category] = append(byCat[fd.Category], fd)
	}
	if len(cats) == 0 {
		fmt.Fprintln(w, "\n  no findings")
		return
	}
	sort.SliceStable(cats, func(i, j int) bool { return categoryRank(cats[i]) < categoryRank(cats[j]) })
	for _, cat := range cats {
		fmt.Fprintf(w, "\n  %s\n", strings.ToUpper(cat))
		lastCheck := ""
		for _, fd := range byCat[cat] {
			label := fd.Severity.String()
			if fd.Accepted != nil {
				label += ", accepted"
			} else if fd.Blocking {
				label += ", blocking"
			}
			tag := "[" + label + "]"
			if o.Color {
				tag = severityColor(fd.Severity) + tag + "\033[0m"
			}
			wrapIndented(w, "    ", fmt.Sprintf("%s %s %s%s", tag, fd.CheckID, fd.Title, subjectSuffix(fd)), o.Width)
			if loc := location(fd); loc != "" {
				wrapIndented(w, "        ", loc, o.Width)
			}
			wrapIndented(w, "        ", fd.Message, o.Width)
			if fd.Accepted != nil {
				exp := ""
				if fd.Accepted.Expires != "" {
					exp = " until " + fd.Accepted.Expires
				}
				wrapIndented(w, "        ", fmt.Sprintf("accepted%s (%s): %s", exp, fd.Accepted.Where, fd.Accepted.Reason), o.Width)
			}
			// The fix and the doc link once per check, not per subject.
			if details && fd.CheckID != lastCheck {
				wrapIndented(w, "        ", "fix: "+fd.Remediation, o.Width)
				fmt.Fprintf(w, "        see: %s#%s\n", o.DocBase, fd.Doc)
			}
			lastCheck = fd.CheckID
		}
	}
}

func subjectSuffix(fd Finding) string {
	if fd.Subject == "" {
		return ""
	}
	return " — " + fd.Subject
}

// location is "file:line: key = value (source)" with what is known.
func location(fd Finding) string {
	var parts []string
	if s := fd.Pos.String(); s != "" {
		parts = append(parts, s)
	}
	if fd.Key != "" {
		kv := fd.Key
		if fd.Value != "" {
			kv += " = " + fd.Value
		}
		if fd.Source != "" {
			kv += " (" + sourceText(fd.Source) + ")"
		}
		parts = append(parts, kv)
	} else if fd.Value != "" {
		parts = append(parts, "value "+fd.Value)
	}
	return strings.Join(parts, ": ")
}

func sourceText(s pack.Source) string {
	switch s {
	case pack.SourceFile:
		return "set in the file"
	case pack.SourceDefault:
		return "product default"
	case pack.SourceRef:
		return "via $ref{}"
	case pack.SourceSysProp:
		return "-D system property"
	case pack.SourceInferred:
		return "inferred"
	case pack.SourceUnset:
		return "unset"
	default:
		return string(s)
	}
}

// Summary is the one-line tally, ending with the verdict against the
// threshold.
func (r *Report) Summary() string {
	t := r.Tally
	var sev []string
	for s := Critical; s >= Info; s-- {
		if n := t.BySeverity[s]; n > 0 {
			sev = append(sev, fmt.Sprintf("%d %s", n, s))
		}
	}
	failed := fmt.Sprintf("%d failed", t.Fail)
	if len(sev) > 0 {
		failed += " (" + strings.Join(sev, ", ") + ")"
	}
	line := fmt.Sprintf("%s, %d accepted, %d passed, %d unknown, %d skipped, %d not applicable", failed, t.Accepted, t.Pass, t.Unknown, t.Skipped, t.NotApplicable)
	if r.NoAccept {
		line += " (acceptances ignored: --no-accept)"
	}
	if r.Blocking {
		return fmt.Sprintf("%s\nFAIL: %d finding(s) at or above %s", line, t.Blocking, r.FailOn)
	}
	return fmt.Sprintf("%s\nOK: nothing at or above %s", line, r.FailOn)
}
