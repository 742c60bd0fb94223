package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

type productKind int

const (
	kindKernel      productKind = iota
	kindAPIM                    // all-in-one and universal gateway: servlet + pass-through ports
	kindAPIMControl             // control plane / traffic manager: servlet ports only
	kindIS
	kindMI
)

const miMainClass = "org.wso2.micro.integrator.bootstrap.Bootstrap"

// product is what the fake believes it is, from (first wins) the system
// property fake.carbon.product, updates/product.txt, then the main class
// (MI) or the kernel. The display name and version come from bin/version.txt
// ("WSO2 API Manager v4.2.0") when present, which holds the same data Carbon
// reads from carbon.xml <Name>/<Version>.
type product struct {
	Code    string // e.g. wso2am-4.2.0, "" when unknown
	Kind    productKind
	Name    string // e.g. WSO2 API Manager
	Version string // e.g. 4.2.0
	Legacy  bool   // Carbon 4.4 XML layout: no deployment.toml, offset in carbon.xml
}

var productCodeRE = regexp.MustCompile(`^([0-9a-zA-Z-]+)-([0-9]+\.[0-9]+\.[0-9]+)$`)

func detectProduct(home string, props map[string]string, mainClass string) product {
	p := product{Kind: kindKernel, Name: "WSO2 Carbon Kernel", Version: "4.8.1"}
	code := props["fake.carbon.product"]
	if code == "" {
		if b, err := os.ReadFile(filepath.Join(home, "updates", "product.txt")); err == nil {
			code = strings.TrimSpace(string(b))
		}
	}
	if m := productCodeRE.FindStringSubmatch(code); m != nil {
		p.Code, p.Version = code, m[2]
		switch name := m[1]; {
		case name == "wso2am" || strings.HasPrefix(name, "wso2am-universal-gw") || name == "wso2am-gw":
			p.Kind, p.Name = kindAPIM, "WSO2 API Manager"
		case strings.HasPrefix(name, "wso2am-"):
			p.Kind, p.Name = kindAPIMControl, "WSO2 API Manager"
		case strings.HasPrefix(name, "wso2is"):
			p.Kind, p.Name = kindIS, "WSO2 Identity Server"
		case strings.HasPrefix(name, "wso2mi"), strings.HasPrefix(name, "wso2ei"):
			p.Kind, p.Name = kindMI, "WSO2 Micro Integrator"
		}
	}
	if mainClass == miMainClass {
		p.Kind = kindMI
		if p.Code == "" {
			p.Name, p.Version = "WSO2 Micro Integrator", "4.3.0"
		}
	}
	if b, err := os.ReadFile(filepath.Join(home, "bin", "version.txt")); err == nil {
		line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
		if i := strings.LastIndex(line, " v"); i > 0 {
			p.Name, p.Version = strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+2:])
		}
	}
	if p.Kind != kindMI {
		_, errTOML := os.Stat(filepath.Join(home, "repository", "conf", "deployment.toml"))
		_, errXML := os.Stat(filepath.Join(home, "repository", "conf", "carbon.xml"))
		p.Legacy = errors.Is(errTOML, os.ErrNotExist) && errXML == nil
	}
	return p
}

func (p product) serverName() string { return p.Name + "-" + p.Version }

// configError is a configuration problem found before "OSGi" starts; Carbon's
// Main logs it as "Error while performing configuration changes" and exits 1.
type configError struct {
	file string
	err  error
}

func (e *configError) Error() string { return fmt.Sprintf("%s: %v", e.file, e.err) }
func (e *configError) Unwrap() error { return e.err }

// serverConfig is the part of the configuration the fake acts on.
type serverConfig struct {
	File        string // the file read, for messages
	Offset      int
	OffsetFrom  string // "default", "deployment.toml", "carbon.xml", "-DportOffset"
	HTTPSPort   int    // servlet HTTPS base port (before offset)
	HTTPPort    int    // servlet HTTP base port (before offset)
	UpdateLevel string // updates/config.json "update-level", "-" when unknown (MI /healthz)
}

func loadConfig(home string, p product, props map[string]string) (serverConfig, error) {
	cfg := serverConfig{HTTPSPort: 9443, HTTPPort: 9763, OffsetFrom: "default"}
	if p.Kind == kindMI {
		cfg.Offset = 10 // MI's default offset: 8280+10, 9191+10 ...
	}
	confDir := props["carbon.config.dir.path"]
	if confDir == "" {
		confDir = filepath.Join(home, "repository", "conf")
		if p.Kind == kindMI {
			confDir = filepath.Join(home, "conf")
		}
	}
	if p.Legacy {
		cfg.File = filepath.Join(confDir, "carbon.xml")
		off, err := carbonXMLOffset(cfg.File)
		if err != nil {
			return cfg, &configError{cfg.File, err}
		}
		cfg.Offset, cfg.OffsetFrom = off, "carbon.xml"
	} else {
		cfg.File = filepath.Join(confDir, "deployment.toml")
		if err := cfg.readTOML(); err != nil {
			return cfg, err
		}
	}
	if v, ok := props["portOffset"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return cfg, &configError{"-DportOffset", fmt.Errorf("invalid port offset %q", v)}
		}
		cfg.Offset, cfg.OffsetFrom = n, "-DportOffset"
	}
	cfg.UpdateLevel = readUpdateLevel(home)
	return cfg, nil
}

func (cfg *serverConfig) readTOML() error {
	var doc map[string]any
	_, err := toml.DecodeFile(cfg.File, &doc)
	if errors.Is(err, os.ErrNotExist) {
		return nil // a kernel without deployment.toml keeps its XML; offset 0
	}
	if err != nil {
		return &configError{cfg.File, err}
	}
	if v, ok := lookup(doc, "server", "offset"); ok {
		n, err := intValue(v)
		if err != nil {
			return &configError{cfg.File, fmt.Errorf("[server] offset: %w", err)}
		}
		cfg.Offset, cfg.OffsetFrom = n, "deployment.toml"
	}
	for _, pk := range []struct {
		dst  *int
		path []string
	}{
		{&cfg.HTTPSPort, []string{"transport", "https", "properties", "port"}},
		{&cfg.HTTPPort, []string{"transport", "http", "properties", "port"}},
	} {
		if v, ok := lookup(doc, pk.path...); ok {
			n, err := intValue(v)
			if err != nil {
				return &configError{cfg.File, fmt.Errorf("%s: %w", strings.Join(pk.path, "."), err)}
			}
			*pk.dst = n
		}
	}
	return nil
}

func lookup(doc map[string]any, path ...string) (any, bool) {
	var cur any = doc
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// intValue accepts both offset = 1 and offset = "1"; both occur in the wild.
func intValue(v any) (int, error) {
	switch t := v.(type) {
	case int64:
		return int(t), nil
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(t))
		if err != nil {
			return 0, fmt.Errorf("not a number: %q", t)
		}
		return n, nil
	default:
		return 0, fmt.Errorf("not a number: %v", v)
	}
}

func carbonXMLOffset(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var doc struct {
		Offset string `xml:"Ports>Offset"`
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.CharsetReader = latin1Reader // carbon.xml declares ISO-8859-1
	if err := dec.Decode(&doc); err != nil {
		return 0, err
	}
	if strings.TrimSpace(doc.Offset) == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(doc.Offset))
	if err != nil {
		return 0, fmt.Errorf("<Ports><Offset>: not a number: %q", doc.Offset)
	}
	return n, nil
}

func readUpdateLevel(home string) string {
	b, err := os.ReadFile(filepath.Join(home, "updates", "config.json"))
	if err != nil {
		return "-"
	}
	var doc map[string]json.RawMessage
	if json.Unmarshal(b, &doc) != nil {
		return "-"
	}
	raw, ok := doc["update-level"]
	if !ok {
		return "-"
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return "-"
}

// latin1Reader decodes ISO-8859-1 (each byte is the code point) for the XML
// decoder; UTF-8 and US-ASCII pass through.
func latin1Reader(charset string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return r, nil
	case "iso-8859-1", "latin1", "latin-1", "iso8859-1":
		b, err := io.ReadAll(bufio.NewReader(r))
		if err != nil {
			return nil, err
		}
		var out strings.Builder
		for _, c := range b {
			out.WriteRune(rune(c))
		}
		return strings.NewReader(out.String()), nil
	}
	return nil, fmt.Errorf("unsupported XML encoding %q", charset)
}
