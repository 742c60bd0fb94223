package dbdump

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/carbonguard/carbonguard/pack"
)

// Config is one [[snapshot.database]] entry of carbonguard.toml. Only Name is
// required; the rest override what the pack's datasource says.
type Config struct {
	Name         string   // a datasource of the pack: [database.<name>], a [[datasource]] id, or a Carbon 4.4 datasource <name>
	Host         string   // overrides the URL's host
	Port         int      // overrides the URL's port
	Database     string   // overrides the URL's database
	User         string   // overrides the datasource's username
	PasswordFile string   // the password in a file (first line), instead of the datasource's
	Dump         []string // the dump command as an argument list; default by engine
	Restore      []string // the restore command as an argument list; default by engine
	Env          []string // names of further environment variables the commands get
}

// Spec is a resolved database entry: where the database is and the commands
// that dump and restore it (argument lists with {placeholders} still in).
type Spec struct {
	Name    string
	Conn    Conn     // Password is set when it came from the pack; see passwordFile
	From    string   // where the connection came from, for messages
	Dump    []string // before expansion
	Restore []string
	Env     []string
	// passwordFile is read at each run when set (the password may rotate).
	passwordFile string
}

// Placeholders the dump and restore commands may use. There is none for the
// password: it reaches the tools only through files.
var placeholders = map[string]bool{
	"name": true, "host": true, "port": true, "database": true, "user": true,
	"defaults_file": true, // a MySQL option file holding [client] password (use it as the first option)
	"password_file": true, // a file holding the password alone
}

var placeholderRE = regexp.MustCompile(`\{[a-z_]+\}`)

// Default commands by engine.
var (
	pgDump = []string{"pg_dump", "--format=custom", "--no-password",
		"--host={host}", "--port={port}", "--username={user}", "--dbname={database}"}
	pgRestore = []string{"pg_restore", "--clean", "--if-exists", "--single-transaction", "--exit-on-error", "--no-password",
		"--host={host}", "--port={port}", "--username={user}", "--dbname={database}"}
	myDump = []string{"mysqldump", "--defaults-extra-file={defaults_file}", "--single-transaction", "--routines", "--triggers",
		"--hex-blob", "--no-tablespaces", "--protocol=TCP", "--host={host}", "--port={port}", "--user={user}", "{database}"}
	myRestore = []string{"mysql", "--defaults-extra-file={defaults_file}", "--protocol=TCP",
		"--host={host}", "--port={port}", "--user={user}", "--database={database}"}
)

// DefaultCommands returns the engine's default dump and restore commands, or
// false when carbonguard has none for it.
func DefaultCommands(e Engine) (dump, restore []string, ok bool) {
	switch e {
	case PostgreSQL:
		return slices.Clone(pgDump), slices.Clone(pgRestore), true
	case MySQL, MariaDB:
		return slices.Clone(myDump), slices.Clone(myRestore), true
	}
	return nil, nil, false
}

// FileName is the name a dump of this database is stored under.
func (s *Spec) FileName() string {
	switch {
	case s.Conn.Engine == PostgreSQL && slices.Equal(s.Dump, pgDump):
		return s.Name + ".pgdump"
	case (s.Conn.Engine == MySQL || s.Conn.Engine == MariaDB) && slices.Equal(s.Dump, myDump):
		return s.Name + ".sql"
	}
	return s.Name + ".dump"
}

// field is one setting of a datasource as the pack holds it.
type field struct {
	text     string
	external bool   // $secret{}, $env{}, $sys{}, {{ }}, or a secure-vault alias
	where    string // "repository/conf/deployment.toml:42"
	set      bool
}

type datasource struct {
	what                string // "[database.apim_db]", "[[datasource]] id = \"x\"", "datasource WSO2AM_DB"
	url, user, password field
}

// Datasources lists the names a [[snapshot.database]] entry can use: the
// [database.*] tables and [[datasource]] ids of deployment.toml, or the
// datasource names of a Carbon 4.4 master-datasources.xml.
func Datasources(p *pack.Pack) []string {
	var out []string
	if p.Layout == pack.LayoutLegacy {
		d, err := p.XML("datasources/master-datasources.xml")
		if err != nil {
			return nil
		}
		for _, ds := range d.FindAll("//datasource") {
			if n := ds.SelectElement("name"); n != nil {
				out = append(out, strings.TrimSpace(n.Text()))
			}
		}
		return out
	}
	out = append(out, p.Tables("database")...)
	if arr, ok := p.Value("datasource").Raw.([]any); ok {
		for i := range arr {
			if id := p.Value(fmt.Sprintf("datasource.%d.id", i)).String(); id != "" {
				out = append(out, id)
			}
		}
	}
	return out
}

func fromValue(v pack.Value) field {
	return field{text: v.String(), external: v.Externalised, where: v.Pos.String(), set: v.Set()}
}

func findDatasource(p *pack.Pack, name string) (*datasource, bool) {
	if p.Layout == pack.LayoutLegacy {
		d, err := p.XML("datasources/master-datasources.xml")
		if err != nil {
			return nil, false
		}
		for _, ds := range d.FindAll("//datasource") {
			n := ds.SelectElement("name")
			if n == nil || strings.TrimSpace(n.Text()) != name {
				continue
			}
			out := &datasource{what: "datasource " + name + " (repository/conf/datasources/master-datasources.xml)"}
			if c := ds.FindElement("definition/configuration"); c != nil {
				for tag, f := range map[string]*field{"url": &out.url, "username": &out.user, "password": &out.password} {
					e := c.SelectElement(tag)
					if e == nil {
						continue
					}
					*f = field{text: strings.TrimSpace(e.Text()), where: d.Pos(e).String(), set: true}
					for _, a := range e.Attr {
						if a.Key == "secretAlias" {
							f.external = true
						}
					}
				}
			}
			return out, true
		}
		return nil, false
	}
	if slices.Contains(p.Tables("database"), name) {
		k := "database." + name + "."
		return &datasource{what: "[database." + name + "]", url: fromValue(p.Value(k + "url")),
			user: fromValue(p.Value(k + "username")), password: fromValue(p.Value(k + "password"))}, true
	}
	if arr, ok := p.Value("datasource").Raw.([]any); ok {
		for i := range arr {
			k := fmt.Sprintf("datasource.%d.", i)
			if p.Value(k+"id").String() != name {
				continue
			}
			return &datasource{what: fmt.Sprintf("[[datasource]] id = %q", name), url: fromValue(p.Value(k + "url")),
				user: fromValue(p.Value(k + "username")), password: fromValue(p.Value(k + "password"))}, true
		}
	}
	return nil, false
}

var envRefRE = regexp.MustCompile(`\$env\{([^}]*)\}`)

// external resolves $env{VAR} references from the environment; anything
// else externalised ($secret{}, $sys{}, a secure-vault alias, Helm {{ }})
// cannot be read by carbonguard.
func external(f field, getenv func(string) string) (string, string) {
	if !f.external {
		return f.text, ""
	}
	s := f.text
	if strings.Contains(s, "$secret{") || strings.Contains(s, "$sys{") || strings.Contains(s, "{{") || !strings.Contains(s, "$env{") {
		return "", fmt.Sprintf("%q is resolved by the server at run time", s)
	}
	var missing []string
	out := envRefRE.ReplaceAllStringFunc(s, func(m string) string {
		name := envRefRE.FindStringSubmatch(m)[1]
		v := getenv(name)
		if v == "" {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Sprintf("%q needs the environment variable %s, which carbonguard's environment does not set", s, strings.Join(missing, ", "))
	}
	return out, ""
}

// Resolve matches the entry to the pack's datasource and works out the
// connection and the commands. getenv resolves $env{} references (nil:
// os.Getenv).
func Resolve(p *pack.Pack, c Config, getenv func(string) string) (*Spec, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	bad := func(key, msg, hint string) error { return &ConfigError{Name: c.Name, Key: key, Msg: msg, Fix: hint} }
	if c.Name == "" {
		return nil, bad("name", "name is empty", "name one of the pack's datasources")
	}
	ds, ok := findDatasource(p, c.Name)
	if !ok {
		known := Datasources(p)
		hint := "the pack defines no datasource"
		if len(known) > 0 {
			hint = "the pack's datasources: " + strings.Join(known, ", ")
		}
		return nil, bad("name", "the pack has no datasource of that name", hint)
	}
	s := &Spec{Name: c.Name, From: ds.what, Env: c.Env, passwordFile: c.PasswordFile}
	if ds.url.where != "" {
		s.From += " at " + ds.url.where
	}
	overridden := c.Host != "" && c.Port != 0 && c.Database != ""
	url, why := external(ds.url, getenv)
	switch {
	case why != "" && !overridden:
		return nil, bad("name", ds.what+" url "+why,
			"give host, port and database in the [[snapshot.database]] entry (and a dump command if the engine is not PostgreSQL or MySQL)")
	case !ds.url.set && !overridden:
		return nil, bad("name", ds.what+" has no url", "give host, port and database in the [[snapshot.database]] entry")
	case why == "" && ds.url.set:
		conn, err := ParseJDBC(url)
		if err != nil {
			return nil, bad("name", ds.what+": "+err.Error(), "give host, port and database in the [[snapshot.database]] entry")
		}
		s.Conn = conn
	}
	if s.Conn.Engine == H2 {
		return nil, bad("name", ds.what+" is embedded H2, a file inside the pack that the snapshot already holds",
			"remove this [[snapshot.database]] entry")
	}
	if c.Host != "" {
		s.Conn.Host = c.Host
	}
	if c.Port != 0 {
		s.Conn.Port = c.Port
	}
	if c.Database != "" {
		s.Conn.Database = c.Database
	}
	if c.User != "" {
		s.Conn.User = c.User
	} else if ds.user.set {
		u, why := external(ds.user, getenv)
		if why != "" {
			return nil, bad("user", ds.what+" username "+why, "set user in the [[snapshot.database]] entry")
		}
		s.Conn.User = u
	}
	if c.PasswordFile != "" {
		if _, err := readPasswordFile(c.PasswordFile); err != nil {
			return nil, bad("password_file", err.Error(), "make the file readable by the user carbonguard runs as (mode 0600)")
		}
	} else if ds.password.set {
		pw, why := external(ds.password, getenv)
		if why != "" {
			return nil, bad("password_file", ds.what+" password "+why,
				"put the password in a file readable only by carbonguard's user and set password_file")
		}
		s.Conn.Password = pw
	}
	dump, restore, hasDefaults := DefaultCommands(s.Conn.Engine)
	if len(c.Dump) > 0 {
		dump = slices.Clone(c.Dump)
	}
	if len(c.Restore) > 0 {
		restore = slices.Clone(c.Restore)
	}
	if !hasDefaults && (len(dump) == 0 || len(restore) == 0) {
		engine := string(s.Conn.Engine)
		if engine == "" {
			engine = "an unknown engine"
		}
		return nil, bad("dump", fmt.Sprintf("%s uses %s, for which carbonguard has no default commands", ds.what, engine),
			"give dump and restore as argument lists, e.g. dump = [\"exp\", ...]: the dump is the command's standard output, the restore reads it on standard input")
	}
	for key, argv := range map[string][]string{"dump": dump, "restore": restore} {
		for _, a := range argv {
			for _, m := range placeholderRE.FindAllString(a, -1) {
				if !placeholders[m[1:len(m)-1]] {
					return nil, bad(key, fmt.Sprintf("unknown placeholder %s in %q", m, a),
						"use {name}, {host}, {port}, {database}, {user}, {defaults_file} or {password_file}")
				}
			}
		}
	}
	if s.Conn.Host == "" || s.Conn.Database == "" {
		if hasDefaults && len(c.Dump) == 0 {
			return nil, bad("name", ds.what+" names no host or database", "give host, port and database in the [[snapshot.database]] entry")
		}
	}
	s.Dump, s.Restore = dump, restore
	return s, nil
}

func readPasswordFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("the password file cannot be read: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSuffix(line, "\r"), nil
}

// expand replaces the placeholders of argv.
func expand(argv []string, vars map[string]string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = placeholderRE.ReplaceAllStringFunc(a, func(m string) string {
			if v, ok := vars[m[1:len(m)-1]]; ok {
				return v
			}
			return m
		})
	}
	return out
}

func itoa(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}
