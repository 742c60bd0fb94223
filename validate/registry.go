package validate

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// The check families. An ID is "CG-<FAMILY>-<three digits>", permanent and
// never reused (see doc.go for who owns which family).
const (
	FamilySecurity  = "SEC"  // security and transport
	FamilyNetwork   = "NET"  // ports, JMX, proxy, TM <-> gateway
	FamilyDatastore = "DATA" // databases, user stores, Solr, backup inventory
	FamilyHost      = "HOST" // host, runtime, clustering, metrics, snapshots
)

// Categories a check may declare; the text report groups findings by them in
// this order.
var Categories = []string{"security", "transport", "ports", "jmx", "network", "datastore", "host", "runtime", "operations"}

var idPattern = regexp.MustCompile(`^CG-(SEC|NET|DATA|HOST)-[0-9]{3}$`)

var (
	registryMu sync.RWMutex
	registry   = map[string]Check{}
)

// register adds checks to the registry. It is called from init() functions of
// the checks_*.go files. A malformed or duplicate ID, or a check without Run,
// is a programming error and panics at start-up, where every test sees it.
func register(cs ...Check) {
	registryMu.Lock()
	defer registryMu.Unlock()
	for _, c := range cs {
		if !idPattern.MatchString(c.ID) {
			panic(fmt.Sprintf("validate: check ID %q does not match CG-(SEC|NET|DATA|HOST)-NNN", c.ID))
		}
		if _, dup := registry[c.ID]; dup {
			panic(fmt.Sprintf("validate: check ID %s registered twice", c.ID))
		}
		if c.Run == nil {
			panic(fmt.Sprintf("validate: check %s has no Run function", c.ID))
		}
		if c.Doc == "" {
			c.Doc = DocAnchor(c.ID)
		}
		registry[c.ID] = c
	}
}

// Registry returns every registered check, sorted by ID.
func Registry() []Check {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]Check, 0, len(registry))
	for _, c := range registry {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Lookup finds a check by its ID (case-insensitive).
func Lookup(id string) (Check, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	c, ok := registry[strings.ToUpper(strings.TrimSpace(id))]
	return c, ok
}

// DocAnchor is the anchor of a check's section in docs/checks.md.
func DocAnchor(id string) string { return strings.ToLower(id) }

// categoryRank orders categories for reports; unknown ones go last.
func categoryRank(cat string) int {
	for i, c := range Categories {
		if c == cat {
			return i
		}
	}
	return len(Categories)
}
