package validate

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/beevik/etree"

	"github.com/carbonguard/carbonguard/pack"
)

// Database, user store, registry, embedded LDAP, Solr and backup checks
// (CG-DATA). Facts: wso2-config.md checks table rows 1, 2, 12, 13; §1 (APIM,
// IS, gateway defaults), §3 (master-datasources.xml, user-mgt.xml,
// embedded-ldap.xml), §5 (Solr); the APIM 4.2 registry.xml.j2 (governance
// registry on jdbc/SHARED_DB, config registry on WSO2CONFIG_DB when
// [database.config] exists, else SHARED_DB); WSO2's production guidelines
// (no H2 user store, no ApacheDS in production, separate Solr directories,
// back up every database).

func init() {
	register(
		Check{
			ID: "CG-DATA-010", Title: "Embedded H2 used for a product database", Category: "datastore", Severity: High,
			Rationale: "The product databases ([database.apim_db], shared_db, identity_db, user, config; Carbon 4.4: the datasources of " +
				"master-datasources.xml) default to embedded H2 files inside the pack. H2 is not supported for production: it cannot " +
				"be shared by a cluster, corrupts under load or unclean shutdown, and lives inside the pack where updates and restores " +
				"overwrite it. A table that is absent on a node whose default is H2 (APIM all-in-one, control plane, Traffic Manager) " +
				"counts as H2. The node-local [database.local] (WSO2_CARBON_DB) and the broker store (WSO2_MB_STORE_DB) are meant to " +
				"stay H2 and are not flagged.",
			Remediation: "Point each product database at a production RDBMS: [database.apim_db] / [database.shared_db] (IS: " +
				"identity_db) with type = \"mysql\" | \"mariadb\" | \"oracle\" | \"mssql\" | \"db2\" | \"postgre\" and a matching url and " +
				"driver, after creating the schema with the product's dbscripts; Carbon 4.4: change the <url> and <driverClassName> of " +
				"those datasources in master-datasources.xml. Keep [database.local] on H2.",
			Run: checkH2ProductDBs,
		},
		Check{
			ID: "CG-DATA-020", Title: "User store on an embedded H2 database", Category: "datastore", Severity: High,
			Rationale: "A JDBC user store (user_store.type database or database_unique_id; Carbon 4.4: JDBCUserStoreManager) keeps users, " +
				"roles and credentials in the realm's datasource. When that datasource is embedded H2 (the default shared_db, or " +
				"jdbc/WSO2CarbonDB in Carbon 4.4) the users live in a file inside one node. WSO2's production guidelines say not to use " +
				"H2 as a user store.",
			Remediation: "Move the user store to a production RDBMS (point the realm's datasource, shared_db or [database.user], at it) " +
				"or to an external LDAP / Active Directory ([user_store] type = \"read_write_ldap_unique_id\" with connection_url).",
			Run: checkH2UserStore,
		},
		Check{
			ID: "CG-DATA-030", Title: "Registry database on embedded H2", Category: "datastore", Severity: Medium,
			Rationale: "The config and governance registries hold API artifacts, lifecycle data and shared configuration. The APIM 4.x " +
				"registry template mounts /_system/governance on jdbc/SHARED_DB and /_system/config on WSO2CONFIG_DB when " +
				"[database.config] exists, else on SHARED_DB; a Carbon 4.4 registry.xml without mounts keeps both in the node-local " +
				"jdbc/WSO2CarbonDB. On H2 the registry cannot be shared by the nodes of a cluster and is lost with the node. WSO2's " +
				"checklist recommends moving the registry to Oracle, MySQL or MS SQL.",
			Remediation: "Put the registry on a production RDBMS: in the TOML layout give [database.shared_db] (and [database.config] if " +
				"used) a production database; Carbon 4.4: define a datasource on the RDBMS and mount /_system/config and " +
				"/_system/governance on it in registry.xml (<dbConfig>, <remoteInstance>, <mount>).",
			Run: checkH2Registry,
		},
		Check{
			ID: "CG-DATA-040", Title: "Embedded LDAP server (ApacheDS) is enabled", Category: "datastore", Severity: Medium,
			Rationale: "Identity Server ships an embedded ApacheDS LDAP server that starts by default ([embedded_ldap] enable = true; " +
				"Carbon 4.4: identity/embedded-ldap.xml enable). WSO2's production guidelines say not to use Apache DS in production " +
				"because of scalability issues; even unused it is one more listener (10389 + offset) with the well-known bind " +
				"uid=admin,ou=system / admin.",
			Remediation: "Move users to an external LDAP (e.g. OpenLDAP), Active Directory or a JDBC store on a production RDBMS, then " +
				"set [embedded_ldap] enable = false (Carbon 4.4: <Property name=\"enable\">false</Property> in " +
				"repository/conf/identity/embedded-ldap.xml).",
			Run: checkEmbeddedLDAPEnabled,
		},
		Check{
			ID: "CG-DATA-041", Title: "Primary user store is the embedded LDAP", Category: "datastore", Severity: High,
			Rationale: "Identity Server 5.x points its primary user store at the embedded ApacheDS: read_write_ldap(_unique_id) with " +
				"connection_url ldap://localhost:${Ports.EmbeddedLDAP.LDAPServerPort} (10389), bind uid=admin,ou=system / admin. " +
				"Users then live inside one node's pack, cannot be shared by a cluster and are lost with the node; WSO2 advises " +
				"against Apache DS in production.",
			Remediation: "Point [user_store] at an external LDAP or Active Directory (connection_url, connection_name, " +
				"connection_password as $secret{...}), or use type = \"database_unique_id\" on a production RDBMS; Carbon 4.4: change " +
				"the UserStoreManager's ConnectionURL in user-mgt.xml.",
			Run: checkUserStoreOnEmbeddedLDAP,
		},
		Check{
			ID: "CG-DATA-050", Title: "Solr index on a symlink or network file system", Category: "datastore", Severity: Medium,
			Rationale: "Publisher, DevPortal, control-plane and all-in-one nodes index registry artifacts with Solr in solr/data (or " +
				"[indexing] location, relative to repository/conf/solr/registry-indexing). WSO2 says each node needs its own Solr " +
				"directory: the index is a per-node runtime artifact and may not be shared. An index on NFS, CIFS or another network " +
				"file system, or behind a symlink, is easily shared by several nodes, and Lucene's locks are not reliable there.",
			Remediation: "Keep the index on a local disk or a per-node volume (the Kubernetes pattern: one volume per instance mounted at " +
				"/home/wso2carbon/solr/indexed-data with [indexing] location pointing at it); replace the symlink with a directory of " +
				"this node.",
			Run: checkSolrStorage,
		},
		Check{
			ID: "CG-DATA-051", Title: "Two nodes share one Solr index", Category: "datastore", Severity: High,
			Rationale: "When two indexing nodes (for example a Publisher and a DevPortal, or two control-plane instances) resolve to the " +
				"same Solr directory, both write the same Lucene index: locks collide, the index corrupts and searches in the " +
				"portals return wrong or no results. WSO2 says not to share <PRODUCT_HOME>/solr/data between servers.",
			Remediation: "Give every indexing node its own index directory ([indexing] location or its own solr/data), and keep it " +
				"with that node's local H2 database.",
			Run: checkSolrShared,
		},
		Check{
			ID: "CG-DATA-052", Title: "Solr index persisted apart from its node-local H2 database", Category: "datastore", Severity: Medium,
			Rationale: "The registry indexer records its last-access time in the local registry (WSO2_CARBON_DB, [database.local]), so " +
				"the index and the node-local H2 database belong together. If one is on a persistent volume and the other stays in " +
				"the pack's own (often ephemeral) file system, a restart or re-deployment keeps one and loses the other: the indexer " +
				"then skips artifacts or re-indexes inconsistently. The WSO2 Kubernetes and Helm patterns persist both, per instance.",
			Remediation: "Persist both or neither: mount a volume for the index ([indexing] location) and one for the local database " +
				"([database.local] url = \"jdbc:h2:<volume>/WSO2CARBON_DB;DB_CLOSE_ON_EXIT=FALSE\"), as the helm-apim charts do.",
			Run: checkSolrWithLocalDB,
		},
		Check{
			ID: "CG-DATA-060", Title: "External database without a dump", Category: "operations", Severity: Medium,
			Rationale: "carbonguard's snapshots cover the pack, including its node-local H2 files, but not the external databases the " +
				"pack uses ([database.*] and [[datasource]] in deployment.toml, the datasources of master-datasources.xml and of any " +
				"other file of the datasources directory). WSO2's backup guidance says to back up every one of them with the RDBMS's " +
				"own tools. Without a dump taken with the pre-update snapshot, a rollback restores the pack but not the schema and " +
				"data an update migrated, and a lost host or site loses the data. A [[snapshot.database]] entry makes carbonguard " +
				"dump the database with every pre-update snapshot (and snapshot create --with-databases), keep the dump in the " +
				"snapshot, verify it and push it off-host with it.",
			Remediation: "Add a [[snapshot.database]] entry named after the datasource (name = \"apim_db\"): PostgreSQL, MySQL and " +
				"MariaDB get pg_dump / mysqldump defaults from the datasource's URL and user; other engines need dump and restore " +
				"commands. If the database is backed up otherwise, accept the finding for it with the reason ([[check.accept]] " +
				"id = \"CG-DATA-060\", key = \"[database.apim_db]\", reason = \"backed up by the DBA team\").",
			Run: checkDatabaseDumps,
		},
	)
}

// dataProductTables are the [database.*] tables that hold product data and
// must not be H2 in production (facts: checks table row 1).
var dataProductTables = []string{"apim_db", "shared_db", "identity_db", "user", "config"}

// dataLocalTables are node-local by design (row 2): never flagged.
var dataLocalTables = map[string]string{
	"local": "the node-local registry database (WSO2_CARBON_DB)",
	"mb":    "the node-local message broker store (WSO2_MB_STORE_DB)",
}

// dataLocalDatasources are the Carbon 4.4 datasource names of row 2.
var dataLocalDatasources = map[string]bool{"WSO2_CARBON_DB": true, "WSO2_MB_STORE_DB": true}

func dataIsH2URL(s string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(s)), "jdbc:h2:")
}

func dataIsH2Driver(s string) bool { return strings.TrimSpace(s) == "org.h2.Driver" }

// dataVerdict is what one database table resolves to.
type dataVerdict struct {
	h2      bool
	unknown string     // why it cannot be told; "" when known
	cite    pack.Value // the value that decided
	what    string     // the decisive value, for messages
}

// dataJudgeTable decides whether [database.<table>] is H2: an explicit url
// decides (facts: an explicit url/driver overrides the inferred ones), a
// driver org.h2.Driver next to it too; without a url the type does.
func dataJudgeTable(p *pack.Pack, table string) dataVerdict {
	k := "database." + table + "."
	url, typ, drv := p.Value(k+"url"), p.Value(k+"type"), p.Value(k+"driver")
	if url.Set() {
		if url.Externalised {
			return dataVerdict{unknown: fmt.Sprintf("%s is %s, resolved at run time", url.Key, valueText(url)), cite: url}
		}
		if dataIsH2URL(url.String()) {
			return dataVerdict{h2: true, cite: url, what: "url " + dataShortURL(url.String())}
		}
		if drv.Set() && !drv.Externalised && dataIsH2Driver(drv.String()) {
			return dataVerdict{h2: true, cite: drv, what: "driver org.h2.Driver (with url " + dataShortURL(url.String()) + ")"}
		}
		return dataVerdict{cite: url, what: "url " + dataShortURL(url.String())}
	}
	if typ.Set() {
		if typ.Externalised {
			return dataVerdict{unknown: fmt.Sprintf("%s is %s, resolved at run time", typ.Key, valueText(typ)), cite: typ}
		}
		t := strings.ToLower(strings.TrimSpace(typ.String()))
		return dataVerdict{h2: t == "h2", cite: typ, what: "type " + t}
	}
	if drv.Set() && !drv.Externalised && dataIsH2Driver(drv.String()) {
		return dataVerdict{h2: true, cite: drv, what: "driver org.h2.Driver"}
	}
	if dataDefaultsToH2(p, table) {
		url.Source = pack.SourceDefault
		return dataVerdict{h2: true, cite: url,
			what: fmt.Sprintf("the stock deployment.toml of an API Manager %s node has [database.%s] on H2", dataNodeName(p), table)}
	}
	return dataVerdict{unknown: fmt.Sprintf("[database.%s] has neither url nor type", table), cite: url}
}

// dataDefaultsToH2 is the facts' rule for an absent table: on an APIM
// all-in-one, control-plane or Traffic Manager node apim_db and shared_db
// default to H2 (the stock files and the 4.5+ default.json).
func dataDefaultsToH2(p *pack.Pack, table string) bool {
	if p.Product != pack.APIM || (table != "apim_db" && table != "shared_db") {
		return false
	}
	switch p.Node {
	case "", "all-in-one", "control-plane", "traffic-manager":
		return true
	}
	return false
}

func dataNodeName(p *pack.Pack) string {
	if p.Node == "" {
		return string(p.Product)
	}
	return p.Node
}

// dataExpectedTables are the product databases a node needs even when
// deployment.toml does not write them.
func dataExpectedTables(p *pack.Pack) []string {
	switch p.Product {
	case pack.APIM:
		return []string{"apim_db", "shared_db"}
	case pack.IS:
		return []string{"identity_db", "shared_db"}
	case pack.Carbon:
		return []string{"shared_db"}
	}
	return nil
}

// dataTableSet reports whether the pack has [database.<name>] (written or
// implied by the product's defaults).
func dataTableSet(p *pack.Pack) map[string]bool {
	out := map[string]bool{}
	for _, t := range p.Tables("database") {
		out[t] = true
	}
	return out
}

// Which databases a node uses, by its role. apim.docs.wso2.com 4.1 to 4.7,
// "API-M Distributed Deployment - Overview", table "Databases used by API-M
// profiles" (4.5+: "... component distributions"): the control plane and
// the Traffic Manager use the API-M database (apim_db) and the shared
// database (shared_db); the gateway does not use apim_db and uses shared_db
// only "in multi-tenancy mode / in multiple gateway mode when Google
// Analytics is used" (the registry and user store must still point
// somewhere: the stock H2 is acceptable there). 3.2 "Understanding the
// Distributed Deployment": the Key Manager keeps access tokens in the API-M
// database, Publisher and Developer Portal share users and API metadata in
// the shared database. The split user/config databases (shared_db's parts)
// follow shared_db. The 2.6 statistics database (WSO2AM_STATS_DB) feeds the
// analytics views of the Publisher and Store; the facts do not say any
// other node reads it, so on a gateway, Traffic Manager or key manager it is
// treated as not used.

type dataUse int

const (
	dataUsed dataUse = iota
	dataUnused
	dataMaybe
)

// dataNodeUses tells whether a node of one kind uses a database table.
func dataNodeUses(kind, table string) (dataUse, string) {
	switch table {
	case "apim_db":
		if kind == pack.NodeGateway {
			return dataUnused, "a gateway node does not use apim_db"
		}
	case "shared_db", "user", "config", "identity_db":
		if kind == pack.NodeGateway {
			return dataMaybe, "a gateway uses " + table + " only in multi-tenant or multi-gateway deployments; carbonguard cannot tell whether this one is"
		}
	case "stats_db":
		switch kind {
		case pack.NodeGateway, pack.NodeTrafficManager, pack.NodeKeyManager:
			return dataUnused, "a " + kind + " node does not read the statistics database"
		}
	}
	return dataUsed, ""
}

// dataRoleUse combines the rule over the kinds the node may be (all of its
// candidates while the role is unknown).
func dataRoleUse(p *pack.Pack, table string) (dataUse, string) {
	if p.Product != pack.APIM || p.Node == "" {
		return dataUsed, ""
	}
	kinds := []string{p.Node}
	if p.Node == pack.NodeUnknown {
		kinds = nodeCandidates(p)
	}
	used, unused := 0, 0
	var why string
	for _, k := range kinds {
		u, w := dataNodeUses(k, table)
		switch u {
		case dataUsed:
			used++
		case dataUnused:
			unused++
			why = w
		default:
			why = w
		}
	}
	switch {
	case used == len(kinds):
		return dataUsed, ""
	case unused == len(kinds):
		return dataUnused, why
	case p.Node == pack.NodeUnknown:
		return dataMaybe, "the node's role is unknown (" + p.NodeConflict + "); some of the roles it may have do not use this database"
	}
	return dataMaybe, why
}

// nodeCandidates are the kinds an unknown node may be: what its evidence
// allows, every kind when nothing does.
func nodeCandidates(p *pack.Pack) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range p.NodeEvidence {
		for _, k := range e.Says {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	if len(out) == 0 {
		return []string{pack.NodeAllInOne, pack.NodeGateway, pack.NodeTrafficManager, pack.NodeControlPlane, pack.NodeKeyManager, pack.NodePublisher, pack.NodeDevPortal}
	}
	sort.Strings(out)
	return out
}

// dataGatewayRule applies the role rule to a database judged H2 (or not):
// a database the node does not use is not applicable; one it may not use,
// left on H2, is unknown, never a failure.
func dataGatewayRule(p *pack.Pack, table string, v dataVerdict, subject string) (Result, bool) {
	use, why := dataRoleUse(p, table)
	switch use {
	case dataUnused:
		r := dataResult(NotApplicable, v.cite, why)
		r.Subject = subject
		return r, true
	case dataMaybe:
		if !v.h2 {
			return Result{}, false
		}
		r := dataResult(Unknown, v.cite, table+" is embedded H2 ("+v.what+")")
		r.Subject = subject
		r.Reason = why
		return r, true
	}
	return Result{}, false
}

// ---------------------------------------------------------------- DATA-010

func checkH2ProductDBs(f *Facts) []Result {
	p := f.Pack
	if p.Layout == pack.LayoutLegacy {
		return dataLegacyH2(f)
	}
	tables := dataTableSet(p)
	for _, t := range dataExpectedTables(p) {
		tables[t] = true
	}
	var out []Result
	for _, t := range dataProductTables {
		if !tables[t] {
			continue
		}
		subject := "[database." + t + "]"
		v := dataJudgeTable(p, t)
		if r, ok := dataGatewayRule(p, t, v, subject); ok {
			out = append(out, r)
			continue
		}
		var r Result
		switch {
		case v.unknown != "":
			r = dataResult(Unknown, v.cite, "whether "+subject+" is H2 cannot be told")
			r.Reason = v.unknown
		case v.h2:
			how := "is embedded H2"
			if v.cite.Source != pack.SourceFile {
				how = "is not configured, so the product default applies: embedded H2"
			}
			r = dataResult(Fail, v.cite, fmt.Sprintf("%s %s (%s)", subject, how, v.what))
		default:
			r = dataResult(Pass, v.cite, fmt.Sprintf("%s uses %s", subject, v.what))
		}
		r.Subject = subject
		out = append(out, r)
	}
	for _, t := range []string{"local", "mb"} {
		if tables[t] {
			v := p.Value("database." + t + ".url")
			if t == "mb" {
				v = p.Value("database.mb.store_db.url")
			}
			r := dataResult(Pass, v, fmt.Sprintf("[database.%s] is %s: H2 on each node by design, not flagged", t, dataLocalTables[t]))
			r.Subject = "[database." + t + "]"
			out = append(out, r)
		}
	}
	// Files of repository/conf/datasources besides the rendered
	// master-datasources.xml hold datasources of their own.
	extra, bad := dataExtraDatasources(f)
	out = append(append(out, dataH2Datasources(p, extra)...), bad...)
	if len(out) == 0 {
		return []Result{{Status: NotApplicable, Message: fmt.Sprintf("%s defines no product database ([database.*])", p.Product)}}
	}
	return out
}

// dataDatasource is one <datasource> of a file of repository/conf/datasources.
type dataDatasource struct {
	doc         *pack.XMLDoc
	name, jndi  string
	url, driver string
	urlEl       *etree.Element
	drvEl       *etree.Element
	secretURL   bool
}

func (ds dataDatasource) key() string { return ds.doc.File + ":" + ds.name }

// dataMasterDatasources is the file every Carbon 4.4 pack has (and 3.x/4.x
// render from deployment.toml at each start).
const dataMasterDatasources = "datasources/master-datasources.xml"

// dataLegacyDatasources reads the datasources of master-datasources.xml and
// of every other file of repository/conf/datasources (WSO2's backup
// guidance: "every database defined in master-datasources.xml and in any
// other file of the datasources directory"). err is about
// master-datasources.xml; a broken other file comes back in bad.
func dataLegacyDatasources(f *Facts) (dss []dataDatasource, bad []Result, err error) {
	p := f.Pack
	d, err := p.XML(dataMasterDatasources)
	if err != nil {
		return nil, nil, err
	}
	dss = dataDatasourcesIn(d)
	more, bad := dataExtraDatasources(f)
	return append(dss, more...), bad, nil
}

// dataExtraDatasources reads the files of repository/conf/datasources other
// than master-datasources.xml (Facts.DatasourceFiles): in the TOML layout
// they are not rendered from deployment.toml and hold what they say.
func dataExtraDatasources(f *Facts) (dss []dataDatasource, bad []Result) {
	for _, rel := range f.DatasourceFiles {
		if rel == dataMasterDatasources {
			continue
		}
		d, err := f.Pack.XML(rel)
		if err != nil {
			bad = append(bad, Result{Status: Unknown, Subject: rel, Message: "the datasources of " + rel + " cannot be read", Reason: err.Error()})
			continue
		}
		dss = append(dss, dataDatasourcesIn(d)...)
	}
	return dss, bad
}

func dataDatasourcesIn(d *pack.XMLDoc) []dataDatasource {
	var out []dataDatasource
	for _, ds := range d.FindAll("//datasource") {
		ne := ds.SelectElement("name")
		if ne == nil {
			continue
		}
		x := dataDatasource{doc: d, name: strings.TrimSpace(ne.Text())}
		if j := ds.FindElement("jndiConfig/name"); j != nil {
			x.jndi = strings.TrimSpace(j.Text())
		}
		if c := ds.FindElement("definition/configuration"); c != nil {
			if e := c.SelectElement("url"); e != nil {
				x.url, x.urlEl = strings.TrimSpace(e.Text()), e
				for _, a := range e.Attr {
					if a.Key == "secretAlias" {
						x.secretURL = true
					}
				}
			}
			if e := c.SelectElement("driverClassName"); e != nil {
				x.driver, x.drvEl = strings.TrimSpace(e.Text()), e
			}
		}
		out = append(out, x)
	}
	return out
}

func dataLegacyH2(f *Facts) []Result {
	dss, bad, err := dataLegacyDatasources(f)
	if err != nil {
		return []Result{{Status: Unknown, Subject: "master-datasources.xml", Message: "the datasources cannot be read", Reason: err.Error()}}
	}
	out := dataH2Datasources(f.Pack, dss)
	if len(out) == 0 {
		return []Result{{Status: Unknown, Subject: "master-datasources.xml", Message: "no datasource found", Reason: "repository/conf/datasources defines no <datasource>"}}
	}
	return append(out, bad...)
}

// dataH2Datasources judges datasources of the XML files.
func dataH2Datasources(p *pack.Pack, dss []dataDatasource) []Result {
	var out []Result
	for _, ds := range dss {
		d := ds.doc
		r := Result{Subject: "datasource " + ds.name, Key: ds.key(), Value: dataShortURL(ds.url),
			Source: pack.SourceFile, Pos: d.Pos(ds.urlEl)}
		switch {
		case dataLocalDatasources[ds.name]:
			r.Status = Pass
			r.Message = ds.name + " is node-local by design (local registry / broker store): H2 is expected, not flagged"
		case ds.secretURL || externalisedText(ds.url):
			r.Status, r.Message, r.Reason = Unknown, "whether "+ds.name+" is H2 cannot be told", "its <url> is resolved at run time"
		case dataIsH2URL(ds.url) || dataIsH2Driver(ds.driver):
			r.Status, r.Message = Fail, fmt.Sprintf("%s (%s) is embedded H2: %s", ds.name, ds.jndi, dataShortURL(ds.url))
			if !dataIsH2URL(ds.url) {
				r.Message = fmt.Sprintf("%s (%s) uses the H2 driver org.h2.Driver", ds.name, ds.jndi)
				r.Pos = d.Pos(ds.drvEl)
			}
			if table, ok := dataLegacyTable(ds.name); ok {
				switch use, why := dataRoleUse(p, table); use {
				case dataUnused:
					r.Status, r.Message = NotApplicable, ds.name+": "+why
				case dataMaybe:
					r.Status, r.Reason = Unknown, why
				}
			}
		case ds.url == "":
			r.Status, r.Message, r.Reason = Unknown, "whether "+ds.name+" is H2 cannot be told", "the datasource has no <url>"
		default:
			r.Status, r.Message = Pass, fmt.Sprintf("%s uses %s", ds.name, dataShortURL(ds.url))
		}
		out = append(out, r)
	}
	return out
}

// dataLegacyTable maps a Carbon 4.4 datasource name to the table its role
// rule is written for.
func dataLegacyTable(name string) (string, bool) {
	if strings.EqualFold(name, "WSO2AM_STATS_DB") {
		return "stats_db", true
	}
	return dataTableForDatasource(name)
}

// externalisedText is true for values resolved at run time.
func externalisedText(s string) bool {
	return strings.Contains(s, "$secret{") || strings.Contains(s, "$env{") || strings.Contains(s, "$sys{") || strings.Contains(s, "{{")
}

// dataResult is resultAt with JDBC URLs shortened (their query and
// property parts may carry credentials).
func dataResult(st Status, v pack.Value, msg string) Result {
	r := resultAt(st, v, msg)
	if strings.HasSuffix(strings.ToLower(v.Key), "url") && !v.Externalised {
		r.Value = dataShortURL(r.Value)
	}
	return r
}

// dataShortURL drops the query and property parts of a JDBC URL (they may
// carry passwords) for messages.
func dataShortURL(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "?;"); i >= 0 {
		s = s[:i]
	}
	return s
}

// ---------------------------------------------------------------- DATA-020

// dataTableForDatasource maps a realm datasource name (realm_manager.
// data_source, or a JNDI name such as jdbc/SHARED_DB) to its [database.*]
// table (facts §3: master-datasources.xml.j2 names).
func dataTableForDatasource(name string) (string, bool) {
	n := strings.ToUpper(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), "jdbc/")))
	switch n {
	case "SHARED_DB", "WSO2_SHARED_DB", "WSO2SHARED_DB", "WSO2SHAREDDB":
		return "shared_db", true
	case "WSO2USER_DB", "USER_DB", "WSO2UM_DB", "WSO2_USER_DB":
		return "user", true
	case "WSO2AM_DB", "AM_DB", "WSO2_AM_DB":
		return "apim_db", true
	case "WSO2CARBONDB", "WSO2_CARBON_DB", "WSO2CARBON_DB":
		return "local", true
	case "WSO2IDENTITY_DB", "IDENTITY_DB", "WSO2_IDENTITY_DB":
		return "identity_db", true
	case "WSO2CONFIG_DB", "CONFIG_DB", "WSO2REG_DB", "WSO2_CONFIG_DB":
		return "config", true
	}
	return "", false
}

func dataJDBCUserStore(typ, class string) bool {
	t := strings.ToLower(strings.TrimSpace(typ))
	return t == "database" || t == "database_unique_id" || strings.Contains(class, ".jdbc.")
}

func checkH2UserStore(f *Facts) []Result {
	p := f.Pack
	if p.Layout == pack.LayoutLegacy {
		return dataLegacyUserStoreH2(f)
	}
	typ, class := p.Value("user_store.type"), p.Value("user_store.class")
	if typ.Externalised || class.Externalised {
		return []Result{externalisedResult(typ, "the user store type")}
	}
	if !typ.Set() && !class.Set() {
		return []Result{{Status: Unknown, Key: "user_store.type", Message: "the primary user store type is not known",
			Reason: "[user_store] type has no value and the product defaults give none"}}
	}
	if !dataJDBCUserStore(typ.String(), class.String()) {
		what := typ.String()
		if what == "" {
			what = class.String()
		}
		return []Result{dataResult(Pass, typ, fmt.Sprintf("the primary user store is %s, not a JDBC store", what))}
	}
	ds := p.Value("realm_manager.data_source")
	if ds.Externalised {
		return []Result{externalisedResult(ds, "the realm's datasource")}
	}
	dsName := ds.String()
	if dsName == "" {
		dsName = "SHARED_DB" // user-mgt.xml.j2 default (facts §3)
	}
	table, ok := dataTableForDatasource(dsName)
	if !ok {
		r := dataResult(Unknown, ds, "the JDBC user store's datasource "+dsName+" is not one carbonguard can map to a [database.*] table")
		r.Reason = "only the datasources of the stock master-datasources.xml template are known"
		return []Result{r}
	}
	v := dataJudgeTable(p, table)
	subject := fmt.Sprintf("JDBC user store on %s ([database.%s])", dsName, table)
	if r, ok := dataGatewayRule(p, table, v, subject); ok && r.Status == Unknown {
		return []Result{r}
	}
	var r Result
	switch {
	case v.unknown != "":
		r = dataResult(Unknown, v.cite, "whether the user store's database is H2 cannot be told")
		r.Reason = v.unknown
	case v.h2:
		r = dataResult(Fail, v.cite, fmt.Sprintf("the primary user store is %s on %s, which is embedded H2 (%s)", typ.String(), dsName, v.what))
	default:
		r = dataResult(Pass, v.cite, fmt.Sprintf("the JDBC user store's database %s uses %s", dsName, v.what))
	}
	r.Subject = subject
	return []Result{r}
}

func dataLegacyUserStoreH2(f *Facts) []Result {
	p := f.Pack
	um, err := p.XML("user-mgt.xml")
	if err != nil {
		return []Result{{Status: Unknown, Subject: "user-mgt.xml", Message: "the user store configuration cannot be read", Reason: err.Error()}}
	}
	usm := um.Find("/UserManager/Realm/UserStoreManager")
	if usm == nil {
		return []Result{{Status: Unknown, Subject: "user-mgt.xml", Message: "no UserStoreManager is configured", Reason: um.File + " has no /UserManager/Realm/UserStoreManager"}}
	}
	class := usm.SelectAttrValue("class", "")
	base := Result{Subject: "primary user store", Key: "user-mgt.xml:/UserManager/Realm/UserStoreManager/@class", Value: class,
		Source: pack.SourceFile, Pos: um.Pos(usm)}
	if !dataJDBCUserStore("", class) {
		base.Status, base.Message = Pass, "the primary user store is "+class+", not a JDBC store"
		return []Result{base}
	}
	dsEl := usm.FindElement("Property[@name='dataSource']")
	if dsEl == nil {
		dsEl = um.Find("/UserManager/Realm/Configuration/Property[@name='dataSource']")
	}
	if dsEl == nil {
		base.Status, base.Message, base.Reason = Unknown, "the JDBC user store's datasource is not configured", "no dataSource property in user-mgt.xml"
		return []Result{base}
	}
	jndi := strings.TrimSpace(dsEl.Text())
	base.Key, base.Value, base.Pos = "user-mgt.xml:dataSource", jndi, um.Pos(dsEl)
	dss, _, err := dataLegacyDatasources(f)
	if err != nil {
		base.Status, base.Message, base.Reason = Unknown, "the user store's datasource "+jndi+" cannot be looked up", err.Error()
		return []Result{base}
	}
	for _, ds := range dss {
		if ds.jndi != jndi {
			continue
		}
		switch {
		case ds.secretURL || externalisedText(ds.url):
			base.Status, base.Message, base.Reason = Unknown, "whether "+ds.name+" is H2 cannot be told", "its <url> is resolved at run time"
		case dataIsH2URL(ds.url) || dataIsH2Driver(ds.driver):
			base.Status = Fail
			base.Message = fmt.Sprintf("%s stores users in %s (%s), which is embedded H2: %s", class[strings.LastIndex(class, ".")+1:], jndi, ds.name, dataShortURL(ds.url))
			if use, why := dataRoleUse(p, "user"); use != dataUsed {
				base.Status, base.Reason = Unknown, why
			}
		default:
			base.Status, base.Message = Pass, fmt.Sprintf("the JDBC user store uses %s (%s)", ds.name, dataShortURL(ds.url))
		}
		return []Result{base}
	}
	base.Status, base.Message, base.Reason = Unknown, "the user store's datasource "+jndi+" is not defined in repository/conf/datasources",
		"no file of repository/conf/datasources defines it"
	return []Result{base}
}

// ---------------------------------------------------------------- DATA-030

func checkH2Registry(f *Facts) []Result {
	p := f.Pack
	if p.Product == pack.MI {
		return []Result{{Status: NotApplicable, Message: "the Micro Integrator has no registry database"}}
	}
	if p.Layout == pack.LayoutLegacy {
		return dataLegacyRegistry(f)
	}
	tables := dataTableSet(p)
	if !tables["shared_db"] && !tables["config"] {
		return []Result{{Status: Unknown, Subject: "registry", Message: "no [database.shared_db] or [database.config] is defined",
			Reason: "the registry's datasource could not be located in the configuration or the product defaults"}}
	}
	configTable := "shared_db"
	if tables["config"] {
		configTable = "config"
	}
	var out []Result
	for _, m := range []struct{ path, table string }{{"/_system/governance", "shared_db"}, {"/_system/config", configTable}} {
		subject := fmt.Sprintf("%s registry ([database.%s])", m.path, m.table)
		v := dataJudgeTable(p, m.table)
		if r, ok := dataGatewayRule(p, m.table, v, subject); ok {
			out = append(out, r)
			continue
		}
		var r Result
		switch {
		case v.unknown != "":
			r = dataResult(Unknown, v.cite, "whether the "+m.path+" registry is on H2 cannot be told")
			r.Reason = v.unknown
		case v.h2:
			r = dataResult(Fail, v.cite, fmt.Sprintf("the %s registry is mounted on [database.%s], which is embedded H2 (%s)", m.path, m.table, v.what))
		default:
			r = dataResult(Pass, v.cite, fmt.Sprintf("the %s registry is on [database.%s] (%s)", m.path, m.table, v.what))
		}
		r.Subject = subject
		out = append(out, r)
	}
	return out
}

// dataLegacyRegistry follows registry.xml: a mount of the path names a
// remoteInstance, whose dbConfig names a dataSource (a JNDI name of
// master-datasources.xml); without a mount the path lives in the
// currentDBConfig.
func dataLegacyRegistry(f *Facts) []Result {
	p := f.Pack
	reg, err := p.XML("registry.xml")
	if err != nil {
		return []Result{{Status: Unknown, Subject: "registry.xml", Message: "the registry configuration cannot be read", Reason: err.Error()}}
	}
	dss, _, err := dataLegacyDatasources(f)
	if err != nil {
		return []Result{{Status: Unknown, Subject: "master-datasources.xml", Message: "the registry's datasources cannot be read", Reason: err.Error()}}
	}
	dbConfig := func(name string) *etree.Element {
		for _, e := range reg.FindAll("/wso2registry/dbConfig") {
			if e.SelectAttrValue("name", "") == name {
				return e
			}
		}
		return nil
	}
	var out []Result
	for _, path := range []string{"/_system/governance", "/_system/config"} {
		r := Result{Subject: path + " registry", Source: pack.SourceFile}
		var cfgName, how string
		var cite *etree.Element
		for _, m := range reg.FindAll("/wso2registry/mount") {
			if m.SelectAttrValue("path", "") != path {
				continue
			}
			id := ""
			if ie := m.SelectElement("instanceId"); ie != nil {
				id = strings.TrimSpace(ie.Text())
			}
			for _, ri := range reg.FindAll("/wso2registry/remoteInstance") {
				if idEl := ri.SelectElement("id"); idEl != nil && strings.TrimSpace(idEl.Text()) == id {
					if dc := ri.SelectElement("dbConfig"); dc != nil {
						cfgName, cite = strings.TrimSpace(dc.Text()), dc
						how = "mounted through remote instance " + id
					}
				}
			}
			if cite == nil {
				cite, how = m, "mounted on remote instance "+id+" (not a JDBC dbConfig)"
			}
		}
		if cite == nil {
			cur := reg.Find("/wso2registry/currentDBConfig")
			if cur == nil {
				r.Status, r.Message, r.Reason = Unknown, "the registry's database is not configured", "registry.xml has no mount for "+path+" and no <currentDBConfig>"
				out = append(out, r)
				continue
			}
			cfgName, cite, how = strings.TrimSpace(cur.Text()), cur, "not mounted: kept in the local registry"
		}
		r.Pos = reg.Pos(cite)
		if cfgName == "" {
			r.Status, r.Message, r.Reason = Unknown, path+" is "+how, "the remote instance has no JDBC <dbConfig>"
			out = append(out, r)
			continue
		}
		dc := dbConfig(cfgName)
		dsEl := (*etree.Element)(nil)
		if dc != nil {
			dsEl = dc.SelectElement("dataSource")
		}
		if dsEl == nil {
			r.Status, r.Message, r.Reason = Unknown, path+" uses dbConfig "+cfgName, "registry.xml has no <dbConfig name=\""+cfgName+"\"> with a <dataSource>"
			out = append(out, r)
			continue
		}
		jndi := strings.TrimSpace(dsEl.Text())
		r.Key, r.Value, r.Pos = "registry.xml:dbConfig["+cfgName+"]/dataSource", jndi, reg.Pos(dsEl)
		found := false
		for _, ds := range dss {
			if ds.jndi != jndi {
				continue
			}
			found = true
			switch {
			case ds.secretURL || externalisedText(ds.url):
				r.Status, r.Message, r.Reason = Unknown, "whether "+ds.name+" is H2 cannot be told", "its <url> is resolved at run time"
			case dataIsH2URL(ds.url) || dataIsH2Driver(ds.driver):
				r.Status = Fail
				r.Message = fmt.Sprintf("the %s registry is %s, on %s (%s), which is embedded H2", path, how, jndi, ds.name)
				if use, why := dataRoleUse(p, "config"); use != dataUsed {
					r.Status, r.Reason = Unknown, why
				}
			default:
				r.Status, r.Message = Pass, fmt.Sprintf("the %s registry is %s, on %s (%s)", path, how, ds.name, dataShortURL(ds.url))
			}
		}
		if !found {
			r.Status, r.Message, r.Reason = Unknown, "the registry's datasource "+jndi+" is not in repository/conf/datasources",
				"no file of repository/conf/datasources defines it"
		}
		out = append(out, r)
	}
	return out
}

// ---------------------------------------------------------------- DATA-040/041

// dataEmbeddedLDAP is the effective embedded_ldap.enable, and whether the
// product can run the embedded LDAP at all (only Identity Server installs
// the ApacheDS feature; a Carbon 4.4 pack that ships embedded-ldap.xml has
// it too).
func dataEmbeddedLDAP(p *pack.Pack) (v pack.Value, applicable bool) {
	v = p.Value("embedded_ldap.enable")
	if p.Layout == pack.LayoutLegacy {
		return v, v.Set() || v.Problem != ""
	}
	if p.Product != pack.IS {
		return v, false
	}
	if !v.Set() {
		// Feature default (facts §1.1): true.
		v.Raw, v.Source = true, pack.SourceDefault
	}
	return v, true
}

func checkEmbeddedLDAPEnabled(f *Facts) []Result {
	p := f.Pack
	v, ok := dataEmbeddedLDAP(p)
	if !ok {
		if p.Layout == pack.LayoutLegacy {
			return []Result{{Status: NotApplicable, Message: "the pack has no repository/conf/identity/embedded-ldap.xml: the embedded LDAP is not installed"}}
		}
		return []Result{{Status: NotApplicable, Message: fmt.Sprintf("%s does not install the embedded LDAP (ApacheDS) feature", p.Product)}}
	}
	if v.Externalised {
		return []Result{externalisedResult(v, "whether the embedded LDAP starts")}
	}
	on, isBool := v.Bool()
	if !isBool {
		r := dataResult(Unknown, v, "whether the embedded LDAP starts cannot be told")
		r.Reason = fmt.Sprintf("%s = %s is not a boolean", v.Key, valueText(v))
		if v.Problem != "" {
			r.Reason = v.Problem
		}
		return []Result{r}
	}
	if !on {
		return []Result{dataResult(Pass, v, "the embedded LDAP server is disabled")}
	}
	msg := "the embedded ApacheDS LDAP server starts"
	if pt, ok := p.Port("embedded-ldap"); ok {
		msg += " on port " + netDescribe(pt)
	}
	if typ := p.Value("user_store.type"); typ.Set() && !strings.Contains(strings.ToLower(typ.String()), "ldap") {
		msg += fmt.Sprintf(", although the primary user store (%s) does not use it", typ.String())
	}
	return []Result{dataResult(Fail, v, msg)}
}

// dataLDAPURLEmbedded is true when an LDAP URL points at this node's
// embedded LDAP: localhost / 127.0.0.1 with ${Ports.EmbeddedLDAP.LDAPServerPort}
// or 10389 (+ offset).
func dataLDAPURLEmbedded(p *pack.Pack, raw string) bool {
	s := strings.TrimSpace(raw)
	low := strings.ToLower(s)
	if !strings.HasPrefix(low, "ldap://") && !strings.HasPrefix(low, "ldaps://") {
		return false
	}
	rest := s[strings.Index(s, "://")+3:]
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		rest = rest[:i]
	}
	host, port := rest, ""
	if i := strings.LastIndex(rest, ":"); i >= 0 && !strings.HasSuffix(rest, "]") {
		host, port = rest[:i], rest[i+1:]
	}
	if !netLoopback(host) {
		return false
	}
	if port == "${Ports.EmbeddedLDAP.LDAPServerPort}" {
		return true
	}
	ports := map[string]bool{"10389": true}
	if pt, ok := p.Port("embedded-ldap"); ok {
		ports[fmt.Sprint(pt.Port)] = true
		ports[fmt.Sprint(pt.Base)] = true
	}
	return ports[port]
}

func checkUserStoreOnEmbeddedLDAP(f *Facts) []Result {
	p := f.Pack
	if p.Layout == pack.LayoutLegacy {
		return dataLegacyUserStoreLDAP(p)
	}
	if p.Product != pack.IS {
		return []Result{{Status: NotApplicable, Message: fmt.Sprintf("%s has no embedded LDAP server for a user store to point at", p.Product)}}
	}
	typ := p.Value("user_store.type")
	if typ.Externalised {
		return []Result{externalisedResult(typ, "the user store type")}
	}
	if !strings.Contains(strings.ToLower(typ.String()+p.Value("user_store.class").String()), "ldap") {
		return []Result{dataResult(Pass, typ, fmt.Sprintf("the primary user store is %s, not LDAP", typ.String()))}
	}
	u := p.Value("user_store.connection_url")
	if !u.Set() {
		r := dataResult(Unknown, u, "the LDAP user store has no connection_url")
		r.Reason = "[user_store] connection_url is not set and the product defaults give none"
		return []Result{r}
	}
	if u.Externalised {
		return []Result{externalisedResult(u, "the LDAP user store's connection_url")}
	}
	if dataLDAPURLEmbedded(p, u.String()) {
		msg := fmt.Sprintf("the primary user store (%s) points at the embedded LDAP: %s", typ.String(), u.String())
		if n := p.Value("user_store.connection_name"); strings.EqualFold(strings.TrimSpace(n.String()), "uid=admin,ou=system") {
			msg += ", bound as uid=admin,ou=system"
		}
		return []Result{dataResult(Fail, u, msg)}
	}
	return []Result{dataResult(Pass, u, "the LDAP user store points at "+u.String())}
}

func dataLegacyUserStoreLDAP(p *pack.Pack) []Result {
	um, err := p.XML("user-mgt.xml")
	if err != nil {
		return []Result{{Status: Unknown, Subject: "user-mgt.xml", Message: "the user store configuration cannot be read", Reason: err.Error()}}
	}
	usm := um.Find("/UserManager/Realm/UserStoreManager")
	if usm == nil {
		return []Result{{Status: Unknown, Subject: "user-mgt.xml", Message: "no UserStoreManager is configured", Reason: um.File + " has no /UserManager/Realm/UserStoreManager"}}
	}
	class := usm.SelectAttrValue("class", "")
	r := Result{Subject: "primary user store", Key: "user-mgt.xml:/UserManager/Realm/UserStoreManager/@class", Value: class,
		Source: pack.SourceFile, Pos: um.Pos(usm)}
	if !strings.Contains(strings.ToLower(class), "ldap") && !strings.Contains(class, "ActiveDirectory") {
		r.Status, r.Message = Pass, "the primary user store is "+class+", not LDAP"
		return []Result{r}
	}
	ce := usm.FindElement("Property[@name='ConnectionURL']")
	if ce == nil {
		r.Status, r.Message, r.Reason = Unknown, "the LDAP user store has no ConnectionURL", "no ConnectionURL property in user-mgt.xml"
		return []Result{r}
	}
	url := strings.TrimSpace(ce.Text())
	r.Key, r.Value, r.Pos = "user-mgt.xml:ConnectionURL", url, um.Pos(ce)
	if dataLDAPURLEmbedded(p, url) {
		r.Status, r.Message = Fail, "the primary user store points at the embedded LDAP: "+url
	} else {
		r.Status, r.Message = Pass, "the LDAP user store points at "+url
	}
	return []Result{r}
}

// ---------------------------------------------------------------- DATA-050/051/052

// dataIndexes says whether the node indexes registry artifacts with Solr:
// API Manager all-in-one, publisher, devportal and control-plane nodes with
// indexing enabled (facts §5). The reason says why not.
func dataIndexes(p *pack.Pack) (bool, string) {
	if p.Product != pack.APIM {
		return false, fmt.Sprintf("%s does not keep an API Manager Solr index", p.Product)
	}
	switch p.Node {
	case "all-in-one", "publisher", "devportal", "control-plane", "":
	default:
		return false, "a " + p.Node + " node does not index registry artifacts"
	}
	if v := p.Value("indexing.enable"); v.Set() && !v.Externalised {
		if b, ok := v.Bool(); ok && !b {
			return false, "indexing is disabled (" + v.Key + " = false)"
		}
	}
	return true, ""
}

// dataNetworkFS names file system types that live on another machine or are
// shared between machines.
func dataNetworkFS(t string) bool {
	t = strings.ToLower(t)
	switch t {
	case "nfs", "nfs4", "cifs", "smb", "smb3", "smbfs", "ncpfs", "afs", "9p", "ceph", "cephfs", "glusterfs", "lustre",
		"gpfs", "ocfs2", "gfs2", "beegfs", "davfs", "coda", "orangefs", "pvfs2", "virtiofs":
		return true
	}
	return strings.HasPrefix(t, "fuse.") && (strings.Contains(t, "sshfs") || strings.Contains(t, "gluster") ||
		strings.Contains(t, "s3fs") || strings.Contains(t, "rclone") || strings.Contains(t, "gcsfuse") ||
		strings.Contains(t, "juicefs") || strings.Contains(t, "efs") || strings.Contains(t, "ceph"))
}

// dataSolrDir is the index directory with the Unknown result to return
// when it cannot be located.
func dataSolrDir(f *Facts) (string, pack.Value, *Result) {
	dir, v := SolrDataDir(f.Pack)
	if dir == "" {
		r := externalisedResult(v, "the Solr index location")
		return "", v, &r
	}
	return dir, v, nil
}

func dataRealPath(f *Facts, path string) (RealPath, string) {
	rp, ok := f.Host.RealPaths[path]
	if !ok {
		return rp, "the host probe did not resolve " + path
	}
	if rp.Err != "" {
		return rp, rp.Err
	}
	return rp, ""
}

func dataMountText(m *Mount) string {
	if m == nil {
		return "an unknown file system"
	}
	return fmt.Sprintf("%s %s (%s)", m.FSType, m.Dir, m.Device)
}

func checkSolrStorage(f *Facts) []Result {
	p := f.Pack
	if ok, why := dataIndexes(p); !ok {
		return []Result{{Status: NotApplicable, Message: why}}
	}
	dir, v, u := dataSolrDir(f)
	if u != nil {
		return []Result{*u}
	}
	base := dataResult(Pass, v, "")
	base.Subject = "Solr index " + dir
	base.Value = dir
	rp, why := dataRealPath(f, dir)
	if why != "" {
		base.Status, base.Message, base.Reason = Unknown, "where the Solr index really lives cannot be told", why
		return []Result{base}
	}
	var problems []string
	if dataOwnSymlink(f, dir, rp) {
		problems = append(problems, fmt.Sprintf("the path is a symlink to %s; make sure no other node's index leads there", rp.Real))
	}
	if rp.Mount != nil && dataNetworkFS(rp.Mount.FSType) {
		problems = append(problems, "it lives on the network file system "+dataMountText(rp.Mount)+", which other nodes can mount too")
	}
	if len(problems) > 0 {
		base.Status, base.Message = Fail, "Solr index "+dir+": "+strings.Join(problems, "; ")
		return []Result{base}
	}
	if e, bad := f.Host.Errors["Mounts"]; bad || rp.Mount == nil {
		if !bad {
			e = "no mount of the host holds " + rp.Real
		}
		base.Status, base.Message, base.Reason = Unknown, "the Solr index is not a symlink, but its file system is not known", e
		return []Result{base}
	}
	base.Message = fmt.Sprintf("the Solr index %s is a plain directory on %s", rp.Real, dataMountText(rp.Mount))
	return []Result{base}
}

// dataOwnSymlink tells whether the index path leads elsewhere through a
// symlink of its own. A pack that as a whole lives behind a symlink (/opt/wso2
// -> /data/wso2) does not count: inside the home, the index is compared with
// where the home's real path puts it.
func dataOwnSymlink(f *Facts, dir string, rp RealPath) bool {
	if !rp.IsSymlink {
		return false
	}
	rel, err := filepath.Rel(f.Pack.Home, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return true
	}
	home, ok := f.Host.RealPaths[f.Pack.Home]
	if !ok || home.Err != "" || home.Real == "" {
		return true
	}
	return rp.Real != filepath.Join(home.Real, rel)
}

func checkSolrShared(f *Facts) []Result {
	p := f.Pack
	if ok, why := dataIndexes(p); !ok {
		return []Result{{Status: NotApplicable, Message: why}}
	}
	if len(f.Others) == 0 {
		return []Result{{Status: NotApplicable, Message: "only one home was named: no other node to compare with (name several with --home a --home b)"}}
	}
	dir, v, u := dataSolrDir(f)
	if u != nil {
		return []Result{*u}
	}
	mine := filepath.Clean(dir)
	if rp, why := dataRealPath(f, dir); why == "" && rp.Real != "" {
		mine = rp.Real
	}
	var out []Result
	for _, q := range f.Others {
		if q == nil || q.Home == p.Home {
			continue
		}
		r := dataResult(Pass, v, "")
		r.Subject = "Solr index vs " + q.Home
		r.Value = dir
		if ok, why := dataIndexes(q); !ok {
			r.Status, r.Message = NotApplicable, q.Home+": "+why
			out = append(out, r)
			continue
		}
		qdir, qv := SolrDataDir(q)
		if qdir == "" {
			r.Status, r.Message = Unknown, "the Solr index location of "+q.Home+" cannot be told"
			r.Reason = fmt.Sprintf("%s there is %s, resolved at run time", qv.Key, valueText(qv))
			out = append(out, r)
			continue
		}
		theirs, resolved := filepath.Clean(qdir), false
		if rp, ok := f.Host.RealPaths[qdir]; ok && rp.Err == "" && rp.Real != "" {
			theirs, resolved = rp.Real, true
		}
		switch {
		case theirs == mine || filepath.Clean(qdir) == mine || theirs == filepath.Clean(dir):
			r.Status = Fail
			r.Message = fmt.Sprintf("this node and %s (%s) use the same Solr index %s", q.Home, q.Node, mine)
		case !resolved:
			r.Status, r.Message = Unknown, fmt.Sprintf("the index of %s (%s) differs as written, but its real path is not known", q.Home, qdir)
			r.Reason = "the host probe resolved symlinks only for this pack's paths"
		default:
			r.Message = fmt.Sprintf("%s keeps its own index (%s; this node: %s)", q.Home, theirs, mine)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return []Result{{Status: NotApplicable, Message: "no other pack was named"}}
	}
	return out
}

func checkSolrWithLocalDB(f *Facts) []Result {
	p := f.Pack
	if ok, why := dataIndexes(p); !ok {
		return []Result{{Status: NotApplicable, Message: why}}
	}
	dir, v, u := dataSolrDir(f)
	if u != nil {
		return []Result{*u}
	}
	dbDir, dbv := LocalDBDir(p)
	subject := "Solr index and local H2 database"
	if dbDir == "" {
		r := dataResult(Unknown, dbv, "where the node-local database lives cannot be told")
		r.Subject = subject
		if dbv.Externalised {
			r.Reason = fmt.Sprintf("%s is %s, resolved at run time", dbv.Key, valueText(dbv))
		} else {
			r.Reason = fmt.Sprintf("%s = %s is not a file H2 URL", dbv.Key, valueText(dbv))
		}
		return []Result{r}
	}
	idx, why1 := dataRealPath(f, dir)
	db, why2 := dataRealPath(f, dbDir)
	home, why3 := dataRealPath(f, p.Home)
	r := dataResult(Pass, v, "")
	r.Subject, r.Value = subject, dir
	for _, why := range []string{why1, why2, why3} {
		if why != "" {
			r.Status, r.Message, r.Reason = Unknown, "where the index and the local database live cannot be told", why
			return []Result{r}
		}
	}
	if e, bad := f.Host.Errors["Mounts"]; bad || idx.Mount == nil || db.Mount == nil || home.Mount == nil {
		if !bad {
			e = "no mount of the host holds one of " + strings.Join([]string{idx.Real, db.Real, p.Home}, ", ")
		}
		r.Status, r.Message, r.Reason = Unknown, "the file systems of the index and the local database are not known", e
		return []Result{r}
	}
	same := func(a, b *Mount) bool { return a.Dir == b.Dir && a.Device == b.Device }
	switch {
	case same(idx.Mount, db.Mount):
		r.Message = fmt.Sprintf("the index (%s) and the local database (%s) are on the same file system, %s", idx.Real, db.Real, dataMountText(idx.Mount))
	case same(db.Mount, home.Mount):
		r.Status = Fail
		r.Message = fmt.Sprintf("the index %s is on %s, but the local database %s stays in the pack's file system %s: a redeploy keeps one and loses the other",
			idx.Real, dataMountText(idx.Mount), db.Real, dataMountText(home.Mount))
	case same(idx.Mount, home.Mount):
		r.Status = Fail
		r.Message = fmt.Sprintf("the local database %s is on %s, but the index %s stays in the pack's file system %s: a redeploy keeps one and loses the other",
			db.Real, dataMountText(db.Mount), idx.Real, dataMountText(home.Mount))
		r.Key, r.Source, r.Pos = dbv.Key, dbv.Source, dbv.Pos
	default:
		r.Message = fmt.Sprintf("the index (%s) and the local database (%s) are both persisted outside the pack (%s; %s)",
			idx.Real, db.Real, dataMountText(idx.Mount), dataMountText(db.Mount))
	}
	return []Result{r}
}

// ---------------------------------------------------------------- DATA-060

func checkDatabaseDumps(f *Facts) []Result {
	p := f.Pack
	dumped := map[string]bool{}
	for _, n := range f.Snapshots.Dumps {
		dumped[n] = true
	}
	var out []Result
	add := func(name, subject, url string, cite Result) {
		r := cite
		r.Subject, r.Value = subject, url
		if dumped[name] {
			r.Status = Pass
			r.Message = fmt.Sprintf("%s (%s) is dumped with every pre-update snapshot ([[snapshot.database]] name = %q)", subject, url, name)
		} else {
			r.Status = Fail
			r.Message = fmt.Sprintf("%s (%s) is outside the pack and no [[snapshot.database]] dumps it", subject, url)
		}
		out = append(out, r)
	}
	var dss []dataDatasource
	var bad []Result
	if p.Layout == pack.LayoutLegacy {
		var err error
		dss, bad, err = dataLegacyDatasources(f)
		if err != nil {
			return []Result{{Status: Unknown, Subject: "master-datasources.xml", Message: "the datasources cannot be read", Reason: err.Error()}}
		}
	} else {
		dss, bad = dataExtraDatasources(f)
	}
	for _, ds := range dss {
		if dataIsH2URL(ds.url) || ds.url == "" {
			continue
		}
		url := dataShortURL(ds.url)
		if ds.secretURL {
			url = "url from the secure vault"
		}
		add(ds.name, "datasource "+ds.name, url, Result{Key: ds.key(), Source: pack.SourceFile, Pos: ds.doc.Pos(ds.urlEl)})
	}
	if p.Layout != pack.LayoutLegacy {
		for _, t := range p.Tables("database") {
			if t == "local" || t == "mb" {
				continue
			}
			v := dataJudgeTable(p, t)
			if v.h2 || (v.unknown != "" && !v.cite.Externalised) {
				continue
			}
			url := dataShortURL(valueText(v.cite))
			if v.cite.Externalised {
				url += ", externalised"
			}
			add(t, "[database."+t+"]", url, dataResult(Fail, v.cite, ""))
		}
		if arr, ok := p.Value("datasource").Raw.([]any); ok {
			for i := range arr {
				u := p.Value(fmt.Sprintf("datasource.%d.url", i))
				id := p.Value(fmt.Sprintf("datasource.%d.id", i)).String()
				if !u.Set() || (dataIsH2URL(u.String()) && !u.Externalised) {
					continue
				}
				url := dataShortURL(u.String())
				if u.Externalised {
					url += ", externalised"
				}
				add(id, "[[datasource]] "+id, url, dataResult(Fail, u, ""))
			}
		}
	}
	out = append(out, bad...)
	if len(out) == 0 {
		return []Result{{Status: Pass, Subject: "external databases",
			Message: "no external database is configured: all data is in the pack (node-local H2), which carbonguard's snapshots cover"}}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Subject < out[j].Subject })
	return out
}

// ---------------------------------------------------------------- DATA-070

// dataTLSOffParams are JDBC URL properties that switch TLS off: MySQL
// Connector/J useSSL=false and sslMode=DISABLED, MariaDB Connector/J
// useSSL=false, PostgreSQL pgjdbc sslmode=disable, Microsoft SQL Server
// encrypt=false (the drivers' own documentation; the WSO2 facts show
// useSSL=false in docker-apim's and the distributed-deployment docs' MySQL
// URLs).
var dataTLSOffParams = map[string]string{"usessl": "false", "sslmode": "disable|disabled", "encrypt": "false"}

// dataJDBCTLSOff returns the property of a JDBC URL that turns TLS off ("" if
// none). Properties follow '?' (joined by '&', which TOML files spell
// "&amp;" because the value is pasted into XML) or ';' (SQL Server, DB2).
func dataJDBCTLSOff(url string) string {
	u := strings.ReplaceAll(strings.TrimSpace(url), "&amp;", "&")
	i := strings.IndexAny(u, "?;")
	if i < 0 {
		return ""
	}
	for _, kv := range strings.FieldsFunc(u[i+1:], func(r rune) bool { return r == '&' || r == ';' || r == '?' }) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		want, known := dataTLSOffParams[strings.ToLower(strings.TrimSpace(k))]
		if !known {
			continue
		}
		for _, w := range strings.Split(want, "|") {
			if strings.EqualFold(strings.TrimSpace(v), w) {
				return strings.TrimSpace(kv)
			}
		}
	}
	return ""
}

// dataJDBCHost is the database host of a JDBC URL: jdbc:<driver>://host[:port]...
// (MySQL, MariaDB, PostgreSQL, SQL Server, DB2) or Oracle's @host:port /
// @//host:port. ok is false when there is none to read (H2, a file URL).
func dataJDBCHost(url string) (string, bool) {
	u := strings.TrimSpace(url)
	if !strings.HasPrefix(strings.ToLower(u), "jdbc:") || dataIsH2URL(u) {
		return "", false
	}
	rest := ""
	if i := strings.Index(u, "//"); i >= 0 {
		rest = u[i+2:]
	} else if i := strings.Index(u, "@"); i >= 0 {
		rest = u[i+1:]
	} else {
		return "", false
	}
	if j := strings.IndexAny(rest, "/;?,"); j >= 0 {
		rest = rest[:j]
	}
	if strings.HasPrefix(rest, "[") {
		if j := strings.Index(rest, "]"); j >= 0 {
			return rest[1:j], true
		}
	}
	if j := strings.LastIndex(rest, ":"); j >= 0 {
		rest = rest[:j]
	}
	return rest, rest != ""
}

// dataURL is one JDBC URL of the configuration and the database it serves.
type dataURL struct {
	subject string
	table   string // the [database.*] table whose role rule applies; "" = always used
	value   pack.Value
	url     string
}

func dataAllURLs(f *Facts) []dataURL {
	p := f.Pack
	var out []dataURL
	if p.Layout == pack.LayoutTOML {
		for _, t := range p.Tables("database") {
			for _, k := range []string{"database." + t + ".url", "database." + t + ".store_db.url"} {
				if v := p.Value(k); v.Set() {
					out = append(out, dataURL{subject: "[database." + t + "]", table: t, value: v, url: v.String()})
				}
			}
		}
		if arr, ok := p.Value("datasource").Raw.([]any); ok {
			for i := range arr {
				if v := p.Value(fmt.Sprintf("datasource.%d.url", i)); v.Set() {
					id := p.Value(fmt.Sprintf("datasource.%d.id", i)).String()
					out = append(out, dataURL{subject: "[[datasource]] " + id, value: v, url: v.String()})
				}
			}
		}
	}
	var dss []dataDatasource
	if p.Layout == pack.LayoutLegacy {
		dss, _, _ = dataLegacyDatasources(f)
	} else {
		dss, _ = dataExtraDatasources(f)
	}
	for _, ds := range dss {
		if ds.url == "" {
			continue
		}
		v := pack.Value{Key: ds.key(), Raw: ds.url, Source: pack.SourceFile, Pos: ds.doc.Pos(ds.urlEl), Externalised: ds.secretURL || externalisedText(ds.url)}
		table, _ := dataLegacyTable(ds.name)
		out = append(out, dataURL{subject: "datasource " + ds.name + " (" + ds.doc.File + ")", table: table, value: v, url: ds.url})
	}
	return out
}

func checkJDBCTLSOff(f *Facts) []Result {
	var out []Result
	for _, d := range dataAllURLs(f) {
		if dataIsH2URL(d.url) && !d.value.Externalised {
			continue
		}
		r := dataResult(Pass, d.value, "")
		r.Subject = d.subject
		if d.value.Externalised {
			r = externalisedResult(d.value, "the JDBC URL's TLS settings")
			r.Subject = d.subject
			out = append(out, r)
			continue
		}
		if d.table != "" {
			if use, why := dataRoleUse(f.Pack, d.table); use == dataUnused {
				r.Status, r.Message = NotApplicable, why
				out = append(out, r)
				continue
			}
		}
		host, ok := dataJDBCHost(d.url)
		off := dataJDBCTLSOff(d.url)
		switch {
		case off == "":
			r.Message = "the JDBC URL does not switch TLS off (the driver's own TLS settings apply)"
		case !ok:
			r.Status, r.Message, r.Reason = Unknown, "the JDBC URL sets "+off, "the database host could not be read from the URL"
		case netLoopback(host):
			r.Message = fmt.Sprintf("the JDBC URL sets %s, but the database is on this host (%s)", off, host)
		default:
			r.Status = Fail
			r.Message = fmt.Sprintf("the JDBC URL sets %s: the connection to %s, credentials included, is not encrypted", off, host)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return []Result{{Status: NotApplicable, Message: "no JDBC URL to another host is configured"}}
	}
	return out
}

func init() {
	register(Check{
		ID: "CG-DATA-070", Title: "JDBC connection to a remote database with TLS switched off", Category: "datastore", Severity: Medium,
		Rationale: "A JDBC URL with useSSL=false or sslMode=DISABLED (MySQL, MariaDB), sslmode=disable (PostgreSQL) or " +
			"encrypt=false (SQL Server) sends the database credentials and every query in clear text. WSO2's own examples " +
			"(docker-apim, the distributed-deployment guides) carry useSSL=false, and they are copied into production. To a " +
			"database on the same host it does not matter; across the network it does. Every [database.*] and [[datasource]] " +
			"URL is read, and every file of repository/conf/datasources, not only master-datasources.xml; a database the node's " +
			"role does not use is not judged.",
		Remediation: "Remove the property (or set useSSL=true / sslMode=VERIFY_IDENTITY, sslmode=verify-full, encrypt=true) and " +
			"give the JVM a truststore that holds the database server's CA; in deployment.toml write the URL with &amp; between " +
			"properties, as WSO2's templates expect.",
		Run: checkJDBCTLSOff,
	})
}
