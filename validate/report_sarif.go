package validate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
)

// DocURL is where docs/checks.md is published; SARIF rules link to their
// anchors there (helpUri must be an absolute URI for code scanning).
const DocURL = "https://github.com/carbonguard/carbonguard/blob/main/docs/checks.md"

// sarifSchema is the OASIS schema of SARIF 2.1.0 (errata 01).
const sarifSchema = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

// fingerprintKey names carbonguard's entry in partialFingerprints; the
// version changes when what goes into the hash does.
const fingerprintKey = "carbonguardFinding/v1"

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
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Kind                string             `json:"kind"`
	Level               string             `json:"level"`
	Message             sarifText          `json:"message"`
	Locations           []sarifLocation    `json:"locations"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	Properties          map[string]any     `json:"properties"`
}

// securitySeverity is the CVSS-like score GitHub code scanning reads from
// properties["security-severity"]: over 9.0 critical, 7.0-8.9 high,
// 4.0-6.9 medium, 3.9 or less low.
func securitySeverity(s Severity) string {
	switch s {
	case Critical:
		return "9.5"
	case High:
		return "8.0"
	case Medium:
		return "5.5"
	case Low:
		return "3.0"
	default:
		return "0.0"
	}
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
//
// What GitHub code scanning needs is always there: every result has a
// location (the file and line the finding cites, else the pack's main
// configuration file: deployment.toml, or carbon.xml for Carbon 4.4, for
// findings about the host or about defaults), partialFingerprints that stay
// the same from run to run while the finding does (check, pack, file,
// subject and key; not the line or the message), and the security-severity
// score; rule helpUris are absolute (docBase, default DocURL).
func (r *Report) WriteSARIF(w io.Writer, docBase string) error {
	if docBase == "" {
		docBase = DocURL
	}
	version := r.ToolVersion
	if version == "" {
		version = "unknown"
	}
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name: "carbonguard", Version: version,
			InformationURI: "https://github.com/carbonguard/carbonguard",
			Rules:          []sarifRule{},
		}},
		OriginalURIBaseIDs: map[string]sarifArtifactLoc{},
		Results:            []sarifResult{},
	}
	index := map[string]int{}
	for i, c := range r.checks {
		index[c.ID] = i
		tags := []string{c.Category}
		if c.Category != "security" {
			tags = append(tags, "security")
		}
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
			ID:                   c.ID,
			Name:                 ruleName(c.Title),
			ShortDescription:     sarifText{c.Title},
			FullDescription:      sarifText{c.Rationale},
			Help:                 sarifText{c.Remediation},
			HelpURI:              docBase + "#" + c.Doc,
			DefaultConfiguration: sarifRuleConfig{Level: sarifLevel(c.Severity)},
			Properties: map[string]any{
				"category": c.Category, "severity": c.Severity.String(), "tags": tags,
				"security-severity": securitySeverity(c.Severity),
			},
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
		file, line := fd.Pos.File, fd.Pos.Line
		if file == "" {
			// A finding about the host or a default names no file: it
			// belongs to the pack as a whole, which its main
			// configuration file stands for.
			file, line = r.mainConfig[fd.Home], 0
		}
		if line <= 0 {
			line = 1 // the file as a whole; code scanning wants a region
		}
		res.Locations = []sarifLocation{{PhysicalLocation: sarifPhysical{
			ArtifactLocation: sarifArtifact(file, base[fd.Home]),
			Region:           &sarifRegion{StartLine: line},
		}}}
		res.PartialFingerprints = map[string]string{fingerprintKey: findingFingerprint(fd, file)}
		if fd.Accepted != nil {
			just := fd.Accepted.Reason
			if fd.Accepted.Expires != "" {
				just += " (until " + fd.Accepted.Expires + ")"
			}
			res.Suppressions = []sarifSuppression{{Kind: "external", Justification: just}}
		}
		props := map[string]any{
			"severity": fd.Severity.String(), "security-severity": securitySeverity(fd.Severity),
			"status": string(fd.Status), "home": fd.Home,
		}
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
		Schema:  sarifSchema,
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	})
}

// sarifArtifact locates file: relative to the pack's base URI, or, for a
// path outside the pack, as an absolute file URI.
func sarifArtifact(file, baseID string) sarifArtifactLoc {
	if filepath.IsAbs(file) {
		u := url.URL{Scheme: "file", Path: filepath.ToSlash(file)}
		return sarifArtifactLoc{URI: u.String()}
	}
	u := url.URL{Path: filepath.ToSlash(file)}
	return sarifArtifactLoc{URI: u.EscapedPath(), URIBaseID: baseID}
}

// findingFingerprint identifies a finding across runs: the check, the pack (by its
// directory's name, so that a pack checked out elsewhere keeps its alerts),
// the file, the subject and the key. Lines move and messages carry values,
// so neither is part of it.
func findingFingerprint(fd Finding, file string) string {
	h := sha256.New()
	for _, part := range []string{fd.CheckID, filepath.Base(fd.Home), filepath.ToSlash(file), fd.Subject, fd.Key} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// ruleName turns a title into the PascalCase name SARIF viewers show:
// each word capitalised and the rest lower case ("Plain HTTP listeners are
// open" -> PlainHttpListenersAreOpen), articles and a possessive's "s" left
// out, as the SARIF validator's friendly-name rule (SARIF2012) wants.
func ruleName(title string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(title, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		switch strings.ToLower(w) {
		case "a", "an", "the", "s":
			continue
		}
		b.WriteString(strings.ToUpper(w[:1]) + strings.ToLower(w[1:]))
	}
	return b.String()
}
