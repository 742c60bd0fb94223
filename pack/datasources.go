package pack

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Where a datasource's data lives, as far as the configuration tells.
const (
	// DataInPack: an embedded H2 database whose files are inside the
	// product home (a relative path, ${carbon.home}/..., or an in-memory
	// database). A copy of the pack has its own.
	DataInPack = "in-pack"
	// DataExternal: a database server (any JDBC URL but embedded H2, and
	// H2 over tcp:// or ssl://), or an H2 file outside the home, which a
	// copy of the pack would share with the live node.
	DataExternal = "external"
	// DataUnknown: the URL is resolved at run time ($env{}, $secret{},
	// $sys{}, {{ }}), or is missing where no default applies.
	DataUnknown = "unknown"
)

// Datasource is one JDBC datasource of the pack: a [database.<name>] table
// (its effective URL, the product default when the file does not write
// one), a [[datasource]] entry, or a <datasource> of a Carbon 4.4 file in
// repository/conf/datasources.
type Datasource struct {
	Name string `json:"name"` // "apim_db", "mb.store_db", the [[datasource]] id, the XML <name>
	// What names it for people: "[database.apim_db]", "[[datasource]] id = \"x\"",
	// "datasource WSO2AM_DB (repository/conf/datasources/master-datasources.xml)".
	What string `json:"what"`
	// Key is the configuration key of its URL ("database.apim_db.url"); ""
	// for the legacy XML layout.
	Key string `json:"key,omitempty"`
	URL Value  `json:"url"`
	// Data is DataInPack, DataExternal or DataUnknown; Why says what
	// decided it.
	Data string `json:"data"`
	Why  string `json:"why"`
}

// Datasources lists the pack's JDBC datasources with where their data
// lives, sorted by name. Node-local databases ([database.local], the
// message broker store) are listed too: they are in-pack H2 by design.
func (p *Pack) Datasources() ([]Datasource, error) {
	if p == nil || p.st == nil {
		return nil, nil
	}
	if p.Layout == LayoutLegacy {
		return p.legacyDatasources()
	}
	var out []Datasource
	for _, t := range p.Tables("database") {
		key := "database." + t
		if u := p.Value(key + ".url"); u.Set() {
			out = append(out, p.classify(Datasource{Name: t, What: "[" + key + "]", Key: key + ".url", URL: u}, p.Value(key+".type")))
			continue
		}
		// A table whose URL lives one level down: [database.mb.store_db].
		found := false
		for _, sub := range p.Tables(key) {
			sk := key + "." + sub
			if u := p.Value(sk + ".url"); u.Set() {
				found = true
				out = append(out, p.classify(Datasource{Name: t + "." + sub, What: "[" + sk + "]", Key: sk + ".url", URL: u}, p.Value(sk+".type")))
			}
		}
		if !found {
			out = append(out, p.classify(Datasource{Name: t, What: "[" + key + "]", Key: key + ".url", URL: p.Value(key + ".url")}, p.Value(key+".type")))
		}
	}
	if arr, ok := p.Value("datasource").Raw.([]any); ok {
		for i := range arr {
			k := fmt.Sprintf("datasource.%d", i)
			id := p.Value(k + ".id").String()
			if id == "" {
				id = fmt.Sprintf("#%d", i+1)
			}
			out = append(out, p.classify(Datasource{Name: id, What: fmt.Sprintf("[[datasource]] id = %q", id), Key: k + ".url", URL: p.Value(k + ".url")}, Value{}))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// classify decides where the datasource's data lives from its URL, else
// its type.
func (p *Pack) classify(ds Datasource, typ Value) Datasource {
	u := ds.URL
	switch {
	case u.Set() && u.Externalised:
		ds.Data, ds.Why = DataUnknown, fmt.Sprintf("the URL %s is resolved at run time", u.String())
	case u.Set():
		ds.Data, ds.Why = ClassifyJDBC(u.String(), p.Home)
	case typ.Set() && !typ.Externalised && strings.EqualFold(strings.TrimSpace(typ.String()), "h2"):
		ds.Data, ds.Why = DataInPack, "type h2 without a URL: the product's embedded H2 in the pack"
	case typ.Set():
		ds.Data, ds.Why = DataUnknown, fmt.Sprintf("type %s without a URL", typ.String())
	default:
		ds.Data, ds.Why = DataUnknown, "neither a URL nor a type"
	}
	return ds
}

var h2Remote = regexp.MustCompile(`(?i)^jdbc:h2:(tcp|ssl):`)

// ClassifyJDBC says where a JDBC URL's data lives relative to the product
// home: DataInPack for embedded H2 inside it, DataExternal otherwise.
func ClassifyJDBC(url, home string) (data, why string) {
	s := strings.TrimSpace(url)
	lower := strings.ToLower(s)
	if !strings.HasPrefix(lower, "jdbc:h2:") {
		engine := "a database server"
		if rest, ok := strings.CutPrefix(lower, "jdbc:"); ok {
			if i := strings.IndexAny(rest, ":/"); i > 0 {
				engine = "a " + rest[:i] + " server"
			}
		}
		return DataExternal, "the URL points at " + engine
	}
	if h2Remote.MatchString(s) {
		return DataExternal, "the URL points at an H2 server over the network"
	}
	path := s[len("jdbc:h2:"):]
	if i := strings.IndexByte(path, ';'); i >= 0 {
		path = path[:i]
	}
	path = strings.TrimPrefix(path, "file:")
	switch {
	case strings.HasPrefix(strings.ToLower(path), "mem:"):
		return DataInPack, "an in-memory H2 database"
	case strings.HasPrefix(path, "${carbon.home}"), strings.HasPrefix(path, "${CARBON_HOME}"):
		return DataInPack, "embedded H2 under the product home"
	case strings.HasPrefix(path, "~"):
		return DataExternal, "embedded H2 in the user's home directory, outside the product home"
	case filepath.IsAbs(path):
		if home != "" && isUnder(filepath.Clean(path), filepath.Clean(home)) {
			return DataInPack, "embedded H2 under the product home"
		}
		return DataExternal, "embedded H2 in a file outside the product home (" + path + "), which a copy of the pack would share"
	}
	// Relative: to the JVM's working directory, which the stock scripts
	// set to the product home; a copy of the pack resolves it from its own.
	if p := filepath.Clean(path); p == ".." || strings.HasPrefix(p, "../") {
		return DataInPack, "embedded H2 relative to the product home (" + path + "): a copy of the pack has its own"
	}
	return DataInPack, "embedded H2 in the product home"
}

func isUnder(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator))
}

// legacyDatasources reads every <datasource> of the XML files in
// repository/conf/datasources (master-datasources.xml and any other the
// product adds there).
func (p *Pack) legacyDatasources() ([]Datasource, error) {
	dir := filepath.Join(p.Home, "repository", "conf", "datasources")
	ents, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, &ConfigError{Pos: Position{File: "repository/conf/datasources"}, What: "cannot list the datasource files", Err: err}
	}
	var out []Datasource
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".xml") {
			continue
		}
		rel := "repository/conf/datasources/" + e.Name()
		d, err := p.XML(rel)
		if err != nil {
			return nil, err
		}
		for _, el := range d.FindAll("//datasource") {
			ne := el.SelectElement("name")
			if ne == nil {
				continue
			}
			name := strings.TrimSpace(ne.Text())
			ds := Datasource{Name: name, What: "datasource " + name + " (" + rel + ")"}
			if ue := el.FindElement("definition/configuration/url"); ue != nil {
				ds.URL = Value{Key: rel + ":" + name + "/url", Raw: strings.TrimSpace(ue.Text()), Source: SourceFile, Pos: d.Pos(ue)}
				for _, a := range ue.Attr {
					if a.Key == "secretAlias" {
						ds.URL.Externalised = true
					}
				}
			}
			if !ds.URL.Set() {
				ds.Data, ds.Why = DataUnknown, "no <url>"
			} else {
				ds = p.classify(ds, Value{})
			}
			out = append(out, ds)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
