package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/carbonguard/carbonguard/internal/durable"
)

var errUnknownProduct = errors.New("Unable to identify the product")

var productCodeRE = regexp.MustCompile(`^([0-9a-zA-Z-]+)-([0-9]+\.[0-9]+\.[0-9]+)$`)

// pack is the product home the tool updates: the parent of the bin/ folder
// holding this executable.
type pack struct {
	home    string
	code    string
	version string
}

func findPack() (*pack, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	home := filepath.Dir(filepath.Dir(exe))
	b, err := os.ReadFile(filepath.Join(home, "updates", "product.txt"))
	if err != nil {
		return nil, fmt.Errorf("%w: cannot read %s: %v", errUnknownProduct, filepath.Join(home, "updates", "product.txt"), err)
	}
	code := strings.TrimSpace(string(b))
	m := productCodeRE.FindStringSubmatch(code)
	if m == nil {
		return nil, fmt.Errorf("%w: updates/product.txt holds %q, not <product>-<x.y.z>", errUnknownProduct, code)
	}
	return &pack{home: home, code: code, version: m[2]}, nil
}

func (p *pack) path(rel string) string { return filepath.Join(p.home, filepath.FromSlash(rel)) }

// stateDir holds what the fake needs between runs (pending conflicts). It
// lives inside updates/ like the real tool's own bookkeeping.
func (p *pack) stateDir() string { return p.path("updates/.fake-u2") }

// configJSON is updates/config.json, kept as raw fields so keys the fake does
// not know survive a rewrite.
type configJSON struct {
	path   string
	fields map[string]json.RawMessage
}

func (p *pack) loadConfig() (*configJSON, error) {
	c := &configJSON{path: p.path("updates/config.json"), fields: map[string]json.RawMessage{}}
	b, err := os.ReadFile(c.path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &c.fields); err != nil {
		return nil, fmt.Errorf("%s: %w", c.path, err)
	}
	return c, nil
}

// level is "update-level"; -1 (never updated) and a missing key mean level 0
// content. MI and some packs store it as a string, so both are read.
func (c *configJSON) level() (int, error) {
	raw, ok := c.fields["update-level"]
	if !ok {
		return -1, nil
	}
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return n, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%s: \"update-level\" is %s, not a number", c.path, raw)
}

// setLevel keeps the JSON type the file already used for the level.
func (c *configJSON) setLevel(n int) {
	raw, ok := c.fields["update-level"]
	if ok && len(raw) > 0 && raw[0] == '"' {
		c.fields["update-level"], _ = json.Marshal(strconv.Itoa(n))
		return
	}
	c.fields["update-level"], _ = json.Marshal(n)
}

func (c *configJSON) getString(key string) string {
	var s string
	_ = json.Unmarshal(c.fields[key], &s)
	return s
}

func (c *configJSON) setString(key, v string) { c.fields[key], _ = json.Marshal(v) }

func (c *configJSON) save() error {
	b, err := json.MarshalIndent(c.fields, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
		return err
	}
	return durable.WriteFile(c.path, append(b, '\n'), 0o644)
}

// toolHome is ~/.wso2-updates of the user running the tool.
func toolHome() (string, error) {
	home := os.Getenv("HOME")
	if home == "" {
		return "", errors.New("HOME is not set; the update tool keeps its files in ~/.wso2-updates")
	}
	return filepath.Join(home, ".wso2-updates"), nil
}

// updateLog appends to updates/logs/update_tool.log; WSO2's own scripts grep
// these logs for "Applied updates".
func (p *pack) updateLog(format string, args ...any) {
	dir := p.path("updates/logs")
	if os.MkdirAll(dir, 0o755) != nil {
		return
	}
	f, err := os.OpenFile(filepath.Join(dir, "update_tool.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s INFO %s\n", time.Now().Format("2006-01-02 15:04:05"), fmt.Sprintf(format, args...))
}

// changes accumulates what an update run did to the pack. Paths are
// slash-separated and relative to the product home.
type changes struct {
	Added     []string
	Modified  []string
	Removed   []string
	Conflicts []string
}

func (c *changes) add(kind *[]string, p string) {
	for _, e := range *kind {
		if e == p {
			return
		}
	}
	*kind = append(*kind, p)
}

// writeChangelog writes updates/changelog-<from>-<to>.md, levels padded to 4 digits.
func (p *pack) writeChangelog(from, to int, ch changes, prefix string) (string, error) {
	name := fmt.Sprintf("%s-%04d-%04d.md", prefix, max(from, 0), to)
	var b strings.Builder
	title := "Changelog"
	if prefix != "changelog" {
		title = "Update summary"
	}
	fmt.Fprintf(&b, "# %s: %s update level %04d to %04d\n\n", title, p.code, max(from, 0), to)
	for _, sec := range []struct {
		head  string
		paths []string
	}{{"Added", ch.Added}, {"Updated", ch.Modified}, {"Removed", ch.Removed}} {
		fmt.Fprintf(&b, "## %s files\n\n", sec.head)
		if len(sec.paths) == 0 {
			b.WriteString("None\n\n")
			continue
		}
		for _, x := range sec.paths {
			fmt.Fprintf(&b, "- %s\n", x)
		}
		b.WriteString("\n")
	}
	path := p.path("updates/" + name)
	return path, durable.WriteFile(path, []byte(b.String()), 0o644)
}

// pendingState is the stash for a run stopped by conflicts (exit 3).
type pendingState struct {
	From      int      `json:"from"`
	Level     int      `json:"level"`
	Target    int      `json:"target"`
	Conflicts []string `json:"conflicts"`
	Added     []string `json:"added"`
	Modified  []string `json:"modified"`
	Removed   []string `json:"removed"`
	NoLog     bool     `json:"no_changelog"`
}

func (p *pack) loadPending() (*pendingState, error) {
	b, err := os.ReadFile(filepath.Join(p.stateDir(), "pending.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ps pendingState
	if err := json.Unmarshal(b, &ps); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(p.stateDir(), "pending.json"), err)
	}
	return &ps, nil
}

func (p *pack) savePending(ps *pendingState) error {
	if err := os.MkdirAll(p.stateDir(), 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(ps, "", "  ")
	return durable.WriteFile(filepath.Join(p.stateDir(), "pending.json"), b, 0o644)
}

func (p *pack) clearPending() error {
	err := os.Remove(filepath.Join(p.stateDir(), "pending.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
