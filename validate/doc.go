// Package validate checks a pack and its host against WSO2's production
// deployment checklist.
//
// Facts are collected once (Collect: the pack model plus a HostProbe that
// tests replace with StaticProbe); every check is a pure function of the
// facts, registered once in one registry with a permanent ID, a default
// severity, a rationale, a remediation and a doc anchor. A check returns
// results, never a bare boolean: pass, fail, skipped (with the reason), not
// applicable, or unknown when a fact could not be read or a value is
// externalised. Run applies severity overrides, disabled checks, accepted
// risks and the fail threshold, and returns a Report that renders as text,
// JSON (with schema_version and the facts, secrets masked) or SARIF 2.1.0.
// Gate is the same run for the wrapped start: it says whether a start must
// be refused. The package never prints and never exits; logs go through the
// zerolog.Logger in the options.
//
// # Check IDs
//
// An ID is CG-<FAMILY>-<NNN>, permanent, never reused, never renumbered:
//
//	CG-SEC-NNN   security and transport          checks_security.go
//	CG-NET-NNN   ports, JMX, proxy, TM<->gateway checks_ports.go
//	CG-DATA-NNN  databases, user stores, Solr,   checks_datastore.go
//	             database dumps
//	CG-HOST-NNN  host and runtime, clustering,   checks_host.go
//	             metrics, snapshots
//
// Numbers go in steps of ten (010, 020, ...) so that a closely related check
// can take the number next to its sibling (040, 041). Doc is the lower-case
// ID ("cg-sec-010"), the anchor of the check's section in docs/checks.md;
// register fills it in when empty. Category is one of Categories; the text
// report groups by it.
//
// # Registering
//
// Each checks_*.go file has an init() that calls register(Check{...}, ...).
// Run must not do I/O: everything it needs is in Facts. Judge effective
// values (pack.Value: explicit, else default, $ref{} resolved); a value with
// Externalised set is Unknown, never a pass or a failure. A Result names the
// Subject, the Key, the effective Value (mask secrets with MaskSecret), its
// Source and Pos, so that reports can cite file:line. Results with status
// Pass/NotApplicable/Skipped/Unknown are not findings; Fail is.
//
// # Fixtures (required for every check; the meta-test enforces it)
//
// Every check has at least one pass and one fail fixture, declared in the
// test file of its family (checks_<family>_test.go) with
//
//	func init() { addFixtures(fixture{...}, ...) }
//
// (type fixture and addFixtures live in fixtures_test.go). A fixture copies
// testdata/packs/<Pack> (default "apim-4.2") into t.TempDir(), writes Files
// over it (path relative to the home => full content; "" deletes the file),
// calls Edit(t, home) for in-place edits (replaceIn(t, home, rel, old, new)
// fails when old is absent), opens it with SysProps, collects the facts with a StaticProbe built from
// fakeHost() after Host(h) adjusted it, lets Facts(f) adjust the facts
// (Start, Snapshots, Others), runs the one check and asserts Want:
//
//	Want Pass:          at least one Pass result and no Fail
//	Want Fail:          at least one Fail result
//	Want Unknown:       at least one Unknown result and no Fail
//	Want NotApplicable: every result is NotApplicable
//	Want Skipped:       at least one Skipped result and no Fail
//
// Shared helpers for checks are in values.go (valueText, valueBool,
// resultAt, externalisedResult, relPath); keep family-specific helpers
// prefixed to avoid clashes. Golden reports (golden_test.go, flag -update)
// run every registered check on each fixture pack: after adding or changing
// a check, run `go test ./validate -run Golden -update` and review the diff.
//
// The meta-test TestEveryCheckIsComplete fails when a registered check lacks
// a title, category, rationale, remediation, doc anchor, a pass fixture or a
// fail fixture; TestFixtures runs every fixture as a subtest named
// ID/Name.
package validate
