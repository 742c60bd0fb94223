package pack

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// The fuzz targets run their seed corpus (testdata/fuzz/Fuzz*/, real WSO2
// files among them) as part of go test; go test -fuzz=FuzzParseTOML
// ./pack/ explores further.

func FuzzParseTOML(f *testing.F) {
	f.Add([]byte("[server]\noffset = {{ .Values.portOffset }}\nhostname = \"{{ .Values.host }}\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		subst, _, _ := substituteHelm(string(data))
		if strings.Count(subst, "\n") != bytes.Count(data, []byte("\n")) {
			t.Fatalf("substituteHelm moved lines")
		}
		c, err := parseTOML("repository/conf/deployment.toml", data)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Pos.File != "repository/conf/deployment.toml" {
				t.Fatalf("error is not a ConfigError naming the file: %v", err)
			}
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for k := range c.values {
			l := c.lineOf(k)
			if l < 1 || l > lines {
				t.Fatalf("key %s has line %d of %d", k, l, lines)
			}
		}
	})
}

func FuzzScanKeyPositions(f *testing.F) {
	f.Add("[a]\nb = 1\n[[c]]\nd = { e = [1, {f = 2}] }\n")
	f.Fuzz(func(t *testing.T, src string) {
		lines := strings.Count(src, "\n") + 1
		for k, l := range scanKeyPositions(src) {
			if l < 1 || l > lines {
				t.Fatalf("key %q has line %d of %d", k, l, lines)
			}
		}
	})
}

func FuzzParseXML(f *testing.F) {
	f.Add([]byte("<a>\n<b x='1'/>\n</a>\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := parseXML("repository/conf/carbon.xml", data)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error is not a ConfigError: %v", err)
			}
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, e := range d.FindAll("//*") {
			if l := d.Line(e); l < 1 || l > lines {
				t.Fatalf("element %s has line %d of %d", e.Tag, l, lines)
			}
		}
	})
}
