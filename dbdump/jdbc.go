package dbdump

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Engine is the database product a datasource uses, as its JDBC URL's
// sub-protocol names it.
type Engine string

// The engines. Only PostgreSQL, MySQL and MariaDB have default dump and
// restore commands; the others need the operator's.
const (
	PostgreSQL Engine = "postgresql"
	MySQL      Engine = "mysql"
	MariaDB    Engine = "mariadb"
	Oracle     Engine = "oracle"
	MSSQL      Engine = "mssql"
	DB2        Engine = "db2"
	H2         Engine = "h2"
)

// Conn is where a database lives and who logs in. Password is a secret: it
// is never printed (String leaves it out) and never put on a command line.
type Conn struct {
	Engine   Engine `json:"engine"`
	Host     string `json:"host,omitempty"`
	Port     int    `json:"port,omitempty"`
	Database string `json:"database,omitempty"`
	User     string `json:"user,omitempty"`
	Password string `json:"-"`
}

// String is "postgresql wso2@db.example.com:5432/wso2am", without the
// password.
func (c Conn) String() string {
	s := string(c.Engine)
	if c.Host == "" {
		return s
	}
	s += " "
	if c.User != "" {
		s += c.User + "@"
	}
	host := c.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	s += host
	if c.Port != 0 {
		s += ":" + strconv.Itoa(c.Port)
	}
	return s + "/" + c.Database
}

// defaultPort is the engine's standard port.
func defaultPort(e Engine) int {
	switch e {
	case PostgreSQL:
		return 5432
	case MySQL, MariaDB:
		return 3306
	}
	return 0
}

// ParseJDBC reads a datasource URL as WSO2's configuration holds it (with
// "&amp;" for "&", as the TOML values are pasted into XML): the engine, the
// first host and its port, the database, and user and password when the URL
// carries them. PostgreSQL (jdbc:postgresql://host:port/db?user=...),
// MySQL Connector/J (jdbc:mysql://, jdbc:mysql:loadbalance://,
// jdbc:mysql:replication://, user:password@host, address=(host=..)(port=..))
// and MariaDB Connector/J (jdbc:mariadb:[failover:|...]//) are read in full;
// for Oracle, SQL Server, DB2 and H2 only the engine is told.
func ParseJDBC(raw string) (Conn, error) {
	s := strings.TrimSpace(strings.ReplaceAll(raw, "&amp;", "&"))
	low := strings.ToLower(s)
	if !strings.HasPrefix(low, "jdbc:") {
		return Conn{}, fmt.Errorf("%q is not a JDBC URL (it should start with jdbc:)", redactURL(raw))
	}
	rest, lrest := s[5:], low[5:]
	switch {
	case strings.HasPrefix(lrest, "postgresql:"):
		return parseURL(PostgreSQL, rest[len("postgresql:"):])
	case strings.HasPrefix(lrest, "mysql:"), strings.HasPrefix(lrest, "mysql+srv:"):
		_, after, _ := strings.Cut(rest, ":")
		return parseURL(MySQL, after)
	case strings.HasPrefix(lrest, "mariadb:"):
		return parseURL(MariaDB, rest[len("mariadb:"):])
	case strings.HasPrefix(lrest, "oracle:"):
		return Conn{Engine: Oracle}, nil
	case strings.HasPrefix(lrest, "sqlserver:"), strings.HasPrefix(lrest, "jtds:sqlserver:"):
		return Conn{Engine: MSSQL}, nil
	case strings.HasPrefix(lrest, "db2:"):
		return Conn{Engine: DB2}, nil
	case strings.HasPrefix(lrest, "h2:"):
		return Conn{Engine: H2}, nil
	}
	sub, _, _ := strings.Cut(rest, ":")
	return Conn{}, fmt.Errorf("%q: the JDBC driver %q is not one carbonguard knows (postgresql, mysql, mariadb, oracle, sqlserver, db2, h2)", redactURL(raw), sub)
}

// parseURL reads "[mode:]//hosts/database?params" (the part after
// "jdbc:<engine>:"); PostgreSQL also allows "database" alone (localhost).
func parseURL(e Engine, s string) (Conn, error) {
	c := Conn{Engine: e}
	body, params, _ := strings.Cut(s, "?")
	// MySQL and MariaDB put parameters after ";" in some forms too.
	if e != PostgreSQL {
		if b, p, ok := strings.Cut(body, ";"); ok {
			body, params = b, p+"&"+params
		}
	}
	if i := strings.Index(body, "//"); i >= 0 {
		mode := body[:i]
		if e == PostgreSQL && mode != "" {
			return c, fmt.Errorf("jdbc:postgresql:%s: cannot read the host", s)
		}
		hostsPart, db, _ := strings.Cut(body[i+2:], "/")
		first := strings.Split(hostsPart, ",")[0]
		if u, h, ok := strings.Cut(first, "@"); ok && e != PostgreSQL {
			user, pass, hasPass := strings.Cut(u, ":")
			c.User = unescape(user)
			if hasPass {
				c.Password = unescape(pass)
			}
			first = h
		}
		if strings.HasPrefix(strings.ToLower(first), "address=") {
			for _, kv := range strings.Split(first[len("address="):], ")") {
				k, v, ok := strings.Cut(strings.TrimPrefix(kv, "("), "=")
				if !ok {
					continue
				}
				switch strings.ToLower(k) {
				case "host":
					c.Host = v
				case "port":
					p, err := strconv.Atoi(v)
					if err != nil {
						return c, fmt.Errorf("port %q is not a number", v)
					}
					c.Port = p
				}
			}
		} else {
			host, port, err := splitHostPort(first)
			if err != nil {
				return c, err
			}
			c.Host, c.Port = host, port
		}
		c.Database = unescape(db)
	} else {
		c.Host, c.Database = "localhost", unescape(strings.TrimPrefix(body, "/"))
	}
	if c.Host == "" {
		c.Host = "localhost"
	}
	if c.Port == 0 {
		c.Port = defaultPort(e)
	}
	for _, kv := range strings.FieldsFunc(params, func(r rune) bool { return r == '&' || r == ';' }) {
		k, v, _ := strings.Cut(kv, "=")
		switch strings.ToLower(k) {
		case "user":
			c.User = unescape(v)
		case "password":
			c.Password = unescape(v)
		}
	}
	return c, nil
}

func splitHostPort(s string) (string, int, error) {
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 {
			return "", 0, fmt.Errorf("host %q: missing ]", s)
		}
		host, rest := s[1:end], s[end+1:]
		if rest == "" {
			return host, 0, nil
		}
		if !strings.HasPrefix(rest, ":") {
			return "", 0, fmt.Errorf("host %q: unexpected %q after ]", s, rest)
		}
		p, err := strconv.Atoi(rest[1:])
		if err != nil {
			return "", 0, fmt.Errorf("port %q is not a number", rest[1:])
		}
		return host, p, nil
	}
	host, port, ok := strings.Cut(s, ":")
	if !ok || port == "" {
		return host, 0, nil
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return "", 0, fmt.Errorf("port %q is not a number", port)
	}
	return host, p, nil
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// redactURL hides a password a URL carries (user:password@, password=).
func redactURL(s string) string {
	if i := strings.Index(s, "//"); i >= 0 {
		if at := strings.Index(s[i+2:], "@"); at >= 0 {
			cred := s[i+2 : i+2+at]
			if u, _, ok := strings.Cut(cred, ":"); ok && !strings.ContainsAny(cred, "/?") {
				s = s[:i+2] + u + ":***" + s[i+2+at:]
			}
		}
	}
	low := strings.ToLower(s)
	for _, key := range []string{"password="} {
		for from := 0; ; {
			j := strings.Index(low[from:], key)
			if j < 0 {
				break
			}
			start := from + j + len(key)
			end := start
			for end < len(s) && s[end] != '&' && s[end] != ';' {
				end++
			}
			s = s[:start] + "***" + s[end:]
			low = strings.ToLower(s)
			from = start + 3
		}
	}
	return s
}
