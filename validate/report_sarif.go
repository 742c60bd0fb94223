package validate

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
)

// SARIF 2.1.0 (OASIS), the subset carbonguard writes.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                   `json:"tool"`
	OriginalURIBaseIDs map[string]sarifArtifactLoc `json:"originalUriBaseIds,omitempty"`
	Results            []sarifResult               `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string          `json:"id"`
	Name                 string          `json:"name"`
	ShortDescription     sarifText       `json:"shortDescription"`
	FullDescription      sarifText       `json:"fullDescription"`
	Help                 sarifText       `json:"help"`
	HelpURI              string          `json:"helpUri,omitempty"`
	DefaultConfiguration sarifRuleConfig `json:"defaultConfiguration"`
	Properties           map[string]any  `json:"properties,omitempty"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifArtifactLoc struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifactLoc `json:"artifactLocation"`
	Region           *sarifRegion     `json:"region,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification,omitempty"`
}

type sarifResult struct {
	RuleID       string             `json:"ruleId"`
	RuleIndex    int                `json:"ruleIndex"`
	Kind         string             `json:"kind"`
	Level        string             `json:"level"`
	Message      sarifText          `json:"message"`
	Locations    []sarifLocation    `json:"locations,omitempty"`
	Suppressions []sarifSuppression `json:"suppressions,omitempty"`
	Properties   map[string]any     `json:"properties,omitempty"`
}

// sarifLevel maps a severity to a SARIF level.
func sarifLevel(s Severity) string {
	switch {
	case s >= High:
		return "error"
	case s == Medium:
		return "warning"
	default:
		return "note"
	}
}

// WriteSARIF writes the failed and unknown results as SARIF 2.1.0, with one
// rule per registered check and locations relative to each pack's home
// (uriBaseId PACK0, PACK1, ...). Accepted findings carry an external
// suppression with the reason.
func (r *Report) WriteSARIF(w io.Writer, docBase string) error {
	if docBase == "" {
		docBase = "docs/checks.md"
	}
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name: "carbonguard", Version: r.ToolVersion,
			InformationURI: "https://github.com/carbonguard/carbonguard",
			Rules:          []sarifRule{},
		}},
		OriginalURIBaseIDs: map[string]sarifArtifactLoc{},
		Results:            []sarifResult{},
	}
	index := map[string]int{}
	for i, c := range r.checks {
		index[c.ID] = i
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
			ID:                   c.ID,
			Name:                 ruleName(c.Title),
			ShortDescription:     sarifText{c.Title},
			FullDescription:      sarifText{c.Rationale},
			Help:                 sarifText{c.Remediation},
			HelpURI:              docBase + "#" + c.Doc,
			DefaultConfiguration: sarifRuleConfig{Level: sarifLevel(c.Severity)},
			Properties:           map[string]any{"category": c.Category, "severity": c.Severity.String(), "tags": []string{c.Category}},
		})
	}
	base := map[string]string{}
	for i, p := range r.Packs {
		id := fmt.Sprintf("PACK%d", i)
		base[p.Home] = id
		u := url.URL{Scheme: "file", Path: filepath.ToSlash(p.Home) + "/"}
		run.OriginalURIBaseIDs[id] = sarifArtifactLoc{URI: u.String()}
	}
	for _, fd := range r.Findings {
		if fd.Status != Fail && fd.Status != Unknown {
			continue
		}
		res := sarifResult{RuleID: fd.CheckID, RuleIndex: index[fd.CheckID], Kind: "fail", Level: sarifLevel(fd.Severity)}
		msg := fd.Message
		if fd.Subject != "" {
			msg = fd.Subject + ": " + msg
		}
		if fd.Status == Unknown {
			res.Kind, res.Level = "review", "none"
			msg += " (unknown: " + fd.Reason + ")"
		}
		res.Message = sarifText{msg}
		if fd.Pos.File != "" {
			loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifactLoc{URI: fd.Pos.File, URIBaseID: base[fd.Home]}}}
			if fd.Pos.Line > 0 {
				loc.PhysicalLocation.Region = &sarifRegion{StartLine: fd.Pos.Line}
			}
			res.Locations = []sarifLocation{loc}
		}
		if fd.Accepted != nil {
			just := fd.Accepted.Reason
			if fd.Accepted.Expires != "" {
				just += " (until " + fd.Accepted.Expires + ")"
			}
			res.Suppressions = []sarifSuppression{{Kind: "external", Justification: just}}
		}
		props := map[string]any{"severity": fd.Severity.String(), "status": string(fd.Status), "home": fd.Home}
		for k, v := range map[string]string{"subject": fd.Subject, "key": fd.Key, "value": fd.Value, "source": string(fd.Source)} {
			if v != "" {
				props[k] = v
			}
		}
		if fd.Blocking {
			props["blocking"] = true
		}
		res.Properties = props
		run.Results = append(run.Results, res)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	})
}

// ruleName turns a title into the PascalCase name SARIF viewers show.
func ruleName(title string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(title, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}
