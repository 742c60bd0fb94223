package pack

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/beevik/etree"
)

// XMLDoc is an XML file of the pack (a Carbon 4.4 configuration file, or
// one rendered from deployment.toml) parsed with etree, with the line of
// every element, which etree does not keep.
type XMLDoc struct {
	File  string          // relative to the home, forward slashes
	Doc   *etree.Document // the parsed document; treat as read-only
	lines map[*etree.Element]int
}

// Line returns the 1-based line where e's start tag begins, 0 if unknown.
func (d *XMLDoc) Line(e *etree.Element) int {
	if d == nil || e == nil {
		return 0
	}
	return d.lines[e]
}

// Pos returns e's position for messages.
func (d *XMLDoc) Pos(e *etree.Element) Position {
	if d == nil {
		return Position{}
	}
	return Position{File: d.File, Line: d.Line(e)}
}

// Find returns the first element matching an etree path ("/Server/Ports/Offset",
// "//datasource[name='WSO2AM_DB']"), nil when there is none or the path is invalid.
func (d *XMLDoc) Find(path string) *etree.Element {
	if d == nil || d.Doc == nil {
		return nil
	}
	ps, err := etree.CompilePath(path)
	if err != nil {
		return nil
	}
	return d.Doc.FindElementPath(ps)
}

// FindAll returns every element matching an etree path.
func (d *XMLDoc) FindAll(path string) []*etree.Element {
	if d == nil || d.Doc == nil {
		return nil
	}
	ps, err := etree.CompilePath(path)
	if err != nil {
		return nil
	}
	return d.Doc.FindElementsPath(ps)
}

// parseXML parses an XML file's bytes. A syntax error is a *ConfigError
// with the line encoding/xml reports.
func parseXML(rel string, data []byte) (*XMLDoc, error) {
	starts, err := elementLines(data)
	if err != nil {
		line := 0
		var se *xml.SyntaxError
		if errors.As(err, &se) {
			line = se.Line
		}
		return nil, &ConfigError{Pos: Position{File: rel, Line: line}, What: "invalid XML: " + xmlMessage(err) + "; fix the markup (Carbon reads this file at start)", Err: err}
	}
	doc := etree.NewDocument()
	doc.ReadSettings.CharsetReader = charsetReader
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, &ConfigError{Pos: Position{File: rel}, What: "invalid XML: " + err.Error(), Err: err}
	}
	if doc.Root() == nil {
		return nil, &ConfigError{Pos: Position{File: rel}, What: "invalid XML: no root element"}
	}
	d := &XMLDoc{File: rel, Doc: doc, lines: make(map[*etree.Element]int, len(starts))}
	i := 0
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		if i < len(starts) {
			d.lines[e] = starts[i]
		}
		i++
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	for _, e := range doc.ChildElements() {
		walk(e)
	}
	return d, nil
}

func xmlMessage(err error) string {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return se.Msg
	}
	return err.Error()
}

// elementLines returns the line of every start tag in document order, the
// order in which etree builds its elements from the same bytes.
func elementLines(data []byte) ([]int, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.CharsetReader = charsetReader
	var lines []int
	line, at := 1, 0 // line number of byte offset at
	lineAt := func(off int) int {
		if off > len(data) {
			off = len(data)
		}
		if off < at {
			return line
		}
		line += bytes.Count(data[at:off], []byte{'\n'})
		at = off
		return line
	}
	for {
		off := int(dec.InputOffset())
		tok, err := dec.Token()
		if err == io.EOF {
			return lines, nil
		}
		if err != nil {
			return nil, err
		}
		if _, ok := tok.(xml.StartElement); ok {
			start := off
			if start < len(data) {
				if k := bytes.IndexByte(data[start:], '<'); k >= 0 {
					start += k
				}
			}
			lines = append(lines, lineAt(start))
		}
	}
}

// charsetReader accepts the encodings Carbon's files declare.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8", "us-ascii", "ascii", "":
		return in, nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "windows-1252", "cp1252":
		b, err := io.ReadAll(in)
		if err != nil {
			return nil, err
		}
		var out strings.Builder
		for _, c := range b {
			out.WriteRune(rune(c))
		}
		return strings.NewReader(out.String()), nil
	}
	return nil, fmt.Errorf("unsupported encoding %q", label)
}

// XML reads an XML file of the pack: rel is relative to the home
// ("repository/conf/carbon.xml") or to repository/conf ("carbon.xml").
// Documents are read once and cached. A missing file gives a *ConfigError
// that wraps fs.ErrNotExist.
func (p *Pack) XML(rel string) (*XMLDoc, error) {
	if p == nil || p.st == nil {
		return nil, errors.New("pack: XML on a Pack that Open did not return")
	}
	clean := filepath.ToSlash(filepath.Clean(filepath.FromSlash(strings.TrimPrefix(rel, "/"))))
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return nil, &ConfigError{Pos: Position{File: rel}, What: "path leaves the product home", Err: fs.ErrInvalid}
	}
	cands := []string{clean}
	if !strings.HasPrefix(clean, "repository/") && !strings.HasPrefix(clean, "conf/") {
		cands = []string{"repository/conf/" + clean, clean}
	}
	p.st.mu.Lock()
	defer p.st.mu.Unlock()
	for _, c := range cands {
		if d, ok := p.st.xml[c]; ok {
			return d, nil
		}
	}
	chosen := cands[0]
	for _, c := range cands {
		if exists(filepath.Join(p.Home, filepath.FromSlash(c))) {
			chosen = c
			break
		}
	}
	b, err := readSmall(filepath.Join(p.Home, filepath.FromSlash(chosen)))
	if err != nil {
		what := "cannot read: " + err.Error()
		if errors.Is(err, fs.ErrNotExist) {
			what = "missing"
		}
		return nil, &ConfigError{Pos: Position{File: chosen}, What: what, Err: err}
	}
	d, err := parseXML(chosen, b)
	if err != nil {
		return nil, err
	}
	p.st.xml[chosen] = d
	return d, nil
}
